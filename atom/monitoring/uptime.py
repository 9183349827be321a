"""Uptime of a connection, and the one word that says how a connection is doing.

Uptime over a period is the share of its health checks that passed: the hourly check roll-ups
(:class:`~atom.models.MetricRollup`, ``source="check"``) for the hours rolled up already, and
the raw :class:`~atom.models.HealthSample` rows for the hours after them, so a check is never
counted twice and 30 days stay readable after the raw samples are pruned. A roll-up counts when
its hour starts inside the period. Checks made during a maintenance window count like any
other (the roll-ups cannot tell them apart).

:func:`connection_status` is what pages show for a connection: its health (``down`` when the
score is 0 or the checks fail in a row up to the critical level), not only the stored
``Connection.status``, which stays ``active`` until a credential is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Mapping

from atom.extensions import db
from atom.models import HealthSample
from atom.models import MetricRollup

HOUR = timedelta(hours=1)
#: The periods pages show: label and length in hours.
PERIODS = (("24 h", 24), ("7 d", 24 * 7), ("30 d", 24 * 30))


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


def _rolled_until() -> datetime | None:
    """The first hour whose checks are not rolled up yet (None: nothing is rolled up)."""
    last = db.session.scalar(db.select(db.func.max(MetricRollup.bucket))
                             .where(MetricRollup.source == "check"))
    return None if last is None else last + HOUR


_ASK = object()


def uptime(now: datetime, connection_id: int, hours: int, rolled_until: Any = _ASK) -> Uptime:
    """The share of ``connection_id``'s health checks that passed in the ``hours`` before
    ``now`` (naive UTC).

    :param rolled_until: the first hour not rolled up (None: none is), when already known.
    """
    start = now - hours * HOUR
    rolled = _rolled_until() if rolled_until is _ASK else rolled_until
    checks = passed = 0
    if rolled is not None:
        count, errors = db.session.execute(
            db.select(db.func.coalesce(db.func.sum(MetricRollup.count), 0),
                      db.func.coalesce(db.func.sum(MetricRollup.error_count), 0))
            .where(MetricRollup.source == "check", MetricRollup.connection_id == connection_id,
                   MetricRollup.bucket >= start, MetricRollup.bucket < rolled)).one()
        checks, passed = int(count), int(count) - int(errors)
    since = start if rolled is None else max(start, rolled)
    count, ok = db.session.execute(
        db.select(db.func.count(HealthSample.id),
                  db.func.coalesce(db.func.sum(db.case((HealthSample.ok.is_(True), 1), else_=0)), 0))
        .where(HealthSample.connection_id == connection_id, HealthSample.ts >= since,
               HealthSample.ts <= now)).one()
    return Uptime(hours, checks + int(count), passed + int(ok))


def uptimes(now: datetime, connection_id: int) -> list[tuple[str, Uptime]]:
    """Uptime over each of :data:`PERIODS`, labelled."""
    rolled = _rolled_until()
    return [(label, uptime(now, connection_id, hours, rolled_until=rolled))
            for label, hours in PERIODS]


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
