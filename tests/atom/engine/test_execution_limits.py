"""Executions cannot multiply without limit (issue 7, item 8): ATOM's outbound calls carry their
execution chain (``X-Atom-Execution``), webhook receivers start the next execution one level
deeper and refuse past ``MAX_WORKFLOW_DEPTH``; a chain's sub-workflow fan-out is capped
(``WORKFLOW_MAX_DESCENDANTS``); each workflow starts at most ``WORKFLOW_MAX_RUNS_PER_MINUTE``
executions a minute (429 with ``Retry-After``)."""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

import atom.cli
from atom.engine.chains import outbound_value
from atom.engine.triggers import fire_schedule
from atom.extensions import db
from atom.integrations.webhooks import sign_atom
from atom.models import Execution
from atom.models import WebhookEvent
from atom.models import WorkflowRunCount
from atom.models.base import utcnow
from tests.atom.engine.conftest import count
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import rows
from tests.atom.engine.conftest import steps_of
from tests.fakes import reply

NOOP = {"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}
SECRET = "whsec-limits-0123456789"


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _settled(app, timeout: float = 15.0, quiet: float = 1.5) -> list[Execution]:
    """Every execution, once none is unfinished and none has been added for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        executions = rows(app, Execution)
        if len(executions) != seen:
            seen, since = len(executions), time.monotonic()
        elif time.monotonic() - since >= quiet and all(
                e.status in ("succeeded", "failed", "cancelled") for e in executions):
            return executions
        time.sleep(0.05)
    raise AssertionError(f"executions still multiplying after {timeout}s: {seen}")


@pytest.fixture
def served(app):
    """The app itself, served on 127.0.0.1 by werkzeug (threaded), for steps to call back into."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


# -- the chain over webhooks --------------------------------------------------------------------------


def test_a_workflow_posting_to_its_own_webhook_stops_at_the_depth_limit(app, api, served, create_connection):
    """Today it ran 633 times in 15 s. Each call says which chain it belongs to; the receiver
    starts the next execution one level deeper and refuses (409) past MAX_WORKFLOW_DEPTH."""
    app.config["MAX_WORKFLOW_DEPTH"] = 3
    create_connection("http", {"base_url": served, "max_attempts": 1})
    wf = api.create({"name": "echo", "trigger": {"type": "webhook"}, "steps": [NOOP]})
    hook = _path(wf["webhook_url"])
    api.put(wf["id"], {"name": "echo", "trigger": {"type": "webhook"},
                       "steps": [post_step("again", hook, {"n": "{{ trigger.n }}"})]})
    started = time.monotonic()
    first = api.execute(wf["id"], {"n": 1}, wait=None).get_json()
    executions = sorted(_settled(app), key=lambda e: e.id)
    assert time.monotonic() - started < 10
    assert len(executions) == 4  # the depth limit + 1
    assert [e.depth for e in executions] == [0, 1, 2, 3]
    assert executions[0].id == first["id"] and executions[0].root_id is None
    assert {e.root_id for e in executions[1:]} == {first["id"]}
    assert [e.trigger_type for e in executions] == ["manual", "webhook", "webhook", "webhook"]
    assert [e.status for e in executions] == ["succeeded"] * 3 + ["failed"]
    deepest = steps_of(api.execution(executions[-1].id))["again"]
    assert "409" in deepest["error"]["message"] and "execution_chain_limit" in deepest["error"]["message"]


def test_steps_send_their_chain_and_cannot_replace_it(app, api, fake, conn):
    fake.always("/out", reply(200, {}))
    step = post_step("send", "/out", {"a": 1})
    step["parameters"]["headers"] = {"x-atom-execution": "1.0.mine"}
    wf = api.create(manual("out", [step]))
    done = api.run(wf["id"])
    assert done["status"] == "succeeded"
    sent = fake.calls("/out")[0].headers["X-Atom-Execution"]
    assert sent == outbound_value(app, done["id"], 0) and sent.startswith(f"{done['id']}.0.")


def test_a_forged_chain_header_can_only_make_the_receiver_refuse_sooner(app, api):
    app.config["MAX_WORKFLOW_DEPTH"] = 3
    wf = api.create({"name": "hook", "trigger": {"type": "webhook"}, "steps": [NOOP]})
    root = api.run(wf["id"])["id"]
    hook = _path(wf["webhook_url"])

    def post(value: str):
        return api.client.post(hook, json={"x": 1}, headers={"X-Atom-Execution": value})

    before = count(app, Execution)
    too_deep = post(f"{root}.3.{'0' * 32}")  # a forged (unsigned) depth is honoured: refused
    assert too_deep.status_code == 409
    assert too_deep.get_json()["code"] == "execution_chain_limit"
    assert "MAX_WORKFLOW_DEPTH" in too_deep.get_json()["message"]
    assert post(outbound_value(app, root, 3)).status_code == 409  # a signed one as well
    assert count(app, Execution) == before

    def started(response) -> Execution:
        assert response.status_code == 202, response.get_json()
        return db.session.get(Execution, response.get_json()["execution_id"])

    with app.app_context():
        forged = started(post(f"{root}.1.{'0' * 32}"))
        assert (forged.depth, forged.root_id) == (2, None)  # deeper, but not in that chain
        signed = started(post(outbound_value(app, root, 1)))
        assert (signed.depth, signed.root_id) == (2, root)
        garbage = started(post("not-a-chain"))
        assert (garbage.depth, garbage.root_id) == (0, None)
        another_atom = SimpleNamespace(config={"SECRET_KEY": "another-secret"})
        foreign = started(post(outbound_value(another_atom, root, 0)))
        assert (foreign.depth, foreign.root_id) == (1, None)


def test_an_integration_webhook_past_the_depth_limit_is_refused_before_anything_is_stored(
        app, api, fake, create_connection):
    conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, {"webhook_secret": SECRET})
    api.create({"name": "on event", "trigger": {"type": "event", "service": "http", "event": "webhook_received"},
                "steps": [NOOP]})
    body = json.dumps({"event": "ping", "x": 1}).encode()

    def deliver(delivery: str, chain: str):
        return api.client.post(f"/hooks/http/{conn['id']}", data=body, headers={
            "Content-Type": "application/json", "X-Delivery-Id": delivery,
            **sign_atom(SECRET, body), "X-Atom-Execution": chain})

    refused = deliver("d-1", outbound_value(app, 7, app.config["MAX_WORKFLOW_DEPTH"]))
    assert refused.status_code == 409 and refused.get_json()["code"] == "execution_chain_limit"
    assert count(app, WebhookEvent) == 0 and count(app, Execution) == 0
    root = api.run(api.create(manual("root", [NOOP]))["id"])["id"]
    accepted = deliver("d-2", outbound_value(app, root, 1))
    assert accepted.status_code == 200
    [ex_id] = accepted.get_json()["executions"]
    with app.app_context():
        execution = db.session.get(Execution, ex_id)
        assert (execution.depth, execution.root_id, execution.trigger_type) == (2, root, "event")


