"""Expressions and ``{{ ... }}`` templates: JMESPath over the execution context.

The context is ``{"trigger": payload, "steps": {id: {"output", "status"}}, "workflow",
"execution"}``. Text a user writes is only ever compiled by JMESPath; nothing reaches
``eval`` or ``exec``.

Every expression is bounded (:class:`Limits`, from the ``EXPRESSION_*`` settings). When it is
compiled: its length, the nesting of its syntax tree and of its JSON literals (the parser and
``json.loads`` recurse, so nesting is checked before either can reach Python's recursion
limit), and its growth, an upper bound of how many times over it can repeat its input
(``[@, @]`` doubles it: twenty of them in a row would be a million copies). When it runs: the
time it takes and the size of everything it builds, counted as the values would be written out
(a list holding one object twice counts it twice, as its JSON does), checked after every node
that builds a value and before ``join`` builds a string. Template walks stop at
:data:`MAX_TEMPLATE_DEPTH` levels with a clear error.
"""
from __future__ import annotations

import contextvars
import json
import re
import threading
import time
from dataclasses import dataclass
from dataclasses import fields
from functools import lru_cache
from typing import Any

from flask import current_app
from flask import has_app_context
from jmespath import functions as jp_functions
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from jmespath.parser import Parser
from jmespath.visitor import Options
from jmespath.visitor import TreeInterpreter

TEMPLATE = re.compile(r"\{\{\s*((?:(?!\}\}).)+?)\s*\}\}")
# How deep a template value (a step's parameters or payload) may nest.
MAX_TEMPLATE_DEPTH = 64


class ExpressionError(ValueError):
    """An expression does not parse, is too big, or fails (or goes over budget) when evaluated."""


@dataclass(frozen=True)
class Limits:
    """What one expression may be (``length``, ``nesting``, ``growth``: checked when it is
    compiled) and what one evaluation may build and take (the rest)."""

    length: int = 2000
    nesting: int = 50
    growth: int = 1000
    items: int = 1_000_000
    chars: int = 10_000_000
    depth: int = 100
    seconds: float = 2.0


DEFAULT_LIMITS = Limits()
# Limits field -> the setting it is read from.
SETTINGS = {"length": "EXPRESSION_MAX_LENGTH", "nesting": "EXPRESSION_MAX_NESTING",
            "growth": "EXPRESSION_MAX_GROWTH", "items": "EXPRESSION_MAX_RESULT_ITEMS",
            "chars": "EXPRESSION_MAX_RESULT_CHARS", "depth": "EXPRESSION_MAX_RESULT_DEPTH",
            "seconds": "EXPRESSION_MAX_SECONDS"}
_SETTINGS = tuple((SETTINGS[f.name], f.default) for f in fields(Limits))
_LIMITS: dict[tuple, Limits] = {}


# The limits of the execution this thread runs (set by the runner for the whole run, so its
# evaluations need not read the configuration each time).
limits_scope: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("expression_limits",
                                                                             default=None)


def current_limits() -> Limits:
    """The limits in force: the running execution's, else the current app's (else the defaults)."""
    pinned = limits_scope.get()
    if pinned is not None:
        return pinned
    if not has_app_context():
        return DEFAULT_LIMITS
    return limits_from(current_app.config)


def limits_from(config: Any) -> Limits:
    """The :class:`Limits` a configuration sets."""
    key = tuple(config.get(name, default) for name, default in _SETTINGS)
    limits = _LIMITS.get(key)
    if limits is None:
        if len(_LIMITS) > 32:  # configurations change rarely; never let this grow
            _LIMITS.clear()
        limits = _LIMITS[key] = Limits(*key)
    return limits


# -- compiling -----------------------------------------------------------------------------------


def compile_expression(text: str, limits: Limits | None = None) -> ParsedResult:
    """Compile (and cache) a JMESPath expression within ``limits`` (default: the app's).

    :raises ExpressionError: if it does not parse or is over a limit.
    """
    limits = limits or current_limits()
    return _compile(text, limits.length, limits.nesting, limits.growth)


