"""Fault tests for ``IntegrationClient``: retries, backoff, timeouts, write safety, metrics and
per-connection settings, through real sockets against a scripted local server."""
from __future__ import annotations

import email.utils
import time

import pytest

from atom.integrations import http as http_mod
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.http import ClientSettings
from atom.integrations.http import IdempotencyScope
from atom.integrations.http import attempt_counter
from atom.integrations.http import idempotency_scope
from atom.integrations.http import parse_reset
from atom.integrations.http import parse_retry_after
from tests.fakes import drop
from tests.fakes import free_port
from tests.fakes import reply


@pytest.fixture
def max_jitter(monkeypatch):
    """Make every random draw return its upper bound, so waits are exact."""
    monkeypatch.setattr(http_mod.random, "uniform", lambda a, b: b)


# -- 429 and Retry-After -----------------------------------------------------------------------


def test_429_retry_after_then_200_waits_at_least_the_server_wait(server, clock, make_client):
    server.script("/items", reply(429, {"error": "slow down"}, headers={"Retry-After": "7"}),
                  reply(200, {"ok": True}))
    client = make_client()

    response = client.get("/items")

    assert response.json() == {"ok": True}
    assert server.count("/items") == 2
    assert len(clock.sleeps) == 1
    assert 7.0 <= clock.sleeps[0] <= 7.0 + 1.0  # jitter only adds, and stays small


def test_429_retry_after_jitter_never_shortens_the_wait(server, clock, make_client, monkeypatch):
    monkeypatch.setattr(http_mod.random, "uniform", lambda a, b: a)
    server.script("/items", reply(429, headers={"Retry-After": "3"}), reply(200))
    make_client().get("/items")
    assert clock.sleeps == [3.0]


def test_429_retry_after_above_max_server_wait_fails_fast(server, clock, make_client):
    server.script("/items", reply(429, headers={"Retry-After": "120"}), reply(200))
    client = make_client(max_server_wait=60.0)

    with pytest.raises(RateLimited) as info:
        client.get("/items")

    assert info.value.retry_after == 120.0
    assert info.value.status == 429
    assert server.count("/items") == 1
    assert clock.sleeps == []


def test_429_is_retried_for_post_without_key(server, clock, make_client):
    """A 429 means the request was not processed: safe to retry any method."""
    server.script("/items", reply(429, headers={"Retry-After": "1"}), reply(201, {"id": 1}))
    response = make_client().post("/items", json={"a": 1})
    assert response.status_code == 201
    assert server.count("/items") == 2
    assert [r.json() for r in server.calls("/items")] == [{"a": 1}, {"a": 1}]


def test_429_without_retry_after_backs_off(server, clock, make_client, max_jitter):
    server.script("/items", reply(429), reply(429), reply(200))
    make_client().get("/items")
    assert server.count("/items") == 3
    assert clock.sleeps == [0.5, 1.0]


def test_503_with_retry_after_honours_it(server, clock, make_client):
    server.script("/items", reply(503, headers={"Retry-After": "4"}), reply(200))
    make_client().get("/items")
    assert server.count("/items") == 2
    assert clock.sleeps[0] >= 4.0


# -- 5xx and exponential backoff ---------------------------------------------------------------


def test_503_burst_then_200_backs_off_exponentially(server, clock, make_client, max_jitter):
    server.script("/items", reply(503), reply(503), reply(503), reply(200, {"ok": 1}))
    client = make_client()

    assert client.get("/items").json() == {"ok": 1}

    assert server.count("/items") == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_capped_by_max_retry_wait(server, clock, make_client, max_jitter):
    server.always("/items", reply(503))
    client = make_client(max_attempts=6, max_retry_wait=1.5)
    with pytest.raises(UpstreamError):
        client.get("/items")
    assert server.count("/items") == 6
    assert clock.sleeps == [0.5, 1.0, 1.5, 1.5, 1.5]


