"""Durable timers through the API: a long wait or retry backoff parks the execution (status
``waiting``, no thread held, its wake-up time a row) and the scheduler's timer job resumes it,
also in a new app on the same database (a restart); a waiting execution can be cancelled."""
from __future__ import annotations

import time

import pytest

from atom.engine import get_engine
from atom.engine.timers import fire_due_timers
from atom.engine.timers import timer_jobs
from atom.models import ExecutionTimer
from atom.scheduler import start_scheduler
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import rows
from tests.atom.engine.conftest import steps_of
from tests.conftest import make_key
from tests.fakes import reply

DURABLE = {"DURABLE_WAIT_S": 1.0}


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(**DURABLE)
    yield app
    close_engine(app)


def nap(seconds: float, before: bool = True) -> dict:
    steps = [{"id": "first", "type": "transform", "mapping": {"n": "trigger.n"}}] if before else []
    steps.append({"id": "nap", "type": "wait", "seconds": seconds,
                  "depends_on": ["first"] if before else []})
    steps.append({"id": "after", "type": "transform", "mapping": {"n": "trigger.n"},
                  "depends_on": ["nap"]})
    return manual("nap", steps)


def orchestrators(app) -> int:
    """Orchestrator threads of the engine that are running an execution now."""
    return len(get_engine(app)._active)


def parked(api: Api, ex_id: int) -> dict:
    return api.wait_for(ex_id, lambda b: b["status"] == "waiting", 10)


def fire_until_finished(app, api: Api, ex_id: int, timeout: float = 20) -> dict:
    """Run the scheduler's timer job (as its tick would) until the execution has finished."""
    deadline = time.monotonic() + timeout
    while True:
        fire_due_timers(app)
        body = api.execution(ex_id)
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_a_long_wait_parks_the_execution_and_the_timer_job_resumes_it(app, api):
    wf = api.create(nap(2))
    response = api.execute(wf["id"], {"n": 7}, wait=5)
    assert response.status_code == 202  # ?wait gave up: it is waiting, not finished
    body = parked(api, response.get_json()["id"])
    assert body["waiting_until"]
    steps = steps_of(body)
    assert steps["first"]["status"] == "succeeded" and steps["nap"]["status"] == "running"
    assert "after" not in steps
    assert orchestrators(app) == 0  # no thread holds it
    [timer] = rows(app, ExecutionTimer, execution_id=body["id"])
    assert timer.step_id == "nap" and timer.kind == "wait"
    assert fire_due_timers(app) == 0  # not due yet: nothing is woken early
    assert api.execution(body["id"])["status"] == "waiting"
    done = fire_until_finished(app, api, body["id"])
    assert done["status"] == "succeeded", done
    steps = steps_of(done)
    assert steps["first"]["output"] == steps_of(body)["first"]["output"]
    assert steps["first"]["started_at"] == steps_of(body)["first"]["started_at"]  # kept, not rerun
    assert steps["nap"]["attempt"] == 1
    assert steps["nap"]["started_at"] == steps_of(body)["nap"]["started_at"]
    assert steps["nap"]["output"]["waited_s"] >= 2
    # Its duration is the whole wait, not the moment of the resume.
    assert steps["nap"]["duration_ms"] >= 2000
    assert steps["after"]["output"] == steps["first"]["output"]
    assert "waiting_until" not in done
    assert rows(app, ExecutionTimer) == []


def test_a_short_wait_stays_in_memory(app, api):
    wf = api.create(nap(0.3, before=False))
    done = api.run(wf["id"])
    assert done["status"] == "succeeded"
    assert rows(app, ExecutionTimer) == []


def test_the_scheduler_runs_the_timer_job(app, api):
    app.config["TIMER_TICK_S"] = 0.2
    wf = api.create(nap(1.5))
    ex_id = api.execute(wf["id"], {"n": 1}, wait=None).get_json()["id"]
    parked(api, ex_id)
    scheduler = start_scheduler(app, force=True)
    scheduler.add_provider(timer_jobs)
    try:
        assert "engine:timers" in {j["id"] for j in scheduler.describe()["jobs"]}
        assert api.wait_finished(ex_id, 15)["status"] == "succeeded"
    finally:
        scheduler.shutdown()


