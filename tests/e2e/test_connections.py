"""Connections in the browser: from the empty home page to a tested connection against a local
fake; a validation error fixed in the add form; the list and a connection's page at 390 px."""
from __future__ import annotations

import re

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def fake():
    """The REST service the connection calls: a real HTTP server on 127.0.0.1."""
    with FakeServer() as server:
        server.always("/health", reply(200, {"ok": True}))
        yield server


def _history(conn_id: int, hours: int = 8) -> None:
    """Some hours of calls and checks behind a connection, so its charts have lines."""
    from datetime import timedelta

    from atom.extensions import db
    from atom.models import CallRecord
    from atom.models import HealthSample
    from atom.models.base import utcnow

    now = utcnow()
    for hour in range(1, hours + 1):
        for minute in (5, 25, 45):
            ts = now - timedelta(hours=hour, minutes=minute)
            ok = not (hour == 3 and minute == 25)
            latency = 40.0 + 12 * (hour % 4) + minute / 5
            db.session.add(CallRecord(ts=ts, integration="http", connection_id=conn_id,
                                      operation="health", status=200 if ok else 503, ok=ok,
                                      latency_ms=latency * (3 if not ok else 1), attempts=1))
            db.session.add(HealthSample(ts=ts, connection_id=conn_id, integration="http", ok=ok,
                                        latency_ms=latency))
    db.session.commit()


def test_add_and_test_a_connection_against_a_local_fake(live, page, check_page, shot, fake):
    page.goto(live.url + "/")
    check_page(page)
    assert "No connections yet" in page.locator("#home-connections").inner_text()
    page.locator("#home-connections").get_by_role("link", name="Add a connection").click()
    page.wait_for_url("**/connections/catalogue")
    check_page(page)
    page.get_by_label("Search").fill("rest")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Connect HTTP / REST").click()
    page.wait_for_url("**/connections/new/http")
    check_page(page)

    page.get_by_label("Label").fill("Billing API")
    page.get_by_label("Base URL").fill(fake.url)
    page.get_by_label("Health path").fill("/health")
    page.locator("details.advanced > summary").click()
    page.get_by_label("Max attempts").fill("1")  # one request per test: the 500 below is final
    page.get_by_role("button", name="Save connection").click()
    page.wait_for_url(re.compile(r".*/connections/\d+$"))
    check_page(page)
    assert "Saved Billing API" in page.locator(".flash").inner_text()

    page.get_by_role("button", name="Test").click()
    result = page.locator("#test-result .test-result")
    result.filter(has_text="Test passed").wait_for()
    assert re.search(r"\d+ ms", result.inner_text())
    assert fake.count("/health") == 1
    # The details and the charts came along with the result: the check is in them, drawn.
    charts = page.locator("#conn-charts")
    expect(charts).not_to_contain_text("No calls in this period")
    expect(charts.locator(".chart .uplot")).to_have_count(2)
    expect(page.locator("#conn-details")).to_contain_text("100.0% of 1 in the last")

    fake.script("/health", reply(500, {"error": "boom"}))
    page.get_by_role("button", name="Test").click()
    result.filter(has_text="Test failed").wait_for()
    assert page.locator("#test-result .error-class").inner_text() == "upstream"
    # The figures above refresh after each test: two checks, one failed.
    page.locator("#conn-summary").filter(has_text="2 checks").first.wait_for()
    assert "50%" in page.locator("#conn-summary").text_content()
    check_page(page)
    shot(page, "connections-add-and-test")


def test_a_validation_error_is_fixed_in_the_add_form(live, page, check_page, shot, fake):
    page.goto(live.url + "/connections/new/http")
    check_page(page)
    page.get_by_label("Label").fill("Orders API")
    page.get_by_label("Base URL").fill(fake.url)
    page.get_by_label("Auth").select_option("bearer")
    page.get_by_role("button", name="Save connection").click()  # no token for bearer auth
    assert page.locator(".field.has-error #f-credentials-token").count() == 1
    assert "required when auth is bearer" in page.locator("#f-credentials-token-error").inner_text()
    assert page.get_by_label("Label").input_value() == "Orders API"
    assert page.get_by_label("Base URL").input_value() == fake.url
    assert page.get_by_label("Auth").input_value() == "bearer"
    check_page(page)
    page.get_by_label("Token").fill("orders-token-0123456789")
    page.get_by_role("button", name="Save connection").click()
    page.wait_for_url(re.compile(r".*/connections/\d+$"))
    check_page(page)
    assert "orders-token-0123456789" not in page.content()
    assert "********6789" in page.content()
    shot(page, "connections-validation-fixed")


def test_the_list_and_a_connection_page_at_390_px(live, new_page, check_page, shot, fake):
    made = [live.api("POST", "/api/v2/connections", json={
        "integration": "http", "label": label,
        "settings": {"base_url": fake.url, "health_path": "/health", "max_attempts": 1}}).json()
        for label in ("Payments gateway (production)", "Inventory service")]
    assert all("id" in c for c in made), made
    assert live.api("POST", f"/api/v2/connections/{made[0]['id']}/test").json()["ok"] is True
    live.run(_history, made[0]["id"])
    page = new_page(width=390)
    page.goto(live.url + "/")
    check_page(page)
    page.goto(live.url + "/connections")
    check_page(page)
    rows = page.locator("table.conn-table tbody tr")
    assert rows.count() == 2
    row = rows.filter(has_text="Inventory service")
    row.get_by_role("button", name="Test Inventory service").click()
    row.locator("td[data-label='Last test']").filter(has_text="ok").wait_for()
    page.get_by_label("Search").fill("inventory")  # htmx filters as one types
    expect(rows).to_have_count(1)
    assert "q=inventory" in page.url
    check_page(page)
    shot(page, "connections-list-390")
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="Payments gateway (production)").click()
    page.wait_for_url(f"**/connections/{made[0]['id']}")
    page.locator(".chart .uplot").first.wait_for()
    check_page(page)
    assert "Uptime 24 h" in page.locator(".stats").text_content()
    shot(page, "connections-detail-390")
