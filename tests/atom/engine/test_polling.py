"""Polling triggers: priming fires nothing, each new item starts each matching workflow exactly
once (across restarts and crashes), failures are retried with backoff and shown in the API and
in /metrics, an expired cursor re-primes, connection binding and params narrow what fires, and
the cursors follow the enabled workflows.

The scheduler's job function (:func:`run_polls`) is called directly, with an injected clock
(the poller's and the connection clients'), so nothing sleeps. The services are
``tests.atom.engine.poll_plugin``: an in-process mailbox per connection, and a records service
over HTTP on loopback behind the real ``IntegrationClient``.
"""
from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from atom.engine.polling import get_poller
from atom.engine.polling import prune_poll_items
from atom.engine.polling import run_polls
from atom.engine.triggers import dispatch_events
from atom.engine.triggers import maintenance_jobs
from atom.extensions import db
from atom.integrations.errors import UpstreamError
from atom.models import Execution
from atom.models import PollCursor
from atom.models import PollItem
from atom.models import WebhookEvent
from atom.models import Workflow
from atom.state import get_state
from tests.atom.engine import poll_plugin
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import count
from tests.atom.engine.conftest import rows
from tests.conftest import make_key
from tests.fakes import FakeClock
from tests.fakes import FakeServer
from tests.fakes import reply

TOKEN = "pollster-token-0123456789"


