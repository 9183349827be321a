"""The intelligence API: ``/api/v2/workflows/enhanced/...`` (and the same paths without the
``/api/v2`` prefix, as the product documents also write them).

One blueprint; each component's routes live in a module of this package. A route of a
component that is switched off answers 503 naming the setting (:func:`requires`).
"""
from __future__ import annotations

import functools
from typing import Any
from typing import Callable

from flask import Flask
from flask import current_app
from flask import request
from flask_smorest import Blueprint

from atom.api.auth import authenticate
from atom.api.errors import ApiError
from atom.intelligence import COMPONENTS
from atom.intelligence import enabled

PREFIX = "/api/v2/workflows/enhanced"

blp = Blueprint("enhanced_workflows", __name__, url_prefix=PREFIX,
                description="Built-in intelligence, offline: text to workflow, prediction, "
                            "optimisation, troubleshooting, per-workflow health and the "
                            "cross-service dependency map. Every path also answers without "
                            "the /api/v2 prefix.")
blp.before_request(authenticate)


def _switched_off(component: str) -> ApiError:
    return ApiError(503, f"the {component} component is switched off "
                         f"({COMPONENTS[component]}=false); GET {PREFIX}/status shows each "
                         "component")


def requires(component: str) -> Callable:
    """503 (with the setting's name) when ``component`` is switched off. The check runs before
    the request body is parsed (:func:`_check_switch`), so a switched-off component says so
    whatever is sent."""
    COMPONENTS[component]  # a KeyError at import for a misspelt component

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if not enabled(component):
                raise _switched_off(component)
            return fn(*args, **kwargs)
        inner.atom_component = component  # type: ignore[attr-defined]
        return inner
    return wrap


def _component_of(view: Callable | None) -> str | None:
    while view is not None:
        component = getattr(view, "atom_component", None)
        if component:
            return component
        view = getattr(view, "__wrapped__", None)
    return None


@blp.before_request
def _check_switch() -> None:
    component = _component_of(current_app.view_functions.get(request.endpoint or ""))
    if component and not enabled(component):
        raise _switched_off(component)


def add_unprefixed_rules(app: Flask) -> None:
    """``/workflows/enhanced/...`` answers as ``/api/v2/workflows/enhanced/...`` does (same
    endpoint, so the same authentication and handlers); only the prefixed form is in the
    OpenAPI document."""
    for rule in list(app.url_map.iter_rules()):
        if rule.endpoint.startswith(f"{blp.name}.") and rule.rule.startswith(PREFIX):
            app.add_url_rule(rule.rule.removeprefix("/api/v2"), endpoint=rule.endpoint,
                             methods=sorted(rule.methods - {"HEAD", "OPTIONS"}))


# The component modules add their routes to ``blp`` when imported.
from atom.api.intelligence import status  # noqa: E402,F401
from atom.api.intelligence import optimization  # noqa: E402,F401
from atom.api.intelligence import dependencies  # noqa: E402,F401
from atom.api.intelligence import prediction  # noqa: E402,F401
from atom.api.intelligence import monitoring  # noqa: E402,F401
from atom.api.intelligence import troubleshooting  # noqa: E402,F401
from atom.api.intelligence import language  # noqa: E402,F401
