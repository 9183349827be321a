"""Form bodies sent to Slack and the compact shapes returned to workflows."""
from __future__ import annotations

import json
from typing import Any


def form(**values: Any) -> dict[str, str]:
    """Encode values the way Slack's form-encoded methods expect them.

    ``None`` is left out, booleans become ``true``/``false`` (Python's ``True`` is rejected as
    not a boolean) and lists or objects (``blocks``) are sent as JSON strings.
    """
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, dict)):
            out[key] = json.dumps(value, separators=(",", ":"))
        else:
            out[key] = str(value)
    return out


def channel(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": c["id"],
        "name": c.get("name"),
        "is_private": c.get("is_private", False),
        "is_archived": c.get("is_archived", False),
        "is_member": c.get("is_member"),
        "num_members": c.get("num_members"),
        "topic": (c.get("topic") or {}).get("value"),
        "created": c.get("created"),
    }


def message(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "ts": m["ts"],
        "user": m.get("user"),
        "bot_id": m.get("bot_id"),
        "text": m.get("text", ""),
        "subtype": m.get("subtype"),
        "thread_ts": m.get("thread_ts"),
        "reply_count": m.get("reply_count", 0),
    }


def user(u: dict[str, Any]) -> dict[str, Any]:
    profile = u.get("profile") or {}
    return {
        "id": u["id"],
        "name": u.get("name"),
        "real_name": u.get("real_name") or profile.get("real_name"),
        "display_name": profile.get("display_name"),
        "email": profile.get("email"),
        "is_bot": u.get("is_bot", False),
        "is_admin": u.get("is_admin", False),
        "deleted": u.get("deleted", False),
        "tz": u.get("tz"),
    }


# Message subtypes that are a new message someone posted (edits, joins, deletions are not).
_POSTED_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "bot_message", "me_message"})
_EVENT_TRIGGERS = {
    "app_mention": "app_mentioned",
    "reaction_added": "reaction_added",
    "channel_created": "channel_created",
    "member_joined_channel": "member_joined",
}


def trigger_name(envelope: dict[str, Any]) -> str | None:
    """The trigger an Events API ``event_callback`` delivery maps to, or None to ignore it."""
    event = envelope.get("event") or {}
    kind = event.get("type")
    if kind != "message":
        return _EVENT_TRIGGERS.get(kind)
    if event.get("subtype") not in _POSTED_SUBTYPES:
        return None
    # The app's own posts come back as events too: a workflow that answers messages would
    # otherwise answer itself forever.
    app_id = event.get("app_id") or (event.get("bot_profile") or {}).get("app_id")
    if app_id and app_id == envelope.get("api_app_id"):
        return None
    return "message_posted"
