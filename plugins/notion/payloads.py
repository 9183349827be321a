"""Notion's objects both ways: plain values to property values and blocks, and pages back to
the compact shapes workflows see.

Property values: https://developers.notion.com/reference/page-property-values
Blocks: https://developers.notion.com/reference/block
Request limits (2,000 characters per text object, 100 items per array, 100 blocks per append):
https://developers.notion.com/reference/request-limits
"""
from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from typing import Any

TEXT_LIMIT = 2000
ARRAY_LIMIT = 100

# Property types whose value can be given as a plain value, and the ones no one can write.
SIMPLE_TYPES = frozenset({"title", "rich_text", "number", "select", "status", "multi_select",
                          "date", "checkbox", "url", "email", "phone_number", "people",
                          "relation"})
READ_ONLY_TYPES = frozenset({"formula", "rollup", "created_time", "created_by",
                             "last_edited_time", "last_edited_by", "unique_id", "button",
                             "verification"})
_TRUE = frozenset({"true", "yes", "y", "1", "on", "checked"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "unchecked", ""})
_ID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                 r"[0-9a-fA-F]{12}$")


def dashed(notion_id: str) -> str:
    """A Notion id as the dashed, lower-case UUID the API (and its spec) expects."""
    raw = notion_id.replace("-", "").lower()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


# -- requests --------------------------------------------------------------------------------


def rich_text(text: str) -> list[dict[str, Any]]:
    """Plain text as rich text objects of at most 2,000 characters each."""
    if len(text) > TEXT_LIMIT * ARRAY_LIMIT:
        raise ValueError(f"longer than {TEXT_LIMIT * ARRAY_LIMIT} characters")
    return [{"type": "text", "text": {"content": text[i:i + TEXT_LIMIT]}}
            for i in range(0, len(text), TEXT_LIMIT)]


def property_value(kind: str, value: Any) -> dict[str, Any]:
    """The property value object for a plain ``value`` of a property of type ``kind``.

    :raises ValueError: the value does not fit the type (the message says how it should look).
    """
    if kind in READ_ONLY_TYPES:
        raise ValueError(f"a {kind} property is computed by Notion and cannot be set")
    if kind not in SIMPLE_TYPES:
        raise ValueError(f"a {kind} property needs a Notion property value object, "
                         f"such as {{\"{kind}\": ...}}")
    if kind in ("title", "rich_text"):
        if isinstance(value, (dict, list, bool)):
            raise ValueError("give text")
        return {kind: [] if value is None else rich_text(str(value))}
    if kind == "number":
        return {"number": _number(value)}
    if kind in ("select", "status"):
        if value is None or value == "":
            return {kind: None}
        return {kind: {"name": _option(value)}}
    if kind == "multi_select":
        return {"multi_select": [{"name": _option(v)} for v in _items(value)]}
    if kind == "date":
        return {"date": None if value in (None, "") else {"start": _date(value)}}
    if kind == "checkbox":
        return {"checkbox": _boolean(value)}
    if kind in ("people", "relation"):
        return {kind: [{"id": _notion_id(v)} for v in _items(value)]}
    # url, email, phone_number: text as it is.
    if value is not None and not isinstance(value, str):
        raise ValueError("give text")
    if kind == "email" and value and "@" not in value:
        raise ValueError("not an email address")
    return {kind: value or None}


def properties(values: dict[str, Any], types: dict[str, tuple[str, str]] | None
               ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Property values for a page, and the problems found, by property.

    A dict is a Notion property value object and is sent as it is; any other value is
    converted by the type ``types`` gives the property (name or id -> (name, type)).
    """
    out: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            out[name] = value
            continue
        known = (types or {}).get(name)
        if known is None:
            names = ", ".join(sorted({n for n, _ in (types or {}).values()})[:20])
            problems[name] = [f"no property called {name!r} here (there are: {names or 'none'})"]
            continue
        try:
            out[known[0]] = property_value(known[1], value)
        except ValueError as exc:
            problems[name] = [str(exc)]
    return out, problems


def property_types(schema: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{name or id: (name, type)}`` from a data source's or a page's ``properties``."""
    types: dict[str, tuple[str, str]] = {}
    for name, prop in (schema or {}).items():
        if isinstance(prop, dict) and isinstance(prop.get("type"), str):
            types[name] = (name, prop["type"])
            if isinstance(prop.get("id"), str):
                types.setdefault(prop["id"], (name, prop["type"]))
    return types


def title_name(types: dict[str, tuple[str, str]] | None) -> str:
    """The name of the title property; ``title`` (its id in every database) when unknown."""
    return next((name for name, kind in (types or {}).values() if kind == "title"), "title")


# Line prefixes of plain text and the blocks they become ("- [ ]" before "- ").
_LINE_BLOCKS = (
    ("### ", "heading_3"), ("## ", "heading_2"), ("# ", "heading_1"),
    ("- [ ] ", "to_do"), ("- [x] ", "to_do"), ("- [X] ", "to_do"),
    ("[ ] ", "to_do"), ("[x] ", "to_do"), ("[X] ", "to_do"),
    ("- ", "bulleted_list_item"), ("* ", "bulleted_list_item"), ("> ", "quote"),
)
_NUMBERED = re.compile(r"^\d{1,4}[.)] ")
SIMPLE_BLOCKS = frozenset({"paragraph", "heading_1", "heading_2", "heading_3",
                           "bulleted_list_item", "numbered_list_item", "to_do", "quote"})


def block(kind: str, text: str, checked: bool = False) -> dict[str, Any]:
    """A block of ``kind`` holding plain ``text`` (``checked`` for a to-do)."""
    content: dict[str, Any] = {"rich_text": rich_text(text)}
    if kind == "to_do":
        content["checked"] = checked
    return {"type": kind, kind: content}


def blocks_from_text(text: str) -> list[dict[str, Any]]:
    """One block per non-empty line: ``# ``/``## ``/``### `` headings, ``- `` or ``* ``
    bullets, ``1. `` numbered items, ``[ ] ``/``[x] `` (or ``- [ ] ``) to-dos, ``> `` quotes,
    anything else a paragraph."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        for prefix, kind in _LINE_BLOCKS:
            if line.startswith(prefix):
                out.append(block(kind, line[len(prefix):], checked="x" in prefix.lower()))
                break
        else:
            numbered = _NUMBERED.match(line)
            out.append(block("numbered_list_item", line[numbered.end():]) if numbered
                       else block("paragraph", line))
    return out


def block_of(item: dict[str, Any]) -> dict[str, Any]:
    """A ``blocks`` item: ``{"type", "text", "checked"?}`` made into a block, or a Notion block
    object (it has a key named after its type) sent as it is."""
    kind = item["type"]
    if kind in item:
        return item
    return block(kind, item.get("text") or "", bool(item.get("checked")))


def _number(value: Any) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("give a number")
    if isinstance(value, (int, float)):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError("give a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("give a finite number")
    return int(number) if number.is_integer() and "." not in str(value) else number


def _option(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError("give the option's name")
    name = str(value).strip()
    if not name or len(name) > 100 or "," in name:
        raise ValueError("an option name has 1 to 100 characters and no comma")
    return name


def _items(value: Any) -> list[Any]:
    """A list, or a comma-separated string (what a template renders)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        if len(value) > ARRAY_LIMIT:
            raise ValueError(f"at most {ARRAY_LIMIT} items")
        return value
    raise ValueError("give a list or comma-separated text")


def _date(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value).strip()
    try:
        (datetime if "T" in text else date).fromisoformat(text)
    except ValueError:
        raise ValueError("give an ISO 8601 date (2024-05-01) or date-time") from None
    return text


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("give true or false")


def _notion_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value.strip()):
        raise ValueError("give Notion ids (32 hex digits)")
    return dashed(value.strip())


