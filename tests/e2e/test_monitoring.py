"""Monitoring in the browser: run check rounds until an alert opens, acknowledge and resolve it
from the top bar's count; plan and end a maintenance window, save thresholds after fixing an
invalid value, add and test a notification channel; the status board on a phone."""
from __future__ import annotations

import re
from datetime import datetime
from datetime import timedelta

import pytest

from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def service():
    with FakeServer() as fake:
        fake.always("/health", reply(200, {"ok": True}))
        fake.always("/down", reply(503, {"error": "down"}))
        fake.always("/alerts", reply(200, {"received": True}))
        yield fake


def connect(live, service, label: str, path: str) -> dict:
    response = live.api("POST", "/api/v2/connections", {
        "integration": "http", "label": label, "credentials": {},
        "settings": {"base_url": service.url, "health_path": path, "max_attempts": 1}})
    assert response.status_code == 201, response.text
    return response.json()


def top_count(page) -> int:
    return int(page.locator("header.top .alerts-count").inner_text().replace("⚠", "").strip())


def test_acknowledge_and_resolve_an_alert(live, page, check_page, shot, service):
    connect(live, service, "Billing API", "/health")
    connect(live, service, "Ledger API", "/down")
    page.goto(live.url + "/monitoring")
    check_page(page)
    assert top_count(page) == 0
    run = page.get_by_role("button", name="Run a check round now")
    for _ in range(2):  # two failed checks in a row open the consecutive-failures alert
        with page.expect_response(lambda r: r.url.endswith("/monitoring/checks/run")):
            run.click()
        page.locator("#round-result .round-result").wait_for()
    assert "Checked 2 connections" in page.locator("#round-result").inner_text()
    assert "Ledger API" in page.locator("#round-result").inner_text()
    page.wait_for_function("() => !document.querySelector('header.top .alerts-count').textContent.includes(' 0')")
    opened = top_count(page)
    assert opened >= 1
    # The board refreshed itself after the round: the down connection is unhealthy, and so
    # is the whole system.
    page.locator("#overall-status .status-unhealthy").wait_for()
    check_page(page)
    shot(page, "monitoring-board")

    page.locator("header.top .alerts-count").click()
    page.wait_for_url(re.compile(r"/monitoring/alerts$"))
    check_page(page)
    row = page.locator("tr", has_text="consecutive failed health checks").first
    assert "open" in row.locator("td[data-label=Status]").inner_text()
    row.get_by_role("button", name=re.compile("^Acknowledge")).click()
    row = page.locator("tr", has_text="consecutive failed health checks").first
    row.locator(".status-acknowledged").wait_for()
    acknowledged = row.locator("td[data-label=Acknowledged]").inner_text()
    assert live.admin["email"] in acknowledged and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", acknowledged)
    assert top_count(page) == opened  # acknowledged is still open
    row.get_by_role("button", name=re.compile("^Resolve")).click()
    row = page.locator("tr", has_text="consecutive failed health checks").first
    row.locator(".status-resolved").wait_for()
    assert live.admin["email"] in row.locator("td[data-label=Resolved]").inner_text()
    page.wait_for_function(f"() => document.querySelector('header.top .alerts-count').textContent.trim().endsWith('{opened - 1}')")
    assert top_count(page) == opened - 1
    check_page(page)
    page.reload()
    assert top_count(page) == opened - 1
    check_page(page)
    page.get_by_label("Status").select_option("all")  # the filter form submits itself
    page.wait_for_url(re.compile(r"status=all"))
    row = page.locator("tr", has_text="consecutive failed health checks").first
    assert "resolved" in row.locator("td[data-label=Status]").inner_text()
    check_page(page)
    shot(page, "monitoring-alerts")


