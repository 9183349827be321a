"""The engine on PostgreSQL (the production database): step rows, retries, recovery and the
once-only cron fire go through the same code, with PostgreSQL's SQL. Skipped with the reason
when no PostgreSQL answers on 127.0.0.1:5432."""
from __future__ import annotations

import pytest

from atom.engine import get_engine
from atom.engine.engine import HOST
from atom.engine.triggers import fire_schedule
from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from atom.models.base import utcnow
from atom.state import get_state
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import steps_of
from tests.atom.engine.test_recovery import dead_pid
from tests.conftest import make_key
from tests.fakes import reply



@pytest.fixture
def pg_app(app_factory, monkeypatch, tmp_path, pg_url):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url)
    try:
        yield app
    finally:
        close_engine(app)
        get_state(app).recorder.close()  # flush call metrics while the database is there
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def pg(pg_app, fake):
    api = Api(pg_app.test_client(), {"Authorization": f"Bearer {make_key(pg_app, 'editor')}"})
    created = api.client.post("/api/v2/connections", headers=api.headers, json={
        "integration": "http", "label": "fake", "settings": {"base_url": fake.url, "max_attempts": 1},
        "credentials": {}})
    assert created.status_code == 201
    return api


@pytest.mark.postgres
def test_the_engine_runs_retries_and_resumes_on_postgresql(pg_app, pg, fake):
    api = pg
    fake.always("/a", reply(201, {"id": 5, "when": "now"}))
    fake.script("/b", reply(503, {}), reply(200, {"ok": 1}))
    fake.always("/c", reply(200, {}))
    fake.always("/d", reply(500, {}))
    wf = api.create(manual("pg", [
        post_step("a", "/a", {"secret_token": "s3cr3t-value"}),
        post_step("b", "/b", {"id": "{{ steps.a.output.body.id }}"}, deps=["a"],
                  retry={"max_attempts": 2, "delay_s": 0.05}),
        post_step("c", "/c", deps=["a"]),
        {"id": "t", "type": "transform", "depends_on": ["b", "c"], "mapping": {"b": "steps.b.output.body.ok"}},
        post_step("d", "/d", deps=["t"]),
    ]))
    failed = api.run(wf["id"])
    steps = steps_of(failed)
    assert failed["status"] == "failed"
    assert {s: v["status"] for s, v in steps.items()} == {
        "a": "succeeded", "b": "succeeded", "c": "succeeded", "t": "succeeded", "d": "failed"}
    assert steps["b"]["attempt"] == 2 and steps["t"]["output"] == {"b": 1}
    assert steps["a"]["input"]["json"]["secret_token"] == "[REDACTED]"
    assert fake.calls("/b")[1].json() == {"id": 5}
    # Retry from the failed step.
    fake.always("/d", reply(200, {}))
    response = api.client.post(f"/api/v2/executions/{failed['id']}/retry?wait=20", headers=api.headers)
    assert response.get_json()["status"] == "succeeded"
    assert (fake.count("/a"), fake.count("/b"), fake.count("/c"), fake.count("/d")) == (1, 2, 1, 2)

    # Recovery of an execution a killed worker left running.
    now = utcnow()
    with pg_app.app_context():
        ex = Execution(workflow_id=wf["id"], version=1, status="running", trigger_payload={},
                       claimed_by=f"{HOST}:{dead_pid()}:x", started_at=now, heartbeat_at=now)
        db.session.add(ex)
        db.session.flush()
        db.session.add(StepRun(execution_id=ex.id, step_id="a", step_type="action", status="succeeded",
                               attempt=1, started_at=now, finished_at=now,
                               output={"status": 201, "headers": {}, "body": {"id": 77}}))
        db.session.add(StepRun(execution_id=ex.id, step_id="b", step_type="action", status="running",
                               attempt=1, started_at=now))
        db.session.commit()
        ex_id = ex.id
        assert get_engine(pg_app).recover() == [ex_id]
        db.session.remove()
    fake.always("/b", reply(200, {"ok": 2}))
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded", done
    assert fake.count("/a") == 1  # not again
    assert fake.calls("/b")[-1].json() == {"id": 77}
    assert fake.calls("/b")[-1].headers["Idempotency-Key"] == f"atom-{ex_id}-b-1"


@pytest.mark.postgres
def test_a_cron_fire_runs_once_on_postgresql(pg_app, pg):
    wf = pg.create({"name": "cron", "trigger": {"type": "schedule", "cron": "0 0 1 1 *"},
                    "steps": [{"id": "t", "type": "transform", "mapping": {"a": "`1`"}}]})
    first = fire_schedule(pg_app, wf["id"])
    assert first is not None and fire_schedule(pg_app, wf["id"]) is None
    assert pg.wait_finished(first)["status"] == "succeeded"
