"""A stateful fake of the monday.com platform API, executed by graphql-core against the vendor's
schema (``shared/specs/monday.graphql``, API version 2025-04).

It follows the reference at https://developer.monday.com/api-reference/reference (items,
``items_page`` / ``next_items_page`` cursors, boards, updates, column values as JSON strings)
and its error format (https://developer.monday.com/api-reference/docs/error-handling:
application errors are HTTP 200 with ``errors[].extensions.code``). Served at the HTTP seam with
``responses``: every document and every set of variables the plugin sends is validated by
graphql-core, a document that is not in the plugin's ``DOCUMENTS`` or that defines fewer
variables than were sent is refused too, and each refusal is recorded in ``invalid`` (the
``fake_monday`` fixture fails the test on any).
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import graphql
import responses

from plugins.monday.queries import DOCUMENTS
from tests.plugins.conftest import SPECS

URL = "https://api.monday.com/v2"
BOARD = "1234567890"
ITEM = "9876543210"
STATUS_LABELS = {"0": "Working on it", "1": "Done", "2": "Stuck"}


@lru_cache(maxsize=1)
def schema() -> graphql.GraphQLSchema:
    """The vendor's schema, built once per test process."""
    return graphql.build_schema((SPECS / "monday.graphql").read_text())


def monday_error(code: str, message: str, **error_data: Any) -> graphql.GraphQLError:
    """An application error as monday reports it (2025-01 and later)."""
    return graphql.GraphQLError(message, extensions={"code": code, "error_data": error_data,
                                                     "status_code": 200})


