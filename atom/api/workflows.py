"""Workflows (``/api/v2/ai-workflows``), executions (``/api/v2/executions``) and the
per-workflow webhook URLs (``/hooks/workflows/<token>``)."""
from __future__ import annotations

from datetime import UTC

from flask import Blueprint as FlaskBlueprint
from flask import jsonify
from flask import request
from flask_smorest import Blueprint
from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.api.auth import actor
from atom.api.auth import authenticate
from atom.api.auth import decides_access
from atom.api.errors import ApiError
from atom.api.hooks import refused
from atom.api.hooks import verify_delivery
from atom.api.hooks import webhook_request
from atom.api.inputs import BoundedSchema
from atom.api.intelligence.prediction import PredictionOut
from atom.api.inputs import UtcDateTime
from atom.api.openapi import json_body
from atom.api.openapi import ok
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate
from atom.api.pagination import paginate_items
from atom.api.schemas import AnyObject
from atom.api.schemas import ExecutionList
from atom.api.schemas import ServicesStatusOut
from atom.api.schemas import TemplateList
from atom.api.schemas import VersionList
from atom.api.schemas import WorkflowAnalyticsOut
from atom.api.schemas import WorkflowIn
from atom.api.schemas import WorkflowList
from atom.engine import get_engine
from atom.engine.analytics import analysed_workflows
from atom.engine.analytics import services_status
from atom.engine.analytics import workflow_analytics
from atom.engine.chains import ExecutionRefused
from atom.engine.chains import inbound as inbound_chain
from atom.engine.definition import DefinitionError
from atom.engine.executions import EXECUTION_TRIGGERS
from atom.engine.executions import ExecutionConflict
from atom.engine.executions import cancel_execution
from atom.engine.executions import retry_execution
from atom.engine.executions import select_executions
from atom.engine.templates import get_template
from atom.engine.templates import list_templates
from atom.engine.triggers import claim_receipt
from atom.engine.workflows import create_workflow
from atom.engine.workflows import delete_workflow
from atom.engine.workflows import hook_target
from atom.engine.workflows import present
from atom.engine.workflows import present_execution
from atom.engine.workflows import public_definition
from atom.engine.workflows import runnable
from atom.engine.workflows import update_workflow
from atom.engine.workflows import webhook_secret
from atom.extensions import db
from atom.intelligence import enabled
from atom.intelligence import prediction
from atom.models import Execution
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.workflow import EXECUTION_STATUSES
from atom.models.workflow import FINISHED

blp = Blueprint("workflows", __name__, url_prefix="/api/v2/ai-workflows",
                description="Workflows: a trigger and dependency-ordered steps")
blp.before_request(authenticate)
executions_blp = Blueprint("executions", __name__, url_prefix="/api/v2/executions",
                           description="Workflow executions, step by step")
executions_blp.before_request(authenticate)
hooks_bp = FlaskBlueprint("workflow_hooks", __name__, url_prefix="/hooks/workflows")


blp.register_error_handler(ExecutionRefused, refused)
hooks_bp.register_error_handler(ExecutionRefused, refused)

MAX_WAIT_S = 300


def _json_body(required: bool = True) -> dict:
    if not request.get_data():
        if required:
            raise ApiError(400, "a JSON body is required", errors={"_body": ["empty"]})
        return {}
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "the body is not valid JSON", errors={"_body": ["not valid JSON"]})
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", errors={"_body": ["not an object"]})
    return body


def _workflow(wf_id: int) -> Workflow:
    workflow = db.session.get(Workflow, wf_id)
    if workflow is None or workflow.deleted_at is not None:
        raise ApiError(404, f"no workflow {wf_id}")
    return workflow


def _save(fn, *args):
    try:
        return fn(*args)
    except DefinitionError as exc:
        db.session.rollback()
        first = next(iter(exc.errors))
        raise ApiError(422, f"invalid workflow: {first}: {exc.errors[first]}", errors=exc.errors) from exc


class WorkflowOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    enabled = fields.Boolean()
    version = fields.Integer()
    trigger = fields.Dict()
    steps = fields.List(fields.Dict())
    webhook_url = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    prediction = fields.Nested(PredictionOut, allow_none=True, metadata={
        "description": "GET of one workflow only: its next run's predicted success rate, "
                       "completion time, risk factors and confidence (null when "
                       "AI_WORKFLOW_ENABLED is false)"})


class StepOut(Schema):
    step_id = fields.String(metadata={"description": (
        "the step's id; a foreach step's item runs are rows of their own: <id>[<n>] (the step "
        "form) or <id>[<n>].<inner id> (the steps form), n counting items from 0")})
    type = fields.String()
    status = fields.String()
    attempt = fields.Integer()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    duration_ms = fields.Float(allow_none=True)
    input = fields.Raw(allow_none=True)
    output = fields.Raw(allow_none=True)
    error = fields.Dict(allow_none=True)
    attempts = fields.List(fields.Dict(), metadata={"description": "every finished attempt, oldest first: attempt, status, started_at, finished_at, duration_ms, error_class, error"})
    decisions = fields.List(fields.Dict(), metadata={"description": (
        "approval steps only: every decision so far, oldest first: decision (approved or "
        "rejected), by, via (api, dashboard or link), comment, decided_at")})
    fallback = fields.Dict(allow_none=True, metadata={"description": (
        "set when the step ran on one of its fallback alternatives instead of its primary: "
        "index (in the step's fallback list), service, connection, action, reason "
        "(circuit_open or health_critical), evidence (the circuit's failures, or the health "
        "score, success rate and counts it was judged on), primary (service, connection); "
        "null when the primary ran")})


class ExecutionOut(Schema):
    id = fields.Integer()
    workflow_id = fields.Integer()
    version = fields.Integer()
    status = fields.String(metadata={"enum": list(EXECUTION_STATUSES)})
    trigger_type = fields.String()
    parent_id = fields.Integer(allow_none=True)
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    waiting_until = fields.String(allow_none=True, metadata={"description": (
        "only while the status is waiting: when its earliest durable timer (a wait step, a "
        "retry backoff) is due")})
    steps = fields.List(fields.Nested(StepOut))


class ExecuteQuery(BoundedSchema):
    wait = fields.Float(validate=validate.Range(min=0, max=MAX_WAIT_S))


class ExecutionQuery(PageQuery):
    workflow_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(EXECUTION_STATUSES))
    trigger_type = fields.String(validate=validate.OneOf(EXECUTION_TRIGGERS))
    since = UtcDateTime(default_timezone=UTC)
    until = UtcDateTime(default_timezone=UTC)
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata={
        "description": "deprecated (use cursor): rows to skip after the cursor"})


class AnalyticsQuery(PageQuery):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=365))


# -- workflows ---------------------------------------------------------------------------------

# What :func:`~atom.engine.workflows.present` reads of a workflow.
LISTED = (Workflow.id, Workflow.name, Workflow.description, Workflow.enabled, Workflow.version,
          Workflow.webhook_token, Workflow.created_at, Workflow.updated_at)


@blp.route("", methods=["POST"])
@blp.response(201, WorkflowOut)
@blp.doc(requestBody=json_body(WorkflowIn, "a full or a compact definition"))
def create():
    """Create a workflow from a full definition or the compact form; invalid ones are 422."""
    return present(_save(create_workflow, _json_body(), actor()))


