"""Uptime over 24 h / 7 d / 30 d from the check history: raw samples and hourly roll-ups."""
from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from atom.extensions import db
from atom.models import HealthSample
from atom.monitoring import rollup
from atom.monitoring.uptime import connection_uptimes
from atom.monitoring.uptime import grouped_uptimes
from atom.monitoring.uptime import ratio
from atom.monitoring.uptime import uptimes

NOW = datetime(2025, 3, 31, 12, 30)


def test_uptime_is_the_passing_share_of_the_checks_in_each_period():
    counts = [(NOW - timedelta(hours=1), 10, 1),      # in all three periods
              (NOW - timedelta(days=3), 10, 10),      # 7 d and 30 d
              (NOW - timedelta(days=20), 20, 0),      # 30 d only
              (NOW - timedelta(days=40), 50, 50)]     # in none
    assert uptimes(counts, NOW) == {"24h": 0.9, "7d": 0.45, "30d": 0.725}
    assert uptimes([], NOW) == {"24h": None, "7d": None, "30d": None}
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

