"""Keyset pagination, the one way every list endpoint pages: ``?limit=`` and an opaque
``?cursor=``.

A page answers ``{<items>: [...], "next_cursor": str | null, "total": int?}``: the list keeps
the name it always had (``workflows``, ``executions``, ``connections``, ...), ``next_cursor`` is
null on the last page, and ``total`` (every row the filters match, not only this page) is given
where counting is cheap: lists that are small by nature or already held in memory, and the
workflows (one indexed count). The executions, step runs and the alerts grow without bound and
give no total.

The cursor is the sort key and id of the last row of the page, as base64url JSON, signed with
the app's secret key and bound to the endpoint it came from: a tampered cursor, or one from
another list, is a 422 naming ``cursor``, never a 500. A page is read with ``WHERE (key, id) >
(last key, last id) ORDER BY key, id LIMIT n + 1`` (the extra row tells whether there is a next
page), so the tenth-thousandth row costs what the first does.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask import request
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from atom.api.errors import ApiError
from atom.api.inputs import BoundedSchema
from atom.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR = 512
_SIGNATURE_BYTES = 12


class PageQuery(BoundedSchema):
    """The query parameters of every list: mix into (or subclass for) a list's own filters."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT,
                           validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": f"rows per page, 1 to {MAX_LIMIT} "
                                                    f"(default {DEFAULT_LIMIT})"})
    cursor = fields.String(validate=validate.Length(min=1, max=MAX_CURSOR), metadata={
        "description": "the next_cursor of the previous page (opaque; omit for the first page)"})


class PageOut(Schema):
    """What every page carries beside its items."""

    next_cursor = fields.String(allow_none=True, metadata={
        "description": "pass as ?cursor= for the next page; null on the last page"})


class CountedPageOut(PageOut):
    total = fields.Integer(metadata={"description": "rows matching the filters, all pages"})


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None
    total: int | None = None

    def answer(self, name: str, items: list[Any], **extra: Any) -> dict[str, Any]:
        """The response body: ``items`` (the presented rows) under ``name``."""
        out: dict[str, Any] = {name: items, "next_cursor": self.next_cursor}
        if self.total is not None:
            out["total"] = self.total
        out.update(extra)
        return out


# -- the cursor ------------------------------------------------------------------------------


def _scope() -> bytes:
    return (request.endpoint or request.path).encode()


def _sign(payload: bytes) -> bytes:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, _scope() + b"\0" + payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"} and isinstance(value["t"], str):
        return datetime.fromisoformat(value["t"])
    if value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    raise ValueError("not a key value")


def encode_cursor(key: Sequence[Any]) -> str:
    payload = json.dumps([_encode_value(v) for v in key], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_sign(payload))}"


def _refused(reason: str) -> ApiError:
    return ApiError(422, f"invalid cursor: {reason}", errors={"cursor": [reason]})


def decode_cursor(cursor: str, width: int) -> tuple[Any, ...]:
    """The sort key a cursor of this endpoint holds (``width`` values), or a 422."""
    try:
        body, _, signature = cursor.partition(".")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(signature), _sign(payload)):
            raise _refused("not a cursor of this list (use the next_cursor of its last page)")
        values = json.loads(payload)
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong width")
        return tuple(_decode_value(v) for v in values)
    except ApiError:
        raise
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise _refused("not a cursor of this list (use the next_cursor of its last page)") from exc


# -- paging a query and a list ----------------------------------------------------------------


def _after(columns: Sequence[Any], key: Sequence[Any], descending: bool) -> Any:
    """``(c1, c2, ...) > (k1, k2, ...)`` (``<`` descending), spelled out for every database."""
    clauses = []
    for i, column in enumerate(columns):
        step = column < key[i] if descending else column > key[i]
        clauses.append(and_(*[columns[j] == key[j] for j in range(i)], step))
    return or_(*clauses)


def paginate(stmt: Any, query: dict[str, Any], order: Sequence[Any], *,
             descending: bool = False, count: bool = False, scalars: bool = True,
             key_of: Callable[[Any], Sequence[Any]] | None = None) -> Page:
    """One page of ``stmt`` ordered by ``order`` (columns that end with a unique one, the id).

    ``scalars`` reads the first entity of each row (``db.session.scalars``); otherwise rows are
    tuples and ``key_of(row)`` gives their sort key. ``count`` adds the total of ``stmt``.
    """
    total = None
    if count:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    paged = stmt
    if query.get("cursor") is not None:
        paged = paged.where(_after(order, decode_cursor(query["cursor"], len(order)), descending))
    paged = paged.order_by(None).order_by(*[c.desc() if descending else c.asc() for c in order])
    if query.get("offset"):
        paged = paged.offset(query["offset"])
    result = db.session.scalars(paged.limit(query["limit"] + 1)) if scalars else \
        db.session.execute(paged.limit(query["limit"] + 1))
    rows = list(result)
    more = len(rows) > query["limit"]
    rows = rows[:query["limit"]]
    if key_of is None:
        names = [c.key for c in order]

        def key_of(row: Any) -> Sequence[Any]:
            return [getattr(row, n) for n in names]

    next_cursor = encode_cursor(key_of(rows[-1])) if more and rows else None
    return Page(rows, next_cursor, total)


def paginate_items(items: Iterable[Any], query: dict[str, Any],
                   key: Callable[[Any], Sequence[Any]]) -> Page:
    """One page of a list already in memory (the catalogue, templates, poll cursors), sorted
    by ``key`` (which must be unique per item); its total is given."""
    ordered = sorted(items, key=lambda item: tuple(key(item)))
    if query.get("cursor") is not None:
        last = decode_cursor(query["cursor"], len(key(ordered[0])) if ordered else 1)
        try:
            ordered_after = [item for item in ordered if tuple(key(item)) > tuple(last)]
        except TypeError as exc:
            raise _refused("not a cursor of this list (use the next_cursor of its last page)") from exc
    else:
        ordered_after = ordered
    rows = ordered_after[:query["limit"]]
    more = len(ordered_after) > query["limit"]
    return Page(rows, encode_cursor(key(rows[-1])) if more else None, len(ordered))
