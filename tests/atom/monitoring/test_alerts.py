"""Alert rules and lifecycle, driven by fake services whose latency and failures we control."""
from __future__ import annotations

from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import Execution
from atom.models import Workflow
from atom.models.base import utcnow
from tests.atom.monitoring.conftest import alerts_of
from tests.fakes import reply


@pytest.fixture
def settings():
    # The score rule would fire alongside the others; keep each test about one rule.
    return {"HEALTH_SCORE_WARNING": 0, "HEALTH_SCORE_CRITICAL": 0}


def active(client, keys, **query):
    return alerts_of(client, keys["viewer"], status="active", **query)


def test_a_slow_service_raises_a_response_time_alert_and_recovery_resolves_it(
        client, keys, connect, service, run, age):
    service.always("/slow", reply(200, {"ok": True}, delay=1.2))
    conn = connect("/slow")

    first = run()

    [alert] = active(client, keys, rule="response_time")
    assert alert["severity"] == "warning" and alert["connection_id"] == conn["id"]
    assert alert["value"] > 1000 and alert["threshold"] == 1000
    assert alert["integration"] == "http" and alert["subject"] == f"connection:{conn['id']}"
    assert first["alerts"]["opened"] == [alert["id"]]

    service.always("/slow", reply(200, {"ok": True}))
    age(3600)  # the slow checks leave the window
    run()
    assert active(client, keys, rule="response_time"), "one good round is not a sustained recovery"
    last = run()
    assert not active(client, keys, rule="response_time")
    assert last["alerts"]["resolved"] == [alert["id"]]
    resolved = client.get(f"/api/v2/monitoring/alerts/{alert['id']}", headers=keys["viewer"]).get_json()
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "system"


def test_a_failing_service_raises_a_success_rate_alert(client, keys, connect, service, run, age):
    service.always("/flaky", reply(500, {"error": "down"}))
    conn = connect("/flaky")
    run()
    [alert] = active(client, keys, rule="success_rate")
    assert alert["severity"] == "critical" and alert["value"] == 0.0
    assert alert["connection_id"] == conn["id"]

    service.always("/flaky", reply(200, {"ok": True}))
    age(3600)
    run()
    run()
    assert not active(client, keys, rule="success_rate")


def test_repeats_update_one_alert_and_count(client, keys, connect, service, run):
    service.always("/down", reply(503, {}))
    connect("/down")
    for _ in range(3):
        run()
    [alert] = active(client, keys, rule="success_rate")
    assert alert["count"] == 3
    assert len(alerts_of(client, keys["viewer"], rule="success_rate")) == 1


def test_consecutive_failures_warn_after_two_and_escalate_after_three(client, keys, connect,
                                                                      service, run):
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    assert not active(client, keys, rule="consecutive_failures")
    second = run()
    [alert] = active(client, keys, rule="consecutive_failures")
    assert alert["severity"] == "warning" and second["alerts"]["opened"] == [alert["id"]]
    client.post(f"/api/v2/monitoring/alerts/{alert['id']}/acknowledge", headers=keys["editor"])
    third = run()
    [alert] = active(client, keys, rule="consecutive_failures")
    assert alert["severity"] == "critical" and alert["escalated_at"]
    assert alert["status"] == "open", "an escalation re-opens an acknowledged alert"
    assert third["alerts"]["escalated"] == [alert["id"]]


def test_acknowledge_records_who_and_when_and_a_resolved_alert_cannot_be_acknowledged(
        client, keys, connect, service, run):
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    [alert] = active(client, keys, rule="success_rate")
    url = f"/api/v2/monitoring/alerts/{alert['id']}"

    acked = client.post(f"{url}/acknowledge", headers=keys["editor"])
    assert acked.status_code == 200
    body = acked.get_json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == "key:editor-key"
    assert body["acknowledged_at"]
    assert client.post(f"{url}/acknowledge", headers=keys["editor"]).status_code == 200

    resolved = client.post(f"{url}/resolve", headers=keys["admin"])
    assert resolved.status_code == 200
    assert resolved.get_json()["resolved_by"] == "key:admin-key"

    again = client.post(f"{url}/acknowledge", headers=keys["editor"])
    assert again.status_code == 409 and again.get_json()["code"] == "conflict"
    assert client.post(f"{url}/resolve", headers=keys["editor"]).status_code == 409
    assert client.post(f"{url}/acknowledge", headers=keys["viewer"]).status_code == 403


def test_a_condition_that_persists_after_a_manual_resolve_opens_a_new_alert(client, keys, connect,
                                                                            service, run):
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    [first] = active(client, keys, rule="success_rate")
    client.post(f"/api/v2/monitoring/alerts/{first['id']}/resolve", headers=keys["editor"])
    run()
    [second] = active(client, keys, rule="success_rate")
    assert second["id"] != first["id"]


def test_unknown_alert_ids_are_404(client, keys):
    for method, path in (("get", ""), ("post", "/acknowledge"), ("post", "/resolve")):
        response = getattr(client, method)(f"/api/v2/monitoring/alerts/999{path}",
                                           headers=keys["editor"])
        assert response.status_code == 404
        assert response.get_json()["code"] == "not_found"


