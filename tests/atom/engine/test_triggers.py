"""Triggers: events from signed webhooks, per-workflow webhook URLs, cron fires (once per fire
time, also from several threads/processes), pruning, and the ``atom workflows`` CLI."""
from __future__ import annotations

import json
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

import atom.cli
from atom.engine.triggers import fire_schedule
from atom.engine.triggers import last_fire_time
from atom.extensions import db
from atom.integrations.webhooks import sign_atom
from atom.integrations.webhooks import sign_hub
from atom.models import Execution
from atom.models import ScheduleFire
from atom.models import StepRun
from atom.models import Workflow
from atom.models.base import utcnow
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import count
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import rows
from tests.atom.engine.conftest import steps_of
from tests.fakes import reply
from tests.fakes import wait_until

SECRET = "whsec-engine-0123456789"


# -- event triggers -----------------------------------------------------------------------------


def _deliver(client, conn_id: int, payload: dict, delivery: str | None, secret: str = SECRET,
             ts: int | None = None):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sign_atom(secret, body, ts)}
    if delivery is not None:
        headers["X-Delivery-Id"] = delivery
    return client.post(f"/hooks/http/{conn_id}", data=body, headers=headers)


def test_a_signed_webhook_event_starts_every_matching_enabled_workflow(app, api, fake, create_connection):
    conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, {"webhook_secret": SECRET})
    fake.always("/orders", reply(200, {}))
    fake.always("/all", reply(200, {}))

    def on_event(name: str, conditions: dict, path: str, **extra) -> dict:
        return api.create({"name": name, "trigger": {"type": "event", "service": "http",
                                                     "event": "webhook_received", "conditions": conditions},
                           "steps": [post_step("fwd", path, {"id": "{{ trigger.id }}",
                                                             "kind": "{{ trigger.event }}"})], **extra})

    created = on_event("orders", {"event": "order.created", "shop.region": ["eu", "us"]}, "/orders")
    everything = on_event("all", {}, "/all")
    on_event("disabled", {}, "/all", enabled=False)
    on_event("refunds", {"event": "order.refunded"}, "/all")

    response = _deliver(api.client, conn["id"], {"event": "order.created", "id": 7, "shop": {"region": "eu"}}, "d-1")
    assert response.status_code == 200, response.get_json()
    started = response.get_json()["executions"]
    assert len(started) == 2  # "orders" and "all"; not the disabled one, not "refunds"
    by_wf = {api.execution(i)["workflow_id"]: api.wait_finished(i) for i in started}
    assert set(by_wf) == {created["id"], everything["id"]}
    assert all(e["status"] == "succeeded" for e in by_wf.values())
    assert by_wf[created["id"]]["trigger_type"] == "event"
    assert fake.calls("/orders")[0].json() == {"id": 7, "kind": "order.created"}

    # Conditions that do not match start nothing there.
    response = _deliver(api.client, conn["id"], {"event": "order.created", "id": 8, "shop": {"region": "apac"}}, "d-2")
    assert [api.execution(i)["workflow_id"] for i in response.get_json()["executions"]] == [everything["id"]]
    response = _deliver(api.client, conn["id"], {"event": "order.deleted", "id": 9}, "d-3")
    assert [api.execution(i)["workflow_id"] for i in response.get_json()["executions"]] == [everything["id"]]
    # A repeated delivery (signed afresh, the same delivery id) is a duplicate: nothing starts again.
    redelivered = {"event": "order.created", "id": 7, "shop": {"region": "eu"}}
    response = _deliver(api.client, conn["id"], redelivered, "d-1", ts=int(time.time()) + 1)
    assert response.get_json() == {"accepted": 0, "duplicates": 1, "executions": [], "duplicate": True}
    # So is a replay of a signed delivery under another delivery id, or none.
    signed_at = int(time.time())
    fresh = {"event": "order.created", "id": 11, "shop": {"region": "us"}}
    assert len(_deliver(api.client, conn["id"], fresh, "d-5", ts=signed_at).get_json()["executions"]) == 2
    for delivery in ("d-6", None):
        replay = _deliver(api.client, conn["id"], fresh, delivery, ts=signed_at)
        assert replay.status_code == 200
        assert replay.get_json() == {"accepted": 0, "duplicates": 1, "executions": [], "duplicate": True}
    # A bad signature starts nothing.
    before = count(app, Execution)
    bad = _deliver(api.client, conn["id"], {"event": "order.created", "id": 10}, "d-4", secret="wrong-secret-123")
    assert bad.status_code == 401
    assert count(app, Execution) == before
    for ex_id in [e["id"] for e in api.client.get("/api/v2/executions", headers=api.headers).get_json()["executions"]]:
        api.wait_finished(ex_id)
    assert fake.count("/orders") == 2  # d-1 and d-5, once each


