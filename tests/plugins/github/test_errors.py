"""How GitHub's failures reach the user: rate limits signalled as 403 or 429, auth failures,
404 and 422, and which of them are retried."""
from __future__ import annotations

import time

import pytest

from tests.plugins.github.conftest import REPO
from tests.plugins.github.conftest import recorded

ISSUE = {"owner": "octocat", "repo": "Hello-World", "title": "Uploads fail"}
LIST = {"owner": "octocat", "repo": "Hello-World"}


def test_primary_rate_limit_waits_until_the_reset(fake_github, github_connection, run_action,
                                                  sleeps):
    reset = int(time.time()) + 600
    fake_github.get(f"{REPO}/pulls", status=403, json=recorded("error_403_primary_rate_limit"),
                    headers={"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(reset), "X-RateLimit-Resource": "core"})
    r = run_action(github_connection({"max_attempts": 3}), "list_pull_requests", LIST)

    assert r.status_code == 429
    body = r.get_json()
    assert body["code"] == "rate_limited"
    assert 590 <= body["retry_after"] <= 600
    assert "API rate limit exceeded" in body["message"]
    # Ten minutes is beyond what a call may wait: fail fast instead of retrying.
    assert len(fake_github.calls) == 1
    assert sleeps == []


def test_primary_rate_limit_as_429_is_the_same(fake_github, github_connection, run_action):
    fake_github.get(f"{REPO}/pulls", status=429, json=recorded("error_403_primary_rate_limit"),
                    headers={"X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(int(time.time()) + 300)})
    r = run_action(github_connection({"max_attempts": 1}), "list_pull_requests", LIST)
    assert r.status_code == 429
    assert 290 <= r.get_json()["retry_after"] <= 300


def test_secondary_rate_limit_without_retry_after_waits_a_minute(fake_github, github_connection,
                                                                 run_action):
    fake_github.post(f"{REPO}/issues", status=403, json=recorded("error_403_secondary_rate_limit"))
    r = run_action(github_connection({"max_attempts": 1}), "create_issue", ISSUE)

    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert r.get_json()["retry_after"] == 60
    assert r.headers["Retry-After"] == "60"


def test_secondary_rate_limit_with_retry_after_is_retried_after_it(fake_github, github_connection,
                                                                   run_action, sleeps):
    fake_github.post(f"{REPO}/issues", status=403, headers={"Retry-After": "5"},
                     json=recorded("error_403_secondary_rate_limit"))
    fake_github.post(f"{REPO}/issues", status=201, json=recorded("issues_create_201"))
    r = run_action(github_connection({"max_attempts": 3}), "create_issue", ISSUE)

    # A rate-limited request was not processed, so even a create is safe to send again.
    assert r.status_code == 200
    assert r.get_json()["attempts"] == 2
    assert len(fake_github.calls) == 2
    assert sum(sleeps) >= 5


def test_a_forbidden_answer_is_an_auth_error(fake_github, github_connection, run_action):
    fake_github.post(f"{REPO}/issues", status=403, json=recorded("error_403_not_accessible"),
                     headers={"X-RateLimit-Remaining": "4990"})
    r = run_action(github_connection({"max_attempts": 3}), "create_issue", ISSUE)

    assert r.status_code == 502
    assert r.get_json()["code"] == "auth"
    assert "Resource not accessible by personal access token" in r.get_json()["message"]
    assert len(fake_github.calls) == 1


def test_bad_credentials_fail_the_health_check(fake_github, github_connection, check_connection,
                                               client, keys):
    fake_github.get("https://api.github.com/rate_limit", status=401,
                    json=recorded("error_401_bad_credentials"))
    conn = github_connection()
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert len(fake_github.calls) == 1
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "needs_reauth"


def test_the_health_check_reads_the_free_rate_limit_endpoint(fake_github, github_connection,
                                                             check_connection):
    fake_github.get("https://api.github.com/rate_limit", json={"resources": {}, "rate": {
        "limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600, "used": 1}},
        headers={"X-RateLimit-Remaining": "4999"})
    assert check_connection(github_connection()).get_json()["ok"] is True
    assert fake_github.calls[0].request.method == "GET"


def test_not_found_is_permanent(fake_github, github_connection, run_action, sleeps):
    fake_github.get(f"{REPO}/pulls/999", status=404, json=recorded("error_404"))
    r = run_action(github_connection({"max_attempts": 3}), "get_pull_request",
                   {**LIST, "pull_number": 999})

    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream"
    assert r.get_json()["upstream_status"] == 404
    assert len(fake_github.calls) == 1


def test_a_422_names_the_fields_github_rejected(fake_github, github_connection, run_action):
    fake_github.post(f"{REPO}/issues", status=422, json=recorded("issues_create_422_missing_field"))
    r = run_action(github_connection(), "create_issue", ISSUE)

    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert r.get_json()["errors"] == {"title": ["missing_field"]}
    assert "Validation Failed" in r.get_json()["message"]


@pytest.mark.parametrize("method, path, action, body, calls", [
    ("GET", "pulls", "list_pull_requests", LIST, 2),  # a read: retried
    ("POST", "issues", "create_issue", ISSUE, 1),  # a create: it may have happened
])
def test_a_server_error_is_retried_only_when_safe(fake_github, github_connection, run_action,
                                                  sleeps, method, path, action, body, calls):
    fake_github.add(method, f"{REPO}/{path}", status=502, body="Bad Gateway")
    r = run_action(github_connection({"max_attempts": 2}), action, body)

    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream"
    assert len(fake_github.calls) == calls


def test_adding_labels_is_retried_after_a_server_error(fake_github, github_connection,
                                                       run_action, sleeps):
    fake_github.post(f"{REPO}/issues/41/labels", status=500, body="")
    fake_github.post(f"{REPO}/issues/41/labels", json=[{"name": "bug"}])
    r = run_action(github_connection({"max_attempts": 2}), "add_labels",
                   {**LIST, "issue_number": 41, "labels": ["bug"]})
    assert r.status_code == 200
    assert len(fake_github.calls) == 2


def test_a_base_url_that_is_not_github_fails_the_health_check(fake_github, github_connection,
                                                              check_connection):
    fake_github.get("https://intranet.example.com/rate_limit", body="<html>Welcome</html>",
                    content_type="text/html")
    result = check_connection(github_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")
