"""Shaping Salesforce answers into action outputs, SOQL pieces and the poll cursor."""
from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from typing import Any

from atom.integrations.errors import CursorExpired

EPOCH = "1970-01-01T00:00:00.000+0000"
_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
# How the REST API writes date-times: 2026-03-02T09:00:00.000+0000.
_STAMP = "%Y-%m-%dT%H:%M:%S.%f%z"


def record(body: dict[str, Any]) -> dict[str, Any]:
    """A record without its ``attributes`` (type and URL), which are not field values."""
    return {k: v for k, v in body.items() if k != "attributes"}


def field(item: dict[str, Any]) -> dict[str, Any]:
    """One field of a describe answer, with the properties workflows use."""
    return {
        "name": item.get("name"),
        "label": item.get("label"),
        "type": item.get("type"),
        "length": item.get("length"),
        "nillable": item.get("nillable"),
        "createable": item.get("createable"),
        "updateable": item.get("updateable"),
        "external_id": item.get("externalId"),
        "unique": item.get("unique"),
        "reference_to": item.get("referenceTo") or [],
        "picklist_values": [p.get("value") for p in item.get("picklistValues") or []
                            if p.get("active", True)],
    }


def describe(body: dict[str, Any]) -> dict[str, Any]:
    fields = [field(f) for f in body.get("fields") or []]
    return {
        "name": body.get("name"),
        "label": body.get("label"),
        "label_plural": body.get("labelPlural"),
        "key_prefix": body.get("keyPrefix"),
        "custom": body.get("custom"),
        "createable": body.get("createable"),
        "updateable": body.get("updateable"),
        "queryable": body.get("queryable"),
        "fields": fields,
        "count": len(fields),
    }


# -- the poll cursor: "<high-water time>|<Id of the last record at that time>" -----------------

def encode_cursor(stamp: str, record_id: str) -> str:
    return f"{stamp}|{record_id}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The cursor's high-water time and last record id.

    :raises CursorExpired: a cursor this plugin did not write (re-prime).
    """
    stamp, _, record_id = cursor.partition("|")
    try:
        when = datetime.strptime(stamp, _STAMP)
    except ValueError:
        raise CursorExpired(f"not a Salesforce poll cursor: {cursor[:60]!r}") from None
    if record_id and not _ID.match(record_id):
        raise CursorExpired(f"not a Salesforce poll cursor: {cursor[:60]!r}")
    return when, record_id


def soql_datetime(when: datetime) -> str:
    """A SOQL date-time literal (UTC, whole seconds: ``2026-03-02T09:00:00Z``). Salesforce
    keeps date-times to the second (the API writes ``.000``) (verify), so nothing is cut."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def after(stamp_field: str, when: datetime, record_id: str) -> str:
    """The SOQL condition "after (time, Id)" in (time, Id) order: later, or as late with a
    greater Id. Records sharing a time (a bulk load) are then neither skipped nor repeated;
    SOQL compares Ids with > (verify: the order matches ORDER BY Id)."""
    lit = soql_datetime(when)
    if not record_id:
        return f"{stamp_field} >= {lit}"
    return f"({stamp_field} > {lit} OR ({stamp_field} = {lit} AND Id > '{record_id}'))"
