"""Alerts open and clear within two check intervals, through a real gunicorn with 3 workers
whose scheduler runs a round every I = 2 s: a local fake service the test switches from
healthy to failing and back, the alerts watched through the API."""
from __future__ import annotations

import time

import pytest
import requests

from tests.fakes import FakeServer
from tests.fakes import reply
from tests.fakes import wait_until
from tests.system.test_scheduler_lock import INTERVAL_S
from tests.system.test_scheduler_lock import serve

# Two intervals, plus a round's own time and the scheduler's slack on a busy 2-core machine.
LIMIT_S = 2 * INTERVAL_S + 2.0


@pytest.fixture
def deployment(tmp_path):
    """gunicorn with 3 workers and a round every 2 s."""
    with serve(tmp_path, ALERT_MIN_OBSERVATIONS="2", ANOMALY_DETECTION="false") as running:
        yield running


def _active(deployment, conn_id: int) -> dict[str, dict]:
    response = requests.get(f"{deployment['base']}/api/v2/monitoring/alerts", timeout=10,
                            headers=deployment["headers"],
                            params={"status": "active", "connection_id": conn_id})
    assert response.status_code == 200, response.text
    return {a["rule"]: a for a in response.json()["alerts"]}


def _checks(fake: FakeServer) -> int:
    return fake.count("/api")


@pytest.mark.system
def test_an_alert_opens_and_clears_within_two_intervals(deployment):
    with FakeServer() as fake:
        fake.always("/api", reply(200, {"ok": True}))
        created = requests.post(f"{deployment['base']}/api/v2/connections",
                                headers=deployment["headers"], timeout=10,
                                json={"integration": "http", "label": "billing",
                                      "settings": {"base_url": fake.url, "health_path": "/api",
                                                   "max_attempts": 1}})
        assert created.status_code == 201, created.text
        conn_id = created.json()["id"]
        assert wait_until(lambda: _checks(fake) >= 3, timeout=30), \
            deployment["log"].read_text()[-3000:]
        assert _active(deployment, conn_id) == {}

        fake.always("/api", reply(503, {"error": "down"}))
        failed_at = time.monotonic()
        assert wait_until(lambda: "success_rate" in _active(deployment, conn_id),
                          timeout=LIMIT_S + 10)
        opened_s = time.monotonic() - failed_at
        rules = set(_active(deployment, conn_id))
        assert {"success_rate", "consecutive_failures"} <= rules, rules

        fake.always("/api", reply(200, {"ok": True}))
        recovered_at = time.monotonic()
        assert wait_until(lambda: _active(deployment, conn_id) == {}, timeout=LIMIT_S + 10)
        cleared_s = time.monotonic() - recovered_at
    print(f"RESULT alert_opened_s={opened_s:.2f} alert_cleared_s={cleared_s:.2f} "
          f"(interval {INTERVAL_S} s)")
    assert opened_s <= LIMIT_S, opened_s
    assert cleared_s <= LIMIT_S, cleared_s
