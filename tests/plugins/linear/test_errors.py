"""How Linear's failures reach the user: GraphQL errors (``extensions.type``, with HTTP 200 or
400), rate limits (``RATELIMITED`` and 429, the reset headers), 401/403, 5xx and retries."""
from __future__ import annotations

import json
import time

import pytest

from tests.plugins.linear.conftest import API
from tests.plugins.linear.conftest import API_KEY
from tests.plugins.linear.fake_linear import ISSUE
from tests.plugins.linear.fake_linear import TEAM

NEW_ISSUE = {"team_id": TEAM, "title": "Checkout fails"}
ISSUE_DATA = {"id": ISSUE, "identifier": "ENG-1778", "title": "Checkout fails", "url": None,
              "description": None, "priority": 0, "priorityLabel": "No priority",
              "estimate": None, "dueDate": None, "createdAt": None, "updatedAt": None,
              "completedAt": None, "canceledAt": None, "archivedAt": None, "state": None,
              "team": None, "assignee": None, "project": None, "labels": {"nodes": []}}


def error(kind: str | None, message: str, code: str | None = None, path=("issueCreate",),
          **extensions) -> dict:
    """A Linear GraphQL error (extensions as the SDK reads them: type, code, userError...)."""
    ext = {k: v for k, v in {"type": kind, "code": code, **extensions}.items() if v is not None}
    return {"data": None, "errors": [{"message": message, "path": list(path),
                                      "locations": [{"line": 2, "column": 3}],
                                      "extensions": ext}]}


@pytest.mark.parametrize("status, body, answered, code", [
    (400, error("authentication error", "Authentication required, not authenticated",
                "AUTHENTICATION_ERROR", userError=True), 502, "auth"),
    (200, error("forbidden", "You don't have access to this team", "FORBIDDEN"), 502, "auth"),
    (400, error("ratelimited", "Rate limit exceeded", "RATELIMITED"), 429, "rate_limited"),
    (200, error(None, "Rate limit exceeded", "RATELIMITED"), 429, "rate_limited"),
    (400, error("invalid input", "Argument Validation Error", "INVALID_INPUT",
                userPresentableMessage="Something about this issue is wrong."), 422,
     "validation"),
    (400, error(None, 'Variable "$input" got invalid value', "BAD_USER_INPUT"), 422,
     "validation"),
    (200, error("internal error", "Internal server error", "INTERNAL_ERROR"), 502, "upstream"),
    (200, error("lock timeout", "Lock timeout"), 502, "upstream"),
    (400, error("feature not accessible", "Your plan lacks this feature"), 502, "upstream"),
    (400, error("usage limit exceeded", "Issue limit reached"), 502, "upstream"),
    (200, error("something new", "Next year's error"), 502, "upstream"),
    (400, {"message": "not GraphQL"}, 422, "validation"),
])
def test_an_error_body_maps_to_its_error_class(http, linear_connection, run_action, status,
                                               body, answered, code):
    http.post(API, status=status, json=body)
    r = run_action(linear_connection({"max_attempts": 1}), "create_issue", NEW_ISSUE)

    assert r.status_code == answered, r.get_json()
    assert r.get_json()["code"] == code
    if "errors" in body:
        assert r.get_json()["message"].startswith("Linear CreateIssue: ")
    assert len(http.calls) == 1


@pytest.mark.parametrize("extensions, field", [
    ({"userPresentableMessage": "teamId must be a UUID"}, "team_id"),
    ({"userPresentableMessage": "title must be shorter than or equal to 255 characters"},
     "title"),
    ({"exception": {"validationErrors": [{"property": "dueDate",
                                          "constraints": {"isDate": "dueDate must be a date"}}]}},
     "due_date"),
    ({"userPresentableMessage": "Could not find referenced WorkflowState."}, "state_id"),
    ({"userPresentableMessage": "Something about this issue is wrong."}, "_request"),
])
def test_an_invalid_input_error_names_the_field_linear_names(http, linear_connection,
                                                             run_action, extensions, field):
    http.post(API, status=400, json=error("invalid input", "Argument Validation Error",
                                          "INVALID_INPUT", **extensions))
    r = run_action(linear_connection(), "create_issue", NEW_ISSUE)
    assert r.status_code == 422
    assert list(r.get_json()["errors"]) == [field]
    assert r.get_json()["errors"][field][0] == "invalid input"


