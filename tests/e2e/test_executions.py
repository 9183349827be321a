"""Executions in the browser: run a workflow and watch it finish (the page refreshes itself),
retry a failed execution, and the list with a filter and an execution's page at 390 px."""
from __future__ import annotations

import pytest

from tests.fakes import FakeServer
from tests.fakes import reply

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect


def _workflow(live, definition: dict) -> dict:
    response = live.api("POST", "/api/v2/ai-workflows", json=definition)
    assert response.status_code == 201, response.text
    return response.json()


def _run(live, wf_id: int, payload: dict, wait: float | None = None) -> dict:
    query = f"?wait={wait}" if wait else ""
    response = live.api("POST", f"/api/v2/ai-workflows/{wf_id}/execute{query}", json=payload)
    assert response.status_code in (200, 202), response.text
    return response.json()


def test_run_it_and_watch_it_finish(live, page, check_page, shot):
    wf = _workflow(live, {"name": "Nightly orders", "trigger": {"type": "manual"}, "steps": [
        {"id": "shape", "type": "transform", "mapping": {"order": "trigger.order"}},
        {"id": "settle", "type": "wait", "seconds": 2.5, "depends_on": ["shape"]},
        {"id": "notify_delay", "type": "wait", "seconds": 1, "depends_on": ["shape"]},
        {"id": "total", "type": "transform", "mapping": {"done": "steps.shape.output.order"},
         "depends_on": ["settle", "notify_delay"]}]})
    ex = _run(live, wf["id"], {"order": 42})
    page.goto(f"{live.url}/executions/{ex['id']}")
    check_page(page)
    status = page.locator(".exec-status .status")
    assert status.inner_text() in ("queued", "running")
    assert page.locator("#execution-live[hx-trigger='every 2s']").count() == 1
    page.evaluate("window.notReloaded = true")
    # Open a step's output while it runs: it stays open across the refreshes.
    expect(page.locator("#step-shape summary", has_text="Output")).to_be_visible()
    page.locator("#step-shape summary", has_text="Output").click()
    expect(status).to_have_text("succeeded", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True  # htmx swapped it in; no reload
    assert page.locator("#execution-live[hx-trigger]").count() == 0  # final: polling stopped
    assert page.locator("#step-shape [data-keep] > details[open]").count() == 1
    bars = page.locator(".timeline-wide rect.bar.succeeded")
    assert bars.count() == 4
    # the two waits ran side by side: their bars overlap in time
    settle = page.locator("#step-settle")
    assert "succeeded" in settle.inner_text()
    boxes = [page.locator(".timeline-wide rect.bar").nth(i).bounding_box() for i in (1, 2)]
    assert boxes[0]["x"] < boxes[1]["x"] + boxes[1]["width"] and boxes[1]["x"] < boxes[0]["x"] + boxes[0]["width"]
    assert page.locator(".timeline-wide .axis-label", has_text=" s").count() >= 2
    assert page.locator("#execution-live time[data-localised]").count() >= 3  # wired after the swap
    assert page.locator("ol.steps > li").evaluate_all("els => els.map(e => e.id)") == [
        "step-shape", "step-settle", "step-notify_delay", "step-total"]
    check_page(page)
    shot(page, "executions-watch-it-finish")


def test_retry_a_failed_execution(live, page, check_page, shot):
    with FakeServer() as fake:
        fake.script("/orders", reply(500, {"error": "warehouse offline"}))
        fake.always("/orders", reply(200, {"orders": [1, 2, 3]}))
        conn = live.api("POST", "/api/v2/connections", json={
            "integration": "http", "label": "Warehouse", "settings": {"base_url": fake.url, "max_attempts": 1},
            "credentials": {}})
        assert conn.status_code == 201, conn.text
        wf = _workflow(live, {"name": "Fetch orders", "trigger": {"type": "manual"}, "steps": [
            {"id": "start", "type": "transform", "mapping": {"day": "trigger.day"}},
            {"id": "fetch", "type": "action", "service": "http", "action": "get",
             "connection": conn.json()["id"], "parameters": {"path": "/orders"}, "depends_on": ["start"]},
            {"id": "count", "type": "transform", "mapping": {"n": "length(steps.fetch.output.body.orders)"},
             "depends_on": ["fetch"]}]})
        ex = _run(live, wf["id"], {"day": "monday"}, wait=10)
        assert ex["status"] == "failed"
        page.goto(f"{live.url}/executions")
        check_page(page)
        page.get_by_role("link", name=f"#{ex['id']}").click()
        page.wait_for_url(f"{live.url}/executions/{ex['id']}")
        check_page(page)
        expect(page.locator(".exec-status .status")).to_have_text("failed")
        fetch = page.locator("#step-fetch")
        expect(fetch.locator(".error-class")).to_have_text("upstream")
        assert "500" in fetch.inner_text()
        expect(page.locator("#step-count .step-reason")).to_contain_text("fetch failed")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Retry from failed steps").click()
        page.wait_for_url(f"{live.url}/executions/{ex['id']}")
        expect(page.locator(".flash-success")).to_contain_text("runs again from its failed steps")
        expect(page.locator(".exec-status .status")).to_have_text("succeeded", timeout=10_000)
        expect(page.locator("#step-count .step-head .status")).to_have_text("succeeded")
        assert fake.count("/orders") == 2
        assert page.get_by_role("button", name="Retry from failed steps").count() == 0
        check_page(page)
        shot(page, "executions-retry")


def test_the_list_with_a_filter_and_an_execution_at_390px(live, new_page, check_page, shot):
    wf = _workflow(live, {"name": "Sizes of things that are long to name", "trigger": {"type": "manual"},
                          "steps": [
        {"id": "shape", "type": "transform", "mapping": {"s": "trigger.s"}},
        {"id": "pause", "type": "wait", "seconds": 0.3, "depends_on": ["shape"]},
        {"id": "measure_the_length", "type": "transform", "mapping": {"n": "length(steps.shape.output.s)"},
         "depends_on": ["pause"]}]})
    ok = _run(live, wf["id"], {"s": "abc"}, wait=10)
    bad = _run(live, wf["id"], {"s": 12345}, wait=10)
    assert (ok["status"], bad["status"]) == ("succeeded", "failed")
    page = new_page(width=390)
    page.goto(f"{live.url}/executions")
    check_page(page)
    assert page.locator("table.executions-table tbody tr").count() == 2
    page.get_by_label("Status").select_option("failed")  # the form submits itself
    page.wait_for_url("**/executions?*status=failed*")
    check_page(page)
    rows = page.locator("table.executions-table tbody tr")
    assert rows.count() == 1
    expect(page.get_by_label("Status")).to_have_value("failed")
    shot(page, "executions-list-390")
    rows.first.get_by_role("link", name=f"#{bad['id']}").click()
    page.wait_for_url(f"{live.url}/executions/{bad['id']}")
    check_page(page)
    expect(page.locator(".exec-status .status")).to_have_text("failed")
    expect(page.locator("#step-measure_the_length .error-class")).to_have_text("expression")
    expect(page.locator(".timeline-narrow svg")).to_be_visible()  # the phone's drawing
    expect(page.locator(".timeline-wide svg")).to_be_hidden()
    assert page.locator(".timeline-narrow rect.bar").count() == 3
    page.locator("#step-shape summary", has_text="Output").click()
    check_page(page)
    shot(page, "executions-execution-390")


def test_a_foreach_execution_shows_its_items_at_1280_and_390px(live, new_page, check_page, shot):
    """A loop over three items, one of which fails (continue and report): the execution's page
    groups the item runs under the loop, opened on the failure with its error."""
    wf = _workflow(live, {"name": "Tag each order", "trigger": {"type": "manual"}, "steps": [
        {"id": "loop", "type": "foreach", "items": "trigger.codes", "on_item_error": "continue",
         "steps": [{"id": "shape", "type": "transform", "mapping": {"code": "item"}},
                   {"id": "measure", "type": "transform", "depends_on": ["shape"],
                    "mapping": {"n": "length(steps.shape.output.code)"}}]}]})
    ex = _run(live, wf["id"], {"codes": ["ab", 3, "cde"]}, wait=10)  # length(3) fails
    assert ex["status"] == "succeeded", ex
    for width in (1280, 390):
        page = new_page(width=width)
        page.goto(f"{live.url}/executions/{ex['id']}")
        check_page(page)
        items = page.locator(".foreach-items")
        expect(items).to_contain_text("3 items run, 1 failed")
        assert page.locator("li.item").evaluate_all("els => els.map(e => e.id)") == [
            "step-loop-0", "step-loop-1", "step-loop-2"]
        failed = page.locator("#step-loop-1")
        expect(failed).to_contain_text("loop[1].measure")
        expect(failed).to_contain_text("expression")
        expect(failed).to_be_visible()  # the failure opened its group
        failed.scroll_into_view_if_needed()
        shot(page, "executions-foreach" + ("-390" if width == 390 else ""), full_page=width == 390)
