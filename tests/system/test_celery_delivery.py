"""The Celery executor's settings, ``atom worker``'s refusals, and what a worker does with a
delivered task (:func:`atom.engine.celery_app.deliver`), in-process on PostgreSQL: a task for
an execution whose owner died resumes it (finished steps kept, the interrupted one again with
its idempotency key); one for an execution a live engine runs, or that has finished, is a
no-op. The real processes (gunicorn, ``atom worker``, a broker) are in test_celery_workers.py.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from atom.engine import get_engine
from atom.engine.engine import HOST
from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from atom.models.base import utcnow
from atom.settings import ConfigError
from tests.atom.engine.test_recovery import dead_pid
from tests.conftest import make_key
from tests.fakes import FakeServer
from tests.fakes import reply

BROKER = "redis://127.0.0.1:6379/4"


# -- settings and the command --------------------------------------------------------------------


@pytest.mark.parametrize(("config", "message"), [
    ({"EXECUTOR": "celery"}, "ATOM_BROKER_URL is required with ATOM_EXECUTOR=celery"),
    ({"EXECUTOR": "kafka"}, "Unexpected value EXECUTOR='kafka', use one of ['thread', 'celery']"),
    ({"EXECUTOR": "celery", "BROKER_URL": "http://user:hunter2@broker:80/"},
     "Unexpected scheme 'http' in ATOM_BROKER_URL"),
    ({"EXECUTOR": "celery", "BROKER_URL": BROKER}, "ATOM_EXECUTOR=celery needs PostgreSQL"),
    ({"CELERY_QUEUE": "no spaces"}, "Unexpected value CELERY_QUEUE='no spaces'"),
])
def test_bad_executor_settings_are_refused_with_their_name(app_factory, config, message):
    with pytest.raises(ConfigError) as caught:
        app_factory(**config)
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)  # a broker URL's password is never repeated


def test_the_thread_executor_stays_the_default(app_factory):
    app = app_factory()
    assert app.config["EXECUTOR"] == "thread" and app.config["BROKER_URL"] is None
    assert type(get_engine(app).executor).__name__ == "ThreadExecutor"
    get_engine(app).close()


def test_atom_worker_refuses_the_thread_executor(app_factory):
    from atom.cli import main

    result = app_factory().test_cli_runner().invoke(main, args=["worker"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: atom worker needs ATOM_EXECUTOR=celery (and ATOM_BROKER_URL); this deployment "
        "uses ATOM_EXECUTOR=thread")


# -- delivery ---------------------------------------------------------------------------------------


@pytest.fixture
def celery_app(pg_url, app_factory, tmp_path, monkeypatch):
    pytest.importorskip("celery", reason="celery is not installed (pip install 'atom-hub[celery]')")
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url, EXECUTOR="celery", BROKER_URL=BROKER,
                      CELERY_QUEUE=f"atom-test-{uuid.uuid4().hex[:8]}")
    yield app
    get_engine(app).close()


@pytest.fixture
def chain(celery_app):
    """A three-step chain a -> b -> c against a fake service; returns (workflow id, fake)."""
    client = celery_app.test_client()
    headers = {"Authorization": f"Bearer {make_key(celery_app, 'admin')}"}
    with FakeServer() as fake:
        fake.always("/a", reply(201, {"id": 1}))
        fake.always("/b", reply(200, {"ok": "b-done"}))
        fake.always("/c", reply(200, {}))
        conn = client.post("/api/v2/connections", headers=headers, json={
            "integration": "http", "label": "fake", "credentials": {},
            "settings": {"base_url": fake.url, "max_attempts": 1}}).get_json()
        step = {"type": "action", "service": "http", "action": "post", "connection": conn["id"]}
        wf = client.post("/api/v2/ai-workflows", headers=headers, json={
            "name": "chain", "trigger": {"type": "manual"}, "steps": [
                {**step, "id": "a", "parameters": {"path": "/a"}},
                {**step, "id": "b", "depends_on": ["a"],
                 "parameters": {"path": "/b", "json": {"from_a": "{{ steps.a.output.body.id }}"}}},
                {**step, "id": "c", "depends_on": ["b"], "parameters": {"path": "/c"}}]})
        assert wf.status_code == 201, wf.get_json()
        yield wf.get_json()["id"], fake


def _execution(app, wf_id: int, owner: str | None, status: str = "running",
               interrupted: bool = True) -> int:
    """An execution as its owner left it: ``a`` succeeded and, if ``interrupted``, ``b`` was
    running."""
    now = utcnow()
    with app.app_context():
        ex = Execution(workflow_id=wf_id, version=1, status=status, trigger_type="manual",
                       trigger_payload={}, claimed_by=owner, started_at=now - timedelta(seconds=5),
                       heartbeat_at=now)
        db.session.add(ex)
        db.session.flush()
        if interrupted:
            db.session.add(StepRun(execution_id=ex.id, step_id="a", step_type="action",
                                   status="succeeded", attempt=1, started_at=now, finished_at=now,
                                   duration_ms=1.0, input={"path": "/a"},
                                   output={"status": 201, "headers": {}, "body": {"id": 55}}))
            db.session.add(StepRun(execution_id=ex.id, step_id="b", step_type="action",
                                   status="running", attempt=1, started_at=now, input={"path": "/b"}))
        db.session.commit()
        return ex.id


def _state(app, ex_id: int) -> tuple[str, str, dict[str, tuple[str, int]]]:
    with app.app_context():
        ex = db.session.get(Execution, ex_id)
        steps = {r.step_id: (r.status, r.attempt)
                 for r in db.session.scalars(db.select(StepRun).filter_by(execution_id=ex_id))}
        result = ex.status, ex.claimed_by, steps
        db.session.remove()
        return result


@pytest.mark.postgres
def test_a_task_for_an_execution_whose_worker_died_resumes_it(celery_app, chain):
    from atom.engine.celery_app import deliver

    wf_id, fake = chain
    dead = f"{HOST}:{dead_pid()}:worker"
    ex_id = _execution(celery_app, wf_id, dead)
    assert deliver(celery_app, ex_id, "web-that-queued-it:1:x") is True
    status, owner, steps = _state(celery_app, ex_id)
    assert status == "succeeded" and owner == get_engine(celery_app).owner
    assert steps == {"a": ("succeeded", 1), "b": ("succeeded", 2), "c": ("succeeded", 1)}
    assert (fake.count("/a"), fake.count("/b"), fake.count("/c")) == (0, 1, 1)
    assert fake.calls("/b")[0].headers["Idempotency-Key"] == f"atom-{ex_id}-b-1"
    assert fake.calls("/b")[0].json() == {"from_a": 55}
    assert deliver(celery_app, ex_id, dead) is False  # delivered again once finished: nothing


@pytest.mark.postgres
def test_a_task_for_an_execution_a_live_engine_runs_is_a_no_op(celery_app, app_factory, chain):
    from atom.engine.celery_app import deliver

    wf_id, fake = chain
    other = app_factory(SQLALCHEMY_DATABASE_URI=celery_app.config["SQLALCHEMY_DATABASE_URI"],
                        EXECUTOR="celery", BROKER_URL=BROKER)  # another live worker
    try:
        live = get_engine(other).owner
        ex_id = _execution(celery_app, wf_id, live)
        assert deliver(celery_app, ex_id, "web-that-queued-it:1:x") is False
        assert _state(celery_app, ex_id)[:2] == ("running", live)
        assert fake.count() == 0
        # The engine that queued it hands it over (the normal path), whether it lives or not.
        queued = _execution(celery_app, wf_id, live, status="queued", interrupted=False)
        assert deliver(celery_app, queued, live) is True
        assert _state(celery_app, queued)[0] == "succeeded"
        assert (fake.count("/a"), fake.count("/b"), fake.count("/c")) == (1, 1, 1)
    finally:
        get_engine(other).close()


@pytest.mark.postgres
def test_a_task_for_a_cancelled_queued_execution_runs_nothing(celery_app, chain):
    from atom.engine.celery_app import deliver

    wf_id, fake = chain
    ex_id = _execution(celery_app, wf_id, "web:1:x", status="cancelled", interrupted=False)
    assert deliver(celery_app, ex_id, "web:1:x") is False
    assert _state(celery_app, ex_id)[0] == "cancelled" and fake.count() == 0


# -- a serving process connects to the broker before its first request ---------------------------


@pytest.mark.postgres
def test_a_serving_process_connects_to_the_broker_before_its_first_send(celery_app):
    import socket

    from atom.engine.celery_app import connect_producer
    from atom.engine.celery_app import get_celery

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379: {exc}")
    with get_celery(celery_app).producer_or_acquire() as producer:
        assert not producer.connection.connected  # a send would connect inside its request
    connect_producer(celery_app)
    with get_celery(celery_app).producer_or_acquire() as producer:
        assert producer.connection.connected  # the first request's send reuses this one
        assert producer.connection.declared_entities  # with the queue declared


@pytest.mark.postgres
def test_a_broker_that_is_down_when_a_process_starts_is_logged_not_fatal(pg_url, app_factory, caplog):
    from atom.engine.celery_app import connect_producer

    app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url, EXECUTOR="celery",
                      BROKER_URL="redis://:hunter2@127.0.0.1:1/0")  # nothing listens on port 1
    try:
        connect_producer(app)  # returns; the first send connects (or fails) as usual
        assert "the broker is not reachable yet (OperationalError)" in caplog.text
        assert "hunter2" not in caplog.text
    finally:
        get_engine(app).close()


@pytest.mark.postgres
def test_a_webhook_of_transforms_is_left_to_the_workers_under_celery(celery_app):
    """Only the thread executor runs a pure workflow in its request: a Celery web process
    enqueues it like any other (no worker runs in this test, so it stays queued)."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379: {exc}")
    client = celery_app.test_client()
    headers = {"Authorization": f"Bearer {make_key(celery_app, 'admin')}"}
    wf = client.post("/api/v2/ai-workflows", headers=headers, json={
        "name": "pure", "trigger": {"type": "webhook"},
        "steps": [{"id": "t", "type": "transform", "mapping": {"n": "trigger.n"}}]}).get_json()
    response = client.post("/hooks/workflows/" + wf["webhook_url"].rsplit("/", 1)[1], json={"n": 1})
    assert response.status_code == 202
    assert _state(celery_app, response.get_json()["execution_id"])[0] == "queued"
