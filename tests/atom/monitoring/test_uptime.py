"""Uptime over 24 h / 7 d / 30 d from the check history: raw samples and hourly roll-ups."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from atom.extensions import db
from atom.models import HealthSample
from atom.monitoring import rollup
from atom.monitoring.uptime import connection_uptimes
from atom.monitoring.uptime import grouped_uptimes
from atom.monitoring.uptime import ratio
from atom.monitoring.uptime import shares
from atom.models.base import utcnow
from atom.monitoring.uptime import connection_status
from atom.monitoring.uptime import uptime
from atom.monitoring.uptime import uptimes

NOW = datetime(2025, 3, 31, 12, 30)


def test_uptime_is_the_passing_share_of_the_checks_in_each_period():
    counts = [(NOW - timedelta(hours=1), 10, 1),      # in all three periods
              (NOW - timedelta(days=3), 10, 10),      # 7 d and 30 d
              (NOW - timedelta(days=20), 20, 0),      # 30 d only
              (NOW - timedelta(days=40), 50, 50)]     # in none
    assert shares(counts, NOW) == {"24h": 0.9, "7d": 0.45, "30d": 0.725}
    assert shares([], NOW) == {"24h": None, "7d": None, "30d": None}
    assert ratio(0, 0) is None and ratio(3, 0) == 1.0 and ratio(4, 1) == 0.75


def _sample(conn_id, ts, ok):
    db.session.add(HealthSample(ts=ts, connection_id=conn_id, integration="http", ok=ok,
                                latency_ms=12.0, error_class=None if ok else "upstream"))


def test_rolled_up_hours_count_once_and_pruned_raw_rows_still_count(app):
    with app.app_context():
        for hours_ago in range(1, 49):  # one check an hour for two days; the last 12 fail
            _sample(1, NOW - timedelta(hours=hours_ago, minutes=-5), ok=hours_ago > 12)
        _sample(2, NOW - timedelta(days=10), ok=True)
        db.session.commit()
        before = connection_uptimes([1, 2, 3], NOW)
        assert before[1] == {"24h": 0.5, "7d": 0.75, "30d": 0.75}
        assert before[2] == {"24h": None, "7d": None, "30d": 1.0}
        assert before[3] == {"24h": None, "7d": None, "30d": None}

        rollup.rollup(NOW)
        assert connection_uptimes([1, 2], NOW) == {1: before[1], 2: before[2]}
        # Raw rows pruned once rolled up: the roll-ups carry the history.
        db.session.execute(db.delete(HealthSample).where(HealthSample.ts < NOW - timedelta(hours=2)))
        db.session.commit()
        after = connection_uptimes([1, 2], NOW)
        assert after[1]["7d"] == 0.75 and after[2]["30d"] == 1.0
        # 24 h: the roll-up hour that straddles the start counts whole (at most one more check).
        assert abs(after[1]["24h"] - 0.5) <= 0.03


def test_a_group_is_check_weighted(app):
    with app.app_context():
        for i in range(3):
            _sample(1, NOW - timedelta(minutes=10 + i), ok=True)
        _sample(2, NOW - timedelta(minutes=5), ok=False)
        db.session.commit()
        per_conn, per_group = grouped_uptimes({"http": [1, 2], "slack": []}, NOW)
        assert per_conn[1]["24h"] == 1.0 and per_conn[2]["24h"] == 0.0
        assert per_group["http"]["24h"] == 0.75
        assert per_group["slack"] == {"24h": None, "7d": None, "30d": None}


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
        assert rollup.rollup(now) > 0  # the complete hours are rolled up
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
        rollup.rollup(now)
        buckets = trends(now, 3, connection_id=1)
        rolled, raw = buckets[0], buckets[-1]
        for bucket in (rolled, raw):
            assert bucket["p50_response_time_ms"] == 30.0
            assert bucket["p95_response_time_ms"] > 800
        assert buckets[1]["p50_response_time_ms"] is None


# -- uptime in the API views and Prometheus, against a known history -------------------------------

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from atom.models import MetricRollup  # noqa: E402
from atom.monitoring.monitor import get_monitor  # noqa: E402


def _rollup(conn_id: int, bucket, count: int, errors: int) -> None:
    db.session.add(MetricRollup(source="check", bucket=bucket, integration="http",
                                connection_id=conn_id, count=count, error_count=errors,
                                latency_sum_ms=10.0 * count, latency_max_ms=10.0, p50_ms=10.0,
                                p95_ms=10.0))


def known_history(app, first: int, second: int):
    """Hourly roll-ups up to three hours ago and raw checks after them, for two connections.

    ``first``: 24 h: 1,000 checks, 10 failed (99.0 %); 7 d: 8,200, 369 failed (95.5 %);
    30 d: 13,720, 369 failed. A failed raw check inside a rolled-up hour is already in its
    roll-up (not counted again); a failing hour older than 30 days is not counted.
    ``second``: 10 raw checks in the last hour, all failed."""
    now = utcnow().replace(minute=30, second=0, microsecond=0)
    hour = now.replace(minute=0)
    with app.app_context():
        for k in range(3, 25):                          # 22 hours: 990 checks, 10 failed
            _rollup(first, hour - timedelta(hours=k), 45, 10 if k == 5 else 0)
        errors = 359                                    # 144 hours: 7,200 checks, 359 failed
        for k in range(25, 169):
            _rollup(first, hour - timedelta(hours=k), 50, min(errors, 44))
            errors -= min(errors, 44)
        for k in range(169, 721):                       # 552 hours: 5,520 checks
            _rollup(first, hour - timedelta(hours=k), 10, 0)
        _rollup(first, hour - timedelta(hours=722), 1000, 1000)   # older than 30 days
        _sample(first, hour - timedelta(hours=3, minutes=-10), ok=False)  # rolled up already
        for i in range(10):
            _sample(first, now - timedelta(minutes=1 + i), ok=True)
            _sample(second, now - timedelta(minutes=1 + i), ok=False)
        db.session.commit()
    get_monitor(app).clock = lambda: now
    return now


FIRST = {"24h": 0.99, "7d": 0.955, "30d": round((13720 - 369) / 13720, 4)}
SECOND = {"24h": 0.0, "7d": 0.0, "30d": 0.0}
HTTP = {"24h": round(990 / 1010, 4), "7d": round((8200 - 369) / 8210, 4),
        "30d": round((13720 - 369) / 13730, 4)}


def test_uptime_in_every_view_matches_a_known_history(app, client, keys, connect):
    a, b = connect("/health", label="first"), connect("/health", label="second")
    known_history(app, a["id"], b["id"])
    get = lambda path: client.get(path, headers=keys["viewer"]).get_json()  # noqa: E731

    http = get("/api/v2/monitoring/services")["services"]["http"]
    assert http["uptime"] == HTTP
    assert [c["uptime"] for c in http["connections"]] == [FIRST, SECOND]
    one = get("/api/v2/monitoring/services/http")
    assert one["uptime"] == HTTP and one["connections"][0]["uptime"] == FIRST
    assert get("/api/v2/health/summary")["services"]["http"]["uptime"] == HTTP
    report = get("/api/v2/health/health/http")["services"]["http"]
    assert report["uptime"] == HTTP
    assert [c["uptime"] for c in report["connection_health"]] == [FIRST, SECOND]
    assert get(f"/api/v2/connections/{a['id']}")["uptime"] == FIRST
    listed = get("/api/v2/connections")["connections"]
    assert [c["uptime"] for c in listed] == [FIRST, SECOND]


def test_prometheus_has_the_uptime_gauges(app, client, keys, connect):
    a, b = connect("/health", label="first"), connect("/health", label="second")
    known_history(app, a["id"], b["id"])
    text = client.get("/metrics", headers=keys["viewer"]).get_data(as_text=True)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["atom_connection_uptime_ratio"].type == "gauge"
    conn = {(s.labels["connection_id"], s.labels["integration"], s.labels["period"]): s.value
            for s in families["atom_connection_uptime_ratio"].samples}
    for period in ("24h", "7d", "30d"):
        assert conn[(str(a["id"]), "http", period)] == FIRST[period]
        assert conn[(str(b["id"]), "http", period)] == SECOND[period]
    integration = {(s.labels["integration"], s.labels["period"]): s.value
                   for s in families["atom_integration_uptime_ratio"].samples}
    assert integration == {("http", p): v for p, v in HTTP.items()}  # none for slack: no checks


def test_uptimes_take_the_same_queries_for_5_or_500_connections(app):
    from sqlalchemy import event

    def statements(ids) -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            grouped_uptimes({"http": ids}, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    with app.app_context():
        for cid in range(1, 501):
            _sample(cid, NOW - timedelta(minutes=5), ok=cid % 2 == 0)
        _rollup(1, NOW.replace(minute=0) - timedelta(hours=2), 10, 5)
        db.session.commit()
        assert statements(list(range(1, 6))) == statements(list(range(1, 501))) <= 3
        per_conn, per_group = grouped_uptimes({"http": list(range(1, 501))}, NOW)
        assert per_conn[2]["24h"] == 1.0 and per_conn[3]["24h"] == 0.0
        assert per_group["http"]["24h"] == round(255 / 510, 4)
