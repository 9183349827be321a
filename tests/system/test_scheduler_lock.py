"""One scheduler per deployment: a real gunicorn with 3 workers runs each health check once per
round, not three times, and a standby worker takes over when the leader dies."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HitLog:
    """When each health path was hit (monotonic seconds)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}

    def responder(self, path: str):
        def answer(_request):
            with self.lock:
                self.times.setdefault(path, []).append(time.monotonic())
            return reply(200, {"ok": True})
        return answer

    def of(self, path: str) -> list[float]:
        with self.lock:
            return list(self.times.get(path, []))


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


@pytest.fixture
def deployment(tmp_path):
    """``atom db upgrade``, an admin key, then gunicorn with 3 workers on a free port."""
    yield from serve(tmp_path)


def serve(tmp_path: Path, **extra_env: str):
    """The ``deployment`` fixture's body; ``extra_env`` adds or overrides settings."""
    from cryptography.fernet import Fernet

    port = _free_port()
    env = {**os.environ, "ATOM_INSTANCE_PATH": str(tmp_path), "ATOM_BIND": f"127.0.0.1:{port}",
           "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(), "ATOM_WEB_WORKERS": "3",
           "ATOM_PLUGINS_ENABLED": '["http"]', "ATOM_HEALTH_CHECK_INTERVAL_S": str(INTERVAL_S),
           "ATOM_HEALTH_CHECK_JITTER_S": "0", "ATOM_SCHEDULER_LOCK_RETRY_S": "1",
           "ATOM_SCHEDULER_RECONCILE_S": "5",
           # The CLI imports this checkout (its migrations), as gunicorn does from its cwd.
           "PYTHONPATH": str(ROOT), **extra_env}
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
        yield {"base": base, "headers": {"Authorization": f"Bearer {key}"}, "tmp": tmp_path,
               "log": log_path, "proc": proc}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def _connect(deployment, fake, path: str) -> None:
    response = requests.post(f"{deployment['base']}/api/v2/connections",
                             headers=deployment["headers"], timeout=10,
                             json={"integration": "http", "label": path,
                                   "settings": {"base_url": fake.url, "health_path": path}})
    assert response.status_code == 201, response.text


@pytest.mark.system
def test_three_gunicorn_workers_run_each_check_once_per_round(deployment, fake):
    hits = HitLog()
    for path in ("/one", "/two"):
        fake.always(path, hits.responder(path))
        _connect(deployment, fake, path)

    observe_s = 6 * INTERVAL_S
    time.sleep(observe_s + 1)

    for path in ("/one", "/two"):
        times = hits.of(path)
        # Once per round: about observe_s / INTERVAL_S hits, spaced by the interval. Three
        # schedulers would give three times as many, in bursts a few milliseconds apart.
        assert 3 <= len(times) <= observe_s / INTERVAL_S + 2, (path, _gaps(times))
        assert min(_gaps(times)) > INTERVAL_S / 4, (path, _gaps(times))
    leader = int((deployment["tmp"] / "scheduler.leader").read_text())
    workers = _worker_pids(deployment["proc"].pid)
    assert leader in workers and len(workers) == 3


@pytest.mark.system
def test_a_standby_worker_takes_over_when_the_leader_dies(deployment, fake):
    hits = HitLog()
    fake.always("/one", hits.responder("/one"))
    _connect(deployment, fake, "/one")
    assert wait_until(lambda: len(hits.of("/one")) >= 2, timeout=20)
    leader_file = deployment["tmp"] / "scheduler.leader"
    leader = int(leader_file.read_text())

    os.kill(leader, signal.SIGKILL)
    killed_at = time.monotonic()

    assert wait_until(lambda: leader_file.read_text() != str(leader), timeout=20), \
        deployment["log"].read_text()[-3000:]
    assert wait_until(lambda: sum(t > killed_at for t in hits.of("/one")) >= 3, timeout=20)
    after = [t for t in hits.of("/one") if t > killed_at]
    assert min(_gaps(after)) > INTERVAL_S / 4, _gaps(after)


def _worker_pids(master: int) -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process(master).children()}