def test_a_chain_over_webhooks_is_capped_in_size_too(app, api):
    app.config["WORKFLOW_MAX_DESCENDANTS"] = 2
    wf = api.create({"name": "hook", "trigger": {"type": "webhook"}, "steps": [NOOP]})
    root = api.run(wf["id"])["id"]
    hook = _path(wf["webhook_url"])
    codes = [api.client.post(hook, json={}, headers={"X-Atom-Execution": outbound_value(app, root, 0)})
             for _ in range(3)]
    assert [c.status_code for c in codes] == [202, 202, 409]
    assert "WORKFLOW_MAX_DESCENDANTS=2" in codes[2].get_json()["message"]


# -- sub-workflow fan-out -----------------------------------------------------------------------------


def test_three_self_calling_sub_workflow_steps_stop_at_the_fan_out_cap(app, api):
    """Today 364 executions (3 + 9 + ... + 243 under the depth limit of 5)."""
    app.config["WORKFLOW_MAX_DESCENDANTS"] = 10
    wf = api.create(manual("fork", [NOOP]))
    api.put(wf["id"], manual("fork", [{"id": f"again{i}", "type": "workflow", "workflow_id": wf["id"]}
                                      for i in range(3)]))
    done = api.run(wf["id"], wait=60)
    executions = _settled(app)
    assert done["status"] == "failed"
    assert len(executions) == 11  # the root and its 10 descendants
    assert {e.root_id for e in executions if e.id != done["id"]} == {done["id"]}
    messages = [s["error"]["message"] for e in executions
                for s in api.execution(e.id)["steps"] if s["error"]]
    assert any("sub-workflow not started" in m and "WORKFLOW_MAX_DESCENDANTS=10" in m for m in messages)


# -- runs per workflow per minute ---------------------------------------------------------------------


def _age(app, seconds: float) -> None:
    """Make every execution, and every run counted for the per-minute cap, so many seconds old."""
    with app.app_context():
        db.session.execute(db.update(Execution).values(created_at=utcnow() - timedelta(seconds=seconds)))
        db.session.execute(db.update(WorkflowRunCount).values(second=WorkflowRunCount.second - seconds))
        db.session.commit()


def test_execute_beyond_the_runs_per_minute_cap_is_a_429_with_retry_after(app, api):
    app.config["WORKFLOW_MAX_RUNS_PER_MINUTE"] = 3
    wf = api.create(manual("busy", [NOOP]))
    first = [api.execute(wf["id"], {"x": i}, **{"Idempotency-Key": f"k{i}"}) for i in range(3)]
    assert [r.status_code for r in first] == [200, 200, 200]
    refused = api.execute(wf["id"], {"x": 4})
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == "rate_limited" and "WORKFLOW_MAX_RUNS_PER_MINUTE" in body["message"]
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    assert count(app, Execution) == 3
    # A known idempotency key still answers with its execution.
    again = api.execute(wf["id"], {"x": 0}, **{"Idempotency-Key": "k0"})
    assert again.status_code == 200 and again.get_json()["id"] == first[0].get_json()["id"]
    # Retry-After says when the oldest run leaves the minute.
    _age(app, 50)
    assert 9 <= int(api.execute(wf["id"], {}).headers["Retry-After"]) <= 11
    _age(app, 61)
    assert api.execute(wf["id"], {"x": 5}).status_code == 200
    # Another workflow has a minute of its own.
    assert api.execute(api.create(manual("quiet", [NOOP]))["id"], {}).status_code == 200


