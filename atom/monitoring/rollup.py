"""Hourly roll-ups, retention, and trends.

Every complete hour of call records and health samples is summed into one
:class:`MetricRollup` row per connection and source (count, errors, latency sum, max, p50 and
p95). Raw rows older than ``METRICS_RETENTION_DAYS`` are deleted once their hour is rolled up,
roll-ups after ``METRICS_ROLLUP_RETENTION_DAYS``, and resolved alerts after the raw retention,
so the database stays bounded. Trends read the roll-ups, and the raw rows for the hours not
rolled up yet. An integration's hourly p95 is the largest of its connections' p95s (an upper
bound: percentiles do not add up); so is its hourly p50.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from datetime import timedelta
from typing import Any

import numpy as np
from flask import Flask

from atom.extensions import db
from atom.models import Alert
from atom.models import CallRecord
from atom.models import HealthSample
from atom.models import MetricRollup
from atom.models.base import isoformat

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
# Late call records (the recorder flushes every few seconds) land before an hour is rolled up.
SETTLE = timedelta(minutes=5)
# Hours rolled up per scan of the raw rows (and per transaction).
HOURS_PER_SCAN = 24
SOURCES = {"call": CallRecord, "check": HealthSample}


def floor_hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def rollup(now: datetime) -> int:
    """Roll up the complete, settled hours not rolled up yet; return the rows written."""
    written = 0
    end = floor_hour(now - SETTLE)
    for source, model in SOURCES.items():
        start = _next_hour(source, model)
        while start is not None and start < end:
            stop = min(end, start + HOURS_PER_SCAN * HOUR)
            written += _rollup_range(source, model, start, stop)
            db.session.commit()
            start = stop
    return written


def prune(now: datetime, retention_days: float, rollup_retention_days: float) -> dict[str, int]:
    """Delete raw rows past retention (only rolled-up hours), old roll-ups and old alerts."""
    cutoff = now - timedelta(days=retention_days)
    deleted = {}
    for source, model in SOURCES.items():
        rolled = _next_hour(source, model, rolled_only=True) or datetime.min
        limit = min(cutoff, rolled)
        deleted[source] = db.session.execute(db.delete(model).where(model.ts < limit)).rowcount
    deleted["rollup"] = db.session.execute(db.delete(MetricRollup).where(
        MetricRollup.bucket < now - timedelta(days=rollup_retention_days))).rowcount
    deleted["alert"] = db.session.execute(db.delete(Alert).where(
        Alert.status == "resolved", Alert.resolved_at < cutoff)).rowcount
    db.session.commit()
    return deleted


def maintain(app: Flask) -> dict[str, Any]:
    """The hourly job: roll up, then prune."""
    from atom.monitoring.monitor import get_monitor

    with app.app_context():
        now = get_monitor(app).now()
        written = rollup(now)
        deleted = prune(now, float(app.config["METRICS_RETENTION_DAYS"]),
                        float(app.config["METRICS_ROLLUP_RETENTION_DAYS"]))
    logger.info("metrics maintenance: %s roll-up rows written, deleted %s", written, deleted)
    return {"rollups_written": written, "deleted": deleted}


def _next_hour(source: str, model: Any, rolled_only: bool = False) -> datetime | None:
    """The first hour of ``source`` not rolled up yet (None when there is nothing at all)."""
    last = db.session.scalar(db.select(db.func.max(MetricRollup.bucket))
                             .where(MetricRollup.source == source))
    if last is not None:
        return last + HOUR
    if rolled_only:
        return None
    first = db.session.scalar(db.select(db.func.min(model.ts)))
    return floor_hour(first) if first is not None else None


def _rollup_range(source: str, model: Any, start: datetime, stop: datetime) -> int:
    """Write the roll-ups of ``[start, stop)`` (whole hours) from one scan of the raw rows."""
    rows = db.session.execute(
        db.select(model.ts, model.connection_id, model.integration, model.ok, model.latency_ms)
        .where(model.ts >= start, model.ts < stop)
    ).all()
    groups: dict[tuple[datetime, int | None, str], list[tuple[bool, float]]] = defaultdict(list)
    for ts, conn_id, integration, ok, latency in rows:
        groups[(floor_hour(ts), conn_id, integration)].append((ok, latency))
    db.session.execute(db.delete(MetricRollup).where(
        MetricRollup.source == source, MetricRollup.bucket >= start, MetricRollup.bucket < stop))
    for (hour, conn_id, integration), values in groups.items():
        latency = np.asarray([v[1] for v in values], dtype=float)
        db.session.add(MetricRollup(
            source=source, bucket=hour, integration=integration, connection_id=conn_id,
            count=len(values), error_count=sum(1 for ok, _ in values if not ok),
            latency_sum_ms=float(latency.sum()), latency_max_ms=float(latency.max()),
            p50_ms=float(np.percentile(latency, 50)), p95_ms=float(np.percentile(latency, 95)),
        ))
    last = stop - HOUR
    if not any(hour == last for hour, _c, _i in groups):
        # An empty marker row on the last hour, so the next run starts after it.
        db.session.add(MetricRollup(source=source, bucket=last, integration="", count=0,
                                    error_count=0, latency_sum_ms=0.0, latency_max_ms=0.0,
                                    p50_ms=0.0, p95_ms=0.0))
    return len(groups)


# -- trends -----------------------------------------------------------------------------------


def trends(now: datetime, hours: int, integration: str | None = None,
           connection_id: int | None = None) -> list[dict[str, Any]]:
    """Hourly buckets, oldest first, of calls and checks over the last ``hours`` hours."""
    start = floor_hour(now) - (hours - 1) * HOUR
    buckets: dict[tuple[datetime, str], list[dict[str, float]]] = defaultdict(list)
    for source, model in SOURCES.items():
        rolled_until = _next_hour(source, model, rolled_only=True) or start
        stmt = db.select(MetricRollup).where(MetricRollup.source == source,
                                             MetricRollup.bucket >= start)
        stmt = _filtered(stmt, MetricRollup, integration, connection_id)
        for row in db.session.scalars(stmt.where(MetricRollup.count > 0)):
            buckets[(row.bucket, source)].append(_rollup_dict(row))
        for hour, parts in _raw_buckets(source, model, max(start, rolled_until), now,
                                        integration, connection_id).items():
            buckets[(hour, source)] += parts
    return [_bucket(start + i * HOUR, buckets) for i in range(hours)]


def _filtered(stmt: Any, model: Any, integration: str | None, connection_id: int | None) -> Any:
    if integration is not None:
        stmt = stmt.where(model.integration == integration)
    if connection_id is not None:
        stmt = stmt.where(model.connection_id == connection_id)
    return stmt


def _rollup_dict(row: MetricRollup) -> dict[str, float]:
    return {"count": row.count, "errors": row.error_count, "sum": row.latency_sum_ms,
            "p50": row.p50_ms, "p95": row.p95_ms}


def _raw_buckets(source: str, model: Any, since: datetime, until: datetime,
                 integration: str | None, connection_id: int | None) -> dict[datetime, list]:
    stmt = db.select(model.ts, model.connection_id, model.ok, model.latency_ms) \
        .where(model.ts >= since, model.ts <= until)
    stmt = _filtered(stmt, model, integration, connection_id)
    grouped: dict[tuple[datetime, int | None], list[tuple[bool, float]]] = defaultdict(list)
    for ts, conn_id, ok, latency in db.session.execute(stmt):
        grouped[(floor_hour(ts), conn_id)].append((ok, latency))
    out: dict[datetime, list] = defaultdict(list)
    for (hour, _conn_id), values in grouped.items():
        latency = np.asarray([v[1] for v in values], dtype=float)
        out[hour].append({"count": len(values), "errors": sum(1 for ok, _ in values if not ok),
                          "sum": float(latency.sum()),
                          "p50": float(np.percentile(latency, 50)),
                          "p95": float(np.percentile(latency, 95))})
    return out


def _bucket(hour: datetime, buckets: dict[tuple[datetime, str], list]) -> dict[str, Any]:
    calls, checks = buckets.get((hour, "call"), []), buckets.get((hour, "check"), [])
    n_calls, n_checks = sum(p["count"] for p in calls), sum(p["count"] for p in checks)
    errors, failed = sum(p["errors"] for p in calls), sum(p["errors"] for p in checks)
    return {
        "hour": isoformat(hour),
        "calls": n_calls,
        "errors": errors,
        "success_rate": round((n_calls - errors) / n_calls, 4) if n_calls else None,
        "avg_response_time_ms": _avg(calls),
        "p50_response_time_ms": round(max(p["p50"] for p in calls), 2) if calls else None,
        "p95_response_time_ms": round(max(p["p95"] for p in calls), 2) if calls else None,
        "calls_per_minute": round(n_calls / 60.0, 3),
        "checks": n_checks,
        "failed_checks": failed,
        "avg_check_ms": _avg(checks),
    }


def _avg(parts: list[dict[str, float]]) -> float | None:
    count = sum(p["count"] for p in parts)
    return round(sum(p["sum"] for p in parts) / count, 2) if count else None
