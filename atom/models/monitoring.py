"""Monitoring: health-check samples, hourly roll-ups, thresholds, alerts, channels, maintenance."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.extensions import db
from atom.models.base import utcnow

SEVERITIES = ("warning", "critical")
# "suppressed": active, but its subject depends on something whose own alert is open
# (``suppressed_by``); it is not notified and resumes when that parent recovers.
ALERT_STATUSES = ("open", "acknowledged", "suppressed", "resolved")


class HealthSample(db.Model):
    """One health check: written by ``ConnectionRuntime.test`` (through its listener)."""

    __tablename__ = "health_samples"
    __table_args__ = (
        Index("ix_health_samples_connection_ts", "connection_id", "ts"),
        Index("ix_health_samples_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ts: Mapped[datetime]
    # No foreign key: samples outlive a deleted connection until retention prunes them.
    connection_id: Mapped[int]
    integration: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool]
    latency_ms: Mapped[float]
    error_class: Mapped[str | None] = mapped_column(String(32))
    # Whether the check's HTTP call is also in call_records (it is not when the check was cut
    # off at its timeout, or the plugin failed before calling): metrics count each check once.
    has_call: Mapped[bool] = mapped_column(default=True)


class MetricRollup(db.Model):
    """One hour of one connection's calls (``source="call"``) or checks (``"check"``)."""

    __tablename__ = "metric_rollups"
    __table_args__ = (
        Index("ix_metric_rollups_source_bucket", "source", "bucket"),
        Index("ix_metric_rollups_connection_bucket", "connection_id", "bucket"),
        # Covering: uptime sums a connection's check roll-ups from the index alone (0010).
        Index("ix_metric_rollups_uptime", "source", "connection_id", "bucket", "count",
              "error_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    bucket: Mapped[datetime]
    integration: Mapped[str] = mapped_column(String(64))
    connection_id: Mapped[int | None]
    count: Mapped[int]
    error_count: Mapped[int]
    latency_sum_ms: Mapped[float]
    latency_max_ms: Mapped[float]
    p50_ms: Mapped[float]
    p95_ms: Mapped[float]


class ThresholdSetting(db.Model):
    """A threshold changed through the API; absent names use the configured default."""

    __tablename__ = "monitoring_thresholds"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="system")


class Alert(db.Model):
    """An alert about one subject (``connection:7``, ``workflow:3``) raised by one rule."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_severity", "status", "severity"),
        Index("ix_alerts_integration", "integration"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    # "<rule>:<subject>" while the alert is open or acknowledged, NULL once resolved: the unique
    # constraint keeps one active alert per subject and rule, in every process.
    dedup_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    integration: Mapped[str | None] = mapped_column(String(64))
    connection_id: Mapped[int | None]
    workflow_id: Mapped[int | None]
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    message: Mapped[str] = mapped_column(String(500))
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    count: Mapped[int] = mapped_column(default=1)
    # Consecutive evaluations in which the rule found the subject fine again.
    ok_streak: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    escalated_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    # The upstream host of the subject's connection (grouping and host dependencies).
    host: Mapped[str | None] = mapped_column(String(255))
    # The incident this alert belongs to (atom.monitoring.incidents).
    incident_id: Mapped[int | None] = mapped_column(index=True)
    # The parent alert whose subject this one depends on, while status is "suppressed".
    suppressed_by: Mapped[int | None]
    # The subject changes state too often: notifications are held until it settles.
    flapping: Mapped[bool] = mapped_column(default=False)


class AlertState(db.Model):
    """The streaks of one rule and subject (``key`` = the alert's ``dedup_key``), kept between
    evaluations in every process: bad evaluations in a row (``pending_severity`` the worst of
    them, ``since`` the first) before an alert opens, good ones before it resolves, and
    evaluations at a lower severity before a critical alert de-escalates.

    Two other kinds of row share the table: ``flapping:connection:<id>`` exists while that
    connection is flapping (``since`` when it began), and ``evaluation`` holds the time of the
    latest evaluation (``updated_at``), where the next one's fresh evidence starts.
    """

    __tablename__ = "alert_states"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    bad_streak: Mapped[int] = mapped_column(default=0)
    good_streak: Mapped[int] = mapped_column(default=0)
    # Evaluations in a row at a lower severity than the active alert's (de-escalation).
    lower_streak: Mapped[int] = mapped_column(default=0)
    pending_severity: Mapped[str | None] = mapped_column(String(16))
    since: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationChannel(db.Model):
    """Where alerts are sent: a connection whose integration can post messages (``notify``)."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"),
                                               index=True)
    # The integration's channel argument: a Slack channel, a path under an http base URL.
    target: Mapped[str | None] = mapped_column(String(200))
    min_severity: Mapped[str] = mapped_column(String(16), default="warning")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")


class AlertNotification(db.Model):
    """One attempt to tell a channel about an alert: sent, failed or throttled."""

    __tablename__ = "alert_notifications"
    __table_args__ = (Index("ix_alert_notifications_channel_ts", "channel_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id",
                                                       ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    error_class: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MaintenanceWindow(db.Model):
    """While ``starts_at <= now < ends_at`` the connection raises no alerts or notifications."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"),
                                               index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
