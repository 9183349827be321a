"""Cisco Webex REST API v1: messages, rooms (spaces), memberships, meetings and webhooks.

API reference: https://developer.webex.com/docs/api/v1/ (messages, rooms, memberships,
meetings, webhooks, people/me); basics, response codes and paging:
https://developer.webex.com/docs/basics (errors are ``{"message", "errors": [{"description"}],
"trackingId"}``; 429 and 423 carry ``Retry-After``; lists are ``{"items": [...]}`` paged by RFC
5988 ``Link: <...>; rel="next"`` with ``max``). Webex has no idempotency key, so no post is
retried after a server error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from itertools import islice
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import compact
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.pagination import LinkHeaderPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.webex import payloads
from plugins.webex.schemas import SendMessageInput

PAGE_SIZE = 100
# Webex's 400 messages name the parameter at fault ("roomId", "toPersonEmail", ...): the input
# field it came from.
_FIELDS = {"roomId": "room_id", "toPersonId": "to_person_id", "toPersonEmail": "to_person_email",
           "parentId": "parent_id", "markdown": "markdown", "text": "text", "title": "title",
           "teamId": "team_id", "personEmail": "person_email", "personId": "person_id",
           "start": "start", "end": "end", "timezone": "timezone", "invitees": "invitees",
           "agenda": "agenda", "targetUrl": "target_url", "filter": "filter",
           "resource": "resource", "event": "event"}


@dataclass
class LinkPaginator(LinkHeaderPaginator):
    """``Link: rel="next"``, with the listing's parameters put back when the next link drops
    one (Webex once dropped ``mentionedPeople``, which bots need; webexpythonsdk's
    ``_fix_next_url`` does the same)."""

    items: str | None = "items"
    keep: dict[str, Any] = field(default_factory=dict)

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        url = super().next(response, body, params)
        if url is None:
            return None
        present = {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        missing = {k: v for k, v in self.keep.items() if k not in present and k != "max"}
        return f"{url}{'&' if '?' in url else '?'}{urlencode(missing)}" if missing else url


def _q(value: str) -> str:
    return quote(value, safe="")


def webex_error(response: requests.Response) -> str:
    """Webex's ``message`` and the first ``errors[].description``, or ''."""
    body = json_or_empty(response)
    parts = [str(body.get("message") or "")]
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        detail = str(errors[0].get("description") or "")
        if detail and detail != parts[0]:
            parts.append(detail)
    return "; ".join(p for p in parts if p)[:300]


class WebexIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        text = webex_error(response)
        req = response.request
        where = f"{req.method} {urlsplit(req.url or '').path}" if req is not None else ""
        tracking = json_or_empty(response).get("trackingId") or response.headers.get("trackingId")
        message = f"Webex {where}: {status}" + (f": {text}" if text else "") + \
            (f" (trackingId {tracking})" if tracking else "")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status == 429:
            raise RateLimited(message, status=status, retry_after=retry_after)
        if status in (408, 423) or status >= 500:
            # 423: "temporarily unavailable", with Retry-After (a file still being scanned).
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if status == 404:
            raise ValidationFailed(message, status=status, details={"_request": ["not found"]})
        if status in (400, 409, 415, 422):
            field = next((name for param, name in _FIELDS.items()
                          if re.search(rf"\b{param}\b", text)), "_request")
            raise ValidationFailed(message, status=status, details={field: [text or str(status)]})
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        body = json_or_empty(self.http.get("people/me", operation="get me"))
        if not body.get("id"):
            raise UpstreamError("GET /people/me answered without an id; is base_url "
                                "Webex's API?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def send_message(self, data: dict[str, Any]) -> dict[str, Any]:
        body = compact(roomId=data.get("room_id"), toPersonId=data.get("to_person_id"),
                       toPersonEmail=data.get("to_person_email"), parentId=data.get("parent_id"),
                       text=data.get("text"), markdown=data.get("markdown"))
        return payloads.message(self._post("messages", body, "send message"))

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        """Post ``message`` (markdown) to a room id or, for an e-mail address, to that person."""
        target = "to_person_email" if channel and "@" in channel else "room_id"
        data = {target: channel or "", "markdown": message}
        errors = SendMessageInput().validate(data)
        if errors:
            raise ValidationFailed("a Webex notification goes to a room id or an e-mail address",
                                   details={"channel": sorted(str(v[0]) for v in errors.values())})
        return self.send_message(data)

    def get_message(self, data: dict[str, Any]) -> dict[str, Any]:
        body = json_or_empty(self.http.get(f"messages/{_q(data['message_id'])}",
                                           operation="get message"))
        return payloads.message(body)

    def list_messages(self, data: dict[str, Any]) -> dict[str, Any]:
        params = compact(roomId=data["room_id"],
                         before=data["before"].isoformat() if data.get("before") else None,
                         mentionedPeople="me" if data["mentioned_me"] else None)
        messages = [payloads.message(m) for m in
                    self._list("messages", params, data["max_items"], "list messages")]
        return {"room_id": data["room_id"], "messages": messages, "count": len(messages)}

    def list_rooms(self, data: dict[str, Any]) -> dict[str, Any]:
        params = compact(type=data.get("type"), teamId=data.get("team_id"),
                         sortBy=data.get("sort_by"))
        rooms = [payloads.room(r) for r in
                 self._list("rooms", params, data["max_items"], "list rooms")]
        return {"rooms": rooms, "count": len(rooms)}

    def create_room(self, data: dict[str, Any]) -> dict[str, Any]:
        body = compact(title=data["title"], teamId=data.get("team_id"),
                       description=data.get("description"), isLocked=data.get("is_locked"))
        return payloads.room(self._post("rooms", body, "create room"))

    def add_member(self, data: dict[str, Any]) -> dict[str, Any]:
        body = compact(roomId=data["room_id"], personEmail=data.get("person_email"),
                       personId=data.get("person_id"), isModerator=data["is_moderator"])
        return payloads.membership(self._post("memberships", body, "add member"))

    def create_meeting(self, data: dict[str, Any]) -> dict[str, Any]:
        invitees = [{"email": e} for e in data.get("invitees") or []] or None
        body = compact(title=data["title"], start=data["start"].isoformat(),
                       end=data["end"].isoformat(), timezone=data.get("timezone"),
                       agenda=data.get("agenda"), invitees=invitees,
                       sendEmail=data.get("send_email"),
                       enabledAutoRecordMeeting=data.get("enabled_auto_record_meeting"))
        return payloads.meeting(self._post("meetings", body, "create meeting"))

    def create_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a webhook whose deliveries Webex signs with the connection's secret."""
        secret = self.webhook_secret()
        if not secret:
            raise ValidationFailed("set the connection's webhook_secret before creating a "
                                   "webhook", details={"webhook_secret": ["required"]})
        body = compact(name=data["name"], targetUrl=data["target_url"],
                       resource=data["resource"], event=data["event"],
                       filter=data.get("filter"), secret=secret)
        return payloads.webhook(self._post("webhooks", body, "create webhook"))

    # -- webhooks --------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery; Webex's retries repeat the webhook and data ids."""
        if not isinstance(payload, dict):
            return []
        name = payloads.trigger_name(payload)
        if name is None or self.manifest.trigger(name) is None:
            return []
        return [InboundEvent(name, payloads.delivery_id(payload), payload)]

    # -- helpers ---------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any], operation: str) -> dict[str, Any]:
        return json_or_empty(self.http.post(path, json=body, operation=operation))

    def _list(self, path: str, params: dict[str, Any], max_items: int,
              operation: str) -> list[dict[str, Any]]:
        """Up to ``max_items`` items, following ``Link: rel="next"``, no page too many."""
        params = {**params, "max": min(max_items, PAGE_SIZE)}
        found = self.http.paginate(path, LinkPaginator(keep=dict(params)), params=params,
                                   operation=operation)
        return list(islice(found, max_items))