# -- per-workflow webhook URLs -----------------------------------------------------------------------


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_a_webhook_workflow_gets_its_own_url_that_starts_it(app, api, fake, conn):
    fake.always("/got", reply(200, {}))
    wf = api.create({"name": "hook", "trigger": {"type": "webhook"},
                     "steps": [post_step("fwd", "/got", {"body": "{{ trigger }}"})]})
    assert "/hooks/workflows/" in wf["webhook_url"]
    url = _path(wf["webhook_url"])
    response = api.client.post(url, json={"a": 1})  # no API key: the URL is the credential
    assert response.status_code == 202
    body = response.get_json()
    assert body["duplicate"] is False
    done = api.wait_finished(body["execution_id"])
    assert done["status"] == "succeeded" and done["trigger_type"] == "webhook"
    assert fake.calls("/got")[0].json() == {"body": {"a": 1}}
    # A delivery id makes redelivery idempotent.
    first = api.client.post(url, json={"a": 2}, headers={"X-Delivery-Id": "evt-1"}).get_json()
    again = api.client.post(url, json={"a": 2}, headers={"X-Delivery-Id": "evt-1"}).get_json()
    assert again == {"execution_id": first["execution_id"], "duplicate": True}
    # The body must be an object; a disabled workflow refuses.
    assert api.client.post(url, json=[1]).status_code == 400
    api.client.post(f"/api/v2/ai-workflows/{wf['id']}/disable", headers=api.headers)
    assert api.client.post(url, json={}).status_code == 409
    # An update keeps the URL; deleting the workflow ends it.
    api.client.post(f"/api/v2/ai-workflows/{wf['id']}/enable", headers=api.headers)
    updated = api.put(wf["id"], {"name": "hook2", "trigger": {"type": "webhook"},
                                 "steps": [post_step("fwd", "/got")]})
    assert updated["webhook_url"] == wf["webhook_url"]
    api.wait_finished(first["execution_id"])
    assert api.client.delete(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).status_code == 204
    assert api.client.post(url, json={}).status_code == 404


def test_a_webhook_workflow_of_transforms_has_run_when_its_202_returns(app, api):
    """Transforms and conditions only (no I/O, no waits): the request runs it, so its outcome
    is there at once, a failure included, and the 202 stands either way."""
    wf = api.create({"name": "pure", "trigger": {"type": "webhook"}, "steps": [
        {"id": "t", "type": "transform", "mapping": {"size": "abs(trigger.n)"}},
        {"id": "big", "type": "condition", "expression": "steps.t.output.size > `1`",
         "depends_on": ["t"]},
        {"id": "u", "type": "transform", "mapping": {"size": "steps.t.output.size"},
         "depends_on": ["big"], "when": "steps.big.output.result"}]})
    url = _path(wf["webhook_url"])
    response = api.client.post(url, json={"n": -6})
    assert response.status_code == 202
    done = api.execution(response.get_json()["execution_id"])  # no waiting
    assert done["status"] == "succeeded"
    assert steps_of(done)["u"]["output"] == {"size": 6}
    failed = api.client.post(url, json={"n": "six"})  # abs() of a string fails the transform
    assert failed.status_code == 202
    body = api.execution(failed.get_json()["execution_id"])
    assert body["status"] == "failed" and steps_of(body)["t"]["status"] == "failed"
    assert steps_of(body)["t"]["error"]["class"] == "expression"
    assert "In function abs()" in steps_of(body)["t"]["error"]["message"]


