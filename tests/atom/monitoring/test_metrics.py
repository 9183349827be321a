"""Per-connection and per-integration metrics, the health paths, trends and retention."""
from __future__ import annotations

import os

import pytest

from atom.cli import main
from atom.extensions import db
from atom.models import CallRecord
from atom.models import HealthSample
from atom.models import MetricRollup
from tests.fakes import reply


@pytest.fixture
def two_rounds(connect, service, run):
    """``/a`` answers in about 100 ms, ``/b`` fails; two rounds."""
    service.always("/a", reply(200, {"ok": True}, delay=0.1))
    service.always("/b", reply(500, {"error": "x"}))
    a, b = connect("/a", label="alpha"), connect("/b", label="beta")
    run()
    run()
    return a, b


def strip(body):
    return {k: v for k, v in body.items() if k not in ("generated_at", "last_round", "window_s")}


def test_services_report_each_integration_and_its_connections(client, keys, two_rounds):
    a, b = two_rounds
    body = client.get("/api/v2/monitoring/services", headers=keys["viewer"]).get_json()
    # Every loaded integration answers; one without connections is unknown.
    assert list(body["services"]) == ["http", "probe", "slack"] and body["window_s"] == 600
    assert body["services"]["slack"]["status"] == "unknown"
    http = body["services"]["http"]
    assert http["observations"] == 4 and http["error_count"] == 2 and http["success_rate"] == 0.5
    assert http["calls_per_minute"] == pytest.approx(4 / 10)
    assert http["status"] == "unhealthy" and http["health_score"] == pytest.approx(50, abs=1)
    alpha, beta = http["connections"]
    assert (alpha["id"], beta["id"]) == (a["id"], b["id"])
    assert alpha["status"] == "healthy" and alpha["health_score"] == 100
    assert alpha["success_rate"] == 1.0 and alpha["error_count"] == 0
    assert 100 <= alpha["response_time_ms"] <= alpha["p95_response_time_ms"] < 1000
    assert alpha["last_response_time_ms"] >= 100 and alpha["last_check"]["ok"] is True
    assert beta["status"] == "unhealthy" and beta["health_score"] == 0
    assert beta["success_rate"] == 0.0 and beta["error_count"] == 2
    assert beta["consecutive_failures"] == 2 and beta["last_check"]["error_class"] == "upstream"


def test_one_service_and_the_compatibility_paths_answer_with_the_same_data(client, keys, two_rounds):
    get = lambda path: client.get(path, headers=keys["viewer"])  # noqa: E731
    services = get("/api/v2/monitoring/services").get_json()
    one = get("/api/v2/monitoring/services/http").get_json()
    assert one["name"] == "http"
    assert strip({k: v for k, v in one.items() if k != "name"}) == strip(services["services"]["http"])
    assert strip(get("/api/v2/health/all").get_json()) == strip(services)
    assert strip(get("/api/v2/health/http").get_json()) == strip(one)
    assert strip(get("/api/enhanced/integrations/http/health").get_json()) == strip(one)
    overview = get("/api/v2/monitoring/health").get_json()
    assert overview["status"] == "unhealthy"
    assert overview["connections"] == {"total": 2, "healthy": 1, "degraded": 0, "unhealthy": 1,
                                       "unknown": 0}
    assert overview["alerts"]["critical"] >= 1
    assert strip(get("/api/enhanced/health/overview").get_json()) == strip(overview)
    assert strip(get("/api/bridge/status").get_json()) == strip(overview)
    summary = get("/api/v2/health/summary").get_json()
    assert summary["services"]["http"] == {"status": "unhealthy", "health_score": 50.0,
                                           "connections": 2,
                                           "uptime": {"24h": 0.5, "7d": 0.5, "30d": 0.5}}
    assert strip(get("/api/bridge/health").get_json()) == strip(summary)


def test_one_connection_down_makes_the_overall_status_unhealthy(client, keys, connect, service, run):
    service.always("/a", reply(200, {"ok": True}))
    service.always("/down", reply(503, {}))
    connect("/a", label="one"), connect("/a", label="two"), connect("/down", label="down")
    run()
    services = client.get("/api/v2/monitoring/services", headers=keys["viewer"]).get_json()
    assert services["services"]["http"]["status"] == "degraded"  # the mean of 100, 100 and 0
    for path in ("/api/v2/monitoring/health", "/api/v2/health/summary"):
        assert client.get(path, headers=keys["viewer"]).get_json()["status"] == "unhealthy", path


