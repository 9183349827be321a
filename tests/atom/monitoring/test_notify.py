"""Alert notifications: channels, delivery off the checking thread, throttling."""
from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from atom.monitoring.monitor import get_monitor
from tests.atom.monitoring.conftest import alerts_of
from tests.fakes import reply
from tests.fakes import wait_until


@pytest.fixture
def settings():
    # The window outlasts the throttle, so moving the clock past the throttle keeps the calls.
    # (Calls are stamped with real time, checks with the test's clock: the alert window too.)
    return {"HEALTH_SCORE_WARNING": 0, "HEALTH_SCORE_CRITICAL": 0, "ALERT_NOTIFY_THROTTLE_S": 600,
            "MONITORING_WINDOW_S": 3600, "ALERT_WINDOW_S": 3600}


@pytest.fixture
def webhook(client, keys, connect, service):
    """An ``http`` connection used as a webhook channel posting to ``/alerts`` on the fake."""
    service.always("/alerts", reply(200, {"received": True}))

    def make(**extra):
        hook = connect("/health", label="webhook")
        response = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                               json={"name": "ops hook", "connection_id": hook["id"],
                                     "target": "/alerts", **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def texts(service, path="/alerts"):
    return [call.json()["text"] for call in service.calls(path, "POST")]


def test_an_alert_is_posted_to_the_webhook_channel_when_it_opens_escalates_and_resolves(
        app, client, keys, connect, service, webhook, run):
    channel = webhook()
    service.always("/down", reply(503, {}))
    connect("/down", label="billing api")

    run()  # success_rate (critical) opens
    assert wait_until(lambda: len(texts(service)) == 1)
    [opened] = texts(service)
    assert "[ATOM CRITICAL]" in opened and "opened" in opened and "billing api" in opened

    run()  # consecutive_failures (warning) opens
    run()  # ... and escalates to critical
    assert wait_until(lambda: len(texts(service)) == 3)
    assert "escalated" in texts(service)[-1] and "consecutive_failures" in texts(service)[-1]

    [alert] = alerts_of(client, keys["viewer"], rule="success_rate")
    client.post(f"/api/v2/monitoring/alerts/{alert['id']}/resolve", headers=keys["editor"])
    assert wait_until(lambda: len(texts(service)) == 4)
    assert "resolved" in texts(service)[-1]

    assert get_monitor(app).notifier.drain()
    detail = client.get(f"/api/v2/monitoring/alerts/{alert['id']}", headers=keys["viewer"]).get_json()
    assert [(n["event"], n["status"], n["channel_id"]) for n in detail["notifications"]] == \
        [("opened", "sent", channel["id"]), ("resolved", "sent", channel["id"])]


def test_the_same_event_is_throttled_then_sent_again_after_the_throttle_window(
        app, client, keys, connect, service, webhook, run, clock):
    webhook()
    service.always("/down", reply(503, {}))
    connect("/down")

    def flap():
        run()
        [alert] = alerts_of(client, keys["viewer"], rule="success_rate", status="active")
        client.post(f"/api/v2/monitoring/alerts/{alert['id']}/resolve", headers=keys["editor"])
        assert get_monitor(app).notifier.drain()
        return client.get(f"/api/v2/monitoring/alerts/{alert['id']}",
                          headers=keys["viewer"]).get_json()["notifications"]

    first = flap()
    second = flap()
    clock.advance(601)
    third = flap()

    assert [n["status"] for n in first] == ["sent", "sent"]
    assert [n["status"] for n in second] == ["throttled", "throttled"]
    assert [n["status"] for n in third] == ["sent", "sent"]
    opened = [t for t in texts(service) if "success_rate" in t and "opened" in t]
    assert len(opened) == 2


def test_every_channel_hears_of_an_alert(app, client, keys, connect, service, webhook, run):
    webhook()
    webhook(name="second hook")
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    assert wait_until(lambda: len(texts(service)) == 2)
    assert get_monitor(app).notifier.drain()
    [alert] = alerts_of(client, keys["viewer"], rule="success_rate")
    detail = client.get(f"/api/v2/monitoring/alerts/{alert['id']}",
                        headers=keys["viewer"]).get_json()
    assert sorted(n["channel_id"] for n in detail["notifications"]) == [1, 2]


def test_a_slow_channel_never_delays_the_round(app, client, keys, connect, service, webhook, run):
    webhook()
    service.always("/alerts", reply(200, {}, delay=5.0))
    service.always("/down", reply(503, {}))
    connect("/down")

    result = run()

    assert result["alerts"]["opened"]
    assert result["duration_s"] < 3.0
    assert wait_until(lambda: service.count("/alerts") == 1, timeout=15)


def test_a_channel_below_its_minimum_severity_stays_quiet(app, client, keys, connect, service,
                                                          webhook, run):
    webhook(min_severity="critical")
    service.always("/slow", reply(200, {}, delay=1.2))
    connect("/slow")
    run()  # a response-time warning
    assert alerts_of(client, keys["viewer"], rule="response_time")
    assert get_monitor(app).notifier.drain()
    assert texts(service) == []


def test_a_failing_channel_is_recorded_and_does_not_stop_the_others(app, client, keys, connect,
                                                                    service, webhook, run):
    broken = connect("/health", label="broken hook")
    client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                json={"name": "broken", "connection_id": broken["id"], "target": "/missing"})
    webhook()
    service.always("/missing", reply(500, {"error": "boom"}))
    service.always("/down", reply(503, {}))
    connect("/down")

    run()

    assert get_monitor(app).notifier.drain()
    [alert] = alerts_of(client, keys["viewer"], rule="success_rate")
    detail = client.get(f"/api/v2/monitoring/alerts/{alert['id']}", headers=keys["viewer"]).get_json()
    assert sorted((n["status"], n["error_class"]) for n in detail["notifications"]) == \
        [("failed", "upstream"), ("sent", None)]


def test_a_slack_channel_posts_to_the_chosen_channel(app, client, keys, create_connection, connect,
                                                     service, run):
    service.always("/api/auth.test", reply(200, {"ok": True}))
    service.always("/api/chat.postMessage", reply(200, {"ok": True, "channel": "C1", "ts": "1.2"}))
    slack = create_connection("slack", {"base_url": service.url + "/api/"},
                              {"token": "xoxb-test-token"})
    created = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                          json={"name": "ops", "connection_id": slack["id"], "target": "#ops"})
    assert created.status_code == 201, created.get_json()
    service.always("/down", reply(503, {}))
    connect("/down")

    run()

    assert wait_until(lambda: service.count("/api/chat.postMessage") == 1)
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
