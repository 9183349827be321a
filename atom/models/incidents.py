"""Incidents (active alerts grouped), their notifications, escalation policies and silences."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.extensions import db
from atom.models.base import utcnow

INCIDENT_STATUSES = ("open", "acknowledged", "resolved")


class Incident(db.Model):
    """Active alerts sharing a group key (``integration=http|host=api.example.com``).

    ``status`` is ``open`` while any of its alerts is active (``acknowledged`` is derived: no
    alert of it is still open) and ``resolved`` once every one of them is.
    """

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(300))
    # The group key while the incident is open, NULL once resolved: the unique constraint keeps
    # one open incident per group in every process.
    active_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    integration: Mapped[str | None] = mapped_column(String(64), index=True)
    host: Mapped[str | None] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the notifiable content (firing alerts and their severities) last changed, and its
    # fingerprint.
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    # Delivery state: when a message last went out, the escalation level reached (-1: none
    # yet), whether the resolution was told, and a counter claimed by a conditional UPDATE so
    # two processes never send the same message.
    notified_at: Mapped[datetime | None]
    level: Mapped[int] = mapped_column(default=-1)
    resolved_notified: Mapped[bool] = mapped_column(default=False)
    notify_seq: Mapped[int] = mapped_column(default=0)


class IncidentNotification(db.Model):
    """One message about an incident to one channel: sent or failed."""

    __tablename__ = "incident_notifications"
    __table_args__ = (Index("ix_incident_notifications_channel_ts", "channel_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"),
                                             index=True)
    # No foreign key: the history outlives a deleted channel.
    channel_id: Mapped[int]
    # firing | updated | reminder | escalated | resolved
    event: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(default=0)
    firing: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16))
    error_class: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EscalationPolicy(db.Model):
    """Who hears of an incident and when: ``levels`` ``[{"delay_s", "channel_ids"}]`` with
    increasing delays, for the incidents its ``matcher`` selects (empty: every incident)."""

    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    matcher: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    repeat_interval_s: Mapped[float | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Silence(db.Model):
    """While ``starts_at <= now < ends_at`` alerts its matcher selects are not notified."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    matcher: Mapped[dict[str, Any]] = mapped_column(JSON)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    comment: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    expired_by: Mapped[str | None] = mapped_column(String(200))
