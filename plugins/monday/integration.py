"""monday.com platform API (GraphQL): items, column values, boards and updates; board webhooks.

API reference: https://developer.monday.com/api-reference/docs/basics
Errors: https://developer.monday.com/api-reference/docs/error-handling (application errors are
HTTP 200 with ``errors``; versions before 2025-01 also answered top-level ``error_code`` /
``error_message``, which is still read here)
Rate limits: https://developer.monday.com/api-reference/docs/rate-limits
Webhooks: https://developer.monday.com/api-reference/docs/webhooks
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from itertools import islice
from typing import Any

import requests

from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import ErrorTable
from atom.integrations.helpers import GraphQLPages
from atom.integrations.helpers import compact
from atom.integrations.helpers import graphql
from atom.integrations.helpers import json_or_empty
from atom.integrations.helpers import raise_for_graphql
from atom.integrations.http import default_raise_for_response
from atom.integrations.webhooks import WebhookRequest
from plugins.monday import payloads
from plugins.monday import queries as q

API_VERSION = "2025-04"
PATH = "v2"
SERVICE = "monday.com"

# Codes as monday spells them: exception names, and the upper-case codes of newer errors.
ERRORS = ErrorTable(
    auth=frozenset({"UserUnauthorizedException", "UserUnauthroizedException",
                    "missingRequiredPermissions", "USER_UNAUTHORIZED", "Unauthorized"}),
    rate_limited=frozenset({"ComplexityException", "COMPLEXITY_BUDGET_EXHAUSTED",
                            "RATE_LIMIT_EXCEEDED", "Rate Limit Exceeded", "DAILY_LIMIT_EXCEEDED",
                            "IP_RATE_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_EXCEEDED",
                            "maxConcurrencyExceeded"}),
    transient=frozenset({"INTERNAL_SERVER_ERROR", "API_TEMPORARILY_BLOCKED"}),
    validation={
        "ColumnValueException": "column_values", "CorrectedValueException": "column_values",
        "JsonParseException": "column_values", "InvalidColumnIdException": "column_values",
        "InvalidBoardIdException": "board_id", "InvalidItemIdException": "item_id",
        "InvalidGroupIdException": "group_id", "ItemNameTooLongException": "name",
        "InvalidArgumentException": None, "InvalidUserIdException": None,
        "RecordInvalidException": None, "ItemsLimitationException": None,
        "DeleteLastGroupException": "group_id", "InvalidVersionException": "api_version",
        "FIELD_LIMIT_EXCEEDED": None, "ParseError": None,
    },
    not_found=frozenset({"ResourceNotFoundException"}),
)
# Root fields whose column ids come from get_items' rules rather than column_values.
_RULE_FIELDS = frozenset({"boards", "items_page", "next_items_page"})
_RESET_IN = re.compile(r"reset in (\d{1,6}) seconds?")
_CHALLENGE_MAX = 1024


def monday_errors(body: Mapping[str, Any]) -> list[Any]:
    """The body's errors as GraphQL error objects, the legacy top-level form included."""
    errors = body.get("errors")
    if body.get("error_code") or (body.get("error_message") and not errors):
        return [{"message": body.get("error_message") or body.get("error_code"),
                 "extensions": {"code": body.get("error_code") or "",
                                "error_data": body.get("error_data") or {}}}]
    return errors if isinstance(errors, list) else []


def code_of(error: Mapping[str, Any]) -> str:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    if code:
        return str(code)
    return "ParseError" if str(error.get("message", "")).startswith("Parse error") else ""


def field_of(error: Mapping[str, Any]) -> str | None:
    path = error.get("path")
    root = path[0] if isinstance(path, list) and path else None
    if code_of(error) == "InvalidColumnIdException" and root in _RULE_FIELDS:
        return "rules"
    return None


def retry_after_of(error: Mapping[str, Any], response: requests.Response) -> float | None:
    extensions = error.get("extensions") if isinstance(error.get("extensions"), Mapping) else {}
    for source in (extensions, extensions.get("error_data") or {}):
        wait = source.get("retry_in_seconds") if isinstance(source, Mapping) else None
        if isinstance(wait, (int, float)) and not isinstance(wait, bool) and wait >= 0:
            return float(wait)
    match = _RESET_IN.search(str(error.get("message", "")))
    return float(match.group(1)) if match else None


