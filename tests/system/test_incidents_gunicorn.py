"""One incident instead of thirty, through a real gunicorn with 3 workers and its scheduler:
30 connections to one local host that fails become exactly one incident, and a webhook channel
(an http connection to a second local fake that records posts) gets exactly one message."""
from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
import requests

from tests.fakes import FakeServer
from tests.fakes import reply
from tests.fakes import wait_until
from tests.system.test_scheduler_lock import BIN
from tests.system.test_scheduler_lock import ROOT
from tests.system.test_scheduler_lock import _free_port

GROUP_WAIT_S = 2


@pytest.fixture
def deployment(tmp_path):
    from cryptography.fernet import Fernet

    port = _free_port()
    # PYTHONPATH: this checkout's atom, whichever checkout the venv was installed from.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ATOM_INSTANCE_PATH": str(tmp_path),
           "ATOM_BIND": f"127.0.0.1:{port}",
           "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ATOM_WEB_WORKERS": "3",
           "ATOM_PLUGINS_ENABLED": '["http"]', "ATOM_HEALTH_CHECK_INTERVAL_S": "1",
           "ATOM_HEALTH_CHECK_JITTER_S": "0", "ATOM_SCHEDULER_LOCK_RETRY_S": "1",
           "ATOM_SCHEDULER_RECONCILE_S": "5", "ATOM_ALERT_GROUP_WAIT_S": str(GROUP_WAIT_S),
           "ATOM_ALERT_NOTIFY_TICK_S": "1", "ATOM_ALERT_MIN_OBSERVATIONS": "1",
           "ATOM_HEALTH_CHECK_TIMEOUT_S": "2"}
    subprocess.run([str(BIN / "atom"), "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    created = subprocess.run([str(BIN / "atom"), "keys", "create", "--name", "sys",
                              "--role", "admin"],
                             env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    key = created.stdout.strip().splitlines()[-1]
    log_path = tmp_path / "gunicorn.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=5)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(log_path.read_text()[-3000:])
                time.sleep(0.3)
        yield {"base": base, "headers": {"Authorization": f"Bearer {key}"}, "log": log_path}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


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
        assert len({a["connection_id"] for a in detail["alerts"]}) == 30
        assert [(n["event"], n["status"]) for n in detail["notifications"]] == [("firing", "sent")]
        assert incident["host"] == upstream.url.split("//")[1]
