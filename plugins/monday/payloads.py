"""Variables sent to monday.com and the compact shapes returned to workflows."""
from __future__ import annotations

import json
from typing import Any


def json_value(raw: Any) -> Any:
    """A ``JSON`` scalar as monday returns it (a JSON-encoded string) decoded; None stays None."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def column_values_json(values: dict[str, Any] | None) -> str | None:
    """``column_values`` as the JSON string the ``JSON`` argument takes."""
    return None if values is None else json.dumps(values, separators=(",", ":"))


def item(i: dict[str, Any]) -> dict[str, Any]:
    group = i.get("group") or None
    return {
        "id": i["id"],
        "name": i.get("name"),
        "state": i.get("state"),
        "url": i.get("url"),
        "board_id": (i.get("board") or {}).get("id"),
        "group": {"id": group["id"], "title": group.get("title")} if group else None,
        "created_at": i.get("created_at"),
        "updated_at": i.get("updated_at"),
        # By column id, so a workflow reads {{ steps.x.column_values.status.text }}.
        "column_values": {
            c["id"]: {"type": c.get("type"), "text": c.get("text"), "value": json_value(c.get("value"))}
            for c in i.get("column_values") or []
        },
    }


def board(b: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": b["id"],
        "name": b.get("name"),
        "description": b.get("description"),
        "state": b.get("state"),
        "kind": b.get("board_kind"),
        "type": b.get("type"),
        "workspace_id": b.get("workspace_id"),
        "url": b.get("url"),
        "updated_at": b.get("updated_at"),
        "items_count": b.get("items_count"),
    }
    if "groups" in b:
        out["groups"] = [{"id": g["id"], "title": g.get("title"), "color": g.get("color"),
                          "position": g.get("position"), "archived": bool(g.get("archived"))}
                         for g in b.get("groups") or [] if g]
    if "columns" in b:
        out["columns"] = [{"id": c["id"], "title": c.get("title"), "type": c.get("type"),
                           "settings": json_value(c.get("settings_str")) or {}}
                          for c in b.get("columns") or [] if c]
    return out


def update(u: dict[str, Any]) -> dict[str, Any]:
    return {"id": u["id"], "item_id": u.get("item_id"), "body": u.get("body"),
            "text_body": u.get("text_body"), "created_at": u.get("created_at"),
            "creator_id": u.get("creator_id")}


def items_query(data: dict[str, Any]) -> dict[str, Any] | None:
    """The ``ItemsQuery`` of a get_items input, or None for every item."""
    query: dict[str, Any] = {}
    if data.get("rules"):
        query["rules"] = [{k: v for k, v in r.items() if v is not None} for r in data["rules"]]
        query["operator"] = data["match"]
    if data.get("order_by"):
        query["order_by"] = data["order_by"]
    return query or None


# Webhook event types (the payload's ``event.type``) -> trigger names. A column change arrives as
# ``update_column_value`` whether the board subscribed change_column_value,
# change_specific_column_value or change_status_column_value.
EVENT_TRIGGERS = {
    "create_pulse": "item_created",
    "update_column_value": "column_value_changed",
    "create_update": "update_created",
}
# Status columns are "color" in webhook payloads ("status" in the API's ColumnType).
STATUS_COLUMN_TYPES = frozenset({"color", "status"})
