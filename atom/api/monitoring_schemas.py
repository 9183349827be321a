"""Request schemas of the monitoring API (query strings and bodies)."""
from __future__ import annotations

from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.api.inputs import UtcDateTime
from atom.api.schemas import StrictSchema
from atom.models.monitoring import ALERT_STATUSES
from atom.models.monitoring import SEVERITIES
from atom.monitoring.alerts import RULES


class AlertQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf((*ALERT_STATUSES, "active")),
                           metadata={"description": "open, acknowledged, resolved, or active "
                                                    "(open or acknowledged)"})
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    integration = fields.String(validate=validate.Length(min=1, max=64))
    connection_id = fields.Integer()
    rule = fields.String(validate=validate.OneOf(RULES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AnalyticsQuery(StrictSchema):
    hours = fields.Integer(load_default=24, validate=validate.Range(min=1, max=24 * 90))
    integration = fields.String(validate=validate.Length(min=1, max=64))
    connection_id = fields.Integer()


class ChannelCreate(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    connection_id = fields.Integer(required=True,
                                   metadata={"description": "a connection that can post messages "
                                                            "(slack, http)"})
    target = fields.String(validate=validate.Length(min=1, max=200), allow_none=True,
                           metadata={"description": "Slack channel, or a path under the http "
                                                    "connection's base URL"})
    min_severity = fields.String(load_default="warning", validate=validate.OneOf(SEVERITIES))
    enabled = fields.Boolean(load_default=True)


class MaintenanceCreate(StrictSchema):
    connection_id = fields.Integer(required=True)
    starts_at = UtcDateTime(metadata={"description": "ISO-8601 with a time zone, between 1970 "
                                                     "and 2999; default now"})
    ends_at = UtcDateTime(required=True, metadata={"description": "ISO-8601 with a time zone, "
                                                                  "between 1970 and 2999"})
    reason = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _order(self, data, **kwargs):
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts is not None and ends is not None and ends <= starts:
            raise ValidationError({"ends_at": ["must be after starts_at"]})
