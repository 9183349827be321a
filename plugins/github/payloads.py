"""The compact shapes returned to workflows, and webhook event names."""
from __future__ import annotations

from typing import Any


def _login(user: dict[str, Any] | None) -> str | None:
    return (user or {}).get("login")


def issue(i: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": i["number"],
        "id": i["id"],
        "title": i.get("title"),
        "state": i.get("state"),
        "html_url": i.get("html_url"),
        "url": i.get("url"),
        "user": _login(i.get("user")),
        "labels": [label["name"] if isinstance(label, dict) else label
                   for label in i.get("labels") or []],
        "assignees": [_login(a) for a in i.get("assignees") or []],
        "comments": i.get("comments", 0),
        "is_pull_request": "pull_request" in i,
        "created_at": i.get("created_at"),
        "updated_at": i.get("updated_at"),
    }


def pull_request(p: dict[str, Any]) -> dict[str, Any]:
    head, base = p.get("head") or {}, p.get("base") or {}
    return {
        "number": p["number"],
        "id": p["id"],
        "title": p.get("title"),
        "state": p.get("state"),
        "draft": p.get("draft", False),
        "html_url": p.get("html_url"),
        "user": _login(p.get("user")),
        "head_ref": head.get("ref"),
        "head_sha": head.get("sha"),
        "base_ref": base.get("ref"),
        "labels": [label["name"] for label in p.get("labels") or []],
        "created_at": p.get("created_at"),
        "updated_at": p.get("updated_at"),
        "merged_at": p.get("merged_at"),
    }


def pull_request_detail(p: dict[str, Any]) -> dict[str, Any]:
    """:func:`pull_request` plus what only the single-PR endpoint returns."""
    return {
        **pull_request(p),
        "body": p.get("body"),
        "merged": p.get("merged", False),
        "mergeable": p.get("mergeable"),
        "mergeable_state": p.get("mergeable_state"),
        "requested_reviewers": [_login(u) for u in p.get("requested_reviewers") or []],
        "commits": p.get("commits"),
        "additions": p.get("additions"),
        "deletions": p.get("deletions"),
        "changed_files": p.get("changed_files"),
    }


# (X-GitHub-Event, payload action) -> trigger. Anything else is acknowledged and not stored.
_EVENTS = {
    ("pull_request", "opened"): "pull_request_opened",
    ("pull_request", "closed"): "pull_request_closed",
    ("issues", "opened"): "issue_opened",
    ("issues", "closed"): "issue_closed",
    ("issue_comment", "created"): "issue_comment_created",
    ("push", None): "push",
    ("release", "published"): "release_published",
    ("workflow_run", "completed"): "workflow_run_completed",
}


def trigger_name(event: str, payload: dict[str, Any]) -> str | None:
    """The trigger a delivery maps to, or None for events no trigger covers (``ping`` too)."""
    name = _EVENTS.get((event, payload.get("action")))
    if name == "pull_request_closed" and (payload.get("pull_request") or {}).get("merged"):
        return "pull_request_merged"
    return name
