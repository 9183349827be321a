"""Incidents through the API: grouping, lifecycle, acknowledge/resolve as a whole or per alert;
escalation policies and silences (roles, validation, audit)."""
from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import AuditEvent
from tests.atom.monitoring.conftest import alerts_of
from tests.fakes import FakeServer
from tests.fakes import reply

URL = "/api/v2/monitoring"
HUGE = 2 ** 70


@pytest.fixture
def settings():
    return {"HEALTH_SCORE_WARNING": 0, "HEALTH_SCORE_CRITICAL": 0}


def incidents(client, keys, **query):
    response = client.get(f"{URL}/incidents", headers=keys["viewer"], query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["incidents"]


def later(days=1):
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_alerts_are_grouped_by_integration_and_host(client, keys, connect, service, run):
    service.always("/down", reply(503, {}))
    with FakeServer() as other:
        other.always("/down", reply(503, {}))
        for _ in range(3):
            connect("/down")
        connect("/down", url=other.url)
        run()
        run()
    found = incidents(client, keys)
    assert len(found) == 2
    by_host = {i["host"]: i for i in found}
    assert set(by_host) == {service.url.split("//")[1], other.url.split("//")[1]}
    mine = by_host[service.url.split("//")[1]]
    # 3 connections x 2 rules, and the host_down alert of the host they share (its integration
    # is theirs, so it joins their incident)
    assert mine["integration"] == "http" and mine["counts"]["active"] == 7
    assert mine["severity"] == "critical" and mine["status"] == "open"
    assert mine["group_key"] == f"integration=http|host={mine['host']}"
    for alert in alerts_of(client, keys["viewer"]):
        assert alert["incident_id"] in {i["id"] for i in found}


def test_group_by_is_configurable(client, keys, connect, service, run):
    client.application.config["ALERT_GROUP_BY"] = ["connection_id"]
    client.application.config["HOST_DOWN_MIN_CONNECTIONS"] = 10  # no host alert of their own
    service.always("/down", reply(503, {}))
    first, second = connect("/down"), connect("/down")
    run()
    assert sorted(i["group_key"] for i in incidents(client, keys)) == \
        [f"connection_id={first['id']}", f"connection_id={second['id']}"]


def test_an_incident_resolves_with_its_alerts_and_a_new_alert_opens_a_new_one(
        client, keys, connect, service, run, age):
    service.always("/down", reply(503, {}))
    connect("/down")
    run()
    [first] = incidents(client, keys)
    service.always("/down", reply(200, {}))
    age(700)
    run()
    run()
    [resolved] = incidents(client, keys)
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "system"
    service.always("/down", reply(503, {}))
    run()
    again = incidents(client, keys)
    assert [i["status"] for i in again] == ["open", "resolved"]
    assert again[0]["id"] != first["id"]
    assert incidents(client, keys, status="resolved")[0]["id"] == first["id"]
    assert [i["id"] for i in incidents(client, keys, status="active")] == [again[0]["id"]]


def test_acknowledge_and_resolve_a_whole_incident(app, client, keys, connect, service, run):
    client.application.config["HOST_DOWN_MIN_CONNECTIONS"] = 10  # every alert plain open
    service.always("/down", reply(503, {}))
    connect("/down")
    connect("/down")
    run()
    [incident] = incidents(client, keys)
    path = f"{URL}/incidents/{incident['id']}"

    assert client.post(f"{path}/acknowledge", headers=keys["viewer"]).status_code == 403
    acked = client.post(f"{path}/acknowledge", headers=keys["editor"]).get_json()
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"]
    assert {a["status"] for a in acked["alerts"]} == {"acknowledged"}
    assert incidents(client, keys, status="acknowledged")[0]["id"] == incident["id"]
    assert incidents(client, keys, status="open") == []

    done = client.post(f"{path}/resolve", headers=keys["editor"]).get_json()
    assert done["status"] == "resolved" and {a["status"] for a in done["alerts"]} == {"resolved"}
    assert client.post(f"{path}/resolve", headers=keys["editor"]).status_code == 409
    conflict = client.post(f"{path}/acknowledge", headers=keys["editor"])
    assert conflict.status_code == 409 and "resolved" in conflict.get_json()["message"]
    with app.app_context():
        actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"incident.acknowledge", "incident.resolve"} <= actions


