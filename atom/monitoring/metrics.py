"""Live metrics of every connection and integration over the monitoring window.

An *observation* is an API call recorded by ``IntegrationClient`` (health checks make calls
too) or a health check that failed without reaching the client (cut off at its timeout, or a
plugin error), so each check counts once. Observations inside a maintenance window are left
out. Per connection and per integration: success rate and error count, response time (last,
p50, p95), calls per minute; per connection also its consecutive failed checks, from which
:mod:`atom.monitoring.score` derives the health score and status, and whether it is
*flapping*: its health checks changed between ok and failed more than ``FLAP_MAX_CHANGES``
times in the last ``FLAP_WINDOW_S``.

The views use the reporting window ``MONITORING_WINDOW_S``. The alert rules use
:func:`alert_snapshot`: only the evidence since the previous evaluation (see there).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Iterable

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
    # Health checks in the span, those whose call is among the observations included.
    checks: int = 0

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


def percentile(ordered: list[float], q: float) -> float:
    """The ``q``-th percentile of sorted values, interpolated linearly (numpy's default); in
    plain Python because a snapshot takes two of each of a thousand small series."""
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


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
        latency = sorted(series.latency)
        errors = n - int(sum(series.ok))
        last = max(range(n), key=series.ts.__getitem__)
        return cls(
            observations=n,
            error_count=errors,
            success_rate=round((n - errors) / n, 4),
            p50_ms=round(percentile(latency, 50), 2),
            p95_ms=round(percentile(latency, 95), 2),
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
    # Changes between ok and failed of its health checks in the last FLAP_WINDOW_S.
    flap_changes: int = 0
    flapping: bool = False
    # Observations in the reporting window (an alert snapshot's figures cover less).
    history: int | None = None

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
            "flapping": self.flapping,
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
    # Where the figures start (now - window_s, or later for an alert snapshot).
    since: datetime | None = None


def snapshot(app: Flask | None = None, integration: str | None = None, *,
             now: datetime, window_s: float | None = None, since: datetime | None = None,
             sparse_checks: int = 0, history_s: float | None = None) -> Snapshot:
    """Compute the metrics of every enabled connection (of ``integration``) at ``now`` (the
    monitor's clock: :meth:`atom.monitoring.monitor.Monitor.snapshot` passes it).

    :param window_s: how far back the figures reach (default ``MONITORING_WINDOW_S``).
    :param since: start the figures later than ``now - window_s``: only newer observations.
    :param sparse_checks: a connection whose figures hold calls but no health check also
        counts its last ``sparse_checks`` checks of the window.
    :param history_s: also count each connection's observations over this longer window
        (``ConnectionMetrics.history``).
    """
    from atom.state import get_state

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    get_state(app).recorder.flush()  # this process's latest calls count at once
    window_s = float(app.config["MONITORING_WINDOW_S"] if window_s is None else window_s)
    th = thresholds.current(app)
    stmt = db.select(Connection.id, Connection.integration, Connection.label) \
        .where(Connection.enabled.is_(True)).order_by(Connection.id)
    if integration is not None:
        stmt = stmt.where(Connection.integration == integration)
    conns = db.session.execute(stmt).all()
    ids = [row.id for row in conns]
    # The ids as SQL for the queries below: a thousand bound parameters cost more than a join.
    among: Any = stmt.with_only_columns(Connection.id).order_by(None) if len(ids) > 50 else ids
    start = now - timedelta(seconds=window_s)
    start = max(start, since) if since is not None else start
    span_s = max((now - start).total_seconds(), 1.0)
    reach = now - timedelta(seconds=max(window_s, history_s or 0))
    windows = maintenance.spans(ids, reach, now)
    series = _series(among if ids else [], start, now, windows)
    if sparse_checks > 0:
        _add_sparse_checks(series, now - timedelta(seconds=window_s), start, now, windows,
                           sparse_checks)
    history = _counts(among if ids else [], now - timedelta(seconds=history_s), now) \
        if history_s else {}
    in_maintenance = {cid for cid, spans in windows.items() if maintenance.covered(now, spans)}
    streaks = check_streaks(ids, now, windows, among)
    flaps = flap_changes(among if ids else [], now - timedelta(
        seconds=float(app.config["FLAP_WINDOW_S"])), now)
    flap_max = int(app.config["FLAP_MAX_CHANGES"])
    metrics: dict[int, ConnectionMetrics] = {}
    for row in conns:
        m = ConnectionMetrics(row.id, row.integration, row.label,
                              Figures.of(series[row.id], span_s),
                              in_maintenance=row.id in in_maintenance)
        m.consecutive_failures, m.last_check = streaks.get(row.id, (0, None))
        m.score = scoring.health_score(m.figures.success_rate, m.figures.p95_ms,
                                       m.consecutive_failures, th)
        m.status = scoring.status_of(m.score, th)
        m.flap_changes = flaps.get(row.id, 0)
        m.flapping = m.flap_changes > flap_max
        m.history = history.get(row.id, 0) if history_s else None
        metrics[row.id] = m
    return Snapshot(now, window_s, th, metrics, _integrations(metrics, series, span_s, th),
                    since=start)


def alert_snapshot(app: Flask, since: datetime | None, now: datetime) -> Snapshot:
    """The evidence the alert rules judge: each connection's observations since ``since`` (the
    previous evaluation), never older than ``ALERT_WINDOW_S``, so every evaluation judges
    what happened since the last one and a recovered service looks recovered at once. A
    connection whose slice holds calls but no health check (its checks are sparse) is judged
    on them plus its last ``ALERT_WINDOW_CHECKS`` checks of ``ALERT_WINDOW_S``; one with no
    observation in the slice has no fresh evidence (``figures.observations == 0``), and its
    rules are not judged. ``history`` counts the observations of ``MONITORING_WINDOW_S``, for
    ``ALERT_MIN_OBSERVATIONS``."""
    cfg = app.config
    return snapshot(app, now=now, window_s=float(cfg["ALERT_WINDOW_S"]), since=since,
                    sparse_checks=int(cfg["ALERT_WINDOW_CHECKS"]),
                    history_s=float(cfg["MONITORING_WINDOW_S"]))


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


def _series(ids: Any, since: datetime, until: datetime,
            windows: dict[int, list[maintenance.Span]]) -> dict[int, Series]:
    """``ids``: a list of connection ids, or a select of them."""
    ids = ids if isinstance(ids, db.Select) else list(ids)
    out: dict[int, Series] = defaultdict(Series)
    if isinstance(ids, list) and not ids:
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
                  HealthSample.latency_ms, HealthSample.has_call)
        .where(HealthSample.connection_id.in_(ids), HealthSample.ts >= since,
               HealthSample.ts <= until)
    )
    for conn_id, ts, ok, latency, has_call in checks:
        if not maintenance.covered(ts, windows.get(conn_id, [])):
            series = out[conn_id]
            series.checks += 1
            if not has_call:
                series.add(ts, ok, latency, False)
    return out


def _add_sparse_checks(series: dict[int, Series], floor: datetime, start: datetime,
                       now: datetime, windows: dict[int, list[maintenance.Span]],
                       depth: int) -> None:
    """Add, to each series that holds calls but no check since ``start``, its last ``depth``
    checks between ``floor`` and ``start`` (each check as itself: its call, if it made one, is
    older than ``start`` and not in the series)."""
    bare = [cid for cid, s in series.items() if s.ok and not s.checks]
    if not bare or start <= floor:
        return
    ranked = db.select(
        HealthSample.connection_id, HealthSample.ts, HealthSample.ok, HealthSample.latency_ms,
        db.func.row_number().over(partition_by=HealthSample.connection_id,
                                  order_by=(HealthSample.ts.desc(), HealthSample.id.desc()))
        .label("n"),
    ).where(HealthSample.connection_id.in_(bare), HealthSample.ts >= floor,
            HealthSample.ts <= start).subquery()
    rows = db.session.execute(db.select(ranked.c.connection_id, ranked.c.ts, ranked.c.ok,
                                        ranked.c.latency_ms).where(ranked.c.n <= depth))
    for conn_id, ts, ok, latency in rows:
        if not maintenance.covered(ts, windows.get(conn_id, [])):
            series[conn_id].add(ts, ok, latency, False)


def _counts(ids: Any, since: datetime, until: datetime) -> dict[int, int]:
    """Observations per connection between ``since`` and ``until`` (calls, and checks that
    made none), maintenance included."""
    out: dict[int, int] = defaultdict(int)
    if isinstance(ids, list) and not ids:
        return out
    for model, extra in ((CallRecord, ()), (HealthSample, (HealthSample.has_call.is_(False),))):
        rows = db.session.execute(
            db.select(model.connection_id, db.func.count())
            .where(model.connection_id.in_(ids), model.ts >= since, model.ts <= until, *extra)
            .group_by(model.connection_id))
        for conn_id, count in rows:
            out[conn_id] += count
    return out


def check_streaks(ids: list[int], now: datetime, windows: dict[int, list[maintenance.Span]],
                  among: Any = None) -> dict[int, tuple[int, dict[str, Any] | None]]:
    """Each connection's consecutive failed checks (at most ``_STREAK_DEPTH``) and last check,
    in one query; connections with a maintenance window in view are read one by one (their
    checks inside it do not count)."""
    out: dict[int, tuple[int, dict[str, Any] | None]] = {}
    plain = [cid for cid in ids if not windows.get(cid)]
    for cid in ids:
        if windows.get(cid):
            out[cid] = _recent_checks(cid, now, windows[cid])
    if not plain:
        return out
    h = db.aliased(HealthSample)

    def newest(*where: Any, offset: int = 0) -> Any:
        return (db.select(h.ts).where(h.connection_id == Connection.id, h.ts <= now, *where)
                .order_by(h.ts.desc(), h.id.desc()).offset(offset).limit(1)
                .correlate(Connection).scalar_subquery())

    floor = db.func.coalesce(newest(offset=_STREAK_DEPTH), datetime(1970, 1, 1))
    last_ok = db.func.coalesce(newest(h.ok.is_(True), h.ts > floor), floor)
    streak = (db.select(db.func.count()).select_from(h)
              .where(h.connection_id == Connection.id, h.ts <= now, h.ts > last_ok)
              .correlate(Connection).scalar_subquery())
    last_id = (db.select(h.id).where(h.connection_id == Connection.id, h.ts <= now)
               .order_by(h.ts.desc(), h.id.desc()).limit(1).correlate(Connection)
               .scalar_subquery())
    rows = db.session.execute(
        db.select(Connection.id, streak, HealthSample.ts, HealthSample.ok,
                  HealthSample.latency_ms, HealthSample.error_class)
        .outerjoin(HealthSample, HealthSample.id == last_id)
        .where(Connection.id.in_(among if among is not None and len(plain) == len(ids)
                                 else plain)))
    for cid, count, ts, ok, latency, error_class in rows:
        last = None if ts is None else {"at": isoformat(ts), "ok": ok,
                                        "latency_ms": round(latency, 2),
                                        "error_class": error_class}
        out[cid] = (int(count or 0) if last else 0, last)
    return out


def flap_changes(ids: Any, since: datetime, until: datetime) -> dict[int, int]:
    """How many times each connection's health checks went from ok to failed or back between
    ``since`` and ``until`` (``ids``: a list, or a select of them)."""
    if isinstance(ids, list) and not ids:
        return {}
    ranked = db.select(
        HealthSample.connection_id, HealthSample.ok,
        db.func.lag(HealthSample.ok).over(partition_by=HealthSample.connection_id,
                                          order_by=(HealthSample.ts, HealthSample.id))
        .label("before"),
    ).where(HealthSample.connection_id.in_(ids), HealthSample.ts > since,
            HealthSample.ts <= until).subquery()
    rows = db.session.execute(
        db.select(ranked.c.connection_id, db.func.count())
        .where(ranked.c.before.is_not(None), ranked.c.ok != ranked.c.before)
        .group_by(ranked.c.connection_id))
    return {cid: count for cid, count in rows}


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