class FakeMonday:
    """Boards, items and updates in memory; the root resolvers of the schema's Query and
    Mutation fields the plugin uses."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.invalid: list[str] = []
        self._next = 9876543300
        self.board_data: dict[str, dict[str, Any]] = {}
        self.item_data: dict[str, dict[str, Any]] = {}
        self.update_data: dict[str, dict[str, Any]] = {}
        self.add_board(BOARD, "Sales pipeline")
        self.add_item(BOARD, "Acme renewal", "topics", {"status": "0", "text": "first call"},
                      item_id=ITEM)

    # -- state -------------------------------------------------------------------------------

    def new_id(self) -> str:
        self._next += 1
        return str(self._next)

    def add_board(self, board_id: str, name: str, **extra: Any) -> dict[str, Any]:
        board = {
            "id": board_id, "name": name, "description": None, "state": "active",
            "board_kind": "public", "type": "board", "workspace_id": "5551212",
            "url": f"https://acme.monday.com/boards/{board_id}",
            "updated_at": "2025-05-01T09:00:00Z",
            "groups": [{"id": "topics", "title": "This week", "color": "#579bfc",
                        "position": "65536", "archived": False},
                       {"id": "done_group", "title": "Done", "color": "#00c875",
                        "position": "131072", "archived": False}],
            "columns": [
                {"id": "name", "title": "Name", "type": "name", "settings_str": "{}"},
                {"id": "status", "title": "Status", "type": "status",
                 "settings_str": json.dumps({"labels": STATUS_LABELS})},
                {"id": "text", "title": "Notes", "type": "text", "settings_str": "{}"},
                {"id": "date4", "title": "Due", "type": "date", "settings_str": "{}"},
            ],
            **extra,
        }
        self.board_data[board_id] = board
        return board

    def add_item(self, board_id: str, name: str, group_id: str = "topics",
                 values: dict[str, str] | None = None, item_id: str | None = None
                 ) -> dict[str, Any]:
        item = {"id": item_id or self.new_id(), "name": name, "board_id": board_id,
                "group_id": group_id, "state": "active", "created_at": "2025-05-01T09:00:00Z",
                "updated_at": "2025-05-01T09:00:00Z", "values": dict(values or {})}
        self.item_data[item["id"]] = item
        return item

    # -- shapes the schema's types resolve from ------------------------------------------------

    def _board(self, board: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in board.items()}
        out["items_count"] = sum(1 for i in self.item_data.values() if i["board_id"] == board["id"])
        out["items_page"] = lambda info, limit=25, cursor=None, query_params=None: self._page(
            board["id"], 0, limit, query_params)
        return out

    def _column_values(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for column in self.board_data[item["board_id"]]["columns"]:
            kind, raw = column["type"], item["values"].get(column["id"])
            if kind == "name":
                continue
            if kind == "status":
                text = STATUS_LABELS.get(raw) if raw is not None else None
                value = None if raw is None else json.dumps({"index": int(raw), "post_id": None})
                typename = "StatusValue"
            elif kind == "date":
                text, value = raw, None if raw is None else json.dumps({"date": raw})
                typename = "DateValue"
            else:
                text, value = raw, None if raw is None else json.dumps(raw)
                typename = "TextValue"
            out.append({"__typename": typename, "id": column["id"], "type": kind, "text": text,
                        "value": value, "column": column})
        return out

    def _item(self, item: dict[str, Any]) -> dict[str, Any]:
        board = self.board_data[item["board_id"]]
        group = next(g for g in board["groups"] if g["id"] == item["group_id"])
        return {"id": item["id"], "name": item["name"], "state": item["state"],
                "url": f"{board['url']}/pulses/{item['id']}", "created_at": item["created_at"],
                "updated_at": item["updated_at"], "board": self._board(board),
                "group": group, "column_values": self._column_values(item)}

    def _matches(self, item: dict[str, Any], query: dict[str, Any] | None) -> bool:
        rules = (query or {}).get("rules") or []
        results = []
        for rule in rules:
            wanted = rule["compare_value"]
            wanted = wanted if isinstance(wanted, list) else [wanted]
            raw = item["values"].get(rule["column_id"])
            shown = STATUS_LABELS.get(raw, raw) if rule["column_id"] == "status" else raw
            hit = raw in map(str, wanted) or shown in wanted
            results.append(hit if rule.get("operator", "any_of") == "any_of" else not hit)
        if not results:
            return True
        return all(results) if (query or {}).get("operator", "and") == "and" else any(results)

    def _page(self, board_id: str, offset: int, limit: int, query: dict[str, Any] | None
              ) -> dict[str, Any]:
        matching = [i for i in self.item_data.values()
                    if i["board_id"] == board_id and self._matches(i, query)]
        page = matching[offset:offset + limit]
        more = offset + limit < len(matching)
        cursor = f"MSw{board_id}:{offset + limit}:{json.dumps(query)}" if more else None
        return {"cursor": cursor, "items": [self._item(i) for i in page]}

    def _column_update(self, item: dict[str, Any], raw: Any, create_labels: bool | None) -> None:
        try:
            values = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise monday_error("JsonParseException", "Invalid JSON in column_values") from None
        columns = {c["id"]: c for c in self.board_data[item["board_id"]]["columns"]}
        for column_id, value in (values or {}).items():
            column = columns.get(column_id)
            if column is None:
                raise monday_error("InvalidColumnIdException",
                                   "This column ID doesn't exist for the board",
                                   column_id=column_id, board_id=item["board_id"])
            if column["type"] == "status":
                label = value.get("label") if isinstance(value, dict) else value
                index = next((k for k, v in STATUS_LABELS.items() if v == label), None)
                if index is None and not create_labels:
                    raise monday_error(
                        "ColumnValueException",
                        "invalid value - label does not exist in column. Please check our API "
                        "documentation for the correct data structure for this column. "
                        "https://developer.monday.com/api-reference/docs/change-column-values",
                        column_type="status")
                item["values"][column_id] = index or "0"
            elif column["type"] == "date":
                item["values"][column_id] = value["date"] if isinstance(value, dict) else value
            else:
                item["values"][column_id] = value if isinstance(value, str) else json.dumps(value)

    def _require_item(self, item_id: str | None) -> dict[str, Any]:
        item = self.item_data.get(str(item_id))
        if item is None:
            raise monday_error("InvalidItemIdException", "Item not found", item_id=item_id)
        return item

    # -- Query ---------------------------------------------------------------------------------

    def me(self, info: Any) -> dict[str, Any]:
        return {"id": "4012689", "name": "Ada Lovelace", "email": "ada@example.com"}

    def boards(self, info: Any, ids: list[str] | None = None, limit: int = 25, page: int = 1,
               state: str = "active", board_kind: str | None = None,
               workspace_ids: list[str] | None = None, **_: Any) -> list[dict[str, Any]]:
        found = [b for b in self.board_data.values()
                 if (ids is None or b["id"] in ids) and (state == "all" or b["state"] == state)
                 and (board_kind is None or b["board_kind"] == board_kind)
                 and (workspace_ids is None or b["workspace_id"] in workspace_ids)]
        start = (page - 1) * limit
        return [self._board(b) for b in found[start:start + limit]]

    def items(self, info: Any, ids: list[str] | None = None, **_: Any) -> list[dict[str, Any]]:
        return [self._item(self.item_data[i]) for i in ids or [] if i in self.item_data]

    def next_items_page(self, info: Any, cursor: str, limit: int = 25) -> dict[str, Any]:
        board_id, offset, query = cursor[3:].split(":", 2)
        return self._page(board_id, int(offset), limit, json.loads(query))

    # -- Mutation ------------------------------------------------------------------------------

    def create_item(self, info: Any, board_id: str, item_name: str, group_id: str | None = None,
                    column_values: Any = None, create_labels_if_missing: bool | None = None,
                    **_: Any) -> dict[str, Any]:
        board = self.board_data.get(board_id)
        if board is None:
            raise monday_error("InvalidBoardIdException", "Board not found", board_id=board_id)
        if len(item_name) > 255:
            raise monday_error("ItemNameTooLongException", "Item name too long")
        group = group_id or board["groups"][0]["id"]
        if group not in {g["id"] for g in board["groups"]}:
            raise monday_error("InvalidGroupIdException", "Group not found", group_id=group)
        item = self.add_item(board_id, item_name, group)
        try:
            self._column_update(item, column_values, create_labels_if_missing)
        except graphql.GraphQLError:
            del self.item_data[item["id"]]
            raise
        return self._item(item)

    def change_multiple_column_values(self, info: Any, board_id: str, column_values: Any,
                                      item_id: str | None = None,
                                      create_labels_if_missing: bool | None = None
                                      ) -> dict[str, Any]:
        item = self._require_item(item_id)
        if item["board_id"] != board_id:
            raise monday_error("InvalidBoardIdException", "Item is not on this board")
        self._column_update(item, column_values, create_labels_if_missing)
        item["updated_at"] = "2025-05-02T10:00:00Z"
        return self._item(item)

    def move_item_to_group(self, info: Any, group_id: str, item_id: str | None = None
                           ) -> dict[str, Any]:
        item = self._require_item(item_id)
        if group_id not in {g["id"] for g in self.board_data[item["board_id"]]["groups"]}:
            raise monday_error("InvalidGroupIdException", "Group not found", group_id=group_id)
        item["group_id"] = group_id
        return self._item(item)

    def create_update(self, info: Any, body: str, item_id: str | None = None,
                      parent_id: str | None = None) -> dict[str, Any]:
        self._require_item(item_id)
        update = {"id": self.new_id(), "body": body, "text_body": body, "item_id": item_id,
                  "creator_id": "4012689", "created_at": "2025-05-02T10:00:00Z",
                  "edited_at": "2025-05-02T10:00:00Z", "parent_id": parent_id}
        self.update_data[update["id"]] = update
        return update

    # -- the HTTP seam -------------------------------------------------------------------------

    def handle(self, request: Any) -> tuple[int, dict[str, str], str]:
        sent = json.loads(request.body)
        query, variables = sent.get("query"), sent.get("variables") or {}
        self.requests.append({"query": query, "variables": variables,
                              "headers": dict(request.headers)})
        problem = self._check(query, variables)
        if problem:
            self.invalid.append(problem)
            return 200, {}, json.dumps({"errors": [{"message": problem}]})
        result = graphql.graphql_sync(schema(), query, root_value=self, variable_values=variables)
        unplaced = [e for e in result.errors or [] if not e.path]
        if unplaced:  # validation or variable coercion: a document or variables that drifted
            self.invalid.extend(e.message for e in unplaced)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        return 200, {}, json.dumps(body)

    @staticmethod
    def _check(query: Any, variables: dict[str, Any]) -> str | None:
        if query not in DOCUMENTS:
            return "a document that is not in plugins.monday.queries.DOCUMENTS"
        defined = {d.variable.name.value for op in graphql.parse(query).definitions
                   for d in getattr(op, "variable_definitions", None) or ()}
        extra = set(variables) - defined
        return f"variables the document does not define: {sorted(extra)}" if extra else None

    def serve(self, rsps: responses.RequestsMock, url: str = URL) -> None:
        rsps.add_callback(responses.POST, url, callback=self.handle,
                          content_type="application/json")

    def sent(self, operation: str) -> list[dict[str, Any]]:
        """The requests whose document is the operation ``operation``."""
        return [r for r in self.requests
                if graphql.get_operation_ast(graphql.parse(r["query"])).name.value == operation]
