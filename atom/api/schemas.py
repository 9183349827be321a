"""Marshmallow schemas of API request bodies and responses (also the OpenAPI document)."""
from __future__ import annotations

from marshmallow import INCLUDE
from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.api.inputs import BoundedSchema
from atom.api.pagination import CountedPageOut
from atom.api.pagination import PageOut
from atom.api.pagination import PageQuery


class StrictSchema(BoundedSchema):
    """A request schema that refuses unknown fields (and bounds its numbers, see
    :class:`~atom.api.inputs.BoundedSchema`)."""

    class Meta:
        unknown = RAISE


class ConnectionCreate(StrictSchema):
    integration = fields.String(required=True, validate=validate.Length(min=1, max=64))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    settings = fields.Dict(keys=fields.String(), load_default=dict)
    credentials = fields.Dict(keys=fields.String(), load_default=dict)
    enabled = fields.Boolean(load_default=True)


class ConnectionUpdate(StrictSchema):
    label = fields.String(validate=validate.Length(min=1, max=200))
    settings = fields.Dict(keys=fields.String())
    credentials = fields.Dict(keys=fields.String())
    enabled = fields.Boolean()


class LastTest(Schema):
    at = fields.String(allow_none=True)
    ok = fields.Boolean(allow_none=True)
    latency_ms = fields.Float(allow_none=True)
    error_class = fields.String(allow_none=True)
    message = fields.String(allow_none=True)


class ConnectionOut(Schema):
    id = fields.Integer()
    integration = fields.String()
    label = fields.String()
    settings = fields.Dict()
    credentials = fields.Dict(metadata={"description": "secret fields are masked"})
    enabled = fields.Boolean()
    status = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    last_test = fields.Nested(LastTest)


class ConnectionList(CountedPageOut):
    connections = fields.List(fields.Nested(ConnectionOut))


class TestOut(Schema):
    ok = fields.Boolean()
    latency_ms = fields.Float()
    error_class = fields.String(allow_none=True)
    message = fields.String(allow_none=True)


class ActionOut(Schema):
    output = fields.Raw()
    duration_ms = fields.Float()
    attempts = fields.Integer()


class Error(Schema):
    """Every error answer of the API (and the ``default`` response of every operation);
    some carry more (a 409 may list what is in the way)."""

    class Meta:
        unknown = INCLUDE

    code = fields.String(required=True, metadata={
        "description": "stable and machine-readable: bad_request, unauthorized, forbidden, "
                       "not_found, conflict, validation, rate_limited, or the error class "
                       "of a failed service call (auth, upstream, timeout, ...)"})
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "the reasons, by field (``_body``: the whole body)"})
    upstream_status = fields.Integer(metadata={"description": "a failed service call: the "
                                                              "service's HTTP status"})
    retry_after = fields.Float(metadata={"description": "seconds to wait before retrying"})


# -- bodies read by the views themselves (documented, not loaded, by these schemas) ------------


class AnyObject(Schema):
    """Any JSON object."""

    class Meta:
        unknown = INCLUDE


class WorkflowIn(Schema):
    """A full definition (``name``, ``trigger``, ``steps``) or the compact form
    (``trigger_service``, ``action_services``); the engine validates it (422 naming the step)."""

    class Meta:
        unknown = INCLUDE

    name = fields.String(metadata={"description": "required (1 to 200 characters)"})
    description = fields.String()
    enabled = fields.Boolean()
    trigger = fields.Dict(metadata={"description": "type: manual, webhook, schedule or event"})
    steps = fields.List(fields.Dict(), metadata={"description": (
        "1 to 500 steps, each with id, type (action, transform, condition, wait, notification, "
        "workflow or foreach), depends_on, when, retry, timeout_s, on_error (fail or continue) "
        "and handler. A foreach step has items (an expression giving a list), either step (one "
        "step) or steps (a sub-graph of up to 20 steps, ids local to the loop) run per item, "
        "whose expressions also see item and index; concurrency (default 1, at most "
        "FOREACH_MAX_CONCURRENCY) and on_item_error (fail_fast, the default: no new item "
        "starts and the step fails; continue: every item runs and the step succeeds unless "
        "every item failed). Its output: items (each item's output in item order, null for a "
        "failed or unrun item), failed (indices), errors, count, succeeded, not_run")})
    trigger_service = fields.String(metadata={"description": "compact form"})
    action_services = fields.List(fields.String(), metadata={"description": "compact form"})
    conditions = fields.Dict(metadata={"description": "compact form"})


