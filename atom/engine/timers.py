"""Durable timers: executions parked on a long wait hold no thread, and wake from the database.

A ``wait`` step, or a retry backoff, longer than ``DURABLE_WAIT_S`` seconds parks its execution
(:meth:`atom.engine.runner.ExecutionRun._park`): its step rows, one ``execution_timers`` row
per pending wake-up (execution, step, ``due_at``, ``wait`` | ``retry``) and the status
``waiting`` (no owner) are committed together, and the orchestrator thread returns. A
``waiting`` execution is neither final nor active: recovery leaves it alone.

The scheduler (one process of the deployment) runs :func:`fire_due_timers` every
``TIMER_TICK_S``: it takes the waiting executions whose earliest timer is due back to ``queued``
by compare-and-set on the status (owned by this process's engine) and enqueues them
(:meth:`Engine.enqueue`: the thread pool, or the broker under Celery). The run resumes from its
step rows: finished steps keep their outputs, the waited step completes (a wait counts from
when it first started), a retry runs its next attempt; timers not yet due are held again. As
timers are rows, a restart loses none of them.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import func
from sqlalchemy import update

from atom.engine.definition import load_definition
from atom.engine.states import ExecutionStatus
from atom.engine.states import StepStatus
from atom.extensions import db
from atom.models import Execution
from atom.models import ExecutionTimer
from atom.models import StepRun
from atom.models import WorkflowVersion
from atom.models.base import utcnow

logger = logging.getLogger(__name__)

TIMER_TABLE = ExecutionTimer.__table__


def waiting_until(execution_id: int) -> datetime | None:
    """When a waiting execution's earliest timer is due (None: it has none)."""
    return db.session.execute(db.select(func.min(ExecutionTimer.due_at))
                              .where(ExecutionTimer.execution_id == execution_id)).scalar()


def cancel_waiting(execution_id: int) -> bool:
    """End a ``waiting`` execution as cancelled, at once (compare-and-set on its status): its
    parked steps end ``cancelled`` and its timers go. Return whether it was waiting."""
    now = utcnow()
    table = Execution.__table__
    result = db.session.execute(
        update(table).where(table.c.id == execution_id, table.c.status == ExecutionStatus.WAITING)
        .values(status=ExecutionStatus.CANCELLED, error="cancelled on request", finished_at=now))
    if result.rowcount != 1:
        db.session.commit()
        return False
    steps = StepRun.__table__
    db.session.execute(update(steps).where(
        steps.c.execution_id == execution_id, steps.c.status == StepStatus.RUNNING).values(
        status=StepStatus.CANCELLED, finished_at=now, error="execution cancelled"))
    # The steps not started end cancelled too, as the runner ends them on a cancel.
    raw = db.session.execute(
        db.select(WorkflowVersion.definition).join(
            table, (table.c.workflow_id == WorkflowVersion.workflow_id)
            & (table.c.version == WorkflowVersion.version))
        .where(table.c.id == execution_id)).scalar()
    if raw is not None:
        have = set(db.session.execute(db.select(steps.c.step_id)
                                      .where(steps.c.execution_id == execution_id)).scalars())
        unstarted = [{"execution_id": execution_id, "step_id": step.id, "step_type": step.type,
                      "status": StepStatus.CANCELLED, "attempt": 0, "finished_at": now,
                      "error": "execution cancelled"}
                     for step in load_definition(raw).steps if step.id not in have]
        if unstarted:
            db.session.execute(steps.insert(), unstarted)
    db.session.execute(TIMER_TABLE.delete().where(TIMER_TABLE.c.execution_id == execution_id))
    db.session.commit()
    return True


def take_due(owner: str, limit: int, now: datetime | None = None) -> list[int]:
    """Move the waiting executions whose earliest timer is due (the most overdue first, at
    most ``limit``) to ``queued``, owned by ``owner``; return their ids. Their timer rows stay
    until the run replaces them (it reads the ones not yet due)."""
    now = now or utcnow()
    table = Execution.__table__
    due = db.session.execute(
        db.select(TIMER_TABLE.c.execution_id)
        .join(table, table.c.id == TIMER_TABLE.c.execution_id)
        .where(table.c.status == ExecutionStatus.WAITING)
        .group_by(TIMER_TABLE.c.execution_id)
        .having(func.min(TIMER_TABLE.c.due_at) <= now)
        .order_by(func.min(TIMER_TABLE.c.due_at))
        .limit(limit)).scalars().all()
    if not due:
        db.session.commit()
        return []
    taken = db.session.execute(
        update(table).where(table.c.id.in_(due), table.c.status == ExecutionStatus.WAITING)
        .values(status=ExecutionStatus.QUEUED, claimed_by=owner, heartbeat_at=now)
        .returning(table.c.id)).scalars().all()
    db.session.commit()
    return sorted(taken)


def fire_due_timers(app: Flask) -> int:
    """The scheduler's timer job (``engine:timers``, every ``TIMER_TICK_S``): queue the waiting
    executions whose timer is due; return how many."""
    from atom.engine import get_engine

    engine = get_engine(app)
    with app.app_context():
        try:
            ids = take_due(engine.owner, int(app.config.get("TIMER_MAX_PER_TICK", 1000)))
        finally:
            db.session.remove()
    for execution_id in ids:
        try:
            engine.enqueue(execution_id)
        except Exception:  # left queued and owned by this engine: recovery resumes it
            logger.exception("could not enqueue execution %s after its timer", execution_id)
    if ids:
        logger.info("timers woke %d execution(s)", len(ids))
    return len(ids)


def timer_jobs(app: Flask) -> list[Any]:
    """Scheduler provider: the timer job."""
    from atom.scheduler import JobSpec

    return [JobSpec(id="engine:timers", func=fire_due_timers, trigger="interval",
                    trigger_args={"seconds": float(app.config.get("TIMER_TICK_S", 1.0))},
                    kwargs={"app": app})]
