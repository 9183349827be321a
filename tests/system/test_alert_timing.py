"""Alerts open and clear within two check intervals, through a real gunicorn with 3 workers
whose scheduler runs a round every I = 2 s: a local fake service the test switches from
healthy to failing and back, the alerts watched through the API."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.fakes import FakeServer
from tests.fakes import reply
from tests.fakes import wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INTERVAL_S = 2.0
# Two intervals, plus a round's own time and the scheduler's slack on a busy 2-core machine.
LIMIT_S = 2 * INTERVAL_S + 2.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def deployment(tmp_path):
    from cryptography.fernet import Fernet

    port = _free_port()
    env = {**os.environ, "ATOM_INSTANCE_PATH": str(tmp_path), "ATOM_BIND": f"127.0.0.1:{port}",
           "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ATOM_WEB_WORKERS": "3",
           "ATOM_PLUGINS_ENABLED": '["http"]', "ATOM_HEALTH_CHECK_INTERVAL_S": str(INTERVAL_S),
           "ATOM_HEALTH_CHECK_JITTER_S": "0", "ATOM_SCHEDULER_LOCK_RETRY_S": "1",
           "ATOM_ALERT_MIN_OBSERVATIONS": "2", "ATOM_ANOMALY_DETECTION": "false",
           # The CLI imports this checkout (its migrations), as gunicorn does from cwd.
           "PYTHONPATH": str(ROOT)}
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
