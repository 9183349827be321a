"""How monday.com's failures reach the user: errors in HTTP 200 bodies (2025-01 and later, and
the legacy top-level ``error_code``), complexity budgets, 429s and 5xx, and which are retried."""
from __future__ import annotations

import json

import pytest

from tests.plugins.monday.conftest import API
from tests.plugins.monday.conftest import TOKEN
from tests.plugins.monday.fake_monday import BOARD
from tests.plugins.monday.fake_monday import ITEM

NEW_ITEM = {"board_id": BOARD, "name": "New lead"}
ITEM_DATA = {"id": ITEM, "name": "Acme renewal", "state": "active", "url": None,
             "created_at": None, "updated_at": None, "board": {"id": BOARD}, "group": None,
             "column_values": []}


def error(code: str, message: str, **extensions) -> dict:
    """An application error in the format of API versions 2025-01 and later."""
    return {"data": None, "errors": [{"message": message, "locations": [{"line": 2, "column": 3}],
                                      "path": ["create_item"],
                                      "extensions": {"code": code, **extensions}}]}


@pytest.mark.parametrize("body, status, code", [
    (error("UserUnauthorizedException", "User unauthorized to perform action",
           error_data={}, status_code=403), 502, "auth"),
    (error("missingRequiredPermissions", "Missing boards:write", error_data={}), 502, "auth"),
    (error("COMPLEXITY_BUDGET_EXHAUSTED", "Complexity budget exhausted", complexity=6182,
           complexity_budget_left=100, complexity_budget_limit=5000000, retry_in_seconds=60,
           status_code=429), 429, "rate_limited"),
    (error("DAILY_LIMIT_EXCEEDED", "Daily limit exceeded", retry_in_seconds=3600), 429,
     "rate_limited"),
    (error("IP_RATE_LIMIT_EXCEEDED", "IP rate limit exceeded", retry_in_seconds=30), 429,
     "rate_limited"),
    (error("ResourceNotFoundException", "Board not found", error_data={}), 422, "validation"),
    (error("InvalidArgumentException", "Invalid argument", error_data={}), 422, "validation"),
    (error("INTERNAL_SERVER_ERROR", "Internal server error"), 502, "upstream"),
    (error("SomeExceptionAddedNextYear", "Something new"), 502, "upstream"),
    # Versions before 2025-01: the top-level error_code / error_message form.
    ({"error_code": "ColumnValueException", "status_code": 200,
      "error_message": "invalid value, please check our API documentation",
      "error_data": {"column_value": "{\"label\"=>\"Shipped\"}", "column_type": "StatusColumn"}},
     422, "validation"),
    ({"error_code": "ComplexityException", "status_code": 429,
      "error_message": "Complexity budget exhausted, query cost 30001 budget remaining 19986 "
                       "out of 1000000 reset in 3 seconds", "error_data": {},
      "errors": ["Complexity budget exhausted, query cost 30001 budget remaining 19986 out of "
                 "1000000 reset in 3 seconds"], "account_id": 1234567890}, 429, "rate_limited"),
    ({"errors": [{"message": "Parse error on \")\" (RPAREN) at [59, 15]",
                  "locations": [{"line": 59, "column": 15}]}], "account_id": 1234567890},
     422, "validation"),
])
def test_an_error_body_maps_to_its_error_class(http, monday_connection, run_action, body,
                                               status, code):
    http.post(API, json=body)
    r = run_action(monday_connection({"max_attempts": 1}), "create_item", NEW_ITEM)

    assert r.status_code == status, r.get_json()
    assert r.get_json()["code"] == code
    assert r.get_json()["message"].startswith("monday.com CreateItem: ")
    assert len(http.calls) == 1


@pytest.mark.parametrize("body, wait", [
    (error("COMPLEXITY_BUDGET_EXHAUSTED", "Complexity budget exhausted", retry_in_seconds=42),
     42),
    ({"error_code": "ComplexityException", "status_code": 429, "error_data": {},
      "error_message": "Complexity budget exhausted, query cost 30001 budget remaining 19986 "
                       "out of 1000000 reset in 9 seconds"}, 9),
])
def test_a_complexity_budget_error_carries_monday_s_wait(http, monday_connection, run_action,
                                                         body, wait):
    http.post(API, json=body)
    r = run_action(monday_connection({"max_attempts": 1}), "create_item", NEW_ITEM)
    assert r.get_json()["retry_after"] == wait
    assert r.headers["Retry-After"] == str(wait)


def test_an_exhausted_budget_is_retried_after_the_wait_even_for_a_write(
        http, monday_connection, run_action, sleeps):
    # The request was refused before it ran: retrying cannot create the item twice.
    http.post(API, json=error("COMPLEXITY_BUDGET_EXHAUSTED", "Complexity budget exhausted",
                              retry_in_seconds=5))
    http.post(API, json={"data": {"create_item": ITEM_DATA}})
    r = run_action(monday_connection({"max_attempts": 3}), "create_item", NEW_ITEM)

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 5


