"""Sample webhook payloads of the GitHub triggers, trimmed from real deliveries (pure data).

A stored event's payload is the delivery's JSON body as GitHub sent it.
"""
from __future__ import annotations

from typing import Any

_SENDER = {"login": "octocat", "id": 583231, "type": "User",
           "html_url": "https://github.com/octocat"}
_REPO = {
    "id": 1296269,
    "name": "Hello-World",
    "full_name": "octocat/Hello-World",
    "private": False,
    "owner": {"login": "octocat", "id": 583231, "type": "User"},
    "html_url": "https://github.com/octocat/Hello-World",
    "default_branch": "main",
}
_INSTALLATION = {"id": 2311213}


def _delivery(**fields: Any) -> dict[str, Any]:
    return {**fields, "repository": _REPO, "sender": _SENDER}


def _pull(state: str, merged: bool) -> dict[str, Any]:
    return {
        "id": 1934465103,
        "number": 42,
        "state": state,
        "title": "Add retry with backoff to the uploader",
        "body": "Fixes #41.",
        "draft": False,
        "html_url": "https://github.com/octocat/Hello-World/pull/42",
        "user": _SENDER,
        "labels": [{"id": 208045946, "name": "enhancement", "color": "a2eeef"}],
        "head": {"ref": "retry-backoff", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
        "base": {"ref": "main", "sha": "8a4b1c7f2f0e5d3b9c6a1e2f3d4c5b6a7e8f9a0b"},
        "created_at": "2024-06-01T09:12:44Z",
        "updated_at": "2024-06-02T16:03:10Z",
        "closed_at": None if state == "open" else "2024-06-02T16:03:10Z",
        "merged": merged,
        "merged_at": "2024-06-02T16:03:10Z" if merged else None,
        "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6" if merged else None,
        "commits": 3,
        "additions": 120,
        "deletions": 14,
        "changed_files": 4,
    }


_ISSUE = {
    "id": 2331004417,
    "number": 41,
    "title": "Uploads fail on flaky networks",
    "body": "The uploader gives up after one timeout.",
    "state": "open",
    "html_url": "https://github.com/octocat/Hello-World/issues/41",
    "user": _SENDER,
    "labels": [{"id": 208045947, "name": "bug", "color": "d73a4a"}],
    "assignees": [],
    "comments": 0,
    "created_at": "2024-05-31T08:00:00Z",
    "updated_at": "2024-05-31T08:00:00Z",
    "closed_at": None,
}

PULL_REQUEST_OPENED = _delivery(action="opened", number=42, pull_request=_pull("open", False),
                                installation=_INSTALLATION)
PULL_REQUEST_CLOSED = _delivery(action="closed", number=42, pull_request=_pull("closed", False),
                                installation=_INSTALLATION)
PULL_REQUEST_MERGED = _delivery(action="closed", number=42, pull_request=_pull("closed", True),
                                installation=_INSTALLATION)
ISSUE_OPENED = _delivery(action="opened", issue=_ISSUE)
ISSUE_CLOSED = _delivery(action="closed", issue={
    **_ISSUE, "state": "closed", "state_reason": "completed",
    "closed_at": "2024-06-02T16:03:11Z", "updated_at": "2024-06-02T16:03:11Z"})
ISSUE_COMMENT_CREATED = _delivery(action="created", issue=_ISSUE, comment={
    "id": 2143306702,
    "body": "Reproduced on v1.4.2 as well.",
    "html_url": "https://github.com/octocat/Hello-World/issues/41#issuecomment-2143306702",
    "user": {"login": "hubot", "id": 1, "type": "User"},
    "created_at": "2024-05-31T10:20:00Z",
    "updated_at": "2024-05-31T10:20:00Z",
})
PUSH = _delivery(
    ref="refs/heads/main",
    before="8a4b1c7f2f0e5d3b9c6a1e2f3d4c5b6a7e8f9a0b",
    after="e5bd3914e2e596debea16f433f57875b5b90bcd6",
    created=False,
    deleted=False,
    forced=False,
    compare="https://github.com/octocat/Hello-World/compare/8a4b1c7f2f0e...e5bd3914e2e5",
    pusher={"name": "octocat", "email": "octocat@github.com"},
    commits=[{
        "id": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
        "message": "Merge pull request #42 from octocat/retry-backoff",
        "timestamp": "2024-06-02T16:03:10Z",
        "url": "https://github.com/octocat/Hello-World/commit/e5bd3914e2e5",
        "author": {"name": "The Octocat", "email": "octocat@github.com", "username": "octocat"},
        "added": [], "removed": [], "modified": ["uploader/retry.py"],
    }],
    head_commit={"id": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
                 "message": "Merge pull request #42 from octocat/retry-backoff"},
)
RELEASE_PUBLISHED = _delivery(action="published", release={
    "id": 158003429,
    "tag_name": "v1.5.0",
    "name": "v1.5.0",
    "target_commitish": "main",
    "draft": False,
    "prerelease": False,
    "body": "Uploads now retry with backoff.",
    "html_url": "https://github.com/octocat/Hello-World/releases/tag/v1.5.0",
    "author": _SENDER,
    "created_at": "2024-06-03T12:00:00Z",
    "published_at": "2024-06-03T12:05:00Z",
})
WORKFLOW_RUN_COMPLETED = _delivery(action="completed", workflow={
    "id": 161335, "name": "CI", "path": ".github/workflows/ci.yml",
}, workflow_run={
    "id": 9372010842,
    "name": "CI",
    "run_number": 512,
    "event": "push",
    "status": "completed",
    "conclusion": "failure",
    "head_branch": "main",
    "head_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
    "html_url": "https://github.com/octocat/Hello-World/actions/runs/9372010842",
    "run_started_at": "2024-06-02T16:03:20Z",
    "updated_at": "2024-06-02T16:09:02Z",
})
