"""Settings and API docs journeys: an API key created in the browser and used by a script, a user
added and deactivated, Swagger UI's "Try it out" with the session, and the settings at 390 px."""
from __future__ import annotations

import json

import requests


def accept_dialogs(page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def test_create_an_api_key_use_it_then_revoke_it(live, page, check_page, shot):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page.goto(live.url + "/settings/keys")
    check_page(page)
    assert page.locator(".tabs a[aria-current=page]").inner_text() == "API keys"
    page.get_by_label("Name").fill("billing-script")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Create key").click()
    box = page.locator("#secret-once")
    box.wait_for()
    check_page(page)
    plain = box.inner_text().strip()
    assert plain.startswith("atom_")
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == plain

    connections = live.url + "/api/v2/connections"
    assert requests.get(connections, headers={"Authorization": f"Bearer {plain}"}, timeout=10).status_code == 200

    page.get_by_role("link", name="Done").click()
    page.wait_for_url(live.url + "/settings/keys")
    check_page(page)
    assert plain not in page.content()  # never shown again: the list has its prefix only
    row = page.locator("tr", has_text="billing-script")
    assert row.locator("code").inner_text() == plain[:12] + "…"
    accept_dialogs(page)
    row.get_by_role("button", name="Revoke").click()
    page.locator(".flash-success", has_text="Revoked the key billing-script").wait_for()
    check_page(page)
    assert "revoked" in page.locator("tr", has_text="billing-script").inner_text()
    assert requests.get(connections, headers={"Authorization": f"Bearer {plain}"}, timeout=10).status_code == 401
    shot(page, "settings-api-key")


def test_add_a_user_with_a_role_then_deactivate_them(live, page, new_page, check_page, shot):
    page.goto(live.url + "/settings")
    check_page(page)
    form = page.locator("#add-user")
    form.get_by_label("Email").fill("not an email")
    form.get_by_label("Email").evaluate("el => el.type = 'text'")  # past the browser's own check
    form.get_by_label("Role").select_option("editor")
    form.get_by_role("button", name="Add user").click()
    assert page.locator("#f-email-error").is_visible()
    check_page(page)
    assert form.get_by_label("Role").input_value() == "editor"  # kept
    form.get_by_label("Email").fill("newbie@example.com")
    form.get_by_role("button", name="Add user").click()
    one_time = page.locator("#secret-once").inner_text().strip()
    check_page(page)
    assert "Added newbie@example.com (editor)" in page.locator("h2").first.inner_text()
    page.get_by_role("link", name="Done").click()
    check_page(page)
    assert one_time not in page.content()
    row = page.locator("tr", has_text="newbie@example.com")
    assert row.get_by_label("Role of newbie@example.com").input_value() == "editor"
    assert "never" in row.locator("td[data-label='Last sign-in']").inner_text()

    # The only admin cannot remove themself: the API's refusal is shown in their row.
    accept_dialogs(page)
    mine = page.locator("tr", has_text=live.admin["email"])
    mine.get_by_role("button", name="Deactivate").click()
    assert "last active admin" in page.locator("[id$='-error'][role=alert]").inner_text()
    check_page(page)

    row = page.locator("tr", has_text="newbie@example.com")
    row.get_by_role("button", name="Deactivate").click()
    page.locator(".flash-success", has_text="Deactivated newbie@example.com").wait_for()
    check_page(page)
    row = page.locator("tr", has_text="newbie@example.com")
    assert "deactivated" in row.locator("td[data-label='Status']").inner_text()
    assert row.get_by_role("button", name="Reactivate").is_visible()

    newbie = new_page(signed_in=False)
    newbie.goto(live.url + "/login")
    newbie.get_by_label("Email").fill("newbie@example.com")
    newbie.get_by_label("Password").fill(one_time)
    newbie.get_by_role("button", name="Sign in").click()
    assert "Wrong email or password" in newbie.content()  # deactivated: refused
    shot(page, "settings-users")


def test_swagger_ui_tries_requests_with_the_session(live, page, check_page, shot):
    live.api("POST", "/api/v2/connections", json={"integration": "http", "label": "Billing API",
                                                  "settings": {"base_url": "http://127.0.0.1:9"}})
    page.goto(live.url + "/api/docs")
    listing = page.locator("#operations-connections-get_api_v2_connections")
    listing.wait_for()
    check_page(page)
    assert page.locator("h1").inner_text() == "API reference"

    listing.locator(".opblock-summary-control").click()
    listing.get_by_role("button", name="Try it out").click()
    check_page(page)
    listing.get_by_role("button", name="Execute").click()
    status = listing.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert "Billing API" in listing.locator(".live-responses-table .microlight, .live-responses-table pre").first.inner_text()
    check_page(page)

    # A write with a body: the session's CSRF token goes along as X-CSRFToken.
    create = page.locator("#operations-keys-post_api_v2_keys")
    create.locator(".opblock-summary-control").click()
    create.get_by_role("button", name="Try it out").click()
    body = create.locator("textarea.body-param__text")
    body.fill(json.dumps({"name": "made-in-swagger", "role": "viewer"}))
    create.get_by_role("button", name="Execute").click()
    status = create.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "201"
    names = [k["name"] for k in live.api("GET", "/api/v2/keys").json()["keys"]]
    assert "made-in-swagger" in names

    # A path parameter: GET /api/v2/users/{user_id}.
    one = page.locator("#operations-users-get_api_v2_users__user_id_")
    one.locator(".opblock-summary-control").click()
    one.get_by_role("button", name="Try it out").click()
    one.locator("tr[data-param-name='user_id'] input").fill("1")
    one.get_by_role("button", name="Execute").click()
    status = one.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    check_page(page)
    one.scroll_into_view_if_needed()
    shot(page, "settings-apidocs", full_page=False)


def test_the_settings_pages_at_390_px(live, new_page, check_page, shot):
    live.api("POST", "/api/v2/users", json={"email": "someone.with.a.long.address@example.com", "role": "viewer"})
    live.api("PUT", "/api/v2/oauth-apps/github", json={"client_id": "Iv1.0123456789abcdef", "client_secret": "s3cret"})
    page = new_page(width=390)
    for path in ("/settings", "/settings/oauth-apps", "/settings/oauth-apps/github", "/settings/audit"):
        page.goto(live.url + path)
        check_page(page)
        shot(page, "settings-390" + path.replace("/settings", "").replace("/", "-") or "settings-390")
    page.goto(live.url + "/settings/audit?action=user.create")
    check_page(page)
    assert "someone.with.a.long.address@example.com" in page.locator("table.audit").inner_text()
    page.goto(live.url + "/settings/keys")
    check_page(page)
    page.get_by_label("Name").fill("phone-key")
    page.get_by_role("button", name="Create key").click()
    page.locator("#secret-once").wait_for()
    check_page(page)
    shot(page, "settings-390-key-once")
    page.goto(live.url + "/settings/keys")
    check_page(page)
    shot(page, "settings-390-keys")
