"""Request bodies, outputs and error bodies of the HubSpot CRM v3 object endpoints."""
from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from typing import Any

# HUBSPOT_DEFINED association type ids (from -> to), see
# https://developers.hubspot.com/docs/api/crm/associations
DEAL_TO_CONTACT = 3
NOTE_TO_CONTACT = 202
NOTE_TO_DEAL = 214
CONTACT_FIELDS = ("email", "firstname", "lastname", "phone", "company")


def iso_timestamp(when: datetime) -> str:
    """UTC ISO 8601 with milliseconds, the form HubSpot returns (``2024-06-12T08:15:30.000Z``)."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def association(to_id: str, type_id: int) -> dict[str, Any]:
    """One entry of a create request's ``associations``."""
    return {"to": {"id": to_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


def record(body: dict[str, Any]) -> dict[str, Any]:
    """The output of every action that returns one CRM record."""
    return {"id": body["id"], "properties": body.get("properties") or {},
            "createdAt": body.get("createdAt"), "updatedAt": body.get("updatedAt"),
            "archived": body.get("archived", False)}


def contact_properties(data: dict[str, Any]) -> dict[str, Any]:
    """The named contact fields of an action's input, plus its free-form ``properties``."""
    props = {k: data[k] for k in CONTACT_FIELDS if k in data}
    props.update(data.get("properties") or {})
    return props


def error_details(body: dict[str, Any]) -> dict[str, list[str]]:
    """Field errors from ``errors[]`` (``context.propertyName``/``in``) or from the JSON list
    HubSpot embeds in "Property values were not valid: [...]"."""
    details: dict[str, list[str]] = {}
    for err in body.get("errors") or []:
        if not isinstance(err, dict):
            continue
        context = err.get("context") or {}
        names = context.get("propertyName") or ([err["in"]] if err.get("in") else ["_schema"])
        for name in names:
            details.setdefault(str(name), []).append(str(err.get("message") or err.get("code")))
    message = str(body.get("message") or "")
    if not details and "[" in message:
        try:
            embedded = json.loads(message[message.index("["):])
        except ValueError:
            embedded = []
        for item in embedded if isinstance(embedded, list) else []:
            if isinstance(item, dict) and item.get("name"):
                reason = str(item.get("message") or item.get("error"))
                details.setdefault(str(item["name"]), []).append(reason)
    if not details and message:
        details["_schema"] = [message]
    return details
