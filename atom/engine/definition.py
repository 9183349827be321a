"""Workflow definitions: schema, graph checks and the expansion of the compact form.

A definition is ``{"name", "description", "trigger", "steps"}``. :func:`validate_definition`
returns the normalised definition or raises :class:`DefinitionError` whose ``errors`` name
each bad step or field and the reason. Nothing is written by validation.
"""
from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields as fields_of
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from croniter import croniter
from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.engine.expressions import MAX_TEMPLATE_DEPTH
from atom.engine.expressions import ExpressionError
from atom.engine.expressions import compile_expression
from atom.engine.references import check_references
from atom.engine.expressions import has_template
from atom.engine.expressions import template_expressions
from atom.integrations.registry import Registry
from atom.integrations.registry import UnknownPlugin

STEP_TYPES = ("action", "transform", "condition", "wait", "notification", "workflow", "foreach",
              "approval")
# approval: what happens when nobody decided within its timeout_s
ON_TIMEOUT = ("reject", "approve", "fail")
APPROVER_ROLES = ("viewer", "editor", "admin")
TRIGGER_TYPES = ("event", "schedule", "webhook", "manual")
AGGREGATES = ("count", "sum", "avg", "min", "max")
STEP_ID = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
MAX_STEPS = 500
# A poll trigger's interval: at least POLL_MIN_INTERVAL_S (configurable), at most a day.
POLL_MIN_INTERVAL_S = 5
POLL_MAX_INTERVAL_S = 86_400
EVENT_ONLY = ("connection_id", "params", "interval_s")
# Alternatives an action or notification step may name (``fallback``), tried in order.
MAX_FALLBACKS = 5
# foreach steps: what to do when an item fails, the size of a per-item sub-graph, the largest
# concurrency unless the caller says (FOREACH_MAX_CONCURRENCY), and how long a foreach id and
# an inner step id may be together (item rows are ``<id>[<n>].<inner>``, at most 100 chars).
ON_ITEM_ERROR = ("fail_fast", "continue")
FOREACH_MAX_INNER = 20
FOREACH_MAX_CONCURRENCY = 20
FOREACH_MAX_ID_CHARS = 90
FOREACH_ONLY = ("items", "step", "steps", "concurrency", "on_item_error")


class DefinitionError(ValueError):
    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("invalid workflow definition")
        self.errors = errors


class Strict(Schema):
    class Meta:
        unknown = RAISE


class TriggerSchema(Strict):
    type = fields.String(required=True, validate=validate.OneOf(TRIGGER_TYPES))
    service = fields.String()
    event = fields.String()
    conditions = fields.Dict(keys=fields.String(), load_default=dict)
    cron = fields.String()
    timezone = fields.String(load_default="UTC")
    secret = fields.String(validate=validate.Length(min=8, max=200), metadata={"secret": True})
    # event triggers: only this connection's events start the workflow (default: any
    # connection of the service; a poll trigger then polls every enabled one).
    connection_id = fields.Integer(allow_none=True)
    # event triggers whose service declares trigger params (a Gmail query, a Drive folder).
    params = fields.Dict(keys=fields.String())
    # poll triggers: seconds between polls (default: the trigger's own interval).
    interval_s = fields.Integer(allow_none=True, strict=True)

    @validates_schema
    def _by_type(self, data: dict, **_: Any) -> None:
        kind = data["type"]
        if kind == "event":
            _need(data, ("service", "event"))
        else:
            extra = {n: ["only for an event trigger"] for n in EVENT_ONLY if data.get(n) is not None}
            if extra:
                raise ValidationError(extra)
        if kind == "schedule":
            _need(data, ("cron",))
            if not croniter.is_valid(data["cron"]) or len(data["cron"].split()) != 5:
                raise ValidationError({"cron": [f"invalid cron expression {data['cron']!r}"]})
            try:
                ZoneInfo(data["timezone"])
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValidationError({"timezone": [f"unknown time zone {data['timezone']!r}"]}) from exc


class RetrySchema(Strict):
    max_attempts = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10))
    delay_s = fields.Float(load_default=1.0, validate=validate.Range(min=0, max=3600))
    backoff = fields.Float(load_default=2.0, validate=validate.Range(min=1, max=10))


class AggregateSchema(Strict):
    source = fields.String(required=True)
    op = fields.String(required=True, validate=validate.OneOf(AGGREGATES))
    field = fields.String()
    group_by = fields.String()


class ApproversSchema(Strict):
    """Who may decide an approval: users with one of ``roles``, or the ``users`` named (by
    email for dashboard users, ``key:<name>`` for API keys)."""

    roles = fields.List(fields.String(validate=validate.OneOf(APPROVER_ROLES)), load_default=list)
    users = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                        validate=validate.Length(max=100))

    @validates_schema
    def _someone(self, data: dict, **_: Any) -> None:
        if not data["roles"] and not data["users"]:
            raise ValidationError({"roles": ["name at least one role or user"]})


