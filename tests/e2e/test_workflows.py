"""Workflow journeys in the browser: from a template to its page with the graph; from JSON with a
validation error shown at its step and field, fixed and saved; step by step from the action
forms; Run with a payload onto the execution page; the list and a workflow's page at 390 px."""
from __future__ import annotations

import json
import re

GRAPH_WF = {
    "name": "Nightly sync", "description": "Copies the numbers across",
    "trigger": {"type": "schedule", "cron": "30 9 * * 1-5", "timezone": "Europe/Paris"},
    "steps": [
        {"id": "shape", "type": "transform", "mapping": {"n": "trigger.n"}},
        {"id": "big", "type": "condition", "expression": "steps.shape.output.n > `1`", "depends_on": ["shape"]},
        {"id": "left", "type": "transform", "mapping": {"x": "trigger.n"}, "depends_on": ["big"], "on_error": "rescue"},
        {"id": "right", "type": "transform", "mapping": {"y": "trigger.n"}, "depends_on": ["big"]},
        {"id": "rescue", "type": "transform", "mapping": {"z": "trigger.n"}},
    ],
}


def _seed(live, body: dict) -> dict:
    response = live.api("POST", "/api/v2/ai-workflows", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_a_workflow_from_a_template_and_see_its_graph(live, page, check_page, shot):
    page.goto(live.url + "/workflows")
    check_page(page)
    page.get_by_role("link", name="Start from a template").click()
    page.wait_for_url(live.url + "/workflows/new")
    check_page(page)
    page.get_by_label("Search templates").fill("alert")
    page.get_by_label("Search templates").press("Enter")
    page.wait_for_url(re.compile(r".*q=alert"))
    page.get_by_role("link", name="Use the template Health alert to Slack").click()
    check_page(page)
    page.get_by_label("Name").fill("Critical alerts to #ops")
    page.get_by_label("Webhook secret (optional)").fill("a-long-webhook-secret-42")
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r".*/workflows/\d+$"))
    check_page(page)
    assert page.locator("h1").inner_text() == "Critical alerts to #ops"
    assert "created from the template" in page.locator(".flash-success").inner_text()
    nodes = page.locator("svg.graph g.node")
    assert nodes.count() == 3  # the trigger, the condition, the Slack step
    assert page.locator("svg.graph g.node.kind-condition").count() == 1
    assert "/hooks/workflows/" in page.locator("#hook-url").inner_text()
    assert "a-long-webhook-secret-42" not in page.content()
    _shell_example_is_accepted(page.locator("#sign-shell").inner_text(), "a-long-webhook-secret-42")
    shot(page, "workflows-from-template")


def _shell_example_is_accepted(code: str, secret: str) -> None:
    """The page's openssl + curl example, run as shown with the secret, starts the workflow
    (and with another secret is refused)."""
    import shutil
    import subprocess

    if not (shutil.which("openssl") and shutil.which("curl")):
        return  # nothing to run it with here; the unit tests run the Python example
    status = " -s -o /dev/null -w '%{http_code}'"
    for value, expected in ((secret, "202"), ("not the secret", "401")):
        done = subprocess.run(["bash", "-c", code.replace("'your webhook secret'", f"'{value}'") + status],
                              capture_output=True, text=True, timeout=30)
        assert done.stdout == expected, (value, done.stdout, done.stderr)


def test_create_from_json_with_an_error_shown_at_its_step_and_field(live, page, check_page, shot):
    page.goto(live.url + "/workflows/new/json")
    check_page(page)
    body = {"name": "Announce deploys", "trigger": {"type": "webhook"}, "steps": [
        {"id": "shape", "type": "transform", "mapping": {"who": "trigger.user"}},
        {"id": "notify", "type": "action", "service": "slack", "action": "send_message", "depends_on": ["shape"],
         "parameters": {"channel": "", "text": "Deployed by {{ steps.shape.output.who }}"}}]}
    editor = page.get_by_label("Workflow definition (JSON)")
    editor.fill(json.dumps(body))
    editor.blur()  # atom.js re-indents it
    assert editor.input_value().startswith("{\n  \"name\"")
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_load_state("networkidle")
    check_page(page)
    problems = page.locator(".wf-problems")
    assert "1 problem" in problems.locator("h2").inner_text()
    item = problems.locator('li[data-path="steps.notify.parameters.channel"]')
    assert "step 2 (notify), field parameters.channel" in item.inner_text()
    marked = page.locator(".wf-annotated .ln-bad")
    assert marked.count() == 1 and '"channel": ""' in marked.inner_text()
    assert "Length must be between 1 and 80" in page.locator("#err-steps-notify-parameters-channel").inner_text()
    shot(page, "workflows-json-error")
    item.get_by_role("link").click()  # jumps to the marked line
    assert page.evaluate("location.hash") == "#err-steps-notify-parameters-channel"
    typed = editor.input_value()
    assert '"channel": ""' in typed  # what was typed is kept
    editor.fill(typed.replace('"channel": ""', '"channel": "#deploys"'))
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r".*/workflows/\d+$"))
    check_page(page)
    assert page.locator("h1").inner_text() == "Announce deploys"
    assert page.locator("svg.graph g.node").count() == 3
    shot(page, "workflows-from-json")


