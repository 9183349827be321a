"""Notion API (version 2025-09-03): pages, data sources (a database holds one or more), blocks,
comments and search; integration webhooks.

API reference: https://developers.notion.com/reference/intro
Version 2025-09-03 (data sources): https://developers.notion.com/docs/upgrade-guide-2025-09-03
Errors: https://developers.notion.com/reference/status-codes
Webhooks: https://developers.notion.com/reference/webhooks

Notion has no idempotency keys: a create or an append that may have reached Notion is never
sent twice. Updates (PATCH of a page's properties) set values, so they are safe to repeat.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import ErrorTable
from atom.integrations.helpers import compact
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import default_raise_for_response
from atom.integrations.http import parse_retry_after
from atom.integrations.pagination import CursorPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.notion import payloads

API_VERSION = "2025-09-03"
PAGE_SIZE = 100
# Notion's error codes (https://developers.notion.com/reference/status-codes).
ERRORS = ErrorTable(
    auth=frozenset({"unauthorized", "restricted_resource"}),
    rate_limited=frozenset({"rate_limited"}),
    # "conflict_error": a data collision while saving; Notion says to try again.
    transient=frozenset({"internal_server_error", "service_unavailable", "bad_gateway",
                         "gateway_timeout", "database_connection_unavailable",
                         "conflict_error", "service_overload"}),
    validation={"validation_error": None, "invalid_json": None, "invalid_request": None,
                "invalid_request_url": None, "missing_version": None, "invalid_grant": None},
    not_found=frozenset({"object_not_found"}),
)
# Request body keys named in Notion's validation messages, by the input field they come from.
_BODY_FIELDS = {"properties": "properties", "children": "blocks", "filter": "filter",
                "sorts": "sorts", "start_cursor": "start_cursor", "page_size": "max_items",
                "rich_text": "text", "query": "query", "after": "after", "in_trash": "in_trash"}
_BODY_PATH = re.compile(r"\bbody\.([a-z_]+)(?:\.([a-z_]+))?")
_NOT_FOUND = re.compile(r"Could not find (database|data[ _]source|page|block|comment)", re.I)
_NOT_FOUND_FIELDS = {"database": "database_id", "data source": "data_source_id",
                     "data_source": "data_source_id", "page": "page_id", "block": "page_id"}
# Webhook event types (https://developers.notion.com/reference/webhooks-events-delivery).
EVENTS = {"page.created": "page_created", "page.properties_updated": "page_properties_updated",
          "page.content_updated": "page_content_updated", "comment.created": "comment_created"}


def notion_field(code: str, message: str) -> str:
    """The input field a Notion error message is about, ``_request`` when it names none."""
    if code == "object_not_found":
        found = _NOT_FOUND.search(message)
        return _NOT_FOUND_FIELDS.get(found.group(1).lower(), "_request") if found else "_request"
    if "is not a property that exists" in message or "Could not find property" in message:
        return "properties"
    path = _BODY_PATH.search(message)
    if not path:
        return "_request"
    key, sub = path.groups()
    if key == "parent":
        return sub if sub in ("database_id", "data_source_id") else "parent_page_id"
    return _BODY_FIELDS.get(key, "_request")


@dataclass
class NotionPages(CursorPaginator):
    """Notion's paging: ``has_more`` + ``next_cursor``, sent back as ``start_cursor`` (in the
    JSON ``body`` of POST listings). Asks for no more than ``wanted`` results in all, and keeps
    the last answer's cursor so a caller can continue where it stopped."""

    items: str | None = "results"
    cursor_path: str = "next_cursor"
    cursor_param: str = "start_cursor"
    has_more: str | None = "has_more"
    body: dict[str, Any] | None = None
    wanted: int = PAGE_SIZE
    fetched: int = 0
    more: bool = False
    next_cursor: str | None = None

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        body = body if isinstance(body, dict) else {}
        self.fetched += len(body.get("results") or [])
        self.more = bool(body.get("has_more"))
        self.next_cursor = body.get("next_cursor") if self.more else None
        left = self.wanted - self.fetched
        if left <= 0:
            return None
        target = self.body if self.body is not None else params
        token = super().next(response, body, target)
        if token:
            target["page_size"] = min(PAGE_SIZE, left)
        return token


