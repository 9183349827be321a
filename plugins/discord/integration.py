"""Discord HTTP API v10: messages, reactions, threads and channels; interaction triggers and a
poll trigger for new messages.

API reference: https://discord.com/developers/docs/reference
Rate limits: https://discord.com/developers/docs/topics/rate-limits
Error codes: https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
Interactions and their signatures:
https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint

New messages are sent with a ``nonce`` and ``enforce_nonce``: Discord then answers a repeated
request with the message it already created, so a message POST is safe to retry.
"""
from __future__ import annotations

from itertools import islice
from typing import Any
from urllib.parse import quote

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import ErrorTable
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import default_raise_for_response
from atom.integrations.http import parse_retry_after
from atom.integrations.webhooks import WebhookRequest
from plugins.discord import payloads
from plugins.discord.schemas import CHANNEL_TYPES
from plugins.discord.schemas import SNOWFLAKE

# Discord asks every client to name itself as "DiscordBot ($url, $versionNumber)" (the
# reference's HTTP API section); Cloudflare may refuse requests without it.
USER_AGENT = "DiscordBot (https://github.com/atom-hub/atom, 0.1)"
PAGE_SIZE = 100
POLL_PAGES = 10
INVALID_FORM_BODY = "50035"
# JSON error codes (Opcodes and Status Codes > JSON) by what they mean, with the input field
# each request error is about. Auth codes come with 401 or 403; a 404 "Unknown ..." names the
# id that was not found.
ERRORS = ErrorTable(
    auth=frozenset({"40001", "40002", "50001", "50013", "50014", "50025", "50026", "20012"}),
    transient=frozenset({"130000"}),  # "API resource is currently overloaded"
    validation={
        "10003": "channel_id", "10004": "guild_id", "10008": "message_id",
        "10014": "emoji", "50151": "emoji", "90001": "emoji", "30010": "emoji",
        "50006": "content", "200000": "content", "240000": "content", "40005": "_request",
        "50008": "channel_id", "50024": "channel_id", "50083": "channel_id",
        "40058": "channel_id", "160005": "channel_id", "160006": "channel_id",
        "50005": "message_id", "50021": "message_id", "30046": "message_id",
        "160004": "message_id", "160002": "reply_to", "50109": None,
    },
)
# Discord's body field names, as this plugin's input fields.
INPUT_FIELDS = {"message_reference": "reply_to", "allowed_mentions": "mention_everyone",
                "auto_archive_duration": "auto_archive_minutes", "type": "private"}


def _route(response: requests.Response) -> str:
    request = response.request
    if request is None:
        return ""
    path = (request.path_url or "").split("?")[0]
    return f"{request.method} {path.split('/api/v10', 1)[-1]}"


def _order(m: dict[str, Any]) -> int:
    """A message's place in time: its snowflake (ids that are not numbers sort first)."""
    value = str(m.get("id", ""))
    return int(value) if value.isdigit() else -1


def _newest(found: list[dict[str, Any]], default: str) -> str:
    """The highest message id among ``found`` (the next poll's ``after``), else ``default``."""
    ids = [int(m["id"]) for m in found if str(m.get("id", "")).isdigit()]
    return str(max(ids, default=int(default)))


