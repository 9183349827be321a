"""Execution analytics: counts, success rate and duration percentiles per workflow and step,
and the services the workflows use.

Everything is aggregated in SQL or read as bare numbers: the totals are ``GROUP BY`` counts,
durations are computed by the database, and the per-workflow detail is read only for the
workflows asked for (a page of them), so the cost follows the executions in the window, never
workflows times steps.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import func

from atom.engine.definition import run_path
from atom.extensions import db
from atom.models import Connection
from atom.models import Execution
from atom.models import StepRun
from atom.models import Workflow
from atom.models import WorkflowService
from atom.models.base import utcnow

ENDED = ("succeeded", "failed")


def _percentile(ordered: list[float], q: float) -> float:
    """numpy's default (linear) percentile of sorted values, without numpy's per-call cost
    (a page of analytics asks for a few hundred of them)."""
    position = q / 100.0 * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None}
    ordered = sorted(values)
    return {"p50_ms": round(_percentile(ordered, 50), 3),
            "p95_ms": round(_percentile(ordered, 95), 3)}


def _duration_ms() -> Any:
    """An execution's duration in milliseconds, computed by the database (null until both
    times are set)."""
    start, end = Execution.started_at, Execution.finished_at
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start) * 1000.0
    return (func.julianday(end) - func.julianday(start)) * 86_400_000.0


def _since(days: int) -> Any:
    return utcnow() - timedelta(days=days)


def analysed_workflows(days: int) -> Any:
    """The ids of the workflows with executions in the window (a select, for paging)."""
    return (db.select(Execution.workflow_id).where(Execution.created_at >= _since(days))
            .group_by(Execution.workflow_id))


def workflow_analytics(days: int = 30, workflow_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """The window's totals and, per workflow of ``workflow_ids`` (None: every workflow with
    executions in the window), its counts, success rate and percentiles, and its steps'."""
    since = _since(days)
    in_window = Execution.created_at >= since
    by_status = dict(db.session.execute(
        db.select(Execution.status, func.count()).where(in_window).group_by(Execution.status)).all())
    durations = db.session.scalars(
        db.select(_duration_ms()).where(in_window, Execution.started_at.is_not(None),
                                        Execution.finished_at.is_not(None))).all()
    failures = dict(db.session.execute(
        db.select(func.coalesce(StepRun.error_class, "unknown"), func.count())
        .join(Execution, Execution.id == StepRun.execution_id)
        .where(in_window, StepRun.status == "failed")
        .group_by(func.coalesce(StepRun.error_class, "unknown"))).all())
    ids = None if workflow_ids is None else sorted(set(workflow_ids))
    finished = sum(by_status.get(s, 0) for s in ENDED)
    return {
        "window_days": days,
        "executions": sum(by_status.values()),
        "success_rate": round(by_status.get("succeeded", 0) / finished, 4) if finished else None,
        **_percentiles([d for d in durations if d is not None]),
        "failures_by_error_class": failures,
        "workflows": [] if ids == [] else _per_workflow(since, ids),
    }


def _per_workflow(since: Any, ids: list[int] | None) -> list[dict[str, Any]]:
    in_window = Execution.created_at >= since
    chosen = [in_window] if ids is None else [in_window, Execution.workflow_id.in_(ids)]
    per_wf: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"statuses": defaultdict(int), "durations": [], "steps": {}})
    for wf_id, status, ms in db.session.execute(
            db.select(Execution.workflow_id, Execution.status, _duration_ms()).where(*chosen)):
        entry = per_wf[wf_id]
        entry["statuses"][status] += 1
        if status in ENDED and ms is not None:
            entry["durations"].append(ms)
    # The step runs of the chosen executions through the step runs' execution index (a join
    # filtered on the workflows would scan every step run).
    steps = (db.select(Execution.workflow_id, StepRun.step_id, StepRun.status, StepRun.duration_ms)
             .join(Execution, Execution.id == StepRun.execution_id))
    steps = steps.where(*chosen) if ids is None else steps.where(
        StepRun.execution_id.in_(db.select(Execution.id).where(*chosen)))
    for wf_id, step_id, status, duration_ms in db.session.execute(steps):
        # The item runs of a foreach's inner step are one entry (``loop[*]``, ``loop[*].call``).
        step = per_wf[wf_id]["steps"].setdefault(run_path(step_id),
                                                 {"runs": 0, "failed": 0, "durations": []})
        step["runs"] += 1
        if status == "failed":
            step["failed"] += 1
        if duration_ms is not None and status in ENDED:
            step["durations"].append(duration_ms)
    names = dict(db.session.execute(db.select(Workflow.id, Workflow.name)
                                    .where(Workflow.id.in_(list(per_wf)))).all())
    workflows = []
    for wf_id, entry in sorted(per_wf.items()):
        statuses = entry["statuses"]
        finished = statuses["succeeded"] + statuses["failed"]
        workflows.append({
            "workflow_id": wf_id, "name": names.get(wf_id),
            "executions": sum(statuses.values()),
            "by_status": dict(statuses),
            "success_rate": round(statuses["succeeded"] / finished, 4) if finished else None,
            **_percentiles(entry["durations"]),
            "steps": [{"step_id": sid, "runs": s["runs"], "failed": s["failed"],
                       **_percentiles(s["durations"])}
                      for sid, s in sorted(entry["steps"].items())],
        })
    return workflows


def services_status() -> dict[str, Any]:
    """The services the workflows use, with the health of their connections: two queries,
    over the ``workflow_services`` index kept on every save and the connections."""
    used: dict[str, list[int]] = defaultdict(list)
    for service, wf_id in db.session.execute(
            db.select(WorkflowService.service, WorkflowService.workflow_id)
            .join(Workflow, Workflow.id == WorkflowService.workflow_id)
            .where(Workflow.deleted_at.is_(None))
            .order_by(WorkflowService.workflow_id)):  # the primary key's order: no sort
        used[service].append(wf_id)
    by_service: dict[str, list[Connection]] = defaultdict(list)
    if used:
        for conn in db.session.scalars(db.select(Connection).where(
                Connection.integration.in_(list(used))).order_by(Connection.id)):
            by_service[conn.integration].append(conn)
    services = {}
    for service, workflow_ids in sorted(used.items()):
        conns = by_service[service]
        tested = [c for c in conns if c.last_test_ok is not None]
        healthy = [c for c in tested if c.last_test_ok]
        if not conns:
            status = "no_connection"
        elif not tested:
            status = "unknown"
        else:
            status = "healthy" if len(healthy) == len(tested) else ("degraded" if healthy else "unhealthy")
        services[service] = {
            "status": status,
            "workflows": workflow_ids,
            "connections": [{"id": c.id, "label": c.label, "enabled": c.enabled,
                             "last_test_ok": c.last_test_ok,
                             "last_test_latency_ms": c.last_test_latency_ms,
                             "last_error_class": c.last_error_class} for c in conns],
        }
    return {"services": services}
