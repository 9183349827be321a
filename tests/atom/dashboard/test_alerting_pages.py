"""The alerting parts of the monitoring pages: flapping badges (status board, alert list, alert
page) and the per-rule streaks on the thresholds form."""
from __future__ import annotations

import re

import pytest

from atom.monitoring.monitor import get_monitor
from tests.atom.dashboard.test_monitoring_pages import error_of
from tests.atom.dashboard.test_monitoring_pages import run_round
from tests.atom.dashboard.test_monitoring_pages import text
from tests.atom.dashboard.test_monitoring_pages import value_of
from tests.atom.monitoring.conftest import QUICK
from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    # More than one change of its checks in the window is flapping; alerts open at once.
    app = app_factory(**{**QUICK, "FLAP_MAX_CHANGES": 1, "ALERT_RECOVERY_EVALUATIONS": None,
                         "ALERT_RESOLVE_AFTER": 1})
    yield app
    get_monitor(app).notifier.close()


@pytest.fixture
def service():
    with FakeServer() as fake:
        yield fake


def test_a_flapping_connection_is_badged_on_the_board_and_its_alerts(signed_in, client, keys,
                                                                      create_connection, service):
    conn = create_connection("http", {"base_url": service.url, "health_path": "/api",
                                      "max_attempts": 1}, label="Ledger API")
    for status in (503, 200):
        service.always("/api", reply(status, {}))
        run_round(client, keys)
    board = text(signed_in.get("/monitoring"))
    assert "status-flapping" not in board, "one change is not flapping"

    service.always("/api", reply(503, {}))
    run_round(client, keys)  # the second change
    board = text(signed_in.get("/monitoring"))
    row = re.search(r'<tr>\s*<td data-label="Connection">.*?Ledger API.*?</tr>', board, re.S)
    assert row and "status-flapping" in row.group(0)
    [alert] = client.get("/api/v2/monitoring/alerts", headers=keys["viewer"],
                         query_string={"status": "active", "rule": "success_rate",
                                       "connection_id": conn["id"]}).get_json()["alerts"]
    listed = text(signed_in.get("/monitoring/alerts"))
    alert_row = re.search(rf'<tr id="alert-{alert["id"]}">(.*?)</tr>', listed, re.S).group(1)
    assert "status-flapping" in alert_row
    page = text(signed_in.get(f"/monitoring/alerts/{alert['id']}"))
    assert "notifications held until it settles" in page
    assert page.count("<h1") == 1


def test_the_streaks_of_each_rule_are_on_the_thresholds_form(signed_in, client, keys):
    page = text(signed_in.get("/monitoring/thresholds"))
    assert "Evaluations in a row" in page
    assert value_of(page, "success_rate_open_after") == "1"  # the tests' quick settings
    assert value_of(page, "consecutive_failures_resolve_after") == "1"
    assert '<label for="f-anomaly_open_after">Open after</label>' in page
    current = client.get("/api/v2/monitoring/thresholds", headers=keys["viewer"]).get_json()
    form = {name: str(value) for name, value in current["thresholds"].items()}

    zero = signed_in.post("/monitoring/thresholds", data={**form, "success_rate_open_after": "0"})
    assert zero.status_code == 422
    assert error_of(text(zero), "success_rate_open_after") == "must be between 1 and 1000"
    half = signed_in.post("/monitoring/thresholds", data={**form, "anomaly_open_after": "1.5"})
    assert half.status_code == 422 and error_of(text(half), "anomaly_open_after")

    saved = signed_in.post("/monitoring/thresholds", data={**form, "success_rate_open_after": "3"})
    assert saved.status_code == 302
    after = client.get("/api/v2/monitoring/thresholds", headers=keys["viewer"]).get_json()
    assert after["thresholds"]["success_rate_open_after"] == 3
    assert "(changed)" in text(signed_in.get("/monitoring/thresholds"))
