"""The executions pages: the list across workflows (the filters of GET /api/v2/executions, paging,
its empty state), one execution (steps in graph order, the timeline, attempts, skip reasons,
inputs and outputs redacted, the self-refresh while it runs), and Retry / Cancel."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import Execution
from atom.models.base import utcnow
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def api(app, keys) -> Api:
    return Api(app.test_client(), keys["editor"])


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


def html(response) -> str:
    return response.get_data(as_text=True)


def rows_of(page: str) -> list[int]:
    """The execution ids the list shows, in order."""
    return [int(n) for n in re.findall(r'data-label="Execution"><a href="/executions/(\d+)"', page)]


TWO = manual("Nightly sync", [
    {"id": "shape", "type": "transform", "mapping": {"n": "trigger.n"}},
    {"id": "size", "type": "transform", "mapping": {"n": "length(trigger.s)"}, "depends_on": ["shape"]}])


def _set(app, ex_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(db.update(Execution).where(Execution.id == ex_id).values(**values))
        db.session.commit()


# -- the list ------------------------------------------------------------------------------------


def test_the_list_needs_a_sign_in(client):
    response = client.get("/executions")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_empty_list_starts_the_job(signed_in):
    page = html(signed_in.get("/executions"))
    assert "No workflow has run yet" in page
    assert 'href="/workflows"' in page and "Go to workflows" in page
    assert 'aria-current="page">Executions' in page  # the navigation marks the page


def test_the_list_filters_like_the_api_newest_first(app, api, signed_in):
    one = api.create(TWO)
    other = api.create(manual("Other flow", [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}]))
    ok = api.run(one["id"], {"n": 1, "s": "abc"})
    bad = api.run(one["id"], {"n": 1, "s": 5})  # length() of a number: the step fails
    third = api.run(other["id"], {"x": 1})
    assert (ok["status"], bad["status"], third["status"]) == ("succeeded", "failed", "succeeded")
    now = utcnow()
    _set(app, ok["id"], created_at=now - timedelta(days=3))
    _set(app, bad["id"], created_at=now - timedelta(days=1))
    _set(app, third["id"], trigger_type="schedule")

    page = html(signed_in.get("/executions"))
    assert rows_of(page) == [third["id"], bad["id"], ok["id"]]
    assert "Nightly sync" in page and "Other flow" in page
    assert "step size failed (expression)" in page  # the failure's reason, in the list
    assert rows_of(html(signed_in.get("/executions?status=failed"))) == [bad["id"]]
    assert rows_of(html(signed_in.get(f"/executions?workflow_id={one['id']}"))) == [bad["id"], ok["id"]]
    assert rows_of(html(signed_in.get("/executions?trigger_type=schedule"))) == [third["id"]]
    assert rows_of(html(signed_in.get("/executions?trigger_type=manual&status=succeeded"))) == [ok["id"]]
    # datetime-local values, read as UTC, like the API's since/until
    since = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    until = (now - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M")
    assert rows_of(html(signed_in.get(f"/executions?since={since}"))) == [third["id"], bad["id"]]
    assert rows_of(html(signed_in.get(f"/executions?since={since}&until={until}"))) == [bad["id"]]
    # the same answer as the API
    listed = api.client.get(f"/api/v2/executions?since={since}&until={until}", headers=api.headers)
    assert [e["id"] for e in listed.get_json()["executions"]] == [bad["id"]]
    filtered = html(signed_in.get(f"/executions?status=failed&workflow_id={one['id']}"))
    assert '<option value="failed" selected>' in filtered  # the filter keeps what was chosen
    assert f'<option value="{one["id"]}" selected>' in filtered
    nothing = html(signed_in.get("/executions?status=cancelled"))
    assert "No execution matches these filters" in nothing and rows_of(nothing) == []


def test_the_api_filters_by_trigger_type_too(app, api):
    wf = api.create(TWO)
    first = api.run(wf["id"], {"n": 1, "s": "a"})
    second = api.run(wf["id"], {"n": 1, "s": "b"})
    _set(app, first["id"], trigger_type="webhook")
    listed = api.client.get("/api/v2/executions?trigger_type=webhook", headers=api.headers).get_json()
    assert [e["id"] for e in listed["executions"]] == [first["id"]]
    manual_runs = api.client.get("/api/v2/executions?trigger_type=manual", headers=api.headers).get_json()
    assert [e["id"] for e in manual_runs["executions"]] == [second["id"]]
    refused = api.client.get("/api/v2/executions?trigger_type=telepathy", headers=api.headers)
    assert refused.status_code in (400, 422)
    assert "trigger_type" in str(refused.get_json())


def test_a_bad_filter_is_named_beside_its_field_and_kept(api, signed_in):
    api.run(api.create(TWO)["id"], {"n": 1, "s": "abc"})
    response = signed_in.get("/executions?status=exploded&since=yesterday-ish&trigger_type=manual")
    assert response.status_code == 422
    page = html(response)
    assert re.search(r'<p class="error" id="f-status-error">[^<]*Must be one of', page)
    assert re.search(r'id="f-since"[^>]*value="yesterday-ish"', page, re.S)  # the typed value kept
    assert 'id="f-since-error"' in page
    assert '<option value="manual" selected>' in page
    assert len(rows_of(page)) == 1  # the list is shown unfiltered meanwhile
    assert signed_in.get("/executions?workflow_id=abc").status_code == 422


def test_the_list_pages_keeping_its_filters(app, api, signed_in):
    wf = api.create(TWO)
    ex = api.run(wf["id"], {"n": 1, "s": "a"})
    with app.app_context():
        for _ in range(30):
            db.session.add(Execution(workflow_id=wf["id"], version=1, status="failed", trigger_type="manual",
                                     error="boom", started_at=utcnow(), finished_at=utcnow()))
        db.session.commit()
    first = html(signed_in.get("/executions?status=failed"))
    assert len(rows_of(first)) == 25 and "Page 1 of 2" in first
    assert 'href="/executions?status=failed&amp;page=2"' in first
    second = html(signed_in.get("/executions?status=failed&page=2"))
    assert len(rows_of(second)) == 5 and ex["id"] not in rows_of(second)


def test_the_list_refreshes_itself_while_an_execution_runs(app, api, signed_in):
    wf = api.create(TWO)
    ex = api.run(wf["id"], {"n": 1, "s": "a"})
    page = html(signed_in.get("/executions"))
    assert "hx-trigger" not in page  # nothing running: no polling
    _set(app, ex["id"], status="running", finished_at=None)
    page = html(signed_in.get("/executions"))
    assert 'id="executions-results" hx-get="/executions?" hx-trigger="every 3s"' in page
    fragment = signed_in.get("/executions?status=running", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    body = html(fragment)
    assert body.lstrip().startswith("{#") is False and "<h1" not in body and "<html" not in body
    assert 'hx-get="/executions?status=running"' in body and rows_of(body) == [ex["id"]]


# -- one execution -------------------------------------------------------------------------------


def test_an_execution_shows_its_steps_in_graph_order_with_a_timeline(app, api, signed_in):
    # Listed out of order: the page follows the graph (a; then b and c in parallel; then d, e).
    wf = api.create(manual("Graph", [
        {"id": "d", "type": "transform", "mapping": {"x": "steps.b.output.x"}, "depends_on": ["b", "c"]},
        {"id": "b", "type": "wait", "seconds": 0.05, "depends_on": ["a"]},
        {"id": "c", "type": "transform", "mapping": {"y": "trigger.y"}, "depends_on": ["a"]},
        {"id": "a", "type": "transform", "mapping": {"x": "trigger.x"}},
        {"id": "e", "type": "transform", "mapping": {"z": "`1`"}, "depends_on": ["c"],
         "when": "trigger.x == `2`"},
    ]))
    ex = api.run(wf["id"], {"x": 1, "y": "why"})
    assert ex["status"] == "succeeded"
    page = html(signed_in.get(f"/executions/{ex['id']}"))
    order = re.findall(r'<li class="step" id="step-(\w+)"', page)
    assert order == ["a", "b", "c", "d", "e"]  # by level, then as listed
    assert "<title>Execution #%d · ATOM</title>" % ex["id"] in page
    assert page.count("<h1") == 1
    # header: workflow (no workflow page in this build: plain text), version, trigger, times
    assert "Graph" in page and "v1" in page and "manual" in page
    assert page.count("<time datetime=") >= 4
    # the timeline: one bar per step that ran, coloured by status, an axis with ms/s labels
    wide, narrow = re.findall(r"<svg class=\"timeline\".*?</svg>", page, re.S)  # for screens and phones
    assert 'viewBox="0 0 960 ' in wide and 'viewBox="0 0 360 ' in narrow
    svg = wide
    assert svg.count('class="bar succeeded"') == 4
    assert svg.count('class="bar skipped"') == 1
    assert re.search(r'class="axis-label"[^>]*>\d+(\.\d+)? (ms|s)</text>', svg)
    # the skipped step says why, an output is pretty-printed JSON in a collapsible block
    assert "<strong>Skipped:</strong> when was false" in page
    assert '<details class="json"><summary>Output</summary><pre><code>{\n  &#34;y&#34;: &#34;why&#34;\n}' in page
    shape = page[page.index('id="step-a"'):page.index('id="step-b"')]
    assert 'class="attempts"' not in shape  # one clean attempt: its status says it all
    assert "hx-trigger" not in page  # finished: nothing polls
    assert "Retry from failed steps" not in page and ">Cancel</button>" not in page


def test_a_condition_that_is_false_skips_what_follows_and_says_so(api, signed_in):
    wf = api.create(manual("Gate", [
        {"id": "check", "type": "condition", "expression": "trigger.n > `5`"},
        {"id": "act", "type": "transform", "mapping": {"n": "trigger.n"}, "depends_on": ["check"]},
        {"id": "after", "type": "transform", "mapping": {"n": "trigger.n"}, "depends_on": ["act"]}]))
    ex = api.run(wf["id"], {"n": 1})
    page = html(signed_in.get(f"/executions/{ex['id']}"))
    assert "<strong>Skipped:</strong> condition check was false" in page
    assert "<strong>Skipped:</strong> act was skipped" in page


def test_a_failed_step_shows_every_attempt_with_its_error(app, api, signed_in, create_connection, fake):
    fake.always("/flaky", reply(500, {"error": "database on fire"}))
    conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1})
    wf = api.create(manual("Flaky", [
        {"id": "fetch", "type": "action", "service": "http", "action": "get", "connection": conn["id"],
         "parameters": {"path": "/flaky"}, "retry": {"max_attempts": 3, "delay_s": 0}},
        {"id": "after", "type": "transform", "mapping": {"x": "`1`"}, "depends_on": ["fetch"]}]))
    ex = api.run(wf["id"], {})
    assert ex["status"] == "failed"
    assert fake.count("/flaky") == 3
    page = html(signed_in.get(f"/executions/{ex['id']}"))
    step = page[page.index('id="step-fetch"'):page.index('id="step-after"')]
    assert step.count('<span class="attempt-no">') == 3
    assert "Attempt 1 of 3" in step and "Attempt 3 of 3" in step
    # Every attempt is kept: each of the three shows its class and the service's answer.
    assert "recorded before ATOM kept every attempt" not in step
    assert step.count('<code class="error-class">upstream</code>') == 3
    assert step.count("database on fire") >= 3
    assert "500" in step
    assert "Why it failed:</strong> step fetch failed (upstream)" in page
    assert "<strong>Skipped:</strong> fetch failed" in page
    assert '<details class="json"><summary>Input</summary>' in step and "/flaky" in step
    assert "Retry from failed steps" in page


def test_retry_from_the_dashboard_reruns_the_failed_steps(app, api, signed_in, create_connection, fake):
    fake.script("/flaky", reply(500, {"error": "not yet"}))
    fake.always("/flaky", reply(200, {"ok": True}))
    conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1})
    wf = api.create(manual("Retry me", [
        {"id": "first", "type": "transform", "mapping": {"x": "`1`"}},
        {"id": "fetch", "type": "action", "service": "http", "action": "get", "connection": conn["id"],
         "parameters": {"path": "/flaky"}, "depends_on": ["first"]}]))
    ex = api.run(wf["id"], {})
    assert ex["status"] == "failed"
    response = signed_in.post(f"/executions/{ex['id']}/retry")
    assert response.status_code == 302 and response.headers["Location"] == f"/executions/{ex['id']}"
    done = api.wait_finished(ex["id"])
    assert done["status"] == "succeeded"
    assert fake.count("/flaky") == 2
    page = html(signed_in.get(f"/executions/{ex['id']}"))
    assert "runs again from its failed steps" in page  # the flash
    assert 'class="status status-succeeded">succeeded' in page
    # a second retry is refused with the API's reason
    again = signed_in.post(f"/executions/{ex['id']}/retry", follow_redirects=True)
    assert "Not retried: only failed or cancelled executions can be retried; this one is succeeded" in html(again)


def test_a_running_execution_refreshes_itself_until_it_is_cancelled(app, api, signed_in):
    wf = api.create(manual("Slow", [
        {"id": "shape", "type": "transform", "mapping": {"x": "`1`"}},
        {"id": "pause", "type": "wait", "seconds": 30, "depends_on": ["shape"]},
        {"id": "after", "type": "transform", "mapping": {"x": "`2`"}, "depends_on": ["pause"]}]))
    started = api.execute(wf["id"], {}, wait=None).get_json()
    running = api.wait_for(started["id"], lambda b: any(s["step_id"] == "pause" for s in b["steps"]))
    # A 30 s wait is a durable timer (DURABLE_WAIT_S): the execution is parked, still polled.
    assert running["status"] in ("running", "waiting")
    page = html(signed_in.get(f"/executions/{started['id']}"))
    assert (f'hx-get="/executions/{started["id"]}" hx-trigger="every 2s" hx-swap="outerHTML"') in page
    assert 'class="status status-waiting">waiting' in page and "so far" in page
    assert 'class="bar waiting"' in page
    assert "not started" in page  # the step after the wait, in the timeline
    assert "waits 30.0 s" in page
    assert ">Cancel</button>" in page and "Retry from failed steps" not in page
    fragment = signed_in.get(f"/executions/{started['id']}", headers={"HX-Request": "true"})
    body = html(fragment)
    assert body.lstrip().startswith('<div id="execution-live"') and "<h1" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    response = signed_in.post(f"/executions/{started['id']}/cancel")
    assert response.status_code == 302
    done = api.wait_finished(started["id"])
    assert done["status"] == "cancelled"
    final = html(signed_in.get(f"/executions/{started['id']}", headers={"HX-Request": "true"}))
    assert "hx-trigger" not in final and "hx-get" not in final  # final: the polling stops
    assert "Retry from failed steps" in final
    page = html(signed_in.get(f"/executions/{started['id']}"))
    assert ("Cancellation of execution" in page and "requested" in page) or "was cancelled" in page
    again = html(signed_in.post(f"/executions/{started['id']}/cancel", follow_redirects=True))
    assert f"Not cancelled: execution {started['id']} has already cancelled" in again


def test_a_queued_execution_is_cancelled_at_once(app, api, signed_in):
    wf = api.create(TWO)
    ex = api.run(wf["id"], {"n": 1, "s": "a"})
    with app.app_context():
        queued = Execution(workflow_id=wf["id"], version=1, status="queued", trigger_type="manual")
        db.session.add(queued)
        db.session.commit()
        qid = queued.id
    page = html(signed_in.post(f"/executions/{qid}/cancel", follow_redirects=True))
    assert f"Execution #{qid} was cancelled before it started" in page
    assert 'class="status status-cancelled">cancelled' in page
    assert ex["id"] != qid


def test_viewers_see_executions_but_no_buttons_and_cannot_post(app, api, viewer):
    wf = api.create(TWO)
    ex = api.run(wf["id"], {"n": 1, "s": 5})
    assert ex["status"] == "failed"
    page = html(viewer.get(f"/executions/{ex['id']}"))
    assert "size" in page and "Retry from failed steps" not in page
    assert viewer.get("/executions").status_code == 200
    refused = viewer.post(f"/executions/{ex['id']}/retry")
    assert refused.status_code == 403 and "Viewers can look" in html(refused)
    assert viewer.post(f"/executions/{ex['id']}/cancel").status_code == 403
    assert api.execution(ex["id"])["status"] == "failed"  # nothing happened


def test_missing_executions_are_404(signed_in):
    for response in (signed_in.get("/executions/9999"), signed_in.post("/executions/9999/retry"),
                     signed_in.post("/executions/9999/cancel")):
        assert response.status_code == 404
        assert "There is no execution #9999" in html(response)


def test_the_workflow_is_linked_when_its_page_exists(app, app_factory, api, signed_in, alice):
    wf = api.create(TWO)
    ex = api.run(wf["id"], {"n": 1, "s": "a"})
    if "dashboard.workflow" not in app.view_functions:  # no workflow page: its name, plain text
        page = html(signed_in.get(f"/executions/{ex['id']}"))
        assert f'href="/workflows/{wf["id"]}"' not in page and "Nightly sync" in page
    other = app_factory()  # the same database, and a workflow page (whatever its argument's name)
    if "dashboard.workflow" not in other.view_functions:
        other.add_url_rule("/workflows/<int:workflow_id>", endpoint="dashboard.workflow",
                           view_func=lambda workflow_id: "a workflow")
    try:
        client = other.test_client()
        client.post("/login", data=alice)
        page = html(client.get(f"/executions/{ex['id']}"))
        assert f'<a href="/workflows/{wf["id"]}">Nightly sync</a>' in page
        assert f'<a href="/workflows/{wf["id"]}">Nightly sync</a>' in html(client.get("/executions"))
    finally:
        close_engine(other)


def test_no_connection_secret_reaches_the_pages(app, api, signed_in, create_connection, fake):
    token = "tok/SUPER+SECRET=0123456789abcdef"

    def echo(req):
        return reply(200, {"authorization": req.headers.get("Authorization", ""),
                           "copy": req.headers.get("X-Copy", "")})

    fake.always("/echo", echo)
    conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1},
                             {"auth": "bearer", "token": token})
    wf = api.create(manual("Echo", [
        {"id": "call", "type": "action", "service": "http", "action": "get", "connection": conn["id"],
         "parameters": {"path": "/echo", "headers": {"X-Copy": token}}}]))
    ex = api.run(wf["id"], {})
    assert ex["status"] == "succeeded"
    assert fake.calls("/echo")[0].headers["Authorization"] == f"Bearer {token}"  # it was sent
    for path in (f"/executions/{ex['id']}", "/executions"):
        page = html(signed_in.get(path))
        assert token not in page and token[:8] not in page
    page = html(signed_in.get(f"/executions/{ex['id']}"))
    assert "[REDACTED]" in page


def test_a_step_in_progress_of_a_retry_shows_the_failed_attempt(app, api, signed_in, create_connection, fake):
    fake.script("/slow", reply(500, {"error": "first"}))
    fake.always("/slow", reply(200, {"ok": True}))
    conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1})
    wf = api.create(manual("Backoff", [
        {"id": "fetch", "type": "action", "service": "http", "action": "get", "connection": conn["id"],
         "parameters": {"path": "/slow"}, "retry": {"max_attempts": 2, "delay_s": 1.5}}]))
    started = api.execute(wf["id"], {}, wait=None).get_json()
    deadline = time.monotonic() + 10
    while fake.count("/slow") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    api.wait_for(started["id"], lambda b: b["steps"] and b["steps"][0]["error"] is not None)
    page = html(signed_in.get(f"/executions/{started['id']}"))
    if fake.count("/slow") == 1:  # still in the retry delay
        assert 'class="status status-retrying">retrying' in page
        assert "Attempt 1 of 2" in page and "Attempt 2 of 2" in page and "starts after the retry delay" in page
        assert '<code class="error-class">upstream</code>' in page
    assert api.wait_finished(started["id"])["status"] == "succeeded"


def test_a_sub_workflow_step_links_its_execution_and_back(api, signed_in):
    child = api.create(manual("Child", [{"id": "inner", "type": "transform", "mapping": {"v": "trigger.v"}}]))
    parent = api.create(manual("Parent", [
        {"id": "call", "type": "workflow", "workflow_id": child["id"], "payload": {"v": "{{ trigger.v }}"}}]))
    ex = api.run(parent["id"], {"v": "hello"})
    assert ex["status"] == "succeeded"
    child_id = ex["steps"][0]["output"]["execution_id"]
    page = html(signed_in.get(f"/executions/{ex['id']}"))
    assert f'Ran <a href="/executions/{child_id}">execution #{child_id}</a>' in page
    assert "Sub-workflow executions" in page
    back = html(signed_in.get(f"/executions/{child_id}"))
    assert f'a step of <a href="/executions/{ex["id"]}">execution #{ex["id"]}</a>' in back
    listed = html(signed_in.get("/executions?trigger_type=workflow"))
    assert rows_of(listed) == [child_id]


def test_an_error_handler_comes_after_the_step_it_handles(api, signed_in):
    wf = api.create(manual("Handled", [
        {"id": "cleanup", "type": "transform", "mapping": {"x": "`1`"}},
        {"id": "risky", "type": "transform", "mapping": {"n": "length(trigger.n)"}, "on_error": "cleanup"},
        {"id": "fine", "type": "transform", "mapping": {"n": "trigger.n"}, "on_error": "cleanup"}]))
    failed = api.run(wf["id"], {"n": 5})  # length() of a number: risky fails, cleanup runs
    page = html(signed_in.get(f"/executions/{failed['id']}"))
    assert re.findall(r'<li class="step" id="step-(\w+)"', page) == ["risky", "fine", "cleanup"]
    assert "handles a failure of risky or fine" in page and "on failure: cleanup" in page
    assert 'id="step-cleanup"' in page and "Skipped:" not in page
    passed = api.run(wf["id"], {"n": "abc"})
    page = html(signed_in.get(f"/executions/{passed['id']}"))
    assert "<strong>Skipped:</strong> risky, fine did not fail" in page


def test_a_foreach_step_shows_its_items_grouped_under_it(app, api, signed_in):
    wf = api.create(manual("Each", [
        {"id": "loop", "type": "foreach", "items": "trigger.xs", "on_item_error": "continue",
         "steps": [{"id": "shape", "type": "transform", "mapping": {"x": "item"}},
                   {"id": "check", "type": "transform", "depends_on": ["shape"],
                    "mapping": {"n": "length(steps.shape.output.x)"}}]}]))
    ex = api.run(wf["id"], {"xs": ["ab", 3, "cde"]})  # length(3) fails: item 1 fails
    assert ex["status"] == "succeeded", ex
    page = html(signed_in.get(f"/executions/{ex['id']}"))
    # the item rows are not steps of their own in the list: they are inside the loop's
    assert re.findall(r'<li class="step" id="step-([\w\[\].-]+)"', page) == ["loop"]
    start = page.index('class="foreach-items"')
    items = page[start:page.index("</ol>\n        </details>", start)]
    assert "3 items run, 1 failed" in items
    assert " open>" in items  # a failure opens the group
    assert re.findall(r'<li class="item" id="step-loop-(\d+)"', items) == ["0", "1", "2"]
    assert "<code>loop[1].check</code>" in items and "expression" in items
    assert items.index("loop[0].shape") < items.index("loop[0].check") < items.index("loop[1].shape")
