"""Live anomaly detection: the streaming detector fed with health-check latencies."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from atom.extensions import db
from atom.models import HealthSample
from atom.models.base import utcnow
from atom.monitoring.anomaly import StreamingDetector
from atom.monitoring.detectors import DetectorBank
from tests.atom.monitoring.conftest import alerts_of
from tests.fakes import reply

PARAMS = {"warmup": 20, "hold": 5}


@pytest.fixture
def settings():
    return {"ANOMALY_DETECTION": True, "ANOMALY_PARAMS": PARAMS,
            "HEALTH_SCORE_WARNING": 0, "HEALTH_SCORE_CRITICAL": 0,
            "RESPONSE_TIME_WARNING_MS": 60_000, "RESPONSE_TIME_CRITICAL_MS": 60_000}


def steady_history(app, conn_id: int, count: int = 40) -> None:
    """Stored checks of a steady service: 20 ms, give or take half a millisecond."""
    start = utcnow() - timedelta(hours=2)
    with app.app_context():
        for i in range(count):
            db.session.add(HealthSample(ts=start + timedelta(minutes=i), connection_id=conn_id,
                                        integration="http", ok=True,
                                        latency_ms=20.0 + 0.5 * (i % 3 - 1), has_call=True))
        db.session.commit()


def test_a_latency_spike_after_a_steady_history_raises_an_anomaly_alert(app, client, keys,
                                                                        connect, service, run):
    service.always("/spiky", reply(200, {"ok": True}, delay=1.0))
    conn = connect("/spiky")
    steady_history(app, conn["id"])

    run()

    [alert] = alerts_of(client, keys["viewer"], rule="anomaly")
    assert alert["connection_id"] == conn["id"] and alert["severity"] == "warning"
    assert alert["value"] >= 0.5 and "latency" in alert["message"]


def test_the_bank_scores_only_new_samples_and_learns_history_first(app):
    bank = DetectorBank(PARAMS)
    steady_history(app, 7)
    with app.app_context():
        first = bank.evaluate([7], utcnow())
        assert first[7].flagged is False  # the newest stored sample is ordinary
        again = bank.evaluate([7], utcnow())[7]
        # No new check: only the per-round failure count (none) is scored.
        assert (again.series, again.value, again.flagged) == ("errors", 0.0, False)
        db.session.add(HealthSample(ts=utcnow(), connection_id=7, integration="http", ok=True,
                                    latency_ms=900.0, has_call=True))
        db.session.commit()
        spike = bank.evaluate([7], utcnow())[7]
    assert spike.flagged and spike.series == "latency" and spike.value == 900.0


def feed(detector, values, start, step_s: float = 60.0):
    """Observe ``values`` one ``step_s`` apart from ``start``; return the flagged indices."""
    return [i for i, value in enumerate(values)
            if detector.observe(value, start + timedelta(seconds=step_s * i))[1]]


def steady(count: int, seed: int = 1):
    """A steady service's latencies: 20 ms give or take a millisecond."""
    rng = np.random.default_rng(seed)
    return list(20.0 + rng.uniform(-1.0, 1.0, count))


def test_live_detectors_score_after_an_hour_of_checks_at_60_s():
    start = utcnow()
    assert DetectorBank({}).params["warmup_s"] == 3600.0
    for spike_at, flagged in ((58, False), (60, True)):
        values = steady(120)
        values[spike_at] = 300.0
        detector = StreamingDetector(**DetectorBank({}).params)
        flags = feed(detector, values, start)
        assert (spike_at in flags) is flagged, (spike_at, flags)
    # The sample warm-up (600) still bounds it when samples come without times.
    untimed = StreamingDetector(**DetectorBank({}).params)
    values = steady(120)
    values[60] = 300.0
    assert [i for i, v in enumerate(values) if untimed.observe(v)[1]] == []


def test_a_steady_series_is_never_flagged_in_a_day_of_checks():
    detector = StreamingDetector(**DetectorBank({}).params)
    assert feed(detector, steady(1440, seed=4), utcnow()) == []
    assert detector.warm


