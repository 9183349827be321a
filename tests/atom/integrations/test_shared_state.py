"""Rate limits and circuit breakers shared through Redis (``REDIS_URL``).

Against the machine's Redis, db 3 (skipped, saying why, when it does not answer); each test has
a key prefix of its own. Two ``IntegrationClient`` objects with two Redis connections stand for
two processes. The breaker and token-bucket suites run again here on the Redis implementation,
so both keep one behaviour.
"""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
import uuid

import pytest

from atom.integrations.breaker import CLOSED
from atom.integrations.breaker import HALF_OPEN
from atom.integrations.breaker import OPEN
from atom.integrations.errors import CircuitOpen
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.http import ClientSettings
from atom.integrations.http import IntegrationClient
from atom.integrations.outbound import OutboundPolicy
from atom.integrations.shared import SharedBreaker
from atom.integrations.shared import SharedBucket
from atom.integrations.shared import SharedState
from atom.settings import ConfigError
from tests.atom.integrations import test_breaker as breaker_suite
from tests.atom.integrations import test_ratelimit as ratelimit_suite
from tests.fakes import reply
from tests.fakes import wait_until

redis = pytest.importorskip("redis", reason="redis-py is not installed (pip install redis)")

REDIS_URL = "redis://127.0.0.1:6379/3"


def _redis() -> "redis.Redis":
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({type(exc).__name__}): the shared state needs one")
    return client


@pytest.fixture
def prefix():
    name = f"atom-test-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        for key in client.scan_iter(f"{name}:*"):
            client.delete(key)
    except redis.RedisError:
        pass  # no Redis: the test was skipped and left nothing


@pytest.fixture
def shared(prefix, clock):
    """One process's shared state (a Redis connection of its own)."""
    return lambda: SharedState(_redis(), prefix=prefix, clock=clock)


@pytest.fixture
def make_client(server, clock, recorder, shared):
    """Like the package's ``make_client``, with the Redis shared state; ``process`` picks
    which simulated process (its own Redis connection) the client lives in."""
    clients: list[IntegrationClient] = []
    processes: dict[int, SharedState] = {}

    def make(*, auth=None, settings=None, client_kw=None, process: int = 0, **overrides):
        if settings is None:
            settings = ClientSettings(base_url=server.url, connect_timeout=2.0, read_timeout=5.0)
        state = processes.get(process) or processes.setdefault(process, shared())
        client = IntegrationClient(
            integration="fake", connection_id=7, settings=settings.with_overrides(**overrides),
            auth=auth, recorder=recorder, clock=clock, shared=state,
            **{"policy": OutboundPolicy(allow_private=True), **(client_kw or {})})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# The in-process suites, again on Redis.
for _suite in (breaker_suite, ratelimit_suite):
    for _name, _test in vars(_suite).items():
        if _name.startswith("test_") and callable(_test):
            globals()[f"{_name}__redis"] = _test


def test_clients_use_the_shared_implementations(make_client):
    client = make_client()
    assert isinstance(client.bucket, SharedBucket) and isinstance(client.breaker, SharedBreaker)


def test_two_processes_share_one_rate(server, clock, make_client):
    """Alternating calls from two processes are held to the one rate (5/s, burst 1)."""
    server.always("/x", reply(200))
    first = make_client(rate_per_second=5.0, rate_burst=1, process=1)
    second = make_client(rate_per_second=5.0, rate_burst=1, process=2)
    for _ in range(5):
        first.get("/x")
        second.get("/x")
    assert server.count("/x") == 10
    assert clock.sleeps == pytest.approx([0.2] * 9)
    assert clock.elapsed == pytest.approx(1.8)


def test_without_redis_each_process_has_its_own_rate(server, clock, make_client):
    """The same calls on per-process buckets: twice the rate (what Redis prevents)."""
    server.always("/x", reply(200))
    settings = ClientSettings(base_url=server.url, rate_per_second=5.0, rate_burst=1)
    pair = [IntegrationClient(integration="fake", connection_id=7, settings=settings, clock=clock,
                              policy=OutboundPolicy(allow_private=True)) for _ in range(2)]
    for _ in range(5):
        for client in pair:
            client.get("/x")
    assert clock.elapsed == pytest.approx(0.8)


