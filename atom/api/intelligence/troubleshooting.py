"""Troubleshooting: ``POST /workflows/enhanced/troubleshooting/analyze`` and ``/resolve``, and
the stored sessions (``GET /workflows/enhanced/troubleshooting/sessions[/{id}]``).

``analyze`` stores a session, so it needs the editor role like every write (a viewer reads the
sessions); ``resolve`` writes a workflow version and starts an execution (editor).
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.api.auth import actor
from atom.api.auth import require
from atom.api.errors import ApiError
from atom.api.intelligence import blp
from atom.api.intelligence import requires
from atom.api.pagination import PageOut
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate
from atom.api.schemas import StrictSchema
from atom.intelligence import troubleshooting as ts
from atom.models.intelligence import TroubleshootingSession

MAX_WAIT_S = 60.0


def _raise(exc: ts.TroubleshootingError) -> None:
    raise ApiError(exc.status, exc.message,
                   errors={exc.field: [exc.message]} if exc.field and exc.status == 422 else None
                   ) from exc


class TroubleshootingAnalyzeIn(StrictSchema):
    execution_id = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "a failed execution to analyse"})
    workflow_id = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": f"a workflow: its {ts.WORKFLOW_FAILURES} most recent failed executions"})

    @validates_schema
    def _one(self, data: dict[str, Any], **_: Any) -> None:
        if ("execution_id" in data) == ("workflow_id" in data):
            raise ValidationError("give execution_id or workflow_id (one of them)", "execution_id")


class FixesField(fields.Field):
    """A list of fix ids, or ``"auto"``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value == "auto":
            return value
        if (isinstance(value, list) and value and len(value) <= 50
                and all(isinstance(v, str) and 0 < len(v) <= 200 for v in value)):
            return value
        raise ValidationError('a non-empty list of fix ids (strings), or "auto"')


class ResolveIn(StrictSchema):
    session_id = fields.Integer(required=True, validate=validate.Range(min=1))
    fixes = FixesField(required=True, metadata={
        "description": 'fix ids from the session, or "auto" (every safe fix)',
        "oneOf": [{"type": "array", "items": {"type": "string"}},
                  {"type": "string", "enum": ["auto"]}]})
    wait_s = fields.Float(load_default=ts.DEFAULT_WAIT_S,
                          validate=validate.Range(min=0, max=MAX_WAIT_S), metadata={
                              "description": "wait up to this many seconds for the re-run to finish"})


class SessionQuery(StrictSchema, PageQuery):
    workflow_id = fields.Integer(validate=validate.Range(min=1))
    execution_id = fields.Integer(validate=validate.Range(min=1))


class ServiceHealthThenOut(Schema):
    relation = fields.String(metadata={
        "description": "down_for_everyone (other connections and checks failed too), only_this "
                       "(they succeeded), no_other_data"})
    summary = fields.String()
    others = fields.Dict(allow_none=True, metadata={
        "description": "the integration's health without this connection's calls (its "
                       "health checks are in these figures; the relation leaves them out)"})
    overall = fields.Dict(allow_none=True, metadata={"description": "with them"})


class AttemptOut(Schema):
    attempt = fields.Integer()
    class_ = fields.String(data_key="class", attribute="class")
    recorded_class = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Float(allow_none=True)


class FailureOut(Schema):
    execution_id = fields.Integer()
    version = fields.Integer()
    step_id = fields.String()
    step_type = fields.String()
    service = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    connection_id = fields.Integer(allow_none=True)
    connection = fields.String(allow_none=True, metadata={"description": "the connection's label"})
    class_ = fields.String(data_key="class", attribute="class", metadata={
        "description": "auth, rate_limited, timeout, upstream, validation, expression, "
                       "circuit_open, blocked, configuration (internal: an ATOM bug)"})
    recorded_class = fields.String(allow_none=True, metadata={
        "description": "the class the engine recorded"})
    error = fields.String(allow_none=True)
    status_code = fields.Integer(allow_none=True, metadata={
        "description": "the HTTP status the service answered, when it did"})
    retry_after_s = fields.Float(allow_none=True)
    finished_at = fields.String(allow_none=True)
    on_error = fields.String()
    attempts = fields.List(fields.Nested(AttemptOut))
    health = fields.Nested(ServiceHealthThenOut)


class FixOut(Schema):
    id = fields.String()
    kind = fields.String(metadata={
        "description": "safe: raise_timeout, add_retry, space_calls, rerun; needing a person: "
                       "reconnect, change_parameter, fix_expression, configuration, "
                       "outbound_policy, change_request, internal_error"})
    safe = fields.Boolean(metadata={"description": "resolve may apply it; else a person must"})
    description = fields.String()
    change = fields.Dict(allow_none=True, metadata={
        "description": "what resolve changes (null for a fix a person makes)"})


