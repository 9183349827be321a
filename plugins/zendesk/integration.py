"""Zendesk Support REST API v2: tickets, comments, search; ticket webhooks.

References in ``plugins/zendesk/__init__.py``. Errors are ``{"error": "RecordInvalid",
"description": "Record validation errors", "details": {field: [{"description", "error"}]}}``
(422), ``{"error": "RecordNotFound"}`` (404), ``{"error": "Couldn't authenticate you"}``
(401), ``{"error": "Forbidden"}`` (403), 409 ``UpdateConflict`` (a safe update that lost the
race), 429 and 503 with ``Retry-After`` (seconds). Rate-limit headers:
``X-Rate-Limit-Remaining`` (account, current minute), ``ratelimit-remaining`` /
``ratelimit-reset`` (seconds) and ``zendesk-ratelimit-<endpoint>: total=..; remaining=..;
resets=..`` (https://developer.zendesk.com/api-reference/introduction/rate-limits/).

Ticket creation sends ``Idempotency-Key`` (the same on every retry), so a create that met a
server error is retried; a comment is never retried after an ambiguous failure (Zendesk
documents idempotency keys for ticket creation only: verify the window, 2 hours in
third-party notes).
"""
from __future__ import annotations

import uuid
from itertools import islice
from typing import Any
from urllib.parse import urljoin
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
from atom.integrations.http import idempotency_scope
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.pagination import _Base
from atom.integrations.webhooks import WebhookRequest
from plugins.zendesk import payloads

PAGE_SIZE = 100
# Zendesk's field names in RecordInvalid details -> our input fields.
_FIELDS = {"subject": "subject", "description": "body", "comment": "body", "body": "body",
           "requester": "requester_email", "requester_id": "requester_id",
           "assignee": "assignee_id", "assignee_id": "assignee_id", "group": "group_id",
           "group_id": "group_id", "status": "status", "priority": "priority",
           "type": "type", "ticket_type": "type", "tags": "tags", "due_at": "due_at",
           "custom_fields": "custom_fields", "external_id": "external_id",
           "author_id": "author_id", "collaborators": "_request", "base": "_request"}


class NextPagePaginator(_Base):
    """Zendesk's offset pages: follow the body's ``next_page`` URL (same origin only)."""

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        nxt = (body or {}).get("next_page")
        if not nxt:
            return None
        absolute = urljoin(response.url, nxt)
        if urlsplit(absolute)[:2] != urlsplit(response.url)[:2]:
            raise UpstreamError(f"next_page points at another host ({urlsplit(absolute).netloc})",
                                permanent=True)
        params.clear()  # the next URL carries the query
        return absolute

    def next_url(self, token: Any, url: str | None) -> str | None:
        return token


def _details(body: dict[str, Any]) -> dict[str, list[str]]:
    """RecordInvalid ``details`` as our fields and Zendesk's descriptions."""
    out: dict[str, list[str]] = {}
    details = body.get("details")
    if not isinstance(details, dict):
        return out
    for name, problems in details.items():
        field = _FIELDS.get(str(name), "_request")
        texts = [str(p.get("description") or p.get("error") or name)[:300]
                 for p in problems if isinstance(p, dict)] if isinstance(problems, list) else []
        out.setdefault(field, []).extend(texts or [str(name)])
    return out