def test_a_429_in_one_process_pauses_the_others(server, clock, make_client):
    server.script("/x", reply(429, headers={"Retry-After": "3"}))
    server.always("/y", reply(200))
    first = make_client(max_attempts=1, process=1)
    second = make_client(process=2)
    with pytest.raises(RateLimited):
        first.get("/x")
    second.get("/y")
    assert clock.sleeps == pytest.approx([3.0], abs=0.01)


def test_a_server_quota_seen_by_one_process_holds_for_the_others(server, clock, make_client):
    server.script("/x", reply(200, headers={"X-RateLimit-Remaining": "0",
                                             "X-RateLimit-Reset": str(int(clock.time()) + 10)}))
    server.always("/y", reply(200))
    make_client(process=1).get("/x")
    make_client(process=2).get("/y")
    assert sum(clock.sleeps) == pytest.approx(10.0, abs=1.0)


def test_a_breaker_opened_by_one_process_is_open_in_the_others(server, clock, make_client):
    server.always("/down", reply(503))
    server.always("/up", reply(200))
    first = make_client(circuit_threshold=3, max_attempts=1, circuit_reset=30.0, process=1)
    second = make_client(circuit_threshold=3, max_attempts=1, circuit_reset=30.0, process=2)
    for client in (first, second, first):
        with pytest.raises(UpstreamError):
            client.get("/down")
    assert second.breaker.state == OPEN
    with pytest.raises(CircuitOpen) as info:
        second.get("/up")
    assert server.count("/up") == 0
    assert info.value.retry_after == pytest.approx(30.0, abs=0.01)
    assert second.breaker.snapshot() == {"state": OPEN, "failures": 3, "retry_in_s": 30.0}

    clock.advance(30.0)
    assert first.breaker.state == HALF_OPEN
    first.breaker.before_call()  # the deployment's one probe
    with pytest.raises(CircuitOpen):
        second.get("/up")
    first.breaker.success()
    second.get("/up")
    assert second.breaker.state == CLOSED


def test_a_probe_whose_process_died_frees_its_slot(make_client, clock):
    client = make_client(circuit_threshold=1, circuit_reset=10.0)
    client.breaker.failure()
    clock.advance(10.0)
    client.breaker.before_call()  # a probe goes out, and its process never answers
    with pytest.raises(CircuitOpen):
        client.breaker.before_call()
    clock.advance(10.0)
    client.breaker.before_call()


def test_keys_expire_and_a_closed_breaker_leaves_none(make_client, prefix, clock):
    store = _redis()
    client = make_client(rate_per_second=2.0, rate_burst=4, circuit_threshold=5,
                         circuit_reset=30.0)
    client.bucket.acquire(1.0)
    ttl_ms = store.pttl(f"{prefix}:rl:7")
    assert 0 < ttl_ms <= (1 / 2.0 + 1) * 1000 + 10  # full again in 0.5 s, plus a second
    client.breaker.failure()
    assert 0 < store.ttl(f"{prefix}:cb:7") <= SharedBreaker.TTL_S + 30
    client.breaker.success()
    assert not store.exists(f"{prefix}:cb:7")