def test_maintenance_window_thresholds_and_a_channel(live, page, check_page, shot, service):
    conn = connect(live, service, "Billing API", "/health")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(live.url + "/monitoring/maintenance")
    check_page(page)
    page.get_by_label("Connection").select_option(str(conn["id"]))
    # datetime-local is the reader's wall time (the browser runs in Europe/London).
    ends = datetime.now() + timedelta(hours=2)
    page.get_by_label("Ends").fill(ends.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Reason").fill("database upgrade")
    page.get_by_role("button", name="Save the window").click()
    page.wait_for_load_state("networkidle")
    assert "saved" in page.locator(".flash-success").inner_text()
    row = page.locator("tr", has_text="database upgrade")
    assert "active" in row.inner_text()
    check_page(page)
    shot(page, "monitoring-maintenance")
    windows = live.api("GET", "/api/v2/monitoring/maintenance").json()["windows"]
    assert len(windows) == 1 and windows[0]["active"] is True
    row.get_by_role("button", name="End now").click()
    page.wait_for_load_state("networkidle")
    assert "ended" in page.locator(".flash-success").inner_text()
    assert live.api("GET", "/api/v2/monitoring/maintenance").json()["windows"] == []
    check_page(page)

    page.get_by_role("link", name="Thresholds").click()
    check_page(page)
    warning = page.get_by_label("Warning").first
    warning.fill("9000")
    page.get_by_role("button", name="Save thresholds").click()
    page.wait_for_load_state("networkidle")
    assert "above the critical level" in page.locator("#f-response_time_warning_ms-error").inner_text()
    assert page.locator("#f-response_time_warning_ms").input_value() == "9000"
    check_page(page)
    shot(page, "monitoring-thresholds-error")
    page.locator("#f-response_time_warning_ms").fill("1500")
    page.get_by_role("button", name="Save thresholds").click()
    page.wait_for_load_state("networkidle")
    assert "Thresholds saved" in page.locator(".flash-success").inner_text()
    th = live.api("GET", "/api/v2/monitoring/thresholds").json()["thresholds"]
    assert th["response_time_warning_ms"] == 1500
    check_page(page)

    page.get_by_role("link", name="Channels").click()
    check_page(page)
    page.get_by_label("Name").fill("ops hook")
    page.get_by_label("Send through").select_option(str(conn["id"]))
    page.get_by_label("Target").fill("/alerts")
    page.get_by_role("button", name="Add the channel").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Send a test message through ops hook").click()
    page.locator(".result.ok").wait_for()
    assert "Test message sent" in page.locator(".result.ok").inner_text()
    assert "test notification" in service.calls("/alerts", "POST")[0].json()["text"]
    check_page(page)
    shot(page, "monitoring-channels")

    page.get_by_role("link", name="System").click()
    assert page.locator("h1").inner_text() == "System"
    check_page(page)
    shot(page, "monitoring-system")


def test_the_status_board_on_a_phone(live, new_page, check_page, shot, service):
    connect(live, service, "Billing API", "/health")
    connect(live, service, "Ledger API with a rather long name", "/down")
    for _ in range(3):
        assert live.api("POST", "/api/v2/monitoring/checks/run").status_code == 200
    phone = new_page(width=390)
    phone.goto(live.url + "/monitoring")
    check_page(phone)
    assert phone.locator("#overall-status .status-unhealthy").count() == 1
    assert phone.locator("svg.spark").count() >= 2
    shot(phone, "monitoring-board-390")
    phone.locator("table.board-table").first.scroll_into_view_if_needed()
    shot(phone, "monitoring-board-390-connections", full_page=False)
    phone.goto(live.url + "/monitoring/alerts")
    check_page(phone)
    shot(phone, "monitoring-alerts-390")
    phone.goto(live.url + "/monitoring/system")
    check_page(phone)
    shot(phone, "monitoring-system-390")


def test_hourly_trends_per_integration_at_1280_and_390(live, new_page, check_page, shot, service):
    connect(live, service, "Billing API", "/health")
    connect(live, service, "Ledger API", "/down")
    for _ in range(3):
        assert live.api("POST", "/api/v2/monitoring/checks/run").status_code == 200
    page = new_page()
    page.goto(live.url + "/monitoring")
    page.get_by_role("link", name="Trends").click()
    page.wait_for_url(live.url + "/monitoring/trends")
    card = page.locator("#trend-http")
    card.locator(".chart .u-over").first.wait_for()  # uPlot drew them
    assert card.locator(".chart canvas").count() == 2
    assert "6 checks, 3 failed" in card.inner_text()
    check_page(page)
    shot(page, "monitoring-trends")
    # The API's windows: a link, then a typed number of hours.
    page.get_by_role("link", name="7 d").click()
    page.wait_for_url(re.compile(r".*hours=168"))
    assert page.get_by_label("Window (hours, 1 to 2160)").input_value() == "168"
    hours = page.get_by_label("Window (hours, 1 to 2160)")
    hours.fill("0")
    page.get_by_role("button", name="Show").click()  # the browser holds it back (min 1) ...
    assert hours.evaluate("el => el.validity.rangeUnderflow") is True
    assert page.url.endswith("hours=168")
    page.goto(live.url + "/monitoring/trends?hours=0")  # ... and the server names the field too
    assert "greater than or equal to 1" in page.locator("#f-hours-error").inner_text()
    assert hours.input_value() == "0"
    check_page(page)
    phone = new_page(width=390)
    phone.goto(live.url + "/monitoring/trends?hours=24")
    phone.locator("#trend-http .chart .u-over").first.wait_for()
    check_page(phone)
    box = phone.locator("#trend-http .chart").first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    shot(phone, "monitoring-trends-390")