# -- answers ---------------------------------------------------------------------------------


def plain_text(items: Any) -> str:
    """The text of a rich text array."""
    if not isinstance(items, list):
        return ""
    return "".join(str(t.get("plain_text") or (t.get("text") or {}).get("content") or "")
                   for t in items if isinstance(t, dict))


def plain(prop: Any) -> Any:
    """A property value as a plain value: text, number, option name(s), date, ids."""
    if not isinstance(prop, dict):
        return prop
    kind = prop.get("type")
    value = prop.get(kind) if isinstance(kind, str) else None
    if kind in ("title", "rich_text"):
        return plain_text(value)
    if kind in ("select", "status"):
        return (value or {}).get("name")
    if kind == "multi_select":
        return [o.get("name") for o in value or [] if isinstance(o, dict)]
    if kind in ("people", "relation"):
        return [o.get("id") for o in value or [] if isinstance(o, dict)]
    if kind == "date":
        if not value:
            return None
        return value.get("start") if not value.get("end") else {"start": value.get("start"),
                                                                "end": value.get("end")}
    if kind in ("created_by", "last_edited_by"):
        return (value or {}).get("id")
    if kind == "files":
        return [f.get("name") for f in value or [] if isinstance(f, dict)]
    if kind in ("formula", "rollup") and isinstance(value, dict):
        inner = value.get("type")
        return plain(value) if inner == "array" else value.get(inner)
    if kind == "unique_id" and isinstance(value, dict):
        number = value.get("number")
        return f"{value['prefix']}-{number}" if value.get("prefix") else number
    if kind == "array":  # inside a rollup
        return [plain(v) for v in value or []]
    return value


def parent(p: Any) -> dict[str, Any]:
    p = p if isinstance(p, dict) else {}
    return {"type": p.get("type"), "database_id": p.get("database_id"),
            "data_source_id": p.get("data_source_id"), "page_id": p.get("page_id")}


def page(p: dict[str, Any]) -> dict[str, Any]:
    """A page as workflows see it: ids, links, title and plain property values."""
    props = p.get("properties") if isinstance(p.get("properties"), dict) else {}
    title = next((plain(v) for v in props.values()
                  if isinstance(v, dict) and v.get("type") == "title"), None)
    return {
        "id": p.get("id"),
        "object": p.get("object"),
        "url": p.get("url"),
        "title": title,
        "parent": parent(p.get("parent")),
        "created_time": p.get("created_time"),
        "last_edited_time": p.get("last_edited_time"),
        "in_trash": bool(p.get("in_trash", p.get("archived", False))),
        "properties": {name: plain(v) for name, v in props.items()},
    }


def result(r: dict[str, Any]) -> dict[str, Any]:
    """A search result: a page, or a data source (whose title is its own rich text)."""
    if r.get("object") == "page" or "properties" in r and "title" not in r:
        out = page(r)
        return {k: out[k] for k in ("id", "object", "url", "title", "parent",
                                    "last_edited_time", "in_trash")}
    return {"id": r.get("id"), "object": r.get("object"), "url": r.get("url"),
            "title": plain_text(r.get("title")) if isinstance(r.get("title"), list) else None,
            "parent": parent(r.get("parent")), "last_edited_time": r.get("last_edited_time"),
            "in_trash": bool(r.get("in_trash", r.get("archived", False)))}
