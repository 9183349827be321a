"""How Webex's failures reach the user, with Webex faked at the HTTP seam (``responses``):
status classes, ``Retry-After`` on 429 and 423, retries for reads only, the parameter a 400
names, and secrets never echoed back.

Response codes and error bodies: https://developer.webex.com/docs/basics ("API Errors":
``{"message", "errors": [{"description"}], "trackingId"}``).
"""
from __future__ import annotations

import pytest
import requests

from tests.plugins.webex.conftest import WEBEX
from tests.plugins.webex.conftest import WEBHOOK_SECRET
from tests.plugins.webex.fake_webex import TOKEN

ROOM = "Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0"
MESSAGE = {"room_id": ROOM, "text": "Deploy finished"}


def webex_error(message: str) -> dict:
    return {"message": message, "errors": [{"description": message}],
            "trackingId": "ROUTER_5F3C9A1E-7B2D-4C8E-9F10-0123456789AB"}


@pytest.mark.parametrize("status, http, error_class", [
    (400, 422, "validation"),
    (401, 502, "auth"),
    (403, 502, "auth"),
    (404, 422, "validation"),
    (409, 422, "validation"),
    (410, 502, "upstream"),
    (423, 502, "upstream"),
    (429, 429, "rate_limited"),
    (500, 502, "upstream"),
    (503, 502, "upstream"),
])
def test_each_status_maps_to_its_error_class(fake_http, webex_connection, run_action, status,
                                             http, error_class):
    fake_http.post(f"{WEBEX}/messages", status=status, json=webex_error("Something went wrong."))
    r = run_action(webex_connection({"max_attempts": 1}), "send_message", MESSAGE)
    body = r.get_json()
    assert (r.status_code, body["code"]) == (http, error_class), body
    assert body["message"].startswith(f"Webex POST /v1/messages: {status}")
    assert "trackingId ROUTER_5F3C9A1E" in body["message"]


def test_a_400_naming_a_parameter_points_at_the_input_field(fake_http, webex_connection,
                                                            run_action):
    fake_http.post(f"{WEBEX}/messages", status=400,
                   json=webex_error("Invalid roomId: the room does not exist or is archived."))
    r = run_action(webex_connection(), "send_message", MESSAGE)
    assert r.status_code == 422
    assert r.get_json()["errors"] == {
        "room_id": ["Invalid roomId: the room does not exist or is archived."]}


def test_a_400_naming_nothing_is_about_the_request(fake_http, webex_connection, run_action):
    fake_http.post(f"{WEBEX}/meetings", status=400, json=webex_error("Meeting quota exceeded."))
    r = run_action(webex_connection(), "create_meeting", {
        "title": "x", "start": "2030-11-01T20:00:00Z", "end": "2030-11-01T21:00:00Z"})
    assert r.get_json()["errors"] == {"_request": ["Meeting quota exceeded."]}


def test_429_carries_retry_after_to_the_caller(fake_http, webex_connection, run_action):
    fake_http.post(f"{WEBEX}/messages", status=429, headers={"Retry-After": "30"},
                   json=webex_error("Too Many Requests"))
    r = run_action(webex_connection({"max_attempts": 1}), "send_message", MESSAGE)
    assert r.status_code == 429
    assert r.get_json()["retry_after"] == 30
    assert r.headers["Retry-After"] == "30"


def test_a_429_is_retried_after_the_wait_webex_asked_for(fake_http, webex_connection,
                                                         run_action, sleeps):
    fake_http.post(f"{WEBEX}/messages", status=429, headers={"Retry-After": "5"},
                   json=webex_error("Too Many Requests"))
    fake_http.post(f"{WEBEX}/messages", json={"id": "Y2lzY29zcGFyazovL3VzL01FU1NBR0Uv",
                                              "roomId": ROOM, "roomType": "group"})
    r = run_action(webex_connection({"max_attempts": 3}), "send_message", MESSAGE)
    assert r.status_code == 200
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 5


