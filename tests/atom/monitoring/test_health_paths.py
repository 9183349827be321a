"""Every installed integration answers (``unknown`` without data), the overall status is the
worst of its parts, and the documents' health paths answer in the documents' shape."""
from __future__ import annotations

from datetime import datetime

import pytest

import atom
from tests.fakes import reply

REPORT_PATHS = ("/api/v2/health/health/all", "/api/v2/health/health/summary")
REPORT_KEYS = {"status", "health_score", "services", "connected_count", "healthy_count",
               "total_services", "timestamp", "version", "window_s"}


def get(client, keys, path):
    response = client.get(path, headers=keys["viewer"])
    assert response.status_code == 200, (path, response.get_json())
    return response.get_json()


def test_slack_without_a_connection_is_unknown_everywhere(client, keys, connect, run):
    connect("/health", label="web")
    run()
    services = get(client, keys, "/api/v2/monitoring/services")["services"]
    assert sorted(services) == ["http", "probe", "slack"]
    slack = services["slack"]
    assert (slack["status"], slack["health_score"], slack["connections"]) == ("unknown", None, [])
    assert slack["uptime"] == {"24h": None, "7d": None, "30d": None}
    one = get(client, keys, "/api/v2/monitoring/services/slack")
    assert one["name"] == "slack" and one["status"] == "unknown" and one["connections"] == []
    summary = get(client, keys, "/api/v2/health/summary")
    assert summary["services"]["slack"]["status"] == "unknown"
    for path in ("/api/v2/health/health/slack", "/api/integrations/slack/health"):
        body = get(client, keys, path)
        assert body["status"] == "unknown" and body["total_services"] == 1
        assert body["connected_count"] == 0
        assert body["services"]["slack"] == {
            "status": "unknown", "health_score": None, "connections": 0, "connected": 0,
            "healthy": 0, "uptime": {"24h": None, "7d": None, "30d": None},
            "success_rate": None, "error_count": 0, "response_time_ms": None,
            "p95_response_time_ms": None, "observations": 0, "connection_health": []}
    # An installed integration without connections does not make the whole system unknown.
    for path in ("/api/v2/monitoring/health", "/api/v2/health/summary", *REPORT_PATHS):
        assert get(client, keys, path)["status"] == "healthy", path
    overview = get(client, keys, "/api/v2/monitoring/health")
    assert overview["services"] == {"healthy": 1, "degraded": 0, "unhealthy": 0, "unknown": 2}


def test_one_connection_down_makes_the_system_and_its_integration_report_unhealthy(
        client, keys, connect, service, run):
    service.always("/down", reply(503, {}))
    connect("/health", label="one"), connect("/health", label="two"), connect("/down", label="x")
    run()
    run()
    services = get(client, keys, "/api/v2/monitoring/services")["services"]
    assert services["http"]["status"] == "degraded"  # the mean score of 100, 100 and 0
    for path in ("/api/v2/monitoring/health", "/api/v2/health/summary", *REPORT_PATHS,
                 "/api/v2/health/health/http", "/api/integrations/http/health",
                 "/api/bridge/status", "/api/enhanced/health/overview"):
        assert get(client, keys, path)["status"] == "unhealthy", path


def test_a_connection_without_data_yet_is_unknown_but_does_not_hide_the_others(
        client, keys, connect, run):
    connect("/health", label="checked")
    run()
    connect("/health", label="new")  # no check yet
    report = get(client, keys, "/api/v2/health/health/all")
    http = report["services"]["http"]
    assert (http["connections"], http["connected"], http["healthy"]) == (2, 1, 1)
    assert [c["status"] for c in http["connection_health"]] == ["healthy", "unknown"]
    assert report["status"] == "healthy"


def test_the_documents_shape(client, keys, connect, run):
    a = connect("/health", label="alpha")
    run()
    for path in REPORT_PATHS:
        body = get(client, keys, path)
        assert set(body) == REPORT_KEYS, path
        assert body["version"] == atom.__version__
        assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).tzinfo
        assert body["total_services"] == 3
        assert sorted(body["services"]) == ["http", "probe", "slack"]
        assert body["connected_count"] == 1 and body["healthy_count"] == 1
        http = body["services"]["http"]
        assert (http["status"], http["health_score"], http["connections"]) == ("healthy", 100, 1)
        assert http["uptime"] == {"24h": 1.0, "7d": 1.0, "30d": 1.0}
    detail = get(client, keys, "/api/v2/health/health/all")["services"]["http"]
    [conn] = detail["connection_health"]
    assert (conn["id"], conn["label"], conn["status"]) == (a["id"], "alpha", "healthy")
    assert conn["uptime"]["24h"] == 1.0 and conn["last_check"]["ok"] is True
    assert "connection_health" not in get(client, keys,
                                          "/api/v2/health/health/summary")["services"]["http"]
    one = get(client, keys, "/api/v2/health/health/http")
    frontend = get(client, keys, "/api/integrations/http/health")
    assert {**one, "timestamp": None} == {**frontend, "timestamp": None}
    assert set(one["services"]) == {"http"} and one["total_services"] == 1


def test_the_earlier_health_paths_still_answer(client, keys, connect, run):
    connect("/health")
    run()
    assert "http" in get(client, keys, "/api/v2/health/all")["services"]
    assert get(client, keys, "/api/v2/health/summary")["services"]["http"]["connections"] == 1
    assert get(client, keys, "/api/v2/health/http")["name"] == "http"
    assert get(client, keys, "/api/enhanced/integrations/http/health")["name"] == "http"


@pytest.mark.parametrize("path", ["/api/v2/health/health/nope", "/api/integrations/nope/health"])
def test_an_integration_not_installed_is_a_404_json(client, keys, path):
    response = client.get(path, headers=keys["viewer"])
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


@pytest.mark.parametrize("path", [*REPORT_PATHS, "/api/v2/health/health/http",
                                  "/api/integrations/http/health"])
def test_the_new_health_paths_need_an_api_key(client, path):
    assert client.get(path).status_code == 401


def test_the_openapi_document_describes_the_new_paths(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v2/health/health/all", "/api/v2/health/health/summary",
                 "/api/v2/health/health/{integration}", "/api/integrations/{integration}/health"):
        answer = spec["paths"][path]["get"]["responses"]["200"]
        assert answer["content"]["application/json"]["schema"], path
    report = spec["components"]["schemas"]["HealthReportOut"]["properties"]
    assert {"status", "services", "connected_count", "total_services", "timestamp",
            "version"} <= set(report)
    uptime = spec["components"]["schemas"]["UptimeRatios"]["properties"]
    assert set(uptime) == {"24h", "7d", "30d"}
