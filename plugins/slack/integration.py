"""Slack Web API: messages, channels, users and reactions; Events API triggers.

API reference: https://docs.slack.dev/reference/methods
Rate limits: https://docs.slack.dev/apis/web-api/rate-limits
Events API and request signing: https://docs.slack.dev/apis/events-api/ and
https://docs.slack.dev/authentication/verifying-requests-from-slack

Every method is sent form-encoded: Slack accepts that on every method, while JSON bodies are
only accepted by some of them.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from collections.abc import Iterable
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import ErrorTable
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import default_raise_for_response
from atom.integrations.pagination import CursorPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.slack import payloads

# Slack's recommended page size for cursor-paginated methods.
PAGE_SIZE = 200

ERRORS = ErrorTable(
    auth=frozenset({
        "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
        "missing_scope", "no_permission", "not_allowed_token_type", "team_access_not_granted",
        "ekm_access_denied", "org_login_required",
    }),
    rate_limited=frozenset({"ratelimited", "rate_limited"}),
    # Documented as "retry later": a failure on Slack's side, not in the request.
    transient=frozenset({"internal_error", "fatal_error", "service_unavailable",
                         "request_timeout"}),
    # Request errors, with the input field each one is about (None: the request as a whole).
    validation={
        "channel_not_found": "channel", "not_in_channel": "channel", "is_archived": "channel",
        "channel_is_archived": "channel", "no_text": "text", "msg_too_long": "text",
        "invalid_blocks": "blocks", "invalid_blocks_format": "blocks",
        "message_not_found": "ts", "cant_update_message": "ts", "edit_window_closed": "ts",
        "thread_not_found": "thread_ts", "bad_timestamp": "ts", "invalid_timestamp": "ts",
        "name_taken": "name", "invalid_name": "name", "invalid_name_specials": "name",
        "invalid_name_required": "name", "invalid_name_maxlength": "name",
        "invalid_name_punctuation": "name", "too_many_reactions": "name",
        "invalid_arguments": None, "invalid_arg_name": None, "invalid_array_arg": None,
        "invalid_charset": None, "invalid_form_data": None, "invalid_post_type": None,
        "missing_post_type": None, "too_many_attachments": None, "user_not_found": None,
    },
    # Errors that say the requested state already holds: the call did what was asked.
    done=frozenset({"already_reacted"}),
)


def slack_error(response: requests.Response, body: dict[str, Any]) -> None:
    """Raise the ATOM error for an ``ok: false`` answer, by its ``error`` code."""
    code = str(body.get("error") or "unknown_error")
    url = response.request.url if response.request is not None else None
    method = urlsplit(url or "").path.rsplit("/", 1)[-1]
    message = f"Slack {method}: {code}"
    if body.get("needed"):
        message += f" (needed scope: {body['needed']})"
    hints = (body.get("response_metadata") or {}).get("messages") or []
    ERRORS.raise_for(code, message, response, hints=hints)


class SlackIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        """HTTP errors first (429 with ``Retry-After``, 5xx), then Slack's ``ok: false``."""
        default_raise_for_response(response)
        body = json_or_empty(response)
        if not body.get("ok", True):
            slack_error(response, body)

    def health_check(self) -> None:
        body = json_or_empty(self.http.get("auth.test", operation="auth.test"))
        if body.get("ok") is not True:
            raise UpstreamError("auth.test did not answer ok: true; is base_url Slack's Web API?",
                                permanent=True)

    # -- actions -------------------------------------------------------------------------

    def send_message(self, data: dict[str, Any]) -> dict[str, Any]:
        thread_ts = data.get("thread_ts")
        body = self._post("chat.postMessage", payloads.form(
            channel=data["channel"], text=data.get("text"), blocks=data.get("blocks"),
            thread_ts=thread_ts, reply_broadcast=data["reply_broadcast"] if thread_ts else None,
            unfurl_links=data.get("unfurl_links"),
        ))
        return {"channel": body["channel"], "ts": body["ts"], "thread_ts": thread_ts}

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        """Post ``message`` to ``channel`` (workflow notifications and alert channels)."""
        if not channel:
            raise ValidationFailed("a Slack notification needs a channel",
                                   details={"channel": ["required"]})
        return self.send_message({"channel": channel, "text": message, "reply_broadcast": False})

    def update_message(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self._post("chat.update", payloads.form(
            channel=data["channel"], ts=data["ts"], text=data.get("text"),
            blocks=data.get("blocks"),
        ), idempotent=True)
        return {"channel": body["channel"], "ts": body["ts"], "text": body.get("text")}

    def list_channels(self, data: dict[str, Any]) -> dict[str, Any]:
        params = payloads.form(types=",".join(data["types"]),
                               exclude_archived=data["exclude_archived"])
        channels = [payloads.channel(c) for c in
                    self._list("conversations.list", "channels", params, data["max_items"])]
        return {"channels": channels, "count": len(channels)}

    def get_channel_history(self, data: dict[str, Any]) -> dict[str, Any]:
        params = payloads.form(channel=data["channel"], oldest=data.get("oldest"),
                               latest=data.get("latest"))
        messages = [payloads.message(m) for m in
                    self._list("conversations.history", "messages", params, data["max_items"])]
        return {"channel": data["channel"], "messages": messages, "count": len(messages)}

    def list_users(self, data: dict[str, Any]) -> dict[str, Any]:
        def wanted(u: dict[str, Any]) -> bool:
            return (data["include_deleted"] or not u.get("deleted")) and (
                data["include_bots"] or not u.get("is_bot"))

        members = self._list("users.list", "members", {}, data["max_items"], keep=wanted)
        users = [payloads.user(u) for u in members]
        return {"users": users, "count": len(users)}

    def add_reaction(self, data: dict[str, Any]) -> dict[str, Any]:
        name = data["name"].strip(":")
        body = self._post("reactions.add", payloads.form(
            channel=data["channel"], timestamp=data["ts"], name=name,
        ), idempotent=True)
        return {"channel": data["channel"], "ts": data["ts"], "name": name,
                "already_reacted": body.get("error") == "already_reacted"}

    def create_channel(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self._post("conversations.create", payloads.form(
            name=data["name"], is_private=data["is_private"],
        ))
        return payloads.channel(body["channel"])

    # -- webhooks --------------------------------------------------------------------------

    def webhook_challenge(self, req: WebhookRequest, payload: Any) -> Any | None:
        """Answer the Events API's ``url_verification`` handshake (it is signed too)."""
        if isinstance(payload, dict) and payload.get("type") == "url_verification":
            return {"challenge": payload.get("challenge", "")}
        return None

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per ``event_callback``; Slack's retries share its ``event_id``."""
        if not isinstance(payload, dict) or payload.get("type") != "event_callback":
            return []
        name = payloads.trigger_name(payload)
        if name is None or self.manifest.trigger(name) is None:
            return []
        delivery = str(payload.get("event_id") or hashlib.sha256(req.body).hexdigest())
        # ``token`` is the legacy verification token: a credential, so it is not stored.
        envelope = {k: v for k, v in payload.items() if k != "token"}
        return [InboundEvent(name, delivery, envelope)]

    # -- helpers ----------------------------------------------------------------------------

    def _post(self, method: str, form: dict[str, str], idempotent: bool | None = None) -> dict:
        return self.http.post(method, data=form, idempotent=idempotent, operation=method).json()

    def _list(self, method: str, items: str, params: dict[str, str], max_items: int,
              keep: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Up to ``max_items`` items of a cursor-paginated method, fetching no page too many."""
        params = {**params, "limit": str(min(max_items, PAGE_SIZE))}
        paginator = CursorPaginator(items=items, cursor_path="response_metadata.next_cursor")
        found: Iterable[dict[str, Any]] = self.http.paginate(method, paginator, params=params,
                                                              operation=method)
        if keep is not None:
            found = filter(keep, found)
        return list(islice(found, max_items))
