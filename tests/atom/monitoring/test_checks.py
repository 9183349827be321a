"""Health-check rounds: concurrent, bounded by a timeout, never stopped by one bad check."""
from __future__ import annotations

import threading
import time

from atom.extensions import db
from atom.models import HealthSample
from atom.monitoring.checks import run_round
from tests.fakes import drop
from tests.fakes import reply


def test_a_round_checks_every_enabled_connection_concurrently(client, keys, connect, service,
                                                              run):
    lock, flight = threading.Lock(), {"now": 0, "most": 0}

    def slow(request):  # how many checks are in flight at once
        with lock:
            flight["now"] += 1
            flight["most"] = max(flight["most"], flight["now"])
        time.sleep(0.5)
        with lock:
            flight["now"] -= 1
        return reply(200, {"ok": True})

    service.always("/slow", slow)
    ids = [connect("/slow", label=f"slow {i}")["id"] for i in range(6)]
    disabled = connect("/health", label="off")
    client.patch(f"/api/v2/connections/{disabled['id']}", headers=keys["editor"],
                 json={"enabled": False})

    result = run()

    assert sorted(r["connection_id"] for r in result["results"]) == ids
    assert all(r["ok"] for r in result["results"])
    assert result["checked"] == 6 and result["failed"] == 0
    # Overlapping, not one after another (which would take 3 s): shown by the service, which
    # saw several checks at once, rather than by a wall time a loaded machine stretches.
    assert flight["most"] >= 3, flight
    assert result["duration_s"] >= 0.5
    assert service.count("/slow") == 6


def test_a_hanging_check_is_cut_off_at_its_timeout_and_counted_failed(app, connect, service, run):
    service.always("/hang", reply(200, {"ok": True}, delay=30))
    hung = connect("/hang")
    fine = connect("/health")

    started = time.monotonic()
    result = run()
    elapsed = time.monotonic() - started

    by_id = {r["connection_id"]: r for r in result["results"]}
    assert by_id[hung["id"]]["ok"] is False
    assert by_id[hung["id"]]["error_class"] == "timeout"
    assert by_id[fine["id"]]["ok"] is True
    assert elapsed < 12  # HEALTH_CHECK_TIMEOUT_S is 4 in these tests; the read timeout is 30
    with app.app_context():
        samples = db.session.scalars(db.select(HealthSample)
                                     .filter_by(connection_id=hung["id"])).all()
    assert [(s.ok, s.error_class) for s in samples] == [(False, "timeout")]


def test_a_plugin_that_raises_is_recorded_failed_and_the_round_goes_on(client, keys,
                                                                       create_connection, service,
                                                                       run):
    buggy = create_connection("probe", {"base_url": service.url, "mode": "bug"}, label="buggy")
    fine = create_connection("probe", {"base_url": service.url}, label="fine")
    dropped = create_connection("http", {"base_url": service.url, "health_path": "/drop",
                                         "max_attempts": 1}, label="dropped")
    service.always("/drop", drop())

    result = run()

    by_id = {r["connection_id"]: r for r in result["results"]}
    assert by_id[buggy["id"]]["ok"] is False
    assert by_id[buggy["id"]]["error_class"] == "upstream"
    assert "RuntimeError" in by_id[buggy["id"]]["message"]
    assert by_id[fine["id"]]["ok"] is True
    assert by_id[dropped["id"]]["ok"] is False
    shown = client.get(f"/api/v2/connections/{buggy['id']}", headers=keys["viewer"]).get_json()
    assert shown["last_test"]["ok"] is False and shown["last_test"]["error_class"] == "upstream"


def test_run_round_is_the_code_the_endpoint_runs(app, connect, service):
    conn = connect("/health")
    result = run_round(app).to_dict()
    assert [r["connection_id"] for r in result["results"]] == [conn["id"]]
    assert service.count("/health") == 1
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(HealthSample.id))) == 1


def test_the_connection_test_endpoint_records_a_health_sample_too(app, client, keys, connect):
    conn = connect("/health")
    response = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert response.status_code == 200 and response.get_json()["ok"] is True
    with app.app_context():
        sample = db.session.scalars(db.select(HealthSample)).one()
    assert sample.connection_id == conn["id"] and sample.ok and sample.has_call


def test_running_a_round_needs_the_editor_role(client, keys):
    assert client.post("/api/v2/monitoring/checks/run").status_code == 401
    assert client.post("/api/v2/monitoring/checks/run", headers=keys["viewer"]).status_code == 403


def test_a_round_without_connections_is_empty(run):
    result = run()
    assert result["results"] == [] and result["checked"] == 0


def test_a_connection_whose_plugin_is_not_loaded_is_reported_not_checked(app_factory,
                                                                         create_connection,
                                                                         service):
    from tests.atom.monitoring.conftest import QUICK

    probe = create_connection("probe", {"base_url": service.url}, label="probe")
    without_probe = app_factory(**{**QUICK, "PLUGINS": ["http=plugins.http.manifest:MANIFEST"]})
    [result] = run_round(without_probe).results
    assert result["connection_id"] == probe["id"]
    assert (result["ok"], result["error_class"]) == (False, "unavailable")
    assert service.count("/health") == 0
