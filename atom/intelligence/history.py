"""What the intelligence learns from: a workflow's executions and step runs (every attempt), and
each integration's health now or at a moment in the past.

Read-only, a few queries each; every figure handed out can be cited (ids, counts, times), so
findings and diagnoses built on it name the data they came from.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Iterable

import numpy as np
from flask import Flask
from flask import current_app

from atom.engine.states import FINISHED
from atom.extensions import db
from atom.models import CallRecord
from atom.models import Execution
from atom.models import HealthSample
from atom.models import StepRun
from atom.models import WorkflowVersion
from atom.monitoring import score as scoring
from atom.monitoring import thresholds



@dataclass(frozen=True)
class Attempt:
    attempt: int
    status: str
    duration_ms: float | None
    error_class: str | None
    error: str | None


@dataclass(frozen=True)
class StepRecord:
    step_id: str
    step_type: str
    status: str  # succeeded, failed, skipped, cancelled, running, ...
    duration_ms: float | None
    started_at: datetime | None
    finished_at: datetime | None
    error_class: str | None
    error: str | None
    attempts: tuple[Attempt, ...]  # every finished attempt, oldest first
    fallback: Any = None


@dataclass(frozen=True)
class ExecutionRecord:
    id: int
    workflow_id: int
    version: int
    status: str
    trigger_type: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    steps: dict[str, StepRecord]

    @property
    def duration_ms(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds() * 1000.0
        return None


def percentile(values: Iterable[float], q: float) -> float | None:
    data = [v for v in values if v is not None]
    return float(np.percentile(np.asarray(data, dtype=float), q)) if data else None


def _attempts(row: Any) -> tuple[Attempt, ...]:
    out = [Attempt(int(a.get("attempt") or 0), str(a.get("status")), a.get("duration_ms"),
                   a.get("error_class"), a.get("error"))
           for a in (row.attempts or []) if isinstance(a, dict)]
    if row.status in ("succeeded", "failed") and not (out and out[-1].attempt == row.attempt):
        out.append(Attempt(row.attempt, row.status, row.duration_ms, row.error_class,
                           row.error if row.error_class else None))
    return tuple(out)


def executions(workflow_id: int | None = None, *, ids: Iterable[int] | None = None,
               since: datetime | None = None, version: int | None = None, limit: int = 1000,
               finished_only: bool = True) -> list[ExecutionRecord]:
    """Executions (newest first) with their step runs: of one workflow, or the given ids."""
    stmt = db.select(Execution).order_by(Execution.id.desc()).limit(limit)
    if workflow_id is not None:
        stmt = stmt.where(Execution.workflow_id == workflow_id)
    if ids is not None:
        stmt = stmt.where(Execution.id.in_(list(ids)))
    if since is not None:
        stmt = stmt.where(Execution.created_at >= since)
    if version is not None:
        stmt = stmt.where(Execution.version == version)
    if finished_only:
        stmt = stmt.where(Execution.status.in_(FINISHED))
    rows = db.session.scalars(stmt).all()
    steps: dict[int, dict[str, StepRecord]] = {r.id: {} for r in rows}
    if rows:
        for s in db.session.scalars(db.select(StepRun).where(
                StepRun.execution_id.in_(list(steps))).order_by(StepRun.id)):
            steps[s.execution_id][s.step_id] = StepRecord(
                s.step_id, s.step_type, s.status, s.duration_ms, s.started_at, s.finished_at,
                s.error_class, s.error, _attempts(s), s.fallback)
    return [ExecutionRecord(r.id, r.workflow_id, r.version, r.status, r.trigger_type,
                            r.created_at, r.started_at, r.finished_at, r.error, steps[r.id])
            for r in rows]


@dataclass
class StepStats:
    """One step over many executions."""

    runs: int = 0  # executions in which the step ran (not skipped)
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    attempts: int = 0  # attempts over all runs
    failed_attempts: int = 0
    retried_runs: int = 0  # runs that needed more than one attempt
    error_classes: Counter = field(default_factory=Counter)  # over failed attempts
    durations: list[float] = field(default_factory=list)  # of finished runs, ms
    execution_ids: list[int] = field(default_factory=list)  # where it ran, newest first

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.runs if self.runs else None

    @property
    def attempt_failure_rate(self) -> float | None:
        return self.failed_attempts / self.attempts if self.attempts else None

    def p(self, q: float) -> float | None:
        return percentile(self.durations, q)


def step_stats(records: Iterable[ExecutionRecord]) -> dict[str, StepStats]:
    """Each step's figures over ``records``; the item runs of a foreach's inner step are one
    entry under its path (``loop[*].call``: every item's run counts as a run)."""
    from atom.engine.definition import run_path

    out: dict[str, StepStats] = {}
    for ex in records:
        for run_id, step in ex.steps.items():
            sid = run_path(run_id)
            st = out.setdefault(sid, StepStats())
            if step.status == "skipped":
                st.skipped += 1
                continue
            if step.status not in ("succeeded", "failed"):
                continue
            st.runs += 1
            if not st.execution_ids or st.execution_ids[-1] != ex.id:
                st.execution_ids.append(ex.id)
            st.succeeded += step.status == "succeeded"
            st.failed += step.status == "failed"
            st.attempts += len(step.attempts) or 1
            st.retried_runs += len(step.attempts) > 1
            for a in step.attempts:
                if a.status == "failed":
                    st.failed_attempts += 1
                    st.error_classes[a.error_class or "unknown"] += 1
            if step.duration_ms is not None:
                st.durations.append(step.duration_ms)
    return out


def definition(workflow_id: int, version: int) -> dict[str, Any] | None:
    return db.session.execute(db.select(WorkflowVersion.definition).filter_by(
        workflow_id=workflow_id, version=version)).scalar_one_or_none()


@dataclass(frozen=True)
class Health:
    """An integration's health over a window: from its health checks and its calls."""

    integration: str
    since: datetime
    until: datetime
    checks: int
    checks_failed: int
    calls: int
    calls_failed: int
    success_rate: float | None
    p95_ms: float | None
    score: float | None
    status: str  # healthy, degraded, unhealthy, unknown
    error_classes: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"integration": self.integration, "since": self.since.isoformat() + "Z",
                "until": self.until.isoformat() + "Z", "checks": self.checks,
                "checks_failed": self.checks_failed, "calls": self.calls,
                "calls_failed": self.calls_failed,
                "success_rate": None if self.success_rate is None else round(self.success_rate, 4),
                "p95_ms": None if self.p95_ms is None else round(self.p95_ms, 1),
                "score": self.score, "status": self.status, "error_classes": self.error_classes}


