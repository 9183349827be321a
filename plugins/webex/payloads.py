"""The compact shapes the Webex actions return, and how a delivery maps to a trigger.

A meeting's ``password`` and a webhook's ``secret`` are never returned.
"""
from __future__ import annotations

import hashlib
from typing import Any


def message(m: dict[str, Any]) -> dict[str, Any]:
    return {"id": m["id"], "room_id": m.get("roomId"), "room_type": m.get("roomType"),
            "parent_id": m.get("parentId"), "text": m.get("text"), "markdown": m.get("markdown"),
            "person_id": m.get("personId"), "person_email": m.get("personEmail"),
            "to_person_email": m.get("toPersonEmail"),
            "mentioned_people": list(m.get("mentionedPeople") or []),
            "created": m.get("created")}


def room(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "title": r.get("title"), "type": r.get("type"),
            "is_locked": r.get("isLocked"), "team_id": r.get("teamId"),
            "last_activity": r.get("lastActivity"), "creator_id": r.get("creatorId"),
            "created": r.get("created")}


def membership(m: dict[str, Any]) -> dict[str, Any]:
    return {"id": m["id"], "room_id": m.get("roomId"), "person_id": m.get("personId"),
            "person_email": m.get("personEmail"),
            "person_display_name": m.get("personDisplayName"),
            "is_moderator": m.get("isModerator"), "created": m.get("created")}


def meeting(m: dict[str, Any]) -> dict[str, Any]:
    return {"id": m["id"], "meeting_number": m.get("meetingNumber"), "title": m.get("title"),
            "start": m.get("start"), "end": m.get("end"), "timezone": m.get("timezone"),
            "state": m.get("state"), "meeting_type": m.get("meetingType"),
            "web_link": m.get("webLink"), "sip_address": m.get("sipAddress"),
            "host_email": m.get("hostEmail"), "host_display_name": m.get("hostDisplayName")}


def webhook(w: dict[str, Any]) -> dict[str, Any]:
    return {"id": w["id"], "name": w.get("name"), "target_url": w.get("targetUrl"),
            "resource": w.get("resource"), "event": w.get("event"), "filter": w.get("filter"),
            "status": w.get("status"), "created": w.get("created"),
            "signed": bool(w.get("secret"))}


# (resource, event) of a delivery -> the trigger it fires.
TRIGGERS = {
    ("messages", "created"): "message_created",
    ("memberships", "created"): "membership_created",
    ("meetings", "started"): "meeting_started",
    ("meetings", "ended"): "meeting_ended",
    ("attachmentActions", "created"): "card_submitted",
}


def trigger_name(delivery: dict[str, Any]) -> str | None:
    """The trigger a webhook delivery maps to, or None to acknowledge it only.

    A message the webhook's own creator posted (the bot itself) fires nothing: a workflow that
    answers messages would otherwise answer itself forever.
    """
    name = TRIGGERS.get((delivery.get("resource"), delivery.get("event")))
    data = delivery.get("data")
    if name is None or not isinstance(data, dict) or not data.get("id"):
        return None
    if name == "message_created" and data.get("personId") and \
            data.get("personId") == delivery.get("createdBy"):
        return None
    return name


def delivery_id(delivery: dict[str, Any]) -> str:
    """The webhook's id, the event and the data's id: what a retry repeats. Webex gives a
    delivery no id of its own (``id`` is the webhook's). Hashed to fit the receiver's 200
    characters."""
    key = "\n".join(str(delivery.get(k) or "") for k in ("id", "resource", "event"))
    key += "\n" + str((delivery.get("data") or {}).get("id") or "")
    return "webex:" + hashlib.sha256(key.encode()).hexdigest()
