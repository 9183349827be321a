"""The compact shapes returned to workflows, and webhook event names."""
from __future__ import annotations

from typing import Any


def _user(u: Any) -> str | None:
    return u.get("username") if isinstance(u, dict) else None


def _labels(labels: Any) -> list[str]:
    # Strings by default; objects with with_labels_details=true.
    return [lb.get("name") if isinstance(lb, dict) else lb for lb in labels or []]


def issue(i: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": i["id"],
        "iid": i["iid"],
        "project_id": i.get("project_id"),
        "title": i.get("title"),
        "description": i.get("description"),
        "state": i.get("state"),
        "labels": _labels(i.get("labels")),
        "author": _user(i.get("author")),
        "assignees": [_user(a) for a in i.get("assignees") or []],
        "web_url": i.get("web_url"),
        "due_date": i.get("due_date"),
        "created_at": i.get("created_at"),
        "updated_at": i.get("updated_at"),
        "closed_at": i.get("closed_at"),
    }


def note(n: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": n["id"],
        "body": n.get("body"),
        "author": _user(n.get("author")),
        "noteable_type": n.get("noteable_type"),
        "noteable_iid": n.get("noteable_iid"),
        "internal": bool(n.get("internal", n.get("confidential", False))),
        "system": bool(n.get("system", False)),
        "created_at": n.get("created_at"),
    }


def project(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["id"],
        "name": p.get("name"),
        "path_with_namespace": p.get("path_with_namespace"),
        "description": p.get("description"),
        "default_branch": p.get("default_branch"),
        "visibility": p.get("visibility"),
        "web_url": p.get("web_url"),
        "archived": bool(p.get("archived", False)),
        "last_activity_at": p.get("last_activity_at"),
    }


def pipeline(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["id"],
        "iid": p.get("iid"),
        "project_id": p.get("project_id"),
        "ref": p.get("ref"),
        "sha": p.get("sha"),
        "status": p.get("status"),
        "source": p.get("source"),
        "web_url": p.get("web_url"),
        "created_at": p.get("created_at"),
        "updated_at": p.get("updated_at"),
    }


def merge_request(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": m["id"],
        "iid": m["iid"],
        "project_id": m.get("project_id"),
        "title": m.get("title"),
        "state": m.get("state"),
        "draft": bool(m.get("draft", m.get("work_in_progress", False))),
        "source_branch": m.get("source_branch"),
        "target_branch": m.get("target_branch"),
        "author": _user(m.get("author")),
        "labels": _labels(m.get("labels")),
        "detailed_merge_status": m.get("detailed_merge_status"),
        "web_url": m.get("web_url"),
        "created_at": m.get("created_at"),
        "updated_at": m.get("updated_at"),
        "merged_at": m.get("merged_at"),
    }


# X-Gitlab-Event names, for a payload without object_kind (webhook_events.md).
_EVENT_KINDS = {"Issue Hook": "issue", "Confidential Issue Hook": "issue",
                "Merge Request Hook": "merge_request", "Note Hook": "note",
                "Confidential Note Hook": "note", "Pipeline Hook": "pipeline",
                "Push Hook": "push"}
_ACTIONS = {("issue", "open"): "issue_opened", ("issue", "close"): "issue_closed",
            ("merge_request", "open"): "merge_request_opened",
            ("merge_request", "merge"): "merge_request_merged"}
FINISHED = frozenset({"success", "failed"})


def trigger_name(event_header: str, payload: dict[str, Any]) -> str | None:
    """The trigger a delivery maps to (from ``object_kind`` and ``object_attributes``), or
    None to acknowledge it without storing."""
    kind = payload.get("object_kind") or _EVENT_KINDS.get(event_header)
    attrs = payload.get("object_attributes")
    attrs = attrs if isinstance(attrs, dict) else {}
    if kind in ("issue", "merge_request"):
        return _ACTIONS.get((kind, attrs.get("action")))
    if kind == "note":
        # "action" exists since GitLab 16.11 (create/update); older deliveries are creations.
        return "note_created" if attrs.get("action", "create") == "create" else None
    if kind == "pipeline":
        return "pipeline_finished" if attrs.get("status") in FINISHED else None
    if kind == "push":
        return "push"
    return None
