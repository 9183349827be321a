"""What each step type does, given its definition and the execution context.

Pure steps (transform, condition) are computed in the orchestrator thread; action,
notification and workflow steps run on the step pool. Each returns the step's output or
raises :class:`StepFailure` (or an ``IntegrationError``) with an error class.
"""
from __future__ import annotations

import statistics
from typing import Any
from typing import Callable

from atom.engine.expressions import ExpressionError
from atom.engine.expressions import evaluate
from atom.engine.expressions import render
from atom.engine.expressions import truthy
from atom.extensions import db
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import ValidationFailed
from atom.models import Connection
from atom.state import get_state



class StepFailure(Exception):
    """A step failed for a reason of its own (not a service call): carries an error class."""

    def __init__(self, message: str, error_class: str = "validation", retryable: bool = False) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.retryable = retryable


def run_pure(step: Any, context: dict[str, Any]) -> Any:
    """A transform or condition step (:class:`atom.engine.definition.TransformStep`,
    :class:`~atom.engine.definition.ConditionStep`), run inline."""
    try:
        if step.type == "condition":
            value = evaluate(step.expression, context)
            return {"result": truthy(value), "value": value}
        if step.mapping is not None:
            return {name: evaluate(expr, context) for name, expr in step.mapping.items()}
        return aggregate(step.aggregate, context)
    except ExpressionError as exc:
        raise StepFailure(str(exc), "expression") from exc


def aggregate(spec: dict[str, Any], context: dict[str, Any]) -> Any:
    items = evaluate(spec["source"], context)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise StepFailure(f"aggregate source {spec['source']!r} is not a list", "expression")
    if spec.get("group_by"):
        groups: dict[str, list[Any]] = {}
        for item in items:
            groups.setdefault(str(evaluate(spec["group_by"], item)), []).append(item)
        return {"groups": {key: _reduce(spec, members) for key, members in groups.items()}}
    return {"value": _reduce(spec, items), "count": len(items)}


_REDUCERS: dict[str, Callable[[list[float]], float]] = {
    "sum": sum, "avg": statistics.fmean, "min": min, "max": max,
}


def _reduce(spec: dict[str, Any], items: list[Any]) -> Any:
    if spec["op"] == "count":
        return len(items)
    values = [evaluate(spec["field"], item) if spec.get("field") else item for item in items]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != len(values):
        raise StepFailure(f"{spec['op']} needs numbers; got {values[:3]!r}", "expression")
    return _REDUCERS[spec["op"]](numbers) if numbers else None


def resolve_connection(step: Any) -> Connection:
    """The step's connection (a :class:`atom.engine.definition.ServiceStep`), or the first
    enabled connection of its service."""
    if step.connection is not None:
        conn = db.session.get(Connection, step.connection)
        if conn is None or conn.integration != step.service:
            raise StepFailure(f"connection {step.connection} not found for {step.service}",
                              "configuration")
    else:
        conn = db.session.execute(
            db.select(Connection).filter_by(integration=step.service, enabled=True)
            .order_by(Connection.id).limit(1)
        ).scalar_one_or_none()
        if conn is None:
            raise StepFailure(f"no {step.service} connection: create one first", "configuration")
    if not conn.enabled:
        raise StepFailure(f"connection {conn.id} is disabled", "configuration")
    return conn


def run_action(step: Any, context: dict[str, Any] | None, idempotency_key: str,
               params: Any = None, conn: Connection | None = None) -> Any:
    """Run an action step; ``params`` are its rendered parameters and ``conn`` its connection
    (else rendered and looked up here)."""
    if params is None:
        params = _render(step.parameters, context)
    conn = conn or resolve_connection(step)
    try:
        return get_state().runtime.run_action(conn, step.action, params, idempotency_key).output
    except ValidationFailed as exc:
        # The plugin no longer has the action (a definition saved before it changed): the
        # workflow's set-up is wrong, not the data sent.
        if exc.details.get("action") == [f"unknown action {step.action!r}"]:
            raise StepFailure(exc.message, "configuration") from exc
        raise


def run_notification(step: Any, context: dict[str, Any] | None, idempotency_key: str,
                     rendered: dict[str, Any] | None = None, conn: Connection | None = None) -> Any:
    """Post a notification step's message; ``rendered`` is ``{"channel", "message"}`` if done."""
    conn = conn or resolve_connection(step)
    if rendered is None:
        rendered = {"message": _render(step.message, context), "channel": _render(step.channel, context)}
    message, channel = rendered["message"], rendered["channel"]
    return get_state().runtime.notify(conn, channel, str(message), idempotency_key)


def _render(value: Any, context: dict[str, Any]) -> Any:
    try:
        return render(value, context)
    except ExpressionError as exc:
        raise StepFailure(str(exc), "expression") from exc


def error_of(exc: BaseException) -> tuple[str, str, bool]:
    """(error class, message, retryable) of any exception a step raised."""
    if isinstance(exc, StepFailure):
        return exc.error_class, str(exc), exc.retryable
    if isinstance(exc, ExpressionError):  # rendering a sub-workflow's payload, say
        return "expression", str(exc), False
    if isinstance(exc, IntegrationError):
        retryable = exc.code in ("timeout", "upstream", "rate_limited", "circuit_open") and not exc.permanent
        message = exc.message
        if exc.details and isinstance(exc, ValidationFailed):  # which fields, as the schema said
            message += f" ({_fields(exc.details)})"
        if exc.retry_after:  # kept in the step's error: troubleshooting spaces calls by it
            message += f" (Retry-After: {exc.retry_after:g}s)"
        return exc.code, message, retryable
    return "internal", f"{type(exc).__name__}: {exc}", False


def _fields(details: dict[str, Any], prefix: str = "") -> str:
    """``{"a": {"b": ["bad"]}}`` as ``a.b: bad``."""
    out = []
    for name, value in details.items():
        if isinstance(value, dict):
            out.append(_fields(value, f"{prefix}{name}."))
        else:
            reasons = value if isinstance(value, list) else [value]
            out.append(f"{prefix}{name}: {'; '.join(str(r) for r in reasons)}")
    return ", ".join(out)