class Clock(FakeClock):
    """One virtual clock for the poller (naive UTC datetimes) and the connection clients
    (rate buckets, backoff): ``advance`` moves both."""

    START = datetime(2026, 3, 2, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.START + timedelta(seconds=self.elapsed)


def _app(app_factory, **config: Any):
    from plugins.http.manifest import MANIFEST as HTTP

    app = app_factory(PLUGINS=[HTTP, poll_plugin.MANIFEST], **config)
    clock = Clock()
    get_poller(app).clock = clock
    get_state(app).runtime.clock = clock
    app.clock = clock  # type: ignore[attr-defined]
    return app


@pytest.fixture
def app(request, app_factory, monkeypatch, tmp_path):
    """The app on SQLite; ``@both_databases`` tests run on PostgreSQL too (skipped, saying
    why, when none answers on 127.0.0.1:5432)."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    poll_plugin.BOXES.clear()
    poll_plugin.RECORDED.clear()
    config = {}
    if getattr(request, "param", "sqlite") == "postgresql":
        config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("pg_url")
    app = _app(app_factory, **config)
    try:
        yield app
    finally:
        _shutdown(app)


def _shutdown(app) -> None:
    """Stop the engine, flush the call metrics and close the pool (before a PostgreSQL
    database is dropped)."""
    close_engine(app)
    get_state(app).recorder.close()
    with app.app_context():
        db.engine.dispose()


both_databases = pytest.mark.parametrize("app", ["sqlite", "postgresql"], indirect=True)


def _restart(app, app_factory):
    """A new process on the same database, its clock where the old one's was."""
    close_engine(app)
    again = _app(app_factory, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    again.clock.advance(app.clock.elapsed)
    return again


@pytest.fixture
def records(app):
    service = poll_plugin.RecordService()
    with FakeServer() as server:
        server.always("/records", service)
        service.server = server  # type: ignore[attr-defined]
        yield service


def _connect(api: Api, label: str = "box", **settings: Any) -> int:
    response = api.client.post("/api/v2/connections", headers=api.headers, json={
        "integration": "pollster", "label": label, "settings": {"max_attempts": 1, **settings},
        "credentials": {"token": TOKEN}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _workflow(event: str = "new_item", name: str = "on item", **trigger: Any) -> dict:
    return {"name": name,
            "trigger": {"type": "event", "service": "pollster", "event": event, **trigger},
            "steps": [{"id": "rec", "type": "action", "service": "pollster", "action": "record",
                       "parameters": {"title": "{{ trigger.title || to_string(trigger.record.id) }}"}}]}


def _fired(app, wf_id: int) -> list[Any]:
    """The trigger payloads' ids of the workflow's executions, in order."""
    with app.app_context():
        found = db.session.scalars(db.select(Execution).filter_by(workflow_id=wf_id)
                                   .order_by(Execution.id)).all()
        return [e.trigger_payload.get("id") or e.trigger_payload["record"]["id"] for e in found]


def _polls(api: Api, **query: Any) -> list[dict]:
    response = api.client.get("/api/v2/triggers/polls", query_string=query, headers=api.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["polls"]


def _tick(app, seconds: float = 0) -> list:
    if seconds:
        app.clock.advance(seconds)
    return run_polls(app)


# -- priming and firing -----------------------------------------------------------------------------


@both_databases
def test_the_first_poll_primes_and_fires_nothing_then_each_new_item_fires_once(app, api):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    mailbox.add("old one")
    mailbox.add("old two")
    wf = api.create(_workflow())

    [primed] = _tick(app)
    assert primed.outcome == "primed" and primed.fired == 0
    assert mailbox.calls == [({"folder": "inbox"}, None)]  # params loaded, defaults filled in
    assert count(app, Execution) == 0 and count(app, WebhookEvent) == 0
    assert {r.item_id for r in rows(app, PollItem)} == {"m101", "m102"}

    assert _tick(app, 10) == []  # not due before its interval (60 s)
    new = [mailbox.add("hello"), mailbox.add("world"), mailbox.add("spam", folder="spam")]
    [result] = _tick(app, 50)
    assert result.outcome == "ok" and result.fired == 2
    assert mailbox.calls[-1] == ({"folder": "inbox"}, "102")
    assert _fired(app, wf["id"]) == [new[0]["id"], new[1]["id"]]  # oldest first
    for ex_id in result.executions:
        assert api.wait_finished(ex_id)["status"] == "succeeded"
    assert sorted(r["title"] for r in poll_plugin.RECORDED) == ["hello", "world"]
    events = rows(app, WebhookEvent)
    assert [e.delivery_id.split(":")[0:2] + e.delivery_id.split(":")[3:] for e in events] == [
        ["poll", "new_item", "m103"], ["poll", "new_item", "m104"]]
    assert {e.status for e in events} == {"processed"} and {e.event for e in events} == {"new_item"}

    # Nothing new: nothing fires; an item the vendor returns again does not fire again.
    mailbox.replay = [dict(new[0])]
    [again] = _tick(app, 60)
    assert again.outcome == "ok" and again.fired == 0
    assert len(_fired(app, wf["id"])) == 2
    [poll] = _polls(api)
    assert poll["items_fired"] == 2 and poll["primed"] and poll["last_ok"] is True
    assert poll["workflows"] == [wf["id"]] and poll["interval_s"] == 60
    assert poll["trigger"] == "new_item" and poll["integration"] == "pollster"
    assert poll["connection_id"] == conn and poll["connection"] == "box"
    assert poll["last_error"] is None and poll["consecutive_failures"] == 0
    assert poll["next_poll_at"] == "2026-03-02T09:03:00.000Z"


def test_two_workflows_on_the_same_cursor_share_it_and_both_run_per_item(app, api):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    first = api.create(_workflow(name="one", interval_s=120))
    second = api.create(_workflow(name="two", params={"folder": "inbox"}, interval_s=30))
    _tick(app)
    assert count(app, PollCursor) == 1  # {} and {"folder": "inbox"} are the same params
    [poll] = _polls(api)
    assert poll["workflows"] == [first["id"], second["id"]] and poll["interval_s"] == 30
    item = mailbox.add("both")
    [result] = _tick(app, 30)
    assert result.fired == 1 and len(result.executions) == 2
    assert _fired(app, first["id"]) == [item["id"]] and _fired(app, second["id"]) == [item["id"]]
    assert count(app, WebhookEvent) == 1


@both_databases
def test_params_narrow_a_cursor_and_each_param_set_fires_its_own_workflows(app, api):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    inbox = api.create(_workflow(name="inbox"))
    archive = api.create(_workflow(name="archive", params={"folder": "archive"}))
    # Other params over the same items: a cursor of its own; an item both see fires both.
    capped = api.create(_workflow(name="capped", params={"folder": "inbox", "limit": 50}))
    _tick(app)
    assert count(app, PollCursor) == 3
    a = mailbox.add("to inbox")
    b = mailbox.add("to archive", folder="archive")
    results = _tick(app, 60)
    assert sorted(r.fired for r in results) == [1, 1, 1]
    assert _fired(app, inbox["id"]) == [a["id"]]
    assert _fired(app, archive["id"]) == [b["id"]]
    assert _fired(app, capped["id"]) == [a["id"]]
    assert count(app, WebhookEvent) == 3  # a under two param sets, b once
    by_params = {tuple(sorted(p["params"].items())): p for p in _polls(api)}
    assert by_params[(("folder", "archive"),)]["workflows"] == [archive["id"]]


def test_a_workflow_bound_to_a_connection_sees_only_that_connections_items(app, api):
    one, two = _connect(api, "one"), _connect(api, "two")
    bound = api.create(_workflow(name="bound", connection_id=one))
    anyone = api.create(_workflow(name="any"))
    _tick(app)
    # One cursor per connection: the bound workflow shares "one"'s with the unbound one.
    assert sorted((p["connection_id"], p["workflows"]) for p in _polls(api)) == [
        (one, [bound["id"], anyone["id"]]), (two, [anyone["id"]])]
    assert [p["connection_id"] for p in _polls(api, connection_id=two)] == [two]
    x = poll_plugin.box(one).add("for one")
    y = poll_plugin.box(two).add("for two")
    _tick(app, 60)
    assert _fired(app, bound["id"]) == [x["id"]]
    assert sorted(_fired(app, anyone["id"])) == sorted([x["id"], y["id"]])


def test_dispatch_honours_connection_id_for_webhook_events_too(app, api):
    """Any event trigger may name its connection: deliveries of others do not start it."""
    with app.app_context():
        from atom.models import Connection

        conns = []
        for label in ("a", "b"):
            conn = Connection(integration="http", label=label, settings={}, credentials_encrypted="")
            db.session.add(conn)
            conns.append(conn)
        db.session.commit()
        ids = [c.id for c in conns]
    wf = api.create({"name": "hook", "trigger": {"type": "event", "service": "http",
                                                "event": "webhook_received", "connection_id": ids[1]},
                     "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.id"}}]})
    with app.app_context():
        events = [WebhookEvent(integration="http", connection_id=c, delivery_id=f"d{c}",
                               event="webhook_received", payload={"id": c}) for c in ids]
        db.session.add_all(events)
        db.session.commit()
        started = dispatch_events([e.id for e in events])
    assert len(started) == 1 and _fired(app, wf["id"]) == [ids[1]]


def test_the_item_payload_is_redacted_of_the_connections_secrets(app, api):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    wf = api.create(_workflow())
    _tick(app)
    mailbox.add("leak", note=f"token is {TOKEN}")
    _tick(app, 60)
    with app.app_context():
        [execution] = db.session.scalars(db.select(Execution).filter_by(workflow_id=wf["id"])).all()
        assert TOKEN not in str(execution.trigger_payload)
        assert "[REDACTED]" in execution.trigger_payload["note"]


# -- restarts and crashes -------------------------------------------------------------------------


class Crash(BaseException):
    """The process dies here (not an Exception: nothing on the way catches it)."""


def test_a_restart_between_polls_neither_fires_twice_nor_loses_an_item(app, api, app_factory):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    wf = api.create(_workflow())
    _tick(app)
    first = mailbox.add("before restart")
    _tick(app, 60)

    second_app = _restart(app, app_factory)
    try:
        assert _tick(second_app) == []  # the cursor's next poll is not due yet
        later = mailbox.add("after restart")
        [result] = _tick(second_app, 60)
        assert result.outcome == "ok" and result.fired == 1  # not primed again
        assert _fired(second_app, wf["id"]) == [first["id"], later["id"]]
    finally:
        _shutdown(second_app)


@both_databases
def test_a_crash_after_storing_the_events_dispatches_them_once_after_the_restart(
        app, api, app_factory, monkeypatch):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    wf = api.create(_workflow())
    _tick(app)
    items = [mailbox.add("one"), mailbox.add("two")]

    def die(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr("atom.engine.triggers.dispatch_events", die)
    with pytest.raises(Crash):
        _tick(app, 60)
    monkeypatch.undo()
    assert count(app, Execution) == 0
    assert [e.status for e in rows(app, WebhookEvent)] == ["pending", "pending"]
    assert count(app, PollItem) == 2  # recorded with their events, the cursor moved on

    second_app = _restart(app, app_factory)
    try:
        third = mailbox.add("three")
        [result] = _tick(second_app, 60)
        # The pending two first, then the new one; nothing twice.
        assert _fired(second_app, wf["id"]) == [items[0]["id"], items[1]["id"], third["id"]]
        assert len(result.executions) == 3
        assert {e.status for e in rows(second_app, WebhookEvent)} == {"processed"}
        # Dispatching the same events again (a crash in the middle of a dispatch) starts nothing.
        with second_app.app_context():
            assert dispatch_events([e.id for e in rows(second_app, WebhookEvent)]) == []
        _tick(second_app, 60)
        assert len(_fired(second_app, wf["id"])) == 3
    finally:
        _shutdown(second_app)


def test_a_crash_before_storing_loses_nothing_the_same_items_fire_next_time(app, api, monkeypatch):
    from atom.engine.polling import Poller

    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    wf = api.create(_workflow())
    _tick(app)
    item = mailbox.add("survivor")

    def die(self, *args, **kwargs):
        raise Crash()

    with monkeypatch.context() as patch:
        patch.setattr(Poller, "_record", die)
        with pytest.raises(Crash):
            _tick(app, 60)
    assert count(app, WebhookEvent) == 0 and count(app, Execution) == 0
    [result] = _tick(app, 60)  # claimed by the dead poll: due again an interval later
    assert result.fired == 1 and _fired(app, wf["id"]) == [item["id"]]
    assert mailbox.calls[-1][1] == mailbox.calls[-2][1] == "100"  # the old cursor, twice


# -- failures ------------------------------------------------------------------------------------------


def test_a_failing_poll_keeps_its_cursor_backs_off_and_shows_in_the_api(app, api):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    wf = api.create(_workflow())
    _tick(app)
    item = mailbox.add("waiting")
    mailbox.fail = UpstreamError("the mailbox service is down", status=503)
    [failed] = _tick(app, 60)
    assert failed.outcome == "failed" and failed.error_class == "upstream"
    [poll] = _polls(api, failing="true")
    assert poll["last_ok"] is False and poll["consecutive_failures"] == 1
    assert poll["last_error"] == {"class": "upstream", "message": "the mailbox service is down"}
    assert poll["last_poll_at"] == "2026-03-02T09:01:00.000Z"
    assert poll["next_poll_at"] == "2026-03-02T09:02:00.000Z"  # the next interval
    assert _polls(api, failing="false") == []
    [second] = _tick(app, 60)
    assert second.outcome == "failed"
    assert _polls(api)[0]["next_poll_at"] == "2026-03-02T09:04:00.000Z"  # then doubled
    assert _tick(app, 60) == []  # backing off
    mailbox.fail = None
    [recovered] = _tick(app, 60)
    assert recovered.outcome == "ok" and recovered.fired == 1
    assert _fired(app, wf["id"]) == [item["id"]]
    [poll] = _polls(api)
    assert poll["last_ok"] is True and poll["last_error"] is None and poll["consecutive_failures"] == 0
    assert mailbox.calls[-1][1] == "100"  # the cursor was kept through the failures


def test_the_backoff_is_capped(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "capped"))
    capped = _app(app_factory, POLL_MAX_BACKOFF_S=150)
    try:
        api = Api(capped.test_client(), {"Authorization": f"Bearer {make_key(capped, 'editor')}"})
        conn = _connect(api)
        api.create(_workflow())
        _tick(capped)
        poll_plugin.box(conn).fail = UpstreamError("down")
        waits = []
        for _ in range(4):
            [result] = _tick(capped, 600)
            assert result.outcome == "failed"
            [poll] = _polls(api)
            waits.append((datetime.fromisoformat(poll["next_poll_at"].rstrip("Z"))
                          - datetime.fromisoformat(poll["last_poll_at"].rstrip("Z"))).total_seconds())
        assert waits == [60, 120, 150, 150]
    finally:
        close_engine(capped)


def test_a_plugin_bug_or_a_broken_page_fails_the_poll_without_storing_anything(app, api, monkeypatch):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    api.create(_workflow())
    _tick(app)
    mailbox.add("kept")
    mailbox.fail = RuntimeError("bug")
    [result] = _tick(app, 60)
    assert result.error_class == "upstream"
    assert _polls(api)[0]["last_error"]["message"] == "plugin error: RuntimeError"
    mailbox.fail = KeyError("historyId")
    _tick(app, 120)
    assert "unexpected answer from pollster: KeyError" in _polls(api)[0]["last_error"]["message"]
    mailbox.fail = None
    mailbox.replay = [{"title": "no id"}]
    _tick(app, 240)
    assert "without its 'id'" in _polls(api)[0]["last_error"]["message"]
    assert count(app, WebhookEvent) == 0 and count(app, PollItem) == 0
    [ok] = _tick(app, 480)
    assert ok.outcome == "ok" and ok.fired == 1  # the cursor never moved: the item comes now


def test_429_and_5xx_through_the_client_are_retried_at_the_next_interval(app, api, records):
    conn = _connect(api, "records", base_url=records.server.url)
    wf = api.create(_workflow("new_record"))
    records.add("existing")
    _tick(app)
    assert records.server.calls("/records")[-1].query == {}
    assert records.server.calls("/records")[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    fresh = records.add("fresh")
    records.server.script("/records", reply(429, {"error": "slow down"}, headers={"Retry-After": "90"}))
    [limited] = _tick(app, 30)
    assert limited.outcome == "failed" and limited.error_class == "rate_limited"
    [poll] = _polls(api)
    assert poll["last_error"]["class"] == "rate_limited"
    assert poll["next_poll_at"] == "2026-03-02T09:02:00.000Z"  # Retry-After (90 s), not the 30 s interval
    assert _tick(app, 30) == []
    records.server.script("/records", reply(503, {"error": "maintenance"}))
    [down] = _tick(app, 60)
    assert down.error_class == "upstream" and _polls(api)[0]["consecutive_failures"] == 2
    [ok] = _tick(app, 60)
    assert ok.outcome == "ok" and _fired(app, wf["id"]) == [fresh["record"]["id"]]
    assert records.server.calls("/records")[-1].query == {"since": ["1"]}
    assert conn


def test_an_expired_cursor_re_primes_seen_items_stay_seen_new_ones_fire(app, api, records):
    _connect(api, "records", base_url=records.server.url)
    wf = api.create(_workflow("new_record"))
    records.add("a")
    _tick(app)
    b = records.add("b")
    _tick(app, 30)
    assert _fired(app, wf["id"]) == [b["record"]["id"]]
    records.forgotten.add("2")  # the vendor forgets the cursor: 410
    c = records.add("c")
    [result] = _tick(app, 30)
    assert result.outcome == "resynced" and result.fired == 1
    assert records.server.calls("/records")[-1].query == {}  # a full resync
    assert _fired(app, wf["id"]) == [b["record"]["id"], c["record"]["id"]]
    [poll] = _polls(api)
    assert poll["last_ok"] is True and poll["items_fired"] == 2


def test_an_expired_cursor_of_the_in_process_fake_resyncs_too(app, api):
    conn = _connect(api)
    mailbox = poll_plugin.box(conn)
    wf = api.create(_workflow())
    seen = mailbox.add("seen")
    _tick(app)
    mailbox.expired.add("101")
    new = mailbox.add("new")
    [result] = _tick(app, 60)
    assert result.outcome == "resynced"
    assert [c[1] for c in mailbox.calls[-2:]] == ["101", None]
    assert _fired(app, wf["id"]) == [new["id"]] and seen["id"] != new["id"]


# -- cursors follow the workflows -------------------------------------------------------------------


def test_cursors_follow_enabled_workflows_and_connections(app, api):
    conn = _connect(api)
    wf = api.create(_workflow())
    _tick(app)
    assert count(app, PollCursor) == 1 and count(app, PollItem) == 0
    poll_plugin.box(conn).add("x")
    _tick(app, 60)
    assert count(app, PollItem) == 1
    assert api.client.post(f"/api/v2/ai-workflows/{wf['id']}/disable", headers=api.headers).status_code == 200
    _tick(app)
    assert count(app, PollCursor) == 0 and count(app, PollItem) == 0 and _polls(api) == []
    # Enabled again: a fresh cursor primes; what came meanwhile does not fire.
    poll_plugin.box(conn).add("meanwhile")
    assert api.client.post(f"/api/v2/ai-workflows/{wf['id']}/enable", headers=api.headers).status_code == 200
    [primed] = _tick(app)
    assert primed.outcome == "primed" and len(_fired(app, wf["id"])) == 1
    # A disabled connection is not polled.
    patch = api.client.patch(f"/api/v2/connections/{conn}", json={"enabled": False}, headers=api.headers)
    assert patch.status_code == 200, patch.get_json()
    assert _tick(app, 60) == [] and count(app, PollCursor) == 0


def test_cursors_of_a_plugin_that_did_not_load_are_kept_unpolled(app, api, app_factory):
    from plugins.http.manifest import MANIFEST as HTTP

    conn = _connect(api)
    api.create(_workflow())
    _tick(app)
    close_engine(app)
    without = app_factory(PLUGINS=[HTTP])  # the same database, the plugin missing
    try:
        get_poller(without).clock = app.clock
        assert run_polls(without) == []
        assert [c.primed_at is not None for c in rows(without, PollCursor)] == [True]
    finally:
        _shutdown(without)
    item = poll_plugin.box(conn).add("after the upgrade")
    [result] = _tick(app, 60)  # back with the plugin: not primed again, the item fires
    assert result.outcome == "ok" and result.fired == 1 and item


def test_the_poll_job_is_scheduled_and_old_item_ids_are_pruned(app, api):
    jobs = {job.id: job for job in maintenance_jobs(app)}
    assert jobs["engine:poll"].trigger == "interval"
    assert jobs["engine:poll"].trigger_args == {"seconds": 5.0}
    assert jobs["engine:poll"].func is run_polls
    conn = _connect(api)
    api.create(_workflow())
    poll_plugin.box(conn).add("old")
    _tick(app)
    poll_plugin.box(conn).add("new")
    _tick(app, 60)
    assert count(app, PollItem) == 2 and count(app, WebhookEvent) == 1
    assert prune_poll_items(app) == 0
    app.clock.advance(31 * 86_400)
    assert prune_poll_items(app) == 2
    assert count(app, PollItem) == 0 and count(app, WebhookEvent) == 0
    assert count(app, PollCursor) == 1


def test_the_scheduler_leader_runs_the_poll_job(app_factory, monkeypatch, tmp_path):
    """End to end through APScheduler: the leader's ``engine:poll`` job primes, then fires."""
    from atom.scheduler import start_scheduler
    from tests.fakes import wait_until

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "leader"))
    lead = _app(app_factory, POLL_TICK_S=1, HEALTH_CHECK_INTERVAL_S=0,
                SCHEDULER_LOCK_RETRY_S=0.2, SCHEDULER_RECONCILE_S=0.2)
    scheduler = None
    try:
        api = Api(lead.test_client(), {"Authorization": f"Bearer {make_key(lead, 'editor')}"})
        conn = _connect(api)
        wf = api.create(_workflow(interval_s=5))
        scheduler = start_scheduler(lead, force=True)
        scheduler.add_provider(maintenance_jobs)
        assert "engine:poll" in {job["id"] for job in scheduler.describe()["jobs"]}
        assert wait_until(lambda: any(p["primed"] for p in _polls(api)), timeout=10)
        item = poll_plugin.box(conn).add("scheduled")
        lead.clock.advance(5)
        assert wait_until(lambda: _fired(lead, wf["id"]) == [item["id"]], timeout=10)
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        _shutdown(lead)


def test_poll_metrics_are_exported(app, api):
    conn = _connect(api)
    api.create(_workflow())
    _tick(app)
    poll_plugin.box(conn).add("one")
    _tick(app, 60)
    poll_plugin.box(conn).fail = UpstreamError("down")
    _tick(app, 60)
    body = api.client.get("/metrics", headers=api.headers).get_data(as_text=True)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body) for s in family.samples}

    def value(name: str, **labels: str) -> float | None:
        labels = {"integration": "pollster", "trigger": "new_item", **labels}
        return samples.get((name, tuple(sorted(labels.items()))))

    assert value("atom_polls_total", outcome="primed") == 1
    assert value("atom_polls_total", outcome="ok") == 1
    assert value("atom_polls_total", outcome="failed") == 1
    assert value("atom_poll_errors_total", error_class="upstream") == 1
    assert value("atom_poll_items_fired_total") == 1
    assert value("atom_poll_cursors", state="failing") == 1
    assert value("atom_poll_cursors", state="ok") == 0
    assert value("atom_poll_consecutive_failures", connection_id=str(conn), cursor_id="1") == 1
    assert value("atom_poll_last_poll_timestamp_seconds", connection_id=str(conn),
                 cursor_id="1") == (app.clock() - datetime(1970, 1, 1)).total_seconds()


