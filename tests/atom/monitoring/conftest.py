"""Fixtures for monitoring: an app with quick monitoring settings, a local fake service whose
latency and failures the tests script, and helpers to connect it and run rounds."""
from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest

from atom.extensions import db
from atom.models import CallRecord
from atom.models import HealthSample
from atom.models.base import utcnow
from atom.monitoring.monitor import get_monitor
from atom.state import get_state
from tests.fakes import FakeServer
from tests.fakes import reply

QUICK = {
    "PLUGINS": ["http=plugins.http.manifest:MANIFEST", "slack=plugins.slack.manifest:MANIFEST",
                "probe=tests.atom.monitoring.probe_plugin:MANIFEST"],
    "PLUGINS_ENABLED": None,
    "ALERT_MIN_OBSERVATIONS": 1,
    "ALERT_OPEN_AFTER": 1,  # one bad round opens an alert (test_streaks.py tests the default 2)
    "ALERT_RECOVERY_EVALUATIONS": 2,
    "HEALTH_CHECK_TIMEOUT_S": 4.0,  # room for a loopback answer on a loaded 2-core machine
    "MONITORING_WINDOW_S": 600,
    "ANOMALY_DETECTION": False,
}


class Clock:
    """The monitor's clock: real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self):
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def settings() -> dict[str, Any]:
    """Config for the app; a test module overrides this fixture to change it."""
    return {}


@pytest.fixture(autouse=True)
def fresh_hosts():
    """Forget the hosts of other tests' connections: ids restart with each test's database,
    and atom.monitoring.hosts caches by (id, revision) for the whole process."""
    from atom.monitoring import hosts

    with hosts._LOCK:
        hosts._CACHE.clear()


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The monitor's clock; the calls the client records are stamped by it too, so that moving
    it forward moves everything the rules read (calls, checks, evaluations) together."""
    import atom.integrations.http as http_module

    moved = Clock()

    class Shifted(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.now(tz) + moved.offset

    monkeypatch.setattr(http_module, "datetime", Shifted)
    return moved


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path, settings, clock):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(**{**QUICK, **settings})
    get_monitor(app).clock = clock
    yield app
    get_monitor(app).notifier.close()


@pytest.fixture
def service():
    """A fake service: ``/health`` answers 200 unless the test scripts otherwise."""
    with FakeServer() as fake:
        fake.always("/health", reply(200, {"ok": True}))
        yield fake


@pytest.fixture
def connect(create_connection, service):
    """Create an ``http`` connection to the fake service (one attempt per call, so a failure is
    one request); ``path`` is its health path."""
    def make(path: str = "/health", label: str | None = None, url: str | None = None,
             **settings: Any) -> dict:
        return create_connection("http", {"base_url": url or service.url, "health_path": path,
                                          "max_attempts": 1, **settings}, label=label or path)

    return make


@pytest.fixture
def run(client, keys):
    """Run a round through the API and return its JSON."""
    def run_round() -> dict:
        response = client.post("/api/v2/monitoring/checks/run", headers=keys["editor"])
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return run_round


@pytest.fixture
def age(app):
    """Make every recorded call and check ``seconds`` older (time passing for the window)."""
    def shift(seconds: float) -> None:
        delta = timedelta(seconds=seconds)
        with app.app_context():
            get_state(app).recorder.flush()
            for model in (CallRecord, HealthSample):
                for row in db.session.scalars(db.select(model)):
                    row.ts = row.ts - delta
            db.session.commit()

    return shift


def alerts_of(client, headers, **query: Any) -> list[dict]:
    response = client.get("/api/v2/monitoring/alerts", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["alerts"]
