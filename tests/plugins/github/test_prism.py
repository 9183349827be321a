"""The health check and every action against Prism serving GitHub's official description.

An HTTP 200 from our API means Prism accepted the request as valid for the spec: a request it
rejects (a missing title, a bad ``state`` enum, an unknown path, a bare vendor Accept type)
comes back as an error. The description declares no security scheme, so auth is not checked.
"""
from __future__ import annotations

import pytest

from plugins.github.manifest import MANIFEST

pytestmark = pytest.mark.prism

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
REPO = {"owner": "octocat", "repo": "Hello-World"}

# Inputs per action and what the description's example answers must turn into. Listings ask
# for one item: Prism's Link header always points at https://api.github.com, another host.
CASES = {
    "create_issue": (
        {**REPO, "title": "Found a bug", "body": "I'm having a problem with this.",
         "labels": ["bug"], "assignees": ["octocat"]},
        {"number": 1347, "title": "Found a bug", "state": "open",
         "html_url": "https://github.com/octocat/Hello-World/issues/1347"},
    ),
    "comment_on_issue": (
        {**REPO, "issue_number": 1347, "body": "Me too"},
        {"id": 1, "issue_number": 1347,
         "html_url": "https://github.com/octocat/Hello-World/issues/1347#issuecomment-1"},
    ),
    "add_labels": (
        {**REPO, "issue_number": 1347, "labels": ["bug", "enhancement"]},
        {"issue_number": 1347, "labels": ["bug", "enhancement"]},
    ),
    "create_commit_status": (
        {**REPO, "sha": SHA, "state": "success", "context": "atom/deploy",
         "description": "Deployed", "target_url": "https://atom.example.com/runs/7"},
        {"id": 1, "state": "success"},
    ),
    "list_pull_requests": (
        {**REPO, "state": "all", "base": "main", "sort": "updated", "max_items": 1},
        {"count": 1},
    ),
    "get_pull_request": (
        {**REPO, "pull_number": 1347},
        {"number": 1347, "merged": False, "mergeable": True, "commits": 3, "additions": 100,
         "head_sha": SHA},
    ),
    "list_issues": (
        {**REPO, "labels": ["bug", "ui"], "since": "2024-01-01T00:00:00+02:00",
         "include_pull_requests": True, "max_items": 1},
        {"count": 1},
    ),
    "dispatch_repository_event": (
        {**REPO, "event_type": "atom-deploy", "client_payload": {"env": "staging"}},
        {"dispatched": True, "event_type": "atom-deploy"},
    ),
}


@pytest.fixture
def prism_github(prism, github_connection):
    return github_connection({"base_url": prism("github"), "max_attempts": 1,
                              "rate_limit_per_second": 100, "rate_limit_burst": 100})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_github, check_connection):
    r = check_connection(prism_github)
    assert r.status_code == 200
    assert r.get_json()["ok"] is True, r.get_json()


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_github, run_action, action):
    given, expected = CASES[action]
    r = run_action(prism_github, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected


def test_list_pull_requests_returns_compact_pull_requests(prism_github, run_action):
    r = run_action(prism_github, "list_pull_requests", {**REPO, "max_items": 1})
    (pull,) = r.get_json()["output"]["pull_requests"]
    assert pull["number"] == 1347
    assert (pull["head_ref"], pull["base_ref"], pull["head_sha"]) == ("new-topic", "master", SHA)
    assert pull["user"] == "octocat"


def test_a_next_page_on_another_host_is_never_requested(prism_github, run_action):
    # Following Prism's Link to api.github.com would send this connection's token elsewhere.
    r = run_action(prism_github, "list_pull_requests", {**REPO, "max_items": 5})
    assert r.status_code == 502
    body = r.get_json()
    assert body["code"] == "upstream" and "another host" in body["message"]

