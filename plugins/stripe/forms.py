"""Stripe's form encoding of nested parameters (https://docs.stripe.com/api, "Metadata" and
the request examples): ``metadata[order]=42``, ``line_items[0][price]=price_1``,
``line_items[0][price_data][product_data][name]=T-shirt``; booleans as ``true``/``false``."""
from __future__ import annotations

from typing import Any
from typing import Mapping


def encode(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``params`` as the ordered ``(key, value)`` pairs of a form body; None values are left
    out (Stripe reads an empty string as "unset", which no action here means to send)."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        out += _pairs(name, value)
    return out


def _pairs(name: str, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return encode(value, name)
    if isinstance(value, (list, tuple)):
        out: list[tuple[str, str]] = []
        for i, item in enumerate(value):
            out += _pairs(f"{name}[{i}]", item)
        return out
    if isinstance(value, bool):
        return [(name, "true" if value else "false")]
    return [(name, str(value))]
