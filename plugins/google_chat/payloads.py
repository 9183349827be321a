"""Request bodies and parameters sent to Google Chat and the compact shapes returned."""
from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC
from datetime import datetime
from typing import Any

from atom.integrations.helpers import compact
from atom.integrations.http import idempotency_scope
from plugins.google_chat.schemas import REPLY_OPTIONS

# The high-water mark of an empty space: every message that appears later is new.
EPOCH = "1970-01-01T00:00:00Z"
# Google's field paths (in fieldViolations and update masks), as this plugin's input fields.
INPUT_FIELDS = {"text": "text", "cards_v2": "cards_v2", "cardsV2": "cards_v2",
                "thread": "thread_key", "thread_key": "thread_key", "threadKey": "thread_key",
                "thread.name": "thread", "thread.thread_key": "thread_key",
                "message_id": "message_id", "messageId": "message_id",
                "filter": "since", "page_size": "max_items", "pageSize": "max_items",
                "parent": "space", "name": "name"}


def request_id() -> str:
    """A ``requestId`` Google Chat de-duplicates creates on ("an existing request ID returns
    the message created with that ID"): the engine's idempotency key when the step runs under
    one (stable across re-runs), else random (the client's own retries create once)."""
    scope = idempotency_scope.get()
    key = scope.next_key() if scope is not None else uuid.uuid4().hex
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def space_name(value: str) -> str:
    """``spaces/AAAA`` for ``spaces/AAAA`` or a bare ``AAAA``."""
    return value if value.startswith("spaces/") else f"spaces/{value}"


def message_body(data: dict[str, Any]) -> dict[str, Any]:
    body = compact(text=data.get("text"), cardsV2=data.get("cards_v2"))
    if data.get("thread"):
        body["thread"] = {"name": data["thread"]}
    elif data.get("thread_key"):
        body["thread"] = {"threadKey": data["thread_key"]}
    return body


def create_params(data: dict[str, Any]) -> dict[str, str]:
    """Query parameters of ``messages.create``: the request id, a custom message id, and how
    a reply finds its thread (without an option Chat ignores the thread and starts a new one)."""
    params = compact(requestId=request_id(), messageId=data.get("message_id"))
    if data.get("thread") or data.get("thread_key"):
        params["messageReplyOption"] = REPLY_OPTIONS[data["reply_option"]]
    return params


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def message(m: dict[str, Any]) -> dict[str, Any]:
    sender = m.get("sender") or {}
    space = (m.get("space") or {}).get("name") or "/".join(m["name"].split("/")[:2])
    return {
        "name": m["name"],
        "space": space,
        "thread": (m.get("thread") or {}).get("name"),
        "thread_reply": bool(m.get("threadReply", False)),
        "text": m.get("text", ""),
        "argument_text": m.get("argumentText"),
        "create_time": m.get("createTime"),
        "last_update_time": m.get("lastUpdateTime"),
        "sender": {"name": sender.get("name"), "display_name": sender.get("displayName"),
                   "type": sender.get("type")} if sender else None,
        "client_message_id": m.get("clientAssignedMessageId"),
    }


def space(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": s["name"],
        "display_name": s.get("displayName"),
        "type": s.get("spaceType") or s.get("type"),
        "threaded": s.get("spaceThreadingState") == "THREADED_MESSAGES"
        if s.get("spaceThreadingState") else None,
        "uri": s.get("spaceUri"),
        "create_time": s.get("createTime"),
        "external_users_allowed": s.get("externalUserAllowed"),
    }


def field_errors(error: dict[str, Any]) -> dict[str, list[str]]:
    """``BadRequest.fieldViolations`` of a Google error as ``{input field: [description]}``."""
    out: dict[str, list[str]] = {}
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        for violation in detail.get("fieldViolations") or []:
            if not isinstance(violation, dict):
                continue
            raw = str(violation.get("field") or "").removeprefix("message.")
            head = re.split(r"[.\[]", raw, maxsplit=1)[0]
            name = INPUT_FIELDS.get(raw) or INPUT_FIELDS.get(head, head) + raw[len(head):]
            reason = str(violation.get("description") or "invalid")
            out.setdefault(name or "_request", []).append(reason)
    return out