def test_a_locked_resource_is_retried_after_its_wait_for_a_read(fake_http, webex_connection,
                                                                 run_action, sleeps):
    fake_http.get(f"{WEBEX}/rooms", status=423, headers={"Retry-After": "2"},
                  json=webex_error("Resource locked"))
    fake_http.get(f"{WEBEX}/rooms", json={"items": []})
    r = run_action(webex_connection({"max_attempts": 3}), "list_rooms", {})
    assert r.status_code == 200 and len(fake_http.calls) == 2
    assert sum(sleeps) >= 2


def test_a_server_error_of_a_read_is_retried(fake_http, webex_connection, run_action, sleeps):
    fake_http.get(f"{WEBEX}/rooms", status=502, body="Bad Gateway")
    fake_http.get(f"{WEBEX}/rooms", json={"items": []})
    r = run_action(webex_connection({"max_attempts": 3}), "list_rooms", {})
    assert r.status_code == 200 and len(fake_http.calls) == 2


def test_a_message_is_not_posted_twice_after_a_server_error(fake_http, webex_connection,
                                                            run_action, sleeps):
    fake_http.post(f"{WEBEX}/messages", status=503, json=webex_error("Service Unavailable"))
    r = run_action(webex_connection({"max_attempts": 3}), "send_message", MESSAGE)
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(fake_http.calls) == 1


def test_a_read_that_times_out_is_retried(fake_http, webex_connection, run_action, sleeps):
    fake_http.get(f"{WEBEX}/rooms", body=requests.ReadTimeout("slow"))
    fake_http.get(f"{WEBEX}/rooms", json={"items": []})
    r = run_action(webex_connection({"max_attempts": 2}), "list_rooms", {})
    assert r.status_code == 200 and len(fake_http.calls) == 2


def test_a_health_check_that_times_out_is_a_timeout(fake_http, webex_connection,
                                                    check_connection, sleeps):
    fake_http.get(f"{WEBEX}/people/me", body=requests.ReadTimeout("slow"))
    result = check_connection(webex_connection({"max_attempts": 1})).get_json()
    assert (result["ok"], result["error_class"]) == (False, "timeout")


def test_a_permanent_error_is_not_retried(fake_http, webex_connection, run_action, sleeps):
    fake_http.get(f"{WEBEX}/rooms", status=401, json=webex_error(
        "The request requires a valid access token set in the Authorization request header."))
    r = run_action(webex_connection({"max_attempts": 3}), "list_rooms", {})
    assert r.get_json()["code"] == "auth"
    assert len(fake_http.calls) == 1 and sleeps == []


def test_a_token_echoed_in_an_error_body_is_redacted(fake_http, webex_connection, run_action):
    fake_http.post(f"{WEBEX}/messages", status=400,
                   json=webex_error(f"Bad token {TOKEN} for roomId"))
    r = run_action(webex_connection(), "send_message", MESSAGE)
    assert r.status_code == 422
    assert TOKEN not in r.get_data(as_text=True)


def test_the_webhook_secret_is_never_echoed_back(fake_http, webex_connection, run_action):
    fake_http.post(f"{WEBEX}/webhooks", json={
        "id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0sv", "name": "ATOM", "resource": "messages",
        "event": "created", "targetUrl": "https://atom.example.com/hooks/webex/1",
        "secret": WEBHOOK_SECRET, "status": "active", "created": "2024-01-01T00:00:00.000Z"})
    r = run_action(webex_connection(), "create_webhook", {
        "target_url": "https://atom.example.com/hooks/webex/1", "resource": "messages",
        "event": "created"})
    assert r.status_code == 200, r.get_json()
    assert WEBHOOK_SECRET not in r.get_data(as_text=True)


def test_the_base_url_setting_points_the_plugin_elsewhere(fake_http, webex_connection,
                                                          run_action):
    fake_http.get("https://api-usgov.webex.com/v1/rooms", json={"items": []})
    conn = webex_connection({"base_url": "https://api-usgov.webex.com/v1"})
    assert run_action(conn, "list_rooms", {}).status_code == 200
    assert len(fake_http.calls) == 1