@lru_cache(maxsize=4096)
def _compile(text: str, max_length: int, max_nesting: int, max_growth: int) -> ParsedResult:
    if len(text) > max_length:
        raise ExpressionError(f"expression {_short(text)} is {len(text)} characters long; "
                              f"at most {max_length} (EXPRESSION_MAX_LENGTH)")
    if _literal_nesting(text) > max_nesting:
        raise ExpressionError(f"expression {_short(text)} has a literal nested deeper than "
                              f"{max_nesting} levels (EXPRESSION_MAX_NESTING)")
    try:
        parsed = _BoundedParser(max_nesting).parse_bounded(text)
    except _TooDeep:
        raise ExpressionError(f"expression {_short(text)} nests deeper than {max_nesting} "
                              f"levels (EXPRESSION_MAX_NESTING)") from None
    except RecursionError:  # a backstop: the nesting bound keeps the parser far from it
        raise ExpressionError(f"expression {_short(text)} nests too deeply") from None
    except JMESPathError as exc:
        raise ExpressionError(f"invalid expression {text!r}: {exc}") from exc
    growth = _growth(parsed.parsed)
    if growth > max_growth:
        raise ExpressionError(f"expression {_short(text)} can repeat its input {_count(growth)} "
                              f"times over (each multi-select or projection multiplies it); "
                              f"at most {max_growth} (EXPRESSION_MAX_GROWTH)")
    return parsed


class _TooDeep(Exception):
    pass


class _BoundedParser(Parser):
    """The JMESPath parser, refusing to nest deeper than ``max_nesting`` (it recurses once per
    level: parentheses, brackets, projections, ``!``)."""

    _CACHE: dict = {}  # unused: compiled expressions are cached by :func:`_compile`

    def __init__(self, max_nesting: int) -> None:
        super().__init__()
        self._max_nesting = max_nesting
        self._nesting = 0

    def parse_bounded(self, text: str) -> ParsedResult:
        return self._do_parse(text)

    def _expression(self, binding_power: int = 0) -> Any:
        self._nesting += 1
        try:
            if self._nesting > self._max_nesting:
                raise _TooDeep()
            return super()._expression(binding_power)
        finally:
            self._nesting -= 1


def _literal_nesting(text: str) -> int:
    """The deepest nesting of the JSON literals (```...```) of an expression: the lexer parses
    them with ``json.loads``, which recurses once per level."""
    deepest = depth = 0
    quote: str | None = None  # inside '...', "..." or `...`
    in_string = escaped = False  # in a JSON string inside a literal; after a backslash
    for ch in text:
        if escaped:
            escaped = False
        elif quote is None:
            if ch in "'\"`":
                quote, in_string, depth = ch, False, 0
        elif ch == "\\":
            escaped = True
        elif ch == quote:
            quote = None
        elif quote == "`":
            if ch == '"':
                in_string = not in_string
            elif not in_string and ch in "[{":
                depth += 1
                deepest = max(deepest, depth)
            elif not in_string and ch in "]}":
                depth -= 1
    return deepest


# Functions whose result is one number, string or boolean, whatever their arguments.
_SCALAR_FUNCTIONS = frozenset({"abs", "avg", "ceil", "contains", "ends_with", "floor", "length",
                               "max", "min", "starts_with", "sum", "to_number", "type"})
_ONE = frozenset({"literal", "comparator", "not_expression", "field", "current", "identity",
                  "index", "slice"})


def _growth(node: dict[str, Any]) -> int:
    """An upper bound of how many times over ``node`` can repeat its input (recursion bounded
    by the nesting limit): a multi-select adds its branches, a chain multiplies its parts."""
    kind = node["type"]
    children = node.get("children") or []
    if kind in _ONE or (kind == "function_expression" and node["value"] in _SCALAR_FUNCTIONS):
        return 1
    if kind in ("multi_select_list", "multi_select_dict"):
        return max(1, sum(_growth(child) for child in children))
    if kind in ("or_expression", "and_expression"):
        return max(_growth(child) for child in children)
    if kind == "filter_projection":
        children = children[:2]  # the condition only selects
    product = 1
    for child in children:
        if isinstance(child, dict):
            product *= _growth(child)
    return product


def _count(number: int) -> str:
    return f"{number:,}" if number < 10 ** 15 else f"about 10^{len(str(number)) - 1}"


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


# -- evaluating ----------------------------------------------------------------------------------


