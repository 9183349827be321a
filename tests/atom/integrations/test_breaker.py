"""The per-connection circuit breaker, driven through ``IntegrationClient``."""
from __future__ import annotations

import threading

import pytest

from atom.integrations.breaker import CLOSED
from atom.integrations.breaker import HALF_OPEN
from atom.integrations.breaker import OPEN
from atom.integrations.errors import CircuitOpen
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from tests.fakes import reply
from tests.fakes import wait_until


def _open(client, server, path="/down", n=3):
    server.always(path, reply(503))
    for _ in range(n):
        with pytest.raises(UpstreamError):
            client.get(path)


def test_opens_after_threshold_retry_exhausted_failures(server, clock, make_client, recorder):
    client = make_client(circuit_threshold=3, max_attempts=2)
    _open(client, server)
    assert server.count("/down") == 6  # 3 logical calls x 2 attempts: failures count per call
    assert client.breaker.state == OPEN

    with pytest.raises(CircuitOpen) as info:
        client.get("/down")

    assert server.count("/down") == 6  # nothing reached the server
    assert info.value.code == "circuit_open"
    assert info.value.retry_after == pytest.approx(client.settings.circuit_reset)
    stat = recorder.stats[-1]
    assert (stat.ok, stat.attempts, stat.error_class) == (False, 0, "circuit_open")


def test_stays_closed_below_threshold_and_success_resets_the_count(server, clock, make_client):
    client = make_client(circuit_threshold=3, max_attempts=1)
    server.script("/x", reply(503), reply(503), reply(200), reply(503), reply(503), reply(200))
    for expected_ok in (False, False, True, False, False, True):
        if expected_ok:
            client.get("/x")
        else:
            with pytest.raises(UpstreamError):
                client.get("/x")
    assert client.breaker.state == CLOSED
    assert server.count("/x") == 6


def test_half_open_probe_success_closes(server, clock, make_client):
    client = make_client(circuit_threshold=3, max_attempts=1, circuit_reset=30.0)
    _open(client, server)
    clock.advance(29.9)
    with pytest.raises(CircuitOpen):
        client.get("/down")
    assert server.count("/down") == 3

    clock.advance(0.1)
    assert client.breaker.state == HALF_OPEN
    server.script("/down", reply(200, {"ok": True}))
    assert client.get("/down").json() == {"ok": True}  # the probe goes through

    assert client.breaker.state == CLOSED
    server.script("/down", reply(200), reply(200))
    client.get("/down")
    client.get("/down")
    assert server.count("/down") == 6


def test_half_open_probe_failure_reopens(server, clock, make_client):
    client = make_client(circuit_threshold=3, max_attempts=1, circuit_reset=30.0)
    _open(client, server)
    clock.advance(30)

    with pytest.raises(UpstreamError):
        client.get("/down")  # the probe fails
    assert server.count("/down") == 4
    assert client.breaker.state == OPEN

    with pytest.raises(CircuitOpen):
        client.get("/down")
    assert server.count("/down") == 4

    clock.advance(30)  # the cool-down restarts from the failed probe
    server.script("/down", reply(200))
    client.get("/down")
    assert client.breaker.state == CLOSED


def test_half_open_admits_a_single_probe(server, clock, make_client):
    client = make_client(circuit_threshold=1, max_attempts=1)
    _open(client, server, n=1)
    clock.advance(30)
    server.script("/down", reply(200, delay=0.5))
    probe = threading.Thread(target=client.get, args=("/down",))
    probe.start()
    try:
        assert wait_until(lambda: server.count("/down") == 2)
        with pytest.raises(CircuitOpen):
            client.get("/down")  # a second caller while the probe is in flight
    finally:
        probe.join(timeout=5)
    assert server.count("/down") == 2
    assert client.breaker.state == CLOSED


def test_timeouts_count_as_failures(server, clock, make_client):
    client = make_client(circuit_threshold=2, max_attempts=1, read_timeout=0.1)
    server.always("/slow", reply(200, delay=0.5))
    for _ in range(2):
        with pytest.raises(IntegrationTimeout):
            client.get("/slow")
    with pytest.raises(CircuitOpen):
        client.get("/slow")
    assert server.count("/slow") == 2


@pytest.mark.parametrize(("status", "error"), [
    (400, ValidationFailed), (404, UpstreamError), (409, ValidationFailed), (422, ValidationFailed),
])
def test_4xx_answers_do_not_count(server, clock, make_client, status, error):
    client = make_client(circuit_threshold=2, max_attempts=1)
    server.always("/bad", reply(status))
    for _ in range(5):
        with pytest.raises(error):
            client.get("/bad")
    assert server.count("/bad") == 5
    assert client.breaker.state == CLOSED


def test_rate_limits_do_not_count(server, clock, make_client):
    client = make_client(circuit_threshold=2, max_attempts=1)
    server.always("/limited", reply(429, headers={"Retry-After": "1"}))
    for _ in range(4):
        with pytest.raises(RateLimited):
            client.get("/limited")
        clock.advance(2)
    assert server.count("/limited") == 4
    assert client.breaker.state == CLOSED


def test_a_4xx_between_failures_does_not_reset_the_count(server, clock, make_client):
    """4xx answers are neutral: neither failures nor successes."""
    client = make_client(circuit_threshold=2, max_attempts=1)
    server.script("/x", reply(503), reply(404), reply(503))
    for _ in range(3):
        with pytest.raises(UpstreamError):
            client.get("/x")
    assert client.breaker.state == OPEN


def test_a_crashing_classifier_does_not_wedge_the_breaker(server, clock, make_client, recorder):
    """An unexpected exception during the probe must not leave the breaker half-open forever."""
    crash = {"on": False}

    def classify(response):
        if crash["on"]:
            raise KeyError("plugin bug")
        if response.status_code >= 500:
            raise UpstreamError("down", status=response.status_code)

    client = make_client(circuit_threshold=1, max_attempts=1,
                         client_kw={"raise_for_response": classify})
    _open(client, server, n=1)
    clock.advance(30)
    crash["on"] = True
    server.script("/down", reply(200))
    with pytest.raises(KeyError):
        client.get("/down")
    assert recorder.stats[-1].ok is False  # the crashed call is still recorded

    crash["on"] = False
    server.script("/down", reply(200))
    client.get("/down")  # not CircuitOpen forever
    assert client.breaker.state == CLOSED