def test_alerts_filter_by_status_severity_integration_and_rule(client, keys, connect, service, run):
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    run()
    everything = alerts_of(client, keys["viewer"])
    assert {a["rule"] for a in everything} == {"success_rate", "consecutive_failures"}
    assert [a["rule"] for a in alerts_of(client, keys["viewer"], severity="warning")] == \
        ["consecutive_failures"]
    assert len(alerts_of(client, keys["viewer"], integration="http")) == 2
    assert alerts_of(client, keys["viewer"], integration="slack") == []
    assert alerts_of(client, keys["viewer"], status="resolved") == []
    unknown = client.get("/api/v2/monitoring/alerts?integration=nope", headers=keys["viewer"])
    assert unknown.status_code == 404
    bad = client.get("/api/v2/monitoring/alerts?severity=panic", headers=keys["viewer"])
    assert bad.status_code == 422 and "severity" in bad.get_json()["errors"]


def test_a_maintenance_window_silences_alerts_until_it_ends(client, keys, connect, service, run):
    service.always("/down", reply(503, {}))
    conn = connect("/down")
    ends = (utcnow() + timedelta(minutes=30)).isoformat() + "Z"
    created = client.post("/api/v2/monitoring/maintenance", headers=keys["editor"],
                          json={"connection_id": conn["id"], "ends_at": ends, "reason": "upgrade"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["active"] is True

    run()
    run()
    assert alerts_of(client, keys["viewer"]) == []
    health = client.get("/api/v2/monitoring/health", headers=keys["viewer"]).get_json()
    assert health["in_maintenance"] == [conn["id"]]
    [shown] = client.get("/api/v2/monitoring/services/http",
                         headers=keys["viewer"]).get_json()["connections"]
    assert shown["in_maintenance"] and shown["observations"] == 0, "failures in maintenance do not count"

    window = created.get_json()["id"]
    assert client.delete(f"/api/v2/monitoring/maintenance/{window}",
                         headers=keys["editor"]).status_code == 204
    run()
    assert {a["rule"] for a in active(client, keys)} == {"success_rate", "consecutive_failures"}


def test_a_window_that_has_not_started_silences_nothing(client, keys, connect, service, run):
    service.always("/down", reply(503, {}))
    conn = connect("/down")
    starts = (utcnow() + timedelta(hours=1)).isoformat() + "Z"
    ends = (utcnow() + timedelta(hours=2)).isoformat() + "Z"
    created = client.post("/api/v2/monitoring/maintenance", headers=keys["editor"],
                          json={"connection_id": conn["id"], "starts_at": starts, "ends_at": ends})
    assert created.status_code == 201 and created.get_json()["active"] is False
    run()
    assert {a["rule"] for a in active(client, keys)} == {"success_rate"}


def test_maintenance_windows_are_validated(client, keys, connect):
    conn = connect("/health")
    later = (utcnow() + timedelta(hours=1)).isoformat() + "Z"
    earlier = (utcnow() - timedelta(hours=1)).isoformat() + "Z"
    bad_order = client.post("/api/v2/monitoring/maintenance", headers=keys["editor"],
                            json={"connection_id": conn["id"], "starts_at": later, "ends_at": earlier})
    assert bad_order.status_code == 422 and "ends_at" in bad_order.get_json()["errors"]
    unknown = client.post("/api/v2/monitoring/maintenance", headers=keys["editor"],
                          json={"connection_id": 999, "ends_at": later})
    assert unknown.status_code == 422 and "connection_id" in unknown.get_json()["errors"]
    window = client.post("/api/v2/monitoring/maintenance", headers=keys["editor"],
                         json={"connection_id": conn["id"], "ends_at": later}).get_json()
    listed = client.get("/api/v2/monitoring/maintenance", headers=keys["viewer"]).get_json()
    assert [w["id"] for w in listed["windows"]] == [window["id"]]
    assert client.delete(f"/api/v2/monitoring/maintenance/{window['id']}",
                         headers=keys["editor"]).status_code == 204
    assert client.delete(f"/api/v2/monitoring/maintenance/{window['id']}",
                         headers=keys["editor"]).status_code == 404


def test_deleting_a_connection_resolves_its_alerts(client, keys, connect, service, run):
    service.always("/down", reply(503, {}))
    conn = connect("/down")
    run()
    assert active(client, keys)
    client.delete(f"/api/v2/connections/{conn['id']}", headers=keys["editor"])
    run()
    assert active(client, keys) == []


def test_a_workflow_failing_often_raises_a_workflow_failure_rate_alert(app, client, keys, run):
    with app.app_context():
        workflow = Workflow(name="sync", trigger_type="manual")
        db.session.add(workflow)
        db.session.flush()
        for status in ("failed", "failed", "succeeded", "succeeded"):
            db.session.add(Execution(workflow_id=workflow.id, version=1, status=status,
                                     finished_at=utcnow()))
        db.session.commit()
        workflow_id = workflow.id
    run()
    [alert] = active(client, keys, rule="workflow_failure_rate")
    assert alert["workflow_id"] == workflow_id and alert["severity"] == "critical"
    assert alert["value"] == 0.5 and "sync" in alert["message"]