class RootCauseOut(Schema):
    summary = fields.String(metadata={"description": "the root cause in one sentence"})
    class_ = fields.String(data_key="class", attribute="class")
    step_id = fields.String()
    execution_id = fields.Integer()
    relation = fields.String()
    evidence = fields.List(fields.Dict(), metadata={
        "description": "each failed attempt: execution, step, attempt, class, status code, time, "
                       "error"})
    health = fields.List(fields.Dict())
    step_history = fields.Dict(metadata={
        "description": "the step's successful runs: count, p99_ms, executions"})


class ResolutionOut(Schema):
    applied = fields.List(fields.String())
    version = fields.Integer(allow_none=True, metadata={
        "description": "the workflow version the fixes were saved as"})
    from_version = fields.Integer(allow_none=True)
    rerun_execution_id = fields.Integer(allow_none=True)
    rerun = fields.String(allow_none=True)
    outcome = fields.String(metadata={
        "description": "the re-run's status (queued, running, succeeded, failed), or why "
                       "nothing was re-run"})
    changes = fields.List(fields.Dict())
    health_checks = fields.List(fields.Dict())
    error = fields.String(allow_none=True)
    at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)


class SessionOut(Schema):
    id = fields.Integer()
    workflow_id = fields.Integer()
    execution_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={
        "description": "open, resolved (re-run succeeded), failed (re-run failed), needs_person"})
    executions = fields.List(fields.Integer(), metadata={"description": "the executions analysed"})
    failures = fields.List(fields.Nested(FailureOut))
    root_cause = fields.Nested(RootCauseOut, allow_none=True)
    fixes = fields.List(fields.Nested(FixOut))
    resolution = fields.Nested(ResolutionOut, allow_none=True)
    created_at = fields.String()
    updated_at = fields.String(allow_none=True)
    created_by = fields.String()


class SessionList(PageOut):
    sessions = fields.List(fields.Nested(SessionOut))


@blp.route("/troubleshooting/analyze", methods=["POST"])
@blp.arguments(TroubleshootingAnalyzeIn)
@blp.response(201, SessionOut)
@blp.alt_response(404, response="NOT_FOUND", description="no such execution or workflow")
@blp.alt_response(409, response="CONFLICT", description="nothing failed (or it is still running)")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="switched off")
@requires("troubleshooting")
def troubleshooting_analyze(data):
    """Analyse a failed execution (or a workflow's recent failed executions): every failed
    attempt classified and related to the integration's health then, the root cause in one
    sentence with its evidence, and fixes (safe, or needing a person). Stores the session
    (editor role). 409 when nothing failed."""
    require("editor")
    try:
        session = ts.analyze(data.get("execution_id"), data.get("workflow_id"), actor())
    except ts.TroubleshootingError as exc:
        _raise(exc)
    return ts.present(session)


@blp.route("/troubleshooting/resolve", methods=["POST"])
@blp.arguments(ResolveIn)
@blp.response(200, SessionOut)
@blp.alt_response(404, response="NOT_FOUND", description="no such session")
@blp.alt_response(409, response="CONFLICT", description="already resolved, or the workflow or "
                                                       "execution can no longer be re-run")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="switched off")
@requires("troubleshooting")
def troubleshooting_resolve(data):
    """Apply the chosen safe fixes (``"auto"``: all safe ones) as one new workflow version and
    re-run (a new execution with the same payload; a lone ``rerun`` fix retries the execution
    from its failed steps once the service passes its health check). A fix needing a person is
    a 422 naming ``fixes``."""
    require("editor")
    try:
        session = ts.get(data["session_id"])
        session = ts.resolve(session, data["fixes"], actor(), wait_s=data["wait_s"])
    except ts.TroubleshootingError as exc:
        _raise(exc)
    return ts.present(session)


@blp.route("/troubleshooting/sessions", methods=["GET"])
@blp.arguments(SessionQuery, location="query")
@blp.response(200, SessionList)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="switched off")
@requires("troubleshooting")
def troubleshooting_sessions(query):
    """Troubleshooting sessions, newest first (filter by workflow or execution)."""
    page = paginate(ts.sessions_query(query.get("workflow_id"), query.get("execution_id")),
                    query, (TroubleshootingSession.id,), descending=True)
    return page.answer("sessions", [ts.present(ts.refresh(s)) for s in page.rows])


@blp.route("/troubleshooting/sessions/<id:session_id>", methods=["GET"])
@blp.response(200, SessionOut)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="switched off")
@requires("troubleshooting")
def troubleshooting_session(session_id: int):
    """One troubleshooting session, its re-run outcome brought up to date."""
    try:
        return ts.present(ts.get(session_id))
    except ts.TroubleshootingError as exc:
        _raise(exc)