def test_per_alert_acknowledge_and_resolve_keep_the_incident_consistent(client, keys, connect,
                                                                        service, run):
    client.application.config["HOST_DOWN_MIN_CONNECTIONS"] = 10  # every alert plain open
    service.always("/down", reply(503, {}))
    connect("/down")
    connect("/down")
    run()
    [incident] = incidents(client, keys)
    ids = [a["id"] for a in alerts_of(client, keys["viewer"])]
    client.post(f"{URL}/alerts/{ids[0]}/acknowledge", headers=keys["editor"])
    assert incidents(client, keys)[0]["status"] == "open"
    client.post(f"{URL}/alerts/{ids[1]}/acknowledge", headers=keys["editor"])
    assert incidents(client, keys)[0]["status"] == "acknowledged"
    for alert_id in ids:
        client.post(f"{URL}/alerts/{alert_id}/resolve", headers=keys["editor"])
    [after] = incidents(client, keys)
    assert after["id"] == incident["id"] and after["status"] == "resolved"


def test_incident_ids_past_64_bits_are_404_and_filters_are_validated(client, keys):
    for method, path in (("get", ""), ("post", "/acknowledge"), ("post", "/resolve")):
        response = getattr(client, method)(f"{URL}/incidents/{HUGE}{path}", headers=keys["editor"])
        assert response.status_code == 404
        assert getattr(client, method)(f"{URL}/incidents/7{path}",
                                       headers=keys["editor"]).status_code == 404
    bad = client.get(f"{URL}/incidents", headers=keys["viewer"], query_string={"status": "x"})
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]
    unknown = client.get(f"{URL}/incidents", headers=keys["viewer"],
                         query_string={"integration": "nope"})
    assert unknown.status_code == 404
    assert client.get(f"{URL}/silences/{HUGE}", headers=keys["viewer"]).status_code == 404
    assert client.get(f"{URL}/escalation-policies/{HUGE}", headers=keys["viewer"]).status_code == 404


# -- escalation policies ----------------------------------------------------------------------


@pytest.fixture
def channel(client, keys, connect):
    hook = connect("/health", label="hook")
    return client.post(f"{URL}/channels", headers=keys["admin"],
                       json={"name": "hook", "connection_id": hook["id"],
                             "target": "/alerts"}).get_json()


def test_escalation_policies_are_managed_by_admins(app, client, keys, channel):
    body = {"name": "ops", "matcher": {"severity": "critical", "integration": "http"},
            "levels": [{"delay_s": 0, "channel_ids": [channel["id"]]},
                       {"delay_s": 900, "channel_ids": [channel["id"]]}]}
    url = f"{URL}/escalation-policies"
    assert client.post(url, headers=keys["editor"], json=body).status_code == 403
    assert client.post(url, headers=keys["viewer"], json=body).status_code == 403
    created = client.post(url, headers=keys["admin"], json=body)
    assert created.status_code == 201, created.get_json()
    policy = created.get_json()
    assert policy["levels"][1] == {"delay_s": 900.0, "channel_ids": [channel["id"]]}
    assert [p["id"] for p in client.get(url, headers=keys["viewer"]).get_json()["policies"]] == \
        [policy["id"]]
    changed = client.put(f"{url}/{policy['id']}", headers=keys["admin"],
                         json={**body, "name": "renamed", "repeat_interval_s": 600})
    assert changed.status_code == 200 and changed.get_json()["repeat_interval_s"] == 600
    assert client.delete(f"{url}/{policy['id']}", headers=keys["editor"]).status_code == 403
    assert client.delete(f"{url}/{policy['id']}", headers=keys["admin"]).status_code == 204
    assert client.get(f"{url}/{policy['id']}", headers=keys["viewer"]).status_code == 404
    with app.app_context():
        actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"escalation_policy.create", "escalation_policy.update",
            "escalation_policy.delete"} <= actions