class DiscordIntegration(Integration):
    def default_headers(self) -> dict[str, str]:
        return {"User-Agent": USER_AGENT}

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """The route's bucket: ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset-After``
        (seconds, relative, so no clock skew; the epoch ``X-RateLimit-Reset`` is not read)."""
        remaining = response.headers.get("X-RateLimit-Remaining")
        if remaining is None:
            return None, None
        try:
            left = int(remaining)
            reset = float(response.headers.get("X-RateLimit-Reset-After") or 0)
        except ValueError:
            return None, None
        return left, max(0.0, reset)

    def raise_for_response(self, response: requests.Response) -> None:
        """429 with ``retry_after`` (float seconds) and ``global``; ``{code, message, errors}``
        bodies mapped to error classes, invalid form bodies to the fields they name."""
        status = response.status_code
        if status < 400:
            return
        body = json_or_empty(response)
        route = _route(response)
        if status == 429:
            raise self._rate_limited(response, body, route)
        code = body.get("code")
        if status >= 500 or not isinstance(code, int):
            default_raise_for_response(response)  # raises: no Discord error body to read
        message = f"Discord {route}: {body.get('message') or status} ({code})"
        if str(code) == INVALID_FORM_BODY:
            details = {self._input_field(k): v for k, v in
                       payloads.field_errors(body.get("errors")).items()}
            raise ValidationFailed(message, status=status,
                                   details=details or {"_request": [str(code)]})
        if status in (401, 403) or str(code) in ERRORS.auth:
            raise AuthError(message, status=status)
        if str(code) in ERRORS.validation or str(code) in ERRORS.transient:
            ERRORS.raise_for(str(code), message, response)
        if status == 400:
            raise ValidationFailed(message, status=status, details={"_request": [str(code)]})
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        body = json_or_empty(self.http.get("users/@me", operation="users/@me"))
        if not body.get("id"):
            raise UpstreamError("GET /users/@me answered without a user id; is base_url "
                                "Discord's API (https://discord.com/api/v10)?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def send_message(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {**payloads.message_body(data), "nonce": payloads.nonce(), "enforce_nonce": True}
        # enforce_nonce: a repeated POST returns the message already created.
        created = self.http.post(f"channels/{data['channel_id']}/messages", json=body,
                                 idempotent=True, operation="create_message").json()
        return payloads.message(created)

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        """Post ``message`` to the channel with id ``channel`` (workflow notifications and
        alert channels); longer text is cut to Discord's 2000 characters."""
        if not channel or not SNOWFLAKE.regex.match(channel):
            raise ValidationFailed("a Discord notification needs a channel id",
                                   details={"channel": ["a channel id such as "
                                                        "1189283011114692648"]})
        text = message if len(message) <= 2000 else message[:1999] + "…"
        return self.send_message({"channel_id": channel, "content": text,
                                  "mention_everyone": False})

    def edit_message(self, data: dict[str, Any]) -> dict[str, Any]:
        edited = self.http.patch(f"channels/{data['channel_id']}/messages/{data['message_id']}",
                                 json=payloads.message_body(data), idempotent=True,
                                 operation="update_message").json()
        return payloads.message(edited)

    def delete_message(self, data: dict[str, Any]) -> dict[str, Any]:
        self.http.delete(f"channels/{data['channel_id']}/messages/{data['message_id']}",
                         operation="delete_message")
        return {"channel_id": data["channel_id"], "message_id": data["message_id"],
                "deleted": True}

    def list_channels(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self.http.get(f"guilds/{data['guild_id']}/channels",
                              operation="list_guild_channels").json() or []
        wanted = {CHANNEL_TYPES[t] for t in data["types"]} if data.get("types") else None
        channels = [payloads.channel(c) for c in found
                    if isinstance(c, dict) and (wanted is None or c.get("type") in wanted)]
        channels.sort(key=lambda c: (c["position"] is None, c["position"] or 0))
        return {"guild_id": data["guild_id"], "channels": channels, "count": len(channels)}

    def add_reaction(self, data: dict[str, Any]) -> dict[str, Any]:
        emoji = data["emoji"].strip("<>")
        if emoji.startswith("a:"):
            emoji = emoji[2:]
        emoji = emoji.lstrip(":")
        # The emoji is a path segment: every reserved character is encoded.
        self.http.put(f"channels/{data['channel_id']}/messages/{data['message_id']}/reactions/"
                      f"{quote(emoji, safe='')}/@me", operation="add_my_message_reaction")
        return {"channel_id": data["channel_id"], "message_id": data["message_id"],
                "emoji": emoji}

    def create_thread(self, data: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"name": data["name"]}
        if data.get("auto_archive_minutes"):
            body["auto_archive_duration"] = data["auto_archive_minutes"]
        if data.get("message_id"):
            path = f"channels/{data['channel_id']}/messages/{data['message_id']}/threads"
            operation = "create_thread_from_message"
        else:
            path = f"channels/{data['channel_id']}/threads"
            body["type"] = payloads.PRIVATE_THREAD if data["private"] else payloads.PUBLIC_THREAD
            operation = "create_thread"
        return payloads.thread(self.http.post(path, json=body, operation=operation).json())

    def list_messages(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._messages(data["channel_id"], data["max_items"], after=data.get("after"),
                               before=data.get("before"))
        messages = [payloads.message(m) for m in found]
        return {"channel_id": data["channel_id"], "messages": messages, "count": len(messages)}

    # -- triggers --------------------------------------------------------------------------

    def poll_messages(self, params: dict[str, Any], cursor: str | None) -> PollPage:
        """Messages posted in ``params["channel_id"]`` after the message id ``cursor``, oldest
        first. Snowflakes grow with time, so the newest id seen is the high-water mark.

        Content needs the privileged MESSAGE_CONTENT intent (Developer Portal > Bot); without
        it, messages that do not mention the bot arrive with empty content.
        """
        channel = params["channel_id"]
        if cursor is None:
            latest = self._messages(channel, PAGE_SIZE)
            # An empty channel: every message that appears later is new.
            return PollPage(self._wanted(latest, params), _newest(latest, "0"))
        found = self._messages(channel, PAGE_SIZE * POLL_PAGES, after=cursor)
        return PollPage(self._wanted(found, params), _newest(found, cursor))

    def _wanted(self, found: list[dict[str, Any]], params: dict[str, Any]) -> list[dict]:
        keep = [m for m in found if m.get("type", 0) in payloads.USER_MESSAGE_TYPES
                and (params.get("include_bots") or not (m.get("author") or {}).get("bot"))]
        return [payloads.message(m) for m in keep]

    # -- webhooks --------------------------------------------------------------------------

    def webhook_challenge(self, req: WebhookRequest, payload: Any) -> Any | None:
        """Answer Discord's PING (type 1, signed like every interaction) with a PONG."""
        if isinstance(payload, dict) and payload.get("type") == 1:
            return {"type": 1}
        return None

    def webhook_answer(self, payload: Any, events: list[InboundEvent]) -> Any | None:
        """A deferred interaction response, sent once the interaction is stored (Discord waits
        3 s for one): "thinking..." for commands and modals, an acknowledged update for
        components. The workflow then answers with ``send_message`` or ``edit_message``."""
        if events and isinstance(payload, dict):
            return payloads.DEFERRED_ANSWERS.get(payload.get("type"))
        return None

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per command, component or modal interaction, its id as the delivery id
        (Discord does not redeliver interactions, but a replay carries the same id)."""
        if not isinstance(payload, dict) or not payload.get("id"):
            return []
        kind = payload.get("type")
        name = payloads.INTERACTION_TRIGGERS.get(kind) if isinstance(kind, int) else None
        if name is None or self.manifest.trigger(name) is None:
            return []
        return [InboundEvent(name, str(payload["id"]), payload)]

    # -- helpers ----------------------------------------------------------------------------

    def _messages(self, channel: str, max_items: int, after: str | None = None,
                  before: str | None = None) -> list[dict[str, Any]]:
        """Up to ``max_items`` messages, oldest first, paging by message id.

        Discord answers newest first; ``after`` pages forward from the oldest message after
        it, ``before`` (and no cursor) pages back from the newest.
        """
        out: list[dict[str, Any]] = []
        forward = after is not None
        mark = after if forward else before
        while len(out) < max_items:
            limit = min(PAGE_SIZE, max_items - len(out))
            params: dict[str, Any] = {"limit": limit}
            if mark is not None:
                params["after" if forward else "before"] = mark
            page = self.http.get(f"channels/{channel}/messages", params=params,
                                 operation="list_messages").json() or []
            page = [m for m in page if isinstance(m, dict) and m.get("id")]
            ids = [int(m["id"]) for m in page if str(m["id"]).isdigit()]
            if not ids:
                out += page
                break
            new_mark = str(max(ids) if forward else min(ids))
            if new_mark == mark:
                raise UpstreamError("pagination loop: Discord answered the same page twice")
            mark = new_mark
            out += page
            if len(page) < limit:
                break
        out.sort(key=_order)
        if not forward:
            out = out[-max_items:]
        return list(islice(out, max_items))

    def _rate_limited(self, response: requests.Response, body: dict[str, Any],
                      route: str) -> RateLimited:
        wait = body.get("retry_after")
        retry_after = (float(wait) if isinstance(wait, (int, float)) and wait >= 0
                       else parse_retry_after(response.headers.get("Retry-After")))
        scope = ("global" if body.get("global") or response.headers.get("X-RateLimit-Global")
                 else response.headers.get("X-RateLimit-Scope") or "route")
        return RateLimited(f"Discord {route}: rate limited ({scope})", status=429,
                           retry_after=retry_after)

    @staticmethod
    def _input_field(name: str) -> str:
        head, dot, rest = name.partition(".")
        return INPUT_FIELDS.get(head, head) + dot + rest
