"""``/metrics`` parses with prometheus-client's own parser; ``/healthz`` and ``/readyz``."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import reply


def scrape(client, headers) -> dict[str, list]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    families = text_string_to_metric_families(response.get_data(as_text=True))
    return {family.name: family.samples for family in families}


def value(samples, name, **labels) -> float:
    found = [s.value for s in samples if s.name == name
             and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def test_metrics_expose_scores_statuses_alerts_and_call_counters(client, keys, connect, service,
                                                                  run):
    service.always("/b", reply(500, {}))
    good, bad = connect("/health", label="good"), connect("/b", label="bad")
    run()
    run()

    m = scrape(client, keys["viewer"])

    g = {"integration": "http", "connection_id": str(good["id"]), "connection": "good"}
    b = {"integration": "http", "connection_id": str(bad["id"]), "connection": "bad"}
    assert value(m["atom_connection_health_score"], "atom_connection_health_score", **g) == 100
    assert value(m["atom_connection_health_score"], "atom_connection_health_score", **b) == 0
    assert value(m["atom_connection_status"], "atom_connection_status", status="healthy", **g) == 1
    assert value(m["atom_connection_status"], "atom_connection_status", status="unhealthy", **b) == 1
    assert value(m["atom_connection_status"], "atom_connection_status", status="healthy", **b) == 0
    assert value(m["atom_integration_health_score"], "atom_integration_health_score",
                 integration="http") == 50
    assert value(m["atom_connection_success_rate"], "atom_connection_success_rate", **b) == 0
    assert value(m["atom_alerts_open"], "atom_alerts_open", severity="critical") >= 1
    assert value(m["atom_alerts_open"], "atom_alerts_open", severity="warning") >= 1
    calls = m["atom_api_calls"]
    assert value(calls, "atom_api_calls_total", integration="http", status="ok") == 2
    assert value(calls, "atom_api_calls_total", integration="http", status="upstream") == 2
    latency = m["atom_api_call_duration_seconds"]
    assert value(latency, "atom_api_call_duration_seconds_count", integration="http") == 4
    assert value(latency, "atom_api_call_duration_seconds_bucket", integration="http",
                 le="+Inf") == 4
    checks = m["atom_health_check_duration_seconds"]
    assert value(checks, "atom_health_check_duration_seconds_count", integration="http") == 4
    assert value(m["atom_health_checks"], "atom_health_checks_total", integration="http",
                 result="failed") == 2


def test_each_app_has_its_own_registry(app_factory, client, keys, connect, run):
    connect("/health")
    run()
    other = app_factory(PLUGINS_ENABLED=["http"], METRICS_PUBLIC=True)
    fresh = {f.name: f.samples for f in text_string_to_metric_families(
        other.test_client().get("/metrics").get_data(as_text=True))}
    assert fresh["atom_api_calls"] == []
    assert scrape(client, keys["viewer"])["atom_api_calls"]


def test_metrics_need_a_key_unless_public(client, keys):
    assert client.get("/metrics").status_code == 401


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_process_probes_answer_without_a_key(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_json()["status"] in ("ok", "ready")


def test_readyz_is_503_before_the_migrations_ran(tmp_path, monkeypatch):
    from atom import create_app
    from tests.conftest import TEST_KEY

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "fresh"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}",
                      "ENCRYPTION_KEY": TEST_KEY, "SECRET_KEY": "x", "PLUGINS_ENABLED": ["http"]})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"].startswith("at none")
    assert app.test_client().get("/healthz").status_code == 200
