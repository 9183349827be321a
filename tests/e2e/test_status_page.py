"""The public status page in the browser: an admin chooses two connections and their public
names, and a signed-out visitor on a phone sees them (and nothing internal), with no cookie."""
from __future__ import annotations

# The monitoring journeys' fake service (/health answers, /down fails) and connection helper.
from tests.e2e.test_monitoring import connect
from tests.e2e.test_monitoring import service  # noqa: F401 (a fixture)


def test_choose_the_items_and_see_the_public_page_on_a_phone(live, page, new_page, check_page,
                                                             shot, service):
    live.app.config.update(STATUS_PAGE_ENABLED=True, STATUS_PAGE_TITLE="Acme status")
    billing = connect(live, service, "billing-eu1 (internal)", "/health")
    search = connect(live, service, "search-eu1 (internal)", "/down")
    connect(live, service, "not-public (internal)", "/health")
    for _ in range(2):
        assert live.api("POST", "/api/v2/monitoring/checks/run").status_code == 200

    page.goto(live.url + "/monitoring/status-page")
    check_page(page)
    assert page.get_by_role("link", name="Status page").get_attribute("aria-current") == "page"
    for conn, name, order in ((billing, "Billing", "1"), (search, "Search", "2")):
        page.locator(f"#f-show-{conn['id']}").check()
        page.locator(f"#f-name-{conn['id']}").fill(name)
        page.locator(f"#f-position-{conn['id']}").fill(order)
    page.get_by_role("button", name="Save status page").click()
    page.wait_for_load_state("networkidle")
    assert "The status page shows 2 items" in page.locator(".flash").inner_text()

    phone = new_page(width=390, height=844, signed_in=False)
    phone.goto(live.url + "/status")
    assert phone.locator("h1").inner_text() == "Acme status"
    assert phone.locator("#status-banner").inner_text() == "Some systems are down"
    items = phone.locator(".status-item")
    assert items.count() == 2
    assert "Billing" in items.nth(0).inner_text() and "operational" in items.nth(0).inner_text()
    assert "Search" in items.nth(1).inner_text() and "down" in items.nth(1).inner_text()
    assert items.nth(0).locator(".status-day").count() == 30
    text = phone.locator("body").inner_text()
    assert "internal" not in text and "127.0.0.1" not in phone.content()
    assert phone.context.cookies() == []
    check_page(phone)
    path = shot(phone, "status-page-phone")
    assert path.stat().st_size > 0
