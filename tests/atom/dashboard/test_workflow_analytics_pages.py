"""Workflow analytics in the browser: a workflow's "Steps over the last N days" table and the
workflows-wide Analytics tab, both read from GET /api/v2/ai-workflows/analytics's own function.

The figures come from real executions run here (a foreach's item runs, a step failing against a
local fake), and every one shown is compared with what the API answers for the same window.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from atom.dashboard.executions import duration_text
from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def fake():
    with FakeServer() as server:
        server.always("/down", reply(500, {"error": "warehouse offline"}))
        yield server


def text_of(response) -> str:
    return response.get_data(as_text=True)


def loop_workflow(conn_id: int, name: str = "Item sync") -> dict:
    return {"name": name, "trigger": {"type": "manual"}, "steps": [
        {"id": "shape", "type": "transform", "mapping": {"xs": "trigger.xs"}},
        {"id": "loop", "type": "foreach", "items": "steps.shape.output.xs", "depends_on": ["shape"],
         "steps": [{"id": "call", "type": "transform", "mapping": {"x": "item"}}]},
        {"id": "fetch", "type": "action", "service": "http", "action": "get", "connection": conn_id,
         "parameters": {"path": "/down"}, "depends_on": ["loop"], "on_error": "continue"}]}


@pytest.fixture
def api(app, keys, create_connection, fake):
    client = app.test_client()
    headers = keys["editor"]
    conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1})

    class Api:
        conn_id = conn["id"]

        def create(self, body: dict) -> dict:
            response = client.post("/api/v2/ai-workflows", headers=headers, json=body)
            assert response.status_code == 201, response.get_json()
            return response.get_json()

        def run(self, wf_id: int, payload: dict) -> dict:
            response = client.post(f"/api/v2/ai-workflows/{wf_id}/execute?wait=10", headers=headers,
                                   json=payload)
            assert response.status_code == 200, response.get_json()
            return response.get_json()

        def analytics(self, days: int) -> dict:
            response = client.get(f"/api/v2/ai-workflows/analytics?days={days}", headers=headers)
            assert response.status_code == 200, response.get_json()
            return response.get_json()

    return Api()


def rows(page: str, table_class: str) -> dict[str, list[str]]:
    """The cells of a table's body rows (tags stripped), keyed by the row's id."""
    table = page[page.index(f'class="stack {table_class}"'):]
    table = table[:table.index("</table>")]
    out = {}
    for row_id, body in re.findall(r'<tr id="([^"]+)"[^>]*>(.*?)</tr>', table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
        out[row_id] = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]
    return out


def backdate(app, ex_id: int, days: float) -> None:
    """Move an execution (and its step runs) ``days`` into the past."""
    with app.app_context():
        ex = db.session.get(Execution, ex_id)
        shift = timedelta(days=days)
        ex.created_at -= shift
        ex.started_at -= shift
        ex.finished_at -= shift
        for run in db.session.scalars(db.select(StepRun).filter_by(execution_id=ex_id)):
            run.started_at = run.started_at and run.started_at - shift
            run.finished_at = run.finished_at and run.finished_at - shift
        db.session.commit()


def test_a_workflow_page_shows_each_steps_runs_failures_and_percentiles(app, api, signed_in, fake):
    wf = api.create(loop_workflow(api.conn_id))
    first = api.run(wf["id"], {"xs": [1, 2, 3]})
    second = api.run(wf["id"], {"xs": [4, 5]})
    assert first["status"] == second["status"] == "succeeded"  # fetch fails, on_error: continue

    page = text_of(signed_in.get(f"/workflows/{wf['id']}?days=7"))
    assert "Steps over the last 7 days" in page
    shown = rows(page, "wf-step-figures")
    # The definition's order, the loop's item runs right after the loop, as one entry.
    assert list(shown) == ["figures-shape", "figures-loop", "figures-loop[*].call", "figures-fetch"]
    [mine] = [w for w in api.analytics(7)["workflows"] if w["workflow_id"] == wf["id"]]
    by_api = {s["step_id"]: s for s in mine["steps"]}
    assert set(by_api) == {"shape", "loop", "loop[*].call", "fetch"}
    for step_id, cells in shown.items():
        step = by_api[step_id.removeprefix("figures-")]
        assert cells[1:] == [str(step["runs"]), str(step["failed"]),
                             duration_text(step["p50_ms"]), duration_text(step["p95_ms"])], step_id
    # What ran: five item runs in two executions, the fetch failed in both.
    assert shown["figures-loop[*].call"][1] == "5" and "every item's run" in shown["figures-loop[*].call"][0]
    assert shown["figures-fetch"][1:3] == ["2", "2"] and shown["figures-shape"][1:3] == ["2", "0"]
    assert by_api["loop[*].call"]["p50_ms"] is not None


def test_the_window_is_chosen_with_a_form_of_one_seven_or_thirty_days(app, api, signed_in):
    wf = api.create(loop_workflow(api.conn_id))
    old = api.run(wf["id"], {"xs": [1, 2, 3, 4]})
    api.run(wf["id"], {"xs": [5]})
    backdate(app, old["id"], 3)

    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    assert "Steps over the last 30 days" in page  # the default, as the API's
    form = page[page.index('class="filters wf-days"'):]
    form = form[:form.index("</form>")]
    assert '<label for="f-days">Over</label>' in form
    assert re.findall(r'<option value="(\d+)"', form) == ["1", "7", "30"]
    assert re.search(r'<option value="30" selected>', form)
    assert rows(page, "wf-step-figures")["figures-loop[*].call"][1] == "5"

    day = text_of(signed_in.get(f"/workflows/{wf['id']}?days=1"))
    assert "Steps over the last day" in day and re.search(r'<option value="1" selected>', day)
    assert rows(day, "wf-step-figures")["figures-loop[*].call"][1] == "1"
    assert "Runs, last day" in day
    [mine] = [w for w in api.analytics(1)["workflows"] if w["workflow_id"] == wf["id"]]
    assert mine["executions"] == 1

    bad = signed_in.get(f"/workflows/{wf['id']}?days=2")
    assert bad.status_code == 422
    assert 'id="f-days-error">Choose 1, 7 or 30 days (not &#39;2&#39;).</p>' in text_of(bad)


def test_a_workflow_that_did_not_run_in_the_window_says_so(app, api, signed_in):
    wf = api.create(loop_workflow(api.conn_id))
    ex = api.run(wf["id"], {"xs": [1]})
    backdate(app, ex["id"], 10)
    page = text_of(signed_in.get(f"/workflows/{wf['id']}?days=7"))
    assert "No runs in this window" in page and "wf-step-figures" not in page
    assert rows(text_of(signed_in.get(f"/workflows/{wf['id']}?days=30")), "wf-step-figures")


def test_the_analytics_tab_shows_each_workflow_as_the_api_does(app, api, signed_in, keys):
    sync = api.create(loop_workflow(api.conn_id, "Item sync"))
    strict = loop_workflow(api.conn_id, "Strict sync")
    strict["steps"][-1]["on_error"] = "fail"
    strict = api.create(strict)
    idle = api.create(loop_workflow(api.conn_id, "Never run"))
    for xs in ([1], [1, 2]):
        api.run(sync["id"], {"xs": xs})
    failed = api.run(strict["id"], {"xs": [1]})
    assert failed["status"] == "failed"
    api.run(strict["id"], {"xs": []})

    listing = text_of(signed_in.get("/workflows"))
    assert '<a href="/workflows/analytics">Analytics</a>' in listing

    page = text_of(signed_in.get("/workflows/analytics?days=7"))
    assert '<a href="/workflows/analytics" aria-current="page">Analytics</a>' in page
    answer = api.analytics(7)
    assert re.search(rf'id="wa-executions">{answer["executions"]}<', page) and answer["executions"] == 4
    shown = rows(page, "wf-analytics")
    assert set(shown) == {f"wa-{sync['id']}", f"wa-{strict['id']}"}  # not the idle one
    assert f"wa-{idle['id']}" not in shown
    for w in answer["workflows"]:
        cells = shown[f"wa-{w['workflow_id']}"]
        assert cells[0] == w["name"]
        assert cells[1] == str(w["executions"])
        assert cells[3] == f"{w['success_rate'] * 100:.1f}%"
        assert cells[4:6] == [duration_text(w["p50_ms"]), duration_text(w["p95_ms"])]
        assert cells[6] == str(len(w["steps"]))
    assert shown[f"wa-{sync['id']}"][3] == "100.0%" and shown[f"wa-{strict['id']}"][3] == "0.0%"
    assert shown[f"wa-{strict['id']}"][2] == "failed 2" and shown[f"wa-{sync['id']}"][2] == "succeeded 2"
    # Each name opens that workflow's step figures over the same window.
    assert f'href="/workflows/{sync["id"]}?days=7#step-figures-h"' in page
    # The fetches that failed, by their error class (four: one per execution), as the API counts them.
    failures = page[page.index("Failed steps by error"):]
    failures = failures[:failures.index("</ul>")]
    assert answer["failures_by_error_class"] and sum(answer["failures_by_error_class"].values()) == 4
    for cls, n in answer["failures_by_error_class"].items():
        assert f"<li><code>{cls}</code> {n}</li>" in failures

    bad = signed_in.get("/workflows/analytics?days=0")
    assert bad.status_code == 422 and 'id="f-days-error"' in text_of(bad)
    empty = text_of(signed_in.get("/workflows/analytics?days=1"))
    assert "wf-analytics" in empty  # they ran today


def test_the_analytics_tab_with_nothing_run_starts_the_job(signed_in):
    page = text_of(signed_in.get("/workflows/analytics"))
    assert "No workflow ran in this window" in page and 'href="/workflows"' in page