class NotionIntegration(Integration):
    def default_headers(self) -> dict[str, str]:
        return {"Notion-Version": API_VERSION}

    def raise_for_response(self, response: requests.Response) -> None:
        """Notion answers errors as ``{"object": "error", "status", "code", "message"}``."""
        if response.status_code < 400:
            return
        body = json_or_empty(response)
        code = body.get("code") if body.get("object") == "error" else None
        if not isinstance(code, str) or not code:
            default_raise_for_response(response)
            return
        text = str(body.get("message") or "")[:500]
        request = response.request
        where = f"{request.method} {request.path_url.split('?')[0]}" if request is not None else ""
        message = f"Notion {where} answered {response.status_code} {code}: {text}"
        if code in ERRORS.validation or code in ERRORS.not_found:
            raise ValidationFailed(message, status=response.status_code,
                                   details={notion_field(code, text): [code, text]})
        exc = ERRORS.error(code, message, status=response.status_code,
                           retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if exc is not None:
            raise exc

    def health_check(self) -> None:
        body = json_or_empty(self.http.get("v1/users/me", operation="users.me"))
        if body.get("object") != "user":
            raise UpstreamError("GET /v1/users/me did not answer a user; is base_url Notion's "
                                "API?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_page(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("parent_page_id"):
            parent = {"type": "page_id", "page_id": data["parent_page_id"]}
        elif data.get("database_id"):
            parent = {"type": "database_id", "database_id": data["database_id"]}
        else:
            parent = {"type": "data_source_id", "data_source_id": data["data_source_id"]}
        given = data.get("properties") or {}
        types = None
        if any(not isinstance(v, dict) for v in given.values()):
            if data.get("parent_page_id"):
                raise ValidationFailed("a page under a page has only a title",
                                       details={"properties": ["give title instead"]})
            types = self._data_source_types(data)
        props = self._properties(given, types)
        if data.get("title") is not None:
            props[payloads.title_name(types)] = {"title": payloads.rich_text(data["title"])}
        blocks = payloads.blocks_from_text(data.get("content") or "")
        body = compact(parent=parent, properties=props, children=blocks[:PAGE_SIZE] or None)
        try:
            page = json_or_empty(self.http.post("v1/pages", json=body, operation="pages.create"))
        except ValidationFailed as exc:
            exc.details = {("content" if k == "blocks" else k): v for k, v in exc.details.items()}
            raise
        if len(blocks) > PAGE_SIZE and page.get("id"):
            self._append(page["id"], blocks[PAGE_SIZE:], None)
        return payloads.page(page)

    def update_page(self, data: dict[str, Any]) -> dict[str, Any]:
        path = f"v1/pages/{_path(data['page_id'])}"
        given = data.get("properties") or {}
        types = None
        if any(not isinstance(v, dict) for v in given.values()):
            current = json_or_empty(self.http.get(path, operation="pages.retrieve"))
            types = payloads.property_types(current.get("properties") or {})
        props = self._properties(given, types)
        if data.get("title") is not None:
            props[payloads.title_name(types)] = {"title": payloads.rich_text(data["title"])}
        body = compact(properties=props or None, in_trash=data.get("in_trash"))
        page = json_or_empty(self.http.patch(path, json=body, idempotent=True,
                                             operation="pages.update"))
        return payloads.page(page)

    def query_database(self, data: dict[str, Any]) -> dict[str, Any]:
        source = data.get("data_source_id") or self._data_source_of(data["database_id"])
        pages, pager = self._list(
            f"v1/data_sources/{_path(source)}/query", "data_sources.query", data,
            filter=data.get("filter"), sorts=data.get("sorts"))
        return {"data_source_id": source, "pages": [payloads.page(p) for p in pages],
                "count": len(pages), "has_more": pager.more, "next_cursor": pager.next_cursor}

    def append_blocks(self, data: dict[str, Any]) -> dict[str, Any]:
        blocks = payloads.blocks_from_text(data.get("text") or "")
        blocks += [payloads.block_of(b) for b in data.get("blocks") or []]
        if not blocks:
            raise ValidationFailed("the text has no lines", details={"text": ["only blank lines"]})
        ids = self._append(data["page_id"], blocks, data.get("after"))
        return {"page_id": data["page_id"], "block_ids": ids, "count": len(blocks)}

    def get_page(self, data: dict[str, Any]) -> dict[str, Any]:
        return payloads.page(json_or_empty(
            self.http.get(f"v1/pages/{_path(data['page_id'])}", operation="pages.retrieve")))

    def search(self, data: dict[str, Any]) -> dict[str, Any]:
        found, pager = self._list(
            "v1/search", "search", data, query=data["query"] or None,
            filter={"property": "object", "value": data["object"]} if data.get("object") else None,
            sort={"direction": data["direction"], "timestamp": "last_edited_time"}
            if data.get("direction") else None)
        results = [payloads.result(r) for r in found]
        return {"results": results, "count": len(results), "has_more": pager.more,
                "next_cursor": pager.next_cursor}

    def add_comment(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {"parent": {"page_id": data["page_id"]},
                "rich_text": payloads.rich_text(data["text"])}
        comment = json_or_empty(self.http.post("v1/comments", json=body,
                                               operation="comments.create"))
        return {"id": comment.get("id"), "discussion_id": comment.get("discussion_id"),
                "page_id": data["page_id"], "created_time": comment.get("created_time")}

    # -- webhooks --------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Notion's one-time, unsigned verification request: ``{"verification_token": ...}``.

        The token becomes the webhook secret only while the connection has none (the receiver
        checks again); the answer never echoes it. Paste it into Notion's integration settings
        to finish verifying the subscription.
        """
        if req.method != "POST" or req.headers.get("X-Notion-Signature"):
            return None
        try:
            payload = json.loads(req.body)
        except ValueError:
            return None
        if not isinstance(payload, dict) or set(payload) != {"verification_token"}:
            return None
        token = payload["verification_token"]
        if not isinstance(token, str) or not 0 < len(token) <= 512 or not token.isprintable():
            return None
        if self.webhook_secret():
            # Answered alike either way: the caller is not told whether a secret is set.
            self.log.warning("Notion verification request for connection %s not adopted: it "
                             "already has a webhook secret", self.connection.id)
            return Handshake(status=200)
        return Handshake(status=200, secret=token)

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery; Notion's retries (``attempt_number``) share its ``id``."""
        if not isinstance(payload, dict):
            return []
        name = EVENTS.get(str(payload.get("type")))
        if name is None or self.manifest.trigger(name) is None:
            return []
        delivery = str(payload.get("id") or hashlib.sha256(req.body).hexdigest())
        return [InboundEvent(name, delivery, payload)]

    # -- helpers ----------------------------------------------------------------------------

    def _properties(self, given: dict[str, Any], types: dict[str, tuple[str, str]] | None
                    ) -> dict[str, Any]:
        props, problems = payloads.properties(given, types)
        if problems:
            raise ValidationFailed("invalid page properties", details={"properties": problems})
        return props

    def _data_source_of(self, database_id: str) -> str:
        """The one data source of a database (2025-09-03 puts rows and schemas there)."""
        database = json_or_empty(self.http.get(f"v1/databases/{_path(database_id)}",
                                                operation="databases.retrieve"))
        sources = [s.get("id") for s in database.get("data_sources") or [] if isinstance(s, dict)]
        if len(sources) != 1 or not isinstance(sources[0], str):
            raise ValidationFailed(
                f"the database has {len(sources)} data sources: give data_source_id",
                details={"database_id": [f"{len(sources)} data sources; give data_source_id "
                                         f"({', '.join(map(str, sources[:10]))})"]})
        return sources[0]

    def _data_source_types(self, data: dict[str, Any]) -> dict[str, tuple[str, str]]:
        source = data.get("data_source_id") or self._data_source_of(data["database_id"])
        schema = json_or_empty(self.http.get(f"v1/data_sources/{_path(source)}",
                                              operation="data_sources.retrieve"))
        return payloads.property_types(schema.get("properties") or {})

    def _list(self, path: str, operation: str, data: dict[str, Any], **body: Any
              ) -> tuple[list[dict[str, Any]], NotionPages]:
        wanted = data["max_items"]
        payload = compact(**body, start_cursor=data.get("start_cursor"),
                          page_size=min(wanted, PAGE_SIZE))
        pager = NotionPages(body=payload, wanted=wanted)
        found = self.http.paginate(path, pager, method="POST", json=payload, idempotent=True,
                                   operation=operation)
        # Read to the end: the pager asks for no more than ``wanted`` and, after the last page,
        # holds its has_more and next_cursor.
        return list(found)[:wanted], pager

    def _append(self, block_id: str, blocks: list[dict[str, Any]], after: str | None) -> list:
        """Append in requests of 100 blocks (Notion's limit), in order."""
        ids: list[Any] = []
        for start in range(0, len(blocks), PAGE_SIZE):
            body = compact(children=blocks[start:start + PAGE_SIZE], after=after)
            answer = json_or_empty(self.http.patch(
                f"v1/blocks/{_path(block_id)}/children", json=body,
                operation="blocks.children.append"))
            new = [b.get("id") for b in answer.get("results") or [] if isinstance(b, dict)]
            ids += new
            if after and new:
                after = new[-1]
        return ids


def _path(notion_id: str) -> str:
    """An id validated by the input schema, quoted all the same."""
    return quote(notion_id, safe="")