def test_redis_down_falls_back_to_the_local_limiter_with_one_warning(server, clock, recorder,
                                                                    caplog):
    """A Redis that refuses connections: each call is still rate limited (per process), no
    error reaches the caller, and one warning says so."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    state = SharedState.from_url(f"redis://127.0.0.1:{dead_port}/3", prefix="atom-dead",
                                 timeout_s=0.2)
    state._clock = clock
    server.always("/x", reply(200))
    client = IntegrationClient(
        integration="fake", connection_id=7, clock=clock, shared=state, recorder=recorder,
        settings=ClientSettings(base_url=server.url, rate_per_second=5.0, rate_burst=1),
        policy=OutboundPolicy(allow_private=True))
    with caplog.at_level(logging.WARNING, logger="atom.integrations.shared"):
        for _ in range(4):
            client.get("/x")
    assert server.count("/x") == 4
    assert clock.sleeps == pytest.approx([0.2] * 3)  # the local bucket's rate, not unlimited
    warnings = [r for r in caplog.records if r.name == "atom.integrations.shared"]
    assert len(warnings) == 1 and "per process" in warnings[0].getMessage()
    assert client.breaker.state == CLOSED  # the local breaker answers too
    assert not state.available


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server binary to "
                    "start and kill for the fault test")
def test_redis_killed_and_restarted(tmp_path, server, clock, caplog):
    """A Redis of our own, killed mid-run: calls go on locally; once it is back (after the
    retry delay) the buckets are shared again."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                 "--appendonly", "no", "--dir", str(tmp_path)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe = redis.Redis(port=port, socket_connect_timeout=0.2)
        assert wait_until(lambda: _pings(probe), timeout=10)
        return proc

    proc = start()
    try:
        state = SharedState.from_url(f"redis://127.0.0.1:{port}/0", timeout_s=0.5,
                                     retry_s=1.0)
        server.always("/x", reply(200))
        client = IntegrationClient(
            integration="fake", connection_id=9, clock=clock, shared=state,
            settings=ClientSettings(base_url=server.url, rate_per_second=100.0, rate_burst=100),
            policy=OutboundPolicy(allow_private=True))
        client.get("/x")
        assert redis.Redis(port=port).exists("atom:rl:9")
        proc.kill()
        proc.wait()
        with caplog.at_level(logging.INFO, logger="atom.integrations.shared"):
            client.get("/x")  # local, no error
            assert not state.available
            proc = start()
            time.sleep(1.1)  # the retry delay (real time: SharedState's own clock)
            client.get("/x")
        assert state.available
        assert redis.Redis(port=port).exists("atom:rl:9")
        messages = [r.getMessage() for r in caplog.records if r.name == "atom.integrations.shared"]
        assert len(messages) == 2 and "does not answer" in messages[0] \
            and "answers again" in messages[1]
    finally:
        proc.kill()
        proc.wait()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def test_an_app_with_redis_url_shares_its_connections_state(app_factory, prefix):
    _redis()
    app = app_factory(REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=prefix)
    from atom.state import get_state

    runtime = get_state(app).runtime
    assert runtime.shared is not None and runtime.shared.prefix == prefix


@pytest.mark.parametrize("settings, name", [
    ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
    ({"REDIS_KEY_PREFIX": "has space"}, "REDIS_KEY_PREFIX"),
    ({"REDIS_TIMEOUT_S": 0}, "REDIS_TIMEOUT_S"),
    ({"REDIS_RETRY_S": "soon"}, "REDIS_RETRY_S"),
])
def test_bad_redis_settings_are_refused_by_name(app_factory, settings, name):
    with pytest.raises(ConfigError, match=name):
        app_factory(**settings)


def test_a_call_on_a_clean_breaker_costs_two_round_trips(server, make_client, monkeypatch):
    """The breaker check and the token; a success on a breaker that was closed without
    failures writes nothing."""
    server.always("/x", reply(200))
    client = make_client()
    client.get("/x")
    shared = client.bucket._shared
    calls: list[str] = []
    for name in ("_bucket", "_breaker"):
        script = getattr(shared, name)
        monkeypatch.setattr(shared, name, lambda *a, _s=script, _n=name, **k: (calls.append(_n),
                                                                             _s(*a, **k))[1])
    client.get("/x")
    assert calls == ["_breaker", "_bucket"]


def test_a_success_after_failures_resets_them_everywhere(server, make_client):
    server.script("/x", reply(503), reply(503), reply(200))
    first = make_client(circuit_threshold=3, max_attempts=1, process=1)
    second = make_client(circuit_threshold=3, max_attempts=1, process=2)
    for _ in range(2):
        with pytest.raises(UpstreamError):
            first.get("/x")
    second.get("/x")  # saw 2 failures before the call: its success is written
    assert first.breaker.snapshot()["failures"] == 0
