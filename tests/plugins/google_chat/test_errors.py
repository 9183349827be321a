"""How Google Chat's failures reach the user: Google's ``{"error": {code, message, status}}``
bodies by status, field violations named by input field, 429 and 5xx, and retries."""
from __future__ import annotations

import json

import pytest

from tests.plugins.google_chat.conftest import ACCESS_TOKEN
from tests.plugins.google_chat.conftest import CHAT
from tests.plugins.google_chat.conftest import MESSAGE
from tests.plugins.google_chat.conftest import SPACE
from tests.plugins.google_chat.conftest import recorded

MESSAGES = f"{CHAT}/v1/{SPACE}/messages"
SEND = {"space": SPACE, "text": "Deploy 42 is live"}


@pytest.mark.parametrize("status, fixture, code", [
    (401, "unauthenticated", "auth"),
    (403, "permission_denied", "auth"),
    (429, "resource_exhausted", "rate_limited"),
    (404, "not_found", "validation"),
    (400, "invalid_argument", "validation"),
])
def test_an_error_body_maps_to_its_error_class(fake_chat, chat_connection, run_action, status,
                                                fixture, code):
    body = recorded(fixture)
    fake_chat.post(MESSAGES, status=status, json=body)
    r = run_action(chat_connection({"max_attempts": 1}), "send_message", SEND)

    result = r.get_json()
    assert result["code"] == code
    assert result["message"] == (f"Google Chat POST /v1/{SPACE}/messages: "
                                 f"{body['error']['status']}: {body['error']['message']}")


def test_field_violations_name_the_input_fields(fake_chat, chat_connection, run_action):
    fake_chat.post(MESSAGES, status=400, json=recorded("invalid_argument"))
    r = run_action(chat_connection(), "send_message",
                   {**SEND, "cards_v2": [{"cardId": "c", "card": {"header": {"titel": "x"}}}]})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {
        "cards_v2[0].card.header": ['Invalid JSON payload received. Unknown name "titel".'],
        "text": ["Text exceeds the maximum length."]}


def test_a_bad_request_without_violations_names_the_request(fake_chat, chat_connection,
                                                            run_action):
    fake_chat.get(MESSAGES, status=400, json={"error": {
        "code": 400, "message": "Invalid filter", "status": "INVALID_ARGUMENT"}})
    r = run_action(chat_connection(), "list_messages", {"space": SPACE, "max_items": 1})
    assert r.get_json()["errors"] == {"_request": ["INVALID_ARGUMENT"]}


@pytest.mark.parametrize("action, body, method, url, field", [
    ("send_message", SEND, "POST", MESSAGES, "space"),
    ("list_messages", {"space": SPACE}, "GET", MESSAGES, "space"),
    ("get_message", {"name": MESSAGE}, "GET", f"{CHAT}/v1/{MESSAGE}", "name"),
    ("update_message", {"name": MESSAGE, "text": "x"}, "PATCH", f"{CHAT}/v1/{MESSAGE}", "name"),
])
def test_not_found_names_the_space_or_the_message(fake_chat, chat_connection, run_action,
                                                  action, body, method, url, field):
    fake_chat.add(method, url, status=404, json=recorded("not_found"))
    r = run_action(chat_connection(), action, body)
    assert r.status_code == 422
    assert r.get_json()["errors"] == {field: ["NOT_FOUND"]}


def test_a_taken_custom_message_id_names_it(fake_chat, chat_connection, run_action):
    fake_chat.post(MESSAGES, status=409, json={"error": {
        "code": 409, "message": "Message with ID client-deploy-42 already exists.",
        "status": "ALREADY_EXISTS"}})
    r = run_action(chat_connection(), "send_message", {**SEND, "message_id": "client-deploy-42"})
    assert r.get_json()["errors"] == {"message_id": ["ALREADY_EXISTS"]}


