"""A small SOQL evaluator for the fake Salesforce (``fake.py``): enough of
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
for the plugin's queries and the examples.

``SELECT <fields | FIELDS(STANDARD|ALL|CUSTOM)> FROM <object> [WHERE <condition>]
[ORDER BY <field> [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]``; conditions with
AND, OR, NOT, parentheses, ``= != <> < <= > >= LIKE IN NOT IN``; values: quoted strings
(backslash escapes), numbers, true/false, null, date-time literals (``2026-03-02T09:00:00Z``,
``...+01:00``, with or without milliseconds) and dates. Anything else is MALFORMED_QUERY.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any
from typing import Callable


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:\\.|[^'\\])*')
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.X)
KEYWORDS = {"SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT",
            "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIKE", "IN", "TRUE", "FALSE", "NULL"}


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[pos:pos + 20].strip()}'")
        pos = m.end()
        kind = m.lastgroup
        raw = m.group(kind)
        if kind == "str":
            out.append(("value", re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind == "dt":
            stamp = raw.replace("Z", "+00:00")
            if re.search(r"[+-]\d{4}$", stamp):
                stamp = stamp[:-2] + ":" + stamp[-2:]
            out.append(("value", datetime.fromisoformat(stamp)))
        elif kind == "date":
            out.append(("value", date.fromisoformat(raw)))
        elif kind == "num":
            out.append(("value", float(raw) if "." in raw else int(raw)))
        elif kind == "op":
            out.append(("op", "!=" if raw == "<>" else raw))
        else:
            upper = raw.upper()
            if upper in ("TRUE", "FALSE"):
                out.append(("value", upper == "TRUE"))
            elif upper == "NULL":
                out.append(("value", None))
            elif upper in KEYWORDS:
                out.append(("kw", upper))
            else:
                out.append(("name", raw))
    return out


@dataclass
class Query:
    fields: list[str]
    field_sets: list[str]
    sobject: str
    where: Callable[[dict[str, Any]], bool] | None
    where_fields: list[str]
    order: list[tuple[str, bool]]
    limit: int | None
    offset: int


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.named: list[str] = []

    def peek(self, kind: str | None = None, value: Any = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, v = self.toks[self.i]
        return (kind is None or k == kind) and (value is None or v == value)

    def take(self, kind: str, value: Any = None) -> Any:
        if not self.peek(kind, value):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "end of query"
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{got}'")
        self.i += 1
        return self.toks[self.i - 1][1]

    def parse(self) -> Query:
        self.take("kw", "SELECT")
        fields, sets = [], []
        while True:
            name = self.take("name")
            if name.upper() == "FIELDS" and self.peek("op", "("):
                self.take("op", "(")
                sets.append(self.take("name").upper())
                self.take("op", ")")
            else:
                fields.append(name)
            if not self.peek("op", ","):
                break
            self.take("op", ",")
        self.take("kw", "FROM")
        sobject = self.take("name")
        where = None
        if self.peek("kw", "WHERE"):
            self.take("kw", "WHERE")
            where = self.expr()
        order: list[tuple[str, bool]] = []
        if self.peek("kw", "ORDER"):
            self.take("kw", "ORDER")
            self.take("kw", "BY")
            while True:
                name = self.take("name")
                desc = False
                if self.peek("kw", "ASC") or self.peek("kw", "DESC"):
                    desc = self.take("kw") == "DESC"
                if self.peek("kw", "NULLS"):
                    self.take("kw", "NULLS")
                    self.take("kw")
                order.append((name, desc))
                if not self.peek("op", ","):
                    break
                self.take("op", ",")
        limit = offset = None
        if self.peek("kw", "LIMIT"):
            self.take("kw", "LIMIT")
            limit = self.take("value")
        if self.peek("kw", "OFFSET"):
            self.take("kw", "OFFSET")
            offset = self.take("value")
        if self.i != len(self.toks):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.toks[self.i][1]}'")
        return Query(fields, sets, sobject, where, self.named, order,
                     limit if isinstance(limit, int) else None,
                     offset if isinstance(offset, int) else 0)

    def expr(self) -> Callable[[dict[str, Any]], bool]:
        left = self.term()
        while self.peek("kw", "OR"):
            self.take("kw", "OR")
            right = self.term()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def term(self) -> Callable[[dict[str, Any]], bool]:
        left = self.factor()
        while self.peek("kw", "AND"):
            self.take("kw", "AND")
            right = self.factor()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def factor(self) -> Callable[[dict[str, Any]], bool]:
        if self.peek("kw", "NOT"):
            self.take("kw", "NOT")
            inner = self.factor()
            return lambda r: not inner(r)
        if self.peek("op", "("):
            self.take("op", "(")
            inner = self.expr()
            self.take("op", ")")
            return inner
        name = self.take("name")
        self.named.append(name)
        negate = False
        if self.peek("kw", "NOT"):
            self.take("kw", "NOT")
            negate = True
        if self.peek("kw", "IN"):
            self.take("kw", "IN")
            self.take("op", "(")
            values = [self.take("value")]
            while self.peek("op", ","):
                self.take("op", ",")
                values.append(self.take("value"))
            self.take("op", ")")
            return lambda r: (r.get(name) in values) != negate
        if negate:
            raise SoqlError("MALFORMED_QUERY", "unexpected token: 'NOT'")
        if self.peek("kw", "LIKE"):
            self.take("kw", "LIKE")
            pattern = self.take("value")
            rx = re.compile("^" + re.escape(str(pattern)).replace("%", ".*").replace("_", ".")
                            + "$", re.I | re.S)
            return lambda r: r.get(name) is not None and bool(rx.match(str(r.get(name))))
        op = self.take("op")
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{op}'")
        value = self.take("value")
        return lambda r: compare(r.get(name), op, value)


def _as(value: Any, like: Any) -> Any:
    """A stored value (the API's text form) as the literal's type."""
    if isinstance(like, datetime) and isinstance(value, str):
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    if isinstance(like, date) and not isinstance(like, datetime) and isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def compare(stored: Any, op: str, literal: Any) -> bool:
    value = _as(stored, literal)
    if op == "=":
        return value == literal
    if op == "!=":
        return value != literal
    if value is None or literal is None:
        return False
    try:
        return {"<": value < literal, "<=": value <= literal, ">": value > literal,
                ">=": value >= literal}[op]
    except TypeError:
        return False


def parse(text: str) -> Query:
    return _Parser(text).parse()


def sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", value):
        return (1, datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC))
    return (1, value)
