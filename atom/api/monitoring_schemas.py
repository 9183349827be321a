"""Request schemas of the monitoring API (query strings and bodies)."""
from __future__ import annotations

from marshmallow import INCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.api.inputs import UtcDateTime
from atom.api.pagination import CountedPageOut
from atom.api.pagination import PageOut
from atom.api.pagination import PageQuery
from atom.api.schemas import StrictSchema
from atom.models.monitoring import ALERT_STATUSES
from atom.models.monitoring import SEVERITIES
from atom.monitoring.alerts import RULES


class AlertQuery(StrictSchema, PageQuery):
    status = fields.String(validate=validate.OneOf((*ALERT_STATUSES, "active")),
                           metadata={"description": "open, acknowledged, suppressed, resolved, "
                                                    "or active (not resolved)"})
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    integration = fields.String(validate=validate.Length(min=1, max=64))
    connection_id = fields.Integer()
    rule = fields.String(validate=validate.OneOf(RULES))


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


class ThresholdsIn(Schema):
    """The thresholds to change (admin); ``null`` restores a default."""

    class Meta:
        unknown = INCLUDE

    response_time_warning_ms = fields.Float(allow_none=True)
    response_time_critical_ms = fields.Float(allow_none=True)
    success_rate_warning = fields.Float(allow_none=True)
    success_rate_critical = fields.Float(allow_none=True)
    health_score_warning = fields.Float(allow_none=True)
    health_score_critical = fields.Float(allow_none=True)
    consecutive_failures_warning = fields.Integer(allow_none=True)
    consecutive_failures_critical = fields.Integer(allow_none=True)
    workflow_failure_rate_warning = fields.Float(allow_none=True)
    workflow_failure_rate_critical = fields.Float(allow_none=True)
    # Evaluations in a row before a rule's alert opens / resolves (whole numbers, at least 1).
    response_time_open_after = fields.Integer(allow_none=True)
    response_time_resolve_after = fields.Integer(allow_none=True)
    success_rate_open_after = fields.Integer(allow_none=True)
    success_rate_resolve_after = fields.Integer(allow_none=True)
    health_score_open_after = fields.Integer(allow_none=True)
    health_score_resolve_after = fields.Integer(allow_none=True)
    consecutive_failures_open_after = fields.Integer(allow_none=True)
    consecutive_failures_resolve_after = fields.Integer(allow_none=True)
    anomaly_open_after = fields.Integer(allow_none=True)
    anomaly_resolve_after = fields.Integer(allow_none=True)
    workflow_failure_rate_open_after = fields.Integer(allow_none=True)
    workflow_failure_rate_resolve_after = fields.Integer(allow_none=True)


# -- responses (documented only: the views return these dicts as they are) ---------------------


def _number(**kwargs):
    return fields.Float(allow_none=True, **kwargs)


class UptimeRatios(Schema):
    """Share of passed health checks per period: a fraction from 0 to 1 (not a percentage),
    null for a period without checks."""

    day = _number(data_key="24h", attribute="24h",
                  metadata={"description": "last 24 hours, 0-1 or null"})
    week = _number(data_key="7d", attribute="7d",
                   metadata={"description": "last 7 days, 0-1 or null"})
    month = _number(data_key="30d", attribute="30d",
                    metadata={"description": "last 30 days, 0-1 or null"})


def _uptime():
    return fields.Nested(UptimeRatios, metadata={"description": "uptime per period (0-1)"})


class HealthFigures(Schema):
    status = fields.String(metadata={"description": "healthy, degraded, unhealthy or unknown"})
    health_score = _number()
    success_rate = _number()
    error_count = _number()
    observations = _number()
    calls_per_minute = _number()
    response_time_ms = _number()
    p50_response_time_ms = _number()
    p95_response_time_ms = _number()
    last_response_time_ms = _number()


class ConnectionHealth(HealthFigures):
    id = fields.Integer()
    integration = fields.String()
    label = fields.String()
    consecutive_failures = _number()
    in_maintenance = fields.Boolean()
    last_check = fields.Dict(allow_none=True)
    uptime = _uptime()
    flapping = fields.Boolean(metadata={"description": "its checks change state too often"})


class ServiceHealth(HealthFigures):
    connections = fields.List(fields.Nested(ConnectionHealth))
    uptime = _uptime()


class ServicesOut(Schema):
    generated_at = fields.String()
    window_s = _number()
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ServiceHealth))


class ServiceOut(ServiceHealth):
    name = fields.String()
    generated_at = fields.String()
    window_s = _number()


class OverviewOut(Schema):
    status = fields.String()
    health_score = _number()
    generated_at = fields.String()
    window_s = _number()
    alerts = fields.Dict(metadata={"description": "open alerts by severity"})
    connections = fields.Dict(metadata={"description": "connections by status, and total"})
    services = fields.Dict(metadata={"description": "integrations by status"})
    in_maintenance = fields.List(fields.Raw())
    last_round = fields.Dict(allow_none=True)
    scheduler = fields.Dict(allow_none=True)
    thresholds = fields.Dict()


