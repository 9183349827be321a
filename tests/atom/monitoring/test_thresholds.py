"""``GET/PUT /api/v2/monitoring/thresholds``: defaults from the environment, validated changes."""
from __future__ import annotations

import pytest

from tests.atom.monitoring.conftest import alerts_of
from tests.fakes import reply

URL = "/api/v2/monitoring/thresholds"


def test_defaults_are_the_documented_values(client, keys):
    body = client.get(URL, headers=keys["viewer"]).get_json()
    levels = {name: value for name, value in body["thresholds"].items()
              if not name.endswith(("_open_after", "_resolve_after"))}
    assert levels == {
        "response_time_warning_ms": 1000, "response_time_critical_ms": 5000,
        "success_rate_warning": 0.95, "success_rate_critical": 0.90,
        "health_score_warning": 80, "health_score_critical": 60,
        "consecutive_failures_warning": 2, "consecutive_failures_critical": 3,
        "workflow_failure_rate_warning": 0.10, "workflow_failure_rate_critical": 0.25,
    }
    # The streaks of every rule (the tests' quick settings open alerts after one evaluation).
    rules = ("response_time", "success_rate", "health_score", "consecutive_failures",
             "anomaly", "workflow_failure_rate")
    assert {name: value for name, value in body["thresholds"].items() if name not in levels} \
        == {**{f"{rule}_open_after": 1 for rule in rules},
            **{f"{rule}_resolve_after": 2 for rule in rules}}
    assert body["defaults"] == body["thresholds"]


def test_defaults_come_from_the_environment(app_factory, monkeypatch, tmp_path):
    from tests.conftest import make_key

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "env"))
    monkeypatch.setenv("RESPONSE_TIME_WARNING_MS", "750")
    monkeypatch.setenv("SUCCESS_RATE_CRITICAL", "0.8")
    app = app_factory(PLUGINS_ENABLED=["http"])
    headers = {"Authorization": f"Bearer {make_key(app, 'viewer')}"}
    values = app.test_client().get(URL, headers=headers).get_json()["thresholds"]
    assert values["response_time_warning_ms"] == 750
    assert values["success_rate_critical"] == 0.8


def test_an_admin_changes_thresholds_and_null_restores_a_default(client, keys):
    changed = client.put(URL, headers=keys["admin"],
                         json={"response_time_warning_ms": 200, "response_time_critical_ms": 400})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["thresholds"]["response_time_warning_ms"] == 200
    assert client.get(URL, headers=keys["viewer"]).get_json()["thresholds"][
        "response_time_critical_ms"] == 400
    restored = client.put(URL, headers=keys["admin"], json={"response_time_critical_ms": None})
    assert restored.get_json()["thresholds"]["response_time_critical_ms"] == 5000
    assert restored.get_json()["thresholds"]["response_time_warning_ms"] == 200


@pytest.mark.parametrize("body, field", [
    ({"response_time_warning_ms": 6000}, "response_time_warning_ms"),
    ({"response_time_critical_ms": 500}, "response_time_critical_ms"),
    ({"success_rate_warning": 0.85}, "success_rate_warning"),
    ({"success_rate_critical": 0.97}, "success_rate_critical"),
    ({"health_score_warning": 50}, "health_score_warning"),
    ({"consecutive_failures_warning": 5}, "consecutive_failures_warning"),
    ({"workflow_failure_rate_warning": 0.5}, "workflow_failure_rate_warning"),
])
def test_a_warning_looser_than_its_critical_level_is_a_422_naming_the_field(client, keys, body,
                                                                              field):
    response = client.put(URL, headers=keys["admin"], json=body)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]
    assert client.get(URL, headers=keys["viewer"]).get_json()["thresholds"] == \
        client.get(URL, headers=keys["viewer"]).get_json()["defaults"], "nothing was stored"


@pytest.mark.parametrize("body, field, reason", [
    ({"success_rate_warning": 1.5}, "success_rate_warning", "between"),
    ({"response_time_warning_ms": "fast"}, "response_time_warning_ms", "number"),
    ({"response_time_warning_ms": True}, "response_time_warning_ms", "number"),
    ({"health_score_critical": -1}, "health_score_critical", "between"),
    ({"consecutive_failures_critical": 2.5}, "consecutive_failures_critical", "whole"),
    ({"latency_budget": 3}, "latency_budget", "unknown"),
])
def test_invalid_values_are_422_naming_the_field(client, keys, body, field, reason):
    response = client.put(URL, headers=keys["admin"], json=body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert field in errors and reason in errors[field][0]


def test_only_admins_change_thresholds_and_a_non_object_body_is_a_400(client, keys):
    assert client.put(URL, headers=keys["editor"], json={"success_rate_warning": 0.99}).status_code == 403
    assert client.put(URL, headers=keys["admin"], json=[1, 2]).status_code == 400


def test_changed_thresholds_drive_the_alerts(client, keys, connect, service, run):
    service.always("/meh", reply(200, {}, delay=0.3))
    connect("/meh")
    client.put(URL, headers=keys["admin"],
               json={"response_time_warning_ms": 100, "response_time_critical_ms": 250,
                     "health_score_warning": 0, "health_score_critical": 0})
    run()
    [alert] = alerts_of(client, keys["viewer"], rule="response_time")
    assert alert["severity"] == "critical" and alert["threshold"] == 250
