"""First sign-in with a one-time password, the password change, and the styled error pages."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in


def test_first_sign_in_forces_a_password_change_then_opens_the_dashboard(live, new_page, check_page, shot):
    from atom.extensions import db
    from atom.models import User

    def seed():
        user = User(email="new@example.com", role="admin", must_change_password=True)
        user.set_password("one-time-pass-123")
        db.session.add(user)
        db.session.commit()

    live.run(seed)
    page = new_page(signed_in=False)
    sign_in(page, live, "new@example.com", "one-time-pass-123")
    assert page.url.endswith("/password")
    check_page(page)
    page.get_by_label("Current password").fill("one-time-pass-123")
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Save").click()
    # The browser's own minlength check stops it first; past it, the server names the field.
    page.locator("#password").evaluate("el => el.removeAttribute('minlength')")
    page.get_by_role("button", name="Save").click()
    assert page.locator(".field.has-error #password").count() == 1
    assert "at least" in page.locator("#password-error").inner_text()
    page.get_by_label("Current password").fill("one-time-pass-123")
    page.get_by_label("New password").fill("a much longer password")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(live.url + "/")
    check_page(page)
    assert page.locator("nav.nav a[aria-current=page]").inner_text() == "Home"
    shot(page, "signin-first-password")


def test_a_wrong_password_keeps_the_email_typed(live, new_page, check_page):
    page = new_page(signed_in=False)
    sign_in(page, live, live.admin["email"], "not the password")
    assert page.get_by_label("Email").input_value() == live.admin["email"]
    assert "Wrong email or password" in page.content()
    check_page(page)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_404_page_is_styled_with_a_way_back(live, new_page, check_page, shot, width):
    page = new_page(width=width)
    response = page.goto(live.url + "/no/such/page")
    assert response.status == 404
    check_page(page)
    assert page.locator("h1").inner_text().startswith("404")
    page.get_by_role("link", name="Back to the dashboard").click()
    page.wait_for_url(live.url + "/")
    shot(page, f"error-404-{width}")


def test_keyboard_focus_is_visible(live, page):
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")


def test_the_page_check_catches_each_kind_of_problem(browser):
    """The check every journey runs is not toothless: each planted problem is reported (on a
    page of no origin, so no CSP stops the planted styles)."""
    from tests.e2e.conftest import PAGE_CHECK_JS

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_content("""<html><head><title>t</title></head><body>
      <h1>One</h1><h1>Two</h1>
      <p style="color:#bbb;background:#fff">faint text</p>
      <input name="nolabel">
      <img src="https://cdn.example.com/x.png" alt="">
      <div id="wide" style="width:3000px">wide</div>
    </body></html>""")
    problems = " | ".join(page.evaluate(PAGE_CHECK_JS))
    assert "2 h1 elements" in problems
    assert "contrast" in problems and "faint text" in problems
    assert "unlabelled input name=nolabel" in problems
    assert "outside URL https://cdn.example.com/x.png" in problems
    assert "style attribute on p" in problems
    assert "px wide in a 1280 px window" in problems
    page.close()
