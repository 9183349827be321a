"""What the GitHub actions send and return, with GitHub faked at the HTTP seam."""
from __future__ import annotations

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.plugins.github.conftest import REPO
from tests.plugins.github.conftest import TOKEN
from tests.plugins.github.conftest import recorded

OWNER_REPO = {"owner": "octocat", "repo": "Hello-World"}
SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


def query_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def pull(number: int) -> dict:
    return {"id": 1000 + number, "number": number, "title": f"PR {number}", "state": "open",
            "draft": False, "user": {"login": "octocat"}, "labels": [],
            "head": {"ref": f"topic-{number}", "sha": SHA}, "base": {"ref": "main", "sha": SHA}}


def issue(number: int, is_pull: bool = False) -> dict:
    body = {"id": 2000 + number, "number": number, "title": f"Issue {number}", "state": "open",
            "labels": [{"name": "bug"}], "assignees": [], "user": {"login": "octocat"}}
    if is_pull:
        body["pull_request"] = {"url": f"{REPO}/pulls/{number}"}
    return body


def test_create_issue_sends_json_with_github_headers(fake_github, github_connection, run_action):
    fake_github.post(f"{REPO}/issues", status=201, json=recorded("issues_create_201"))
    r = run_action(github_connection(), "create_issue", {
        **OWNER_REPO, "title": "Uploads fail on flaky networks",
        "body": "The uploader gives up after one timeout.", "labels": ["bug"],
        "assignees": ["octocat"]})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == {
        "number": 41, "id": 2331004417, "title": "Uploads fail on flaky networks",
        "state": "open", "html_url": "https://github.com/octocat/Hello-World/issues/41",
        "url": "https://api.github.com/repos/octocat/Hello-World/issues/41", "user": "atom-bot",
        "labels": ["bug"], "assignees": ["octocat"], "comments": 0, "is_pull_request": False,
        "created_at": "2024-05-31T08:00:00Z", "updated_at": "2024-05-31T08:00:00Z"}
    (call,) = fake_github.calls
    headers = call.request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/vnd.github+json, application/json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert "Idempotency-Key" not in headers
    assert json.loads(call.request.body) == {
        "title": "Uploads fail on flaky networks", "labels": ["bug"], "assignees": ["octocat"],
        "body": "The uploader gives up after one timeout."}


def test_create_issue_leaves_out_what_was_not_given(fake_github, github_connection, run_action):
    fake_github.post(f"{REPO}/issues", status=201, json=recorded("issues_create_201"))
    run_action(github_connection(), "create_issue", {**OWNER_REPO, "title": "Just a title"})
    assert json.loads(fake_github.calls[0].request.body) == {"title": "Just a title"}


@pytest.mark.parametrize("body, field", [
    ({"owner": "octocat", "repo": "..", "title": "x"}, "repo"),
    ({"owner": "../../user", "repo": "Hello-World", "title": "x"}, "owner"),
    ({"owner": "octocat", "repo": "Hello-World/../x", "title": "x"}, "repo"),
    ({**OWNER_REPO, "title": ""}, "title"),
    ({**OWNER_REPO}, "title"),
])
def test_invalid_input_is_refused_before_calling_github(fake_github, github_connection,
                                                        run_action, body, field):
    r = run_action(github_connection(), "create_issue", body)
    assert r.status_code == 422
    assert field in r.get_json()["errors"]
    assert len(fake_github.calls) == 0


def test_comment_on_issue_posts_the_body(fake_github, github_connection, run_action):
    fake_github.post(f"{REPO}/issues/41/comments", status=201, json={
        "id": 2143306702, "body": "Fixed in #42",
        "html_url": "https://github.com/octocat/Hello-World/issues/41#issuecomment-2143306702",
        "created_at": "2024-06-02T16:05:00Z"})
    r = run_action(github_connection(), "comment_on_issue",
                   {**OWNER_REPO, "issue_number": 41, "body": "Fixed in #42"})

    assert r.get_json()["output"] == {
        "id": 2143306702, "issue_number": 41, "created_at": "2024-06-02T16:05:00Z",
        "html_url": "https://github.com/octocat/Hello-World/issues/41#issuecomment-2143306702"}
    assert json.loads(fake_github.calls[0].request.body) == {"body": "Fixed in #42"}


def test_add_labels_returns_every_label_of_the_issue(fake_github, github_connection, run_action):
    fake_github.post(f"{REPO}/issues/41/labels", json=[
        {"id": 1, "name": "bug"}, {"id": 2, "name": "needs-triage"}])
    r = run_action(github_connection(), "add_labels",
                   {**OWNER_REPO, "issue_number": 41, "labels": ["needs-triage"]})
    assert r.get_json()["output"] == {"issue_number": 41, "labels": ["bug", "needs-triage"]}
    assert json.loads(fake_github.calls[0].request.body) == {"labels": ["needs-triage"]}


def test_create_commit_status_sends_state_and_context(fake_github, github_connection,
                                                      run_action):
    fake_github.post(f"{REPO}/statuses/{SHA}", status=201, json={
        "id": 7, "state": "pending", "context": "atom/deploy", "description": "Deploying",
        "target_url": None, "created_at": "2024-06-02T16:05:00Z"})
    r = run_action(github_connection(), "create_commit_status",
                   {**OWNER_REPO, "sha": SHA, "state": "pending", "context": "atom/deploy",
                    "description": "Deploying"})
    assert r.get_json()["output"]["state"] == "pending"
    assert json.loads(fake_github.calls[0].request.body) == {
        "state": "pending", "context": "atom/deploy", "description": "Deploying"}