def test_backoff_is_full_jitter_within_the_exponential_cap(server, clock, make_client):
    server.always("/items", reply(502))
    client = make_client(max_attempts=5)
    for _ in range(5):
        with pytest.raises(UpstreamError):
            client.get("/items")
    # 5 calls x 4 waits; wait n is uniform in [0, 0.5 * 2**(n-1)].
    assert len(clock.sleeps) == 20
    caps = [0.5, 1.0, 2.0, 4.0] * 5
    assert all(0 <= s <= cap for s, cap in zip(clock.sleeps, caps))
    assert len(set(clock.sleeps)) > 1  # jittered, not a fixed schedule


def test_503_beyond_max_attempts_raises_after_exactly_four_calls(server, clock, make_client):
    server.always("/items", reply(503, "maintenance"))
    client = make_client()
    assert client.settings.max_attempts == 4  # the default

    with pytest.raises(UpstreamError) as info:
        client.get("/items")

    assert server.count("/items") == 4
    assert info.value.status == 503
    assert info.value.permanent is False
    assert len(clock.sleeps) == 3


def test_max_total_stops_retrying(server, clock, make_client):
    server.always("/items", reply(503, headers={"Retry-After": "10"}))
    client = make_client(max_attempts=10, max_total=25.0)
    with pytest.raises(UpstreamError):
        client.get("/items")
    # stop_after_delay (INTEGRATIONS.md): checked after each failed attempt. Attempts at
    # 0 s, ~10 s, ~20 s (< 25 s: keep going) and ~30 s (>= 25 s: stop).
    assert server.count("/items") == 4
    assert len(clock.sleeps) == 3


def test_permanent_4xx_is_not_retried(server, clock, make_client):
    server.script("/items", reply(404, {"error": "not found"}), reply(200))
    with pytest.raises(UpstreamError) as info:
        make_client().get("/items")
    assert info.value.permanent is True
    assert info.value.status == 404
    assert server.count("/items") == 1


def test_validation_4xx_is_not_retried(server, clock, make_client):
    server.script("/items", reply(422, {"error": "bad field"}), reply(200))
    with pytest.raises(ValidationFailed):
        make_client().post("/items", json={}, idempotency_key="k")
    assert server.count("/items") == 1
    assert clock.sleeps == []


# -- timeouts ----------------------------------------------------------------------------------


def test_slow_get_times_out_and_is_retried_up_to_max_attempts(server, clock, make_client):
    server.always("/slow", reply(200, {"late": True}, delay=1.0))
    client = make_client(read_timeout=0.2, max_attempts=3)

    started = time.monotonic()
    with pytest.raises(IntegrationTimeout) as info:
        client.get("/slow")

    assert info.value.code == "timeout"
    assert server.count("/slow") == 3
    assert len(clock.sleeps) == 2
    assert time.monotonic() - started < 3.0  # the read timeout bound each attempt


def test_slow_post_without_key_is_not_retried(server, clock, make_client):
    server.always("/slow", reply(200, delay=1.0))
    client = make_client(read_timeout=0.2)

    with pytest.raises(IntegrationTimeout) as info:
        client.post("/slow", json={"x": 1})

    assert info.value.code == "timeout"
    assert server.count("/slow") == 1
    assert clock.sleeps == []


def test_slow_post_with_idempotency_key_is_retried_with_the_same_key(server, clock, make_client):
    server.script("/slow", reply(200, delay=1.0), reply(201, {"id": 1}))
    client = make_client(read_timeout=0.2)

    response = client.post("/slow", json={"x": 1}, idempotency_key="k9")

    assert response.status_code == 201
    assert [r.headers["Idempotency-Key"] for r in server.calls("/slow")] == ["k9", "k9"]


# -- dropped and refused connections -----------------------------------------------------------


def test_dropped_connection_is_retried_for_get(server, clock, make_client):
    server.script("/items", drop(), drop(), reply(200, {"ok": True}))
    assert make_client().get("/items").json() == {"ok": True}
    assert server.count("/items") == 3
    assert len(clock.sleeps) == 2


def test_dropped_connection_on_post_without_key_is_not_retried(server, clock, make_client):
    server.script("/items", drop(), reply(201))
    with pytest.raises(UpstreamError) as info:
        make_client().post("/items", json={"a": 1})
    assert info.value.code == "upstream"
    assert server.count("/items") == 1
    assert clock.sleeps == []