def test_the_webhook_beyond_the_cap_is_a_429_and_events_and_schedules_are_skipped(
        app, api, fake, create_connection, caplog):
    app.config["WORKFLOW_MAX_RUNS_PER_MINUTE"] = 1
    hook_wf = api.create({"name": "hook", "trigger": {"type": "webhook"}, "steps": [NOOP]})
    hook = _path(hook_wf["webhook_url"])
    assert api.client.post(hook, json={}).status_code == 202
    refused = api.client.post(hook, json={})
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1

    conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, {"webhook_secret": SECRET})
    api.create({"name": "on event", "trigger": {"type": "event", "service": "http", "event": "webhook_received"},
                "steps": [NOOP]})
    started = []
    with caplog.at_level(logging.WARNING, logger="atom.engine.triggers"):
        for delivery in ("e-1", "e-2"):
            body = json.dumps({"event": "ping", "n": delivery}).encode()
            response = api.client.post(f"/hooks/http/{conn['id']}", data=body, headers={
                "Content-Type": "application/json", "X-Delivery-Id": delivery,
                **sign_atom(SECRET, body)})
            assert response.status_code == 200
            started.append(response.get_json()["executions"])
        cron = api.create({"name": "cron", "trigger": {"type": "schedule", "cron": "0 0 1 1 *"}, "steps": [NOOP]})
        assert fire_schedule(app, cron["id"]) is not None
        with app.app_context():  # as if a later fire time came in the same minute
            db.session.execute(db.text("DELETE FROM schedule_fires"))
            db.session.execute(db.update(Execution).where(Execution.workflow_id == cron["id"])
                               .values(idempotency_key="schedule:earlier"))
            db.session.commit()
        assert fire_schedule(app, cron["id"]) is None
    assert len(started[0]) == 1 and started[1] == []
    assert sum("did not start workflow" in r.getMessage() and "WORKFLOW_MAX_RUNS_PER_MINUTE" in r.getMessage()
               for r in caplog.records) == 2


def test_the_cap_is_an_environment_setting_and_the_cli_reports_it(app_factory, monkeypatch, tmp_path, app, api):
    monkeypatch.setenv("ATOM_WORKFLOW_MAX_RUNS_PER_MINUTE", "1")
    other = app_factory()
    assert other.config["WORKFLOW_MAX_RUNS_PER_MINUTE"] == 1
    app.config["WORKFLOW_MAX_RUNS_PER_MINUTE"] = 1
    wf = api.create(manual("cli", [NOOP]))
    runner = app.test_cli_runner()
    assert runner.invoke(atom.cli.main, ["workflows", "run", str(wf["id"])]).exit_code == 0
    result = runner.invoke(atom.cli.main, ["workflows", "run", str(wf["id"])])
    assert result.exit_code == 1 and "WORKFLOW_MAX_RUNS_PER_MINUTE" in result.output


def test_the_cap_reads_per_second_counters_not_every_execution_and_old_counters_are_pruned(app, api):
    """Starting a run reads at most the workflow's 60 per-second counters, however many runs
    the minute holds: 120 starts leave a few counter rows, not 120 rows to count."""
    from atom.engine.chains import prune_run_counts

    app.config["WORKFLOW_MAX_RUNS_PER_MINUTE"] = 120
    wf = api.create({"name": "hook", "trigger": {"type": "webhook"}, "steps": [NOOP]})
    hook = _path(wf["webhook_url"])
    assert all(api.client.post(hook, json={"n": i}).status_code == 202 for i in range(120))
    assert api.client.post(hook, json={}).status_code == 429
    with app.app_context():
        rows = db.session.execute(db.select(WorkflowRunCount.second, WorkflowRunCount.count)
                                  .filter_by(workflow_id=wf["id"])).all()
    assert sum(c for _, c in rows) == 120 and 1 <= len(rows) <= 60
    assert prune_run_counts(app) == 0  # all within the minute
    _age(app, 61)
    assert prune_run_counts(app) == len(rows)
    assert api.client.post(hook, json={}).status_code == 202


def test_a_refused_or_failed_start_counts_nothing(app, api):
    app.config["WORKFLOW_MAX_RUNS_PER_MINUTE"] = 2
    wf = api.create(manual("twice", [NOOP]))
    assert api.execute(wf["id"], {}, **{"Idempotency-Key": "a"}).status_code == 200
    # A known key answers with its execution and is not counted again.
    assert api.execute(wf["id"], {}, **{"Idempotency-Key": "a"}).status_code == 200
    assert api.execute(wf["id"], {}).status_code == 200
    assert api.execute(wf["id"], {}).status_code == 429
    with app.app_context():
        assert db.session.scalar(db.select(db.func.sum(WorkflowRunCount.count))) == 2