class SummaryOut(Schema):
    status = fields.String()
    health_score = _number()
    generated_at = fields.String()
    window_s = _number()
    alerts = fields.Dict()
    services = fields.Dict(keys=fields.String(), values=fields.Dict())


class ReportConnection(Schema):
    id = fields.Integer()
    label = fields.String()
    status = fields.String(metadata={"description": "healthy, degraded, unhealthy or unknown"})
    health_score = _number()
    uptime = _uptime()
    success_rate = _number()
    consecutive_failures = fields.Integer()
    in_maintenance = fields.Boolean()
    last_check = fields.Dict(allow_none=True)


class ReportService(Schema):
    status = fields.String(metadata={"description": "healthy, degraded, unhealthy or unknown "
                                                    "(unknown: no connection or no data)"})
    health_score = _number()
    uptime = _uptime()
    connections = fields.Integer(metadata={"description": "enabled connections"})
    connected = fields.Integer(metadata={"description": "of which with data in the window"})
    healthy = fields.Integer(metadata={"description": "of which healthy"})
    success_rate = _number()
    error_count = _number()
    observations = _number()
    response_time_ms = _number()
    p95_response_time_ms = _number()
    connection_health = fields.List(fields.Nested(ReportConnection),
                                    metadata={"description": "not in the summary"})


class HealthReportOut(Schema):
    """The product documents' health answer."""

    status = fields.String(metadata={"description": "the worst of the parts listed"})
    health_score = _number()
    services = fields.Dict(keys=fields.String(), values=fields.Nested(ReportService))
    connected_count = fields.Integer(metadata={"description": "integrations with at least one "
                                                              "connection with data in the window"})
    healthy_count = fields.Integer(metadata={"description": "healthy integrations"})
    total_services = fields.Integer(metadata={"description": "integrations listed"})
    timestamp = fields.String(metadata={"description": "ISO-8601, UTC"})
    version = fields.String(metadata={"description": "ATOM's version"})
    window_s = _number()


class AnalyticsOut(Schema):
    hours = fields.Integer()
    integration = fields.String(allow_none=True)
    connection_id = fields.Integer(allow_none=True)
    generated_at = fields.String()
    buckets = fields.List(fields.Dict(), metadata={"description": "one per hour, oldest first"})


class SystemOut(Schema):
    host = fields.Dict()
    process = fields.Dict()


class RoundOut(Schema):
    started_at = fields.String()
    duration_s = _number()
    checked = fields.Integer()
    failed = fields.Integer()
    results = fields.List(fields.Dict())
    alerts = fields.Dict(metadata={"description": "alert ids by event: opened, escalated, "
                                                  "deescalated, resolved, flapping, settled, "
                                                  "suppressed, unsuppressed"})


class ThresholdsOut(Schema):
    thresholds = fields.Dict(keys=fields.String(), values=fields.Raw())
    defaults = fields.Dict(keys=fields.String(), values=fields.Raw())


class AlertOut(Schema):
    id = fields.Integer()
    rule = fields.String()
    severity = fields.String()
    status = fields.String()
    subject = fields.String()
    integration = fields.String(allow_none=True)
    connection_id = fields.Integer(allow_none=True)
    workflow_id = fields.Integer(allow_none=True)
    message = fields.String()
    value = _number()
    threshold = _number()
    count = fields.Integer()
    created_at = fields.String(allow_none=True)
    last_seen_at = fields.String(allow_none=True)
    acknowledged_at = fields.String(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    escalated_at = fields.String(allow_none=True)
    suppressed_by = fields.Integer(allow_none=True, metadata={
        "description": "the alert of the parent that is down, while status is suppressed"})
    incident_id = fields.Integer(allow_none=True)
    flapping = fields.Boolean(metadata={"description": "notifications held until it settles"})
    notifications = fields.List(fields.Dict(), metadata={"description": "one alert only"})


class AlertList(PageOut):
    alerts = fields.List(fields.Nested(AlertOut))
    count = fields.Integer(metadata={"description": "alerts on this page"})


class ChannelOut(Schema):
    id = fields.Integer()
    name = fields.String()
    connection_id = fields.Integer()
    target = fields.String(allow_none=True)
    min_severity = fields.String()
    enabled = fields.Boolean()
    created_at = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)


class ChannelList(CountedPageOut):
    channels = fields.List(fields.Nested(ChannelOut))


class ChannelTestOut(Schema):
    ok = fields.Boolean()
    error_class = fields.String(allow_none=True)
    message = fields.String(allow_none=True)


class MaintenanceOut(Schema):
    id = fields.Integer()
    connection_id = fields.Integer()
    starts_at = fields.String()
    ends_at = fields.String()
    reason = fields.String(allow_none=True)
    active = fields.Boolean()
    created_by = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)


class MaintenanceList(CountedPageOut):
    windows = fields.List(fields.Nested(MaintenanceOut))