def test_build_a_workflow_step_by_step(live, page, check_page, shot):
    page.goto(live.url + "/workflows/new/steps")
    check_page(page)
    page.get_by_label("Name").fill("Probe the status page")
    page.get_by_label("Integration", exact=True).select_option("http")
    page.get_by_label("Action").wait_for()  # htmx re-rendered the form with the actions
    page.get_by_label("Action").select_option("get")
    page.get_by_label("path").wait_for()  # the action's input schema as fields
    check_page(page)
    assert page.get_by_label("Name").input_value() == "Probe the status page"  # kept across the refresh
    page.get_by_label("path").fill("/status")
    page.get_by_role("button", name="Add step").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".wf-step").count() == 1
    page.get_by_label("Kind of step").select_option("condition")
    page.get_by_label("Expression").wait_for()
    page.get_by_label("Expression").fill("steps.get.output.status == `200`")
    page.get_by_role("button", name="Add step").click()
    page.wait_for_load_state("networkidle")
    check_page(page)
    assert page.locator(".wf-step").count() == 2, page.locator(".error, .flash-error").all_inner_texts()
    assert page.locator("svg.graph g.node").count() == 3
    page.get_by_role("button", name="Create workflow").click()
    page.wait_for_url(re.compile(r".*/workflows/\d+$"))
    check_page(page)
    assert page.locator("h1").inner_text() == "Probe the status page"
    rows = page.locator("table.wf-steps tbody tr")
    assert rows.count() == 2 and "http.get" in rows.nth(0).inner_text()
    shot(page, "workflows-step-by-step")


def test_run_with_a_payload_and_land_on_the_execution(live, page, check_page, shot):
    wf = _seed(live, {**GRAPH_WF, "trigger": {"type": "manual"}})
    page.goto(f"{live.url}/workflows/{wf['id']}")
    check_page(page)
    page.get_by_label("Trigger payload (JSON)").fill('{"n": 7}')
    page.get_by_role("button", name="Run now").click()
    page.wait_for_url(re.compile(r".*/executions/\d+$"))
    check_page(page)
    ex_id = int(page.url.rsplit("/", 1)[1])
    assert page.get_by_text(re.compile(r"queued|running|succeeded")).first.is_visible()
    executions = live.api("GET", f"/api/v2/executions?workflow_id={wf['id']}").json()["executions"]
    assert [e["id"] for e in executions] == [ex_id]
    page.goto(f"{live.url}/workflows/{wf['id']}")
    assert page.locator(f'a[href="/executions/{ex_id}"]').count() >= 1
    page.goto(f"{live.url}/executions/{ex_id}")
    check_page(page)
    shot(page, "workflows-run")


def test_the_list_and_a_workflow_page_at_390_px(live, new_page, check_page, shot):
    wf = _seed(live, GRAPH_WF)
    _seed(live, {"name": "Signed hook with a rather long name for a phone screen", "trigger": {"type": "webhook", "secret": "phone-secret-123"},
                 "steps": [{"id": "a", "type": "transform", "mapping": {"v": "trigger.v"}}]})
    live.api("POST", f"/api/v2/ai-workflows/{wf['id']}/execute?wait=10", json={"n": 3})
    page = new_page(width=390)
    page.goto(live.url + "/workflows")
    check_page(page)
    assert page.locator("table.wf-table tbody tr").count() == 2
    page.get_by_label("Trigger").select_option("schedule")  # the filters swap the results in (htmx)
    page.wait_for_url(re.compile(r".*trigger=schedule"))
    page.wait_for_function("document.querySelectorAll('table.wf-table tbody tr').length === 1")
    check_page(page)
    shot(page, "workflows-list-390")
    page.get_by_role("link", name="Nightly sync").click()
    page.wait_for_url(f"{live.url}/workflows/{wf['id']}")
    check_page(page)
    fires = page.locator(".wf-fires time")
    assert fires.count() == 5
    assert "UTC" not in fires.first.inner_text()  # atom.js shows it in the reader's zone (Europe/London)
    box = page.locator("svg.graph").bounding_box()
    assert box["width"] <= 390
    shot(page, "workflows-page-390")



def test_step_figures_and_the_analytics_tab_at_1280_and_390(live, new_page, check_page, shot):
    wf = _seed(live, {"name": "Item sync", "trigger": {"type": "manual"}, "steps": [
        {"id": "shape", "type": "transform", "mapping": {"xs": "trigger.xs"}},
        {"id": "loop", "type": "foreach", "items": "steps.shape.output.xs", "depends_on": ["shape"],
         "steps": [{"id": "call", "type": "transform", "mapping": {"x": "item"}}]}]})
    for xs in ([1, 2, 3], [4]):
        assert live.api("POST", f"/api/v2/ai-workflows/{wf['id']}/execute?wait=10",
                        json={"xs": xs}).json()["status"] == "succeeded"
    page = new_page()
    page.goto(live.url + "/workflows")
    page.get_by_role("link", name="Analytics").click()
    page.wait_for_url(live.url + "/workflows/analytics")
    check_page(page)
    row = page.locator(f"#wa-{wf['id']}")
    assert row.locator("td").nth(1).inner_text() == "2"
    shot(page, "workflows-analytics")
    row.get_by_role("link", name="Item sync").click()
    page.wait_for_url(re.compile(rf".*/workflows/{wf['id']}\?days=30"))
    assert page.locator("#figures-loop\\[\\*\\]\\.call td").nth(1).inner_text() == "4"
    page.get_by_label("Over", exact=True).select_option("1")  # the form submits itself
    page.wait_for_url(re.compile(r".*days=1"))
    assert "Steps over the last day" in page.locator("#step-figures-h").inner_text()
    check_page(page)
    page.locator("#step-figures-h").scroll_into_view_if_needed()
    shot(page, "workflows-step-figures", full_page=False)
    phone = new_page(width=390)
    phone.goto(f"{live.url}/workflows/{wf['id']}?days=7")
    check_page(phone)
    phone.locator("#step-figures-h").scroll_into_view_if_needed()
    shot(phone, "workflows-step-figures-390", full_page=False)
    phone.goto(live.url + "/workflows/analytics")
    check_page(phone)
    shot(phone, "workflows-analytics-390")
