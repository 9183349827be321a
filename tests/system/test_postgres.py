"""The production database: migrations and the connections API on a real PostgreSQL."""
from __future__ import annotations

import pytest


@pytest.mark.postgres
def test_migrations_and_the_api_work_on_postgresql(app_factory, pg_url):
    from tests.conftest import make_key

    app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url)
    headers = {"Authorization": f"Bearer {make_key(app, 'editor')}"}
    client = app.test_client()
    created = client.post("/api/v2/connections", headers=headers, json={
        "integration": "http", "label": "pg", "settings": {"base_url": "http://127.0.0.1:1"},
        "credentials": {"auth": "bearer", "token": "pg-secret-token-123456"}})
    assert created.status_code == 201, created.get_json()
    listed = client.get("/api/v2/connections", headers=headers).get_json()["connections"]
    assert [c["label"] for c in listed] == ["pg"]
    assert listed[0]["credentials"]["token"] != "pg-secret-token-123456"
    bad = client.post("/api/v2/connections", headers=headers, json={"integration": "http"})
    assert bad.status_code == 422


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_webhook_of_transforms_runs_in_its_request_only_on_sqlite(app_factory, pg_url, database):
    """Embedded on SQLite a pure workflow runs in the request (no hand-over to the pool); on
    PostgreSQL, where each statement is a round trip, it goes to the pool like any other."""
    from atom.engine import get_engine
    from tests.conftest import make_key

    app = app_factory(**({"SQLALCHEMY_DATABASE_URI": pg_url} if database == "postgresql" else {}))
    engine = get_engine(app)
    submitted: list[int] = []
    real = engine.executor.submit_execution
    engine.executor.submit_execution = lambda fn, ex_id: (submitted.append(ex_id), real(fn, ex_id))[1]
    headers = {"Authorization": f"Bearer {make_key(app, 'editor')}"}
    client = app.test_client()
    wf = client.post("/api/v2/ai-workflows", headers=headers, json={
        "name": "pure", "trigger": {"type": "webhook"},
        "steps": [{"id": "t", "type": "transform", "mapping": {"n": "trigger.n"}}]}).get_json()
    response = client.post("/hooks/workflows/" + wf["webhook_url"].rsplit("/", 1)[1], json={"n": 3})
    assert response.status_code == 202
    ex_id = response.get_json()["execution_id"]
    assert engine.wait(ex_id, 20)
    done = client.get(f"/api/v2/executions/{ex_id}", headers=headers).get_json()
    assert done["status"] == "succeeded" and done["steps"][0]["output"] == {"n": 3}
    assert submitted == ([] if database == "sqlite" else [ex_id])
    engine.close()