class TestThroughRounds:
    @pytest.fixture
    def settings(self):
        return {"ANOMALY_DETECTION": True, "HEALTH_SCORE_WARNING": 0, "HEALTH_SCORE_CRITICAL": 0,
                "RESPONSE_TIME_WARNING_MS": 60_000, "RESPONSE_TIME_CRITICAL_MS": 60_000}

    def test_an_hour_of_checks_then_a_spike_raises_an_anomaly_alert(self, app, client, keys,
                                                                    connect, service, run,
                                                                    clock):
        service.always("/svc", reply(200, {"ok": True}))
        conn = connect("/svc")
        for _ in range(60):  # checks at 0..59 minutes: an hour of them, nothing flagged
            run()
            clock.advance(60)
        assert alerts_of(client, keys["viewer"], rule="anomaly") == []
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count(HealthSample.id))) == 60

        service.always("/svc", reply(200, {"ok": True}, delay=0.4))
        run()  # the 61st check, an hour after the first

        [alert] = alerts_of(client, keys["viewer"], rule="anomaly")
        assert alert["connection_id"] == conn["id"] and "latency" in alert["message"]


class TestWithTheProductsStreaks:
    """The product's defaults (the tests' configuration opens every alert at once)."""

    @pytest.fixture
    def settings(self):
        return {"ANOMALY_DETECTION": True, "HEALTH_SCORE_WARNING": 0, "HEALTH_SCORE_CRITICAL": 0,
                "RESPONSE_TIME_WARNING_MS": 60_000, "RESPONSE_TIME_CRITICAL_MS": 60_000,
                "ALERT_OPEN_AFTER": 2, "ALERT_RESOLVE_AFTER": 2}

    def test_a_level_shift_opens_its_anomaly_alert_on_the_flag_and_clears_once_calm(
            self, app, client, keys, connect, service, run, clock):
        service.always("/svc", reply(200, {"ok": True}))
        conn = connect("/svc")
        for _ in range(60):
            run()
            clock.advance(60)
        service.always("/svc", reply(200, {"ok": True}, delay=0.4))
        statuses = []
        for _ in range(4):  # the detector flags the first slow check, then learns the new level
            run()
            clock.advance(60)
            statuses.append([a["status"] for a in alerts_of(client, keys["viewer"], rule="anomaly",
                                                            connection_id=conn["id"])])
        assert statuses[0] == ["open"]
        assert statuses[-1] == ["resolved"]


def test_a_flag_on_noise_is_not_worth_an_alert_but_a_real_slowdown_is():
    from datetime import datetime
    from atom.monitoring.detectors import LIVE_DEFAULTS, LatencyWatch
    rng = np.random.default_rng(7)
    stamps = [datetime(2024, 1, 1) + timedelta(minutes=i) for i in range(1440)]
    steady = list(20.0 + rng.gamma(2.0, 5.0, 1440))  # a long tail: the raw detector flags some
    raw, gated = LatencyWatch(LIVE_DEFAULTS), LatencyWatch(LIVE_DEFAULTS, 50.0, 1.5)
    raw_flags = [i for i, (v, ts) in enumerate(zip(steady, stamps)) if raw.observe(v, ts)[1]]
    gated_flags = [i for i, (v, ts) in enumerate(zip(steady, stamps)) if gated.observe(v, ts)[1]]
    assert raw_flags and gated_flags == []

    slow = LatencyWatch(LIVE_DEFAULTS, 50.0, 1.5)
    for v, ts in zip(steady[:600], stamps):
        slow.learn(v, ts)
    assert slow.observe(400.0, stamps[600])[1]
    faster = LatencyWatch(LIVE_DEFAULTS, 50.0, 1.5)
    for v, ts in zip(steady[:600], stamps):
        faster.learn(v, ts)
    assert not faster.observe(1.0, stamps[600])[1]  # faster is never worth an alert
