"""Request bodies sent to Discord and the compact shapes returned to workflows."""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

from atom.integrations.helpers import compact
from atom.integrations.http import idempotency_scope
from plugins.discord.schemas import CHANNEL_TYPES

CHANNEL_TYPE_NAMES = {number: name for name, number in CHANNEL_TYPES.items()} | {
    1: "dm", 3: "group_dm", 10: "announcement_thread", 11: "public_thread",
    12: "private_thread", 14: "directory"}
PUBLIC_THREAD, PRIVATE_THREAD = 11, 12
# Message types people post (DEFAULT, REPLY); joins, pins and boosts are system messages.
USER_MESSAGE_TYPES = frozenset({0, 19})
# Interaction types, by the trigger each one starts (1 is PING, answered as a handshake; 4,
# autocomplete, must be answered with choices at once, which a workflow cannot do).
INTERACTION_TRIGGERS = {2: "command_invoked", 3: "component_used", 5: "modal_submitted"}
# What Discord expects as the answer to each kind of interaction when the answer comes later:
# DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE (5) for commands and modals, DEFERRED_UPDATE_MESSAGE (6)
# for components: the receiver sends them once the interaction is stored (webhook_answer).
DEFERRED_ANSWERS = {2: {"type": 5}, 3: {"type": 6}, 5: {"type": 5}}


def nonce() -> str:
    """A message nonce Discord de-duplicates on (``enforce_nonce``; at most 25 characters).

    Derived from the engine's idempotency key when the step runs under one, so a step that runs
    again after a crash posts once; else random, so the client's own retries post once.
    """
    scope = idempotency_scope.get()
    key = scope.next_key() if scope is not None else uuid.uuid4().hex
    return hashlib.sha256(key.encode()).hexdigest()[:25]


def message_body(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a new or edited message."""
    body = compact(content=data.get("content"), embeds=data.get("embeds"),
                   components=data.get("components"))
    if "mention_everyone" in data:
        parse = ["users", "roles"] + (["everyone"] if data["mention_everyone"] else [])
        body["allowed_mentions"] = {"parse": parse}
    if data.get("tts"):
        body["tts"] = True
    if data.get("reply_to"):
        body["message_reference"] = {"message_id": data["reply_to"],
                                     "fail_if_not_exists": False}
    return body


def user(u: dict[str, Any] | None) -> dict[str, Any] | None:
    if not u:
        return None
    return {"id": u["id"], "username": u.get("username"), "bot": bool(u.get("bot", False))}


def message(m: dict[str, Any]) -> dict[str, Any]:
    reference = m.get("message_reference") or {}
    return {
        "id": m["id"],
        "channel_id": m.get("channel_id"),
        "content": m.get("content", ""),
        "author": user(m.get("author")),
        "timestamp": m.get("timestamp"),
        "edited_timestamp": m.get("edited_timestamp"),
        "type": m.get("type", 0),
        "reply_to": reference.get("message_id") if m.get("type") == 19 else None,
        "mentions": [u["id"] for u in m.get("mentions") or [] if isinstance(u, dict)],
        "attachments": [compact(id=a.get("id"), filename=a.get("filename"), url=a.get("url"))
                        for a in m.get("attachments") or [] if isinstance(a, dict)],
    }


def channel(c: dict[str, Any]) -> dict[str, Any]:
    kind = c.get("type")
    return {
        "id": c["id"],
        "name": c.get("name"),
        "type": kind,
        "kind": CHANNEL_TYPE_NAMES.get(kind, "unknown") if isinstance(kind, int) else "unknown",
        "parent_id": c.get("parent_id"),
        "position": c.get("position"),
        "topic": c.get("topic"),
        "nsfw": bool(c.get("nsfw", False)),
    }


def thread(t: dict[str, Any]) -> dict[str, Any]:
    metadata = t.get("thread_metadata") or {}
    return {
        "id": t["id"],
        "name": t.get("name"),
        "parent_id": t.get("parent_id"),
        "guild_id": t.get("guild_id"),
        "private": t.get("type") == PRIVATE_THREAD,
        "archived": bool(metadata.get("archived", False)),
        "auto_archive_minutes": metadata.get("auto_archive_duration"),
    }


def field_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Discord's nested ``errors`` object as ``{dotted.field: ["CODE: message", ...]}``.

    ``{"embeds": {"0": {"title": {"_errors": [{"code": ..., "message": ...}]}}}}`` becomes
    ``{"embeds.0.title": ["BASE_TYPE_MAX_LENGTH: Must be 256 or fewer in length."]}``.
    """
    out: dict[str, list[str]] = {}
    if not isinstance(errors, dict):
        return out
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            out.setdefault(prefix or "_request", []).extend(
                f"{e.get('code', 'INVALID')}: {e.get('message', '')}".strip()
                for e in value if isinstance(e, dict))
        elif isinstance(value, dict):
            for name, reasons in field_errors(value, f"{prefix}.{key}" if prefix else key).items():
                out.setdefault(name, []).extend(reasons)
    return out