def evaluate(text: str, context: dict[str, Any]) -> Any:
    """Evaluate an expression over ``context`` within the app's :class:`Limits`.

    :raises ExpressionError: if it is invalid, fails, or goes over a limit.
    """
    limits = current_limits()
    parsed = compile_expression(text, limits)
    interpreter = _interpreter()
    meter = interpreter.meter
    meter.start(limits)
    try:
        result = interpreter.visit(parsed.parsed, context)
        meter.measure(result)
        return result
    except _OverBudget as exc:
        failure = str(exc)
    except RecursionError:  # comparing or serialising data nested too deeply (in C)
        failure = "its data is nested too deeply"
    except JMESPathError as exc:
        raise ExpressionError(f"expression {text!r} failed: {exc}") from exc
    finally:
        meter.sizes.clear()  # the memo holds what the evaluation built: let it go
    # Raised here, outside the handler: nothing keeps partial results alive.
    raise ExpressionError(f"expression {_short(text)} stopped: {failure}")


_LOCAL = threading.local()


def _interpreter() -> _BoundedInterpreter:
    """This thread's interpreter (evaluations never nest, so one per thread is enough; it keeps
    its cache of node handlers)."""
    interpreter = getattr(_LOCAL, "interpreter", None)
    if interpreter is None:
        interpreter = _LOCAL.interpreter = _BoundedInterpreter(_Meter())
    return interpreter


class _OverBudget(Exception):
    pass


# Nodes whose result is a value they built (the others return a part of their input).
_BUILDERS = frozenset({"multi_select_list", "multi_select_dict", "projection", "value_projection",
                       "filter_projection", "flatten", "function_expression"})


class _Meter:
    """The budget of one evaluation: a deadline, and the size of what it builds.

    Sizes are memoised by object for the evaluation (the memo holds the objects, so their ids
    stay theirs): measuring a value built from shared parts costs its distinct parts only.
    """

    def __init__(self) -> None:
        self.start(DEFAULT_LIMITS)
        self.sizes: dict[int, tuple[Any, int, int, int]] = {}

    def start(self, limits: Limits) -> None:
        """Begin an evaluation within ``limits``."""
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _OverBudget(f"it ran longer than {self.limits.seconds}s (EXPRESSION_MAX_SECONDS)")

    def measure(self, value: Any) -> tuple[int, int, int]:
        """``(values, characters, depth)`` of ``value`` written out; raises when over budget."""
        if isinstance(value, str):
            if len(value) > self.limits.chars:
                raise _OverBudget(f"it built a string of {len(value):,} characters "
                                  f"(at most {self.limits.chars:,}, EXPRESSION_MAX_RESULT_CHARS)")
            return 1, len(value), 0
        if not isinstance(value, (dict, list, tuple)):
            return 1, 0, 0
        sizes = self.sizes
        hit = sizes.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1:]
        visits = 0
        stack: list[tuple[Any, bool]] = [(value, False)]
        while stack:  # post-order, iterative: any depth is measured without recursion
            node, ready = stack.pop()
            if ready:
                self._total(node)
                continue
            hit = sizes.get(id(node))
            if hit is not None and hit[0] is node:
                continue
            visits += 1
            if visits > self.limits.items:  # also ends the walk of a (never expected) cycle
                self._over(visits, 0, 0)
            pending = [(child, False) for child in (node.values() if isinstance(node, dict) else node)
                       if isinstance(child, (dict, list, tuple))]
            if pending:
                stack.append((node, True))
                stack += pending
            else:
                self._total(node)
        return sizes[id(value)][1:]

    def _total(self, node: Any) -> None:
        """Sum ``node``'s children (measured already) into its own entry."""
        sizes = self.sizes
        items, chars, depth = 1, 0, 0
        if isinstance(node, dict):
            chars = sum(len(key) for key in node if isinstance(key, str))
            children = node.values()
        else:
            children = node
        for child in children:
            if isinstance(child, str):
                items, chars = items + 1, chars + len(child)
            elif isinstance(child, (dict, list, tuple)):
                _, c_items, c_chars, c_depth = sizes[id(child)]
                items, chars, depth = items + c_items, chars + c_chars, max(depth, c_depth)
            else:
                items += 1
        depth += 1
        if items > self.limits.items or chars > self.limits.chars or depth > self.limits.depth:
            self._over(items, chars, depth)
        sizes[id(node)] = (node, items, chars, depth)

    def _over(self, items: int, chars: int, depth: int) -> None:
        limits = self.limits
        if depth > limits.depth:
            raise _OverBudget(f"a value it returns or works on is nested deeper than {limits.depth} "
                              f"levels (EXPRESSION_MAX_RESULT_DEPTH)")
        if chars > limits.chars:
            raise _OverBudget(f"it built more than {limits.chars:,} characters "
                              f"(EXPRESSION_MAX_RESULT_CHARS)")
        raise _OverBudget(f"it built more than {limits.items:,} values (EXPRESSION_MAX_RESULT_ITEMS)")