# -- the integration catalogue ---------------------------------------------------------------


class IntegrationOut(Schema):
    name = fields.String()
    display_name = fields.String()
    category = fields.String()
    description = fields.String()
    docs_url = fields.String(allow_none=True)
    aliases = fields.List(fields.String())
    auth = fields.Dict(metadata={"description": "the declared scheme: kind, how it is applied "
                                                "(header, prefix, query params, fields), "
                                                "secret_fields, and oauth2 when offered"})
    oauth2 = fields.Boolean(metadata={"description": "offers the OAuth2 connect flow"})
    rate_limit = fields.Dict(allow_none=True)
    webhook = fields.Dict(allow_none=True)
    contract = fields.Dict(allow_none=True, metadata={
        "description": "what the plugin is tested against: openapi, graphql or fake"})
    actions = fields.List(fields.Raw(), metadata={
        "description": "names; in the detail view each action's input_schema (with its "
                       "example), output_schema, example and words"})
    triggers = fields.List(fields.Raw(), metadata={
        "description": "names; in the detail view each trigger's delivery (webhook scheme or "
                       "poll), payload_schema, params_schema, sample and words"})
    credentials_schema = fields.Dict(allow_none=True, metadata={"description": "detail view"})
    settings_schema = fields.Dict(allow_none=True, metadata={"description": "detail view"})


class CatalogueOut(CountedPageOut):
    integrations = fields.List(fields.Nested(IntegrationOut))
    not_loaded = fields.List(fields.Dict(), metadata={"description": "plugins that did not "
                                                                     "load, with the reason"})


# -- workflows -------------------------------------------------------------------------------


class WorkflowList(PageOut):
    workflows = fields.List(fields.Nested("WorkflowOut"))


class VersionOut(Schema):
    version = fields.Integer()
    created_at = fields.String()
    created_by = fields.String(allow_none=True)
    definition = fields.Dict()


class VersionList(CountedPageOut):
    versions = fields.List(fields.Nested(VersionOut))


class TemplateOut(Schema):
    name = fields.String()
    title = fields.String()
    description = fields.String()
    services = fields.List(fields.String())
    available = fields.Boolean()
    missing_integrations = fields.List(fields.String())
    steps = fields.Integer()
    trigger = fields.Dict()
    definition = fields.Dict()
    needs = fields.List(fields.Dict(), metadata={
        "description": "parameters to give when instantiating: step, field, description, "
                       "example"})
    connections_needed = fields.List(fields.String(), metadata={
        "description": "services a step reads from by connection (copy_file's source): the "
                       "first enabled connection of each unless `connections` names one"})
    sample_payload = fields.Dict(allow_none=True, metadata={
        "description": "a trigger payload to try the workflow with (null while integrations "
                       "are missing)"})


class TemplateList(CountedPageOut):
    templates = fields.List(fields.Nested(TemplateOut))


class WorkflowAnalyticsOut(PageOut):
    window_days = fields.Integer()
    executions = fields.Integer()
    success_rate = fields.Float(allow_none=True)
    p50_ms = fields.Float(allow_none=True)
    p95_ms = fields.Float(allow_none=True)
    failures_by_error_class = fields.Dict(keys=fields.String(), values=fields.Integer())
    workflows = fields.List(fields.Dict(), metadata={
        "description": "a page of the workflows with executions in the window, by id"})


class ExecutionList(PageOut):
    executions = fields.List(fields.Nested("ExecutionOut"), metadata={
        "description": "newest first, without their steps"})


class ServicesStatusOut(Schema):
    services = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={
        "description": "by service: status, the workflows using it, its connections"})


class ConnectionQuery(StrictSchema, PageQuery):
    integration = fields.String()