def test_dropped_connection_on_post_with_key_is_retried_with_the_same_key(server, clock,
                                                                          make_client):
    server.script("/items", drop(), drop(), reply(201, {"id": 5}))

    response = make_client().post("/items", json={"a": 1}, idempotency_key="k1")

    assert response.json() == {"id": 5}
    calls = server.calls("/items")
    assert len(calls) == 3
    assert [c.headers.get("Idempotency-Key") for c in calls] == ["k1", "k1", "k1"]
    assert all(c.json() == {"a": 1} for c in calls)


def test_refused_connection_on_post_is_retried(clock, make_client, recorder):
    """Nothing listening: the request was never sent, so even a POST may be retried."""
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(UpstreamError) as info:
        client.post("/items", json={"a": 1})

    assert info.value.code == "upstream"
    assert recorder.stats[-1].attempts == 4
    assert len(clock.sleeps) == 3


# -- write safety ------------------------------------------------------------------------------


def test_post_503_without_key_is_sent_once(server, clock, make_client):
    server.always("/items", reply(503))
    with pytest.raises(UpstreamError):
        make_client().post("/items", json={"a": 1})
    assert server.count("/items") == 1
    assert clock.sleeps == []


def test_patch_503_without_key_is_sent_once(server, clock, make_client):
    server.always("/items/1", reply(503))
    with pytest.raises(UpstreamError):
        make_client().patch("/items/1", json={"a": 1})
    assert server.count("/items/1") == 1


def test_post_503_with_key_is_retried(server, clock, make_client):
    server.script("/items", reply(503), reply(201, {"id": 1}))
    response = make_client().post("/items", json={"a": 1}, idempotency_key="k2")
    assert response.status_code == 201
    assert [c.headers["Idempotency-Key"] for c in server.calls("/items")] == ["k2", "k2"]


def test_post_declared_idempotent_is_retried(server, clock, make_client):
    server.script("/search", reply(503), reply(200, {"hits": []}))
    make_client().post("/search", json={"q": "x"}, idempotent=True)
    assert server.count("/search") == 2
    assert "Idempotency-Key" not in server.calls("/search")[0].headers


def test_post_with_key_but_no_idempotency_header_is_not_retried(server, clock, make_client):
    """A service without idempotency keys: the key cannot make the write safe."""
    server.always("/items", reply(503))
    client = make_client(settings=ClientSettings(base_url=server.url, idempotency_header=None))
    with pytest.raises(UpstreamError):
        client.post("/items", json={}, idempotency_key="k")
    assert server.count("/items") == 1
    assert "Idempotency-Key" not in server.calls("/items")[0].headers


def test_scope_key_is_generated_once_per_logical_call(server, clock, make_client):
    server.script("/items", reply(503), reply(201), reply(201))
    client = make_client()
    token = idempotency_scope.set(IdempotencyScope("run-42"))
    try:
        client.post("/items", json={})
        client.post("/items", json={})
    finally:
        idempotency_scope.reset(token)
    keys = [c.headers["Idempotency-Key"] for c in server.calls("/items")]
    assert keys == ["run-42-1", "run-42-1", "run-42-2"]


def test_put_and_delete_are_retried(server, clock, make_client):
    server.script("/items/1", reply(503), reply(200), reply(502), reply(204))
    client = make_client()
    client.put("/items/1", json={"a": 1})
    client.delete("/items/1")
    assert [c.method for c in server.calls("/items/1")] == ["PUT", "PUT", "DELETE", "DELETE"]


def test_retries_are_logged_and_counted(server, clock, make_client, caplog, max_jitter):
    server.script("/items", reply(503), reply(502), reply(200))
    counter = [0]
    token = attempt_counter.set(counter)
    try:
        with caplog.at_level("INFO", logger="atom.integrations.http"):
            make_client().get("/items")
    finally:
        attempt_counter.reset(token)
    assert counter == [3]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "fake connection 7: attempt 1 failed (upstream), retrying in 0.50s",
        "fake connection 7: attempt 2 failed (upstream), retrying in 1.00s",
    ]


# -- what is sent ------------------------------------------------------------------------------


