"""The shapes the Zendesk actions return and the events its webhooks become.

Two kinds of delivery are accepted (both signed the same way):

- **Event-subscribed webhooks** (Admin Center > Webhooks, subscribed to ``zen:event-type:
  ticket.*``): Zendesk's own body, ``{"type": "zen:event-type:ticket.created", "id", "time",
  "account_id", "subject": "zen:ticket:<id>", "detail": {the ticket}, "event": {the change}}``
  (https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/). In
  ``detail`` ids are strings and status/priority/type are upper case; they are normalised.
- **Trigger- or automation-connected webhooks**: the body is what the admin writes in the
  trigger. ATOM reads the JSON body of :data:`TRIGGER_BODY` (``atom_event`` names the trigger;
  placeholders render as text, tags space-separated).

Either way a workflow gets the same shape: ``{"event_id", "event_type", "time", "account_id",
"actor_id", "ticket": {...}, "change": {"field", "previous", "current"} | None, "comment"}``.
"""
from __future__ import annotations

import hashlib
from typing import Any

EVENT_PREFIX = "zen:event-type:ticket."
# Paste as the JSON body of a trigger's "Notify by > Active webhook" action.
TRIGGER_BODY = {
    "atom_event": "ticket_updated",
    "ticket": {"id": "{{ticket.id}}", "subject": "{{ticket.title}}",
               "status": "{{ticket.status}}", "priority": "{{ticket.priority}}",
               "type": "{{ticket.ticket_type}}", "requester_id": "{{ticket.requester.id}}",
               "assignee_id": "{{ticket.assignee.id}}", "group_id": "{{ticket.group.id}}",
               "organization_id": "{{ticket.organization.id}}", "tags": "{{ticket.tags}}",
               "created_at": "{{ticket.created_at_with_timestamp}}",
               "updated_at": "{{ticket.updated_at_with_timestamp}}"},
}
# ticket.<event> -> the field it changes (zen:event-type:ticket.priority_changed ...).
CHANGED = {"status_changed": "status", "priority_changed": "priority",
           "subject_changed": "subject", "tags_changed": "tags", "type_changed": "type",
           "agent_assignment_changed": "assignee_id", "group_assignment_changed": "group_id",
           "custom_status_changed": "custom_status_id"}


def ticket(t: dict[str, Any]) -> dict[str, Any]:
    """A ticket of the REST API (``GET /tickets/{id}``) as the actions return it."""
    return {"id": t["id"], "subject": t.get("subject"), "description": t.get("description"),
            "status": t.get("status"), "priority": t.get("priority"), "type": t.get("type"),
            "requester_id": t.get("requester_id"), "submitter_id": t.get("submitter_id"),
            "assignee_id": t.get("assignee_id"), "group_id": t.get("group_id"),
            "organization_id": t.get("organization_id"), "tags": list(t.get("tags") or []),
            "external_id": t.get("external_id"), "due_at": t.get("due_at"),
            "created_at": t.get("created_at"), "updated_at": t.get("updated_at"),
            "via_channel": (t.get("via") or {}).get("channel"),
            "custom_fields": [{"id": f.get("id"), "value": f.get("value")}
                              for f in t.get("custom_fields") or [] if isinstance(f, dict)],
            "url": t.get("url")}


def comment_of(audit: dict[str, Any] | None) -> dict[str, Any] | None:
    """The comment event of an update's audit (``audit.events[type=Comment]``)."""
    for event in (audit or {}).get("events") or []:
        if isinstance(event, dict) and event.get("type") == "Comment":
            return event
    return None


def _int(value: Any) -> Any:
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        return int(value)
    return None if value in ("", None) else value


def _low(value: Any) -> Any:
    return value.lower() if isinstance(value, str) and value else None


def _tags(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(t) for t in value]
    return str(value).split() if value else []


def _event_ticket(d: dict[str, Any]) -> dict[str, Any]:
    return {"id": _int(d.get("id")), "subject": d.get("subject"), "status": _low(d.get("status")),
            "priority": _low(d.get("priority")), "type": _low(d.get("type")),
            "requester_id": _int(d.get("requester_id")),
            "assignee_id": _int(d.get("assignee_id")), "group_id": _int(d.get("group_id")),
            "organization_id": _int(d.get("organization_id")), "tags": _tags(d.get("tags")),
            "created_at": d.get("created_at") or None, "updated_at": d.get("updated_at") or None,
            "via_channel": (d.get("via") or {}).get("channel")
            if isinstance(d.get("via"), dict) else None}


def _change(kind: str, event: dict[str, Any]) -> dict[str, Any] | None:
    field = CHANGED.get(kind)
    if field is None or not isinstance(event, dict):
        return None
    previous, current = event.get("previous"), event.get("current")
    if field in ("status", "priority", "type"):
        previous, current = _low(previous), _low(current)
    elif field.endswith("_id"):
        previous, current = _int(previous), _int(current)
    return {"field": field, "previous": previous, "current": current}


def normalise(body: dict[str, Any], digest: str) -> tuple[str, dict[str, Any]] | None:
    """``(kind, payload)`` of a delivery: kind is the ticket event (``created``,
    ``priority_changed``, ...) or the trigger body's ``atom_event``; None when the body is
    neither shape (acknowledged, not stored)."""
    kind = body.get("type")
    if isinstance(kind, str) and kind.startswith(EVENT_PREFIX) and isinstance(
            body.get("detail"), dict):
        kind = kind[len(EVENT_PREFIX):]
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        comment = event.get("comment") if kind == "comment_added" else None
        return kind, {
            "event_id": str(body.get("id") or digest), "event_type": body["type"],
            "time": body.get("time"), "account_id": body.get("account_id"),
            "actor_id": _int(body["detail"].get("actor_id")),
            "ticket": _event_ticket(body["detail"]), "change": _change(kind, event),
            "comment": _comment(comment) if isinstance(comment, dict) else None}
    if isinstance(body.get("ticket"), dict) and _int(body["ticket"].get("id")):
        atom_event = body.get("atom_event") if isinstance(body.get("atom_event"), str) else None
        return atom_event or "ticket_updated", {
            "event_id": digest, "event_type": "trigger", "time": body["ticket"].get("updated_at"),
            "account_id": None, "actor_id": None, "ticket": _event_ticket(body["ticket"]),
            "change": None, "comment": None}
    return None


def _comment(c: dict[str, Any]) -> dict[str, Any]:
    author = c.get("author") if isinstance(c.get("author"), dict) else {}
    return {"id": _int(c.get("id")), "body": c.get("body"), "public": c.get("is_public"),
            "author_id": _int(author.get("id"))}


def triggers_of(kind: str, payload: dict[str, Any]) -> list[str]:
    """The triggers a delivery fires: created or updated, and urgent when the ticket is urgent
    as it is created or its priority becomes urgent; a trigger body names its own."""
    if payload["event_type"] == "trigger":
        return [kind]
    fired = ["ticket_created" if kind == "created" else "ticket_updated"]
    if kind == "comment_added":
        fired.append("ticket_comment_added")
    change = payload.get("change") or {}
    if (kind == "created" and payload["ticket"]["priority"] == "urgent") or (
            change.get("field") == "priority" and change.get("current") == "urgent"):
        fired.append("ticket_priority_urgent")
    return fired


def body_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()

