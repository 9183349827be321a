"""Optimisation: ``POST .../optimization/analyze`` (findings with evidence, effect and
confidence), ``POST .../optimization/apply`` (a new version with the chosen findings),
``GET .../optimization/apply/{id}`` (the measured effect once the new version has run) and
``GET .../optimization/applications``."""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.api.auth import actor
from atom.api.auth import reads_only
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.intelligence import blp
from atom.api.intelligence import requires
from atom.api.pagination import PageOut
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate
from atom.api.schemas import StrictSchema
from atom.engine.definition import DefinitionError
from atom.extensions import db
from atom.intelligence import optimisation as opt
from atom.models import Workflow
from atom.models.intelligence import OptimisationApplication

class FindingsField(fields.Field):
    """A list of finding ids, or the string ``"auto"``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "auto":
            return value
        if not isinstance(value, list) or not value:
            raise ValidationError('a non-empty list of finding ids, or "auto"')
        if len(value) > 100:
            raise ValidationError("at most 100 findings")
        bad = [v for v in value if not isinstance(v, str) or len(v) > 64]
        if bad:
            raise ValidationError("each finding id is a string (as analyze returns it)")
        return value


class OptimisationAnalyzeIn(StrictSchema):
    workflow = fields.Dict(metadata={"description": "a workflow definition (full or compact), "
                                                    "validated as on create"})
    workflow_id = fields.Integer(metadata={"description": "a saved workflow: its current "
                                                          "version and its history"})
    strategy = fields.String(load_default="hybrid", validate=validate.OneOf(opt.STRATEGIES))

    @validates_schema
    def _one(self, data, **_):
        if ("workflow" in data) == ("workflow_id" in data):
            raise ValidationError("give either workflow or workflow_id", "workflow")


class ApplyIn(StrictSchema):
    workflow_id = fields.Integer(required=True)
    findings = FindingsField(required=True, metadata={
        "description": 'finding ids from analyze, or "auto": the safe findings whose confidence '
                       "is at least AI_MODELS_CONFIG auto_apply_threshold",
        "oneOf": [{"type": "array", "items": {"type": "string"}},
                  {"type": "string", "enum": ["auto"]}]})
    strategy = fields.String(load_default="hybrid", validate=validate.OneOf(opt.STRATEGIES))


class ApplicationsQuery(PageQuery):
    workflow_id = fields.Integer()


class FindingOut(Schema):
    id = fields.String(metadata={"description": "stable: the same kind on the same steps keeps it"})
    kind = fields.String(metadata={"enum": list(opt.KINDS)})
    steps = fields.List(fields.String())
    title = fields.String()
    evidence = fields.Dict(metadata={"description": "the data it rests on: execution ids, "
                                                    "counts, p99s, health, the step fields"})
    effect = fields.String(metadata={"description": "the estimated effect, with figures"})
    confidence = fields.Float()
    safe = fields.Boolean(metadata={"description": "can be applied automatically"})
    needs_person = fields.String(allow_none=True, metadata={
        "description": "why a person must make it, when not safe"})
    strategy = fields.List(fields.String(), metadata={"description": "the strategies it serves"})
    impact = fields.Float(metadata={"description": "0-1: the share of the figure it changes"})
    score = fields.Float(metadata={"description": "impact x confidence, the hybrid ranking"})
    change = fields.Dict(metadata={"description": "the change, machine-readable (op, ...)"})


class AnalyzeOut(Schema):
    findings = fields.List(fields.Nested(FindingOut))
    workflow_id = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)
    strategy = fields.String()
    summary = fields.Dict(metadata={"description": "counts: findings, safe, auto_applicable, "
                                                   "by_kind, executions_analysed"})


class DiffChange(Schema):
    path = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class DiffOut(Schema):
    unified = fields.String()
    changes = fields.List(fields.Nested(DiffChange))


class ApplicationOut(Schema):
    id = fields.Integer()
    workflow_id = fields.Integer()
    from_version = fields.Integer()
    to_version = fields.Integer()
    strategy = fields.String()
    applied = fields.List(fields.Nested(FindingOut))
    diff = fields.Nested(DiffOut)
    baseline = fields.Dict(metadata={"description": "from_version's executions: count, "
                                                    "success_rate, p50_ms, p95_ms"})
    measured = fields.Dict(allow_none=True, metadata={
        "description": "to_version's executions (count, success_rate, p50_ms, p95_ms) and "
                       "their change against the baseline; null until one has finished"})
    measured_reason = fields.String(allow_none=True)
    created_at = fields.String()
    created_by = fields.String()


class ApplicationList(PageOut):
    applications = fields.List(fields.Nested(ApplicationOut))


def _workflow(wf_id: int) -> Workflow:
    workflow = db.session.get(Workflow, wf_id)
    if workflow is None or workflow.deleted_at is not None:
        raise ApiError(404, f"no workflow {wf_id}")
    return workflow


@blp.route("/optimization/analyze", methods=["POST"])
@reads_only
@requires("optimization")
@blp.arguments(OptimisationAnalyzeIn)
@blp.response(200, AnalyzeOut)
def optimization_analyze(body):
    """Findings from the graph and, for a saved workflow, from the history of its current
    version: parallelise, add_retry, add_timeout, raise_timeout, cache, batch, event_trigger,
    degrading_service; each with evidence, effect, confidence and whether it is safe."""
    from atom.engine.workflows import current_definition
    from atom.engine.workflows import normalise

    strategy = body["strategy"]
    if "workflow_id" in body:
        workflow = _workflow(body["workflow_id"])
        findings = opt.analyze(current_definition(workflow), workflow.id, strategy,
                               version=workflow.version)
        runs = len(opt.history.executions(workflow.id, version=workflow.version,
                                          limit=opt.HISTORY_LIMIT))
        wf_id, version = workflow.id, workflow.version
    else:
        try:
            definition = normalise(body["workflow"])
        except DefinitionError as exc:
            db.session.rollback()
            raise ApiError(422, f"invalid workflow: {exc.errors}",
                           errors={"workflow": exc.errors}) from exc
        findings = opt.analyze(definition, None, strategy)
        runs, wf_id, version = 0, None, None
    return {"findings": [f.to_dict() for f in findings], "workflow_id": wf_id,
            "version": version, "strategy": strategy,
            "summary": opt.summary(findings, runs)}


@blp.route("/optimization/apply", methods=["POST"])
@requires("optimization")
@blp.arguments(ApplyIn)
@blp.response(201, ApplicationOut)
def optimization_apply(body):
    """Apply findings (ids, or ``auto``) to the workflow's current version as a new version;
    the answer has the diff and the baseline figures."""
    require("editor")
    workflow = _workflow(body["workflow_id"])
    try:
        row = opt.apply(workflow, body["findings"], actor(), body["strategy"])
    except opt.OptimisationError as exc:
        raise ApiError(exc.status, exc.message, errors=exc.errors) from exc
    return opt.present_application(row)


@blp.route("/optimization/apply/<id:app_id>", methods=["GET"])
@requires("optimization")
@blp.response(200, ApplicationOut)
def optimization_application(app_id: int):
    """An application, with the measured effect once executions of the new version exist."""
    row = db.session.get(OptimisationApplication, app_id)
    if row is None:
        raise ApiError(404, f"no optimisation application {app_id}")
    return opt.present_application(row)


@blp.route("/optimization/applications", methods=["GET"])
@requires("optimization")
@blp.arguments(ApplicationsQuery, location="query")
@blp.response(200, ApplicationList)
def optimization_applications(query):
    """Applications, newest first (``?workflow_id=``: of one workflow)."""
    page = paginate(opt.applications_query(query.get("workflow_id")), query,
                    (OptimisationApplication.id,), descending=True)
    return page.answer("applications", [opt.present_application(r) for r in page.rows])