def test_request_sends_method_path_params_headers_and_json(server, clock, make_client):
    server.script("/v1/items", reply(200, {}))
    client = make_client(client_kw={"default_headers": {"X-Tenant": "t1"}})

    client.post("/v1/items", params={"q": "a b"}, json={"n": 1}, headers={"X-Extra": "1"},
                idempotency_key="abc")

    sent = server.calls("/v1/items")[0]
    assert sent.method == "POST"
    assert sent.query == {"q": ["a b"]}
    assert sent.json() == {"n": 1}
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["X-Tenant"] == "t1"
    assert sent.headers["X-Extra"] == "1"
    assert sent.headers["Idempotency-Key"] == "abc"
    assert sent.headers["User-Agent"].startswith("ATOM/")


def test_absolute_url_to_another_host_is_refused(server, clock, make_client):
    client = make_client()
    with pytest.raises(ValidationFailed):
        client.get("http://other.invalid/steal")
    assert server.count() == 0


def test_absolute_url_on_the_same_origin_is_allowed(server, clock, make_client):
    server.script("/x", reply(200))
    make_client().get(server.url + "/x")
    assert server.count("/x") == 1


def test_missing_base_url_is_a_validation_error(clock, make_client):
    client = make_client(settings=ClientSettings())
    with pytest.raises(ValidationFailed):
        client.get("/x")


# -- metrics per logical call ------------------------------------------------------------------


def test_one_call_stat_per_logical_call(server, clock, make_client, recorder):
    server.script("/items", reply(503), reply(200, {}))
    server.always("/gone", reply(500))
    client = make_client()

    client.get("/items")
    with pytest.raises(UpstreamError):
        client.get("/gone", operation="fetch_gone")

    assert len(recorder.stats) == 2
    ok, failed = recorder.stats
    assert (ok.integration, ok.connection_id, ok.operation) == ("fake", 7, "GET /items")
    assert (ok.status, ok.ok, ok.attempts, ok.error_class) == (200, True, 2, None)
    assert ok.latency_ms > 0
    assert (failed.operation, failed.status, failed.ok) == ("fetch_gone", 500, False)
    assert (failed.attempts, failed.error_class) == (4, "upstream")


def test_call_stats_for_timeout_and_rate_limit(server, clock, make_client, recorder):
    server.always("/slow", reply(200, delay=1.0))
    server.always("/limited", reply(429, headers={"Retry-After": "600"}))
    client = make_client(read_timeout=0.2, max_attempts=1)

    with pytest.raises(IntegrationTimeout):
        client.get("/slow")
    with pytest.raises(RateLimited):
        client.get("/limited")

    timeout, limited = recorder.stats
    assert (timeout.status, timeout.ok, timeout.error_class, timeout.attempts) == (
        None, False, "timeout", 1)
    assert (limited.status, limited.error_class, limited.attempts) == (429, "rate_limited", 1)


# -- per-connection overrides ------------------------------------------------------------------


def test_base_url_override_with_a_path_prefix(server, clock, make_client):
    server.script("/api/v3/users", reply(200, []))
    make_client(base_url=server.url + "/api/v3/").get("users")
    assert server.count("/api/v3/users") == 1


def test_max_attempts_override(server, clock, make_client):
    server.always("/items", reply(500))
    with pytest.raises(UpstreamError):
        make_client(max_attempts=2).get("/items")
    assert server.count("/items") == 2


def test_max_attempts_one_means_no_retry(server, clock, make_client):
    server.always("/items", reply(500))
    with pytest.raises(UpstreamError):
        make_client(max_attempts=1).get("/items")
    assert server.count("/items") == 1
    assert clock.sleeps == []


def test_read_timeout_override(server, clock, make_client):
    server.always("/slow", reply(200, {"ok": True}, delay=0.4))
    assert make_client(read_timeout=2.0).get("/slow").json() == {"ok": True}
    with pytest.raises(IntegrationTimeout):
        make_client(read_timeout=0.1, max_attempts=1).get("/slow")


def test_timeouts_are_always_passed(server, clock, make_client, monkeypatch):
    server.always("/x", reply(200))
    client = make_client(connect_timeout=1.5, read_timeout=2.5)
    seen = []
    original = client.session.request

    def spy(*args, **kwargs):
        seen.append(kwargs.get("timeout"))
        return original(*args, **kwargs)

    monkeypatch.setattr(client.session, "request", spy)
    client.get("/x")
    assert seen == [(1.5, 2.5)]