@pytest.mark.parametrize("levels, where", [
    ([{"delay_s": 0, "channel_ids": [999]}], ("levels", "0", "channel_ids")),
    ([{"delay_s": -5, "channel_ids": ["C"]}], ("levels", "0", "delay_s")),
    ([{"delay_s": 0, "channel_ids": ["C"]}, {"delay_s": 0, "channel_ids": ["C"]}],
     ("levels", "1", "delay_s")),
    ([{"delay_s": 600, "channel_ids": ["C"]}, {"delay_s": 300, "channel_ids": ["C"]}],
     ("levels", "1", "delay_s")),
    ([{"delay_s": 0, "channel_ids": []}], ("levels", "0", "channel_ids")),
    ([], ("levels",)),
])
def test_a_bad_policy_is_a_422_naming_the_field(client, keys, channel, levels, where):
    levels = [{**lv, "channel_ids": [channel["id"] if c == "C" else c for c in lv["channel_ids"]]}
              for lv in levels]
    response = client.post(f"{URL}/escalation-policies", headers=keys["admin"],
                           json={"name": "x", "levels": levels})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    for key in where:
        errors = errors[key]
    assert errors


def test_a_policy_matcher_is_validated(client, keys, channel):
    level = [{"delay_s": 0, "channel_ids": [channel["id"]]}]
    for matcher, field in (({"colour": "red"}, "colour"), ({"severity": "loud"}, "severity"),
                           ({"integration": "nope"}, "integration")):
        response = client.post(f"{URL}/escalation-policies", headers=keys["admin"],
                               json={"name": "x", "levels": level, "matcher": matcher})
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"]["matcher"]


# -- silences ---------------------------------------------------------------------------------


def test_silences_are_created_by_editors_listed_and_expired(app, client, keys):
    url = f"{URL}/silences"
    body = {"matcher": {"integration": "http"}, "ends_at": later(), "comment": "migration"}
    assert client.post(url, headers=keys["viewer"], json=body).status_code == 403
    created = client.post(url, headers=keys["editor"], json=body)
    assert created.status_code == 201, created.get_json()
    silence = created.get_json()
    assert silence["state"] == "active" and silence["created_by"] and silence["comment"]
    pending = client.post(url, headers=keys["editor"],
                          json={**body, "starts_at": later(1), "ends_at": later(2)}).get_json()
    assert pending["state"] == "pending"
    assert [s["id"] for s in client.get(url, headers=keys["viewer"]).get_json()["silences"]] == \
        [pending["id"], silence["id"]]

    expired = client.post(f"{url}/{silence['id']}/expire", headers=keys["editor"])
    assert expired.status_code == 200 and expired.get_json()["state"] == "expired"
    assert client.post(f"{url}/{silence['id']}/expire", headers=keys["editor"]).status_code == 409
    assert [s["id"] for s in client.get(url, headers=keys["viewer"]).get_json()["silences"]] == \
        [pending["id"]]
    assert len(client.get(url, headers=keys["viewer"],
                          query_string={"all": "1"}).get_json()["silences"]) == 2
    with app.app_context():
        actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"silence.create", "silence.expire"} <= actions


@pytest.mark.parametrize("body, field", [
    ({"matcher": {}, "comment": "x"}, "matcher"),
    ({"matcher": {"colour": "red"}, "comment": "x"}, "matcher"),
    ({"matcher": {"rule": "nope"}, "comment": "x"}, "matcher"),
    ({"matcher": {"integration": "nope"}, "comment": "x"}, "matcher"),
    ({"matcher": {"host": "a"}}, "comment"),
    ({"matcher": {"host": "a"}, "comment": ""}, "comment"),
    ({"matcher": {"host": "a"}, "comment": "x", "ends_at": "2020-01-01T00:00:00Z"}, "ends_at"),
    ({"matcher": {"host": "a"}, "comment": "x", "ends_at": None}, "ends_at"),
    ({"matcher": {"host": "a"}, "comment": "x", "starts_at": "later"}, "starts_at"),
])
def test_a_bad_silence_is_a_422_naming_the_field(client, keys, body, field):
    body = {"ends_at": later(), **body}
    if body["ends_at"] is None:
        del body["ends_at"]
    response = client.post(f"{URL}/silences", headers=keys["editor"], json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
