"""The monitoring pages: status board, check rounds, system view, alerts (acknowledge, resolve),
maintenance windows, thresholds and notification channels, through the Flask test client."""
from __future__ import annotations

import re
from datetime import datetime
from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import Alert
from atom.models import MaintenanceWindow
from atom.models import User
from atom.models.base import utcnow
from atom.monitoring.monitor import get_monitor
from tests.atom.monitoring.conftest import QUICK
from tests.fakes import FakeServer
from tests.fakes import reply

HTMX = {"HX-Request": "true"}
PASSWORD = "correct horse battery"


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(**QUICK)
    yield app
    get_monitor(app).notifier.close()


@pytest.fixture
def service():
    with FakeServer() as fake:
        fake.always("/health", reply(200, {"ok": True}))
        fake.always("/down", reply(503, {"error": "down"}))
        fake.always("/alerts", reply(200, {"received": True}))
        yield fake


@pytest.fixture
def users(app):
    """An editor and a viewer besides alice (admin)."""
    with app.app_context():
        for role in ("editor", "viewer"):
            user = User(email=f"{role}@example.com", role=role)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
    return {role: {"email": f"{role}@example.com", "password": PASSWORD}
            for role in ("editor", "viewer")}


def sign_in_as(app, creds):
    other = app.test_client()
    assert other.post("/login", data=creds).status_code == 302
    return other


@pytest.fixture
def two(create_connection, service):
    """An http connection that answers and one that is down."""
    ok = create_connection("http", {"base_url": service.url, "health_path": "/health",
                                    "max_attempts": 1}, label="Billing API")
    down = create_connection("http", {"base_url": service.url, "health_path": "/down",
                                      "max_attempts": 1}, label="Ledger API")
    return ok, down