def test_rate_limit_override(server, clock, make_client):
    server.always("/x", reply(200))
    client = make_client(rate_per_second=2.0, rate_burst=1)
    for _ in range(3):
        client.get("/x")
    assert clock.sleeps == pytest.approx([0.5, 0.5])


def test_with_overrides_ignores_none():
    base = ClientSettings(base_url="http://a", max_attempts=3)
    assert base.with_overrides(max_attempts=None, read_timeout=1.0) == ClientSettings(
        base_url="http://a", max_attempts=3, read_timeout=1.0)


# -- header parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), (None, None), ("", None), ("soon", None),
])
def test_parse_retry_after_delta_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after(future) == pytest.approx(30, abs=2)
    assert parse_retry_after(past) == 0.0


NOW = 1_700_000_000.0


@pytest.mark.parametrize(("value", "expected"), [
    (str(int(NOW + 30)), 30.0),  # epoch seconds
    (str(int((NOW + 30) * 1000)), 30.0),  # epoch milliseconds
    ("30", 30.0),  # delta seconds
    ("0.5", 0.5),
    ("2023-11-14T22:13:50Z", 30.0),  # ISO-8601, UTC (NOW is 22:13:20Z)
    ("2023-11-14T23:13:50+01:00", 30.0),  # ISO-8601 with an offset
    (str(int(NOW - 100)), 0.0),  # already past
    ("", None),
    (None, None),
    ("tomorrow", None),
])
def test_parse_reset(value, expected):
    got = parse_reset(value, now=NOW)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_default_operation_names_do_not_carry_record_ids():
    from atom.integrations.http import _ID_SEGMENT

    def label(path):
        return _ID_SEGMENT.sub("/:id", path)

    assert label("/rest/api/3/issue/ABC-123") == "/rest/api/3/issue/:id"
    assert label("/repos/o/r/issues/42/comments") == "/repos/o/r/issues/:id/comments"
    assert label("/crm/v3/objects/contacts/901") == "/crm/v3/objects/contacts/:id"
    assert label("/api/chat.postMessage") == "/api/chat.postMessage"


# -- same origin (issue 7, item 2) -------------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    "HTTP://{other}/",
    "Http://{other}/x",
    " http://{other}/",
    "\thttp://{other}/x\n",
    "//{other}/x",
    "\\\\{other}/x",
    "/\\{other}/x",
    "http://{base}@{other}/",
    "http://user:pw@{other}/x",
    "https://{base}/",  # another scheme is another origin
])
def test_an_absolute_url_to_another_origin_is_refused_in_any_spelling(
        server, other, clock, make_client, spelling):
    base = f"127.0.0.1:{server.port}"
    target = f"127.0.0.1:{other.port}"
    url = spelling.format(base=base, other=target)
    with pytest.raises(ValidationFailed) as info:
        make_client().get(url)
    assert (target if "{other}" in spelling else base) in info.value.message
    assert other.count() == 0
    assert server.count() == 0


@pytest.mark.parametrize("spelling", [
    "HTTP://{base}/x",
    " http://{base}/x ",
    "http://someone@{base}/x",
])
def test_an_absolute_url_on_the_same_origin_is_allowed_in_any_spelling(
        server, clock, make_client, spelling):
    server.always("/x", reply(200))
    make_client().get(spelling.format(base=f"127.0.0.1:{server.port}"))
    assert server.count("/x") == 1


@pytest.mark.parametrize(("a", "b", "same"), [
    ("http://Example.COM/a", "http://example.com:80/b", True),
    ("https://example.com", "https://example.com:443/", True),
    ("https://example.com", "http://example.com", False),
    ("http://example.com:8080", "http://example.com", False),
    ("http://user:pw@example.com/", "http://example.com/", True),
    ("http://BÜCHER.example/", "http://xn--bcher-kva.example/", True),
    ("  http://example.com/ ", "http://example.com", True),
    ("http://example.com\\@evil.example/", "http://example.com", True),  # where urllib3 connects
    ("http://evil.example\\.example.com/", "http://example.com", False),
    ("http://[::1]:80/", "http://[::1]/", True),
])
def test_origins_are_compared_after_normalising(a, b, same):
    assert (http_mod.origin(a) == http_mod.origin(b)) is same


