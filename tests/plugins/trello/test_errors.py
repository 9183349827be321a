"""How Trello's failures reach the user: plain-text error bodies with 400/401/404, 429s (with
or without Retry-After), 5xx, and which of them are retried."""
from __future__ import annotations

import pytest
import requests

from tests.plugins.trello.conftest import API_KEY
from tests.plugins.trello.conftest import CARD
from tests.plugins.trello.conftest import TODO
from tests.plugins.trello.conftest import TOKEN
from tests.plugins.trello.conftest import TRELLO
from tests.plugins.trello.conftest import recorded

NEW_CARD = {"list_id": TODO, "name": "Standup notes"}


@pytest.mark.parametrize("text", ["invalid key", "invalid token", "expired token",
                                  "unauthorized permission requested"])
def test_a_refused_key_or_token_marks_the_connection_for_reauthorisation(
        fake_trello, trello_connection, check_connection, client, keys, text):
    fake_trello.get(f"{TRELLO}/members/me", status=401, body=text)
    conn = trello_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert result["message"].startswith(f"Trello answered 401: {text}")
    assert len(fake_trello.calls) == 1
    conn = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert conn["status"] == "needs_reauth"


def test_a_healthy_token_passes_the_check(fake_trello, trello_connection, check_connection):
    fake_trello.get(f"{TRELLO}/members/me", json={"id": "4fc78a59a885233f4b349bd9"})
    assert check_connection(trello_connection()).get_json()["ok"] is True
    assert "fields=id" in fake_trello.sent[0]


def test_a_model_the_token_cannot_see_is_an_auth_error_that_says_so(fake_trello,
                                                                    trello_connection,
                                                                    run_action):
    fake_trello.post(f"{TRELLO}/cards/{CARD}/actions/comments", status=401,
                     body="unauthorized card permission requested")
    r = run_action(trello_connection(), "add_comment", {"card_id": CARD, "text": "hi"})
    assert r.get_json()["code"] == "auth"
    assert "cannot access it" in r.get_json()["message"]


@pytest.mark.parametrize("text, field", [
    ("invalid value for idList", "list_id"),
    ("invalid value for due", "due"),
    ("invalid value for pos", "position"),
    ("invalid value for idMembers", "member_ids"),
    ("invalid id", "_request"),
])
def test_a_400_names_the_field_trello_complains_about(fake_trello, trello_connection,
                                                      run_action, text, field):
    fake_trello.post(f"{TRELLO}/cards", status=400, body=text)
    r = run_action(trello_connection(), "create_card", NEW_CARD)

    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert r.get_json()["errors"] == {field: [text]}
    assert r.get_json()["message"] == f"Trello answered 400: {text}"


def test_404_is_a_validation_error_about_the_request(fake_trello, trello_connection, run_action):
    fake_trello.get(f"{TRELLO}/cards/{CARD}", status=404,
                    body="The requested resource was not found.")
    r = run_action(trello_connection({"max_attempts": 3}), "get_card", {"card_id": CARD})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"_request": ["not found",
                                                   "The requested resource was not found."]}
    assert len(fake_trello.calls) == 1


def test_429_carries_retry_after_to_the_caller(fake_trello, trello_connection, run_action):
    fake_trello.post(f"{TRELLO}/cards", status=429, headers={"Retry-After": "3"},
                     json={"error": "API_TOKEN_LIMIT_EXCEEDED",
                           "message": "Rate limit exceeded"})
    r = run_action(trello_connection({"max_attempts": 1}), "create_card", NEW_CARD)

    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert r.get_json()["retry_after"] == 3
    assert r.get_json()["message"] == "Trello answered 429: Rate limit exceeded"


def test_a_429_without_retry_after_waits_out_trellos_ten_second_window(fake_trello,
                                                                       trello_connection,
                                                                       run_action):
    fake_trello.post(f"{TRELLO}/cards", status=429,
                     json={"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"})
    r = run_action(trello_connection({"max_attempts": 1}), "create_card", NEW_CARD)
    assert r.get_json()["retry_after"] == 10


def test_a_429_is_retried_after_the_wait_even_for_a_create(fake_trello, trello_connection,
                                                           run_action, sleeps):
    fake_trello.post(f"{TRELLO}/cards", status=429, headers={"Retry-After": "7"},
                     json={"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"})
    fake_trello.post(f"{TRELLO}/cards", json=recorded("card"))
    r = run_action(trello_connection({"max_attempts": 3}), "create_card", NEW_CARD)

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 7


@pytest.mark.parametrize("action, method, path, body", [
    ("get_card", "GET", f"/cards/{CARD}", {"card_id": CARD}),
    ("move_card", "PUT", f"/cards/{CARD}", {"card_id": CARD, "list_id": TODO}),
])
def test_a_server_error_of_an_idempotent_call_is_retried(fake_trello, trello_connection,
                                                         run_action, sleeps, action, method,
                                                         path, body):
    fake_trello.add(method, f"{TRELLO}{path}", status=502, body="Bad Gateway")
    fake_trello.add(method, f"{TRELLO}{path}", json=recorded("card"))
    r = run_action(trello_connection({"max_attempts": 3}), action, body)
    assert r.status_code == 200, r.get_json()
    assert len(fake_trello.calls) == 2


@pytest.mark.parametrize("action, path, body", [
    ("create_card", "/cards", NEW_CARD),
    ("add_comment", f"/cards/{CARD}/actions/comments", {"card_id": CARD, "text": "hi"}),
])
def test_a_create_is_not_repeated_after_a_server_error(fake_trello, trello_connection,
                                                       run_action, sleeps, action, path, body):
    fake_trello.post(f"{TRELLO}{path}", status=500, body="Internal Server Error")
    r = run_action(trello_connection({"max_attempts": 3}), action, body)
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(fake_trello.calls) == 1


def test_a_timeout_of_a_read_is_reported(fake_trello, trello_connection, run_action, sleeps):
    fake_trello.get(f"{TRELLO}/cards/{CARD}", body=requests.ReadTimeout("slow"))
    r = run_action(trello_connection({"max_attempts": 1}), "get_card", {"card_id": CARD})
    assert (r.status_code, r.get_json()["code"]) == (504, "timeout")


def test_the_key_and_token_echoed_in_an_error_are_redacted(fake_trello, trello_connection,
                                                           run_action):
    fake_trello.post(f"{TRELLO}/cards", status=400,
                     body=f"invalid value for idList (key={API_KEY}&token={TOKEN})")
    r = run_action(trello_connection(), "create_card", NEW_CARD)

    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert API_KEY not in text and TOKEN not in text


def test_a_base_url_that_is_not_trello_fails_the_health_check(fake_trello, trello_connection,
                                                              check_connection):
    fake_trello.get("https://intranet.example.com/members/me", body="<html>Welcome</html>")
    result = check_connection(trello_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")