def test_a_loaded_integration_without_connections_is_unknown_and_an_unknown_one_is_404(client, keys):
    slack = client.get("/api/v2/monitoring/services/slack", headers=keys["viewer"]).get_json()
    assert slack["status"] == "unknown" and slack["health_score"] is None
    assert slack["connections"] == []
    for path in ("/api/v2/monitoring/services/nope", "/api/v2/health/nope",
                 "/api/enhanced/integrations/nope/health"):
        response = client.get(path, headers=keys["viewer"])
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_a_connection_without_checks_is_unknown(client, keys, connect):
    connect("/health")
    [conn] = client.get("/api/v2/monitoring/services/http",
                        headers=keys["viewer"]).get_json()["connections"]
    assert conn["status"] == "unknown" and conn["health_score"] is None
    assert conn["last_check"] is None and conn["observations"] == 0


def test_the_health_paths_need_an_api_key(client):
    for path in ("/api/v2/monitoring/services", "/api/v2/health/all", "/api/bridge/status",
                 "/api/enhanced/health/overview"):
        assert client.get(path).status_code == 401


def test_analytics_has_hourly_buckets_of_calls_and_checks(client, keys, two_rounds):
    body = client.get("/api/v2/monitoring/analytics?hours=3", headers=keys["viewer"]).get_json()
    assert len(body["buckets"]) == 3
    now = body["buckets"][-1]
    assert (now["calls"], now["errors"], now["checks"], now["failed_checks"]) == (4, 2, 4, 2)
    assert now["success_rate"] == 0.5 and now["p95_response_time_ms"] >= 100
    assert body["buckets"][0]["calls"] == 0 and body["buckets"][0]["success_rate"] is None
    a, _ = two_rounds
    mine = client.get(f"/api/v2/monitoring/analytics?hours=1&connection_id={a['id']}",
                      headers=keys["viewer"]).get_json()["buckets"][-1]
    assert (mine["calls"], mine["errors"]) == (2, 0)
    bad = client.get("/api/v2/monitoring/analytics?hours=0", headers=keys["viewer"])
    assert bad.status_code == 422 and "hours" in bad.get_json()["errors"]


def test_rolled_up_hours_keep_their_trend_without_being_counted_twice(app, client, keys,
                                                                      two_rounds, age):
    age(2 * 3600)
    result = app.test_cli_runner().invoke(main, ["monitoring", "maintain"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(MetricRollup.id))
                                 .where(MetricRollup.count > 0)) == 4  # 2 sources x 2 connections
    buckets = client.get("/api/v2/monitoring/analytics?hours=3",
                         headers=keys["viewer"]).get_json()["buckets"]
    old = buckets[0]
    assert (old["calls"], old["errors"], old["checks"], old["failed_checks"]) == (4, 2, 4, 2)
    assert buckets[-1]["calls"] == 0


def test_samples_past_retention_are_pruned_after_their_hour_is_rolled_up(app, two_rounds, age):
    age(31 * 24 * 3600)
    result = app.test_cli_runner().invoke(main, ["monitoring", "maintain"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(CallRecord.id))) == 0
        assert db.session.scalar(db.select(db.func.count(HealthSample.id))) == 0
        rolled = db.session.scalars(db.select(MetricRollup).where(MetricRollup.count > 0)).all()
    assert sum(r.count for r in rolled if r.source == "call") == 4
    assert sum(r.error_count for r in rolled if r.source == "check") == 2


def test_system_reports_the_process_and_the_host(client, keys):
    body = client.get("/api/v2/monitoring/system", headers=keys["viewer"]).get_json()
    process, host = body["process"], body["host"]
    assert process["pid"] == os.getpid() and process["threads"] >= 1
    assert process["memory_rss_bytes"] > 0 and process["open_files"] is not None
    assert host["cpu_count"] >= 1 and 0 < host["memory_total_bytes"]
    assert 0 <= host["disk_percent"] <= 100


def test_the_process_cpu_is_measured_between_two_calls(client, keys):
    """A fresh psutil.Process per call always said 0.0 % (its first cpu_percent reading)."""
    import time

    client.get("/api/v2/monitoring/system", headers=keys["viewer"])
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # burn some CPU in this process
        pass
    body = client.get("/api/v2/monitoring/system", headers=keys["viewer"]).get_json()
    assert body["process"]["cpu_percent"] > 0
