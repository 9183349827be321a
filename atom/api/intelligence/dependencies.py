"""Cross-service intelligence: ``GET /workflows/enhanced/dependencies`` (the map of which
workflows use which services and connections, from definitions and executions) and ``GET
/workflows/enhanced/impact`` (which workflows are at risk now, given each service's health)."""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.api.errors import ApiError
from atom.api.intelligence import blp
from atom.api.intelligence import requires
from atom.api.schemas import StrictSchema
from atom.intelligence import dependencies as deps

_WINDOW = fields.Integer(validate=validate.Range(min=1, max=deps.MAX_WINDOW_DAYS), metadata={
    "description": f"days of executions to learn from (default {deps.DEFAULT_WINDOW_DAYS}; at "
                   f"most the newest {deps.MAX_EXECUTIONS} executions are read)"})


class DependencyQuery(StrictSchema):
    window_days = _WINDOW


class ImpactQuery(StrictSchema):
    service = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "only the workflows that depend on this service (slug or alias)"})
    connection_id = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "only the workflows that depend on this connection"})
    window_days = fields.Integer(validate=validate.Range(min=1, max=deps.MAX_WINDOW_DAYS))


class NodeOut(Schema):
    id = fields.String(metadata={"description": "workflow:<id>, service:<slug> or connection:<id>"})
    kind = fields.String(metadata={"enum": ["workflow", "service", "connection"]})
    ref = fields.Raw(metadata={"description": "the workflow or connection id, or the service slug"})
    name = fields.String()
    enabled = fields.Boolean()
    status = fields.String(metadata={"description": "services and connections: healthy, degraded, "
                                                    "unhealthy, unknown; workflows: enabled, "
                                                    "disabled, missing"})
    version = fields.Integer(allow_none=True)
    service = fields.String(allow_none=True, metadata={"description": "a connection's service"})
    health = fields.Dict(metadata={"description": "a service's health over the monitoring "
                                                  "window: checks, calls, success_rate, p95_ms, "
                                                  "score, status, error_classes"})
    problems = fields.List(fields.String(), metadata={
        "description": "a connection's own problems (disabled, re-authorisation, circuit open)"})
    circuit = fields.Dict(allow_none=True, metadata={
        "description": "a connection's circuit breaker (state, failures, retry_in_s); null "
                       "before its first call in this process"})


class EdgeOut(Schema):
    from_ = fields.String(data_key="from", attribute="from", metadata={"description": "workflow:<id>"})
    to = fields.String(metadata={"description": "the node depended on"})
    kind = fields.String(metadata={"enum": list(deps.EDGE_KINDS)})
    source = fields.List(fields.String(), metadata={
        "description": "where it was learnt: definition and/or executions"})
    steps = fields.List(fields.String(), metadata={"description": "the steps behind it"})
    via = fields.String(allow_none=True, metadata={
        "description": "set when the definition names no connection and the service's first "
                       "enabled one is used"})
    runs = fields.Integer(metadata={"description": "step runs in the window"})
    failures = fields.Integer(metadata={"description": "failed step runs in the window"})
    last_run_at = fields.String(allow_none=True)


class DependencyMapOut(Schema):
    generated_at = fields.String()
    window_days = fields.Integer()
    since = fields.String()
    nodes = fields.List(fields.Nested(NodeOut))
    edges = fields.List(fields.Nested(EdgeOut))
    summary = fields.Dict(metadata={"description": "workflows, services, connections, edges, "
                                                   "executions read, whether the cap was hit, "
                                                   "fallback runs"})


class DependencyOut(Schema):
    kind = fields.String(metadata={"enum": ["trigger", "action", "notification", "subworkflow"]})
    step_id = fields.String(allow_none=True)
    service = fields.String(allow_none=True)
    connection = fields.Integer(allow_none=True, metadata={
        "description": "the connection it uses (the definition's, else the service's default)"})
    workflow_id = fields.Integer(metadata={"description": "a sub-workflow step's child"})
    required = fields.Boolean(metadata={"description": "whether its failure fails the run "
                                                       "(on_error is fail)"})
    status = fields.String(metadata={"description": "healthy, degraded, unhealthy or unknown"})
    problems = fields.List(fields.String(), metadata={
        "description": "what makes its route unusable beyond the service's health (no enabled "
                       "connection, a disabled one, an open circuit)"})
    risk = fields.String(metadata={"enum": list(deps.RISKS)})
    why = fields.String(allow_none=True)
    fallbacks = fields.List(fields.Dict(), metadata={
        "description": "each declared alternative: index, service, connection, status, problems, "
                       "evidence"})
    evidence = fields.Dict(metadata={"description": "the health (and connection state) it was "
                                                    "judged on"})
    runs = fields.Integer()
    failures = fields.Integer()
    fallback_runs = fields.Integer(metadata={"description": "runs in the window that took a "
                                                            "fallback"})


class WorkflowImpactOut(Schema):
    workflow_id = fields.Integer()
    name = fields.String()
    enabled = fields.Boolean()
    version = fields.Integer()
    risk = fields.String(metadata={"enum": list(deps.RISKS)})
    why = fields.List(fields.String())
    dependencies = fields.List(fields.Nested(DependencyOut))


class ImpactOut(Schema):
    generated_at = fields.String()
    service = fields.String(allow_none=True)
    connection_id = fields.Integer(allow_none=True)
    window_days = fields.Integer()
    services = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={
        "description": "each service judged: its health over the monitoring window"})
    workflows = fields.List(fields.Nested(WorkflowImpactOut), metadata={
        "description": "critical first, then warning, then ok"})
    summary = fields.Dict(keys=fields.String(), values=fields.Integer())


@blp.route("/dependencies", methods=["GET"])
@blp.arguments(DependencyQuery, location="query")
@blp.response(200, DependencyMapOut)
@requires("cross_service")
def dependency_map(query):
    """The dependency map: which workflows use which services and connections, learnt from
    the definitions and from the executions of the last ``window_days``."""
    return deps.dependency_map(query.get("window_days"))


@blp.route("/impact", methods=["GET"])
@blp.arguments(ImpactQuery, location="query")
@blp.response(200, ImpactOut)
@requires("cross_service")
def impact(query):
    """Which workflows are at risk now given each service's health: critical (a required step's
    service is unhealthy and no usable fallback is left), warning (degraded, or only a
    fallback left), ok; each with why and the figures. An unknown service or connection is a
    422 naming ``service`` or ``connection_id``."""
    try:
        return deps.impact(query.get("service"), query.get("connection_id"),
                           query.get("window_days"))
    except deps.UnknownTarget as exc:
        raise ApiError(422, exc.message, errors={exc.field: [exc.message]}) from exc
