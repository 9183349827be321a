"""Per-workflow health (enhanced monitoring): the workflows under watch, their figures over a
window, a 0-100 score, and their alerts through the monitoring machinery.

A monitored workflow's figures come from its newest executions (at most :data:`RECENT`) that
finished in the window: executions, succeeded, failed, success rate, duration p50/p95 and the
failure classes (the error class of the step whose failure ended each failed run). Its score
is :func:`atom.monitoring.score.health_score` with the workflow's success rate and its
consecutive failed runs in place of a connection's success rate and failed checks (no
response-time penalty: a workflow's duration is its own business, its waits included), so the
same thresholds give the same statuses. Every monitoring round evaluates the monitored
workflows (:func:`alert_findings`, a source the monitor passes to
:func:`atom.monitoring.alerts.evaluate`) with the ``health_score`` rule on the subject
``workflow:<id>``: alerts open, escalate, resolve and notify exactly as a connection's do.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import Any

from flask import Flask

from atom.extensions import db
from atom.intelligence import enabled
from atom.intelligence import history
from atom.models import Alert
from atom.models import Workflow
from atom.models.base import isoformat
from atom.models.intelligence import WorkflowMonitor
from atom.monitoring import score as scoring
from atom.monitoring import thresholds
from atom.monitoring.findings import Finding
from atom.monitoring.findings import Subject
from atom.monitoring.findings import level

if TYPE_CHECKING:
    from atom.monitoring.metrics import Snapshot

COMPONENT = "monitoring"
RULE = "health_score"
DEFAULT_WINDOW_S = 86_400.0
RECENT = 100
MAX_EXECUTIONS = 20_000  # read for /metrics at most


def _workflow(workflow_id: int) -> Workflow:
    workflow = db.session.get(Workflow, workflow_id)
    if workflow is None or workflow.deleted_at is not None:
        raise LookupError(f"no workflow {workflow_id}")
    return workflow


def monitor_of(workflow_id: int) -> WorkflowMonitor | None:
    return db.session.scalars(db.select(WorkflowMonitor).filter_by(workflow_id=workflow_id)).first()


def start(workflow_id: int, actor: str) -> tuple[WorkflowMonitor, bool]:
    """Put a workflow under monitoring; (its monitor, whether it is new).

    :raises LookupError: no such workflow.
    """
    from atom.models.audit import record

    _workflow(workflow_id)
    existing = monitor_of(workflow_id)
    if existing is not None:
        return existing, False
    monitor = WorkflowMonitor(workflow_id=workflow_id, started_by=actor)
    db.session.add(monitor)
    record(actor, "workflow.monitoring.start", f"workflow:{workflow_id}")
    db.session.commit()
    return monitor, True


def stop(workflow_id: int, actor: str, now: datetime) -> tuple[bool, list[int]]:
    """Stop monitoring a workflow and resolve its open health alert; (whether it was
    monitored, the ids of the alerts resolved).

    :raises LookupError: no such workflow.
    """
    from atom.models.audit import record
    from atom.monitoring import alerts

    _workflow(workflow_id)
    monitor = monitor_of(workflow_id)
    if monitor is None:
        return False, []
    db.session.delete(monitor)
    record(actor, "workflow.monitoring.stop", f"workflow:{workflow_id}")
    db.session.commit()
    resolved = []
    for alert in _open_alerts(workflow_id, RULE):
        alerts.resolve(alert, actor, now)
        resolved.append(alert.id)
    return True, resolved


def _open_alerts(workflow_id: int, rule: str | None = None) -> list[Alert]:
    stmt = db.select(Alert).where(Alert.workflow_id == workflow_id, Alert.status != "resolved")
    if rule:
        stmt = stmt.where(Alert.rule == rule)
    return list(db.session.scalars(stmt.order_by(Alert.id)))


def failure_class(ex: history.ExecutionRecord) -> str:
    """The error class of the step whose failure ended a failed run (the first to fail)."""
    failed = [s for s in ex.steps.values() if s.status == "failed"]
    if not failed:
        return "unknown"
    first = min(failed, key=lambda s: (s.finished_at or datetime.max))
    return first.error_class or "unknown"


def figures(records: list[history.ExecutionRecord]) -> dict[str, Any]:
    """Executions, outcomes, failure classes and duration percentiles of some executions."""
    finished = [r for r in records if r.status in ("succeeded", "failed")]
    succeeded = sum(1 for r in finished if r.status == "succeeded")
    durations = [r.duration_ms for r in records if r.duration_ms is not None]
    classes = Counter(failure_class(r) for r in finished if r.status == "failed")

    def pct(q: float) -> float | None:
        value = history.percentile(durations, q)
        return None if value is None else round(value, 1)

    return {"executions": len(records), "succeeded": succeeded,
            "failed": len(finished) - succeeded,
            "cancelled": sum(1 for r in records if r.status == "cancelled"),
            "success_rate": round(succeeded / len(finished), 4) if finished else None,
            "duration_ms": {"p50": pct(50), "p90": pct(90), "p95": pct(95), "p99": pct(99)},
            "failure_classes": dict(classes.most_common())}


def _recent(workflow_id: int, now: datetime, window_s: float) -> list[history.ExecutionRecord]:
    since = now - timedelta(seconds=window_s)
    return [r for r in history.executions(workflow_id, since=since, limit=RECENT)
            if r.finished_at is None or r.finished_at <= now]


def assess(workflow: Workflow, now: datetime, window_s: float,
           th: dict[str, float]) -> dict[str, Any]:
    """A workflow's health over the window: figures, consecutive failures, score, status."""
    records = _recent(workflow.id, now, window_s)
    out = figures(records)
    streak = 0
    for r in records:  # newest first
        if r.status == "failed":
            streak += 1
        elif r.status == "succeeded":
            break
    score = scoring.health_score(out["success_rate"], None, streak, th) \
        if out["success_rate"] is not None else None
    out.update({"workflow_id": workflow.id, "name": workflow.name, "window_s": window_s,
                "since": isoformat(now - timedelta(seconds=window_s)), "until": isoformat(now),
                "consecutive_failures": streak, "score": score,
                "status": scoring.status_of(score, th),
                "execution_ids": [r.id for r in records[:10]]})
    return out