@blp.route("", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.alt_response(200, **ok(WorkflowList))
def list_workflows(query):
    """Workflows by id, a page at a time, each with its current definition: one query, of
    the columns shown (rows, not ORM objects)."""
    return workflows_page(query)


def workflows_page(query: dict) -> dict:
    """A page of ``GET /api/v2/ai-workflows`` (the CLI's ``atom workflows list`` too)."""
    stmt = (db.select(*LISTED, WorkflowVersion.definition)
            .join(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
                  & (WorkflowVersion.version == Workflow.version))
            .where(Workflow.deleted_at.is_(None)))
    page = paginate(stmt, query, (Workflow.id,), scalars=False, key_of=lambda row: (row.id,))
    return page.answer("workflows", [present(row, row.definition) for row in page.rows])


@blp.route("/<id:wf_id>", methods=["GET"])
@blp.response(200, WorkflowOut)
def get_workflow(wf_id: int):
    out = present(_workflow(wf_id))
    out["prediction"] = prediction.safe_predict(wf_id) if enabled("prediction") else None
    return out


@blp.route("/<id:wf_id>", methods=["PUT"])
@blp.response(200, WorkflowOut)
@blp.doc(requestBody=json_body(WorkflowIn, "a full or a compact definition"))
def put_workflow(wf_id: int):
    """Replace the definition: saves a new immutable version."""
    return present(_save(update_workflow, _workflow(wf_id), _json_body(), actor()))


@blp.route("/<id:wf_id>", methods=["DELETE"])
@blp.response(204)
def remove(wf_id: int):
    delete_workflow(_workflow(wf_id), actor())
    return ""


@blp.route("/<id:wf_id>/enable", methods=["POST"])
@blp.response(200, WorkflowOut)
def enable(wf_id: int):
    return _set_enabled(wf_id, True)


@blp.route("/<id:wf_id>/disable", methods=["POST"])
@blp.response(200, WorkflowOut)
def disable(wf_id: int):
    return _set_enabled(wf_id, False)


def _set_enabled(wf_id: int, enabled: bool):
    workflow = _workflow(wf_id)
    workflow.enabled = enabled
    db.session.commit()
    return present(workflow)


@blp.route("/<id:wf_id>/versions", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.alt_response(200, **ok(VersionList))
def versions(query, wf_id: int):
    """The workflow's versions, oldest first."""
    _workflow(wf_id)
    page = paginate(db.select(WorkflowVersion).filter_by(workflow_id=wf_id), query,
                    (WorkflowVersion.version,), count=True)
    return page.answer("versions", [
        {"version": v.version, "created_at": v.created_at.isoformat() + "Z",
         "created_by": v.created_by, "definition": public_definition(v.definition)}
        for v in page.rows])


@blp.route("/<id:wf_id>/execute", methods=["POST"])
@blp.arguments(ExecuteQuery, location="query")
@blp.response(202, ExecutionOut)
@blp.alt_response(200, **ok(ExecutionOut, "finished within ?wait, or the same Idempotency-Key"))
@blp.doc(requestBody=json_body(AnyObject, "the trigger payload", required=False))
def execute(query, wf_id: int):
    """Start an execution with the body as trigger payload. ``Idempotency-Key`` returns the
    same execution for the same key; ``?wait=S`` waits up to S seconds for it to finish."""
    workflow = runnable(wf_id)  # with its definition, read once: the run reuses it
    if workflow is None:
        raise ApiError(404, f"no workflow {wf_id}")
    payload = _json_body(required=False)
    if not workflow.enabled:
        raise ApiError(409, f"workflow {wf_id} is disabled", code="conflict")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise ApiError(400, "Idempotency-Key must be 1 to 200 characters",
                       errors={"Idempotency-Key": ["1 to 200 characters"]})
    return _started(*get_engine().start(workflow, payload, "manual", idempotency_key=key,
                                        started_by=actor(), definition=workflow.definition),
                    wait=query.get("wait"))


def _started(execution: Execution, created: bool, wait: float | None):
    """202 for an execution started now (without ``wait``, however fast it ran: the answer
    must not depend on a race); 200 for a known one, or one waited for until it finished."""
    if wait:
        get_engine().wait(execution.id, wait)
        db.session.expire_all()
        execution = db.session.get(Execution, execution.id)
    elif created:  # as it was created: queued, no step has a row yet (nothing is read back)
        return {**present_execution(execution, with_steps=False), "steps": []}, 202
    status = 200 if not created or (wait and execution.status in FINISHED) else 202
    return present_execution(execution), status


@blp.route("/templates", methods=["GET"])
@blp.arguments(PageQuery, location="query")
@blp.alt_response(200, **ok(TemplateList))
def templates(query):
    """Ready-made workflows by name; ``available`` says whether their integrations are
    installed."""
    page = paginate_items(list_templates(), query, key=lambda t: (t["name"],))
    return page.answer("templates", page.rows)


@blp.route("/templates/<name>/instantiate", methods=["POST"])
@blp.response(201, WorkflowOut)
@blp.doc(requestBody=json_body(AnyObject, "overrides: name, ...", required=False))
def instantiate(name: str):
    """Create a workflow from a template; the body may override name, steps' connections, ..."""
    template = get_template(name)
    if template is None:
        raise ApiError(404, f"no template {name!r}")
    overrides = _json_body(required=False)
    definition = _save(template.instantiate, overrides)
    return present(_save(create_workflow, definition, actor()))


@blp.route("/analytics", methods=["GET"])
@blp.arguments(AnalyticsQuery, location="query", error_status_code=400)
@blp.alt_response(200, **ok(WorkflowAnalyticsOut))
def analytics(query):
    """The window's totals, and a page of the workflows with executions in it (by id), each
    with its steps."""
    page = paginate(analysed_workflows(query["days"]), query, (Execution.workflow_id,),
                    key_of=lambda wf_id: (wf_id,))
    return {**workflow_analytics(query["days"], page.rows), "next_cursor": page.next_cursor}


@blp.route("/services/status", methods=["GET"])
@blp.alt_response(200, **ok(ServicesStatusOut))
def service_status():
    return services_status()


# -- executions ---------------------------------------------------------------------------------


def _execution(ex_id: int) -> Execution:
    execution = db.session.get(Execution, ex_id)
    if execution is None:
        raise ApiError(404, f"no execution {ex_id}")
    return execution


@executions_blp.route("", methods=["GET"])
@executions_blp.arguments(ExecutionQuery, location="query")
@executions_blp.alt_response(200, **ok(ExecutionList))
def list_executions(query):
    """Executions newest first; filter by workflow, status, trigger type and creation time."""
    return executions_page(query)


def executions_page(query: dict) -> dict:
    """A page of ``GET /api/v2/executions`` (the CLI's ``atom executions list`` too)."""
    filters = ("workflow_id", "status", "trigger_type", "since", "until")
    stmt = select_executions(**{k: query[k] for k in filters if k in query})
    page = paginate(stmt, query, (Execution.id,), descending=True)
    return page.answer("executions", [present_execution(e, with_steps=False) for e in page.rows])


@executions_blp.route("/<id:ex_id>", methods=["GET"])
@executions_blp.response(200, ExecutionOut)
def get_execution(ex_id: int):
    return present_execution(_execution(ex_id))


@executions_blp.route("/<id:ex_id>/cancel", methods=["POST"])
@executions_blp.response(200, ExecutionOut)
def cancel(ex_id: int):
    """Cancel cooperatively: running steps finish, no new step starts."""
    execution = _execution(ex_id)
    try:
        cancel_execution(execution)
    except ExecutionConflict as exc:
        raise ApiError(409, exc.message, code="conflict") from exc
    return present_execution(execution)


class DecisionIn(Schema):
    """An approver's decision; the body is optional."""

    class Meta:
        unknown = RAISE

    comment = fields.String(allow_none=True, validate=validate.Length(max=2000))


class DecisionRecord(Schema):
    decision = fields.String(metadata={"enum": ["approved", "rejected"]})
    by = fields.String()
    via = fields.String(metadata={"enum": ["api", "dashboard", "link"]})
    comment = fields.String(allow_none=True)
    decided_at = fields.String()


class DecisionOut(Schema):
    execution_id = fields.Integer()
    step_id = fields.String()
    decision = fields.String(metadata={"enum": ["approved", "rejected"]})
    by = fields.String()
    settled = fields.String(allow_none=True, metadata={
        "description": "approved or rejected once the step is decided (the execution resumes); "
                       "null while more approvals are required"})
    decisions = fields.List(fields.Nested(DecisionRecord))


def _decide(ex_id: int, step_id: str, decision: str):
    from marshmallow import ValidationError as SchemaError

    from atom.api.auth import require
    from atom.engine.approvals import DecisionError
    from atom.engine.approvals import decide
    from atom.security import client_address

    principal = require("viewer")
    try:
        body = DecisionIn().load(_json_body(required=False))
    except SchemaError as exc:
        raise ApiError(422, "invalid decision", errors=exc.messages) from exc
    try:
        return decide(ex_id, step_id, decision, principal.name, principal.role,
                      "dashboard" if principal.kind == "session" else "api", body.get("comment"),
                      get_engine(), address=client_address())
    except DecisionError as exc:
        raise ApiError(exc.status, str(exc), errors={exc.field: [str(exc)]} if exc.field else None) from exc


@executions_blp.route("/<id:ex_id>/steps/<step_id>/approve", methods=["POST"])
@decides_access
@executions_blp.response(200, DecisionOut)
@executions_blp.doc(requestBody=json_body(DecisionIn, "an optional comment", required=False))
def approve(ex_id: int, step_id: str):
    """Approve a waiting approval step (404 no such step, 409 not waiting or already decided,
    403 not one of its approvers, or the one who started the run without ``allow_self``)."""
    return _decide(ex_id, step_id, "approved")


@executions_blp.route("/<id:ex_id>/steps/<step_id>/reject", methods=["POST"])
@decides_access
@executions_blp.response(200, DecisionOut)
@executions_blp.doc(requestBody=json_body(DecisionIn, "an optional comment", required=False))
def reject(ex_id: int, step_id: str):
    """Reject a waiting approval step: it fails with the error class ``rejected``."""
    return _decide(ex_id, step_id, "rejected")


@executions_blp.route("/<id:ex_id>/retry", methods=["POST"])
@executions_blp.arguments(ExecuteQuery, location="query")
@executions_blp.response(202, ExecutionOut)
@executions_blp.alt_response(200, **ok(ExecutionOut, "finished within ?wait"))
def retry(query, ex_id: int):
    """Run a failed or cancelled execution again from its failed steps, reusing the outputs
    of the steps that succeeded."""
    execution = _execution(ex_id)
    try:
        retry_execution(execution)
    except ExecutionConflict as exc:
        raise ApiError(409, exc.message, code="conflict") from exc
    return _started(execution, True, query.get("wait"))


# -- per-workflow webhook URLs --------------------------------------------------------------------


@hooks_bp.post("/<token>")
def receive(token: str):
    """Start the workflow that owns this URL; signed (``X-Atom-Timestamp``, ``X-Signature-256``)
    when its trigger has a secret. A replayed signature, or a known ``X-Delivery-Id``, is a
    duplicate: 200, and nothing starts."""
    workflow = hook_target(token)  # with its definition, read once: the run reuses it
    if workflow is None:
        raise ApiError(404, "no workflow at this URL")
    definition = workflow.definition
    digest = _verify_hook(workflow, definition)
    payload = _json_body(required=False)
    if not workflow.enabled:
        raise ApiError(409, f"workflow {workflow.id} is disabled", code="conflict")
    chain = inbound_chain(request.headers)  # 409 past the chain's depth, before anything is kept
    if not claim_receipt(f"workflow:{workflow.id}", digest):
        return jsonify({"execution_id": None, "duplicate": True}), 200
    key = request.headers.get("X-Delivery-Id") or request.headers.get("Idempotency-Key")
    # inline: a workflow of transforms and conditions has run when the 202 goes out.
    execution, created = get_engine().start(workflow, payload, "webhook",
                                            idempotency_key=f"hook:{key}" if key else None,
                                            chain=chain, definition=definition, inline=True)
    db.session.commit()  # the receipt, when the delivery id named an existing execution
    status = 202 if created else 200
    # The id from the identity map: the commit expired the row, reading .id would reload it.
    return jsonify({"execution_id": db.inspect(execution).identity[0], "duplicate": not created}), status


def _verify_hook(workflow: Workflow, definition: dict | None = None) -> str | None:
    """The replay digest of a signed delivery (401 when the signature fails); None for a
    workflow without a secret, whose hook stays unsigned."""
    secret = webhook_secret(workflow, definition)
    if secret is None:
        return None
    return verify_delivery(webhook_request(), "hmac_sha256", secret, f"workflow {workflow.id}")
