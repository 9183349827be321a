"""The token bucket: our own rate, and re-sync from the server's rate-limit headers."""
from __future__ import annotations

import pytest

from atom.integrations.errors import RateLimited
from atom.integrations.ratelimit import TokenBucket
from tests.fakes import FakeClock
from tests.fakes import reply


def test_client_is_held_to_its_rate(server, clock, make_client):
    server.always("/x", reply(200))
    client = make_client(rate_per_second=5.0, rate_burst=1)

    for _ in range(10):
        client.get("/x")

    assert server.count("/x") == 10
    assert clock.sleeps == pytest.approx([0.2] * 9)
    assert clock.elapsed == pytest.approx(1.8)


def test_burst_is_free_then_the_rate_applies(server, clock, make_client):
    server.always("/x", reply(200))
    client = make_client(rate_per_second=10.0, rate_burst=5)
    for _ in range(7):
        client.get("/x")
    assert clock.sleeps == pytest.approx([0.1, 0.1])


def test_retries_consume_tokens(server, clock, make_client, monkeypatch):
    from atom.integrations import http as http_mod

    monkeypatch.setattr(http_mod.random, "uniform", lambda a, b: 0.0)  # no backoff wait
    server.script("/x", reply(503), reply(503), reply(200))
    client = make_client(rate_per_second=2.0, rate_burst=1)
    client.get("/x")
    assert sum(clock.sleeps) == pytest.approx(1.0)  # two waits of 0.5 s for tokens


def test_remaining_zero_with_epoch_reset_pauses_until_the_reset(server, clock, make_client):
    reset = int(clock.time()) + 30
    server.script("/x", reply(200, headers={"X-RateLimit-Remaining": "0",
                                            "X-RateLimit-Reset": str(reset)}))
    server.always("/x", reply(200))
    client = make_client()

    client.get("/x")
    assert clock.slept == 0
    client.get("/x")

    assert server.count("/x") == 2
    assert clock.slept == pytest.approx(30, abs=1)


def test_remaining_zero_with_reset_after_delta(server, clock, make_client):
    server.script("/x", reply(200, headers={"X-RateLimit-Remaining": "0",
                                            "X-RateLimit-Reset-After": "12.5"}))
    server.always("/x", reply(200))
    client = make_client()
    client.get("/x")
    client.get("/x")
    assert clock.slept == pytest.approx(12.5, abs=0.2)


def test_remaining_caps_the_tokens(server, clock, make_client):
    server.script("/x", reply(200, headers={"X-RateLimit-Remaining": "1"}))
    server.always("/x", reply(200))
    client = make_client(rate_per_second=4.0, rate_burst=10)
    for _ in range(3):
        client.get("/x")
    # Tokens capped to 1 after the first answer: the second call is free, the third waits.
    assert clock.sleeps == pytest.approx([0.25])


def test_reset_beyond_max_server_wait_fails_fast_without_a_request(server, clock, make_client):
    server.script("/x", reply(200, headers={"X-RateLimit-Remaining": "0",
                                            "X-RateLimit-Reset": str(int(clock.time()) + 3600)}))
    client = make_client(max_server_wait=60.0)
    client.get("/x")

    with pytest.raises(RateLimited) as info:
        client.get("/x")

    assert info.value.retry_after == pytest.approx(3600, abs=1)
    assert server.count("/x") == 1
    assert clock.slept == 0


def test_429_pauses_the_connection_for_later_calls(server, clock, make_client):
    server.script("/x", reply(429, headers={"Retry-After": "600"}))
    server.always("/y", reply(200))
    client = make_client(max_server_wait=60.0)

    with pytest.raises(RateLimited):
        client.get("/x")
    with pytest.raises(RateLimited):
        client.get("/y")  # the same connection: held back, not sent
    assert server.count("/y") == 0

    clock.advance(600)
    client.get("/y")
    assert server.count("/y") == 1


def test_bucket_alone():
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=2, clock=clock)
    waits = [bucket.acquire(max_wait=10) for _ in range(4)]
    assert waits == pytest.approx([0, 0, 0.5, 0.5])
    bucket.pause(5)
    assert bucket.acquire(max_wait=10) == pytest.approx(5)
    with pytest.raises(RateLimited):
        bucket.pause(100)
        bucket.acquire(max_wait=10)
