"""Inputs that Python or the database cannot take, refused at the edge with a clear 4xx.

Every request passes :func:`check_request` (an app-wide ``before_request``) before its view:

* JSON bodies nested deeper than :data:`MAX_JSON_DEPTH` are a 400: near Python's recursion
  limit (1,000 frames) the parser itself, or any later walk of the document, would fail with a
  500. Shallower documents reach the views: the workflow engine refuses definitions deeper than
  the 64 levels it walks with its own 422 naming the step, and fails a step whose result nests
  deeper than 100 levels;
* a NUL character or a lone UTF-16 surrogate in a JSON string or key, a query parameter or a
  path segment is a 400 naming the field (PostgreSQL refuses NUL in text, and neither SQLite
  nor PostgreSQL can store a lone surrogate: without this the same input was a 500 on one
  database and silently stored on the other).

Ids in URLs go through the ``id`` converter (1 to 2**63-1) and ``int`` is bounded the same
way, so a larger number is a 404 instead of an overflow in SQLite. :class:`BoundedSchema`
gives every integer field of an API schema the same 64-bit range and accepts numbers only in
ASCII digits (``int("²")`` raises, ``int("١٢")`` is 12); :class:`UtcDateTime` keeps dates
within years 1970 to 2999 so converting them to UTC cannot overflow.
"""
from __future__ import annotations

import json
import re
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Iterator
from typing import Mapping

from flask import Flask
from flask import request
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import pre_load
from marshmallow import validate
from werkzeug.routing import IntegerConverter

from atom.api.errors import ApiError

MAX_ID = 2**63 - 1
MIN_INT = -(2**63)
MAX_JSON_DEPTH = 128
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# A string token or a bracket: strings are skipped so brackets inside them do not count.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')
# What may decode to NUL or a lone surrogate: the escapes, or the raw code points.
_SUSPECT = re.compile(r"\\u0000|\\u[dD][89abcdefABCDEF]|[\x00\ud800-\udfff]")
_BAD_TEXT = re.compile(r"[\x00\ud800-\udfff]")
_ASCII_INTEGER = re.compile(r"[ \t]*[+-]?[0-9]+[ \t]*")
_ASCII_NUMBER = re.compile(r"[ \t]*[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                           r"|nan|inf|infinity)[ \t]*", re.IGNORECASE)


def _at_most(limit: int) -> str:
    """A regex for the decimal numbers 1..``limit`` written without sign or leading zero.

    The bound is in the regex, not only in ``to_python``: werkzeug picks the rule for the
    method before converting, so a value refused by ``to_python`` on a path that has other
    methods would be a 405 instead of a 404.
    """
    digits = str(limit)
    parts = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"]
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            parts.append(f"{digits[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(digits) - i - 1}}}")
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id, 1 to 2**63-1 in ASCII digits; anything else is a 404."""

    regex = _at_most(MAX_ID)

    def __init__(self, map: Any) -> None:  # noqa: A002
        super().__init__(map, min=1, max=MAX_ID)


class Int64Converter(IntegerConverter):
    """``<int:name>`` bounded to 0..2**63-1 in ASCII digits: no integer column holds more."""

    regex = "(?:0|" + _at_most(MAX_ID) + ")"

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=MAX_ID if max is None else max, signed=signed)
        if fixed_digits:
            self.regex = ("-?" if signed else "") + f"[0-9]{{{fixed_digits}}}"


def init_app(app: Flask) -> None:
    """Register the converters and the request check; call before any route is added."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["int"] = Int64Converter
    app.before_request(check_request)


def check_request() -> None:
    """``before_request`` of the app: refuse what no view can handle (see the module doc).

    :raises ApiError: 400 naming the parameter, or ``_body``.
    """
    for name, value in request.args.items(multi=True):
        _check_text(value, name)
        _check_text(name, "_query")
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            _check_text(value, name)
    if request.mimetype not in _FORM_TYPES:
        check_json(request.get_data(cache=True), labelled=request.is_json)


def check_json(raw: bytes, labelled: bool = True) -> None:
    """Refuse a JSON document nested too deeply or holding NUL or lone surrogates.

    Cheap on ordinary bodies: the full scan runs only when the body has more brackets than
    the depth limit, and the parse only when an escape or code point could be a bad one. A
    body that is not valid JSON passes: the view that reads it says so.

    :param labelled: the request says the body is JSON; otherwise only a body that starts like
        JSON is checked (webhook senders do not always label it, and receivers parse it).

    :raises ApiError: 400, with ``errors`` naming the field (``_body`` for the document).
    """
    if not raw:
        return
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        return
    if not labelled and text.lstrip("\ufeff \t\r\n")[:1] not in ("{", "["):
        return
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _too_deep(text):
        raise ApiError(400, f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep",
                       errors={"_body": [f"nested more than {MAX_JSON_DEPTH} levels"]})
    if not _SUSPECT.search(text):
        return
    try:
        document = json.loads(text)
    except ValueError:
        return
    for path, value in _strings(document):
        _check_text(value, path)


def _too_deep(text: str) -> bool:
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _strings(document: Any) -> Iterator[tuple[str, str]]:
    """Every string of a parsed document (keys too), with the dotted path that names it."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path or "_body", value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield path or "_body", key
                stack.append((f"{path}.{key}" if path else str(key), item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item)
                         for i, item in enumerate(value))


def _check_text(value: str, name: str) -> None:
    match = _BAD_TEXT.search(value)
    if match is None:
        return
    name = _printable(name)
    reason = ("contains a NUL character" if match.group() == "\x00"
              else f"contains a lone surrogate (\\u{ord(match.group()):04x})")
    raise ApiError(400, f"{name} {reason}", errors={name: [reason]})


def _printable(name: str) -> str:
    """A field name safe to echo: bad code points escaped, at most 100 characters."""
    return _BAD_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", name)[:100]


# -- schemas -----------------------------------------------------------------------------------


class BoundedSchema(Schema):
    """Base of the API's request schemas: integers within 64 bits, numbers in ASCII digits.

    Every :class:`~marshmallow.fields.Integer` gets a 64-bit range besides its own (an
    unbounded ``offset`` or ``connection_id`` overflowed SQLite), and a number sent as text
    (a query parameter) must be written in ASCII: Python's ``int`` reads other scripts'
    digits, and raises on ``²``.
    """

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        if isinstance(field_obj, fields.Integer):
            field_obj.validators.append(validate.Range(min=MIN_INT, max=MAX_ID))

    @pre_load
    def _ascii_numbers(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        for name, field in self.fields.items():
            key = field.data_key or name
            raw = data.get(key)
            if isinstance(raw, str) and isinstance(field, fields.Number):
                pattern = _ASCII_INTEGER if isinstance(field, fields.Integer) else _ASCII_NUMBER
                if not pattern.fullmatch(raw):
                    raise ValidationError({key: ["not a number (write it in ASCII digits)"]})
        return data


class UtcDateTime(fields.AwareDateTime):
    """An ISO-8601 date-time between 1970 and 2999, loaded as an aware UTC datetime.

    Naive values take ``default_timezone`` (none: they are refused). Year 9999 with a negative
    offset, or year 1 with a positive one, overflowed when converted to UTC.
    """

    default_error_messages = {"range": "must be between 1970-01-01 and 2999-12-31 (UTC)"}

    def __init__(self, **kwargs: Any) -> None:
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("description", "ISO-8601, between 1970-01-01 and 2999-12-31")
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = parsed.astimezone(UTC)
        except OverflowError:
            raise self.make_error("range") from None
        if not EARLIEST <= utc <= LATEST:
            raise self.make_error("range")
        return utc