def health(integration: str, at: datetime | None = None, window_s: float | None = None,
           app: Flask | None = None, exclude_connection: int | None = None) -> Health:
    """``integration``'s health in the ``window_s`` (default ``MONITORING_WINDOW_S``) before
    ``at`` (default now), from health checks and calls (``exclude_connection``: leave out one
    connection's calls, to ask whether the service failed for everyone or only for it)."""
    from atom.models.base import utcnow

    app = app or current_app
    until = at or utcnow()
    since = until - timedelta(seconds=float(window_s or app.config["MONITORING_WINDOW_S"]))
    checks = db.session.execute(
        db.select(HealthSample.ok, HealthSample.latency_ms, HealthSample.error_class)
        .where(HealthSample.integration == integration, HealthSample.ts >= since,
               HealthSample.ts <= until).order_by(HealthSample.ts)).all()
    stmt = db.select(CallRecord.ok, CallRecord.latency_ms, CallRecord.error_class).where(
        CallRecord.integration == integration, CallRecord.ts >= since, CallRecord.ts <= until)
    if exclude_connection is not None:
        stmt = stmt.where((CallRecord.connection_id != exclude_connection)
                          | CallRecord.connection_id.is_(None))
    calls = db.session.execute(stmt).all()
    rows = [*checks, *calls]
    ok = sum(1 for r in rows if r.ok)
    rate = ok / len(rows) if rows else None
    p95 = percentile([r.latency_ms for r in rows], 95)
    th = thresholds.current(app)
    failed_checks = sum(1 for r in checks if not r.ok)
    streak = 0
    for r in reversed(checks):
        if r.ok:
            break
        streak += 1
    score = scoring.health_score(rate, p95, streak, th)
    return Health(integration, since, until, len(checks), failed_checks, len(calls),
                  sum(1 for r in calls if not r.ok), rate, p95, score,
                  scoring.status_of(score, th),
                  dict(Counter(r.error_class or "unknown" for r in rows if not r.ok)))


def call_latencies(integration: str, since: datetime | None = None, until: datetime | None = None,
                   limit: int = 500) -> list[tuple[bool, float]]:
    """``integration``'s newest recorded calls (at most ``limit``, between ``since`` and
    ``until``) as ``(ok, latency_ms)``: a service's latency distribution where no step history
    exists."""
    stmt = db.select(CallRecord.ok, CallRecord.latency_ms).where(
        CallRecord.integration == integration).order_by(CallRecord.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(CallRecord.ts >= since)
    if until is not None:
        stmt = stmt.where(CallRecord.ts <= until)
    return [(bool(ok), float(ms)) for ok, ms in db.session.execute(stmt).all()]
