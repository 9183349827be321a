"""Pages, analytics and services/status on PostgreSQL (the production database): the keyset
cursor, the durations the database computes (``extract(epoch ...)``) and the workflow_services
index go through PostgreSQL's SQL. Skipped with the reason when no PostgreSQL answers on
127.0.0.1:5432."""
from __future__ import annotations

import pytest

from atom.extensions import db
from atom.state import get_state
from tests.atom.api.test_pagination import create
from tests.atom.api.test_pagination import step
from tests.atom.api.test_pagination import walk
from tests.atom.engine.conftest import close_engine
from tests.conftest import make_key


@pytest.fixture
def pg_app(app_factory, monkeypatch, tmp_path, pg_url):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url)
    try:
        yield app
    finally:
        close_engine(app)
        get_state(app).recorder.close()
        with app.app_context():
            db.engine.dispose()


@pytest.mark.postgres
def test_pages_analytics_and_services_on_postgresql(pg_app):
    client = pg_app.test_client()
    keys = {role: {"Authorization": f"Bearer {make_key(pg_app, role)}"}
            for role in ("editor", "viewer")}
    made = [create(client, keys, f"wf {n}", [step("a"), step("b", "http")])["id"] for n in range(5)]
    assert [w["id"] for p in walk(client, keys["viewer"], "/api/v2/ai-workflows", "workflows", 2)
            for w in p] == made
    for wf_id in made[:3]:
        ran = client.post(f"/api/v2/ai-workflows/{wf_id}/execute?wait=10", headers=keys["editor"])
        assert ran.status_code == 200, ran.get_json()
    pages = walk(client, keys["viewer"], "/api/v2/executions", "executions", 2)
    assert [len(p) for p in pages] == [2, 1]
    body = client.get("/api/v2/ai-workflows/analytics?limit=2", headers=keys["viewer"]).get_json()
    assert body["executions"] == 3 and body["p50_ms"] is not None and body["p50_ms"] >= 0
    assert [w["workflow_id"] for w in body["workflows"]] == made[:2] and body["next_cursor"]
    services = client.get("/api/v2/ai-workflows/services/status", headers=keys["viewer"]).get_json()
    assert services["services"]["http"]["workflows"] == made