class StepSchema(Strict):
    id = fields.String(required=True, validate=validate.Regexp(STEP_ID, error="use letters, digits, _ or -"))
    type = fields.String(required=True, validate=validate.OneOf(STEP_TYPES))
    name = fields.String()
    depends_on = fields.List(fields.String(), load_default=list)
    when = fields.String()
    retry = fields.Nested(RetrySchema)
    timeout_s = fields.Float(validate=validate.Range(min=0.001, max=86_400))
    # "fail" or "continue"; the old form names the handler here (read as ``handler``)
    on_error = fields.String(load_default="fail")
    handler = fields.String()
    # action / notification
    service = fields.String()
    action = fields.String()
    connection = fields.Integer(allow_none=True)
    parameters = fields.Dict(keys=fields.String(), load_default=dict)
    channel = fields.String()
    message = fields.String()
    # action / notification: alternatives run when the primary's circuit is open or its
    # health is critical (checked per alternative by _check_fallbacks)
    fallback = fields.List(fields.Dict(), validate=validate.Length(min=1, max=MAX_FALLBACKS))
    # transform
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    aggregate = fields.Nested(AggregateSchema)
    # condition
    expression = fields.String()
    # wait
    seconds = fields.Float(validate=validate.Range(min=0, max=30 * 86_400))
    until = fields.String()
    # workflow
    workflow_id = fields.Integer()
    payload = fields.Dict(load_default=dict)
    # foreach (checked further by _check_foreach)
    items = fields.String()
    step = fields.Dict()
    steps = fields.List(fields.Dict(), validate=validate.Length(min=1, max=FOREACH_MAX_INNER))
    concurrency = fields.Integer(strict=True, validate=validate.Range(min=1))
    on_item_error = fields.String(validate=validate.OneOf(ON_ITEM_ERROR))
    # approval (its ``message`` is the field above; ``timeout_s`` is how long it waits)
    approvers = fields.Nested(ApproversSchema)
    required = fields.Integer(validate=validate.Range(min=1, max=100))
    on_timeout = fields.String(validate=validate.OneOf(ON_TIMEOUT))
    allow_self = fields.Boolean()

    @validates_schema
    def _by_type(self, data: dict, **_: Any) -> None:
        kind = data["type"]
        needs = {"action": ("service", "action"), "condition": ("expression",),
                 "notification": ("service", "message"), "workflow": ("workflow_id",),
                 "foreach": ("items",)}
        _need(data, needs.get(kind, ()))
        if kind == "foreach" and ("step" in data) == ("steps" in data):
            raise ValidationError({"step": ["a foreach has either a step or steps"]})
        if kind != "foreach":
            extra = {n: ["only for a foreach step"] for n in FOREACH_ONLY if n in data}
            if extra:
                raise ValidationError(extra)
        if kind == "transform" and ("mapping" in data) == ("aggregate" in data):
            raise ValidationError({"mapping": ["a transform has either a mapping or an aggregate"]})
        if kind == "wait" and ("seconds" in data) == ("until" in data):
            raise ValidationError({"seconds": ["a wait has either seconds or until"]})
        if kind == "approval":
            _need(data, ("approvers",))
            approvers = data["approvers"]
            if not approvers["roles"] and data.get("required", 1) > len(approvers["users"]):
                raise ValidationError({"required": [f"at most the {len(approvers['users'])} users named"]})
        else:
            extra = {n: ["only for an approval step"] for n in ("approvers", "required", "on_timeout", "allow_self")
                     if n in data}
            if extra:
                raise ValidationError(extra)
        if "fallback" in data and kind not in ("action", "notification"):
            raise ValidationError({"fallback": ["only for an action or notification step"]})


class FallbackSchema(Strict):
    """One alternative of a step's ``fallback``: another service or connection; what it
    leaves out is the step's own (the action, parameters, channel, message)."""

    service = fields.String(required=True, validate=validate.Length(min=1))
    connection = fields.Integer(allow_none=True)
    # action steps
    action = fields.String()
    parameters = fields.Dict(keys=fields.String())
    # notification steps
    channel = fields.String()
    message = fields.String()


class DefinitionSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="")
    trigger = fields.Nested(TriggerSchema, required=True)
    steps = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=MAX_STEPS))
    enabled = fields.Boolean(load_default=True)


