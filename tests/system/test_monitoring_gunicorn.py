"""Monitoring v2 through a real gunicorn with 3 workers and its scheduler (a check round every
second), against local fakes the test switches: a workflow's failure-rate alert suppressed by
its service's while the service is down, a flapping connection, uptime from the check history,
and the public status page."""
from __future__ import annotations

import pytest
import requests

from tests.fakes import FakeServer
from tests.fakes import reply
from tests.fakes import wait_until
from tests.system.test_scheduler_lock import serve


@pytest.fixture
def deployment(tmp_path):
    with serve(tmp_path, HEALTH_CHECK_INTERVAL_S="1", ALERT_MIN_OBSERVATIONS="1",
               ALERT_OPEN_AFTER="1", ALERT_RESOLVE_AFTER="1", FLAP_MAX_CHANGES="3",
               FLAP_WINDOW_S="600", ANOMALY_DETECTION="false", STATUS_PAGE_ENABLED="true",
               STATUS_PAGE_CACHE_S="0", HEALTH_CHECK_TIMEOUT_S="2") as running:
        yield running


def _call(deployment, method: str, path: str, body=None, **params):
    response = requests.request(method, f"{deployment['base']}{path}", json=body, params=params,
                                headers=deployment["headers"], timeout=30)
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json()


def _connection(deployment, fake: FakeServer, label: str, path: str) -> int:
    return _call(deployment, "POST", "/api/v2/connections", {
        "integration": "http", "label": label,
        "settings": {"base_url": fake.url, "health_path": path, "max_attempts": 1}})["id"]


def _alerts(deployment, **query) -> list[dict]:
    return _call(deployment, "GET", "/api/v2/monitoring/alerts", **query)["alerts"]


@pytest.mark.system
def test_a_workflows_failure_alert_is_suppressed_by_its_down_service_then_released(deployment):
    with FakeServer() as fake:
        fake.always("/health", reply(200, {"ok": True}))
        fake.always("/push", reply(200, {"ok": True}))
        conn_id = _connection(deployment, fake, "orders", "/health")
        workflow = _call(deployment, "POST", "/api/v2/ai-workflows", {
            "name": "push orders", "trigger": {"type": "manual"},
            "steps": [{"id": "push", "type": "action", "service": "http", "action": "post",
                       "connection": conn_id, "parameters": {"path": "/push", "json": {}}}]})

        fake.always("/health", reply(503, {"error": "down"}))
        fake.always("/push", reply(503, {"error": "down"}))
        for _ in range(3):  # real executions, failing on the service
            done = _call(deployment, "POST", f"/api/v2/ai-workflows/{workflow['id']}/execute",
                         {}, wait=20)
            assert done["status"] == "failed", done

        def flow_alert():
            found = _alerts(deployment, rule="workflow_failure_rate", status="active")
            return found[0] if found else None

        assert wait_until(lambda: flow_alert() is not None, timeout=20), \
            deployment["log"].read_text()[-3000:]
        flow = flow_alert()
        parents = {a["id"] for a in _alerts(deployment, status="active", connection_id=conn_id)}
        assert flow["status"] == "suppressed" and flow["suppressed_by"] in parents, flow

        fake.always("/health", reply(200, {"ok": True}))  # the service is back, the flow fails
        assert wait_until(lambda: _alerts(deployment, status="active",
                                          connection_id=conn_id) == [], timeout=20)
        assert wait_until(lambda: (flow_alert() or {}).get("status") == "open", timeout=20)
        assert flow_alert()["suppressed_by"] is None


@pytest.mark.system
def test_flapping_uptime_and_the_status_page_follow_the_checks(deployment):
    with FakeServer() as fake:
        fake.always("/steady", reply(200, {"ok": True}))
        fake.always("/flappy", reply(200, {"ok": True}))
        steady = _connection(deployment, fake, "internal-billing", "/steady")
        flappy = _connection(deployment, fake, "internal-search", "/flappy")
        _call(deployment, "PUT", "/api/v2/monitoring/status-page", {"items": [
            {"connection_id": steady, "name": "Billing"},
            {"connection_id": flappy, "name": "Search"}]})

        def shown(conn_id: int) -> dict:
            [row] = [c for c in _call(deployment, "GET", "/api/v2/monitoring/services/http")
                     ["connections"] if c["id"] == conn_id]
            return row

        def checks(path: str) -> int:
            return fake.count(path)

        # Flip the flappy one every check, more than 3 times: it is marked flapping.
        status = 200
        for _ in range(5):
            status = 503 if status == 200 else 200
            fake.always("/flappy", reply(status, {}))
            seen = checks("/flappy")
            assert wait_until(lambda: checks("/flappy") >= seen + 1, timeout=10)
        assert wait_until(lambda: shown(flappy)["flapping"] is True, timeout=15), shown(flappy)
        assert shown(steady)["flapping"] is False

        # Uptime is the passing share of the checks: all of the steady one's, part of the other's.
        assert shown(steady)["uptime"]["24h"] == 1.0
        assert 0 < shown(flappy)["uptime"]["24h"] < 1.0

        # The status page: public, under the chosen names, nothing internal.
        fake.always("/flappy", reply(503, {"error": "db-password-expired"}))
        public = requests.get(f"{deployment['base']}/status.json", timeout=10)
        assert public.status_code == 200
        assert wait_until(lambda: [i["status"] for i in requests.get(
            f"{deployment['base']}/status.json", timeout=10).json()["items"]]
            == ["operational", "down"], timeout=15), \
            requests.get(f"{deployment['base']}/status.json", timeout=10).json()
        page = requests.get(f"{deployment['base']}/status", timeout=10)
        assert page.status_code == 200 and "Billing" in page.text and "Search" in page.text
        for secret in ("internal-billing", "internal-search", "db-password-expired", fake.url):
            assert secret not in page.text and secret not in public.text
