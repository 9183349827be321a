"""Monitoring on PostgreSQL: a round, metrics, alerts, roll-ups and the scheduler's lock."""
from __future__ import annotations

import pytest

from atom.cli import main
from atom.monitoring.monitor import get_monitor
from atom.scheduler import AdvisoryLock
from atom.scheduler import make_lock
from tests.atom.monitoring.conftest import QUICK
from tests.conftest import make_key
from tests.fakes import reply



@pytest.fixture
def pg_app(app_factory, pg_url, clock):
    app = app_factory(**{**QUICK, "SQLALCHEMY_DATABASE_URI": pg_url})
    get_monitor(app).clock = clock
    yield app
    get_monitor(app).notifier.close()


@pytest.mark.postgres
def test_a_round_metrics_alerts_and_rollups_on_postgresql(pg_app, service):
    client = pg_app.test_client()
    headers = {"Authorization": f"Bearer {make_key(pg_app, 'admin')}"}
    service.always("/down", reply(503, {}))
    for path in ("/health", "/down"):
        created = client.post("/api/v2/connections", headers=headers, json={
            "integration": "http", "label": path,
            "settings": {"base_url": service.url, "health_path": path, "max_attempts": 1}})
        assert created.status_code == 201, created.get_json()
    for _ in range(3):
        assert client.post("/api/v2/monitoring/checks/run", headers=headers).status_code == 200

    http = client.get("/api/v2/monitoring/services/http", headers=headers).get_json()
    assert http["observations"] == 6 and http["error_count"] == 3
    alerts = client.get("/api/v2/monitoring/alerts?status=active", headers=headers).get_json()
    assert {a["rule"] for a in alerts["alerts"]} >= {"success_rate", "consecutive_failures"}
    assert client.get("/api/v2/monitoring/analytics?hours=2",
                      headers=headers).get_json()["buckets"][-1]["calls"] == 6
    result = pg_app.test_cli_runner().invoke(main, ["monitoring", "maintain"])
    assert result.exit_code == 0, result.output
    assert isinstance(make_lock(pg_app), AdvisoryLock)