def present_monitor(monitor: WorkflowMonitor, workflow: Workflow, now: datetime,
                    window_s: float, th: dict[str, float]) -> dict[str, Any]:
    from atom.monitoring.presentation import present_alert

    body = assess(workflow, now, window_s, th)
    body.update({"monitoring": True, "monitored_since": isoformat(monitor.started_at),
                 "started_by": monitor.started_by,
                 "alerts": [present_alert(a) for a in _open_alerts(workflow.id)]})
    return body


def health(app: Flask, now: datetime, window_s: float = DEFAULT_WINDOW_S) -> list[dict[str, Any]]:
    """Each monitored workflow's health (oldest monitor first)."""
    th = thresholds.current(app)
    rows = db.session.execute(
        db.select(WorkflowMonitor, Workflow)
        .join(Workflow, Workflow.id == WorkflowMonitor.workflow_id)
        .where(Workflow.deleted_at.is_(None)).order_by(WorkflowMonitor.id)).all()
    return [present_monitor(m, w, now, window_s, th) for m, w in rows]


def metrics(now: datetime, window_s: float) -> dict[str, Any]:
    """Figures over the window, per workflow (those with executions in it) and in total."""
    since = now - timedelta(seconds=window_s)
    records = [r for r in history.executions(None, since=since, limit=MAX_EXECUTIONS)
               if r.finished_at is None or r.finished_at <= now]
    by_wf: dict[int, list[history.ExecutionRecord]] = {}
    for r in records:
        by_wf.setdefault(r.workflow_id, []).append(r)
    names = dict(db.session.execute(db.select(Workflow.id, Workflow.name)
                                    .where(Workflow.id.in_(list(by_wf)))).all())
    monitored = set(db.session.scalars(db.select(WorkflowMonitor.workflow_id)))
    per = [{"workflow_id": wf, "name": names.get(wf), "monitored": wf in monitored,
            **figures(rows)} for wf, rows in sorted(by_wf.items())]
    return {"window_s": window_s, "since": isoformat(since), "until": isoformat(now),
            "total": figures(records), "workflows": per,
            "truncated": len(records) >= MAX_EXECUTIONS}


def findings(app: Flask, now: datetime, th: dict[str, float], min_observations: int,
             window_s: float = DEFAULT_WINDOW_S) -> dict[Subject, Finding]:
    """The ``health_score`` finding of each monitored workflow with at least
    ``min_observations`` finished executions in the window, for the alert rules."""
    if not enabled(COMPONENT, app):
        return {}
    out: dict[Subject, Finding] = {}
    rows = db.session.execute(
        db.select(Workflow).join(WorkflowMonitor, Workflow.id == WorkflowMonitor.workflow_id)
        .where(Workflow.deleted_at.is_(None))).scalars()
    warn, crit = th["health_score_warning"], th["health_score_critical"]
    for workflow in rows:
        h = assess(workflow, now, window_s, th)
        finished = h["succeeded"] + h["failed"]
        if finished < min_observations or h["score"] is None:
            continue
        sev = level(h["score"], warn, crit, False)
        classes = ", ".join(f"{c} {n}" for c, n in h["failure_classes"].items()) or "none"
        subject = Subject(f"workflow:{workflow.id}", workflow.name, workflow_id=workflow.id)
        out[subject] = Finding(
            sev, h["score"], crit if sev == "critical" else warn,
            f"workflow health score {h['score']:.0f}: {h['succeeded']} of {finished} "
            f"executions succeeded, {h['consecutive_failures']} failed in a row "
            f"(failure classes: {classes}; newest: {h['execution_ids'][:3]})")
    return out


def alert_findings(app: Flask, snap: Snapshot,
                   min_observations: int) -> dict[Subject, dict[str, Finding]]:
    """:func:`findings` as a source of the alert rules (``alerts.FindingSource``): the
    monitor hands it to every evaluation."""
    return {subject: {RULE: finding}
            for subject, finding in findings(app, snap.now, snap.thresholds,
                                             min_observations).items()}


def status(app: Flask) -> dict[str, Any]:
    """For ``GET /workflows/enhanced/status``."""
    with app.app_context():
        monitored = db.session.scalar(db.select(db.func.count()).select_from(WorkflowMonitor))
        open_alerts = db.session.scalar(
            db.select(db.func.count()).select_from(Alert)
            .where(Alert.rule == RULE, Alert.subject.like("workflow:%"),
                   Alert.status != "resolved"))
    return {"model": "health score of atom.monitoring.score over each monitored workflow's "
                     "newest executions",
            "version": "workflow-health-1", "trained_at": None,
            "trained_on": None,
            "details": {"monitored_workflows": monitored, "open_alerts": open_alerts,
                        "window_s": DEFAULT_WINDOW_S, "recent_executions": RECENT,
                        "rule": RULE}}
