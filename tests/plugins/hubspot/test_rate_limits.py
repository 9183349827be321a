"""HubSpot's 429s and X-HubSpot-RateLimit-* headers, seen through the REST API."""
from __future__ import annotations

import pytest
import requests

from atom.integrations.base import ConnectionInfo
from plugins.hubspot.integration import DAILY_LIMIT_WAIT
from plugins.hubspot.integration import HubSpotIntegration
from plugins.hubspot.manifest import MANIFEST

MAX_SERVER_WAIT = 5.0


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    # A short server-wait ceiling, so "wait longer than this" cases never sleep.
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    return app_factory(HTTP_MAX_SERVER_WAIT_S=MAX_SERVER_WAIT)


def limited(policy: str = "TEN_SECONDLY_ROLLING", interval_ms: int = 10000,
            **headers: str) -> tuple[dict, dict]:
    body = {"status": "error", "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT", "correlationId": "4a5b6c7d-0000-1111-2222-333344445555",
            "policyName": policy, "groupName": "publicapi:pat-na1-62515"}
    hdrs = {"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval_ms)}
    hdrs.update({k.replace("_", "-"): v for k, v in headers.items()})
    return body, hdrs


def test_a_ten_secondly_429_waits_the_interval(client, keys, connect, hubspot):
    hubspot.push(429, *limited())
    conn = connect(max_attempts=1)
    r = client.post(f"/api/v2/connections/{conn['id']}/actions/list_deals", headers=keys["editor"],
                    json={})
    assert r.status_code == 429
    body = r.get_json()
    assert body["code"] == "rate_limited"
    assert body["upstream_status"] == 429
    assert body["retry_after"] == 10.0
    assert "ten_secondly_rolling limit" in body["message"]
    assert r.headers["Retry-After"] == "10"
    assert len(hubspot.requests) == 1


def test_rate_limited_after_the_retries_run_out(connect, run, hubspot):
    for _ in range(2):
        hubspot.push(429, *limited(interval_ms=100))
    status, body = run(connect(max_attempts=2), "create_contact", {"email": "ada@example.com"})
    assert status == 429
    assert body["code"] == "rate_limited"
    assert body["retry_after"] == pytest.approx(0.1)
    # A 429 was not processed, so even a create is retried.
    assert len(hubspot.requests) == 2
    assert hubspot.records["contacts"] == {}


def test_a_429_then_success_is_retried_transparently(connect, run, hubspot):
    hubspot.push(429, *limited(interval_ms=100))
    status, body = run(connect(max_attempts=2), "create_contact", {"email": "ada@example.com"})
    assert status == 200, body
    assert body["attempts"] == 2
    assert len(hubspot.records["contacts"]) == 1


def test_retry_after_takes_precedence_over_the_interval(connect, run, hubspot):
    body, headers = limited(interval_ms=10000)
    hubspot.push(429, body, {**headers, "Retry-After": "3"})
    status, out = run(connect(), "list_deals", {})
    assert (status, out["retry_after"]) == (429, 3.0)


def test_a_short_retry_after_is_not_stretched_to_the_window(connect, run, hubspot):
    body, headers = limited(interval_ms=10000)
    hubspot.push(429, body, {**headers, "Retry-After": "0.05"})
    status, out = run(connect(max_attempts=2), "list_deals", {})
    assert status == 200, out
    assert out["attempts"] == 2
    assert out["duration_ms"] < MAX_SERVER_WAIT * 1000


def test_the_search_secondly_limit_waits_one_second(connect, run, hubspot):
    body, headers = limited("SECONDLY")
    del headers["X-HubSpot-RateLimit-Interval-Milliseconds"]
    hubspot.push(429, body, headers)
    status, out = run(connect(), "search_contacts", {"query": "ada"})
    assert (status, out["code"], out["retry_after"]) == (429, "rate_limited", 1.0)


def test_an_exhausted_daily_quota_gives_up_at_once(connect, run, hubspot):
    hubspot.push(429, *limited("DAILY", X_HubSpot_RateLimit_Daily_Remaining="0"))
    conn = connect(max_attempts=4)
    status, body = run(conn, "list_deals", {})
    assert status == 429
    assert body["code"] == "rate_limited"
    assert body["retry_after"] == DAILY_LIMIT_WAIT
    assert len(hubspot.requests) == 1
    # The connection's bucket is paused: the next call is refused without a request.
    status, body = run(conn, "get_contact", {"contact_id": "101"})
    assert (status, body["code"]) == (429, "rate_limited")
    assert len(hubspot.requests) == 1


def test_remaining_zero_on_a_success_pauses_the_connection(connect, run, hubspot):
    hubspot.push(200, {"results": []}, {"X-HubSpot-RateLimit-Remaining": "0",
                                        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    conn = connect()
    status, body = run(conn, "list_deals", {})
    assert (status, body["output"]["count"]) == (200, 0)
    status, body = run(conn, "list_deals", {})
    assert status == 429
    assert body["code"] == "rate_limited"
    assert 5.0 < body["retry_after"] <= 10.0
    assert len(hubspot.requests) == 1


def _response(**headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return response


@pytest.mark.parametrize("headers, expected", [
    ({}, (None, None)),
    ({"X_HubSpot_RateLimit_Remaining": "42", "X_HubSpot_RateLimit_Interval_Milliseconds": "10000"},
     (42, 10.0)),
    ({"X_HubSpot_RateLimit_Remaining": "42", "X_HubSpot_RateLimit_Interval_Milliseconds": "10000",
      "X_HubSpot_RateLimit_Secondly_Remaining": "3"}, (3, 1.0)),
    ({"X_HubSpot_RateLimit_Secondly_Remaining": "0"}, (0, 1.0)),
    ({"X_HubSpot_RateLimit_Remaining": "oops"}, (None, None)),
])
def test_parse_rate_limit_reads_the_tighter_window(headers, expected):
    integ = HubSpotIntegration(MANIFEST, ConnectionInfo(None, "t"))
    assert integ.parse_rate_limit(_response(**headers)) == expected
