"""Enhanced monitoring: ``POST /workflows/enhanced/monitoring/start`` and ``/stop``,
``GET /workflows/enhanced/monitoring/health`` and ``/metrics``."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.api.auth import actor
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.intelligence import blp
from atom.api.intelligence import requires
from atom.api.schemas import StrictSchema
from atom.extensions import db
from atom.intelligence import workflow_health
from atom.models import Workflow
from atom.monitoring import thresholds
from atom.monitoring.monitor import get_monitor

MAX_WINDOW_S = 90 * 86_400


class WorkflowRef(StrictSchema):
    workflow_id = fields.Integer(required=True, strict=True)


class WindowQuery(StrictSchema):
    window_s = fields.Float(load_default=workflow_health.DEFAULT_WINDOW_S,
                            validate=validate.Range(min=1, max=MAX_WINDOW_S), metadata={
                                "description": "seconds back from now (default a day)"})


class DurationsOut(Schema):
    p50 = fields.Float(allow_none=True)
    p90 = fields.Float(allow_none=True)
    p95 = fields.Float(allow_none=True)
    p99 = fields.Float(allow_none=True)


class FiguresOut(Schema):
    executions = fields.Integer()
    succeeded = fields.Integer()
    failed = fields.Integer()
    cancelled = fields.Integer()
    success_rate = fields.Float(allow_none=True)
    duration_ms = fields.Nested(DurationsOut)
    failure_classes = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "failed executions by the error class of the step that failed them"})


class WorkflowFiguresOut(FiguresOut):
    workflow_id = fields.Integer()
    name = fields.String(allow_none=True)
    monitored = fields.Boolean()


class WorkflowHealthOut(FiguresOut):
    workflow_id = fields.Integer()
    name = fields.String()
    monitoring = fields.Boolean()
    monitored_since = fields.String(allow_none=True)
    started_by = fields.String(allow_none=True)
    window_s = fields.Float()
    since = fields.String()
    until = fields.String()
    consecutive_failures = fields.Integer()
    score = fields.Float(allow_none=True, metadata={"description": "0-100, as a connection's "
                                                                   "(atom.monitoring.score)"})
    status = fields.String(metadata={"enum": ["healthy", "degraded", "unhealthy", "unknown"]})
    execution_ids = fields.List(fields.Integer(), metadata={"description": "the newest ten"})
    alerts = fields.List(fields.Dict(), metadata={"description": "the workflow's open alerts"})


class MonitoredHealthOut(Schema):
    window_s = fields.Float()
    workflows = fields.List(fields.Nested(WorkflowHealthOut))


class MetricsOut(Schema):
    window_s = fields.Float()
    since = fields.String()
    until = fields.String()
    total = fields.Nested(FiguresOut)
    workflows = fields.List(fields.Nested(WorkflowFiguresOut))
    truncated = fields.Boolean()


class StopOut(Schema):
    workflow_id = fields.Integer()
    monitoring = fields.Boolean()
    stopped = fields.Boolean(metadata={"description": "false when it was not monitored"})
    resolved_alerts = fields.List(fields.Integer())


def _known(workflow_id: int) -> Workflow:
    workflow = db.session.get(Workflow, workflow_id)
    if workflow is None or workflow.deleted_at is not None:
        raise ApiError(404, f"no workflow {workflow_id}",
                       errors={"workflow_id": [f"no workflow {workflow_id}"]})
    return workflow


@blp.route("/monitoring/start", methods=["POST"])
@requires("monitoring")
@blp.arguments(WorkflowRef)
@blp.response(200, WorkflowHealthOut)
@blp.alt_response(201, schema=WorkflowHealthOut, description="monitoring started now")
def monitoring_start(body):
    """Put a workflow under enhanced monitoring (editor): 201 when new, 200 when it already
    was; its health is evaluated every monitoring round and alerts as a connection's do."""
    require("editor")
    workflow = _known(body["workflow_id"])
    monitor, created = workflow_health.start(workflow.id, actor())
    app = current_app._get_current_object()
    out = workflow_health.present_monitor(monitor, workflow, get_monitor(app).now(),
                                          workflow_health.DEFAULT_WINDOW_S,
                                          thresholds.current(app))
    return out, 201 if created else 200


@blp.route("/monitoring/stop", methods=["POST"])
@requires("monitoring")
@blp.arguments(WorkflowRef)
@blp.response(200, StopOut)
def monitoring_stop(body):
    """Stop monitoring a workflow (editor); its open health alert is resolved."""
    require("editor")
    workflow = _known(body["workflow_id"])
    stopped, resolved = workflow_health.stop(workflow.id, actor(),
                                             get_monitor(current_app).now())
    return {"workflow_id": workflow.id, "monitoring": False, "stopped": stopped,
            "resolved_alerts": resolved}


@blp.route("/monitoring/health", methods=["GET"])
@requires("monitoring")
@blp.arguments(WindowQuery, location="query")
@blp.response(200, MonitoredHealthOut)
def monitoring_health(query):
    """Each monitored workflow: success rate, duration p50/p95, failure classes, score,
    status and open alerts over the window."""
    app = current_app._get_current_object()
    return {"window_s": query["window_s"],
            "workflows": workflow_health.health(app, get_monitor(app).now(), query["window_s"])}


@blp.route("/monitoring/metrics", methods=["GET"])
@requires("monitoring")
@blp.arguments(WindowQuery, location="query")
@blp.response(200, MetricsOut)
def monitoring_metrics(query):
    """Executions, outcomes, failure classes and duration percentiles over the window, per
    workflow and in total."""
    return workflow_health.metrics(get_monitor(current_app).now(), query["window_s"])
