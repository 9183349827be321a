"""Monitoring dependencies declared by people (those derived from workflow definitions and
shared hosts are computed, not stored): while ``parent`` is down, ``subject``'s alerts are
suppressed (atom.monitoring.suppression)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.extensions import db
from atom.models.base import utcnow


class MonitoringDependency(db.Model):
    """``subject`` (``connection:<id>``, ``workflow:<id>``) depends on ``parent``
    (``connection:<id>``, ``host:<host>``, ``integration:<slug>``)."""

    __tablename__ = "monitoring_dependencies"
    __table_args__ = (UniqueConstraint("subject", "parent", name="uq_monitoring_dependencies"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    parent: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