def every_step(steps: Any, within: str | None = None) -> Any:
    """Each raw step of a stored definition's ``steps`` as ``(path, step)``, a foreach's inner
    steps after it (``step`` or ``steps``) with the path ``<loop id>[*]`` (one inner step) or
    ``<loop id>[*].<inner id>``: what reads a definition for the services and actions it uses
    (the services index, dependencies, predictions) sees the loop's body too. ``path`` is the
    name analytics gives an inner step's item runs (:func:`run_path`)."""
    for step in steps or ():
        if not isinstance(step, dict) or not isinstance(step.get("id"), str):
            continue
        path = step["id"] if within is None else within
        yield path, step
        if step.get("type") == "foreach":
            if isinstance(step.get("step"), dict):
                yield from every_step([step["step"]], f"{path}[*]")
            elif isinstance(step.get("steps"), list):
                for inner in step["steps"]:
                    if isinstance(inner, dict) and isinstance(inner.get("id"), str):
                        yield from every_step([inner], f"{path}[*].{inner['id']}")


def run_path(step_id: str) -> str:
    """The recorded id of an item's run of a foreach inner step (``loop[3]``, ``loop[3].call``)
    with its index as ``*`` (``loop[*]``, ``loop[*].call``): one name for all the items' runs."""
    return _INDEX.sub("[*]", step_id) if "[" in step_id else step_id  # most ids are plain


_INDEX = re.compile(r"\[\d+\]")


def _need(data: dict, names: tuple[str, ...]) -> None:
    missing = {n: [f"required for a {data.get('type')}"] for n in names if data.get(n) in (None, "")}
    if missing:
        raise ValidationError(missing)


def validate_definition(raw: Any, registry: Registry, connection_lookup=None,
                        workflow_lookup=None, *,
                        poll_min_interval_s: float = POLL_MIN_INTERVAL_S,
                        foreach_max_concurrency: int = FOREACH_MAX_CONCURRENCY) -> dict[str, Any]:
    """Validate a full definition and return it normalised (defaults filled in).

    :param connection_lookup: ``f(id) -> integration slug or None`` to check step connections
        and the trigger's ``connection_id``.
    :param workflow_lookup: ``f(id) -> bool``, whether a workflow step's workflow exists.
    :param poll_min_interval_s: the shortest ``interval_s`` a poll trigger may ask for.
    :param foreach_max_concurrency: the largest ``concurrency`` a foreach step may ask for.
    :raises DefinitionError: with errors keyed by field, or ``steps.<id>`` for a step.
    """
    if not isinstance(raw, dict):
        raise DefinitionError({"_body": ["a workflow definition is a JSON object"]})
    too_deep = _too_deep(raw)
    if too_deep:
        raise DefinitionError(too_deep)
    try:
        data = DefinitionSchema().load(raw)
    except ValidationError as exc:
        raise DefinitionError(exc.normalized_messages()) from exc
    errors: dict[str, Any] = {}
    steps = []
    for index, raw_step in enumerate(data["steps"]):
        try:
            steps.append(StepSchema().load(raw_step))
        except ValidationError as exc:
            key = raw_step.get("id") if isinstance(raw_step.get("id"), str) else f"#{index}"
            errors[f"steps.{key}"] = exc.normalized_messages()
    if errors:
        raise DefinitionError(errors)
    data["steps"] = steps
    _check_trigger(data["trigger"], registry, errors, connection_lookup, poll_min_interval_s)
    _check_graph(steps, errors)
    for step in steps:
        problems = _check_step(step, registry, connection_lookup, workflow_lookup)
        if step["type"] == "foreach":
            problems.update(_check_foreach(step, steps, registry, connection_lookup,
                                           workflow_lookup, foreach_max_concurrency))
        if problems:
            errors.setdefault(f"steps.{step['id']}", {}).update(problems)
    if not errors:
        check_references(steps, _expressions, registry, errors)
    if errors:
        raise DefinitionError(errors)
    return data


def _check_trigger(trigger: dict, registry: Registry, errors: dict, connection_lookup=None,
                   poll_min_interval_s: float = POLL_MIN_INTERVAL_S) -> None:
    if trigger["type"] != "event":
        return
    problems: dict[str, Any] = {}
    try:
        plugin = registry.get(trigger["service"])
    except UnknownPlugin:
        errors["trigger"] = {"service": [f"unknown service {trigger['service']!r}"]}
        return
    trigger["service"] = plugin.name
    spec = plugin.manifest.trigger(trigger["event"])
    if spec is None:
        known = ", ".join(t.name for t in plugin.manifest.triggers)
        problems["event"] = [f"{plugin.name} has no event {trigger['event']!r} (known: {known})"]
    conn_id = trigger.get("connection_id")
    if conn_id is None:
        trigger.pop("connection_id", None)
    elif connection_lookup is not None:
        owner = connection_lookup(conn_id)
        if owner is None:
            problems["connection_id"] = [f"no connection {conn_id}"]
        elif owner != plugin.name:
            problems["connection_id"] = [f"connection {conn_id} is a {owner} connection, "
                                         f"not {plugin.name}"]
    if spec is not None:
        problems.update(_check_trigger_params(trigger, spec, plugin.name))
        problems.update(_check_interval(trigger, spec, plugin.name, poll_min_interval_s))
    if problems:
        errors.setdefault("trigger", {}).update(problems)


