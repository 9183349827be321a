"""Workflows, their immutable versions, executions and step runs."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.engine.states import EXECUTION_STATUSES  # noqa: F401  (re-exported: one definition)
from atom.engine.states import FINISHED  # noqa: F401
from atom.engine.states import ExecutionStatus
from atom.extensions import db
from atom.models.base import utcnow



class Workflow(db.Model):
    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    # Denormalised from the current version's trigger, to find workflows by trigger quickly.
    trigger_type: Mapped[str] = mapped_column(String(16), index=True)
    trigger_service: Mapped[str | None] = mapped_column(String(64), index=True)
    trigger_event: Mapped[str | None] = mapped_column(String(120))
    webhook_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None]


class WorkflowVersion(db.Model):
    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version", name="uq_workflow_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")


class WorkflowService(db.Model):
    """A service a workflow's current version uses (its trigger's, its steps'): kept on every
    save so that ``services/status`` reads one small table instead of every definition."""
    __tablename__ = "workflow_services"

    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"),
                                             primary_key=True)
    service: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Execution(db.Model):
    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "idempotency_key", name="uq_execution_idempotency"),
        Index("ix_executions_workflow_created", "workflow_id", "created_at"),
        Index("ix_executions_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=ExecutionStatus.QUEUED.value)
    trigger_type: Mapped[str] = mapped_column(String(16), default="manual")
    trigger_payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id", ondelete="SET NULL"))
    depth: Mapped[int] = mapped_column(default=0)
    # The top execution of a chain of sub-workflows (None for a top execution itself): bounds
    # the total fan-out of one execution.
    root_id: Mapped[int | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # Which process runs it ("host:pid"), and when that process last said so.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    # Who started it (``key:<name>``, a user's email; None: a trigger): an approval step that
    # does not ``allow_self`` refuses this approver.
    started_by: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class WorkflowRunCount(db.Model):
    """How many top-level executions a workflow started in one second (``second``: Unix time).
    ``WORKFLOW_MAX_RUNS_PER_MINUTE`` sums a workflow's last 60 rows: the same small read and
    one upsert per start however busy the workflow is (counting its executions of the last
    minute read every one of them). Rows older than the window are pruned every minute."""

    __tablename__ = "workflow_run_counts"

    workflow_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    second: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0)


class ExecutionTimer(db.Model):
    """A durable timer: a parked (``waiting``) execution's step wakes at ``due_at``.

    ``kind`` is ``wait`` (a wait step), ``retry`` (a retry backoff) or ``approval`` (an
    approval step's timeout; a decision wakes it too, see atom/engine/approvals.py). The scheduler's timer
    job (:func:`atom.engine.timers.fire_due_timers`) takes an execution whose earliest timer
    is due back to ``queued`` and deletes its timers; the run then writes new ones if it parks
    again.
    """

    __tablename__ = "execution_timers"
    __table_args__ = (UniqueConstraint("execution_id", "step_id", name="uq_execution_timer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"),
                                              index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    # None: no due time (an approval without a timeout waits for its decision only).
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))


class ApprovalDecision(db.Model):
    """One approver's decision on an approval step: who, when, how (api, dashboard, link)."""

    __tablename__ = "approval_decisions"
    __table_args__ = (UniqueConstraint("execution_id", "step_id", "decided_by", name="uq_approval_decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"),
                                              index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    decided_by: Mapped[str] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(16))  # api | dashboard | link
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class StepRun(db.Model):
    """The state of one step of one execution; written when it starts and when it ends."""

    __tablename__ = "step_runs"
    __table_args__ = (UniqueConstraint("execution_id", "step_id", name="uq_step_run"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"),
                                              index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    step_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[float | None]
    input: Mapped[Any] = mapped_column(JSON, nullable=True)
    output: Mapped[Any] = mapped_column(JSON, nullable=True)
    error_class: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    # The attempts before the last one (the row itself holds the last), oldest first:
    # ``[{"attempt", "status", "started_at", "finished_at", "duration_ms", "error_class",
    # "error"}]``; None while a step has had one attempt.
    attempts: Mapped[Any] = mapped_column(JSON, nullable=True)
    # Set when a fallback ran instead of the step's primary service: ``{"step", "service",
    # "connection", "reason"}`` (the primary's circuit was open or its health critical).
    fallback: Mapped[Any] = mapped_column(JSON, nullable=True)


class ScheduleFire(db.Model):
    """One row per (workflow, cron fire time): the unique key makes each fire run once."""

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("workflow_id", "fire_time", name="uq_schedule_fire"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    fire_time: Mapped[datetime]
    execution_id: Mapped[int | None]