class ZendeskIntegration(Integration):
    """Tickets of one Zendesk account, as an agent (API token) or an OAuth user."""

    def base_url(self) -> str:
        settings = self.connection.settings
        if settings.get("base_url"):
            return settings["base_url"]
        return f"https://{settings.get('subdomain', '')}.zendesk.com/api/v2/"

    def idempotency_header(self) -> str | None:
        return "Idempotency-Key"

    def raise_for_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        body = json_or_empty(response)
        error = body.get("error")
        if isinstance(error, dict):  # some endpoints: {"error": {"title", "message"}}
            error = error.get("title") or error.get("message")
        error = str(error)[:100] if error else None
        text = str(body.get("description") or error or snippet(response))[:300]
        req = response.request
        where = f"{req.method} {urlsplit(req.url or '').path}" if req is not None else ""
        message = f"Zendesk {where}: {status} {error or ''}".rstrip() + \
            (f": {text}" if text and text != error else "")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            raise RateLimited(message, status=status, retry_after=retry_after)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if status == 404:
            field = "ticket_id" if "/tickets/" in where else "_request"
            raise ValidationFailed(message, status=status, details={field: ["not found"]})
        if status == 409:
            raise ValidationFailed(message, status=status, details={
                "updated_stamp": ["the ticket changed since; read it again and retry"]})
        if status in (400, 422):
            details = _details(body) or {"_request": [text or str(status)]}
            raise ValidationFailed(message, status=status, details=details)
        raise UpstreamError(message, status=status, permanent=True)

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """The smallest remaining budget of the account and endpoint headers."""
        found: list[tuple[int, float | None]] = []
        headers = response.headers
        for name in ("X-Rate-Limit-Remaining", "ratelimit-remaining"):
            try:
                found.append((int(headers[name]), None))
            except (KeyError, ValueError):
                pass
        reset = parse_retry_after(headers.get("ratelimit-reset"))
        if found and reset is not None:
            found = [(left, reset) for left, _ in found]
        for name, value in headers.items():
            if name.lower().startswith("zendesk-ratelimit-"):
                parts = dict(p.strip().split("=", 1) for p in value.split(";") if "=" in p)
                try:
                    found.append((int(parts["remaining"]), float(parts["resets"])))
                except (KeyError, ValueError):
                    pass
        if not found:
            return None, None
        return min(found, key=lambda f: f[0])

    def health_check(self) -> None:
        """``GET /users/me``: Zendesk answers an anonymous user (no id) to bad credentials."""
        user = json_or_empty(self.http.get("users/me.json", operation="get me")).get("user")
        if not isinstance(user, dict) or not user.get("id"):
            raise AuthError("Zendesk answered /users/me as an anonymous user: the e-mail, API "
                            "token or subdomain is wrong")

    # -- actions -------------------------------------------------------------------------

    def create_ticket(self, data: dict[str, Any]) -> dict[str, Any]:
        requester = compact(email=data.get("requester_email"), name=data.get("requester_name"))
        body = {**self._fields(data), "comment": self._comment(data),
                **compact(requester=requester or None, requester_id=data.get("requester_id"))}
        # The run's own key when it has one (a workflow step retried later sends the same),
        # else one for this call's attempts.
        key = None if idempotency_scope.get() is not None else uuid.uuid4().hex
        answer = json_or_empty(self.http.post("tickets.json", json={"ticket": body},
                                              idempotency_key=key, operation="create ticket"))
        return payloads.ticket(answer["ticket"])

    def update_ticket(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self._fields(data)
        if data.get("body") or data.get("html_body"):
            body["comment"] = self._comment(data)
        if data.get("updated_stamp"):
            body.update(safe_update=True, updated_stamp=data["updated_stamp"].isoformat())
        answer = self._put(data["ticket_id"], body, "update ticket",
                           idempotent="comment" not in body)
        return payloads.ticket(answer["ticket"])

    def add_comment(self, data: dict[str, Any]) -> dict[str, Any]:
        comment = self._comment(data)
        if data.get("author_id"):
            comment["author_id"] = data["author_id"]
        answer = self._put(data["ticket_id"], {"comment": comment}, "add comment",
                           idempotent=False)
        event = payloads.comment_of(answer.get("audit")) or {}
        ticket = answer["ticket"]
        return {"ticket_id": ticket["id"], "comment_id": event.get("id"),
                "public": event.get("public", comment["public"]),
                "body": event.get("body", comment.get("body")),
                "author_id": event.get("author_id"), "ticket_status": ticket.get("status"),
                "ticket_updated_at": ticket.get("updated_at")}

    def get_ticket(self, data: dict[str, Any]) -> dict[str, Any]:
        answer = json_or_empty(self.http.get(f"tickets/{int(data['ticket_id'])}.json",
                                             operation="get ticket"))
        return payloads.ticket(answer["ticket"])

    def search(self, data: dict[str, Any]) -> dict[str, Any]:
        query = f"type:ticket {data['query']}"
        params = compact(query=query, sort_by=data.get("sort_by"),
                         sort_order=data.get("sort_order"),
                         per_page=min(PAGE_SIZE, data["max_items"]))
        found = self.http.paginate("search.json", NextPagePaginator(items="results"),
                                   params=params, operation="search")
        tickets = [payloads.ticket(t) for t in islice(
            (r for r in found if isinstance(r, dict) and r.get("result_type", "ticket")
             == "ticket"), data["max_items"])]
        return {"query": query, "tickets": tickets, "count": len(tickets)}

    # -- webhooks ------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per trigger the delivery fires (:func:`payloads.triggers_of`), each
        de-duplicated by Zendesk's event id (a trigger body: the body's digest)."""
        if not isinstance(payload, dict):
            return []
        found = payloads.normalise(payload, payloads.body_digest(req.body))
        if found is None:
            return []
        kind, event = found
        return [InboundEvent(name, f"zendesk:{event['event_id']}:{name}", event)
                for name in payloads.triggers_of(kind, event)
                if self.manifest.trigger(name) is not None]

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _fields(data: dict[str, Any]) -> dict[str, Any]:
        due = data.get("due_at")
        return compact(subject=data.get("subject"), status=data.get("status"),
                       priority=data.get("priority"), type=data.get("type"),
                       assignee_id=data.get("assignee_id"), group_id=data.get("group_id"),
                       tags=data.get("tags"), custom_fields=data.get("custom_fields"),
                       external_id=data.get("external_id"),
                       due_at=due.isoformat() if due else None)

    @staticmethod
    def _comment(data: dict[str, Any]) -> dict[str, Any]:
        return compact(body=data.get("body"), html_body=data.get("html_body"),
                       public=data["public"])

    def _put(self, ticket_id: int, body: dict[str, Any], operation: str,
             idempotent: bool) -> dict[str, Any]:
        return json_or_empty(self.http.put(f"tickets/{int(ticket_id)}.json",
                                           json={"ticket": body}, operation=operation,
                                           idempotent=idempotent))

