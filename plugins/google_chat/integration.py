"""Google Chat API v1: send, update, read and list messages, list spaces; a poll trigger for
new messages. Also an incoming webhook URL mode that can only send messages.

API reference: https://developers.google.com/workspace/chat/api/reference/rest
Incoming webhooks: https://developers.google.com/workspace/chat/quickstart/webhooks
Limits: https://developers.google.com/workspace/chat/limits
Errors: https://cloud.google.com/apis/design/errors (``{"error": {code, message, status}}``)

Webhook URL mode: the manifest's auth is OAuth2, which builds no auth without an access token;
the URL's own key and token are its credential, like a pre-signed URL, so in that mode the
message is POSTed to the URL with the query it came with (redirects never follow a POST).

Chat app events (MESSAGE, ADDED_TO_SPACE) arrive signed with a Google-issued JWT whose keys
must be fetched from Google, which cannot be done or tested offline: new messages are polled.
"""
from __future__ import annotations

import re
from datetime import datetime
from itertools import islice
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlsplit

import requests

from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import origin
from atom.integrations.http import parse_retry_after
from atom.integrations.pagination import PageTokenPaginator
from plugins.google_chat import payloads
from plugins.google_chat.schemas import SPACE
from plugins.google_chat.schemas import WEBHOOK_PATH

PAGE_SIZE = 100
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
POLL_MAX = 1000
# ErrorInfo reasons Google gives a 403 that is a quota, not a permission.
QUOTA_REASONS = frozenset({"RATE_LIMIT_EXCEEDED", "rateLimitExceeded",
                           "userRateLimitExceeded", "RESOURCE_EXHAUSTED"})
WEBHOOK_ONLY = ("an incoming webhook connection can only send messages; connect with OAuth2 "
                "for this")


def _path(value: str) -> str:
    """A resource name (``spaces/A/messages/B``) as URL path segments, each encoded."""
    return "/".join(quote(part, safe="") for part in value.split("/"))


def _error(response: requests.Response) -> dict[str, Any]:
    error = json_or_empty(response).get("error")
    return error if isinstance(error, dict) else {}


class GoogleChatIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        """Google's ``{"error": {code, message, status, details}}`` by HTTP status; 400s name
        the fields of ``BadRequest.fieldViolations``."""
        status = response.status_code
        if status < 400:
            return
        error = _error(response)
        request = response.request
        path = urlsplit(request.url or "").path if request is not None else ""
        where = f"{request.method} {path}" if request is not None else ""
        reason = error.get("status") or str(status)
        message = f"Google Chat {where}: {reason}: {error.get('message') or 'no details'}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        reasons = {d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)}
        if status == 429 or (status == 403 and reasons & QUOTA_REASONS):
            raise RateLimited(message, status=status, retry_after=retry_after)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if status == 404:
            field = "name" if "/messages/" in path else "space"
            raise ValidationFailed(message, status=status, details={field: [reason]})
        if status == 409:
            raise ValidationFailed(message, status=status, details={"message_id": [reason]})
        if status in (400, 422):
            raise ValidationFailed(message, status=status, details=payloads.field_errors(error)
                                   or {"_request": [reason]})
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        """One page of one space (OAuth2). An incoming webhook can only post, so for one the
        check is that its URL is well formed and on the Chat API's host, with no request."""
        if self._webhook() is not None:
            return
        body = json_or_empty(self.http.get("v1/spaces", params={"pageSize": 1},
                                           operation="spaces.list"))
        if not isinstance(body.get("spaces", []), list):
            raise UpstreamError("GET /v1/spaces answered without a spaces list; is base_url "
                                "the Chat API (https://chat.googleapis.com)?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def send_message(self, data: dict[str, Any]) -> dict[str, Any]:
        """``messages.create`` with a ``requestId``: a repeated request returns the message
        already created, so the POST is safe to retry."""
        body = payloads.message_body(data)
        params = payloads.create_params(data)
        webhook = self._webhook()
        if webhook is not None:
            url, space, secret_params = webhook
            if data.get("space") and payloads.space_name(data["space"]) != space:
                raise ValidationFailed("this incoming webhook posts to another space",
                                       details={"space": [f"the webhook's space is {space}"]})
            response = self.http.post(url, params={**secret_params, **params}, json=body,
                                      idempotent=True, operation="webhook.messages.create")
            return payloads.message(response.json())
        if not data.get("space"):
            raise ValidationFailed("which space?", details={"space": ["required"]})
        space = payloads.space_name(data["space"])
        created = self.http.post(f"v1/{_path(space)}/messages", params=params, json=body,
                                 idempotent=True, operation="spaces.messages.create").json()
        return payloads.message(created)

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        """Post ``message`` to the space ``channel`` (``spaces/AAAA...``; none needed for an
        incoming webhook connection); longer text is cut to 4,096 characters."""
        if channel is not None and not SPACE.regex.match(channel):
            raise ValidationFailed("a Google Chat notification goes to a space",
                                   details={"channel": ["a space such as spaces/AAAAb4Cd3fE"]})
        text = message if len(message) <= 4096 else message[:4095] + "…"
        return self.send_message({"space": channel, "text": text,
                                  "reply_option": "fallback_to_new_thread"})

    def update_message(self, data: dict[str, Any]) -> dict[str, Any]:
        self._oauth_only()
        body = payloads.message_body(data)
        mask = ",".join(f for f in ("text", "cards_v2") if data.get(f))
        updated = self.http.patch(f"v1/{_path(data['name'])}", params={"updateMask": mask},
                                  json=body, idempotent=True,
                                  operation="spaces.messages.patch").json()
        return payloads.message(updated)

    def get_message(self, data: dict[str, Any]) -> dict[str, Any]:
        self._oauth_only()
        return payloads.message(self.http.get(f"v1/{_path(data['name'])}",
                                              operation="spaces.messages.get").json())

    def list_spaces(self, data: dict[str, Any]) -> dict[str, Any]:
        self._oauth_only()
        params: dict[str, Any] = {"pageSize": min(data["max_items"], 1000)}
        if data.get("types"):
            params["filter"] = " OR ".join(f'spaceType = "{t}"' for t in data["types"])
        spaces = [payloads.space(s) for s in islice(self.http.paginate(
            "v1/spaces", PageTokenPaginator(items="spaces"), params=params,
            operation="spaces.list"), data["max_items"])]
        return {"spaces": spaces, "count": len(spaces)}

    def list_messages(self, data: dict[str, Any]) -> dict[str, Any]:
        self._oauth_only()
        space = payloads.space_name(data["space"])
        conditions = []
        if data.get("since"):
            conditions.append(f'create_time > "{payloads.rfc3339(data["since"])}"')
        if data.get("thread"):
            conditions.append(f"thread.name = {data['thread']}")
        found = self._messages(space, " AND ".join(conditions) or None,
                               newest_first=data["newest_first"], max_items=data["max_items"])
        messages = [payloads.message(m) for m in found]
        return {"space": space, "messages": messages, "count": len(messages)}

    # -- triggers --------------------------------------------------------------------------

    def poll_messages(self, params: dict[str, Any], cursor: str | None) -> PollPage:
        """Messages created in ``params["space"]`` after ``cursor`` (an RFC 3339 createTime,
        the high-water mark), oldest first; the first poll reads the newest page.

        Chat timestamps carry microseconds, and ``>`` is the only "after" the filter knows, so
        a message stamped with exactly the cursor's time would be missed (not seen in practice).
        """
        self._oauth_only()
        space = payloads.space_name(params["space"])
        if cursor is None:
            found = self._messages(space, None, newest_first=True, max_items=PAGE_SIZE)
            found.reverse()
            return PollPage(self._wanted(found, params), _newest(found, payloads.EPOCH))
        if not RFC3339.match(cursor):
            raise ValidationFailed("the stored cursor is not an RFC 3339 time",
                                   details={"cursor": [cursor[:40]]})
        found = self._messages(space, f'create_time > "{cursor}"', newest_first=False,
                               max_items=POLL_MAX)
        return PollPage(self._wanted(found, params), _newest(found, cursor))

    def _wanted(self, found: list[dict[str, Any]], params: dict[str, Any]) -> list[dict]:
        return [payloads.message(m) for m in found
                if params.get("include_bots") or (m.get("sender") or {}).get("type") != "BOT"]

    # -- helpers ----------------------------------------------------------------------------

    def _messages(self, space: str, filter_: str | None, *, newest_first: bool,
                  max_items: int) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"pageSize": min(max_items, PAGE_SIZE),
                                  "orderBy": "createTime desc" if newest_first
                                  else "createTime asc"}
        if filter_:
            params["filter"] = filter_
        found = self.http.paginate(f"v1/{_path(space)}/messages",
                                   PageTokenPaginator(items="messages"), params=params,
                                   operation="spaces.messages.list")
        return [m for m in islice(found, max_items) if isinstance(m, dict) and m.get("name")]

    def _webhook(self) -> tuple[str, str, dict[str, str]] | None:
        """``(URL without its query, space, {key, token})`` for a webhook-only connection."""
        creds = self.connection.credentials
        url = creds.get("webhook_url")
        if creds.get("access_token") or not url:
            return None
        parts = urlsplit(url)
        if origin(url) != origin(self.base_url()):
            raise ValidationFailed("the webhook URL is not on the Chat API's host",
                                   details={"webhook_url": [f"must be on {self.base_url()}"]})
        query = parse_qs(parts.query)
        match = WEBHOOK_PATH.match(parts.path)
        if match is None or not query.get("key") or not query.get("token"):
            raise ValidationFailed("the webhook URL is not an incoming webhook URL",
                                   details={"webhook_url": ["re-enter the URL Chat shows"]})
        space = f"spaces/{match.group(1)}"
        return (f"{parts.scheme}://{parts.netloc}{parts.path}", space,
                {"key": query["key"][0], "token": query["token"][0]})

    def _oauth_only(self) -> None:
        if self._webhook() is not None:
            raise ValidationFailed("an incoming webhook connection can only send messages",
                                   details={"connection": [WEBHOOK_ONLY]})


def _newest(found: list[dict[str, Any]], default: str) -> str:
    """The latest ``createTime`` among ``found``, as Google wrote it, else ``default``."""
    stamps = [m["createTime"] for m in found
              if isinstance(m.get("createTime"), str) and RFC3339.match(m["createTime"])]
    return max(stamps, key=_instant, default=default)


def _instant(stamp: str) -> datetime:
    """An RFC 3339 time (fractions of up to nine digits, as Google writes them) as a datetime;
    compared as text, "...:59Z" would sort after "...:59.5Z"."""
    head, _, fraction = stamp.partition(".")
    if fraction:
        digits = fraction.rstrip("Z").split("+")[0].split("-")[0]
        zone = fraction[len(digits):]
        stamp = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
