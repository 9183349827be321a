"""Uptime: the share of health checks that passed over the last 24 hours, 7 days and 30 days,
and the one word that says how a connection is doing.

Counts come from the hourly check roll-ups (:class:`MetricRollup`, ``source="check"``) for the
hours already rolled up, and from the raw :class:`HealthSample` rows after them, so a check is
counted once whether or not its hour was rolled up (or its raw row pruned). A roll-up hour
counts when it overlaps the period, so a period can start up to an hour early. A connection
without checks in a period has no uptime for it (``None``), not 0 or 100. Checks made during a
maintenance window count like any other (the roll-ups cannot tell them apart).

:func:`connection_status` is what pages show for a connection: its health (``down`` when the
score is 0 or the checks fail in a row up to the critical level), not only the stored
``Connection.status``, which stays ``active`` until a credential is refused.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Iterable
from typing import Mapping

from atom.extensions import db
from atom.models import HealthSample
from atom.models import MetricRollup

PERIODS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7),
                                 "30d": timedelta(days=30)}
_HOUR = timedelta(hours=1)

# (when, checks, failed checks): one hour of roll-ups or one raw check.
Count = tuple[datetime, int, int]


def ratio(checks: int, failed: int) -> float | None:
    """The passing share of ``checks`` (None without any)."""
    return round((checks - failed) / checks, 4) if checks else None


def shares(counts: Iterable[Count], now: datetime,
           periods: Mapping[str, timedelta] = PERIODS) -> dict[str, float | None]:
    """Uptime per period from ``(when, checks, failed)`` counts (pure)."""
    counts = list(counts)
    out = {}
    for name, length in periods.items():
        since = now - length
        checks = sum(n for at, n, _ in counts if since <= at <= now)
        failed = sum(f for at, _, f in counts if since <= at <= now)
        out[name] = ratio(checks, failed)
    return out


def check_counts(connection_ids: Iterable[int], now: datetime,
                 longest: timedelta = max(PERIODS.values())) -> dict[int, list[Count]]:
    """Each connection's check counts over the ``longest`` period (roll-ups, then raw rows)."""
    ids = list(connection_ids)
    out: dict[int, list[Count]] = defaultdict(list)
    if not ids:
        return out
    since = now - longest
    last_rolled = db.session.scalar(db.select(db.func.max(MetricRollup.bucket))
                                    .where(MetricRollup.source == "check"))
    raw_since = since
    if last_rolled is not None:
        raw_since = max(since, last_rolled + _HOUR)
        rows = db.session.execute(
            db.select(MetricRollup.connection_id, MetricRollup.bucket, MetricRollup.count,
                      MetricRollup.error_count)
            .where(MetricRollup.source == "check", MetricRollup.connection_id.in_(ids),
                   MetricRollup.bucket > since - _HOUR, MetricRollup.count > 0))
        for conn_id, bucket, count, errors in rows:
            # Dated at the hour's end (capped at now): it overlaps any period that reaches it.
            out[conn_id].append((min(bucket + _HOUR - timedelta(microseconds=1), now), count,
                                 errors))
    raw = db.session.execute(
        db.select(HealthSample.connection_id, HealthSample.ts, HealthSample.ok)
        .where(HealthSample.connection_id.in_(ids), HealthSample.ts >= raw_since,
               HealthSample.ts <= now))
    for conn_id, ts, ok in raw:
        out[conn_id].append((ts, 1, 0 if ok else 1))
    return out


def connection_uptimes(connection_ids: Iterable[int],
                       now: datetime) -> dict[int, dict[str, float | None]]:
    """``{connection_id: {"24h": 0.998, "7d": ..., "30d": ...}}`` (None: no checks)."""
    return {cid: _ratios(totals) for cid, totals in period_totals(connection_ids, now).items()}


Uptimes = dict[str, float | None]
# Per period: (checks, failed checks).
Totals = dict[str, tuple[int, int]]