class _BoundedInterpreter(TreeInterpreter):
    """JMESPath's interpreter, checking its meter at every node and measuring what it builds."""

    def __init__(self, meter: _Meter) -> None:
        super().__init__(Options(custom_functions=_BoundedFunctions(meter)))
        self.meter = meter

    def visit(self, node: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.meter.tick()
        result = super().visit(node, *args, **kwargs)
        if node["type"] in _BUILDERS:
            self.meter.measure(result)
        return result


class _BoundedFunctions(jp_functions.Functions):
    """The built-in functions; those that could build big values from small ones check first."""

    def __init__(self, meter: _Meter) -> None:
        self._meter = meter

    @jp_functions.signature({"types": ["string"]}, {"types": ["array-string"]})
    def _func_join(self, separator: str, array: list[str]) -> str:
        chars = len(separator) * max(0, len(array) - 1) + sum(len(s) for s in array)
        limit = self._meter.limits.chars
        if chars > limit:  # checked before the string exists: join(to_string(@), list) squares
            raise _OverBudget(f"join would build {chars:,} characters (at most {limit:,}, "
                              f"EXPRESSION_MAX_RESULT_CHARS)")
        return separator.join(array)

    @jp_functions.signature({"types": []})
    def _func_to_string(self, arg: Any) -> str:
        if isinstance(arg, str):
            return arg
        self._meter.measure(arg)  # within budget, and not too deep for json.dumps
        return json.dumps(arg, separators=(",", ":"), default=str)


def truthy(value: Any) -> bool:
    """JMESPath truth: false, null, empty strings, lists and objects are false."""
    return value not in (None, False, "", [], {})


# -- templates -----------------------------------------------------------------------------------


def _too_deep() -> ExpressionError:
    return ExpressionError(f"the value is nested deeper than {MAX_TEMPLATE_DEPTH} levels")


def has_template(value: Any, _depth: int = 0) -> bool:
    """Whether a (nested) value holds a ``{{ ... }}`` template.

    :raises ExpressionError: if it nests deeper than :data:`MAX_TEMPLATE_DEPTH`.
    """
    if isinstance(value, str):
        return bool(TEMPLATE.search(value))
    if isinstance(value, (dict, list)):
        if _depth >= MAX_TEMPLATE_DEPTH:
            raise _too_deep()
        items = value.values() if isinstance(value, dict) else value
        return any(has_template(v, _depth + 1) for v in items)
    return False


def template_expressions(value: Any, _depth: int = 0) -> list[str]:
    """Every expression inside templates of a (nested) value.

    :raises ExpressionError: if it nests deeper than :data:`MAX_TEMPLATE_DEPTH`.
    """
    if isinstance(value, str):
        return TEMPLATE.findall(value)
    if isinstance(value, (dict, list)):
        if _depth >= MAX_TEMPLATE_DEPTH:
            raise _too_deep()
        items = value.values() if isinstance(value, dict) else value
        return [e for v in items for e in template_expressions(v, _depth + 1)]
    return []


def render(value: Any, context: dict[str, Any], _depth: int = 0) -> Any:
    """Fill templates. A string that is exactly one template keeps the value's type.

    :raises ExpressionError: if an expression fails, or the value nests deeper than
        :data:`MAX_TEMPLATE_DEPTH`.
    """
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value.strip())
        if whole:
            return evaluate(whole.group(1), context)
        return TEMPLATE.sub(lambda m: _text(evaluate(m.group(1), context)), value)
    if isinstance(value, dict):
        if _depth >= MAX_TEMPLATE_DEPTH:
            raise _too_deep()
        return {k: render(v, context, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if _depth >= MAX_TEMPLATE_DEPTH:
            raise _too_deep()
        return [render(v, context, _depth + 1) for v in value]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
