"""Request bodies sent to Asana, the compact shapes returned to workflows, and how webhook
events map to triggers."""
from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

# The task fields every task action asks for (``opt_fields``) and returns.
TASK_FIELDS = ("name,notes,completed,completed_at,due_on,due_at,assignee.name,projects.name,"
               "workspace.name,parent.name,permalink_url,created_at,modified_at")
PROJECT_FIELDS = "name,archived,permalink_url,workspace.name"


def wire(value: Any) -> Any:
    """A loaded input value as Asana expects it: dates as YYYY-MM-DD, times in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def task_body(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The ``data`` block of a task write: the given fields among ``names``, nulls kept (an
    update sends null to clear a field)."""
    return {name: wire(data[name]) for name in names if name in data}


def ref(obj: Any) -> dict[str, Any] | None:
    """``{gid, name}`` of a compact record, or None."""
    if not isinstance(obj, dict) or not obj.get("gid"):
        return None
    return {"gid": str(obj["gid"]), "name": obj.get("name")}


def task(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "gid": str(t["gid"]),
        "name": t.get("name"),
        "notes": t.get("notes"),
        "completed": bool(t.get("completed", False)),
        "completed_at": t.get("completed_at"),
        "due_on": t.get("due_on"),
        "due_at": t.get("due_at"),
        "assignee": ref(t.get("assignee")),
        "projects": [r for r in map(ref, t.get("projects") or []) if r],
        "workspace": ref(t.get("workspace")),
        "parent": ref(t.get("parent")),
        "permalink_url": t.get("permalink_url"),
        "created_at": t.get("created_at"),
        "modified_at": t.get("modified_at"),
    }


def project(p: dict[str, Any]) -> dict[str, Any]:
    return {"gid": str(p["gid"]), "name": p.get("name"), "archived": p.get("archived"),
            "permalink_url": p.get("permalink_url"), "workspace": ref(p.get("workspace"))}


def workspace(w: dict[str, Any]) -> dict[str, Any]:
    return {"gid": str(w["gid"]), "name": w.get("name"),
            "is_organization": w.get("is_organization")}


def story(s: dict[str, Any], task_gid: str) -> dict[str, Any]:
    return {"gid": str(s["gid"]), "task_gid": task_gid, "text": s.get("text"),
            "is_pinned": bool(s.get("is_pinned", False)), "created_at": s.get("created_at"),
            "created_by": ref(s.get("created_by"))}


def webhook(w: dict[str, Any]) -> dict[str, Any]:
    """The new webhook; never its ``X-Hook-Secret`` (a credential, adopted by the handshake)."""
    resource = w.get("resource") or {}
    return {"gid": str(w["gid"]), "active": w.get("active"), "target": w.get("target"),
            "resource": {"gid": str(resource.get("gid", "")),
                         "resource_type": resource.get("resource_type"),
                         "name": resource.get("name")},
            "created_at": w.get("created_at")}


# -- webhook events ------------------------------------------------------------------------------

# Parents a task is "added" to that make it a new task of the watched project: a project, or a
# parent task (a new subtask). Additions to a section or tag come with the project's own event
# or are moves, so they are not a new task.
_NEW_TASK_PARENTS = frozenset({"project", "task"})


def trigger_name(event: dict[str, Any]) -> str | None:
    """The trigger one Asana event maps to, or None to ignore it.

    Asana's webhook events are compact (https://developers.asana.com/reference/events): the
    resource's gid and type, the action, the parent for additions and the changed field's name,
    without the new value unless it is a resource. So a change of ``completed`` does not say
    whether the task was completed or reopened: ``task_completed`` fires for both (a workflow
    reads the task with ``get_task``).
    """
    resource = event.get("resource") if isinstance(event.get("resource"), dict) else {}
    kind = resource.get("resource_type") or event.get("type")
    action = event.get("action")
    parent = event.get("parent") if isinstance(event.get("parent"), dict) else {}
    if kind == "task":
        if action == "added":
            return "task_created" if parent.get("resource_type") in _NEW_TASK_PARENTS else None
        if action == "changed":
            change = event.get("change") if isinstance(event.get("change"), dict) else {}
            return "task_completed" if change.get("field") == "completed" else "task_updated"
        if action == "deleted":
            return "task_deleted"
        return None
    is_comment = resource.get("resource_subtype") == "comment_added"
    if kind == "story" and action == "added" and is_comment:
        return "comment_added"
    return None


def delivery_id(event: dict[str, Any]) -> str:
    """A stable id for one event, so Asana's redeliveries (it retries for 24 h) de-duplicate.

    Asana gives events no id. The resource gid, the action and ``created_at`` (milliseconds)
    name an event; the changed field or the parent tell apart the events one request makes at
    the same instant (a task's assignee and due date changed together, a task added to a project
    and to its section).
    """
    resource = event.get("resource") if isinstance(event.get("resource"), dict) else {}
    change = event.get("change") if isinstance(event.get("change"), dict) else {}
    parent = event.get("parent") if isinstance(event.get("parent"), dict) else {}
    which = change.get("field") or parent.get("gid") or ""
    return (f"{resource.get('gid', '')}:{event.get('action', '')}:{which}:"
            f"{event.get('created_at', '')}")