def period_totals(connection_ids: Iterable[int], now: datetime,
                  periods: Mapping[str, timedelta] = PERIODS) -> dict[int, Totals]:
    """Each connection's ``(checks, failed)`` per period, summed by the database: one query
    over the roll-ups and one over the raw rows after them, whatever the number of
    connections (what :func:`check_counts` counts, without reading every hour into Python)."""
    ids = sorted(set(connection_ids))
    out: dict[int, Totals] = {cid: {name: (0, 0) for name in periods} for cid in ids}
    if not ids:
        return out
    since = {name: now - length for name, length in periods.items()}
    earliest = min(since.values())
    last_rolled = db.session.scalar(db.select(db.func.max(MetricRollup.bucket))
                                    .where(MetricRollup.source == "check"))
    raw_since = earliest
    if last_rolled is not None:
        raw_since = max(earliest, last_rolled + _HOUR)
        # An hour counts in a period when it overlaps it (as in check_counts).
        starts = {name: start - _HOUR for name, start in since.items()}
        _add(out, db.session.execute(
            db.select(MetricRollup.connection_id,
                      *_sums(MetricRollup.bucket, starts, MetricRollup.count,
                             MetricRollup.error_count))
            .where(MetricRollup.source == "check", MetricRollup.connection_id.in_(ids),
                   MetricRollup.bucket > earliest - _HOUR, MetricRollup.bucket <= now)
            .group_by(MetricRollup.connection_id)), list(periods))
    failed = db.case((HealthSample.ok.is_(False), 1), else_=0)
    inclusive = {name: start - timedelta(microseconds=1) for name, start in since.items()}
    _add(out, db.session.execute(
        db.select(HealthSample.connection_id,
                  *_sums(HealthSample.ts, inclusive, db.literal(1), failed))
        .where(HealthSample.connection_id.in_(ids), HealthSample.ts >= raw_since,
               HealthSample.ts <= now)
        .group_by(HealthSample.connection_id)), list(periods))
    return out


def _sums(when: Any, after: Mapping[str, datetime], count: Any, errors: Any) -> list[Any]:
    """``SUM(count)`` and ``SUM(errors)`` of the rows later than each period's start."""
    columns = []
    for start in after.values():
        columns.append(db.func.sum(db.case((when > start, count), else_=0)))
        columns.append(db.func.sum(db.case((when > start, errors), else_=0)))
    return columns


def _add(out: dict[int, Totals], rows: Iterable[Any], names: list[str]) -> None:
    for conn_id, *sums in rows:
        totals = out[conn_id]
        for i, name in enumerate(names):
            checks, failed = totals[name]
            totals[name] = (checks + int(sums[2 * i] or 0), failed + int(sums[2 * i + 1] or 0))


def _ratios(totals: Totals) -> Uptimes:
    return {name: ratio(checks, failed) for name, (checks, failed) in totals.items()}


def grouped_uptimes(groups: Mapping[str, Iterable[int]],
                    now: datetime) -> tuple[dict[int, Uptimes], dict[str, Uptimes]]:
    """Uptime of every connection, and of each group of connections together (an
    integration's: check-weighted), from one read (two queries, however many connections)."""
    groups = {name: list(ids) for name, ids in groups.items()}
    totals = period_totals({cid for ids in groups.values() for cid in ids}, now)
    per_connection = {cid: _ratios(totals[cid]) for ids in groups.values() for cid in ids}
    per_group = {}
    for name, ids in groups.items():
        summed = {period: (sum(totals[cid][period][0] for cid in ids),
                           sum(totals[cid][period][1] for cid in ids)) for period in PERIODS}
        per_group[name] = _ratios(summed)
    return per_connection, per_group


# -- one connection, labelled periods (the connection page) ---------------------------------------

#: The periods a connection's page shows: label and length in hours.
LABELLED = (("24 h", 24), ("7 d", 24 * 7), ("30 d", 24 * 30))


