"""Query parameters sent to Trello, the compact shapes returned to workflows, and how webhook
actions map to triggers."""
from __future__ import annotations

from typing import Any

# Action input -> Trello parameter, for card writes.
CARD_PARAMS = {
    "name": "name", "description": "desc", "due": "due", "start": "start",
    "due_complete": "dueComplete", "closed": "closed", "member_ids": "idMembers",
    "label_ids": "idLabels", "position": "pos", "list_id": "idList", "board_id": "idBoard",
}
# Trello parameter -> action input, for Trello's "invalid value for <param>" errors.
INPUT_OF = {param: name for name, param in CARD_PARAMS.items()} | {
    "text": "text", "callbackURL": "callback_url", "idModel": "model_id", "description":
    "description"}


def query(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """Trello parameters for the given inputs among ``names``.

    Trello takes every write parameter in the query string (its OpenAPI description declares
    them there). Lists are comma-separated, as Trello documents them (the description declares
    exploded arrays, which Trello does not read); booleans are ``true``/``false``; a null clears
    the field (``due=null``).
    """
    out: dict[str, str] = {}
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if value is None:
            out[CARD_PARAMS[name]] = "null"
        elif isinstance(value, bool):
            out[CARD_PARAMS[name]] = "true" if value else "false"
        elif isinstance(value, list):
            out[CARD_PARAMS[name]] = ",".join(value)
        else:
            out[CARD_PARAMS[name]] = str(value)
    return out


def _ids(values: Any) -> list[str]:
    # The spec's example lists label objects under idLabels; Trello itself lists ids there.
    return [v if isinstance(v, str) else str((v or {}).get("id")) for v in values or []]


def card(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": c["id"],
        "name": c.get("name"),
        "description": c.get("desc"),
        "url": c.get("url"),
        "short_url": c.get("shortUrl"),
        "list_id": c.get("idList"),
        "board_id": c.get("idBoard"),
        "closed": bool(c.get("closed", False)),
        "due": c.get("due"),
        "due_complete": bool(c.get("dueComplete", False)),
        "start": c.get("start"),
        "member_ids": _ids(c.get("idMembers")),
        "label_ids": _ids(c.get("idLabels")),
        "position": c.get("pos"),
        "last_activity": c.get("dateLastActivity"),
    }


def board(b: dict[str, Any]) -> dict[str, Any]:
    return {"id": b["id"], "name": b.get("name"), "description": b.get("desc"),
            "url": b.get("url"), "closed": bool(b.get("closed", False)),
            "organization_id": b.get("idOrganization")}


def trello_list(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "name": item.get("name"), "closed": bool(item.get("closed", False)),
            "position": item.get("pos"), "board_id": item.get("idBoard")}


def comment(action: dict[str, Any], card_id: str) -> dict[str, Any]:
    data = action.get("data") or {}
    return {"id": action["id"], "card_id": card_id, "text": data.get("text"),
            "date": action.get("date"), "member_id": action.get("idMemberCreator")}


def webhook(w: dict[str, Any]) -> dict[str, Any]:
    return {"id": w["id"], "model_id": w.get("idModel"), "callback_url": w.get("callbackURL"),
            "active": w.get("active"), "description": w.get("description")}


def trigger_name(action: dict[str, Any]) -> str | None:
    """The trigger a webhook's ``action`` maps to, or None to ignore it
    (https://developer.atlassian.com/cloud/trello/guides/rest-api/action-types/)."""
    kind = action.get("type")
    if kind == "createCard":
        return "card_created"
    if kind == "commentCard":
        return "comment_added"
    if kind == "updateCard":
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        return "card_moved" if data.get("listAfter") else "card_updated"
    return None