def test_an_issue_linear_cannot_find_names_the_action_s_issue_field(http, linear_connection,
                                                                    run_action):
    http.post(API, status=400, json=error("invalid input", "Entity not found: Issue",
                                          path=("commentCreate",)))
    r = run_action(linear_connection(), "add_comment", {"issue_id": "ENG-1", "body": "x"})
    assert list(r.get_json()["errors"]) == ["issue_id"]


def test_a_rate_limit_waits_until_the_spent_budget_resets(http, linear_connection, run_action):
    reset_ms = int((time.time() + 40) * 1000)
    http.post(API, status=400, json=error("ratelimited", "Rate limit exceeded", "RATELIMITED"),
              headers={"X-RateLimit-Requests-Remaining": "0",
                       "X-RateLimit-Requests-Reset": str(reset_ms)})
    r = run_action(linear_connection({"max_attempts": 1}), "create_issue", NEW_ISSUE)
    assert r.status_code == 429
    assert 35 <= r.get_json()["retry_after"] <= 41


def test_a_spent_complexity_budget_gives_its_own_reset(http, linear_connection, run_action):
    reset_ms = int((time.time() + 20) * 1000)
    http.post(API, status=400, json=error("ratelimited", "Rate limit exceeded", "RATELIMITED"),
              headers={"X-RateLimit-Requests-Remaining": "3000",
                       "X-RateLimit-Requests-Reset": str(reset_ms + 3_000_000),
                       "X-RateLimit-Complexity-Remaining": "0",
                       "X-RateLimit-Complexity-Reset": str(reset_ms)})
    r = run_action(linear_connection({"max_attempts": 1}), "create_issue", NEW_ISSUE)
    assert 15 <= r.get_json()["retry_after"] <= 21


def test_a_rate_limited_write_is_retried_after_the_wait(http, linear_connection, run_action,
                                                        sleeps):
    # Linear refused it before running it: retrying cannot create the issue twice.
    http.post(API, status=429, headers={"Retry-After": "6"},
              json=error("ratelimited", "Rate limit exceeded", "RATELIMITED"))
    http.post(API, json={"data": {"issueCreate": {"success": True, "issue": ISSUE_DATA}}})
    r = run_action(linear_connection({"max_attempts": 3}), "create_issue", NEW_ISSUE)

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 6


def test_http_429_without_a_graphql_body_carries_retry_after(http, linear_connection,
                                                             run_action):
    http.post(API, status=429, headers={"Retry-After": "30"}, body="Too Many Requests")
    r = run_action(linear_connection({"max_attempts": 1}), "get_issue", {"id": "ENG-1"})
    assert (r.status_code, r.get_json()["retry_after"]) == (429, 30)
    assert r.headers["Retry-After"] == "30"


def test_an_empty_request_budget_pauses_the_connection(http, linear_connection, run_action,
                                                       sleeps):
    """The headers of a successful answer resync the bucket: with none left, the next call
    waits for the reset instead of drawing a rate-limit error."""
    reset_ms = int((time.time() + 9) * 1000)
    http.post(API, json={"data": {"issue": ISSUE_DATA}},
              headers={"X-RateLimit-Requests-Remaining": "0",
                       "X-RateLimit-Requests-Reset": str(reset_ms)})
    conn = linear_connection()
    assert run_action(conn, "get_issue", {"id": "ENG-1"}).status_code == 200
    assert run_action(conn, "get_issue", {"id": "ENG-1"}).status_code == 200
    assert 7 <= sum(sleeps) <= 10


