"""The shapes the Tableau actions return and how a webhook delivery becomes an event.

Tableau's JSON answers keep its XML's nesting (``{"workbooks": {"workbook": [...]}}``) and send
numbers of ``pagination`` as strings. Webhook payloads: the current reference
(https://help.tableau.com/current/developer/webhooks/en-us/docs/webhooks-events-payload.html)
names ``resource``, ``event_type``, ``resource_name``, ``site_luid``, ``resource_luid``,
``created_at``; the 2019 README of tableau/webhooks-docs spelt them ``event-type``,
``resource-name``, ``site-id``, ``resource-id``, ``createdAt`` (verify which a current server
sends): both are read, and a workflow gets one shape.
"""
from __future__ import annotations

import hashlib
from typing import Any

# The payload's event_type -> trigger.
TRIGGERS = {
    "WorkbookRefreshSucceeded": "workbook_refresh_succeeded",
    "WorkbookRefreshFailed": "workbook_refresh_failed",
    "DatasourceRefreshSucceeded": "datasource_refresh_succeeded",
    "DatasourceRefreshFailed": "datasource_refresh_failed",
    "WorkbookCreated": "workbook_created",
    "ViewDeleted": "view_deleted",
}
# finishCode of a job (Query Job): 0 success, 1 failed, 2 cancelled.
FINISH = {"0": "succeeded", "1": "failed", "2": "cancelled"}


def _ref(obj: Any) -> str | None:
    return str(obj["id"]) if isinstance(obj, dict) and obj.get("id") else None


def _tags(item: dict[str, Any]) -> list[str]:
    tags = (item.get("tags") or {}).get("tag") if isinstance(item.get("tags"), dict) else None
    return [str(t.get("label")) for t in tags or [] if isinstance(t, dict) and t.get("label")]


def workbook(w: dict[str, Any]) -> dict[str, Any]:
    project = w.get("project") if isinstance(w.get("project"), dict) else {}
    return {"id": w["id"], "name": w.get("name"), "content_url": w.get("contentUrl"),
            "webpage_url": w.get("webpageUrl"), "project_id": project.get("id"),
            "project_name": project.get("name"), "owner_id": _ref(w.get("owner")),
            "default_view_id": w.get("defaultViewId"), "size": _int(w.get("size")),
            "created_at": w.get("createdAt"), "updated_at": w.get("updatedAt"),
            "tags": _tags(w)}


def view(v: dict[str, Any]) -> dict[str, Any]:
    return {"id": v["id"], "name": v.get("name"), "content_url": v.get("contentUrl"),
            "view_url_name": v.get("viewUrlName"), "workbook_id": _ref(v.get("workbook")),
            "project_id": _ref(v.get("project")), "owner_id": _ref(v.get("owner")),
            "created_at": v.get("createdAt"), "updated_at": v.get("updatedAt"),
            "tags": _tags(v)}


def job(j: dict[str, Any]) -> dict[str, Any]:
    refresh = j.get("extractRefreshJob") if isinstance(j.get("extractRefreshJob"), dict) else {}
    code = j.get("finishCode")
    if code is not None:
        status = FINISH.get(str(code), "unknown")
    else:
        status = "in_progress" if j.get("startedAt") else "queued"
    return {"id": j["id"], "type": j.get("type"), "mode": j.get("mode"),
            "progress": _int(j.get("progress")), "status": status,
            "finish_code": None if code is None else str(code),
            "created_at": j.get("createdAt"), "started_at": j.get("startedAt"),
            "completed_at": j.get("completedAt"),
            "workbook_id": _ref(refresh.get("workbook")),
            "datasource_id": _ref(refresh.get("datasource")),
            "notes": refresh.get("notes") or j.get("statusNotes")}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _pick(body: dict[str, Any], *names: str) -> Any:
    return next((body[n] for n in names if body.get(n) not in (None, "")), None)


def event(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``(trigger, payload)`` of a delivery, or None for an event no trigger covers."""
    kind = _pick(body, "event_type", "event-type")
    name = TRIGGERS.get(str(kind)) if kind else None
    if name is None:
        return None
    resource_id = _pick(body, "resource_luid", "resource-luid", "resource_id", "resource-id")
    return name, {"event_type": kind, "resource": body.get("resource"),
                  "resource_name": _pick(body, "resource_name", "resource-name"),
                  "resource_id": None if resource_id is None else str(resource_id),
                  "site_id": _pick(body, "site_luid", "site-luid", "site_id", "site-id"),
                  "created_at": _pick(body, "created_at", "createdAt")}


def delivery_id(raw: bytes) -> str:
    """Tableau's duplicates have identical bodies: the body's digest identifies a delivery."""
    return "tableau:" + hashlib.sha256(raw).hexdigest()
