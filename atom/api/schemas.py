"""Marshmallow schemas of API request bodies and responses (also the OpenAPI document)."""
from __future__ import annotations

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.api.inputs import BoundedSchema


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


class ConnectionList(Schema):
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
    code = fields.String()
    message = fields.String()
    errors = fields.Dict()


class ConnectionQuery(StrictSchema):
    integration = fields.String()
