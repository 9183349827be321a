"""The intelligence in the browser: describe a workflow in words, see what was understood and
create it; its page then carries a prediction and optimisation findings; a failed execution is
troubleshot and its safe fixes applied; the dependency map at 1280 and 390 px."""
from __future__ import annotations

import re

import pytest

from tests.fakes import FakeServer
from tests.fakes import reply

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect


def test_describe_a_workflow_then_see_its_prediction_and_findings(live, page, new_page, check_page,
                                                                   shot):
    page.goto(live.url + "/workflows/new")
    check_page(page)
    page.get_by_label("What should the workflow do?").fill(
        "Every weekday at 7am, list the open Jira issues and post them to #standup in Slack")
    page.get_by_label("Time zone for schedules").fill("Europe/Paris")
    page.get_by_role("button", name="Understand").click()
    result = page.locator("#ai-describe-result")
    expect(result).to_contain_text("0 7 * * 1-5")
    expect(result).to_contain_text("#standup")
    expect(result).to_contain_text("jira")
    check_page(page)
    shot(page, "intelligence-describe")
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r".*/workflows/\d+$"))
    check_page(page)
    expect(page.locator("#ai-prediction-h")).to_be_visible()
    expect(page.get_by_text(re.compile(r"\d+(\.\d)?\s?%")).first).to_be_visible()
    expect(page.locator("#ai-optimise-h")).to_be_visible(timeout=10_000)
    check_page(page)
    shot(page, "intelligence-workflow")
    phone = new_page(width=390)
    phone.goto(page.url)
    expect(phone.locator("#ai-optimise-h")).to_be_visible(timeout=10_000)
    expect(phone.locator("#ai-prediction-h")).to_be_visible()
    check_page(phone)
    shot(phone, "intelligence-workflow-390")


def test_troubleshoot_a_failed_execution_and_apply_the_safe_fixes(live, page, check_page, shot):
    with FakeServer() as fake:
        fake.script("/stock", reply(503, {"error": "warehouse offline"}))
        fake.always("/stock", reply(200, {"items": 3}))
        conn = live.api("POST", "/api/v2/connections", json={
            "integration": "http", "label": "Warehouse",
            "settings": {"base_url": fake.url, "max_attempts": 1}, "credentials": {}})
        assert conn.status_code == 201, conn.text
        wf = live.api("POST", "/api/v2/ai-workflows", json={
            "name": "Stock check", "trigger": {"type": "manual"}, "steps": [
                {"id": "fetch", "type": "action", "service": "http", "action": "get",
                 "connection": conn.json()["id"], "parameters": {"path": "/stock"}}]}).json()
        ex = live.api("POST", f"/api/v2/ai-workflows/{wf['id']}/execute?wait=10", json={}).json()
        assert ex["status"] == "failed"
        page.goto(f"{live.url}/executions/{ex['id']}")
        panel = page.locator("#troubleshoot")
        page.get_by_role("button", name="Troubleshoot").click()
        expect(panel).to_contain_text("upstream")
        expect(panel).to_contain_text("503")
        check_page(page)
        page.get_by_role("button", name="Apply safe fixes and re-run").click()
        expect(panel).to_contain_text("succeeded", timeout=15_000)
        check_page(page)
        shot(page, "intelligence-troubleshoot")
        assert fake.count("/stock") >= 2

    # The Intelligence page lists the session, and an editor retrains the prediction model
    # there (the workflow page said "not trained yet").
    page.get_by_role("link", name="Intelligence").click()
    page.wait_for_url(live.url + "/intelligence")
    check_page(page)
    sessions = page.locator("table.ai-sessions tbody tr")
    expect(sessions).to_have_count(1)
    expect(sessions.first.get_by_role("link", name=f"#{ex['id']}")).to_be_visible()
    prediction = page.locator("#component-prediction")
    expect(prediction).to_contain_text("not trained yet")
    page.get_by_role("button", name="Retrain the prediction model").click()
    page.wait_for_url(live.url + "/intelligence")
    expect(page.locator(".flash-success")).to_contain_text("Retrained the prediction model")
    expect(prediction).not_to_contain_text("not trained yet")
    expect(prediction.locator("td[data-label=Trained] time")).to_be_visible()
    check_page(page)
    shot(page, "intelligence-status")
    sessions.first.get_by_role("link", name=f"#{ex['id']}").click()
    page.wait_for_url(f"{live.url}/executions/{ex['id']}")


def test_the_intelligence_page_at_390px(live, new_page, check_page, shot):
    phone = new_page(width=390)
    phone.goto(live.url + "/intelligence")
    check_page(phone)
    assert phone.locator("nav.nav a[aria-current=page]").inner_text() == "Intelligence"
    expect(phone.locator("#component-cross_service")).to_be_visible()
    shot(phone, "intelligence-status-390")


def test_the_dependency_map_at_1280_and_390px(live, new_page, check_page, shot):
    live.api("POST", "/api/v2/ai-workflows", json={
        "name": "PRs to Slack", "trigger": {"type": "event", "service": "github",
                                            "event": "pull_request_opened"},
        "steps": [{"id": "tell", "type": "action", "service": "slack", "action": "send_message",
                   "parameters": {"channel": "#eng", "text": "{{ trigger.number }}"}}]})
    for width in (1280, 390):
        page = new_page(width=width)
        page.goto(live.url + "/dependencies")
        check_page(page)
        expect(page.locator("svg").first).to_be_visible()
        expect(page.locator("main")).to_contain_text("PRs to Slack")
        shot(page, f"intelligence-dependencies-{width}")