def test_a_validation_error_names_the_field_and_passes_monday_s_explanation_on(
        http, monday_connection, run_action):
    http.post(API, json={"data": {"change_multiple_column_values": None}, "errors": [{
        "message": "This column ID doesn't exist for the board", "path": ["boards"],
        "extensions": {"code": "InvalidColumnIdException", "status_code": 200,
                       "error_data": {"column_id": "prio"}}}]})
    r = run_action(monday_connection(), "get_items", {
        "board_id": BOARD, "rules": [{"column_id": "prio", "compare_value": ["High"]}]})
    assert r.status_code == 422
    # A column id in get_items' rules, not in column_values.
    assert r.get_json()["errors"] == {
        "rules": ["InvalidColumnIdException", "This column ID doesn't exist for the board"]}


def test_a_failed_health_check_marks_the_connection_for_reauthorisation(
        http, monday_connection, check_connection, client, keys):
    http.post(API, status=401, json={"errors": [{"message": "Not Authenticated"}]})
    conn = monday_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert len(http.calls) == 1  # permanent: never retried
    conn = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert conn["status"] == "needs_reauth"


def test_a_403_is_an_auth_error(http, monday_connection, run_action):
    http.post(API, status=403, body="Forbidden")
    r = run_action(monday_connection({"max_attempts": 3}), "get_item", {"item_id": ITEM})
    assert r.get_json()["code"] == "auth"
    assert len(http.calls) == 1


def test_a_404_is_permanent(http, monday_connection, run_action):
    http.post(API, status=404, body="Not Found")
    r = run_action(monday_connection({"max_attempts": 3}), "get_item", {"item_id": ITEM})
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(http.calls) == 1


def test_http_429_carries_retry_after_to_the_caller(http, monday_connection, run_action):
    http.post(API, status=429, headers={"Retry-After": "30"},
              json={"errors": [{"message": "Rate Limit Exceeded",
                                "extensions": {"code": "RATE_LIMIT_EXCEEDED"}}]})
    r = run_action(monday_connection({"max_attempts": 1}), "create_item", NEW_ITEM)
    assert r.status_code == 429
    assert r.get_json()["retry_after"] == 30
    assert r.headers["Retry-After"] == "30"


def test_a_429_is_retried_after_the_wait_monday_asked_for(http, monday_connection, run_action,
                                                          sleeps):
    http.post(API, status=429, headers={"Retry-After": "7"}, body="Too many requests")
    http.post(API, json={"data": {"items": [ITEM_DATA]}})
    r = run_action(monday_connection({"max_attempts": 3}), "get_item", {"item_id": ITEM})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 7


def test_a_read_is_retried_after_a_server_error(http, monday_connection, run_action, sleeps):
    http.post(API, status=503, body="upstream connect error")
    http.post(API, json={"data": {"items": [ITEM_DATA]}})
    r = run_action(monday_connection({"max_attempts": 3}), "get_item", {"item_id": ITEM})
    assert r.status_code == 200
    assert len(http.calls) == 2


def test_setting_column_values_is_retried_after_a_server_error(http, monday_connection,
                                                               run_action, sleeps):
    # Setting the same values again leaves the item as asked: safe to retry.
    http.post(API, status=500, json={"error_message": "Internal server error",
                                     "status_code": 500})
    http.post(API, json={"data": {"change_multiple_column_values": ITEM_DATA}})
    r = run_action(monday_connection({"max_attempts": 3}), "change_column_values", {
        "board_id": BOARD, "item_id": ITEM, "column_values": {"text": "x"}})
    assert r.status_code == 200, r.get_json()
    assert len(http.calls) == 2


@pytest.mark.parametrize("action, body", [
    ("create_item", NEW_ITEM),
    ("create_update", {"item_id": ITEM, "body": "hello"}),
])
def test_a_create_is_not_sent_twice_after_a_server_error(http, monday_connection, run_action,
                                                         sleeps, action, body):
    http.post(API, status=503, body="upstream connect error")
    r = run_action(monday_connection({"max_attempts": 3}), action, body)
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(http.calls) == 1


def test_a_token_echoed_in_an_error_is_redacted(http, monday_connection, run_action):
    http.post(API, json=error("UserUnauthorizedException", f"Token {TOKEN} may not do this"))
    r = run_action(monday_connection({"max_attempts": 1}), "create_item", NEW_ITEM)
    assert r.get_json()["code"] == "auth"
    assert TOKEN not in json.dumps(r.get_json())
    assert "[REDACTED]" in r.get_json()["message"]


@pytest.mark.parametrize("answer", [
    {"body": "<html>Welcome</html>", "content_type": "text/html"},
    {"json": {"data": {"me": None}}},
])
def test_a_base_url_that_is_not_monday_fails_the_health_check(http, monday_connection,
                                                             check_connection, answer):
    http.post("https://intranet.example.com/v2", **answer)
    result = check_connection(monday_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_a_cursor_that_comes_back_is_reported_not_followed(http, monday_connection, run_action):
    http.post(API, json={"data": {"boards": [{"items_page": {"cursor": "MSw-same",
                                                             "items": [ITEM_DATA]}}]}})
    http.post(API, json={"data": {"next_items_page": {"cursor": "MSw-same",
                                                      "items": [ITEM_DATA]}}})
    r = run_action(monday_connection(), "get_items", {"board_id": BOARD, "page_size": 1})
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert "pagination loop" in r.get_json()["message"]
    assert len(http.calls) == 2