def test_a_webhook_workflow_that_calls_a_service_is_queued_not_run_in_the_request(app, api, fake,
                                                                                   conn):
    release = threading.Event()

    def held(req):
        release.wait(10)
        return reply(200, {})

    fake.always("/held", held)
    wf = api.create({"name": "io", "trigger": {"type": "webhook"}, "steps": [
        {"id": "t", "type": "transform", "mapping": {"n": "trigger.n"}},
        post_step("call", "/held", {"n": "{{ steps.t.output.n }}"}, deps=["t"])]})
    began = time.monotonic()
    response = api.client.post(_path(wf["webhook_url"]), json={"n": 1})
    assert response.status_code == 202 and time.monotonic() - began < 5
    ex_id = response.get_json()["execution_id"]
    assert api.execution(ex_id)["status"] in ("queued", "running")
    release.set()
    assert api.wait_finished(ex_id)["status"] == "succeeded"


def test_a_webhook_with_a_secret_needs_the_hmac_signature(app, api):
    wf = api.create({"name": "signed", "trigger": {"type": "webhook", "secret": "s3cret-signing-key"},
                     "steps": [{"id": "t", "type": "transform", "mapping": {"v": "trigger.v"}}]})
    assert wf["trigger"]["secret"] == "********"  # never shown back
    url = _path(wf["webhook_url"])
    body = json.dumps({"v": 42}).encode()
    now = int(time.time())
    good = sign_atom("s3cret-signing-key", body, now)
    headers = {"Content-Type": "application/json"}
    for signature in ({}, {"X-Atom-Timestamp": str(now)}, {**good, "X-Signature-256": "sha256=" + "0" * 64},
                      {**good, "X-Signature-256": "garbage"}, sign_atom("other-key-12345", body, now),
                      {"X-Signature-256": sign_hub("s3cret-signing-key", body)},  # the old scheme
                      {**good, "X-Atom-Timestamp": str(now + 1)},  # the timestamp is signed
                      sign_atom("s3cret-signing-key", body, now - 360),  # past the 300 s tolerance
                      sign_atom("s3cret-signing-key", body, now + 360),  # (a slow machine may take seconds)
                      sign_atom("s3cret-signing-key", body, "nan"),
                      sign_atom("s3cret-signing-key", body, "1e999")):
        response = api.client.post(url, data=body, headers={**headers, **signature})
        assert response.status_code == 401, signature
        assert response.get_json()["code"] == "bad_signature"
    assert count(app, Execution) == 0
    # The signature covers the exact bytes.
    tampered = json.dumps({"v": 43}).encode()
    assert api.client.post(url, data=tampered, headers={**headers, **good}).status_code == 401
    response = api.client.post(url, data=body, headers={**headers, **good, "X-Delivery-Id": "evt-1"})
    assert response.status_code == 202
    done = api.wait_finished(response.get_json()["execution_id"])
    assert steps_of(done)["t"]["output"] == {"v": 42}
    # A replay is a duplicate whatever its delivery id: 200, and nothing starts.
    for delivery in ({"X-Delivery-Id": "evt-2"}, {"X-Delivery-Id": "evt-1"}, {}):
        replay = api.client.post(url, data=body, headers={**headers, **good, **delivery})
        assert replay.status_code == 200, delivery
        assert replay.get_json()["duplicate"] is True
    assert count(app, Execution) == 1
    # Signed afresh with a known delivery id: the same execution, a duplicate.
    again = api.client.post(url, data=body, headers={**headers, **sign_atom("s3cret-signing-key", body, now + 1),
                                                     "X-Delivery-Id": "evt-1"})
    assert again.status_code == 200
    assert again.get_json() == {"execution_id": done["id"], "duplicate": True}
    assert count(app, Execution) == 1


# -- cron -----------------------------------------------------------------------------------------


YEARLY = {"type": "schedule", "cron": "0 0 1 1 *", "timezone": "UTC"}


def _schedule_wf(api, trigger=YEARLY) -> dict:
    return api.create({"name": "cron", "trigger": trigger,
                       "steps": [{"id": "t", "type": "transform", "mapping": {"at": "trigger.fired_at"}}]})


