"""Execution analytics: counts, success rate and duration percentiles per workflow and step."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import numpy as np

from atom.extensions import db
from atom.models import Connection
from atom.models import Execution
from atom.models import StepRun
from atom.models import Workflow
from atom.models.base import utcnow


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p95_ms": None}
    arr = np.asarray(values, dtype=float)
    return {"p50_ms": round(float(np.percentile(arr, 50)), 3),
            "p95_ms": round(float(np.percentile(arr, 95)), 3)}


def _ms(execution: Any) -> float | None:
    if execution.started_at and execution.finished_at:
        return (execution.finished_at - execution.started_at).total_seconds() * 1000.0
    return None


def workflow_analytics(days: int = 30) -> dict[str, Any]:
    since = utcnow() - timedelta(days=days)
    executions = db.session.execute(
        db.select(Execution.id, Execution.workflow_id, Execution.status, Execution.started_at,
                  Execution.finished_at).where(Execution.created_at >= since)).all()
    names = dict(db.session.execute(db.select(Workflow.id, Workflow.name)).all())
    per_wf: dict[int, dict[str, Any]] = defaultdict(lambda: {"statuses": defaultdict(int), "durations": []})
    for row in executions:
        entry = per_wf[row.workflow_id]
        entry["statuses"][row.status] += 1
        if row.status in ("succeeded", "failed") and _ms(row) is not None:
            entry["durations"].append(_ms(row))
    steps = db.session.execute(
        db.select(Execution.workflow_id, StepRun.step_id, StepRun.status, StepRun.duration_ms,
                  StepRun.error_class)
        .join(Execution, Execution.id == StepRun.execution_id)
        .where(Execution.created_at >= since)).all()
    per_step: dict[tuple[int, str], dict[str, Any]] = defaultdict(
        lambda: {"runs": 0, "failed": 0, "durations": []})
    failures: dict[str, int] = defaultdict(int)
    for row in steps:
        entry = per_step[(row.workflow_id, row.step_id)]
        entry["runs"] += 1
        if row.status == "failed":
            entry["failed"] += 1
            failures[row.error_class or "unknown"] += 1
        if row.duration_ms is not None and row.status in ("succeeded", "failed"):
            entry["durations"].append(row.duration_ms)
    workflows = []
    for wf_id, entry in sorted(per_wf.items()):
        finished = entry["statuses"]["succeeded"] + entry["statuses"]["failed"]
        workflows.append({
            "workflow_id": wf_id, "name": names.get(wf_id),
            "executions": sum(entry["statuses"].values()),
            "by_status": dict(entry["statuses"]),
            "success_rate": round(entry["statuses"]["succeeded"] / finished, 4) if finished else None,
            **_percentiles(entry["durations"]),
            "steps": [{"step_id": sid, "runs": s["runs"], "failed": s["failed"],
                       **_percentiles(s["durations"])}
                      for (w, sid), s in sorted(per_step.items()) if w == wf_id],
        })
    total = len(executions)
    finished_all = sum(1 for e in executions if e.status in ("succeeded", "failed"))
    succeeded = sum(1 for e in executions if e.status == "succeeded")
    return {
        "window_days": days,
        "executions": total,
        "success_rate": round(succeeded / finished_all, 4) if finished_all else None,
        **_percentiles([d for e in executions if (d := _ms(e)) is not None]),
        "failures_by_error_class": dict(failures),
        "workflows": workflows,
    }


def services_status() -> dict[str, Any]:
    """The services the workflows use, with the health of their connections."""
    from atom.engine.workflows import current_definition

    used: dict[str, set[int]] = defaultdict(set)
    for workflow in db.session.scalars(db.select(Workflow).filter_by(deleted_at=None)):
        definition = current_definition(workflow)
        if definition["trigger"].get("service"):
            used[definition["trigger"]["service"]].add(workflow.id)
        for step in definition["steps"]:
            if step.get("service"):
                used[step["service"]].add(workflow.id)
    services = {}
    for service, workflow_ids in sorted(used.items()):
        conns = db.session.scalars(db.select(Connection).filter_by(integration=service)).all()
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
            "workflows": sorted(workflow_ids),
            "connections": [{"id": c.id, "label": c.label, "enabled": c.enabled,
                             "last_test_ok": c.last_test_ok,
                             "last_test_latency_ms": c.last_test_latency_ms,
                             "last_error_class": c.last_error_class} for c in conns],
        }
    return {"services": services}