def test_a_quota_403_is_a_rate_limit(fake_chat, chat_connection, run_action):
    fake_chat.get(f"{CHAT}/v1/spaces", status=403, json={"error": {
        "code": 403, "message": "Rate Limit Exceeded", "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "RATE_LIMIT_EXCEEDED"}]}})
    r = run_action(chat_connection({"max_attempts": 1}), "list_spaces", {})
    assert (r.status_code, r.get_json()["code"]) == (429, "rate_limited")


def test_a_failed_health_check_marks_the_connection_for_reauthorisation(
        fake_chat, chat_connection, check_connection, client, keys):
    fake_chat.get(f"{CHAT}/v1/spaces", status=401, json=recorded("unauthenticated"))
    conn = chat_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert len(fake_chat.calls) == 1
    conn = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert conn["status"] == "needs_reauth"


def test_a_401_refreshes_the_token_once_and_retries(fake_chat, chat_connection, run_action):
    fake_chat.get(f"{CHAT}/v1/spaces", status=401, json=recorded("unauthenticated"))
    fake_chat.get(f"{CHAT}/v1/spaces", json=recorded("spaces_page2"))
    fake_chat.post("https://oauth2.googleapis.com/token",
                   json={"access_token": "ya29.refreshed-token-0123456789", "expires_in": 3599,
                         "token_type": "Bearer"})
    conn = chat_connection(refresh_token="1//0refresh-token-0123456789")
    r = run_action(conn, "list_spaces", {})
    assert r.status_code == 200, r.get_json()
    spaces_calls = [c for c in fake_chat.calls if "/v1/spaces" in c.request.url]
    assert spaces_calls[-1].request.headers["Authorization"] == (
        "Bearer ya29.refreshed-token-0123456789")


def test_a_healthy_connection_passes_the_check(fake_chat, chat_connection, check_connection):
    fake_chat.get(f"{CHAT}/v1/spaces", json=recorded("spaces_page2"))
    assert check_connection(chat_connection()).get_json()["ok"] is True
    assert fake_chat.calls[0].request.url.endswith("/v1/spaces?pageSize=1")


def test_a_base_url_that_is_not_chat_fails_the_health_check(fake_chat, chat_connection,
                                                            check_connection):
    fake_chat.get("https://intranet.example.com/v1/spaces", json={"hello": "world",
                                                                  "spaces": "none"})
    result = check_connection(chat_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_a_429_is_retried_after_the_wait_google_asked_for(fake_chat, chat_connection,
                                                          run_action, sleeps):
    fake_chat.post(MESSAGES, status=429, json=recorded("resource_exhausted"),
                   headers={"Retry-After": "7"})
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    r = run_action(chat_connection({"max_attempts": 3}), "send_message", SEND)

    assert r.status_code == 200
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 7
    first, second = (c.request.url.split("requestId=")[1][:32] for c in fake_chat.calls)
    assert first == second  # Chat returns the first message for the repeated request id


def test_a_429_without_retry_after_backs_off(fake_chat, chat_connection, run_action, sleeps):
    fake_chat.get(f"{CHAT}/v1/spaces", status=429, json=recorded("resource_exhausted"))
    r = run_action(chat_connection({"max_attempts": 1}), "list_spaces", {})
    assert (r.status_code, r.get_json()["code"]) == (429, "rate_limited")
    assert "retry_after" not in r.get_json()


def test_a_message_post_is_retried_after_a_server_error(fake_chat, chat_connection, run_action,
                                                        sleeps):
    # The requestId makes the retry safe: Chat answers it with the message it created.
    fake_chat.post(MESSAGES, status=503, json={"error": {
        "code": 503, "message": "The service is currently unavailable.",
        "status": "UNAVAILABLE"}})
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    r = run_action(chat_connection({"max_attempts": 3}), "send_message", SEND)
    assert r.status_code == 200
    assert len(fake_chat.calls) == 2


def test_a_read_is_retried_after_a_server_error(fake_chat, chat_connection, run_action, sleeps):
    fake_chat.get(f"{CHAT}/v1/{MESSAGE}", status=500, json={"error": {
        "code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}})
    fake_chat.get(f"{CHAT}/v1/{MESSAGE}", json=recorded("message_created"))
    r = run_action(chat_connection({"max_attempts": 3}), "get_message", {"name": MESSAGE})
    assert r.status_code == 200
    assert len(fake_chat.calls) == 2


def test_a_permanent_error_is_not_retried(fake_chat, chat_connection, run_action, sleeps):
    fake_chat.get(f"{CHAT}/v1/spaces", status=403, json=recorded("permission_denied"))
    r = run_action(chat_connection({"max_attempts": 3}), "list_spaces", {})
    assert r.get_json()["code"] == "auth"
    assert len(fake_chat.calls) == 1
    assert sleeps == []


def test_a_token_echoed_in_an_error_is_redacted(fake_chat, chat_connection, run_action):
    fake_chat.post(MESSAGES, status=400, json={"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": f"Bad header: Authorization: Bearer {ACCESS_TOKEN}"}})
    r = run_action(chat_connection(), "send_message", SEND)
    body = json.dumps(r.get_json())
    assert r.status_code == 422
    assert ACCESS_TOKEN not in body
    assert "[REDACTED]" in body
