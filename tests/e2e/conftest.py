"""Browser journeys: the real app on a loopback port (a threaded werkzeug server in this process,
CSRF on, a fresh database per test), driven by Debian's Chromium through Playwright.

Fixtures:
- ``live``: the running server (``live.url``, ``live.app``, ``live.api(method, path, json)`` with
  an admin key, ``live.admin`` the signed-in user's e-mail and password);
- ``page``: a signed-in admin's page at 1280 px; ``new_page(width=390, user=None)`` for others;
- ``check_page(page)``: what every page must satisfy (one ``h1``, a title, labelled fields, no
  outside URL, no horizontal scrolling, no console error or CSP violation);
- ``shot(page, name)``: a screenshot in ``build/e2e/<name>.png`` (kept as a test artifact).

Every test here is marked ``e2e``; without Chromium they are skipped, saying why (``make test``
installs it first, so CI runs them).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ATOM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "e2e"
ADMIN = {"email": "admin@example.com", "password": "correct horse battery staple"}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.heavy)
            # One browser per worker: keep the journeys together on one xdist worker.
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (make test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        yield browser
        browser.close()


@dataclass
class Live:
    url: str
    app: Any
    admin: dict[str, str]
    admin_key: str
    console: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, json: Any = None, key: str | None = None, **kwargs) -> Any:
        """A REST call as the admin's API key (for setting up what a journey starts from)."""
        import requests

        return requests.request(method, self.url + path, json=json, timeout=30,
                                headers={"Authorization": f"Bearer {key or self.admin_key}"}, **kwargs)

    def run(self, fn, *args, **kwargs):
        """Call ``fn`` inside the app's context (to read or seed the database directly)."""
        with self.app.app_context():
            return fn(*args, **kwargs)


@pytest.fixture
def live(app_factory, tmp_path, monkeypatch):
    from werkzeug.serving import make_server

    from atom.extensions import db
    from atom.models import ApiKey
    from atom.models import User

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False, TESTING=False,
                      PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        user = User(email=ADMIN["email"], role="admin")
        user.set_password(ADMIN["password"])
        db.session.add(user)
        row, plain = ApiKey.generate("e2e-admin", "admin")
        db.session.add(row)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Live(f"http://127.0.0.1:{server.server_port}", app, dict(ADMIN), plain)
    finally:
        server.shutdown()
        thread.join(5)


def _watch(page, sink: list[str]) -> None:
    def on_console(message):
        # A page answered 4xx on purpose is asserted by its test; CSP refusals and script
        # errors are what this catches.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            sink.append(f"console error on {page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: sink.append(f"script error on {page.url}: {exc}"))


def sign_in(page, live: Live, email: str, password: str) -> None:
    page.goto(live.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


@pytest.fixture
def new_page(browser, live):
    contexts = []

    def make(width: int = 1280, height: int = 900, user: dict[str, str] | None = None, signed_in: bool = True):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB",
                                      timezone_id="Europe/London")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        _watch(page, live.console)
        if signed_in:
            creds = user or live.admin
            sign_in(page, live, creds["email"], creds["password"])
        return page

    yield make
    for context in contexts:
        context.close()
    assert not live.console, "\n".join(live.console)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def shot():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = True) -> Path:
        # Take it after the page's last check_page: Chromium's full-page capture leaves empty
        # style attributes on hidden inputs, which the check would then report.
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


PAGE_CHECK_JS = r"""
() => {
  const problems = [];
  const h1 = document.querySelectorAll('h1');
  if (h1.length !== 1) problems.push(`${h1.length} h1 elements`);
  if (!document.title.trim()) problems.push('no title');
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1)
    problems.push(`page is ${doc.scrollWidth} px wide in a ${window.innerWidth} px window`);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || el.type === 'submit' || el.type === 'button') continue;
    const labelled = (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
      || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
  }
  for (const el of document.querySelectorAll('[src], link[href], script[src]')) {
    const url = el.getAttribute('src') || el.getAttribute('href');
    if (/^(https?:)?\/\//.test(url) && !url.startsWith(location.origin)) problems.push(`outside URL ${url}`);
  }
  for (const el of document.querySelectorAll('script:not([src])')) problems.push('inline script');
  for (const el of document.querySelectorAll('[style]')) {
    // Inline style attributes are refused by the CSP (style-src 'self'); scripts setting
    // el.style (uPlot, Swagger UI) are allowed and do not use the attribute in the markup.
    if (el.closest('.chart, .swagger-ui, #swagger-ui')) continue;
    if (!el.dataset.styledByScript) problems.push(`style attribute on ${el.tagName.toLowerCase()}`);
  }
  // WCAG AA contrast of every visible text against its effective background.
  const rgba = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { let layers = [];
    for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let out = [255, 255, 255];
    for (const c of layers.reverse()) out = out.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
    return out; };
  const seen = new Set();
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.chart, .swagger-ui, #swagger-ui, svg, .skip')) continue;
    const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join('');
    if (!text) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || style.display === 'none' || box.width === 0 || box.height === 0) continue;
    if (el.closest('[disabled], [aria-disabled="true"]')) continue;
    const fg = rgba(style.color); if (!fg) continue;
    const bg = background(el);
    const color = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [lum(color), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < needed) {
      const key = `${el.tagName}.${el.className}`;
      if (!seen.has(key)) { seen.add(key);
        problems.push(`contrast ${ratio.toFixed(2)} < ${needed} for "${text.slice(0, 30)}" (${el.tagName.toLowerCase()}.${el.className})`); }
    }
  }
  return problems;
}
"""


@pytest.fixture
def check_page(live):
    from playwright.sync_api import Error as PlaywrightError

    def check(page, settle_s: float = 5.0) -> None:
        # A click on a link returns before the next document has arrived, so the first look may
        # see a page half torn down (0 h1 elements) or a context destroyed by the navigation.
        # Look again until the page is right or settle_s has passed: a real defect stays and fails.
        deadline = time.monotonic() + settle_s
        while True:
            page.wait_for_load_state("load")
            try:
                problems = page.evaluate(PAGE_CHECK_JS)
            except PlaywrightError as exc:  # the navigation destroyed the context mid-look
                problems = [f"page changed while it was checked ({exc.message.splitlines()[0]})"]
            if not problems or time.monotonic() >= deadline:
                break
            page.wait_for_timeout(200)
        assert not problems, f"{page.url}: " + "; ".join(problems)

    return check