def test_a_short_sha_is_refused(fake_github, github_connection, run_action):
    r = run_action(github_connection(), "create_commit_status",
                   {**OWNER_REPO, "sha": SHA[:7], "state": "success"})
    assert r.status_code == 422
    assert "sha" in r.get_json()["errors"]


def test_list_pull_requests_stops_at_max_items(fake_github, github_connection, run_action):
    fake_github.get(f"{REPO}/pulls", json=[pull(3), pull(2)], headers={
        "Link": f'<{REPO}/pulls?state=open&per_page=2&page=2>; rel="next", '
                f'<{REPO}/pulls?state=open&per_page=2&page=2>; rel="last"'})
    fake_github.get(f"{REPO}/pulls", json=[pull(1)])
    r = run_action(github_connection(), "list_pull_requests", {**OWNER_REPO, "max_items": 2})
    assert [p["number"] for p in r.get_json()["output"]["pull_requests"]] == [3, 2]
    assert len(fake_github.calls) == 1  # max_items reached on page one: page two not fetched


def test_list_pull_requests_reads_every_page(fake_github, github_connection, run_action):
    fake_github.get(f"{REPO}/pulls", json=[pull(3), pull(2)], headers={
        "Link": f'<{REPO}/pulls?state=open&per_page=100&page=2>; rel="next"'})
    fake_github.get(f"{REPO}/pulls", json=[pull(1)])
    r = run_action(github_connection(), "list_pull_requests", {**OWNER_REPO, "base": "main"})

    out = r.get_json()["output"]
    assert [p["number"] for p in out["pull_requests"]] == [3, 2, 1]
    assert out["count"] == 3
    assert out["pull_requests"][0]["head_ref"] == "topic-3"
    first, second = (query_of(c) for c in fake_github.calls)
    assert first == {"state": "open", "sort": "created", "direction": "desc", "base": "main",
                     "per_page": "100"}
    assert second == {"state": "open", "per_page": "100", "page": "2"}  # the Link URL as given


def test_list_issues_leaves_out_pull_requests_by_default(fake_github, github_connection,
                                                         run_action):
    fake_github.get(f"{REPO}/issues", json=[issue(5), issue(4, is_pull=True), issue(3)])
    r = run_action(github_connection(), "list_issues", {
        **OWNER_REPO, "labels": ["bug", "p1"], "since": "2024-06-01T12:00:00+02:00"})

    assert [i["number"] for i in r.get_json()["output"]["issues"]] == [5, 3]
    assert query_of(fake_github.calls[0]) == {
        "state": "open", "sort": "created", "direction": "desc", "labels": "bug,p1",
        "since": "2024-06-01T10:00:00Z", "per_page": "100"}


def test_list_issues_can_include_pull_requests(fake_github, github_connection, run_action):
    fake_github.get(f"{REPO}/issues", json=[issue(5), issue(4, is_pull=True)])
    r = run_action(github_connection(), "list_issues",
                   {**OWNER_REPO, "include_pull_requests": True})
    issues = r.get_json()["output"]["issues"]
    assert [(i["number"], i["is_pull_request"]) for i in issues] == [(5, False), (4, True)]


def test_get_pull_request_returns_merge_details(fake_github, github_connection, run_action):
    fake_github.get(f"{REPO}/pulls/42", json={
        **pull(42), "body": "Fixes #41.", "merged": True, "mergeable": None,
        "mergeable_state": "unknown", "requested_reviewers": [{"login": "hubot"}],
        "commits": 3, "additions": 120, "deletions": 14, "changed_files": 4})
    r = run_action(github_connection(), "get_pull_request", {**OWNER_REPO, "pull_number": 42})

    out = r.get_json()["output"]
    assert (out["number"], out["merged"], out["requested_reviewers"]) == (42, True, ["hubot"])
    assert (out["additions"], out["deletions"], out["changed_files"]) == (120, 14, 4)


def test_dispatch_repository_event_accepts_an_empty_answer(fake_github, github_connection,
                                                           run_action):
    fake_github.post(f"{REPO}/dispatches", status=204)
    r = run_action(github_connection(), "dispatch_repository_event",
                   {**OWNER_REPO, "event_type": "deploy", "client_payload": {"env": "prod"}})
    assert r.get_json()["output"] == {"dispatched": True, "event_type": "deploy"}
    assert json.loads(fake_github.calls[0].request.body) == {
        "event_type": "deploy", "client_payload": {"env": "prod"}}


def test_a_client_payload_over_ten_keys_is_refused(fake_github, github_connection, run_action):
    r = run_action(github_connection(), "dispatch_repository_event", {
        **OWNER_REPO, "event_type": "deploy", "client_payload": {str(i): i for i in range(11)}})
    assert r.status_code == 422
    assert "client_payload" in r.get_json()["errors"]


def test_github_enterprise_is_reached_through_the_base_url(fake_github, github_connection,
                                                           run_action):
    ghe = "https://github.example.com/api/v3"
    fake_github.post(f"{ghe}/repos/octocat/Hello-World/issues", status=201,
                     json=recorded("issues_create_201"))
    r = run_action(github_connection({"base_url": ghe}), "create_issue",
                   {**OWNER_REPO, "title": "On GHE"})
    assert r.status_code == 200
    assert len(fake_github.calls) == 1


def test_the_token_is_masked_when_the_connection_is_shown(github_connection):
    conn = github_connection()
    assert TOKEN not in json.dumps(conn)
    assert set(conn["credentials"]) == {"token", "webhook_secret"}