def test_a_pending_timer_survives_a_restart(app, app_factory, api):
    wf = api.create(nap(2))
    ex_id = api.execute(wf["id"], {"n": 3}, wait=None).get_json()["id"]
    before = steps_of(parked(api, ex_id))
    close_engine(app)  # the process goes away with its timer pending
    restarted = app_factory(**DURABLE)
    try:
        api2 = Api(restarted.test_client(), {"Authorization": f"Bearer {make_key(restarted, 'editor')}"})
        assert api2.execution(ex_id)["status"] == "waiting"
        with restarted.app_context():
            assert get_engine(restarted).recover() == []  # not an orphan: nobody needs to own it
        done = fire_until_finished(restarted, api2, ex_id)
        assert done["status"] == "succeeded", done
        assert steps_of(done)["first"]["started_at"] == before["first"]["started_at"]
        assert steps_of(done)["after"]["status"] == "succeeded"
    finally:
        close_engine(restarted)


def test_cancel_of_a_waiting_execution_ends_it_at_once(app, api):
    wf = api.create(nap(3600))
    ex_id = api.execute(wf["id"], {"n": 1}, wait=None).get_json()["id"]
    parked(api, ex_id)
    response = api.client.post(f"/api/v2/executions/{ex_id}/cancel", headers=api.headers)
    assert response.status_code in (200, 202), response.get_json()
    body = api.execution(ex_id)
    assert body["status"] == "cancelled", body
    assert steps_of(body)["nap"]["status"] == "cancelled"
    assert steps_of(body)["after"]["status"] == "cancelled"
    assert rows(app, ExecutionTimer) == []
    assert fire_due_timers(app) == 0


def test_a_long_retry_backoff_parks_and_runs_the_next_attempt(app, api, fake, conn):
    fake.script("/flaky", reply(503, {"e": 1}), reply(200, {"ok": True}))
    wf = api.create(manual("retry", [post_step(
        "flaky", "/flaky", {"n": 1}, retry={"max_attempts": 2, "delay_s": 1.5, "backoff": 1})]))
    ex_id = api.execute(wf["id"], wait=None).get_json()["id"]
    body = parked(api, ex_id)
    assert fake.count("/flaky") == 1
    [timer] = rows(app, ExecutionTimer, execution_id=ex_id)
    assert timer.kind == "retry"
    done = fire_until_finished(app, api, ex_id)
    assert done["status"] == "succeeded", done
    step = steps_of(done)["flaky"]
    assert step["attempt"] == 2 and step["output"]["body"] == {"ok": True}
    assert [(a["attempt"], a["status"]) for a in step["attempts"]] == [(1, "failed"), (2, "succeeded")]
    assert {r.headers["Idempotency-Key"] for r in fake.calls("/flaky")} == {f"atom-{ex_id}-flaky-1"}


def test_the_dashboard_shows_a_waiting_execution_and_until_when(app, api, client, alice):
    wf = api.create(nap(3600))
    ex_id = api.execute(wf["id"], {"n": 1}, wait=None).get_json()["id"]
    body = parked(api, ex_id)
    assert client.post("/login", data=alice).status_code == 302
    page = client.get(f"/executions/{ex_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "status-waiting" in text and "Waiting until" in text
    assert body["waiting_until"][:16] in text  # the due time, as ui.time shows it


@pytest.mark.postgres
def test_timers_park_and_wake_on_postgresql(app_factory, monkeypatch, tmp_path, pg_url):
    from atom.state import get_state

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "pg-instance"))
    pg_app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url, **DURABLE)
    try:
        api = Api(pg_app.test_client(), {"Authorization": f"Bearer {make_key(pg_app, 'editor')}"})
        wf = api.create(nap(1.5))
        ids = [api.execute(wf["id"], {"n": n}, wait=None).get_json()["id"] for n in range(3)]
        for ex_id in ids:
            assert parked(api, ex_id)["waiting_until"]
        for ex_id in ids:
            done = fire_until_finished(pg_app, api, ex_id)
            assert done["status"] == "succeeded", done
        assert rows(pg_app, ExecutionTimer) == []
    finally:
        close_engine(pg_app)
        get_state(pg_app).recorder.close()
        from atom.extensions import db
        with pg_app.app_context():
            db.engine.dispose()
