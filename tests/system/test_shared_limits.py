"""Shared state across processes under a real gunicorn with 3 workers.

* A connection published at 5 calls a second: many concurrent action runs through the API,
  spread over the three workers, reach a local fake upstream at most at that rate with
  ``ATOM_REDIS_URL`` (Redis db 3), and at about three times it without (each worker its own
  bucket): the fake counts the requests it gets in every second.
* Prometheus multiprocess mode: the calls, served by different workers, are summed by every
  worker's ``/metrics``; a worker killed with ``kill -9`` keeps its counts in the sum.

sync workers here: one request at a time per worker, so concurrent requests are spread over
all three (gthread's spread is measured by tests/perf/bench_workers.py).
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.fakes import FakeServer
from tests.fakes import reply
from tests.fakes import wait_until
from tests.system.test_scheduler_lock import _worker_pids
from tests.system.test_scheduler_lock import serve

REDIS_URL = "redis://127.0.0.1:6379/3"
RATE = 5.0
CALLS = 45
CLIENTS = 12
# One thread per worker (gunicorn turns sync into gthread with more), no health checks (their
# calls would count too).
SYNC = {"WEB_THREADS": "1", "HEALTH_CHECK_INTERVAL_S": "3600"}


def _redis_or_skip():
    redis = pytest.importorskip("redis", reason="redis-py is not installed (pip install redis)")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({type(exc).__name__}): the shared limit needs one")
    return client


class Hits:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = []

    def __call__(self, _request):
        with self.lock:
            self.times.append(time.monotonic())
        return reply(200, {"ok": True})

    def peak_per_second(self) -> int:
        """The most requests in any window of one second (sliding over the hits)."""
        times = sorted(self.times)
        return max(sum(1 for t in times[i:] if t < start + 1.0)
                   for i, start in enumerate(times))

    def mean_rate(self) -> float:
        times = sorted(self.times)
        return (len(times) - 1) / (times[-1] - times[0])


@pytest.fixture
def sync_workers(monkeypatch):
    # The pid in each access line: which worker served which request.
    monkeypatch.setenv("GUNICORN_CMD_ARGS",
                       "--worker-class sync --access-logformat 'pid=%(p)s %(U)s %(s)s'")


def _connection(running, fake, **settings) -> int:
    response = requests.post(f"{running['base']}/api/v2/connections", headers=running["headers"],
                             timeout=10, json={"integration": "http", "label": "limited",
                                               "settings": {"base_url": fake.url, **settings}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _hammer(running, conn_id: int, calls: int) -> list[int]:
    """``calls`` action runs from CLIENTS threads, each with its own HTTP connection."""
    url = f"{running['base']}/api/v2/connections/{conn_id}/actions/get"
    local = threading.local()

    def one(_):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        return session.post(url, headers={**running["headers"], "Connection": "close"},
                            json={"path": "/hit"}, timeout=90).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(calls)))


def _served_by(log_path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pid in re.findall(r"pid=<?(\d+)>? /api/v2/connections/\d+/actions/get 200",
                          log_path.read_text()):
        counts[pid] = counts.get(pid, 0) + 1
    return counts


def _run(tmp_path, **settings) -> tuple[Hits, dict[str, int]]:
    hits = Hits()
    with FakeServer() as fake, serve(tmp_path, **SYNC, **settings) as running:
        fake.always("/hit", hits)
        conn_id = _connection(running, fake, rate_limit_per_second=RATE, rate_limit_burst=1)
        statuses = _hammer(running, conn_id, CALLS)
        assert statuses == [200] * CALLS
        served = _served_by(running["log"])
    assert len(hits.times) == CALLS
    return hits, served


@pytest.mark.system
def test_three_workers_hold_one_rate_limit_per_connection(tmp_path, sync_workers):
    store = _redis_or_skip()
    prefix = f"atom-sys-{uuid.uuid4().hex[:8]}"
    try:
        shared, served = _run(tmp_path / "shared", REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=prefix)
    finally:
        for key in store.scan_iter(f"{prefix}:*"):
            store.delete(key)
    alone, served_alone = _run(tmp_path / "alone")
    print(f"\nwith Redis: peak {shared.peak_per_second()}/s, mean {shared.mean_rate():.2f}/s, "
          f"served by {served}; without: peak {alone.peak_per_second()}/s, mean "
          f"{alone.mean_rate():.2f}/s, served by {served_alone}")
    # The calls were spread over the three workers both times.
    assert len(served) == 3 and len(served_alone) == 3
    # With Redis: the published rate (a token bucket of burst 1 lets 1 + 5 into a closed
    # second; one more for the network's jitter).
    assert shared.peak_per_second() <= RATE + 2
    assert shared.mean_rate() <= RATE * 1.1
    # Without: each worker its own bucket, about three times the rate.
    assert alone.mean_rate() >= RATE * 2.4
    assert alone.peak_per_second() >= 2 * RATE


def _api_calls(running) -> float:
    body = requests.get(f"{running['base']}/metrics", headers=running["headers"], timeout=10).text
    found = re.findall(r'^atom_api_calls_total\{integration="http",status="ok"\} (\S+)$', body,
                       re.MULTILINE)
    return sum(float(v) for v in found)


@pytest.mark.system
def test_metrics_sum_the_counts_of_every_worker(tmp_path, sync_workers):
    hits = Hits()
    with FakeServer() as fake, serve(tmp_path, **SYNC,
                                     PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom")) as running:
        fake.always("/hit", hits)
        conn_id = _connection(running, fake)
        assert _hammer(running, conn_id, 30) == [200] * 30
        served = _served_by(running["log"])
        assert len(served) >= 2, served  # the calls were served by several workers
        calls = len(hits.times)
        assert calls == 30
        # Every scrape (each may be answered by another worker) shows the deployment's sum.
        for _ in range(6):
            assert _api_calls(running) == calls
        # A worker killed with kill -9: its counts stay in the sum; gunicorn starts another.
        victim = int(max(served, key=served.get))
        os.kill(victim, signal.SIGKILL)
        assert wait_until(lambda: victim not in _worker_pids(running["proc"].pid)
                          and len(_worker_pids(running["proc"].pid)) == 3, timeout=30)
        for _ in range(6):
            assert _api_calls(running) == calls
        assert list((tmp_path / "prom").glob("*.db"))
