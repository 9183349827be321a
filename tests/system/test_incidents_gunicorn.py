"""One incident instead of thirty, through a real gunicorn with 3 workers and its scheduler:
30 connections to one local host that fails become exactly one incident, and a webhook channel
(an http connection to a second local fake that records posts) gets exactly one message."""
from __future__ import annotations

import json
import time

import pytest
import requests

from tests.fakes import FakeServer
from tests.fakes import reply
from tests.fakes import wait_until
from tests.system.test_scheduler_lock import serve

GROUP_WAIT_S = 2


@pytest.fixture
def deployment(tmp_path):
    with serve(tmp_path, HEALTH_CHECK_INTERVAL_S="1", ALERT_GROUP_WAIT_S=str(GROUP_WAIT_S),
               ALERT_NOTIFY_TICK_S="1", ALERT_MIN_OBSERVATIONS="1",
               HEALTH_CHECK_TIMEOUT_S="2") as running:
        yield running


def _post(deployment, path, body):
    response = requests.post(f"{deployment['base']}{path}", headers=deployment["headers"],
                             json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.system
def test_thirty_failing_connections_on_one_host_are_one_incident_and_one_message(deployment):
    with FakeServer() as upstream, FakeServer() as receiver:
        upstream.always("/down", reply(503, {"error": "down"}))
        receiver.always("/health", reply(200, {"ok": True}))
        receiver.always("/hook", reply(200, {"received": True}))
        hook = _post(deployment, "/api/v2/connections", {
            "integration": "http", "label": "hook",
            "settings": {"base_url": receiver.url, "health_path": "/health"}})
        _post(deployment, "/api/v2/monitoring/channels",
              {"name": "ops", "connection_id": hook["id"], "target": "/hook"})
        for i in range(30):
            _post(deployment, "/api/v2/connections", {
                "integration": "http", "label": f"api {i}",
                "settings": {"base_url": upstream.url, "health_path": "/down",
                             "max_attempts": 1}})

        def incidents():
            return requests.get(f"{deployment['base']}/api/v2/monitoring/incidents",
                                headers=deployment["headers"], timeout=10).json()["incidents"]

        assert wait_until(lambda: receiver.count("/hook") >= 1, timeout=30), \
            deployment["log"].read_text()[-3000:]
        # Several more rounds and notify ticks: alerts keep arriving, escalating, nothing more
        # is sent within the group interval (300 s), in any of the three workers.
        time.sleep(6)
        [incident] = incidents()
        posts = receiver.calls("/hook", "POST")
        assert len(posts) == 1, [p.json()["text"][:80] for p in posts]
        text = json.loads(posts[0].body)["text"]
        assert f"incident #{incident['id']} firing" in text
        detail = requests.get(f"{deployment['base']}/api/v2/monitoring/incidents/"
                              f"{incident['id']}", headers=deployment["headers"],
                              timeout=10).json()
        # Every connection's alerts, and the shared host's own (no connection: their parent).
        by_connection = {a["connection_id"] for a in detail["alerts"]}
        assert len(by_connection - {None}) == 30
        assert {a["rule"] for a in detail["alerts"] if a["connection_id"] is None} == {"host_down"}
        assert [(n["event"], n["status"]) for n in detail["notifications"]] == [("firing", "sent")]
        assert incident["host"] == upstream.url.split("//")[1]
