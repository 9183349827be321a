"""Live anomaly detection: the streaming detector fed with health-check latencies."""
from __future__ import annotations

from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import HealthSample
from atom.models.base import utcnow
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
        first = bank.evaluate([7])
        assert first[7].flagged is False  # the newest stored sample is ordinary
        again = bank.evaluate([7])[7]
        # No new check: only the per-round failure count (none) is scored.
        assert (again.series, again.value, again.flagged) == ("errors", 0.0, False)
        db.session.add(HealthSample(ts=utcnow(), connection_id=7, integration="http", ok=True,
                                    latency_ms=900.0, has_call=True))
        db.session.commit()
        spike = bank.evaluate([7])[7]
    assert spike.flagged and spike.series == "latency" and spike.value == 900.0
