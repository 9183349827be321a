"""Zendesk's errors as ATOM's classes (the field named), 429 with Retry-After, the rate-limit
headers, and dropped connections (faked at the HTTP seam with ``responses``)."""
from __future__ import annotations

import pytest
import requests
import responses

from tests.plugins.zendesk.fake import API_TOKEN
from tests.plugins.zendesk.fake import EMAIL

BASE = "https://acme.zendesk.com/api/v2/"


def test_record_invalid_names_our_field(zendesk, connect, run_action):
    zendesk.push(422, {"error": "RecordInvalid", "description": "Record validation errors",
                       "details": {"requester": [{"description": "Requester: Email is not "
                                                                "properly formatted",
                                                  "error": "InvalidValue"}]}})
    r = run_action(connect(), "create_ticket", {"subject": "x", "body": "y",
                                                "requester_email": "a@b.co"})
    body = r.get_json()
    assert r.status_code == 422, body
    assert body["errors"] == {"requester_email": ["Requester: Email is not properly formatted"]}


def test_a_closed_ticket_refuses_an_update_naming_status(zendesk, connect, run_action):
    tid = zendesk.add_ticket("done", status="closed")
    r = run_action(connect(), "update_ticket", {"ticket_id": tid, "priority": "high"})
    assert r.status_code == 422 and "status" in r.get_json()["errors"], r.get_json()


def test_an_unknown_ticket_names_ticket_id(zendesk, connect, run_action):
    r = run_action(connect(), "get_ticket", {"ticket_id": 999999})
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["errors"] == {"ticket_id": ["not found"]}


def test_429_waits_retry_after_and_retries(zendesk, connect, run_action, sleeps):
    tid = zendesk.add_ticket("x")
    zendesk.push(429, {"error": "APIRateLimitExceeded"}, {"Retry-After": "7"})
    r = run_action(connect(), "get_ticket", {"ticket_id": tid})
    assert r.status_code == 200, r.get_json()
    assert len(zendesk.calls("GET", f"/api/v2/tickets/{tid}.json")) == 2
    assert 7 <= sleeps[0] <= 8


def test_a_long_retry_after_fails_fast_as_rate_limited(zendesk, connect, run_action):
    zendesk.push(429, {"error": "APIRateLimitExceeded"}, {"Retry-After": "3600"})
    r = run_action(connect(), "get_ticket", {"ticket_id": 1})
    assert r.status_code == 429, r.get_json()
    assert r.get_json()["code"] == "rate_limited"


def test_rate_limit_headers_feed_the_limiter(live, zendesk, connect):
    integ = live(connect())
    resp = requests.Response()
    resp.headers.update({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "42",
                         "ratelimit-remaining": "90", "ratelimit-reset": "17",
                         "zendesk-ratelimit-tickets-index": "total=100; remaining=3; resets=41"})
    assert integ.parse_rate_limit(resp) == (3, 41.0)
    resp.headers = requests.structures.CaseInsensitiveDict({"X-Rate-Limit-Remaining": "0",
                                                            "ratelimit-reset": "12"})
    assert integ.parse_rate_limit(resp) == (0, 12.0)


@pytest.fixture
def seam(create_connection):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps, create_connection("zendesk", {"subdomain": "acme", "max_attempts": 3},
                                      {"email": EMAIL, "api_token": API_TOKEN})


def test_the_subdomain_is_the_destination(seam, run_action):
    rsps, conn = seam
    rsps.add("GET", BASE + "tickets/5.json", json={"ticket": {"id": 5, "subject": "s"}})
    assert run_action(conn, "get_ticket", {"ticket_id": 5}).get_json()["output"]["id"] == 5


def test_a_dropped_connection_on_a_read_is_retried(seam, run_action, sleeps):
    rsps, conn = seam
    rsps.add("GET", BASE + "tickets/5.json", body=requests.ConnectionError("reset"))
    rsps.add("GET", BASE + "tickets/5.json", json={"ticket": {"id": 5}})
    assert run_action(conn, "get_ticket", {"ticket_id": 5}).status_code == 200


def test_a_read_timeout_on_a_comment_is_not_retried(seam, run_action):
    rsps, conn = seam
    rsps.add("PUT", BASE + "tickets/5.json", body=requests.ReadTimeout("slow"))
    r = run_action(conn, "add_comment", {"ticket_id": 5, "body": "once"})
    assert r.status_code == 504, r.get_json()
    assert len([c for c in rsps.calls if c.request.method == "PUT"]) == 1


def test_403_is_auth(seam, run_action):
    rsps, conn = seam
    rsps.add("GET", BASE + "tickets/5.json", status=403,
             json={"error": "Forbidden", "description": "You do not have access to this page."})
    r = run_action(conn, "get_ticket", {"ticket_id": 5})
    assert r.get_json()["code"] == "auth" and "Forbidden" in r.get_json()["message"]

