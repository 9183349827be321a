"""Schemas of the incidents, escalation-policy and silence API (queries, bodies, answers)."""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.api.inputs import UtcDateTime
from atom.api.monitoring_schemas import AlertOut
from atom.api.pagination import CountedPageOut
from atom.api.pagination import PageOut
from atom.api.pagination import PageQuery
from atom.api.schemas import StrictSchema
from atom.models.incidents import INCIDENT_STATUSES
from atom.models.monitoring import SEVERITIES
from atom.monitoring.alerts import RULES


class IncidentQuery(StrictSchema, PageQuery):
    status = fields.String(validate=validate.OneOf((*INCIDENT_STATUSES, "active")),
                           metadata={"description": "open, acknowledged, resolved, or active "
                                                    "(not resolved)"})
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    integration = fields.String(validate=validate.Length(min=1, max=64))


class IncidentCounts(Schema):
    alerts = fields.Integer()
    active = fields.Integer()
    firing = fields.Integer(metadata={"description": "active and not held"})
    held = fields.Integer(metadata={"description": "suppressed, flapping, in maintenance or "
                                                   "silenced: not notified"})
    resolved = fields.Integer()


class IncidentAlertOut(AlertOut):
    held = fields.String(allow_none=True, metadata={"description": "why it is not notified"})


class IncidentNotificationOut(Schema):
    incident_id = fields.Integer()
    channel_id = fields.Integer()
    event = fields.String(metadata={"description": "firing, updated, escalated, reminder or "
                                                   "resolved"})
    level = fields.Integer()
    firing = fields.Integer()
    resolved = fields.Integer()
    status = fields.String()
    error_class = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    at = fields.String()


class IncidentOut(Schema):
    id = fields.Integer()
    title = fields.String()
    group_key = fields.String()
    integration = fields.String(allow_none=True)
    host = fields.String(allow_none=True)
    severity = fields.String()
    status = fields.String()
    counts = fields.Nested(IncidentCounts)
    created_at = fields.String()
    changed_at = fields.String()
    acknowledged_at = fields.String(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    notified_at = fields.String(allow_none=True)
    escalation_level = fields.Integer(allow_none=True)
    alerts = fields.List(fields.Nested(IncidentAlertOut), metadata={"description": "one only"})
    notifications = fields.List(fields.Nested(IncidentNotificationOut),
                                metadata={"description": "one incident only"})


class IncidentList(PageOut):
    incidents = fields.List(fields.Nested(IncidentOut))
    count = fields.Integer(metadata={"description": "incidents on this page"})


# -- escalation policies ----------------------------------------------------------------------


class PolicyMatcher(StrictSchema):
    integration = fields.String(validate=validate.Length(min=1, max=64))
    host = fields.String(validate=validate.Length(min=1, max=255))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))


class PolicyLevel(StrictSchema):
    delay_s = fields.Float(required=True, validate=validate.Range(min=0, max=30 * 86400),
                           metadata={"description": "seconds after the incident opened"})
    channel_ids = fields.List(fields.Integer(), required=True,
                              validate=validate.Length(min=1, max=50))


class PolicyIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    matcher = fields.Nested(PolicyMatcher, load_default=dict,
                            metadata={"description": "which incidents (none: every one)"})
    levels = fields.List(fields.Nested(PolicyLevel), required=True,
                         validate=validate.Length(min=1, max=10))
    repeat_interval_s = fields.Float(allow_none=True,
                                     validate=validate.Range(min=60, max=30 * 86400),
                                     metadata={"description": "reminders of its incidents "
                                                              "(default ALERT_REPEAT_INTERVAL_S)"})
    enabled = fields.Boolean(load_default=True)


class PolicyLevelOut(Schema):
    delay_s = fields.Float()
    channel_ids = fields.List(fields.Integer())


class PolicyOut(Schema):
    id = fields.Integer()
    name = fields.String()
    matcher = fields.Dict(keys=fields.String(), values=fields.String())
    levels = fields.List(fields.Nested(PolicyLevelOut))
    repeat_interval_s = fields.Float(allow_none=True)
    enabled = fields.Boolean()
    created_at = fields.String()
    created_by = fields.String()
    updated_at = fields.String()


class PolicyList(CountedPageOut):
    policies = fields.List(fields.Nested(PolicyOut))


# -- silences ---------------------------------------------------------------------------------


class SilenceMatcher(StrictSchema):
    integration = fields.String(validate=validate.Length(min=1, max=64))
    connection_id = fields.Integer()
    host = fields.String(validate=validate.Length(min=1, max=255))
    rule = fields.String(validate=validate.OneOf(RULES))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    subject = fields.String(validate=validate.Length(min=1, max=64))
    workflow_id = fields.Integer()

    @validates_schema
    def _one_at_least(self, data, **_kwargs):
        if not data:
            raise ValidationError("give at least one of: " + ", ".join(self.fields), "_schema")


class SilenceCreate(StrictSchema):
    matcher = fields.Nested(SilenceMatcher, required=True,
                            metadata={"description": "every given field must equal the alert's"})
    starts_at = UtcDateTime(metadata={"description": "ISO-8601 with a time zone (default now)"})
    ends_at = UtcDateTime(required=True, metadata={"description": "ISO-8601 with a time zone, "
                                                                  "in the future"})
    comment = fields.String(required=True, validate=validate.Length(min=1, max=500),
                            metadata={"description": "why"})


class SilenceOut(Schema):
    id = fields.Integer()
    matcher = fields.Dict(keys=fields.String(), values=fields.Raw())
    starts_at = fields.String()
    ends_at = fields.String()
    state = fields.String(metadata={"description": "pending, active or expired"})
    comment = fields.String()
    created_by = fields.String()
    created_at = fields.String()
    expired_by = fields.String(allow_none=True)
    matching = fields.Integer(metadata={"description": "active alerts it matches now"})


class SilenceList(CountedPageOut):
    silences = fields.List(fields.Nested(SilenceOut))
