"""Graph request bodies and the compact shapes the Teams actions return.

Graph objects carry many navigation and settings properties; workflows get the fields below
(see the manifest's output schemas). A subscription's ``clientState`` is never returned: it is
the connection's secret.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

from atom.integrations.helpers import compact
from plugins.microsoft_common import graph_time  # noqa: F401 (the Teams helpers use it here)
from plugins.microsoft_common import parse_time  # noqa: F401


def message_body(data: dict[str, Any]) -> dict[str, Any]:
    """A chatMessage to create: ``body`` plus the optional subject and importance."""
    return compact(body={"contentType": data["content_type"], "content": data["text"]},
                   subject=data.get("subject"), importance=data.get("importance"))


def message(m: dict[str, Any], team_id: str | None = None,
            channel_id: str | None = None) -> dict[str, Any]:
    body = m.get("body") or {}
    sender = m.get("from") or {}
    user = sender.get("user") or {}
    app = sender.get("application") or {}
    channel = m.get("channelIdentity") or {}
    return {
        "id": m["id"],
        "message_type": m.get("messageType"),
        "created_at": m.get("createdDateTime"),
        "last_modified_at": m.get("lastModifiedDateTime"),
        "subject": m.get("subject"),
        "content_type": body.get("contentType"),
        "content": body.get("content"),
        "from_user_id": user.get("id"),
        "from_name": user.get("displayName") or app.get("displayName"),
        "reply_to_id": m.get("replyToId"),
        "team_id": channel.get("teamId") or team_id,
        "channel_id": channel.get("channelId") or channel_id,
        "chat_id": m.get("chatId"),
        "web_url": m.get("webUrl"),
    }


def team(t: dict[str, Any]) -> dict[str, Any]:
    return {"id": t["id"], "display_name": t.get("displayName"),
            "description": t.get("description"), "visibility": t.get("visibility"),
            "is_archived": t.get("isArchived"), "web_url": t.get("webUrl")}


def channel(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["id"], "display_name": c.get("displayName"),
            "description": c.get("description"), "membership_type": c.get("membershipType"),
            "email": c.get("email"), "web_url": c.get("webUrl"),
            "created_at": c.get("createdDateTime")}


def subscription(s: dict[str, Any]) -> dict[str, Any]:
    return {"id": s["id"], "resource": s.get("resource"), "change_type": s.get("changeType"),
            "notification_url": s.get("notificationUrl"),
            "expires_at": s.get("expirationDateTime")}


# -- change notifications ------------------------------------------------------------------------

# ``teams('{team}')/channels('{channel}')/messages('{id}')``, ``.../replies('{id}')`` and
# ``chats('{chat}')/messages('{id}')``, as Graph writes a notification's ``resource``.
_CHANNEL_RESOURCE = re.compile(
    r"^/?teams\('(?P<team_id>[^'/]+)'\)/channels\('(?P<channel_id>[^'/]+)'\)"
    r"/messages\('(?P<message_id>[^'/]+)'\)(?:/replies\('(?P<reply_id>[^'/]+)'\))?$", re.I)
_CHAT_RESOURCE = re.compile(
    r"^/?chats\('(?P<chat_id>[^'/]+)'\)/messages\('(?P<message_id>[^'/]+)'\)$", re.I)


def notification_trigger(note: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
    """The trigger a ``created`` chatMessage notification maps to, with the ids its resource
    names; None for other changes, lifecycle notifications and other resources."""
    if note.get("changeType") != "created" or note.get("lifecycleEvent"):
        return None
    resource = str(note.get("resource") or "")
    found = _CHANNEL_RESOURCE.match(resource)
    if found:
        ids = {k: v for k, v in found.groupdict().items() if v}
        return ("channel_reply_posted" if "reply_id" in ids else "channel_message_posted"), ids
    found = _CHAT_RESOURCE.match(resource)
    if found:
        return "chat_message_posted", found.groupdict()
    return None


def notification_delivery_id(note: dict[str, Any]) -> str:
    """Stable across Graph's redeliveries: the subscription, the change and the resource
    (hashed: resources run past the receiver's 200-character delivery id)."""
    key = "\n".join(str(note.get(k) or "") for k in ("subscriptionId", "changeType", "resource"))
    return "graph:" + hashlib.sha256(key.encode()).hexdigest()


def stored_notification(note: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """A notification as workflows see it: without ``clientState`` (the connection's secret),
    with the ids parsed from ``resource`` under ``ids``."""
    out = {k: v for k, v in note.items() if k != "clientState"}
    out["ids"] = ids
    return out