def _check_trigger_params(trigger: dict, spec: Any, service: str) -> dict[str, Any]:
    """A trigger's ``params`` against the params schema it declares, each bad field named
    ``params.<field>`` (``params.<field>.<nested>`` inside an object)."""
    if spec.params is None:
        if trigger.get("params"):
            return {"params": [f"{service} {spec.name} takes no params"]}
        trigger.pop("params", None)
        return {}
    try:
        spec.params(unknown=RAISE).load(trigger.get("params") or {})
    except ValidationError as exc:
        return dict(_flatten("params", exc.normalized_messages()))
    return {}


def _flatten(prefix: str, messages: Any) -> list[tuple[str, list[str]]]:
    if isinstance(messages, dict):
        out: list[tuple[str, list[str]]] = []
        for key, value in messages.items():
            out += _flatten(f"{prefix}.{key}", value)
        return out
    return [(prefix, [str(m) for m in messages] if isinstance(messages, list) else [str(messages)])]


def _check_interval(trigger: dict, spec: Any, service: str, minimum: float) -> dict[str, Any]:
    interval = trigger.get("interval_s")
    if interval is None:
        trigger.pop("interval_s", None)
        return {}
    if spec.kind != "poll":
        return {"interval_s": [f"only for a poll trigger; {service} {spec.name} is delivered "
                               f"by {spec.kind}"]}
    if not minimum <= interval <= POLL_MAX_INTERVAL_S:
        return {"interval_s": [f"between {minimum:g} and {POLL_MAX_INTERVAL_S} seconds"]}
    return {}


def _check_graph(steps: list[dict], errors: dict) -> None:
    ids = [s["id"] for s in steps]
    seen: set[str] = set()
    for sid in ids:
        if sid in seen:
            errors[f"steps.{sid}"] = {"id": ["duplicate step id"]}
        seen.add(sid)
    graph = {}
    for step in steps:
        unknown = [d for d in step["depends_on"] if d not in seen]
        if unknown:
            errors.setdefault(f"steps.{step['id']}", {})["depends_on"] = [
                f"unknown step {d!r}" for d in unknown]
        _check_error_policy(step, seen, errors)
        graph[step["id"]] = [d for d in step["depends_on"] if d in seen]
    handlers = {s["id"]: error_policy(s)[1] for s in steps
                if error_policy(s)[1] in seen and error_policy(s)[1] != s["id"]}
    for failing, handler in handlers.items():
        graph[handler].append(failing)  # as the runner orders it: a handler waits for its step
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        _report_cycle(exc.args[1], handlers, errors)


def _check_error_policy(step: dict, seen: set[str], errors: dict) -> None:
    """``on_error`` is fail or continue and ``handler`` a step id (or, the old form, ``on_error``
    names the handler); the problem is named on the field that has it."""
    where = errors.setdefault(f"steps.{step['id']}", {})
    on_error, handler = step["on_error"], step.get("handler")
    field_ = "on_error" if on_error not in ON_ERROR else "handler"
    if on_error not in ON_ERROR and handler is not None:
        where["on_error"] = [f"'fail' or 'continue' when a handler is named; {on_error!r} is neither"]
    elif handler is None and on_error in ON_ERROR:
        pass
    else:
        handler = handler if handler is not None else on_error
        if handler == step["id"]:
            where[field_] = ["a step cannot handle itself"]
        elif handler not in seen:
            where[field_] = ([f"'fail', 'continue' or a step id; {on_error!r} is none of them"]
                             if field_ == "on_error" else [f"unknown step {handler!r}"])
    if not where:
        del errors[f"steps.{step['id']}"]


def _report_cycle(cycle: list[str], handlers: dict[str, str], errors: dict) -> None:
    """Name each step of a cycle with the field that puts it there: ``on_error`` where it hands
    its failure to the next step of the cycle, ``depends_on`` where it waits for the step
    before it (graphlib lists each step before the one that waits for it)."""
    shown = " -> ".join(cycle)
    through_handlers = any(handlers.get(a) == b for a, b in zip(cycle, cycle[1:]))
    kind = "handler and dependency cycle" if through_handlers else "dependency cycle"
    for before, after in zip(cycle, cycle[1:]):
        if handlers.get(before) == after:
            sid, field_ = before, "on_error"
        else:
            sid, field_ = after, "depends_on"
        errors.setdefault(f"steps.{sid}", {})[field_] = [f"{kind}: {shown}"]


