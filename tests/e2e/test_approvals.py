"""An approval journey in the browser: a workflow with an approval step (created through the
API) runs and waits; the signed-in admin opens the execution, sees it waiting with the step's
message, approves with a comment and watches it finish, the decision (who, via the dashboard,
the comment) shown on the step. The same page at 390 px without horizontal scrolling."""
from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

COMMENT = "Checked the invoice totals, go ahead"


def _waiting_execution(live, name: str = "Pay the supplier") -> dict:
    response = live.api("POST", "/api/v2/ai-workflows", json={
        "name": name, "trigger": {"type": "manual"}, "steps": [
            {"id": "invoice", "type": "transform", "mapping": {"amount": "trigger.amount",
                                                               "supplier": "trigger.supplier"}},
            {"id": "sign_off", "type": "approval", "depends_on": ["invoice"],
             "message": "Pay {{ trigger.supplier }} {{ trigger.amount }} EUR?",
             "approvers": {"roles": ["admin"]}, "allow_self": True},
            {"id": "pay", "type": "transform", "depends_on": ["sign_off"],
             "mapping": {"paid": "steps.invoice.output.amount"}}]})
    assert response.status_code == 201, response.text
    run = live.api("POST", f"/api/v2/ai-workflows/{response.json()['id']}/execute",
                   json={"amount": 1250, "supplier": "Acme Paper"})
    assert run.status_code == 202, run.text
    ex_id = run.json()["id"]
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the run reaches the approval and parks
        body = live.api("GET", f"/api/v2/executions/{ex_id}").json()
        if body["status"] == "waiting":
            return body
        time.sleep(0.05)
    raise AssertionError(f"execution {ex_id} never waited: {body['status']}")


def _swapped(page) -> None:
    """Wait for the page's next self-refresh (htmx replaces #execution-live every 2 s)."""
    page.evaluate("""() => new Promise(resolve => document.body.addEventListener(
        'htmx:afterSettle', () => resolve(), {once: true}))""")


def test_approve_a_waiting_execution_with_a_comment_and_watch_it_finish(live, page, check_page, shot):
    ex = _waiting_execution(live)
    page.goto(f"{live.url}/executions/{ex['id']}")
    check_page(page)
    status = page.locator(".exec-status .status")
    expect(status).to_have_text("waiting")
    step = page.locator("#step-sign_off")
    expect(step.locator(".approval-message")).to_have_text("Pay Acme Paper 1250 EUR?")
    expect(step.locator(".step-head .status")).to_have_text("running")
    expect(page.locator("#step-pay .step-head .status")).to_have_text("pending")
    # On the timeline it waits (the legend's "waiting or retrying" colour), not "running".
    expect(page.locator(".timeline-wide rect.bar.waiting")).to_have_count(1)
    # Type the comment, then let the page refresh itself under it: what was typed stays, focused.
    comment = step.get_by_label("Comment")
    comment.fill(COMMENT)
    _swapped(page)
    expect(comment).to_have_value(COMMENT)
    expect(comment).to_be_focused()
    step.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{live.url}/executions/{ex['id']}")
    expect(page.locator(".flash-success")).to_contain_text(f"You approved step sign_off of execution #{ex['id']}")
    expect(status).to_have_text("succeeded", timeout=10_000)
    expect(page.locator("#step-pay .step-head .status")).to_have_text("succeeded")
    decision = step.locator("ul.decisions li")
    expect(decision).to_have_count(1)
    text = decision.inner_text()
    assert text.startswith("approved by admin@example.com via dashboard"), text
    assert f"“{COMMENT}”" in text and "UTC" not in text  # the time is the reader's (localised)
    assert step.get_by_role("button", name="Approve").count() == 0
    # The API agrees: who, how, the comment, and the step's output.
    body = live.api("GET", f"/api/v2/executions/{ex['id']}").json()
    assert body["status"] == "succeeded"
    [sign_off] = [s for s in body["steps"] if s["step_id"] == "sign_off"]
    [recorded] = sign_off["decisions"]
    assert (recorded["by"], recorded["via"], recorded["comment"]) == ("admin@example.com", "dashboard", COMMENT)
    assert sign_off["output"]["decision"] == "approved"
    check_page(page)
    shot(page, "approvals-approved")


def test_the_waiting_approval_at_390px(live, new_page, check_page, shot):
    ex = _waiting_execution(live, "Pay the supplier whose name is rather long to show")
    page = new_page(width=390)
    page.goto(f"{live.url}/executions/{ex['id']}")
    expect(page.locator(".exec-status .status")).to_have_text("waiting")
    check_page(page)  # no horizontal scrolling, labelled comment, contrast
    step = page.locator("#step-sign_off")
    for name in ("Approve", "Reject"):
        box = step.get_by_role("button", name=name).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    field = step.get_by_label("Comment").bounding_box()
    assert field["x"] >= 0 and field["x"] + field["width"] <= 390, field
    shot(page, "approvals-waiting-390")
    step.get_by_label("Comment").fill("fine")
    step.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{live.url}/executions/{ex['id']}")
    expect(page.locator(".exec-status .status")).to_have_text("succeeded", timeout=10_000)
    check_page(page)
    shot(page, "approvals-approved-390")
