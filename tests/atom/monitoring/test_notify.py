"""Notifications per incident: group wait, group interval, reminders, escalation, silences,
held alerts, the resolved message; channels (delivery off the checking thread, failures)."""
from __future__ import annotations

import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from atom.extensions import db
from atom.models import Alert
from atom.monitoring.incidents import silence_matches
from atom.monitoring.monitor import get_monitor
from tests.atom.monitoring.conftest import alerts_of
from tests.fakes import FakeServer
from tests.fakes import reply
from tests.fakes import wait_until

WAIT, INTERVAL, REPEAT = 30, 300, 3600


@pytest.fixture
def settings():
    # Only the success-rate and consecutive-failure rules; the window outlasts the timers.
    # (Calls are stamped with real time, checks with the test's clock: the alert window too.)
    return {"HEALTH_SCORE_WARNING": 0, "HEALTH_SCORE_CRITICAL": 0, "MONITORING_WINDOW_S": 7200,
            "ALERT_WINDOW_S": 7200, "ALERT_GROUP_WAIT_S": WAIT, "ALERT_GROUP_INTERVAL_S": INTERVAL,
            "ALERT_REPEAT_INTERVAL_S": REPEAT}


@pytest.fixture
def webhook(client, keys, connect, service):
    """An ``http`` connection used as a webhook channel posting to ``target`` on the fake."""
    def make(target="/alerts", **extra):
        service.always(target, reply(200, {"received": True}))
        hook = connect("/health", label=f"hook {target}")
        response = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                               json={"name": f"hook {target}", "connection_id": hook["id"],
                                     "target": target, **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def deliver(app):
    """Wake the delivery thread and wait for it (as the monitoring:notify job does)."""
    def run() -> None:
        monitor = get_monitor(app)
        assert monitor.notifier.drain()
        monitor.notifier.nudge()
        assert monitor.notifier.drain()

    return run


def failing(service, connect, run, clock, deliver):
    """A connection that fails, one round, and the group wait passed: its first message out."""
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    clock.advance(WAIT + 1)
    deliver()


def texts(service, path="/alerts"):
    return [call.json()["text"] for call in service.calls(path, "POST")]


def incident_of(client, keys):
    [incident] = client.get("/api/v2/monitoring/incidents", headers=keys["viewer"]).get_json()[
        "incidents"]
    return client.get(f"/api/v2/monitoring/incidents/{incident['id']}",
                      headers=keys["viewer"]).get_json()


def test_thirty_alerts_arriving_over_ten_seconds_are_one_message_after_the_group_wait(
        client, keys, connect, service, webhook, run, clock, deliver):
    webhook()
    service.always("/down", reply(503, {}))
    for batch in range(3):
        for i in range(10):
            connect("/down", label=f"api {batch * 10 + i}")
        run()
        deliver()
        assert texts(service) == []
        clock.advance(5)
    clock.advance(WAIT - 15 + 1)
    deliver()
    deliver()

    [text] = texts(service)
    incident = incident_of(client, keys)
    assert len({a["connection_id"] for a in incident["alerts"]}) == 30
    firing = incident["counts"]["firing"]
    assert firing >= 30 and incident["status"] == "open"
    assert "incident #1 firing" in text and f"{firing} firing" in text and "[ATOM CRITICAL]" in text
    assert f"... and {firing - 5} more" in text
    assert [(n["event"], n["status"], n["firing"]) for n in incident["notifications"]] == \
        [("firing", "sent", firing)]
    # The alert's own page lists its incident's messages.
    alert = client.get(f"/api/v2/monitoring/alerts/{incident['alerts'][0]['id']}",
                       headers=keys["viewer"]).get_json()
    assert alert["incident_id"] == incident["id"]
    assert [n["event"] for n in alert["notifications"]] == ["firing"]


def test_a_changed_incident_is_sent_again_only_after_the_group_interval(
        client, keys, connect, service, webhook, run, clock, deliver):
    webhook()
    service.always("/down", reply(503, {}))
    connect("/down", label="first")
    run()
    clock.advance(WAIT + 1)
    deliver()
    assert len(texts(service)) == 1

    connect("/down", label="second")  # a new alert joins the incident
    run()
    clock.advance(INTERVAL - 60)
    deliver()
    assert len(texts(service)) == 1
    clock.advance(61)
    deliver()
    assert len(texts(service)) == 2
    assert "incident #1 updated" in texts(service)[-1] and "second" in texts(service)[-1]
    deliver()
    assert len(texts(service)) == 2


def test_reminders_repeat_until_the_incident_is_acknowledged(
        client, keys, connect, service, webhook, run, clock, deliver):
    webhook()
    failing(service, connect, run, clock, deliver)
    clock.advance(REPEAT - 10)
    deliver()
    assert len(texts(service)) == 1
    clock.advance(11)
    deliver()
    assert len(texts(service)) == 2 and "reminder" in texts(service)[-1]
    clock.advance(REPEAT + 1)
    deliver()
    assert len(texts(service)) == 3

    incident = incident_of(client, keys)
    acked = client.post(f"/api/v2/monitoring/incidents/{incident['id']}/acknowledge",
                        headers=keys["editor"])
    assert acked.status_code == 200 and acked.get_json()["status"] == "acknowledged"
    clock.advance(REPEAT * 3)
    deliver()
    assert len(texts(service)) == 3


def _policy(client, keys, levels, **extra):
    response = client.post("/api/v2/monitoring/escalation-policies", headers=keys["admin"],
                           json={"name": "ops", "levels": levels, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("acknowledge", [False, True])
def test_escalation_level_one_goes_after_its_delay_only_if_unacknowledged(
        client, keys, connect, service, webhook, run, clock, deliver, acknowledge):
    first, pager = webhook("/alerts"), webhook("/pager")
    _policy(client, keys, [{"delay_s": 0, "channel_ids": [first["id"]]},
                           {"delay_s": 900, "channel_ids": [pager["id"]]}])
    failing(service, connect, run, clock, deliver)
    assert len(texts(service)) == 1 and texts(service, "/pager") == []
    if acknowledge:
        incident = incident_of(client, keys)
        client.post(f"/api/v2/monitoring/incidents/{incident['id']}/acknowledge",
                    headers=keys["editor"])
    clock.advance(900 - WAIT - 10)
    deliver()
    assert texts(service, "/pager") == []
    clock.advance(10)
    deliver()
    if acknowledge:
        assert texts(service, "/pager") == []
    else:
        [escalated] = texts(service, "/pager")
        assert "incident #1 escalated" in escalated
        assert incident_of(client, keys)["escalation_level"] == 1
    assert len(texts(service)) == 1  # level 0 is not told again of the escalation


def test_a_policy_repeat_interval_overrides_the_default(client, keys, connect, service, webhook,
                                                        run, clock, deliver):
    hook = webhook()
    _policy(client, keys, [{"delay_s": 0, "channel_ids": [hook["id"]]}], repeat_interval_s=600)
    failing(service, connect, run, clock, deliver)
    clock.advance(601)
    deliver()
    assert len(texts(service)) == 2 and "reminder" in texts(service)[-1]


@pytest.mark.parametrize("field", ["integration", "connection_id", "host", "rule", "severity",
                                   "subject"])
def test_a_silence_by_each_matcher_field_holds_the_incident(client, keys, connect, service,
                                                            webhook, run, clock, deliver, field):
    webhook()
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    [alert] = alerts_of(client, keys["viewer"], status="active")
    value = alert[field] if field != "host" else incident_of(client, keys)["host"]
    assert value is not None
    ends = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    other = {"integration": "slack", "connection_id": 999, "host": "elsewhere.example",
             "rule": "anomaly", "severity": "warning", "subject": "connection:999"}[field]
    miss = client.post("/api/v2/monitoring/silences", headers=keys["editor"],
                       json={"matcher": {field: other}, "ends_at": ends, "comment": "other"})
    assert miss.status_code == 201, miss.get_json()
    hit = client.post("/api/v2/monitoring/silences", headers=keys["editor"],
                      json={"matcher": {field: value}, "ends_at": ends, "comment": "deploy"})
    assert hit.status_code == 201, hit.get_json()
    assert hit.get_json()["matching"] == 1 and miss.get_json()["matching"] == 0

    clock.advance(WAIT + 1)
    deliver()
    assert texts(service) == []
    detail = incident_of(client, keys)
    assert detail["counts"]["held"] == 1
    assert detail["alerts"][0]["held"] == f"silence {hit.get_json()['id']}"
    assert alerts_of(client, keys["viewer"], status="active")  # a silenced alert stays open

    expired = client.post(f"/api/v2/monitoring/silences/{hit.get_json()['id']}/expire",
                          headers=keys["editor"])
    assert expired.status_code == 200 and expired.get_json()["state"] == "expired"
    deliver()
    assert len(texts(service)) == 1


def test_a_silence_matches_a_workflow_alert_by_its_workflow_id():
    alert = Alert(rule="workflow_failure_rate", subject="workflow:3", workflow_id=3,
                  severity="critical", status="open")
    assert silence_matches({"workflow_id": 3}, alert)
    assert not silence_matches({"workflow_id": 4}, alert)
    assert not silence_matches({"workflow_id": 3, "severity": "warning"}, alert)
    assert not silence_matches({}, alert)


@pytest.mark.parametrize("hold", ["suppressed", "flapping", "maintenance"])
def test_suppressed_flapping_and_maintenance_alerts_are_held(app, client, keys, connect, service,
                                                             webhook, run, clock, deliver, hold):
    webhook()
    service.always("/down", reply(503, {}))
    down = connect("/down")
    run()
    with app.app_context():
        [alert] = db.session.scalars(db.select(Alert)).all()
        alert_id = alert.id
        if hold == "suppressed":
            alert.status = "suppressed"
        elif hold == "flapping":
            alert.flapping = True
        db.session.commit()
    if hold == "maintenance":
        window = client.post("/api/v2/monitoring/maintenance", headers=keys["editor"],
                             json={"connection_id": down["id"],
                                   "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()})
        assert window.status_code == 201
    clock.advance(WAIT + 1)
    deliver()
    assert texts(service) == []
    assert incident_of(client, keys)["alerts"][0]["held"] == hold

    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        alert.status, alert.flapping = "open", False
        db.session.commit()
    if hold == "maintenance":
        client.delete(f"/api/v2/monitoring/maintenance/{window.get_json()['id']}",
                      headers=keys["editor"])
    deliver()
    assert len(texts(service)) == 1 and "1 firing" in texts(service)[0]


def test_a_resolved_incident_sends_one_resolved_message(client, keys, connect, service, webhook,
                                                        run, clock, deliver, age):
    webhook()
    failing(service, connect, run, clock, deliver)
    service.always("/down", reply(200, {}))
    age(7300)  # the failure leaves the window
    run()
    run()  # two good evaluations resolve the alert, and so the incident
    assert incident_of(client, keys)["status"] == "resolved"
    deliver()
    assert len(texts(service)) == 1  # within the group interval of the last message
    clock.advance(INTERVAL)
    deliver()
    deliver()
    assert len(texts(service)) == 2
    assert "[ATOM RESOLVED] incident #1 resolved" in texts(service)[-1]
    assert "0 firing, 1 resolved" in texts(service)[-1]


def test_an_incident_resolved_before_its_group_wait_sends_nothing(
        client, keys, connect, service, webhook, run, clock, deliver):
    webhook()
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    incident = incident_of(client, keys)
    client.post(f"/api/v2/monitoring/incidents/{incident['id']}/resolve", headers=keys["editor"])
    clock.advance(INTERVAL + WAIT)
    deliver()
    assert texts(service) == []


def test_two_processes_never_send_the_same_message(app, app_factory, settings, client, keys,
                                                   connect, service, webhook, run, clock):
    from tests.atom.monitoring.conftest import QUICK

    webhook()
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    clock.advance(WAIT + 1)
    other = app_factory(**{**QUICK, **settings})
    get_monitor(other).clock = clock
    start = threading.Barrier(2)

    def pass_of(which):
        with which.app_context():
            start.wait()
            get_monitor(which).deliver_due()

    threads = [threading.Thread(target=pass_of, args=(a,)) for a in (app, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(texts(service)) == 1


def test_every_channel_hears_of_an_incident(client, keys, connect, service, webhook, run, clock,
                                            deliver):
    webhook("/alerts")
    webhook("/second")
    failing(service, connect, run, clock, deliver)
    assert len(texts(service)) == 1 and len(texts(service, "/second")) == 1
    assert sorted(n["channel_id"] for n in incident_of(client, keys)["notifications"]) == [1, 2]


def test_a_slow_channel_never_delays_the_round(app, client, keys, connect, service, webhook, run,
                                               clock):
    webhook()
    service.always("/alerts", reply(200, {}, delay=5.0))
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    clock.advance(WAIT + 1)

    result = run()

    assert result["duration_s"] < 3.0
    assert wait_until(lambda: service.count("/alerts") == 1, timeout=15)


def test_a_channel_below_its_minimum_severity_stays_quiet(app, client, keys, connect, service,
                                                          webhook, run, clock, deliver):
    webhook(min_severity="critical")
    service.always("/slow", reply(200, {}, delay=1.2))
    connect("/slow")
    run()  # a response-time warning
    assert alerts_of(client, keys["viewer"], rule="response_time")
    clock.advance(WAIT + 1)
    deliver()
    assert texts(service) == []


def test_a_failing_channel_is_recorded_and_does_not_stop_the_others(
        client, keys, connect, service, webhook, run, clock, deliver):
    broken = connect("/health", label="broken hook")
    client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                json={"name": "broken", "connection_id": broken["id"], "target": "/missing"})
    webhook()
    service.always("/missing", reply(500, {"error": "boom"}))
    failing(service, connect, run, clock, deliver)
    assert sorted((n["status"], n["error_class"])
                  for n in incident_of(client, keys)["notifications"]) == \
        [("failed", "upstream"), ("sent", None)]


def test_a_slack_channel_posts_to_the_chosen_channel(client, keys, create_connection, connect,
                                                     service, run, clock, deliver):
    service.always("/api/auth.test", reply(200, {"ok": True}))
    service.always("/api/chat.postMessage", reply(200, {"ok": True, "channel": "C1", "ts": "1.2"}))
    slack = create_connection("slack", {"base_url": service.url + "/api/"},
                              {"token": "xoxb-test-token"})
    created = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                          json={"name": "ops", "connection_id": slack["id"], "target": "#ops"})
    assert created.status_code == 201, created.get_json()
    with FakeServer() as down:
        down.always("/health", reply(503, {}))
        connect(url=down.url)
        run()
    clock.advance(WAIT + 1)
    deliver()
    [call] = service.calls("/api/chat.postMessage")
    form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
    assert form["channel"] == "#ops" and "success_rate" in form["text"]
    assert call.headers["Authorization"] == "Bearer xoxb-test-token"


def test_channels_are_validated_and_managed_by_admins(client, keys, create_connection, connect,
                                                      service):
    hook = connect("/health")
    probe = create_connection("probe", {"base_url": service.url})
    url = "/api/v2/monitoring/channels"

    unknown = client.post(url, headers=keys["admin"], json={"name": "x", "connection_id": 99})
    assert unknown.status_code == 422 and "connection_id" in unknown.get_json()["errors"]
    mute = client.post(url, headers=keys["admin"], json={"name": "x", "connection_id": probe["id"]})
    assert mute.status_code == 422
    assert "cannot post messages" in mute.get_json()["errors"]["connection_id"][0]
    bad = client.post(url, headers=keys["admin"],
                      json={"name": "x", "connection_id": hook["id"], "min_severity": "loud"})
    assert bad.status_code == 422 and "min_severity" in bad.get_json()["errors"]
    assert client.post(url, headers=keys["editor"],
                       json={"name": "x", "connection_id": hook["id"]}).status_code == 403

    created = client.post(url, headers=keys["admin"],
                          json={"name": "hook", "connection_id": hook["id"], "target": "/alerts"})
    channel = created.get_json()
    assert [c["id"] for c in client.get(url, headers=keys["viewer"]).get_json()["channels"]] == \
        [channel["id"]]
    assert client.delete(f"{url}/{channel['id']}", headers=keys["admin"]).status_code == 204
    assert client.delete(f"{url}/{channel['id']}", headers=keys["admin"]).status_code == 404


def test_a_channel_can_be_tested(client, keys, connect, service):
    service.always("/alerts", reply(200, {}))
    hook = connect("/health")
    channel = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                          json={"name": "hook", "connection_id": hook["id"],
                                "target": "/alerts"}).get_json()
    result = client.post(f"/api/v2/monitoring/channels/{channel['id']}/test",
                         headers=keys["editor"]).get_json()
    assert result == {"ok": True, "error_class": None, "message": None}
    assert "test notification" in texts(service)[0]
    service.always("/alerts", reply(401, {}))
    failed = client.post(f"/api/v2/monitoring/channels/{channel['id']}/test",
                         headers=keys["editor"]).get_json()
    assert failed["ok"] is False and failed["error_class"] == "auth"


def test_a_channel_target_path_is_masked_below_its_first_segment(app, client, keys, create_connection):
    """A webhook path often carries its token (Slack's /services/T/B/XXXX): responses show the
    first segment only; a Slack channel name is shown as is."""
    conn = create_connection("http", {"base_url": "http://127.0.0.1:9"})
    made = client.post("/api/v2/monitoring/channels", headers=keys["admin"], json={
        "name": "ops hook", "connection_id": conn["id"], "target": "/services/T0/B0/s3cretTokenValue"})
    assert made.status_code == 201, made.get_json()
    for body in (made.get_data(as_text=True),
                 client.get("/api/v2/monitoring/channels", headers=keys["viewer"]).get_data(as_text=True)):
        assert "s3cretTokenValue" not in body
        assert "/services/********" in body
