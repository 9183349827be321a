"""Uptime over 24 h / 7 d / 30 d from health checks (raw samples and hourly roll-ups), and the
status word pages show for a connection."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from atom.extensions import db
from atom.models import HealthSample
from atom.models.base import utcnow
from atom.monitoring.rollup import rollup
from atom.monitoring.uptime import connection_status
from atom.monitoring.uptime import uptime
from atom.monitoring.uptime import uptimes

TH = {"consecutive_failures_critical": 5}


def checks(conn_id: int, now, *spec: tuple[float, bool]) -> None:
    """Health samples ``hours_ago, ok`` for ``conn_id``."""
    for hours_ago, ok in spec:
        db.session.add(HealthSample(ts=now - timedelta(hours=hours_ago), connection_id=conn_id,
                                    integration="http", ok=ok, latency_ms=10.0))
    db.session.commit()


def test_uptime_is_the_share_of_passed_checks_in_each_period(app):
    with app.app_context():
        now = utcnow()
        checks(1, now, (0.1, True), (0.2, True), (0.3, True), (0.4, False),  # last hour: 3 of 4
               (48, False),                                                  # 2 days ago
               (24 * 20, True), (24 * 40, False))                            # 20 and 40 days ago
        checks(2, now, (0.1, False))                                         # another connection
        day, week, month = (u for _label, u in uptimes(now, 1))
        assert (day.checks, day.passed, day.ratio, day.percent) == (4, 3, 0.75, 75.0)
        assert (week.checks, week.passed) == (5, 3)
        assert (month.checks, month.passed) == (6, 4)
        assert [label for label, _u in uptimes(now, 1)] == ["24 h", "7 d", "30 d"]
        assert uptime(now, 2, 24).ratio == 0.0


def test_without_checks_there_is_no_uptime_rather_than_100_percent(app):
    with app.app_context():
        result = uptime(utcnow(), 99, 24)
        assert (result.checks, result.ratio, result.percent) == (0, None, None)
        assert result.to_dict() == {"hours": 24, "checks": 0, "passed": 0, "uptime": None}


def test_rolled_up_hours_count_once_and_outlive_the_raw_samples(app):
    with app.app_context():
        now = utcnow().replace(minute=30)
        checks(1, now, (3, True), (3.1, False), (5, True), (0.1, True))
        before = uptime(now, 1, 24)
        assert rollup(now) > 0  # the complete hours are rolled up
        after = uptime(now, 1, 24)
        assert (after.checks, after.passed) == (before.checks, before.passed) == (4, 3)
        # Retention deletes the raw rows of the rolled-up hours: the roll-ups still count.
        db.session.execute(db.delete(HealthSample).where(HealthSample.ts < now - timedelta(hours=1)))
        db.session.commit()
        pruned = uptime(now, 1, 24)
        assert (pruned.checks, pruned.passed) == (4, 3)


@dataclass
class M:
    score: float | None
    status: str = "healthy"
    consecutive_failures: int = 0
    in_maintenance: bool = False


def test_the_status_shown_follows_health_not_the_stored_word():
    assert connection_status(True, "active", M(0.0, "unhealthy"), TH) == "down"
    assert connection_status(True, "active", M(45.0, "unhealthy"), TH) == "unhealthy"
    assert connection_status(True, "active", M(45.0, "unhealthy", consecutive_failures=5), TH) == "down"
    assert connection_status(True, "active", M(70.0, "degraded"), TH) == "degraded"
    assert connection_status(True, "active", M(99.0), TH) == "healthy"
    assert connection_status(True, "active", M(None, "unknown"), TH) == "unknown"
    assert connection_status(True, "active", M(None, "unknown"), TH, last_test_ok=False) == "down"
    assert connection_status(True, "active", M(0.0, in_maintenance=True), TH) == "maintenance"
    assert connection_status(True, "needs_reauth", M(99.0), TH) == "needs_reauth"
    assert connection_status(False, "active", None, TH) == "disabled"
    assert connection_status(True, "active", None, TH) == "unknown"


def test_hourly_trends_carry_the_p50_next_to_the_p95_raw_and_rolled_up(app):
    from atom.models import CallRecord
    from atom.monitoring.rollup import trends

    with app.app_context():
        now = utcnow().replace(minute=30)
        for hours_ago in (0.1, 2.1):
            for latency in (10.0, 20.0, 30.0, 40.0, 1000.0):
                db.session.add(CallRecord(ts=now - timedelta(hours=hours_ago), integration="http",
                                          connection_id=1, operation="get", status=200, ok=True,
                                          latency_ms=latency, attempts=1))
        db.session.commit()
        rollup(now)
        buckets = trends(now, 3, connection_id=1)
        rolled, raw = buckets[0], buckets[-1]
        for bucket in (rolled, raw):
            assert bucket["p50_response_time_ms"] == 30.0
            assert bucket["p95_response_time_ms"] > 800
        assert buckets[1]["p50_response_time_ms"] is None