def test_the_polls_listing_needs_a_key_and_validates_its_query(app, api, keys):
    assert api.client.get("/api/v2/triggers/polls").status_code == 401
    assert api.client.get("/api/v2/triggers/polls", headers=keys["viewer"]).status_code == 200
    bad = api.client.get("/api/v2/triggers/polls?connection_id=one", headers=keys["viewer"])
    assert bad.status_code == 422


# -- definitions ----------------------------------------------------------------------------------------


INVALID_TRIGGERS = [
    ({"params": {"folder": "trash"}}, "params.folder", "Must be one of"),
    ({"params": {"limit": 0}}, "params.limit", "greater than or equal to 1"),
    ({"params": {"colour": "red"}}, "params.colour", "Unknown field"),
    ({"event": "new_record", "params": {"folder": "inbox"}}, "params", "takes no params"),
    ({"interval_s": 4}, "interval_s", "between 5 and 86400"),
    ({"interval_s": 86_401}, "interval_s", "between 5 and 86400"),
    ({"interval_s": 7.5}, "interval_s", "integer"),
    ({"connection_id": 999}, "connection_id", "no connection 999"),
]


def test_poll_trigger_fields_are_validated_with_a_422_naming_the_field(app, api):
    _connect(api)
    for trigger, field, reason in INVALID_TRIGGERS:
        response = api.client.post("/api/v2/ai-workflows", json=_workflow(**trigger),
                                   headers=api.headers)
        assert response.status_code == 422, (trigger, response.get_json())
        problems = response.get_json()["errors"]["trigger"]
        assert field in problems and reason in str(problems[field]), (trigger, problems)
    assert count(app, Workflow) == 0


