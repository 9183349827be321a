"""Expressions and ``{{ ... }}`` templates: JMESPath over the execution context.

The context is ``{"trigger": payload, "steps": {id: {"output", "status"}}, "workflow",
"execution"}``. Text a user writes is only ever compiled by JMESPath; nothing reaches
``eval`` or ``exec``.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

TEMPLATE = re.compile(r"\{\{\s*(.+?)\s*\}\}")


class ExpressionError(ValueError):
    """An expression does not parse, or fails when evaluated."""


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> Any:
    """Compile (and cache) a JMESPath expression; raise :class:`ExpressionError` if invalid."""
    try:
        return jmespath.compile(text)
    except JMESPathError as exc:
        raise ExpressionError(f"invalid expression {text!r}: {exc}") from exc


def evaluate(text: str, context: dict[str, Any]) -> Any:
    try:
        return compile_expression(text).search(context)
    except JMESPathError as exc:
        raise ExpressionError(f"expression {text!r} failed: {exc}") from exc


def truthy(value: Any) -> bool:
    """JMESPath truth: false, null, empty strings, lists and objects are false."""
    return value not in (None, False, "", [], {})


def has_template(value: Any) -> bool:
    if isinstance(value, str):
        return bool(TEMPLATE.search(value))
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False


def template_expressions(value: Any) -> list[str]:
    """Every expression inside templates of a (nested) value."""
    if isinstance(value, str):
        return TEMPLATE.findall(value)
    if isinstance(value, dict):
        return [e for v in value.values() for e in template_expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in template_expressions(v)]
    return []


def render(value: Any, context: dict[str, Any]) -> Any:
    """Fill templates. A string that is exactly one template keeps the value's type."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value.strip())
        if whole:
            return evaluate(whole.group(1), context)
        return TEMPLATE.sub(lambda m: _text(evaluate(m.group(1), context)), value)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
