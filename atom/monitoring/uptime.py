"""Uptime: the share of health checks that passed over the last 24 hours, 7 days and 30 days.

Counts come from the hourly check roll-ups (:class:`MetricRollup`, ``source="check"``) for the
hours already rolled up, and from the raw :class:`HealthSample` rows after them, so a check is
counted once whether or not its hour was rolled up (or its raw row pruned). A roll-up hour
counts when it overlaps the period, so a period can start up to an hour early. A connection
without checks in a period has no uptime for it (``None``), not 0 or 100.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from datetime import timedelta
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


def uptimes(counts: Iterable[Count], now: datetime,
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
    ids = list(connection_ids)
    counts = check_counts(ids, now)
    return {cid: uptimes(counts.get(cid, []), now) for cid in ids}


Uptimes = dict[str, float | None]


def grouped_uptimes(groups: Mapping[str, Iterable[int]],
                    now: datetime) -> tuple[dict[int, Uptimes], dict[str, Uptimes]]:
    """Uptime of every connection, and of each group of connections together (an
    integration's: check-weighted), from one read."""
    groups = {name: list(ids) for name, ids in groups.items()}
    counts = check_counts({cid for ids in groups.values() for cid in ids}, now)
    per_connection = {cid: uptimes(counts.get(cid, []), now)
                      for ids in groups.values() for cid in ids}
    per_group = {name: uptimes([c for cid in ids for c in counts.get(cid, [])], now)
                 for name, ids in groups.items()}
    return per_connection, per_group