# -- redirects ---------------------------------------------------------------------------------


def test_a_same_origin_redirect_keeps_the_credentials(server, clock, make_client):
    from atom.integrations import auth as auth_mod

    server.script("/start", reply(302, headers={"Location": "/next"}))
    server.always("/next", reply(200, {"ok": True}))
    response = make_client(auth=auth_mod.bearer("tok-1")).get("/start")
    assert response.json() == {"ok": True}
    assert server.calls("/next")[0].headers["Authorization"] == "Bearer tok-1"
    assert [r.status_code for r in response.history] == [302]


def _auths():
    from atom.integrations import auth as auth_mod

    return {
        "bearer": auth_mod.bearer("tok-secret-1"),
        "api_key": auth_mod.HeaderAuth("X-Api-Key", "key-secret-2"),
        "query": auth_mod.QueryAuth({"key": "key-secret-3", "token": "tok-secret-4"}),
    }


@pytest.mark.parametrize("kind", ["bearer", "api_key", "query"])
def test_a_redirect_to_another_origin_drops_every_credential(server, other, clock, make_client,
                                                               kind):
    # A service that echoes the query-string credentials into the Location, as some do.
    echoed = "key=key-secret-3&token=tok-secret-4&" if kind == "query" else ""
    location = f"{other.url}/landing?{echoed}page=2"
    server.script("/start", reply(302, headers={"Location": location,
                                                "Set-Cookie": "sid=cookie-secret-5; Path=/"}))
    client = make_client(auth=_auths()[kind])

    response = client.get("/start", headers={"Cookie": "c=cookie-secret-6"})

    assert response.json() == {"other": True}
    first = server.calls("/start")[0]
    assert "secret" in str(dict(first.headers)) + str(first.query)  # the base got them
    (landed,) = other.calls("/landing")
    assert landed.query == {"page": ["2"]}
    sent = " ".join(f"{k}: {v}" for k, v in landed.headers.items())
    assert "secret" not in sent
    for name in ("Authorization", "X-Api-Key", "Cookie"):
        assert name not in landed.headers


def test_the_session_never_keeps_cookies(server, clock, make_client):
    server.script("/login", reply(200, headers={"Set-Cookie": "sid=abc; Path=/"}))
    server.always("/me", reply(200))
    client = make_client()
    client.get("/login")
    client.get("/me")
    assert "Cookie" not in server.calls("/me")[0].headers
    assert len(client.session.cookies) == 0


def test_a_redirect_away_and_back_does_not_restore_the_credentials(server, other, clock,
                                                                     make_client):
    from atom.integrations import auth as auth_mod

    server.script("/start", reply(302, headers={"Location": f"{other.url}/bounce"}))
    other.script("/bounce", reply(302, headers={"Location": f"{server.url}/back"}))
    server.always("/back", reply(200))
    make_client(auth=auth_mod.bearer("tok-1")).get("/start")
    assert "Authorization" not in other.calls("/bounce")[0].headers
    assert "Authorization" not in server.calls("/back")[0].headers


def test_redirects_stop_after_five_hops(server, clock, make_client):
    server.always("/loop", reply(302, headers={"Location": "/loop"}))
    with pytest.raises(UpstreamError) as info:
        make_client().get("/loop")
    assert "redirect" in info.value.message
    assert info.value.permanent is True
    assert server.count("/loop") == 6  # the request and five hops
    assert clock.sleeps == []


def test_a_post_returns_the_redirect_without_following_it(server, clock, make_client):
    server.script("/items", reply(303, headers={"Location": "/items/1"}))
    response = make_client().post("/items", json={"a": 1})
    assert response.status_code == 303
    assert server.count("/items/1") == 0


def test_a_303_turns_into_a_get_without_the_body(server, clock, make_client):
    server.script("/search", reply(303, headers={"Location": "/results"}))
    server.always("/results", reply(200, {"hits": []}))
    make_client().request("GET", "/search", json={"q": "x"})
    (landed,) = server.calls("/results")
    assert landed.method == "GET"
    assert landed.body == b""