def test_a_cron_fire_time_starts_exactly_one_execution(app, api):
    wf = _schedule_wf(api)
    first = fire_schedule(app, wf["id"])
    second = fire_schedule(app, wf["id"])
    assert first is not None and second is None
    assert count(app, Execution) == 1 and count(app, ScheduleFire) == 1
    done = api.wait_finished(first)
    expected = last_fire_time("0 0 1 1 *", "UTC")
    assert expected.month == 1 and expected.day == 1 and expected.hour == 0
    assert done["trigger_type"] == "schedule"
    assert steps_of(done)["t"]["output"] == {"at": expected.isoformat() + "Z"}
    fire = rows(app, ScheduleFire)[0]
    assert fire.fire_time == expected and fire.execution_id == first


def test_a_cron_fire_from_several_threads_and_apps_runs_once(app, app_factory, api):
    """Two apps on one database stand for two gunicorn workers; each fires from 3 threads."""
    wf = _schedule_wf(api)
    other = app_factory()
    try:
        results: list = []
        barrier = threading.Barrier(6)

        def fire(target):
            barrier.wait(10)
            results.append(fire_schedule(target, wf["id"]))

        threads = [threading.Thread(target=fire, args=(a,)) for a in (app, other) * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        started = [r for r in results if r is not None]
        assert len(results) == 6 and len(started) == 1, results
        assert count(app, Execution) == 1 and count(app, ScheduleFire) == 1
        assert api.wait_finished(started[0])["status"] == "succeeded"
    finally:
        close_engine(other)


def test_cron_fires_only_enabled_schedule_workflows_in_their_time_zone(app, api):
    wf = _schedule_wf(api, {"type": "schedule", "cron": "30 9 * * *", "timezone": "America/New_York"})
    api.client.post(f"/api/v2/ai-workflows/{wf['id']}/disable", headers=api.headers)
    assert fire_schedule(app, wf["id"]) is None
    manual_wf = api.create(manual("m", [{"id": "t", "type": "transform", "mapping": {"a": "`1`"}}]))
    assert fire_schedule(app, manual_wf["id"]) is None
    assert count(app, Execution) == 0
    # 09:30 in New York is 13:30 or 14:30 UTC, never 09:30 UTC.
    fire = last_fire_time("30 9 * * *", "America/New_York", datetime(2026, 7, 1, 20, 0).astimezone())
    assert (fire.hour, fire.minute) in ((13, 30), (14, 30))


def test_schedule_jobs_lists_one_cron_job_per_enabled_schedule_workflow(app, api):
    import pytest

    pytest.importorskip("atom.scheduler")
    from atom.engine.triggers import schedule_jobs

    wf = _schedule_wf(api, {"type": "schedule", "cron": "*/5 8-18 * * 1-5", "timezone": "Europe/Paris"})
    off = _schedule_wf(api)
    api.client.post(f"/api/v2/ai-workflows/{off['id']}/disable", headers=api.headers)
    jobs = schedule_jobs(app)
    assert len(jobs) == 1
    job = jobs[0]
    assert job.kwargs == {"app": app, "workflow_id": wf["id"]}
    assert job.trigger == "cron"
    # Weekdays by name: APScheduler 3 counts them from Monday, cron from Sunday.
    assert job.trigger_args == {"minute": "*/5", "hour": "8-18", "day": "*", "month": "*",
                                "day_of_week": "mon,tue,wed,thu,fri", "timezone": "Europe/Paris"}


@pytest.mark.parametrize("cron", ["0 9 * * 1-5", "30 8 * * 0", "0 0 * * 7", "*/20 6 * * sat,sun",
                                  "0 12 * * 1-5/2", "0 9 * * 5#2", "15 3 1 * *", "0 9 * * *"])
def test_the_scheduler_fires_when_cron_says(cron):
    """The cron job the scheduler is given fires at cron's times (croniter's, which the
    workflow page shows and fire_schedule keys each fire by)."""
    from apscheduler.triggers.cron import CronTrigger
    from croniter import croniter

    from atom.engine.triggers import cron_trigger_args

    trigger = CronTrigger(**cron_trigger_args(cron), timezone="UTC")
    start = datetime(2026, 3, 1, 0, 0, 30, tzinfo=UTC)
    expected = croniter(cron, start)
    fired, previous = [], None
    for _ in range(12):
        previous = trigger.get_next_fire_time(previous, previous or start)
        fired.append(previous)
        previous = previous + timedelta(seconds=1)
    assert fired == [expected.get_next(datetime) for _ in range(12)]


# -- pruning ----------------------------------------------------------------------------------------


def test_finished_executions_older_than_the_retention_are_pruned(app, api):
    app.config["EXECUTION_RETENTION_DAYS"] = 30
    wf = api.create(NOOP_WF)
    ids = [api.run(wf["id"], {"x": i})["id"] for i in range(4)]
    old_done, old_failed, old_running, recent = ids
    now = utcnow()
    with app.app_context():
        for ex_id, status, age in ((old_done, "succeeded", 40), (old_failed, "failed", 31),
                                   (old_running, "running", 40), (recent, "succeeded", 29)):
            db.session.execute(db.update(Execution).where(Execution.id == ex_id).values(
                status=status, created_at=now - timedelta(days=age), finished_at=now - timedelta(days=age)))
        db.session.add(ScheduleFire(workflow_id=wf["id"], fire_time=now - timedelta(days=60)))
        db.session.commit()
    result = app.test_cli_runner().invoke(atom.cli.main, ["workflows", "prune"])
    assert result.exit_code == 0, result.output
    assert "pruned 2 execution(s)" in result.output
    left = {e.id for e in rows(app, Execution)}
    assert left == {old_running, recent}
    assert {r.execution_id for r in rows(app, StepRun)} == {old_running, recent}
    assert count(app, ScheduleFire) == 0
    assert count(app, Workflow) == 1


NOOP_WF = manual("noop", [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}])