def test_trigger_fields_that_do_not_fit_the_trigger_are_422(app, api, create_connection):
    http = create_connection("http", {"base_url": "http://127.0.0.1:9"})
    box_conn = _connect(api)
    other = api.client.post("/api/v2/ai-workflows", headers=api.headers,
                            json=_workflow(connection_id=http["id"]))
    assert other.status_code == 422
    assert "is a http connection" in str(other.get_json()["errors"]["trigger"]["connection_id"])
    webhook = {"name": "w", "trigger": {"type": "event", "service": "http", "event": "webhook_received",
                                        "interval_s": 60},
               "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.id"}}]}
    response = api.client.post("/api/v2/ai-workflows", json=webhook, headers=api.headers)
    assert response.status_code == 422
    assert "only for a poll trigger" in str(response.get_json()["errors"]["trigger"]["interval_s"])
    manual = {"name": "m", "trigger": {"type": "manual", "connection_id": box_conn},
              "steps": webhook["steps"]}
    response = api.client.post("/api/v2/ai-workflows", json=manual, headers=api.headers)
    assert response.status_code == 422
    assert "only for an event trigger" in str(response.get_json()["errors"]["trigger"]["connection_id"])
    ok = api.create(_workflow(connection_id=box_conn, params={"folder": "spam"}, interval_s=5))
    assert ok["trigger"]["connection_id"] == box_conn and ok["trigger"]["interval_s"] == 5


def test_the_minimum_interval_is_configurable(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "slow"))
    monkeypatch.setenv("ATOM_POLL_MIN_INTERVAL_S", "120")
    slow = _app(app_factory)
    try:
        assert slow.config["POLL_MIN_INTERVAL_S"] == 120
        api = Api(slow.test_client(), {"Authorization": f"Bearer {make_key(slow, 'editor')}"})
        _connect(api)
        response = api.client.post("/api/v2/ai-workflows", json=_workflow(interval_s=60),
                                   headers=api.headers)
        assert response.status_code == 422
        assert "between 120 and 86400" in str(response.get_json()["errors"]["trigger"]["interval_s"])
        api.create(_workflow())  # no interval: the trigger's 60 s, raised to the minimum
        _tick(slow)
        assert _polls(api)[0]["interval_s"] == 120
    finally:
        close_engine(slow)
