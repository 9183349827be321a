"""Intelligence: trained model states, optimisation applications, troubleshooting sessions and
the workflows under enhanced monitoring."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.extensions import db
from atom.models.base import utcnow


class ModelState(db.Model):
    """One training of one model (``prediction``): what it learnt and how well it did on the
    history held back from it. The newest row of a component is the live model."""

    __tablename__ = "intelligence_models"
    __table_args__ = (Index("ix_intelligence_models_component", "component", "trained_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Executions (or other rows) the model learnt from, and how many were held back to score it.
    samples: Mapped[int] = mapped_column(default=0)
    held_back: Mapped[int] = mapped_column(default=0)
    # {"brier", "base_rate_brier", "calibration_error", ...} on the held-back history.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The fitted parameters (small: priors and per-service rates), JSON.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OptimisationApplication(db.Model):
    """Findings applied to a workflow as a new version, with the figures before, so the
    measured effect can be reported once executions of the new version exist."""

    __tablename__ = "optimisation_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"),
                                             index=True)
    from_version: Mapped[int]
    to_version: Mapped[int]
    strategy: Mapped[str] = mapped_column(String(16), default="hybrid")
    # The findings applied, as analyze reported them.
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The workflow's figures on from_version when applied: executions, success rate, p50/p95 ms.
    baseline: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")


class TroubleshootingSession(db.Model):
    """The analysis of a failed execution (or of a workflow's recent failures), and what was
    done about it."""

    __tablename__ = "troubleshooting_sessions"
    __table_args__ = (Index("ix_troubleshooting_sessions_workflow", "workflow_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id", ondelete="SET NULL"))
    # open (analysed), resolved (fixes applied and the re-run succeeded), failed (the re-run
    # failed), needs_person (only fixes a person must make).
    status: Mapped[str] = mapped_column(String(16), default="open")
    # {"failures": [...], "root_cause": {...}, "fixes": [...]}
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"applied": [fix ids], "version": n, "rerun_execution_id": id, ...}
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")


class WorkflowMonitor(db.Model):
    """A workflow under enhanced monitoring: its health is evaluated every round and its
    alerts go through the monitoring machinery."""

    __tablename__ = "workflow_monitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"),
                                             unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by: Mapped[str] = mapped_column(String(200), default="system")