# -- the CLI -----------------------------------------------------------------------------------------


def test_the_cli_runs_a_workflow_with_a_payload_file(app, api, fake, conn, tmp_path):
    fake.always("/cli", reply(200, {"seen": True}))
    wf = api.create(manual("cli", [post_step("call", "/cli", {"who": "{{ trigger.who }}"})]))
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"who": "cli-user"}))
    runner = app.test_cli_runner()
    result = runner.invoke(atom.cli.main, ["workflows", "run", str(wf["id"]), "--payload", str(payload),
                                           "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["status"] == "succeeded" and out["workflow_id"] == wf["id"]
    assert out["steps"][0]["output"]["body"] == {"seen": True}
    assert fake.calls("/cli")[0].json() == {"who": "cli-user"}
    listing = runner.invoke(atom.cli.main, ["workflows", "list"])
    assert f"{wf['id']}\tcli\tv1\tmanual\tenabled" in listing.output


def test_the_cli_exits_1_for_a_failed_run_and_refuses_bad_input(app, api, fake, conn, tmp_path):
    fake.always("/bad", reply(500, {}))
    wf = api.create(manual("cli", [post_step("call", "/bad")]))
    runner = app.test_cli_runner()
    result = runner.invoke(atom.cli.main, ["workflows", "run", str(wf["id"]), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["status"] == "failed"
    not_object = tmp_path / "list.json"
    not_object.write_text("[1, 2]")
    result = runner.invoke(atom.cli.main, ["workflows", "run", str(wf["id"]), "--payload", str(not_object)])
    assert result.exit_code != 0 and "JSON object" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    result = runner.invoke(atom.cli.main, ["workflows", "run", str(wf["id"]), "--payload", str(broken)])
    assert result.exit_code != 0 and "not valid JSON" in result.output
    result = runner.invoke(atom.cli.main, ["workflows", "run", "999"])
    assert result.exit_code != 0 and "no workflow 999" in result.output
    api.client.post(f"/api/v2/ai-workflows/{wf['id']}/disable", headers=api.headers)
    result = runner.invoke(atom.cli.main, ["workflows", "run", str(wf["id"])])
    assert result.exit_code != 0 and "disabled" in result.output
    assert wait_until(lambda: all(e.status != "running" for e in rows(app, Execution)), 10)