class MondayIntegration(Integration):
    def default_headers(self) -> dict[str, str]:
        return {"API-Version": self.connection.settings.get("api_version") or API_VERSION}

    def raise_for_response(self, response: requests.Response) -> None:
        """Transport errors by status (401/403, 5xx); then monday's errors, which come with
        HTTP 200 (or 429 for rate limits); then any other status."""
        status = response.status_code
        if status in (401, 403) or status >= 500:
            default_raise_for_response(response)
        raise_for_graphql(response, ERRORS, monday_errors(json_or_empty(response)),
                          service=SERVICE, code_of=code_of, field_of=field_of,
                          retry_after_of=retry_after_of)
        default_raise_for_response(response)

    def health_check(self) -> None:
        data = self._gql(q.HEALTH_CHECK, {}, "HealthCheck")
        if not (data.get("me") or {}).get("id"):
            raise UpstreamError("monday.com HealthCheck: no user in the answer; is base_url "
                                "monday's API?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_item(self, data: dict[str, Any]) -> dict[str, Any]:
        created = self._gql(q.CREATE_ITEM, {
            "boardId": data["board_id"], "itemName": data["name"],
            "groupId": data.get("group_id"),
            "columnValues": payloads.column_values_json(data.get("column_values")),
            "createLabels": data["create_labels_if_missing"],
        }, "CreateItem")["create_item"]
        return payloads.item(self._returned(created, "create_item"))

    def change_column_values(self, data: dict[str, Any]) -> dict[str, Any]:
        changed = self._gql(q.CHANGE_COLUMN_VALUES, {
            "boardId": data["board_id"], "itemId": data["item_id"],
            "columnValues": payloads.column_values_json(data["column_values"]),
            "createLabels": data["create_labels_if_missing"],
        }, "ChangeColumnValues", idempotent=True)["change_multiple_column_values"]
        return payloads.item(self._returned(changed, "change_multiple_column_values"))

    def move_item_to_group(self, data: dict[str, Any]) -> dict[str, Any]:
        moved = self._gql(q.MOVE_ITEM_TO_GROUP, {"itemId": data["item_id"],
                                                 "groupId": data["group_id"]},
                          "MoveItemToGroup", idempotent=True)["move_item_to_group"]
        return payloads.item(self._returned(moved, "move_item_to_group"))

    def create_update(self, data: dict[str, Any]) -> dict[str, Any]:
        created = self._gql(q.CREATE_UPDATE, {"itemId": data["item_id"], "body": data["body"],
                                              "parentId": data.get("parent_id")},
                            "CreateUpdate")["create_update"]
        return payloads.update(self._returned(created, "create_update"))

    def list_boards(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._gql(q.LIST_BOARDS, {
            "limit": data["limit"], "page": data["page"], "state": data["state"],
            "kind": data.get("kind"), "workspaceIds": data.get("workspace_ids"),
        }, "ListBoards")["boards"] or []
        boards = [payloads.board(b) for b in found if b]
        # boards() pages by number and says nothing about the end: a full page may have more.
        return {"boards": boards, "count": len(boards), "page": data["page"],
                "next_page": data["page"] + 1 if len(found) >= data["limit"] else None}

    def get_board(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._gql(q.GET_BOARD, {"boardId": data["board_id"]}, "GetBoard")["boards"]
        if not found or not found[0]:
            raise ValidationFailed(f"monday.com has no board {data['board_id']}",
                                   details={"board_id": ["not found"]})
        return payloads.board(found[0])

    def get_item(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._gql(q.GET_ITEM, {"itemId": data["item_id"]}, "GetItem")["items"]
        if not found or not found[0]:
            raise ValidationFailed(f"monday.com has no item {data['item_id']}",
                                   details={"item_id": ["not found"]})
        return payloads.item(found[0])

    def get_items(self, data: dict[str, Any]) -> dict[str, Any]:
        limit = min(data["page_size"], data["max_items"])
        pages = GraphQLPages(items="data.boards[0].items_page.items",
                             cursor="data.boards[0].items_page.cursor", cursor_var="cursor",
                             next_query=q.NEXT_ITEMS, next_items="data.next_items_page.items",
                             next_cursor="data.next_items_page.cursor", next_vars=("limit",))
        found = self.http.paginate(PATH, pages, method="POST", json={
            "query": q.GET_ITEMS,
            "variables": compact(boardId=data["board_id"], limit=limit,
                                 query=payloads.items_query(data)),
        }, idempotent=True, operation="GetItems")
        items = [payloads.item(i) for i in islice(found, data["max_items"])]
        return {"board_id": data["board_id"], "items": items, "count": len(items)}

    # -- webhooks --------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """monday POSTs ``{"challenge": "..."}`` when a webhook is created and expects the same
        JSON back; it is not signed (personal-token webhooks never are). Only that exact shape is
        answered, and nothing is stored."""
        if req.method != "POST" or len(req.body) > _CHALLENGE_MAX or b"challenge" not in req.body:
            return None
        try:
            payload = json.loads(req.body)
        except ValueError:
            return None
        if (isinstance(payload, dict) and set(payload) == {"challenge"}
                and isinstance(payload["challenge"], str) and payload["challenge"]):
            return Handshake(body={"challenge": payload["challenge"]})
        return None

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery, by ``event.type``; a status column's change is also a
        ``status_changed`` event. monday's retries keep the event's ``triggerUuid``."""
        event = payload.get("event") if isinstance(payload, dict) else None
        if not isinstance(event, dict):
            return []
        name = payloads.EVENT_TRIGGERS.get(str(event.get("type")))
        if name is None:
            return []
        delivery = str(event.get("triggerUuid") or hashlib.sha256(req.body).hexdigest())
        events = [InboundEvent(name, delivery, payload)]
        if name == "column_value_changed" and event.get("columnType") in payloads.STATUS_COLUMN_TYPES:
            events.append(InboundEvent("status_changed", f"{delivery}:status", payload))
        return events

    # -- helpers ----------------------------------------------------------------------------

    def _gql(self, query: str, variables: dict[str, Any], operation: str,
             idempotent: bool | None = None) -> dict[str, Any]:
        # Unset variables are left out, not sent as null: a null would override an argument's
        # default (boards(state:) defaults to active).
        return graphql(self.http, query, compact(**variables), operation=operation, path=PATH,
                       table=ERRORS,
                       code_of=code_of, idempotent=idempotent, service=SERVICE)

    @staticmethod
    def _returned(value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict) or not value.get("id"):
            raise UpstreamError(f"monday.com {field}: the answer has no item", permanent=True)
        return value
