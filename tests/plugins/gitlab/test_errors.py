"""How GitLab's failures reach the user: 401/403, 404 and 400 bodies naming fields, 429 with
``Retry-After``, the ``RateLimit-*`` headers, 5xx, and which calls are retried."""
from __future__ import annotations

import json

import pytest

from tests.plugins.gitlab.conftest import PROJECT
from tests.plugins.gitlab.conftest import PROJECT_ID
from tests.plugins.gitlab.fake_gitlab import TOKEN

ISSUE = {"project": PROJECT, "title": "Checkout fails"}
LIST = {"project": PROJECT}


def test_a_refused_token_fails_the_health_check_and_asks_for_reauthorisation(
        fake_gitlab, gitlab_connection, check_connection, client, keys):
    conn = gitlab_connection({"max_attempts": 3}, token="glpat-revoked-0000000000")
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "401 Unauthorized" in result["message"]
    assert len(fake_gitlab.requests) == 1  # permanent: never retried
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "needs_reauth"


def test_a_healthy_token_passes_the_check(fake_gitlab, gitlab_connection, check_connection):
    assert check_connection(gitlab_connection()).get_json()["ok"] is True
    assert [(c.method, c.path) for c in fake_gitlab.requests] == [("GET", "/user")]


def test_a_token_without_the_scope_is_an_auth_error(fake_gitlab, gitlab_connection, run_action):
    fake_gitlab.push(403, {"error": "insufficient_scope",
                           "error_description": "The request requires higher privileges than "
                                                "provided by the access token.",
                           "scope": "api"})
    r = run_action(gitlab_connection({"max_attempts": 3}), "create_issue", ISSUE)
    assert (r.status_code, r.get_json()["code"]) == (502, "auth")
    assert "insufficient_scope" in r.get_json()["message"]
    assert len(fake_gitlab.requests) == 1


def test_an_unknown_project_names_the_field(fake_gitlab, gitlab_connection, run_action):
    r = run_action(gitlab_connection({"max_attempts": 3}), "create_issue",
                   {"project": "gitlab-org/missing", "title": "x"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {
        "project": ["404 Project Not Found (or the token cannot see it)"]}
    assert len(fake_gitlab.requests) == 1


def test_an_unknown_issue_names_the_issue(fake_gitlab, gitlab_connection, run_action):
    r = run_action(gitlab_connection(), "create_issue_note",
                   {"project": PROJECT, "issue_iid": 999, "body": "hello"})
    assert r.status_code == 422
    assert list(r.get_json()["errors"]) == ["issue_iid"]


@pytest.mark.parametrize("body, errors", [
    ({"error": "title is missing"}, {"title": ["title is missing"]}),
    ({"error": "title is missing, assignee_ids[0] is invalid"},
     {"title": ["title is missing"], "assignee_ids": ["assignee_ids[0] is invalid"]}),
    ({"message": {"title": ["is too long (maximum is 255 characters)"],
                  "base": ["Spam detected"]}},
     {"title": ["is too long (maximum is 255 characters)"], "_request": ["Spam detected"]}),
    ({"message": "400 Bad request - Invalid parameters"},
     {"_request": ["400 Bad request - Invalid parameters"]}),
])
def test_gitlab_request_errors_name_the_fields(fake_gitlab, gitlab_connection, run_action,
                                               body, errors):
    fake_gitlab.push(400, body)
    r = run_action(gitlab_connection(), "create_issue", ISSUE)
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert r.get_json()["errors"] == errors


def test_http_429_carries_retry_after_to_the_caller(fake_gitlab, gitlab_connection, run_action):
    fake_gitlab.push(429, "Retry later", {"Retry-After": "30", "Content-Type": "text/plain"})
    r = run_action(gitlab_connection({"max_attempts": 1}), "list_pipelines", LIST)

    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert r.get_json()["retry_after"] == 30
    assert r.headers["Retry-After"] == "30"


def test_a_rate_limited_create_is_sent_again_after_the_wait(fake_gitlab, gitlab_connection,
                                                            run_action, sleeps):
    # A 429 was not processed, so even a create is safe to send again.
    fake_gitlab.push(429, "Retry later", {"Retry-After": "7"})
    r = run_action(gitlab_connection({"max_attempts": 3}), "create_issue", ISSUE)

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["attempts"] == 2
    assert len(fake_gitlab.issues[PROJECT_ID]) == 1
    assert sum(sleeps) >= 7


def test_an_empty_quota_pauses_the_next_call_until_the_reset(fake_gitlab, gitlab_connection,
                                                             run_action, sleeps):
    fake_gitlab.remaining, fake_gitlab.reset_in = 1, 5  # the next answer says 0 left
    conn = gitlab_connection()
    run_action(conn, "list_pipelines", LIST)
    assert sleeps == []
    run_action(conn, "list_pipelines", LIST)
    assert 3 <= sum(sleeps) <= 6


@pytest.mark.parametrize("action, body, calls", [
    ("list_pipelines", LIST, 2),  # a read: retried
    ("update_issue", {**LIST, "issue_iid": 1, "state_event": "close"}, 2),  # a PUT sets values
    ("create_issue", ISSUE, 1),  # a create: it may have happened
    ("trigger_pipeline", {**LIST, "ref": "main"}, 1),  # a second pipeline would run
    ("create_issue_note", {**LIST, "issue_iid": 1, "body": "x"}, 1),
])
@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried_only_when_safe(fake_gitlab, gitlab_connection, run_action,
                                                  sleeps, action, body, calls, status):
    fake_gitlab.add_issue(PROJECT_ID, "Checkout fails")
    for _ in range(2):
        fake_gitlab.push(status, {"message": "500 Internal Server Error"})
    r = run_action(gitlab_connection({"max_attempts": 2}), action, body)

    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream"
    assert len(fake_gitlab.requests) == calls


def test_a_transient_failure_of_a_read_recovers(fake_gitlab, gitlab_connection, run_action,
                                                sleeps):
    fake_gitlab.add_pipeline(PROJECT_ID)
    fake_gitlab.push(502, "<html>502 Bad Gateway</html>", {"Content-Type": "text/html"})
    r = run_action(gitlab_connection({"max_attempts": 3}), "list_pipelines", LIST)
    assert r.status_code == 200
    assert r.get_json()["output"]["count"] == 1


def test_a_token_echoed_in_an_error_is_redacted(fake_gitlab, gitlab_connection, run_action,
                                                check_connection):
    fake_gitlab.push(401, {"message": f"401 Unauthorized: token {TOKEN} is revoked"})
    fake_gitlab.push(400, {"error": f"title is invalid near {TOKEN}"})
    conn = gitlab_connection()
    checked = check_connection(conn).get_json()
    ran = run_action(conn, "create_issue", ISSUE)

    assert checked["error_class"] == "auth"
    assert ran.status_code == 422
    for answer in (checked, ran.get_json()):
        assert TOKEN not in json.dumps(answer)


def test_a_base_url_that_is_not_gitlab_fails_the_health_check(mocked, gitlab_connection,
                                                              check_connection):
    mocked.get("https://intranet.example.com/user", body="<html>Welcome</html>",
               content_type="text/html")
    result = check_connection(gitlab_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")
