"""Incidents in the browser: failing connections on one host become one incident, acknowledged
from its page; a silence saved after fixing a missing reason; the escalation page; the same
pages at 390 px."""
from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest

from tests.e2e.test_monitoring import connect
from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def service():
    with FakeServer() as fake:
        fake.always("/down", reply(503, {"error": "down"}))
        yield fake


def test_an_incident_is_acknowledged_and_a_silence_saved(live, page, new_page, check_page, shot,
                                                         service):
    for label in ("Orders API", "Billing API", "Search API"):
        connect(live, service, label, "/down")
    for _ in range(2):
        assert live.api("POST", "/api/v2/monitoring/checks/run").status_code == 200
    page.goto(live.url + "/monitoring/incidents")
    check_page(page)
    rows = page.locator("table tbody tr")
    assert rows.count() == 1, "three connections on one host: one incident"
    rows.first.get_by_role("link").first.click()
    page.get_by_role("heading", level=1).wait_for()
    assert "all 3 connections fail" in page.content()  # the host alert, above its three
    page.get_by_role("button", name="Acknowledge").first.click()
    page.get_by_text("acknowledged").first.wait_for()
    check_page(page)
    shot(page, "incidents-incident")

    page.goto(live.url + "/monitoring/silences")
    page.get_by_label("Upstream host").fill(service.url.split("://", 1)[1])
    later = (datetime.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Ends").fill(later)
    page.get_by_role("button", name="Save the silence").click()
    assert page.locator(".field-error, .error").count() >= 1, "the missing reason is named"
    page.get_by_label("Why").fill("Vendor outage, ticket OPS-12")
    page.get_by_role("button", name="Save the silence").click()
    page.get_by_text("Vendor outage, ticket OPS-12").wait_for()
    check_page(page)
    shot(page, "incidents-silences")

    page.goto(live.url + "/monitoring/escalation")
    check_page(page)
    shot(page, "incidents-escalation")

    phone = new_page(width=390)
    for path, name in (("/monitoring/incidents", "incidents-list-390"),
                       ("/monitoring/silences", "incidents-silences-390")):
        phone.goto(live.url + path)
        check_page(phone)
        shot(phone, name)