def test_a_failed_health_check_marks_the_connection_for_reauthorisation(
        http, linear_connection, check_connection, client, keys):
    http.post(API, status=401, json=error("authentication error", "Authentication required",
                                          "AUTHENTICATION_ERROR", path=("viewer",)))
    conn = linear_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert len(http.calls) == 1
    conn = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert conn["status"] == "needs_reauth"


def test_a_healthy_workspace_passes_the_check(http, linear_connection, check_connection):
    http.post(API, json={"data": {"viewer": {"id": "aacdca22"}}})
    assert check_connection(linear_connection()).get_json()["ok"] is True
    assert json.loads(http.calls[0].request.body)["query"].startswith("query HealthCheck")


def test_a_403_is_an_auth_error(http, linear_connection, run_action):
    http.post(API, status=403, body="Forbidden")
    r = run_action(linear_connection({"max_attempts": 3}), "get_issue", {"id": "ENG-1"})
    assert r.get_json()["code"] == "auth"
    assert len(http.calls) == 1


def test_a_404_is_permanent(http, linear_connection, run_action):
    http.post(API, status=404, body="Not Found")
    r = run_action(linear_connection({"max_attempts": 3}), "get_issue", {"id": "ENG-1"})
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(http.calls) == 1


def test_a_read_is_retried_after_a_server_error(http, linear_connection, run_action, sleeps):
    http.post(API, status=502, body="Bad gateway")
    http.post(API, json={"data": {"issue": ISSUE_DATA}})
    r = run_action(linear_connection({"max_attempts": 3}), "get_issue", {"id": "ENG-1"})
    assert r.status_code == 200
    assert len(http.calls) == 2


def test_an_update_is_retried_after_a_server_error(http, linear_connection, run_action, sleeps):
    http.post(API, status=503, body="unavailable")
    http.post(API, json={"data": {"issueUpdate": {"success": True, "issue": ISSUE_DATA}}})
    r = run_action(linear_connection({"max_attempts": 3}), "update_issue",
                   {"id": "ENG-1", "title": "Renamed"})
    assert r.status_code == 200
    assert len(http.calls) == 2


@pytest.mark.parametrize("action, body", [
    ("create_issue", NEW_ISSUE),
    ("add_comment", {"issue_id": "ENG-1", "body": "hello"}),
])
def test_a_create_is_not_sent_twice_after_a_server_error(http, linear_connection, run_action,
                                                         sleeps, action, body):
    http.post(API, status=503, body="unavailable")
    r = run_action(linear_connection({"max_attempts": 3}), action, body)
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(http.calls) == 1


def test_an_unsuccessful_payload_is_an_error(http, linear_connection, run_action):
    http.post(API, json={"data": {"issueCreate": {"success": False, "issue": None}}})
    r = run_action(linear_connection(), "create_issue", NEW_ISSUE)
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")


def test_a_key_echoed_in_an_error_is_redacted(http, linear_connection, run_action):
    http.post(API, status=400, json=error("authentication error", f"Invalid key {API_KEY}"))
    r = run_action(linear_connection({"max_attempts": 1}), "create_issue", NEW_ISSUE)
    assert r.get_json()["code"] == "auth"
    assert API_KEY not in json.dumps(r.get_json())


@pytest.mark.parametrize("answer", [
    {"body": "<html>Welcome</html>", "content_type": "text/html"},
    {"json": {"data": {"viewer": None}}},
])
def test_a_base_url_that_is_not_linear_fails_the_health_check(http, linear_connection,
                                                             check_connection, answer):
    http.post("https://intranet.example.com/graphql", **answer)
    result = check_connection(linear_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_a_cursor_that_comes_back_is_reported_not_followed(http, linear_connection, run_action):
    page = {"data": {"issues": {"nodes": [ISSUE_DATA],
                                "pageInfo": {"hasNextPage": True, "endCursor": "c-same"}}}}
    http.post(API, json=page)
    r = run_action(linear_connection(), "list_issues", {"page_size": 1, "max_items": 10})
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert "pagination loop" in r.get_json()["message"]
    assert len(http.calls) == 2
