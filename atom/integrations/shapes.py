"""A compact way to write the JSON Schemas of action outputs and trigger payloads, as data.

``obj(id=STR, count=INT)`` is ``{"type": "object", "properties": {...}}``; additional
properties are allowed (a vendor adding a field must not break a workflow), types are checked.
"""
from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
ANY: Schema = {}
URL: Schema = {"type": "string", "format": "uri"}
TIME: Schema = {"type": "string", "description": "ISO 8601 date-time"}


def maybe(schema: Schema) -> Schema:
    """``schema`` or null."""
    kind = schema.get("type")
    if kind is None:
        return schema
    kinds = kind if isinstance(kind, list) else [kind]
    return {**schema, "type": [*kinds, "null"]}


def obj(*, required: tuple[str, ...] = (), about: str | None = None,
        **properties: Schema) -> Schema:
    """An object with these properties; ``about`` is the schema's description (a property may
    itself be called ``description``)."""
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    if about:
        out["description"] = about
    return out


def arr(items: Schema, description: str | None = None) -> Schema:
    out: Schema = {"type": "array", "items": items}
    if description:
        out["description"] = description
    return out


def listing(key: str, item: Schema, **extra: Schema) -> Schema:
    """``{<key>: [item, ...], "count": n}``: the output of every list action."""
    return obj(required=(key, "count"), **{key: arr(item), "count": INT}, **extra)
