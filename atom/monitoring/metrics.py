"""Live metrics of every connection and integration over the monitoring window.

An *observation* is an API call recorded by ``IntegrationClient`` (health checks make calls
too) or a health check that failed without reaching the client (cut off at its timeout, or a
plugin error), so each check counts once. Observations inside a maintenance window are left
out. Per connection and per integration: success rate and error count, response time (last,
p50, p95), calls per minute; per connection also its consecutive failed checks, from which
:mod:`atom.monitoring.score` derives the health score and status.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Iterable

import numpy as np
from flask import Flask
from flask import current_app

from atom.extensions import db
from atom.models import CallRecord
from atom.models import Connection
from atom.models import HealthSample
from atom.models.base import isoformat
from atom.monitoring import maintenance
from atom.monitoring import score as scoring
from atom.monitoring import thresholds

# How many recent checks are read to count consecutive failures.
_STREAK_DEPTH = 50


@dataclass
class Series:
    """Observations of one subject: timestamps, outcomes and latencies, unsorted."""

    ts: list[datetime] = field(default_factory=list)
    ok: list[bool] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    calls: int = 0

    def add(self, ts: datetime, ok: bool, latency: float, is_call: bool) -> None:
        self.ts.append(ts)
        self.ok.append(ok)
        self.latency.append(latency)
        self.calls += is_call

    def extend(self, other: Series) -> None:
        self.ts += other.ts
        self.ok += other.ok
        self.latency += other.latency
        self.calls += other.calls


@dataclass
class Figures:
    """What a series amounts to over the window."""

    observations: int = 0
    error_count: int = 0
    success_rate: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    last_ms: float | None = None
    calls_per_minute: float = 0.0

    @classmethod
    def of(cls, series: Series, window_s: float) -> Figures:
        n = len(series.ok)
        if n == 0:
            return cls()
        latency = np.asarray(series.latency, dtype=float)
        errors = n - int(sum(series.ok))
        last = max(range(n), key=series.ts.__getitem__)
        return cls(
            observations=n,
            error_count=errors,
            success_rate=round((n - errors) / n, 4),
            p50_ms=round(float(np.percentile(latency, 50)), 2),
            p95_ms=round(float(np.percentile(latency, 95)), 2),
            last_ms=round(series.latency[last], 2),
            calls_per_minute=round(series.calls / (window_s / 60.0), 3),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "response_time_ms": self.p50_ms,
            "p50_response_time_ms": self.p50_ms,
            "p95_response_time_ms": self.p95_ms,
            "last_response_time_ms": self.last_ms,
            "success_rate": self.success_rate,
            "error_count": self.error_count,
            "observations": self.observations,
            "calls_per_minute": self.calls_per_minute,
        }


@dataclass
class ConnectionMetrics:
    connection_id: int
    integration: str
    label: str
    figures: Figures
    consecutive_failures: int = 0
    last_check: dict[str, Any] | None = None
    in_maintenance: bool = False
    score: float | None = None
    status: str = "unknown"

    @property
    def success_rate(self) -> float | None:
        return self.figures.success_rate

    @property
    def p95_ms(self) -> float | None:
        return self.figures.p95_ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.connection_id,
            "label": self.label,
            "integration": self.integration,
            "health_score": self.score,
            "status": self.status,
            **self.figures.to_dict(),
            "consecutive_failures": self.consecutive_failures,
            "last_check": self.last_check,
            "in_maintenance": self.in_maintenance,
        }


@dataclass
class IntegrationMetrics:
    name: str
    figures: Figures
    connections: list[ConnectionMetrics]
    score: float | None = None
    status: str = "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {
            "health_score": self.score,
            "status": self.status,
            **self.figures.to_dict(),
            "connections": [c.to_dict() for c in self.connections],
        }


@dataclass
class Snapshot:
    now: datetime
    window_s: float
    thresholds: dict[str, float]
    connections: dict[int, ConnectionMetrics]
    integrations: dict[str, IntegrationMetrics]


def snapshot(app: Flask | None = None, integration: str | None = None) -> Snapshot:
    """Compute the metrics of every enabled connection (of ``integration``) now."""
    from atom.monitoring.monitor import get_monitor

    from atom.state import get_state

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    get_state(app).recorder.flush()  # this process's latest calls count at once
    now = get_monitor(app).now()
    window_s = float(app.config["MONITORING_WINDOW_S"])
    th = thresholds.current(app)
    stmt = db.select(Connection.id, Connection.integration, Connection.label) \
        .where(Connection.enabled.is_(True)).order_by(Connection.id)
    if integration is not None:
        stmt = stmt.where(Connection.integration == integration)
    conns = db.session.execute(stmt).all()
    ids = [row.id for row in conns]
    since = now - timedelta(seconds=window_s)
    windows = maintenance.spans(ids, since, now)
    series = _series(ids, since, now, windows)
    in_maintenance = {cid for cid, spans in windows.items() if maintenance.covered(now, spans)}
    metrics: dict[int, ConnectionMetrics] = {}
    for row in conns:
        m = ConnectionMetrics(row.id, row.integration, row.label,
                              Figures.of(series[row.id], window_s),
                              in_maintenance=row.id in in_maintenance)
        m.consecutive_failures, m.last_check = _recent_checks(row.id, now, windows.get(row.id, []))
        m.score = scoring.health_score(m.figures.success_rate, m.figures.p95_ms,
                                       m.consecutive_failures, th)
        m.status = scoring.status_of(m.score, th)
        metrics[row.id] = m
    return Snapshot(now, window_s, th, metrics, _integrations(metrics, series, window_s, th))


def integration_metrics(name: str, members: list[ConnectionMetrics], series: Series,
                        window_s: float, th: dict[str, float]) -> IntegrationMetrics:
    combined = scoring.combined_score([m.score for m in members])
    return IntegrationMetrics(name, Figures.of(series, window_s), members, combined,
                              scoring.status_of(combined, th))


def _integrations(metrics: dict[int, ConnectionMetrics], series: dict[int, Series],
                  window_s: float, th: dict[str, float]) -> dict[str, IntegrationMetrics]:
    members: dict[str, list[ConnectionMetrics]] = defaultdict(list)
    for m in metrics.values():
        members[m.integration].append(m)
    out = {}
    for name in sorted(members):
        merged = Series()
        for m in members[name]:
            merged.extend(series[m.connection_id])
        out[name] = integration_metrics(name, members[name], merged, window_s, th)
    return out


def _series(ids: Iterable[int], since: datetime, until: datetime,
            windows: dict[int, list[maintenance.Span]]) -> dict[int, Series]:
    ids = list(ids)
    out: dict[int, Series] = defaultdict(Series)
    if not ids:
        return out
    calls = db.session.execute(
        db.select(CallRecord.connection_id, CallRecord.ts, CallRecord.ok, CallRecord.latency_ms)
        .where(CallRecord.connection_id.in_(ids), CallRecord.ts >= since, CallRecord.ts <= until)
    )
    for conn_id, ts, ok, latency in calls:
        if not maintenance.covered(ts, windows.get(conn_id, [])):
            out[conn_id].add(ts, ok, latency, True)
    checks = db.session.execute(
        db.select(HealthSample.connection_id, HealthSample.ts, HealthSample.ok,
                  HealthSample.latency_ms)
        .where(HealthSample.connection_id.in_(ids), HealthSample.ts >= since,
               HealthSample.ts <= until, HealthSample.has_call.is_(False))
    )
    for conn_id, ts, ok, latency in checks:
        if not maintenance.covered(ts, windows.get(conn_id, [])):
            out[conn_id].add(ts, ok, latency, False)
    return out


def _recent_checks(conn_id: int, now: datetime,
                   windows: list[maintenance.Span]) -> tuple[int, dict[str, Any] | None]:
    """Consecutive failed checks (newest first, outside maintenance) and the last check."""
    rows = db.session.execute(
        db.select(HealthSample.ts, HealthSample.ok, HealthSample.latency_ms,
                  HealthSample.error_class)
        .where(HealthSample.connection_id == conn_id, HealthSample.ts <= now)
        .order_by(HealthSample.ts.desc(), HealthSample.id.desc()).limit(_STREAK_DEPTH)
    ).all()
    last = None
    if rows:
        ts, ok, latency, error_class = rows[0]
        last = {"at": isoformat(ts), "ok": ok, "latency_ms": round(latency, 2),
                "error_class": error_class}
    streak = 0
    for ts, ok, _latency, _error in rows:
        if maintenance.covered(ts, windows):
            continue
        if ok:
            break
        streak += 1
    return streak, last


def recent_latencies(by: str = "connection_id", limit: int = 30,
                     keys: Iterable[Any] | None = None) -> dict[Any, list[float]]:
    """The latencies of the last ``limit`` health checks of each connection (``by=
    "connection_id"``) or integration (``by="integration"``), oldest first: the status
    board's sparklines."""
    column = getattr(HealthSample, by)
    ranked = db.select(column.label("key"), HealthSample.ts, HealthSample.latency_ms,
                       db.func.row_number().over(partition_by=column,
                                                 order_by=(HealthSample.ts.desc(),
                                                           HealthSample.id.desc())).label("n"))
    if keys is not None:
        ranked = ranked.where(column.in_(list(keys)))
    sub = ranked.subquery()
    rows = db.session.execute(db.select(sub.c.key, sub.c.latency_ms).where(sub.c.n <= limit)
                              .order_by(sub.c.key, sub.c.ts, sub.c.n.desc()))
    out: dict[Any, list[float]] = defaultdict(list)
    for key, latency in rows:
        out[key].append(round(latency, 2))
    return dict(out)