def run_round(client, keys):
    response = client.post("/api/v2/monitoring/checks/run", headers=keys["editor"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def text(response) -> str:
    return response.get_data(as_text=True)


def error_of(html: str, field: str) -> str:
    """The message shown beside a field (the form macro's ``<p class="error" id=...>``)."""
    found = re.search(rf'id="f-{re.escape(field)}-error">([^<]*)<', html)
    assert found, f"no error beside {field}"
    return found.group(1)


def value_of(html: str, field: str) -> str | None:
    found = re.search(rf'<input[^>]*id="f-{re.escape(field)}"[^>]*>', html, re.S)
    assert found, f"no input {field}"
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else None


# -- status board -----------------------------------------------------------------------------


def test_the_board_starts_the_job_when_there_is_nothing_to_watch(signed_in):
    page = text(signed_in.get("/monitoring"))
    assert "<h1>Monitoring</h1>" in page
    assert "No connections to watch yet" in page
    # Installed integrations without connections: shown, with no data.
    assert "Installed, without connections" in page and "Slack" in page and "no data" in page


def test_the_board_shows_every_connection_and_integration_with_status_score_latency_uptime(
        signed_in, client, keys, two):
    ok, down = two
    run_round(client, keys)
    run_round(client, keys)
    page = text(signed_in.get("/monitoring"))
    assert "Billing API" in page and "Ledger API" in page
    # One connection completely down: the overall status is unhealthy, not degraded.
    overall = re.search(r'id="overall-status"><span class="status status-(\w+)"', page)
    assert overall and overall.group(1) == "unhealthy"
    assert client.get("/api/v2/monitoring/health",
                      headers=keys["viewer"]).get_json()["status"] == "unhealthy"
    assert page.count('class="spark"') >= 3  # two connections and the http integration
    assert "100.00 %" in page and "0.00 %" in page  # uptime of each
    assert "✗ upstream" in page and "✓ ok" in page
    assert 'status-healthy' in page and 'status-unhealthy' in page
    # Slack has no connection: listed as installed without data.
    assert re.search(r"<li><span>Slack</span>\s*<span class=\"status status-unknown\">no data", page)


def test_a_disabled_connection_is_listed_as_disabled(app, signed_in, client, keys, two):
    _, down = two
    assert client.patch(f"/api/v2/connections/{down['id']}", headers=keys["editor"],
                        json={"enabled": False}).status_code == 200
    page = text(signed_in.get("/monitoring"))
    assert "Ledger API" in page and "disabled: not checked" in page


def test_run_a_check_round_now_shows_the_result_inline(signed_in, two):
    response = signed_in.post("/monitoring/checks/run", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "round-done"
    page = text(response)
    assert "Checked 2 connections" in page and "1 failed" in page
    assert "Ledger API" in page and "upstream" in page
    assert "<html" not in page  # a fragment
    assert 'hx-swap-oob="outerHTML:header.top .alerts-count"' in page
    assert re.search(r'aria-label="(\d+) open alerts"', page).group(1) != "0"
    # Without htmx: the board again, with the outcome flashed.
    plain = signed_in.post("/monitoring/checks/run")
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/monitoring")
    assert "Checked 2 connections" in text(signed_in.get("/monitoring"))


def test_the_board_refreshes_as_a_fragment(signed_in, two):
    fragment = signed_in.get("/monitoring/board", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in text(fragment)
    assert "Billing API" in text(fragment)
    assert signed_in.get("/monitoring/board").status_code == 302


def test_viewers_see_the_board_but_cannot_run_a_round(app, users, two):
    viewer = sign_in_as(app, users["viewer"])
    page = text(viewer.get("/monitoring"))
    assert "Billing API" in page and "Run a check round now" not in page
    assert viewer.post("/monitoring/checks/run", headers=HTMX).status_code == 403


def test_connections_link_to_their_page_only_when_it_exists(app, signed_in, two):
    ok, _ = two
    page = text(signed_in.get("/monitoring"))
    link = f'href="/connections/{ok["id"]}"'
    assert (link in page) == ("dashboard.connection" in app.view_functions)


# -- system -----------------------------------------------------------------------------------


def test_the_system_view_shows_the_process_and_the_host(signed_in):
    import os

    page = text(signed_in.get("/monitoring/system"))
    assert "<h1>System</h1>" in page
    assert f"<dd>{os.getpid()}</dd>" in page
    assert "The host" in page and "Load average" in page and "<meter" in page
    assert "Scheduler" in page and "Overall status" in page


# -- alerts -----------------------------------------------------------------------------------


@pytest.fixture
def alert(client, keys, two):
    """An open critical alert about the connection that is down (a real check round)."""
    run_round(client, keys)
    found = client.get("/api/v2/monitoring/alerts", headers=keys["viewer"],
                       query_string={"rule": "success_rate"}).get_json()["alerts"]
    assert found and found[0]["status"] == "open"
    return found[0]


def test_the_alert_list_shows_severity_status_subject_and_when(signed_in, alert):
    page = text(signed_in.get("/monitoring/alerts"))
    row = re.search(rf'<tr id="alert-{alert["id"]}">(.*?)</tr>', page, re.S).group(1)
    assert "status-critical" in row and "status-open" in row and "Ledger API" in row
    assert "success rate" in row and "<time" in row
    assert "Acknowledge" in row and "Resolve" in row


def test_alert_filters_use_the_api_validation_and_keep_their_values(signed_in, alert):
    critical = text(signed_in.get("/monitoring/alerts?severity=critical&integration=http"))
    assert f'id="alert-{alert["id"]}"' in critical
    assert '<option value="critical" selected>' in critical
    warning = text(signed_in.get("/monitoring/alerts?severity=warning&rule=success_rate"))
    assert f'id="alert-{alert["id"]}"' not in warning and "No alerts match" in warning
    resolved = text(signed_in.get("/monitoring/alerts?status=resolved"))
    assert f'id="alert-{alert["id"]}"' not in resolved
    assert f'id="alert-{alert["id"]}"' in text(signed_in.get("/monitoring/alerts?status=all"))
    bad = signed_in.get("/monitoring/alerts?severity=loud")
    assert bad.status_code == 422
    assert "Must be one of" in error_of(text(bad), "severity")
    unknown = signed_in.get("/monitoring/alerts?integration=nope")
    assert unknown.status_code == 422 and "nope" in error_of(text(unknown), "integration")


def test_alerts_are_paged_and_the_pages_keep_the_filters(app, signed_in):
    with app.app_context():
        for i in range(30):
            db.session.add(Alert(rule="health_score", subject=f"connection:{i}",
                                 integration="http", connection_id=1000 + i, severity="warning",
                                 status="open", message=f"seeded {i}", created_at=utcnow()))
        db.session.commit()
    first = text(signed_in.get("/monitoring/alerts?severity=warning"))
    assert first.count('<tr id="alert-') == 25
    assert "Page 1 of 2" in first and "severity=warning&amp;page=2" in first
    second = text(signed_in.get("/monitoring/alerts?severity=warning&page=2"))
    assert second.count('<tr id="alert-') == 5


def test_acknowledge_then_resolve_update_the_row_and_the_open_count(app, signed_in, client, keys,
                                                                    alert):
    before = int(re.search(r'aria-label="(\d+) open alerts"',
                           text(signed_in.get("/monitoring/alerts"))).group(1))
    ack = signed_in.post(f"/monitoring/alerts/{alert['id']}/acknowledge", headers=HTMX)
    assert ack.status_code == 200
    row = text(ack)
    assert row.lstrip().startswith(f'<tr id="alert-{alert["id"]}">')
    assert "status-acknowledged" in row and "alice@example.com" in row and "<time" in row
    assert ">Acknowledge<" not in row and ">Resolve<" in row
    api = client.get(f"/api/v2/monitoring/alerts/{alert['id']}", headers=keys["viewer"]).get_json()
    assert api["status"] == "acknowledged" and api["acknowledged_by"] == "alice@example.com"

    resolved = text(signed_in.post(f"/monitoring/alerts/{alert['id']}/resolve", headers=HTMX))
    assert "status-resolved" in resolved and ">Resolve<" not in resolved
    count = int(re.search(r'aria-label="(\d+) open alerts"', resolved).group(1))
    assert count == before - 1
    api = client.get(f"/api/v2/monitoring/alerts/{alert['id']}", headers=keys["viewer"]).get_json()
    assert api["status"] == "resolved" and api["resolved_by"] == "alice@example.com"

    again = text(signed_in.post(f"/monitoring/alerts/{alert['id']}/resolve", headers=HTMX))
    assert "is resolved already" in again


def test_without_htmx_an_action_redirects_back_with_a_message(signed_in, alert):
    response = signed_in.post(f"/monitoring/alerts/{alert['id']}/acknowledge",
                              data={"next": "/monitoring/alerts?status=all"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/monitoring/alerts?status=all"
    assert f"Alert {alert['id']} acknowledged." in text(signed_in.get("/monitoring/alerts"))
    for evil in ("//evil.example.com/", "/\\evil.example.com/", "https://evil.example.com/"):
        offsite = signed_in.post(f"/monitoring/alerts/{alert['id']}/acknowledge",
                                 data={"next": evil})
        assert offsite.headers["Location"] == f"/monitoring/alerts/{alert['id']}", evil


def test_the_alert_page_has_every_field_and_its_notifications(signed_in, client, keys, two,
                                                              service, app):
    hook = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                       json={"name": "ops hook", "connection_id": two[0]["id"],
                             "target": "/alerts"})
    assert hook.status_code == 201
    app.config["ALERT_GROUP_WAIT_S"] = 0  # its incident is notified after this round
    run_round(client, keys)
    assert get_monitor(app).notifier.drain()
    [found] = client.get("/api/v2/monitoring/alerts", headers=keys["viewer"],
                         query_string={"rule": "success_rate"}).get_json()["alerts"]
    page = text(signed_in.get(f"/monitoring/alerts/{found['id']}"))
    assert f"<title>Alert #{found['id']} · ATOM</title>" in page
    for label in ("Severity", "Rule", "Value", "Threshold", "Opened", "Last seen", "Escalated",
                  "Acknowledged", "Resolved"):
        assert f"<dt>{label}</dt>" in page
    assert "ops hook" in page and "status-sent" in page and "firing" in page
    assert signed_in.get("/monitoring/alerts/99999").status_code == 404


def test_viewers_cannot_acknowledge_and_missing_alerts_are_404(app, users, signed_in, alert):
    viewer = sign_in_as(app, users["viewer"])
    page = text(viewer.get("/monitoring/alerts"))
    assert f'id="alert-{alert["id"]}"' in page and ">Acknowledge<" not in page
    refused = viewer.post(f"/monitoring/alerts/{alert['id']}/acknowledge", headers=HTMX)
    assert refused.status_code == 403
    editor = sign_in_as(app, users["editor"])
    assert editor.post(f"/monitoring/alerts/{alert['id']}/acknowledge",
                       headers=HTMX).status_code == 200
    assert signed_in.post("/monitoring/alerts/99999/resolve").status_code == 404


# -- maintenance ------------------------------------------------------------------------------


def test_a_maintenance_window_is_created_in_the_readers_time_zone_and_ended(app, signed_in, two):
    ok, _ = two
    start = (datetime.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    response = signed_in.post("/monitoring/maintenance", data={
        "connection_id": ok["id"], "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "database upgrade", "tz": "Asia/Tokyo"})
    assert response.status_code == 302, text(response)
    with app.app_context():
        [window] = db.session.scalars(db.select(MaintenanceWindow)).all()
        assert window.starts_at == start - timedelta(hours=9)  # Tokyo is UTC+9, no DST
        assert window.ends_at - window.starts_at == timedelta(hours=2)
        assert window.created_by == "alice@example.com"
        window_id = window.id
    page = text(signed_in.get("/monitoring/maintenance"))
    assert "saved" in page and "database upgrade" in page and "upcoming" in page
    assert ">Delete<" in page
    assert signed_in.post(f"/monitoring/maintenance/{window_id}/delete").status_code == 302
    assert "database upgrade" not in text(signed_in.get("/monitoring/maintenance?all=1"))
    assert signed_in.post(f"/monitoring/maintenance/{window_id}/delete").status_code == 404


def test_an_active_window_ends_now_and_empty_start_means_now(app, signed_in, two):
    ok, _ = two
    ends = (datetime.utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert signed_in.post("/monitoring/maintenance", data={
        "connection_id": ok["id"], "ends_at": ends, "tz": "UTC"}).status_code == 302
    page = text(signed_in.get("/monitoring/maintenance"))
    assert "End now" in page and "status-maintenance" in page
    with app.app_context():
        window_id = db.session.scalars(db.select(MaintenanceWindow.id)).one()
    signed_in.post(f"/monitoring/maintenance/{window_id}/delete")
    assert "ended" in text(signed_in.get("/monitoring/maintenance"))


def test_maintenance_is_validated_as_the_api_validates_and_keeps_the_typed_values(signed_in, two):
    ok, _ = two
    typed = {"connection_id": str(ok["id"]), "starts_at": "2030-05-01T10:00",
             "ends_at": "2030-05-01T09:00", "reason": "backwards", "tz": "UTC"}
    response = signed_in.post("/monitoring/maintenance", data=typed)
    assert response.status_code == 422
    page = text(response)
    assert error_of(page, "ends_at") == "must be after starts_at"
    assert value_of(page, "starts_at") == "2030-05-01T10:00"
    assert value_of(page, "ends_at") == "2030-05-01T09:00" and value_of(page, "reason") == "backwards"
    assert f'<option value="{ok["id"]}" selected>' in page

    too_long = signed_in.post("/monitoring/maintenance", data={
        **typed, "ends_at": "2032-05-01T09:00"})
    assert error_of(text(too_long), "ends_at") == "at most a year long"
    missing = signed_in.post("/monitoring/maintenance", data={"reason": "x", "tz": "UTC"})
    page = text(missing)
    assert missing.status_code == 422
    assert "Missing data" in error_of(page, "connection_id") and "Missing data" in error_of(page, "ends_at")
    gone = signed_in.post("/monitoring/maintenance", data={**typed, "connection_id": "9999",
                                                            "ends_at": "2030-05-01T11:00"})
    assert error_of(text(gone), "connection_id") == "no connection 9999"
    nonsense = signed_in.post("/monitoring/maintenance", data={**typed, "ends_at": "tomorrow"})
    assert "Not a valid datetime" in error_of(text(nonsense), "ends_at")


def test_viewers_cannot_plan_maintenance(app, users, two):
    viewer = sign_in_as(app, users["viewer"])
    page = text(viewer.get("/monitoring/maintenance"))
    assert "Plan a window" not in page
    assert viewer.post("/monitoring/maintenance", data={"connection_id": two[0]["id"],
                                                        "ends_at": "2030-01-01T00:00"}).status_code == 403


# -- thresholds -------------------------------------------------------------------------------


def test_thresholds_are_saved_with_the_api_validation(signed_in, client, keys):
    page = text(signed_in.get("/monitoring/thresholds"))
    assert value_of(page, "response_time_warning_ms") == "1000"
    current = client.get("/api/v2/monitoring/thresholds", headers=keys["viewer"]).get_json()
    form = {name: str(value) for name, value in current["thresholds"].items()}

    looser = signed_in.post("/monitoring/thresholds",
                            data={**form, "response_time_warning_ms": "9000"})
    assert looser.status_code == 422
    page = text(looser)
    assert "is above the critical level" in error_of(page, "response_time_warning_ms")
    assert value_of(page, "response_time_warning_ms") == "9000"
    not_a_number = signed_in.post("/monitoring/thresholds", data={**form, "success_rate_critical": "lots"})
    assert error_of(text(not_a_number), "success_rate_critical") == "Not a valid number."
    out_of_range = signed_in.post("/monitoring/thresholds", data={**form, "health_score_critical": "500"})
    assert error_of(text(out_of_range), "health_score_critical") == "must be between 0 and 100"

    saved = signed_in.post("/monitoring/thresholds", data={**form, "response_time_warning_ms": "1500"})
    assert saved.status_code == 302
    after = client.get("/api/v2/monitoring/thresholds", headers=keys["viewer"]).get_json()
    assert after["thresholds"]["response_time_warning_ms"] == 1500
    assert "Thresholds saved (response_time_warning_ms)" in text(signed_in.get("/monitoring/thresholds"))
    # An empty field restores the default.
    assert signed_in.post("/monitoring/thresholds",
                          data={**form, "response_time_warning_ms": ""}).status_code == 302
    restored = client.get("/api/v2/monitoring/thresholds", headers=keys["viewer"]).get_json()
    assert restored["thresholds"]["response_time_warning_ms"] == 1000


def test_only_admins_change_thresholds(app, users):
    editor = sign_in_as(app, users["editor"])
    page = text(editor.get("/monitoring/thresholds"))
    assert "Save thresholds" not in page and "Only admins" in page
    assert editor.post("/monitoring/thresholds",
                       data={"response_time_warning_ms": "1500"}).status_code == 403


# -- notification channels --------------------------------------------------------------------


def test_a_channel_is_added_tested_and_deleted(signed_in, create_connection, service, two):
    ok, _ = two
    response = signed_in.post("/monitoring/channels", data={
        "name": "ops hook", "connection_id": ok["id"], "target": "/alerts",
        "min_severity": "critical", "enabled": "on"})
    assert response.status_code == 302, text(response)
    page = text(signed_in.get("/monitoring/channels"))
    assert "ops hook" in page and "<code>/alerts</code>" in page and "status-critical" in page
    channel_id = int(re.search(r'id="channel-(\d+)"', page).group(1))

    result = signed_in.post(f"/monitoring/channels/{channel_id}/test", headers=HTMX)
    assert result.status_code == 200
    assert 'class="result ok"' in text(result) and "Test message sent" in text(result)
    assert "test notification" in service.calls("/alerts", "POST")[0].json()["text"]
    service.always("/alerts", reply(401, {}))
    failed = text(signed_in.post(f"/monitoring/channels/{channel_id}/test", headers=HTMX))
    assert 'class="result bad"' in failed and "<strong>auth</strong>" in failed

    assert signed_in.post(f"/monitoring/channels/{channel_id}/delete").status_code == 302
    page = text(signed_in.get("/monitoring/channels"))
    assert "Channel ops hook deleted." in page and f'id="channel-{channel_id}"' not in page
    assert signed_in.post(f"/monitoring/channels/{channel_id}/test").status_code == 404


def test_channels_are_validated_as_the_api_validates(signed_in, create_connection, service, two):
    ok, _ = two
    missing = signed_in.post("/monitoring/channels", data={"connection_id": ok["id"],
                                                           "target": "/alerts",
                                                           "min_severity": "warning"})
    assert missing.status_code == 422
    page = text(missing)
    assert "Missing data" in error_of(page, "name")
    assert value_of(page, "target") == "/alerts"
    probe = create_connection("probe", {"base_url": service.url}, label="Probe")
    mute = signed_in.post("/monitoring/channels", data={"name": "x", "connection_id": probe["id"]})
    assert "cannot post messages" in error_of(text(mute), "connection_id")
    assert value_of(text(mute), "name") == "x"
    # The probe cannot post: it is not offered.
    assert f'<option value="{probe["id"]}"' not in text(signed_in.get("/monitoring/channels"))


def test_secrets_never_reach_the_pages(signed_in, create_connection, service):
    slack = create_connection("slack", {"base_url": service.url + "/api/"},
                              {"token": "xoxb-very-secret-token-123"}, label="Team Slack")
    signed_in.post("/monitoring/channels", data={"name": "slack ops", "connection_id": slack["id"],
                                                 "target": "#ops", "min_severity": "warning"})
    for path in ("/monitoring", "/monitoring/channels", "/monitoring/alerts",
                 "/monitoring/maintenance", "/monitoring/system"):
        page = text(signed_in.get(path))
        assert "xoxb-very-secret-token-123" not in page, path
    assert "Team Slack" in text(signed_in.get("/monitoring/channels"))


def test_editors_test_channels_but_only_admins_add_or_delete_them(app, users, signed_in, two):
    signed_in.post("/monitoring/channels", data={"name": "hook", "connection_id": two[0]["id"],
                                                 "target": "/alerts", "min_severity": "warning"})
    editor = sign_in_as(app, users["editor"])
    page = text(editor.get("/monitoring/channels"))
    assert ">Test" in page and ">Delete<" not in page and "Add a channel" not in page
    channel_id = int(re.search(r'id="channel-(\d+)"', page).group(1))
    assert editor.post(f"/monitoring/channels/{channel_id}/test", headers=HTMX).status_code == 200
    assert editor.post(f"/monitoring/channels/{channel_id}/delete").status_code == 403
    assert editor.post("/monitoring/channels", data={"name": "x"}).status_code == 403


def test_every_monitoring_page_needs_a_login(client):
    for path in ("/monitoring", "/monitoring/system", "/monitoring/alerts",
                 "/monitoring/maintenance", "/monitoring/thresholds", "/monitoring/channels"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_the_polls_page_shows_each_cursor_with_its_last_error_and_filters_as_the_api(
        app, client, alice, keys, create_connection):
    from atom.models import PollCursor
    from atom.models.base import utcnow

    conn = create_connection("http", {"base_url": "http://127.0.0.1:9"}, label="Inbox poller")
    with app.app_context():
        db.session.add_all([
            PollCursor(connection_id=conn["id"], trigger="new_item", params_hash="a" * 64,
                       params={"path": "/items"}, cursor="vendor-cursor-secret", primed_at=utcnow(),
                       last_poll_at=utcnow(), last_ok=False, last_error_class="rate_limited",
                       last_error_message="429 from upstream", consecutive_failures=3),
            PollCursor(connection_id=conn["id"], trigger="other", params_hash="b" * 64, params={},
                       last_ok=True, items_fired=7)])
        db.session.commit()
    client.post("/login", data=alice)
    page = client.get("/monitoring/polls").get_data(as_text=True)
    assert "Inbox poller" in page and "new_item" in page and "rate_limited" in page
    assert "3 in a row" in page and ">7<" in page
    assert "vendor-cursor-secret" not in page  # never the vendor's cursor
    failing = client.get("/monitoring/polls?failing=yes").get_data(as_text=True)
    api = client.get("/api/v2/triggers/polls?failing=true", headers=keys["viewer"]).get_json()
    assert [p["trigger"] for p in api["polls"]] == ["new_item"]
    assert "new_item" in failing and ">other<" not in failing
    assert "No polling trigger" in client.get("/monitoring/polls?integration=slack").get_data(as_text=True)


# -- hourly trends per integration ------------------------------------------------------------


def charts_of(page: str, slug: str) -> list[dict]:
    """The data-chart specs drawn in one integration's trends card."""
    import html as html_lib
    import json

    card = page[page.index(f'id="trend-{slug}"'):]
    card = card[:card.index("</section>")]
    return [json.loads(html_lib.unescape(spec)) for spec in re.findall(r"data-chart='([^']*)'", card)]


def test_trends_chart_each_integration_from_its_real_checks_as_the_api_does(
        signed_in, client, keys, two):
    run_round(client, keys)
    run_round(client, keys)
    page = text(signed_in.get("/monitoring/trends"))
    assert '<a href="/monitoring/trends" aria-current="page">Trends</a>' in page
    assert "uPlot.iife.min.js" in page
    answer = client.get("/api/v2/monitoring/analytics?integration=http",
                        headers=keys["viewer"]).get_json()
    buckets = answer["buckets"]
    assert answer["hours"] == 24 and len(buckets) == 24
    latency, success = charts_of(page, "http")
    x = [int(datetime.fromisoformat(b["hour"].replace("Z", "+00:00")).timestamp()) for b in buckets]
    assert latency["x"] == success["x"] == x and latency["unit"] == "ms" and success["unit"] == "%"
    assert latency["series"] == [{"label": "p50", "values": [b["p50_response_time_ms"] for b in buckets]},
                                 {"label": "p95", "values": [b["p95_response_time_ms"] for b in buckets]}]
    assert success["series"][0]["values"] == [None if b["success_rate"] is None else round(100 * b["success_rate"], 2)
                                              for b in buckets]
    # What the four checks did: the Ledger's two failed (503), the Billing's two answered.
    calls = sum(b["calls"] for b in buckets)
    errors = sum(b["errors"] for b in buckets)
    assert calls >= 4 and errors >= 2 and calls > errors
    assert sum(b["checks"] for b in buckets) == 4 and sum(b["failed_checks"] for b in buckets) == 2
    card = page[page.index('id="trend-http"'):]
    card = card[:card.index("</section>")]
    assert f"{calls} calls" in card and f"{errors} errors" in card and "4 checks, 2 failed" in card
    assert f"{(calls - errors) / calls * 100:.1f} % succeeded" in card
    assert any(v is not None for v in latency["series"][1]["values"])
    # Integrations without connections have no card, and are named.
    assert 'id="trend-slack"' not in page and "Installed without connections (no trends)" in page


def test_trends_offer_the_apis_windows_and_refuse_what_it_refuses(signed_in, client, keys, two):
    run_round(client, keys)
    week = text(signed_in.get("/monitoring/trends?hours=168"))
    assert '<a href="/monitoring/trends?hours=168" aria-current="page">7 d</a>' in week
    assert len(charts_of(week, "http")[0]["x"]) == 168
    assert value_of(week, "hours") == "168"
    custom = text(signed_in.get("/monitoring/trends?hours=6"))
    assert len(charts_of(custom, "http")[0]["x"]) == 6 and value_of(custom, "hours") == "6"
    assert len(charts_of(text(signed_in.get("/monitoring/trends?hours=2160")), "http")[0]["x"]) == 2160
    for bad in ("0", "2161", "soon"):
        response = signed_in.get(f"/monitoring/trends?hours={bad}")
        api = client.get(f"/api/v2/monitoring/analytics?hours={bad}", headers=keys["viewer"])
        assert response.status_code == 422 and api.status_code in (400, 422)
        assert error_of(text(response), "hours") == " ".join(api.get_json()["errors"]["hours"])
        assert value_of(text(response), "hours") == bad  # what was typed stays
    # One integration (slack, no connection): its card alone, saying there is nothing yet.
    slack = text(signed_in.get("/monitoring/trends?integration=slack&hours=24"))
    assert 'id="trend-slack"' in slack and 'id="trend-http"' not in slack
    assert "No calls in this window yet." in slack
    assert re.search(r'<option value="slack" selected>', slack)
    unknown = signed_in.get("/monitoring/trends?integration=nope")
    assert unknown.status_code == 422 and "nope" in error_of(text(unknown), "integration")


def test_trends_with_no_connections_start_the_job(signed_in):
    page = text(signed_in.get("/monitoring/trends"))
    assert "No connections yet" in page and 'href="/connections"' in page