@dataclass(frozen=True)
class Uptime:
    hours: int
    checks: int
    passed: int

    @property
    def ratio(self) -> float | None:
        """Passed checks / checks, or None without any check in the period."""
        return round(self.passed / self.checks, 6) if self.checks else None

    @property
    def percent(self) -> float | None:
        return None if self.ratio is None else round(100 * self.ratio, 2)

    def to_dict(self) -> dict[str, Any]:
        return {"hours": self.hours, "checks": self.checks, "passed": self.passed,
                "uptime": self.ratio}


def tally(counts: Iterable[Count], now: datetime, hours: int) -> Uptime:
    """The checks and passes among ``counts`` in the ``hours`` before ``now`` (pure)."""
    since = now - timedelta(hours=hours)
    checks = failed = 0
    for at, n, f in counts:
        if since <= at <= now:
            checks, failed = checks + n, failed + f
    return Uptime(hours, checks, checks - failed)


def uptime(now: datetime, connection_id: int, hours: int) -> Uptime:
    """The share of ``connection_id``'s health checks that passed in the ``hours`` before
    ``now`` (naive UTC)."""
    counts = check_counts([connection_id], now, timedelta(hours=hours)).get(connection_id, [])
    return tally(counts, now, hours)


def uptimes(now: datetime, connection_id: int) -> list[tuple[str, Uptime]]:
    """Uptime over each of :data:`LABELLED`, labelled, from one read."""
    longest = max(hours for _label, hours in LABELLED)
    counts = check_counts([connection_id], now, timedelta(hours=longest)).get(connection_id, [])
    return [(label, tally(counts, now, hours)) for label, hours in LABELLED]


#: Every word :func:`connection_status` returns, in the order filters list them.
STATUSES = ("healthy", "degraded", "unhealthy", "down", "unknown", "maintenance",
            "needs_reauth", "disabled")


def connection_status(enabled: bool, stored_status: str, metrics: Any,
                      thresholds: Mapping[str, float], last_test_ok: bool | None = None) -> str:
    """How a connection is doing, in one of :data:`STATUSES`.

    :param metrics: its :class:`~atom.monitoring.metrics.ConnectionMetrics` from a snapshot
        (None for a disabled connection, which snapshots leave out).
    :param last_test_ok: the stored outcome of its last test, used when the monitoring window
        holds no data: a connection whose last test failed is ``down``, not ``unknown``.
    """
    if not enabled:
        return "disabled"
    if stored_status == "needs_reauth":
        return "needs_reauth"
    if metrics is None:
        return "down" if last_test_ok is False else "unknown"
    if metrics.in_maintenance:
        return "maintenance"
    if metrics.score is None:
        return "down" if last_test_ok is False else "unknown"
    if metrics.score <= 0 or (metrics.consecutive_failures
                              >= thresholds.get("consecutive_failures_critical", float("inf"))):
        return "down"
    return metrics.status


# -- daily uptime (the status page's bars) --------------------------------------------------------


def daily_uptimes(connection_ids: Iterable[int], now: datetime,
                  days: int = 30) -> dict[int, list[tuple[str, float | None]]]:
    """Each connection's uptime per UTC day over the ``days`` days up to today (today last),
    as ``(YYYY-MM-DD, ratio or None)``; one read for all of them. A roll-up hour counts on
    the day it starts."""
    ids = list(connection_ids)
    today = now.date()
    dates = [today - timedelta(days=days - 1 - i) for i in range(days)]
    counts = check_counts(ids, now, timedelta(days=days))
    out = {}
    for cid in ids:
        per_day: dict[Any, list[int]] = {d: [0, 0] for d in dates}
        for at, n, failed in counts.get(cid, []):
            tally_ = per_day.get(at.date())
            if tally_ is not None:
                tally_[0] += n
                tally_[1] += failed
        out[cid] = [(d.isoformat(), ratio(*per_day[d])) for d in dates]
    return out