def _too_deep(raw: dict) -> dict[str, Any]:
    """Fields nested deeper than the engine walks them, by step (``steps.<id>``) and field;
    checked first, so nothing after (validation, templates, storage) recurses that deep."""
    errors: dict[str, Any] = {}
    parts = [("trigger", raw.get("trigger"))]
    steps = raw.get("steps")
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        key = step.get("id") if isinstance(step, dict) and isinstance(step.get("id"), str) else f"#{index}"
        parts.append((f"steps.{key}", step))
    for where, part in parts:
        for name, value in (part.items() if isinstance(part, dict) else ()):
            if _nesting(value) > MAX_TEMPLATE_DEPTH:
                errors.setdefault(where, {})[name] = [f"nested deeper than {MAX_TEMPLATE_DEPTH} levels"]
    return errors


def _nesting(value: Any) -> int:
    """How deep ``value`` nests (iteratively, and only as far as the limit and one more)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_TEMPLATE_DEPTH:
                stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _expressions(step: dict) -> list[tuple[str, str]]:
    found = [("when", step["when"])] if step.get("when") else []
    if step["type"] == "foreach":
        found.append(("items", step["items"]))
    if step["type"] == "condition":
        found.append(("expression", step["expression"]))
    for name, expr in (step.get("mapping") or {}).items():
        found.append((f"mapping.{name}", expr))
    for key in ("source", "field", "group_by"):
        if step.get("aggregate", {}).get(key):
            found.append((f"aggregate.{key}", step["aggregate"][key]))
    for key in ("parameters", "message", "channel", "payload", "until"):
        found += [(key, e) for e in template_expressions(step.get(key))]
    for n, alt in enumerate(step.get("fallback") or ()):
        for key in ("parameters", "message", "channel"):
            found += [(f"fallback.{n}.{key}", e) for e in template_expressions(alt.get(key))]
    return found


def _check_step(step: dict, registry: Registry, connection_lookup,
                workflow_lookup=None) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for where, expr in _expressions(step):
        try:
            compile_expression(expr)
        except ExpressionError as exc:
            problems.setdefault(where, []).append(str(exc))
    if step["type"] == "workflow" and workflow_lookup is not None and not workflow_lookup(step["workflow_id"]):
        problems["workflow_id"] = [f"no workflow {step['workflow_id']}"]
    if step["type"] in ("action", "notification"):
        try:
            plugin = registry.get(step["service"])
        except UnknownPlugin:
            problems["service"] = [f"unknown service {step['service']!r}"]
            return problems
        step["service"] = plugin.name
        if step["type"] == "action":
            problems.update(_check_action(step, plugin.manifest))
        if step.get("connection") is not None and connection_lookup is not None:
            owner = connection_lookup(step["connection"])
            if owner is None:
                problems["connection"] = [f"no connection {step['connection']}"]
            elif owner != plugin.name:
                problems["connection"] = [f"connection {step['connection']} is a {owner} connection"]
        if step.get("fallback"):
            problems.update(_check_fallbacks(step, registry, connection_lookup))
    if step["type"] == "wait" and step.get("until") and not has_template(step["until"]):
        try:
            datetime.fromisoformat(step["until"].replace("Z", "+00:00"))
        except ValueError:
            problems["until"] = ["an ISO-8601 time, or a template"]
    return problems


# -- foreach steps ------------------------------------------------------------------------------


def _check_foreach(loop: dict, outer: list[dict], registry: Registry, connection_lookup,
                   workflow_lookup, max_concurrency: int) -> dict[str, Any]:
    """A foreach step's own fields and its inner steps (``step``, or ``steps``: a sub-graph
    with ids of its own), each checked like a top-level step; problems are named
    ``step.<field>`` or ``steps.<inner id>.<field>``. The inner steps are normalised in place
    (defaults filled in). Their expressions may use ``item`` and ``index``, the outputs of the
    loop's inner steps before them and of the workflow's steps before the loop."""
    problems: dict[str, Any] = {}
    for name in ("retry", "timeout_s"):
        if name in loop:
            problems[name] = ["not for a foreach step: set it on its inner steps"]
    concurrency = loop.get("concurrency", 1)
    if concurrency > max_concurrency:
        problems["concurrency"] = [f"at most {max_concurrency} (FOREACH_MAX_CONCURRENCY)"]
    single = "step" in loop
    raws = [loop["step"]] if single else loop["steps"]
    inner: list[dict] = []
    for index, raw in enumerate(raws):
        key = raw.get("id") if isinstance(raw.get("id"), str) else f"#{index}"
        where = "step" if single else f"steps.{key}"
        try:
            step = StepSchema().load(raw)
        except ValidationError as exc:
            problems.update(_flatten(where, exc.normalized_messages()))
            continue
        if step["type"] in ("foreach", "approval"):
            problems[f"{where}.type"] = [f"a foreach step cannot hold {step['type']} steps"]
            continue
        if len(loop["id"]) + len(step["id"]) > FOREACH_MAX_ID_CHARS:
            problems[f"{where}.id"] = [f"this id and the foreach step's together at most "
                                       f"{FOREACH_MAX_ID_CHARS} characters"]
        if step["id"] in {s["id"] for s in outer}:
            problems[f"{where}.id"] = [f"the workflow has a step {step['id']!r}: an inner step "
                                       f"needs an id of its own"]
        if single and (step["depends_on"] or error_policy(step)[1] is not None):
            problems[f"{where}.depends_on"] = ["a foreach's single step has no depends_on or "
                                               "handler (use steps for a sub-graph)"]
        inner.append(step)
    if problems:
        return problems
    graph_errors: dict[str, Any] = {}
    _check_graph(inner, graph_errors)
    for step in inner:
        found = _check_step(step, registry, connection_lookup, workflow_lookup)
        if found:
            graph_errors.setdefault(f"steps.{step['id']}", {}).update(found)
    if not graph_errors:
        # An inner step sees the steps before the loop (as if it depended on them) and its
        # own sub-graph's.
        before = [s for s in outer if s["id"] != loop["id"]]
        scoped = [{**s, "depends_on": [*s["depends_on"], *loop["depends_on"]]} for s in inner]
        check_references([*before, *scoped], _expressions, registry, graph_errors)
        graph_errors = {k: v for k, v in graph_errors.items()
                        if k[len("steps."):] in {s["id"] for s in inner}}
    for key, found in graph_errors.items():
        where = "step" if single else key
        problems.update(_flatten(where, found))
    if single:
        loop["step"] = inner[0]
    else:
        loop["steps"] = inner
    return problems


_ACTION_ONLY = ("action", "parameters")
_NOTIFICATION_ONLY = ("channel", "message")


def _check_fallbacks(step: dict, registry: Registry, connection_lookup) -> dict[str, Any]:
    """Each alternative of ``step["fallback"]`` checked like the step itself (its service, its
    action and parameters, its connection), problems named ``fallback.<n>.<field>``; the
    alternatives are normalised in place (the service's canonical name)."""
    problems: dict[str, Any] = {}
    alternatives = []
    for n, raw in enumerate(step["fallback"]):
        where = f"fallback.{n}"
        try:
            alt = FallbackSchema().load(raw)
        except ValidationError as exc:
            problems.update(_flatten(where, exc.normalized_messages()))
            alternatives.append(raw)
            continue
        alternatives.append(alt)
        wrong = _NOTIFICATION_ONLY if step["type"] == "action" else _ACTION_ONLY
        for name in wrong:
            if name in alt:
                problems[f"{where}.{name}"] = [f"not for a fallback of an {step['type']} step"]
        try:
            plugin = registry.get(alt["service"])
        except UnknownPlugin:
            problems[f"{where}.service"] = [f"unknown service {alt['service']!r}"]
            continue
        alt["service"] = plugin.name
        if step["type"] == "action":
            own = {"action": alt.get("action", step["action"]),
                   "parameters": alt.get("parameters", step["parameters"])}
            for name, messages in _check_action(own, plugin.manifest).items():
                problems.update(_flatten(f"{where}.{name}", messages))
        conn_id = alt.get("connection")
        if conn_id is not None and connection_lookup is not None:
            owner = connection_lookup(conn_id)
            if owner is None:
                problems[f"{where}.connection"] = [f"no connection {conn_id}"]
            elif owner != plugin.name:
                problems[f"{where}.connection"] = [f"connection {conn_id} is a {owner} connection"]
        if (alt["service"] == step["service"] and alt.get("connection") == step.get("connection")
                and alt.get("action", step.get("action")) == step.get("action")):
            problems[f"{where}.service"] = ["the same service, connection and action as the "
                                             "step: name another connection or service"]
    step["fallback"] = alternatives
    return problems


def _check_action(step: dict, manifest: Any) -> dict[str, Any]:
    action = manifest.action(step["action"])
    if action is None:
        known = ", ".join(a.name for a in manifest.actions)
        return {"action": [f"{manifest.slug} has no action {step['action']!r} (known: {known})"]}
    params = step["parameters"]
    templated = tuple(k for k, v in params.items() if has_template(v))
    concrete = {k: v for k, v in params.items() if k not in templated}
    try:
        action.input(unknown=RAISE, partial=templated).load(concrete)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        # A required field may be filled by a template: only concrete problems count.
        messages = {k: v for k, v in messages.items() if k not in templated}
        if messages:
            return {"parameters": messages}
    return {}


def expand_compact(data: dict[str, Any], registry: Registry) -> dict[str, Any]:
    """Expand the seed's compact form into a full definition.

    ``{"name", "description", "trigger_service", "action_services", "conditions",
    "ai_optimized"}``: the trigger is the service's first event (conditions are equality
    filters on its payload); each action service gets its primary action, with required
    parameters mapped from the trigger payload field of the same name (``{{ trigger.x }}``).
    ``ai_optimized`` applies the optimisation's safe reliability findings
    (:func:`atom.intelligence.optimisation.optimise_new`).
    """
    errors: dict[str, Any] = {}
    trigger: dict[str, Any] = {"type": "manual"}
    service = data.get("trigger_service")
    if service:
        try:
            plugin = registry.get(service)
            event = plugin.manifest.triggers[0].name if plugin.manifest.triggers else None
            trigger = {"type": "event", "service": plugin.name, "event": event,
                       "conditions": data.get("conditions") or {}}
        except UnknownPlugin:
            errors["trigger_service"] = [f"unknown service {service!r}"]
    steps = []
    previous: str | None = None
    for name in data.get("action_services") or []:
        try:
            manifest = registry.get(name).manifest
        except UnknownPlugin:
            errors.setdefault("action_services", []).append(f"unknown service {name!r}")
            continue
        action = _primary_action(manifest)
        sid = f"{manifest.slug}_{action.name}"
        taken = {s["id"] for s in steps}
        if sid in taken:  # the same service named twice: each gets a step of its own
            sid = next(f"{sid}_{n}" for n in range(2, len(taken) + 3) if f"{sid}_{n}" not in taken)
        step = {"id": sid, "type": "action", "service": manifest.slug,
                "action": action.name, "parameters": _compact_parameters(action, manifest.slug),
                "depends_on": [previous] if previous else []}
        steps.append(step)
        previous = step["id"]
    if not steps and "action_services" not in errors:
        errors["action_services"] = ["name at least one service to act on"]
    if errors:
        raise DefinitionError(errors)
    definition = {"name": data.get("name") or "Untitled workflow",
                  "description": data.get("description", ""), "trigger": trigger, "steps": steps}
    if data.get("ai_optimized"):
        # the safe reliability findings of the graph (no history yet): retries, timeouts
        from atom.intelligence.optimisation import optimise_new

        definition = optimise_new(definition, registry)
    return definition


CONTENT_FIELDS = ("text", "message", "body", "summary", "title", "name")


def _compact_parameters(action: Any, service: str) -> dict[str, str]:
    """Required fields come from the trigger field of the same name; the first content field
    (text, summary, ...) falls back to a short description of the event."""
    fields_ = action.input().fields
    params = {n: f"{{{{ trigger.{n} }}}}" for n, f in fields_.items() if f.required}
    content = next((n for n in CONTENT_FIELDS if n in fields_), None)
    if content is not None:
        params[content] = f"{{{{ trigger.{content} || 'New event from ATOM workflow' }}}}"
    return params


def _primary_action(manifest: Any) -> Any:
    for prefix in ("send_", "create_", "post", "add_"):
        for action in manifest.actions:
            if action.name.startswith(prefix):
                return action
    return manifest.actions[0]


def is_compact(data: Any) -> bool:
    return isinstance(data, dict) and "steps" not in data and (
        "action_services" in data or "trigger_service" in data)


# -- typed definitions ------------------------------------------------------------------------
#
# A stored definition (validated JSON, defaults filled in) is loaded once per execution into
# frozen dataclasses: one class per step kind, every default applied here and nowhere else.
# ``on_error`` is ``fail`` or ``continue``; ``handler`` names the step that runs when this one
# fails. The old form, ``on_error: <step id>``, is read as ``on_error: fail, handler: <step id>``
# (the same behaviour: the handler runs, the step's dependents are skipped, and the failure no
# longer fails the execution: the handler's outcome counts instead).

ON_ERROR = ("fail", "continue")


def error_policy(step: dict[str, Any]) -> tuple[str, str | None]:
    """``(on_error, handler)`` of a step as stored, in the old form or the new."""
    on_error = step.get("on_error") or "fail"
    handler = step.get("handler")
    if on_error not in ON_ERROR:  # the old form: on_error names the handler
        return "fail", on_error
    return on_error, handler


@dataclass(frozen=True, slots=True)
class Retry:
    max_attempts: int = 1
    delay_s: float = 1.0
    backoff: float = 2.0

    def delay(self, attempt: int) -> float:
        """Seconds before the attempt after ``attempt`` (1-based)."""
        return self.delay_s * self.backoff ** (attempt - 1)


NO_RETRY = Retry()


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    id: str
    type: str
    name: str | None = None
    depends_on: tuple[str, ...] = ()
    when: str | None = None
    retry: Retry = NO_RETRY
    timeout_s: float | None = None
    on_error: str = "fail"
    handler: str | None = None

    @property
    def pure(self) -> bool:
        """Runs inline in the orchestrator, no I/O (transform, condition)."""
        return False


@dataclass(frozen=True, slots=True)
class Alternative:
    """One alternative of a step's ``fallback``; what it leaves out is the step's own."""

    service: str
    connection: int | None = None
    action: str | None = None
    parameters: dict[str, Any] | None = None
    channel: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceStep(Step):
    """A step that calls a service through a connection (action, notification)."""

    service: str
    connection: int | None = None
    fallback: tuple[Alternative, ...] = ()

    def on(self, alt: Alternative) -> ServiceStep:
        """This step as it runs on ``alt`` (the alternative's fields replace the step's)."""
        changes: dict[str, Any] = {"service": alt.service, "connection": alt.connection}
        for key in ("action", "parameters", "channel", "message"):
            value = getattr(alt, key)
            if value is not None and hasattr(self, key):
                changes[key] = value
        return replace(self, **changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionStep(ServiceStep):
    action: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationStep(ServiceStep):
    message: str
    channel: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformStep(Step):
    mapping: dict[str, str] | None = None
    aggregate: dict[str, Any] | None = None

    @property
    def pure(self) -> bool:
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionStep(Step):
    expression: str

    @property
    def pure(self) -> bool:
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitStep(Step):
    seconds: float | None = None
    until: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowStep(Step):
    workflow_id: int
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForEachStep(Step):
    """Runs ``body`` once per item of the list ``items`` gives, ``concurrency`` items at a time.

    ``body`` is the inner steps, ids local to the loop (one step for the ``step`` form, then
    ``single``: its runs are recorded as ``<id>[<n>]``; else ``<id>[<n>].<inner id>``)."""

    items: str
    body: tuple[Step, ...]
    single: bool = False
    concurrency: int = 1
    on_item_error: str = "fail_fast"
    # The body as a definition (for its planner), built once with the step.
    inner: Definition | None = None

    def item_id(self, index: int, local: str) -> str:
        """The step id an item's run of inner step ``local`` is recorded under."""
        return f"{self.id}[{index}]" if self.single else f"{self.id}[{index}].{local}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalStep(Step):
    """Waits (parked, see atom/engine/approvals.py) for ``required`` approvals by allowed
    approvers, or one rejection; past ``timeout_s`` (None: no limit) ``on_timeout`` applies."""

    approvers: dict[str, Any]
    required: int = 1
    message: str | None = None
    on_timeout: str = "reject"
    allow_self: bool = False


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    steps: tuple[Step, ...]
    trigger: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    by_id: dict[str, Step] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update({s.id: s for s in self.steps})


STEP_CLASSES: dict[str, type[Step]] = {
    "action": ActionStep, "notification": NotificationStep, "transform": TransformStep,
    "condition": ConditionStep, "wait": WaitStep, "workflow": WorkflowStep, "foreach": ForEachStep,
    "approval": ApprovalStep}
_COMMON = {f.name for f in fields_of(Step)}


# The step types that run inline in the orchestrator with no I/O (their ``pure`` is True).
PURE_TYPES = frozenset(("transform", "condition"))


def is_pure(raw: dict[str, Any]) -> bool:
    """Whether every step of a stored definition is pure: its run calls no service, never
    waits and starts no other run, so it takes a fraction of a millisecond per step."""
    return all(step.get("type") in PURE_TYPES for step in raw.get("steps") or ())


def load_step(raw: dict[str, Any]) -> Step:
    """A typed step from its validated JSON (old ``on_error`` form converted)."""
    cls = STEP_CLASSES[raw["type"]]
    names = {f.name for f in fields_of(cls)}
    on_error, handler = error_policy(raw)
    values: dict[str, Any] = {k: v for k, v in raw.items() if k in names and v is not None}
    values.update(on_error=on_error, handler=handler,
                  depends_on=tuple(raw.get("depends_on") or ()),
                  retry=Retry(**raw["retry"]) if raw.get("retry") else NO_RETRY)
    if "fallback" in names:
        values["fallback"] = tuple(Alternative(**alt) for alt in raw.get("fallback") or ())
    if "timeout_s" in values:
        values["timeout_s"] = float(values["timeout_s"])
    if cls is ForEachStep:
        single = raw.get("step") is not None
        body = tuple(load_step(s) for s in ([raw["step"]] if single else raw["steps"]))
        values.update(body=body, single=single,
                      inner=Definition(name=raw["id"], steps=body))
    return cls(**values)


def load_definition(raw: dict[str, Any]) -> Definition:
    """The typed form of a stored (validated) definition."""
    return Definition(name=raw.get("name", ""), description=raw.get("description", ""),
                      trigger=raw.get("trigger") or {},
                      steps=tuple(load_step(s) for s in raw["steps"]))
