"""The workflow pages: the list (search, filters, sort, paging, last execution), creating from a
template / JSON / step by step (validated by the engine, errors at the step and field they
name), a workflow's page (graph, trigger, versions and diffs, Run), edit, enable/disable and
delete; viewers see but cannot change; webhook secrets never reach the HTML."""
from __future__ import annotations

import html
import json
import re
from datetime import UTC
from datetime import datetime

import pytest
from croniter import croniter

from atom.engine.templates import get_template
from atom.extensions import db
from atom.integrations.webhooks import sign_atom
from atom.models import Execution
from atom.models import Workflow
from tests.fakes import wait_until

SECRET = "wf-page-secret-Q7vX2mP9"
NEW_SECRET = "wf-page-secret-new-Z3nB6y"

GRAPH_WF = {
    "name": "Nightly sync", "description": "Copies the numbers",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "shape", "type": "transform", "mapping": {"n": "trigger.n"}},
        {"id": "big", "type": "condition", "expression": "steps.shape.output.n > `1`", "depends_on": ["shape"]},
        {"id": "left", "type": "transform", "mapping": {"x": "trigger.n"}, "depends_on": ["big"], "on_error": "rescue"},
        {"id": "right", "type": "transform", "mapping": {"y": "trigger.n"}, "depends_on": ["big"]},
        {"id": "rescue", "type": "transform", "mapping": {"z": "trigger.n"}},
    ],
}


@pytest.fixture
def api(app, keys):
    client = app.test_client()

    def create(body: dict) -> dict:
        response = client.post("/api/v2/ai-workflows", headers=keys["editor"], json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    create.client = client
    create.headers = keys["editor"]
    return create


def text_of(response) -> str:
    return response.get_data(as_text=True)


def field_error(page: str, name: str) -> str | None:
    """The error shown beside a form field (the macro's ``<p class="error" id="f-<name>-error">``)."""
    fid = "f-" + name.replace(".", "-")
    match = re.search(rf'<p class="error" id="{re.escape(fid)}-error">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else None


def field_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {name}"
    return html.unescape(match.group(1))


def wait_finished(app, ex_id: int) -> str:
    def done():
        with app.app_context():
            return db.session.get(Execution, ex_id).status in ("succeeded", "failed", "cancelled")
    assert wait_until(done, 10)
    with app.app_context():
        return db.session.get(Execution, ex_id).status


# -- the list -----------------------------------------------------------------------------------------


def test_the_list_shows_each_workflow_with_its_last_execution(app, api, signed_in):
    wf = api(GRAPH_WF)
    other = api({**GRAPH_WF, "name": "Quiet one"})
    ex = api.client.post(f"/api/v2/ai-workflows/{wf['id']}/execute?wait=10", headers=api.headers,
                         json={"n": 3}).get_json()
    assert ex["status"] == "succeeded"
    page = text_of(signed_in.get("/workflows"))
    assert "Nightly sync" in page and "Quiet one" in page
    assert f"#{ex['id']} succeeded" in page
    assert f'href="/executions/{ex["id"]}"' in page
    row = page[page.index("Quiet one"):]
    assert "never run" in row[:2000]
    assert f'href="/workflows/{other["id"]}"' in page


def test_search_filters_and_sort(app, api, signed_in):
    api({"name": "Alpha hook", "description": "receives orders", "trigger": {"type": "webhook"},
         "steps": [{"id": "a", "type": "transform", "mapping": {"x": "trigger.x"}}]})
    beta = api({"name": "Beta schedule", "trigger": {"type": "schedule", "cron": "0 9 * * *"},
                "steps": [{"id": "a", "type": "transform", "mapping": {"x": "trigger.x"}}]})
    api({"name": "Gamma http", "trigger": {"type": "manual"},
         "steps": [{"id": "get", "type": "action", "service": "http", "action": "get",
                    "parameters": {"path": "/status"}}]})
    api.client.post(f"/api/v2/ai-workflows/{beta['id']}/disable", headers=api.headers)

    def names(query: str) -> list[str]:
        page = text_of(signed_in.get("/workflows?" + query))
        return re.findall(r'class="wf-name" href="/workflows/\d+">([^<]+)</a>', page)

    assert names("") == ["Alpha hook", "Beta schedule", "Gamma http"]
    assert names("q=orders") == ["Alpha hook"]  # the description counts
    assert names("q=%25") == []  # a LIKE wildcard is text
    assert names("enabled=no") == ["Beta schedule"]
    assert names("enabled=yes") == ["Alpha hook", "Gamma http"]
    assert names("trigger=schedule") == ["Beta schedule"]
    assert names("service=http") == ["Gamma http"]
    assert names("sort=updated")[0] == "Beta schedule"  # disabled last, so updated last
    empty = text_of(signed_in.get("/workflows?q=nothing-like-this"))
    assert "No workflow matches" in empty


def test_the_list_pages_and_htmx_gets_the_results_only(app, api, signed_in):
    for n in range(27):
        api({"name": f"wf {n:02d}", "trigger": {"type": "manual"},
             "steps": [{"id": "a", "type": "transform", "mapping": {"x": "trigger.x"}}]})
    first = text_of(signed_in.get("/workflows"))
    assert "Page 1 of 2" in first and "wf 24" in first and "wf 25" not in first
    assert 'href="/workflows?page=2"' in first
    second = text_of(signed_in.get("/workflows?page=2&q=wf"))
    assert "wf 25" in second and "wf 26" in second and "wf 00" not in second
    fragment = text_of(signed_in.get("/workflows?q=wf+03", headers={"HX-Request": "true"}))
    assert "wf 03" in fragment and "<html" not in fragment and "<h1" not in fragment


def test_no_workflows_offers_a_template(signed_in):
    page = text_of(signed_in.get("/workflows"))
    assert "No workflows yet" in page
    assert 'href="/workflows/new"' in page and "Start from a template" in page
    assert "curl" not in page


# -- templates --------------------------------------------------------------------------------------


def test_templates_are_browsed_with_what_they_need(signed_in):
    page = text_of(signed_in.get("/workflows/new"))
    assert "Salesforce lead to Asana task" in page
    assert "the Asana projects to file the task in (gids)" in page  # its needs
    assert "Needs a connection to: google_drive" in page  # connections_needed
    found = text_of(signed_in.get("/workflows/new?q=zendesk&trigger=event"))
    assert "Urgent Zendesk ticket" in found and "Salesforce lead" not in found
    detail = text_of(signed_in.get("/workflows/new/template/health_alert_to_slack"))
    assert "critical" in detail and "<svg" in detail and "Sample trigger payload" in detail
    assert signed_in.get("/workflows/new/template/no_such_template").status_code == 404


def test_instantiating_a_template_is_the_apis_instantiate(app, api, signed_in, create_connection):
    conn = create_connection("http", {"base_url": "http://127.0.0.1:9"})
    response = signed_in.post("/workflows/new/template/webhook_forwarder", data={
        "name": "Forward orders", "description": "to billing", "enabled": "on",
        "connections.http": str(conn["id"]), "trigger.secret": SECRET})
    assert response.status_code == 302
    wf_id = int(response.headers["Location"].rsplit("/", 1)[1])
    shown = api.client.get(f"/api/v2/ai-workflows/{wf_id}", headers=api.headers).get_json()
    same = api.client.post("/api/v2/ai-workflows/templates/webhook_forwarder/instantiate", headers=api.headers,
                           json={"name": "Forward orders", "description": "to billing", "enabled": True,
                                 "connections": {"http": conn["id"]}, "trigger": {"secret": SECRET}}).get_json()
    assert shown["steps"] == same["steps"] and shown["trigger"] == same["trigger"]
    assert shown["steps"][0]["connection"] == conn["id"] and shown["trigger"]["secret"] == "********"
    page = text_of(signed_in.get(f"/workflows/{wf_id}"))
    assert "Forward orders" in page and SECRET not in page


def test_a_template_form_names_what_is_missing_and_keeps_what_was_typed(signed_in, app):
    response = signed_in.post("/workflows/new/template/salesforce_lead_to_asana",
                              data={"name": "My leads", "description": "typed"})
    assert response.status_code == 422
    page = text_of(response)
    assert "required" in field_error(page, "parameters.task.projects")
    assert field_value(page, "name") == "My leads"
    assert textarea(page, "description") == "typed"
    bad_json = text_of(signed_in.post("/workflows/new/template/salesforce_lead_to_asana",
                                      data={"name": "x", "parameters.task.projects": "[oops"}))
    assert "JSON" in field_error(bad_json, "parameters.task.projects")
    assert textarea(bad_json, "description") == ""  # the field kept what was typed: nothing
    cron = signed_in.post("/workflows/new/template/daily_jira_bug_digest",
                          data={"name": "Digest", "trigger.cron": "61 9 * * *", "trigger.timezone": "UTC"})
    assert cron.status_code == 422
    assert "invalid cron" in field_error(text_of(cron), "trigger.cron")
    assert field_value(text_of(cron), "trigger.cron") == "61 9 * * *"
    secret = signed_in.post("/workflows/new/template/health_alert_to_slack",
                            data={"name": "Alerts", "trigger.secret": "short"})
    assert "8 and 200" in field_error(text_of(secret), "trigger.secret")
    assert 'value="short"' not in text_of(secret)
    conn = signed_in.post("/workflows/new/template/drive_file_to_box_backup", data={
        "name": "Backup", "parameters.trigger.folder_id": "abc", "parameters.backup.folder_id": "1"})
    assert "google_drive connection" in field_error(text_of(conn), "connections.google_drive")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Workflow.id))) == 0


# -- JSON -------------------------------------------------------------------------------------------


def test_json_errors_are_shown_at_the_step_and_field_they_name(app, signed_in):
    body = {"name": "Announce", "trigger": {"type": "manual"}, "steps": [
        {"id": "shape", "type": "transform", "mapping": {"n": "trigger.n"}},
        {"id": "notify", "type": "action", "service": "slack", "action": "send_message",
         "depends_on": ["shape"], "parameters": {"channel": "", "text": "hi"}}]}
    typed = json.dumps(body, indent=4)  # not how the server would print it
    response = signed_in.post("/workflows/new/json", data={"definition": typed, "op": "save"})
    assert response.status_code == 422
    page = text_of(response)
    assert textarea(page, "definition") == typed  # exactly what was typed
    item = re.search(r'<li data-path="steps\.notify\.parameters\.channel">(.*?)</li>', page, re.S)
    assert item and "step 2 (notify), field parameters.channel" in html.unescape(item.group(1))
    # The annotated copy marks the channel line, the message right under it.
    marked = re.search(r'<span class="ln ln-bad"><span class="ln-no"[^>]*>(\d+)</span>([^<]*)</span>'
                       r'<span class="ln-error" id="err-steps-notify-parameters-channel"[^>]*>'
                       r'<span class="ln-no"[^>]*>!</span>([^<]*)</span>', page)
    assert marked, page[page.find("wf-annotated"):][:3000]
    assert html.unescape(marked.group(2)).strip() == '"channel": "",'
    assert html.unescape(marked.group(3)).strip() == "↑ Length must be between 1 and 80."
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Workflow.id))) == 0
    fixed = signed_in.post("/workflows/new/json", data={
        "definition": typed.replace('"channel": ""', '"channel": "#general"'), "op": "save"})
    assert fixed.status_code == 302
    assert "Announce" in text_of(signed_in.get(fixed.headers["Location"]))


def test_json_that_does_not_parse_names_the_line(signed_in):
    typed = '{\n  "name": "x",\n  "trigger": {"type": "manual"}\n  "steps": []\n}'
    response = signed_in.post("/workflows/new/json", data={"definition": typed})
    assert response.status_code == 422
    page = text_of(response)
    assert "line 4" in field_error(page, "definition")
    assert textarea(page, "definition") == typed
    assert '<span class="ln ln-bad"><span class="ln-no" aria-hidden="true">4</span>' in page
    not_object = signed_in.post("/workflows/new/json", data={"definition": "[1, 2]"})
    assert "JSON object" in field_error(text_of(not_object), "definition")


def test_check_validates_and_draws_without_saving(app, signed_in):
    response = signed_in.post("/workflows/new/json", data={"definition": json.dumps(GRAPH_WF), "op": "check"})
    assert response.status_code == 200
    page = text_of(response)
    assert "The definition is valid: 5 steps" in page and "<svg" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Workflow.id))) == 0


def test_a_secret_typed_into_the_json_is_not_shown_back(signed_in):
    body = {"name": "Hook", "trigger": {"type": "webhook", "secret": SECRET}, "steps": []}
    response = signed_in.post("/workflows/new/json", data={"definition": json.dumps(body), "op": "save"})
    assert response.status_code == 422
    page = text_of(response)
    assert SECRET not in page
    assert "type the webhook secret here again" in field_error(page, "secret")
    from_field = signed_in.post("/workflows/new/json", data={
        "definition": json.dumps({**body, "trigger": {"type": "webhook"}}), "secret": SECRET})
    assert from_field.status_code == 422 and SECRET not in text_of(from_field)


# -- step by step -----------------------------------------------------------------------------------


def _hidden_steps(page: str) -> str:
    return html.unescape(re.search(r'name="steps" value="([^"]*)"', page).group(1))


def test_the_builder_makes_forms_from_the_action_schema_and_checks_each_step(app, signed_in):
    base = {"name": "Built", "trigger.type": "manual", "kind": "action", "service": "slack"}
    chosen = text_of(signed_in.post("/workflows/new/steps", data={**base, "action": "send_message", "op": "refresh"}))
    fields = re.findall(r'name="(param\.[^"]+)"', chosen)
    assert {"param.channel", "param.text", "param.thread_ts", "param.blocks"} <= set(fields)
    assert "Channel id (C0123ABCD) or name" in chosen  # the schema's description as help
    missing = signed_in.post("/workflows/new/steps", data={
        **base, "action": "send_message", "op": "add", "param.text": "hi {{ trigger.who }}", "steps": "[]"})
    assert missing.status_code == 422
    assert "Missing data" in field_error(text_of(missing), "param.channel")
    assert field_value(text_of(missing), "param.text") == "hi {{ trigger.who }}"
    added = text_of(signed_in.post("/workflows/new/steps", data={
        **base, "action": "send_message", "op": "add", "param.text": "hi {{ trigger.who }}",
        "param.channel": "#general", "param.reply_broadcast": "true", "steps": "[]"}))
    steps = json.loads(_hidden_steps(added))
    assert steps == [{"id": "send_message", "type": "action", "service": "slack", "action": "send_message",
                      "parameters": {"channel": "#general", "text": "hi {{ trigger.who }}", "reply_broadcast": True}}]
    bad = signed_in.post("/workflows/new/steps", data={
        **base, "kind": "condition", "expression": "trigger.x ==", "op": "add", "steps": json.dumps(steps)})
    assert bad.status_code == 422 and "invalid expression" in field_error(text_of(bad), "expression")
    cond = text_of(signed_in.post("/workflows/new/steps", data={
        **base, "kind": "condition", "expression": "trigger.x == `1`", "depends_on": "send_message",
        "step_id": "gate", "op": "add", "steps": json.dumps(steps)}))
    steps = json.loads(_hidden_steps(cond))
    assert steps[1] == {"id": "gate", "type": "condition", "expression": "trigger.x == `1`",
                        "depends_on": ["send_message"]}
    assert "<svg" in cond  # the graph so far
    removed = json.loads(_hidden_steps(text_of(signed_in.post("/workflows/new/steps", data={
        **base, "op": "remove:send_message", "steps": json.dumps(steps)}))))
    assert removed == [{"id": "gate", "type": "condition", "expression": "trigger.x == `1`", "depends_on": []}]
    unnamed = signed_in.post("/workflows/new/steps", data={**base, "name": "", "op": "save", "steps": json.dumps(steps)})
    assert unnamed.status_code == 422 and field_error(text_of(unnamed), "name")
    saved = signed_in.post("/workflows/new/steps", data={**base, "op": "save", "steps": json.dumps(steps)})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.scalars(db.select(Workflow)).one().name == "Built"


def test_the_builder_hands_its_steps_to_the_json_editor(signed_in):
    steps = [{"id": "a", "type": "wait", "seconds": 1}]
    page = text_of(signed_in.post("/workflows/new/steps", data={
        "name": "Waits", "trigger.type": "schedule", "trigger.cron": "0 9 * * *", "trigger.timezone": "UTC",
        "op": "json", "steps": json.dumps(steps)}))
    definition = json.loads(textarea(page, "definition"))
    assert definition["trigger"] == {"type": "schedule", "cron": "0 9 * * *", "timezone": "UTC"}
    assert definition["steps"] == steps and definition["name"] == "Waits"


# -- a workflow's page ------------------------------------------------------------------------------------


def test_the_page_draws_the_graph_in_layers(api, signed_in):
    wf = api(GRAPH_WF)
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    svg = page[page.index("<svg"):page.index("</svg>")]
    nodes = {sid: (classes, float(y)) for classes, y, sid in re.findall(
        r'<g class="([^"]+)" transform="translate\([\d.]+,([\d.]+)\)">\s*<title>([\w-]+) \(', svg)}
    assert set(nodes) == {"shape", "big", "left", "right", "rescue"}
    assert "kind-condition" in nodes["big"][0] and "kind-handler" in nodes["rescue"][0]
    ys = {k: v[1] for k, v in nodes.items()}
    assert ys["shape"] < ys["big"] < ys["left"] == ys["right"] < ys["rescue"]  # left and right in parallel
    assert svg.count('class="edge handler"') == 1 and svg.count('class="edge cond"') == 2
    assert "Trigger: manual" in svg


def test_a_schedule_shows_its_next_five_fire_times(api, signed_in):
    wf = api({"name": "Weekdays", "trigger": {"type": "schedule", "cron": "30 9 * * 1-5", "timezone": "Europe/Paris"},
              "steps": [{"id": "a", "type": "transform", "mapping": {"x": "trigger.x"}}]})
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    fires = page[page.index('class="wf-fires"'):page.index("</ol>", page.index('class="wf-fires"'))]
    shown = re.findall(r'<time datetime="([^"]+)">', fires)
    assert len(shown) == 5
    expected = croniter("30 9 * * 1-5", datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")))
    assert [datetime.fromisoformat(s) for s in shown] == [expected.get_next(datetime).astimezone(UTC) for _ in range(5)]
    assert "09:30 Europe/Paris" in fires and "Sat" not in fires and "Sun" not in fires


def test_a_webhook_shows_its_url_and_how_to_sign_never_the_secret(app, api, signed_in, viewer):
    wf = api({"name": "Signed hook", "trigger": {"type": "webhook", "secret": SECRET},
              "steps": [{"id": "a", "type": "transform", "mapping": {"v": "trigger.v"}}]})
    for client in (signed_in, viewer):
        page = text_of(client.get(f"/workflows/{wf['id']}"))
        assert SECRET not in page and "gAAAA" not in page and "secret_encrypted" not in page
        assert html.escape(wf["webhook_url"]) in page or wf["webhook_url"] in page
        assert "X-Signature-256" in page and "openssl dgst -sha256 -hmac" in page
    for path in ("/workflows", f"/workflows/{wf['id']}/edit"):
        assert SECRET not in text_of(signed_in.get(path))
    # The Python example, run as shown (with the real secret), is accepted by the hook.
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    code = html.unescape(re.search(r'<pre id="sign-python"><code>(.*?)</code></pre>', page, re.S).group(1))
    sent = {}

    class Opened:
        status = 0

    def urlopen(req):
        response = api.client.post("/hooks/" + req.full_url.split("/hooks/", 1)[1], data=req.data,
                                   headers=dict(req.header_items()))
        sent["status"] = response.status_code
        Opened.status = response.status_code
        return Opened

    import urllib.request
    original = urllib.request.urlopen
    urllib.request.urlopen = urlopen
    try:
        exec(code.replace('b"your webhook secret"', repr(SECRET.encode())), {"print": lambda *a: None})
    finally:
        urllib.request.urlopen = original
    assert sent["status"] == 202


def test_an_unsigned_webhook_says_so(api, signed_in):
    wf = api({"name": "Open hook", "trigger": {"type": "webhook"},
              "steps": [{"id": "a", "type": "transform", "mapping": {"v": "trigger.v"}}]})
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    assert "Anyone with this URL can start the workflow" in page and "sign-shell" not in page


def test_an_event_trigger_shows_service_event_and_conditions(api, signed_in):
    wf = api({"name": "Failed CI", "trigger": {"type": "event", "service": "github", "event": "workflow_run_completed",
                                              "conditions": {"workflow_run.conclusion": "failure"}},
              "steps": [{"id": "a", "type": "transform", "mapping": {"v": "trigger.v"}}]})
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    assert "GitHub" in page and "workflow_run_completed" in page
    assert '<code>workflow_run.conclusion</code> = <code>"failure"</code>' in page
    assert "any github connection" in page


def test_versions_and_their_diff(api, signed_in):
    wf = api(GRAPH_WF)
    changed = {**GRAPH_WF, "steps": GRAPH_WF["steps"][:1] + [{**GRAPH_WF["steps"][1], "expression": "steps.shape.output.n > `5`"}]
               + GRAPH_WF["steps"][2:]}
    assert api.client.put(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers, json=changed).status_code == 200
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    assert "v2" in page and '<pre class="diff"' in page  # the latest change, shown by default
    diff = text_of(signed_in.get(f"/workflows/{wf['id']}/diff?a=1&b=2"))
    assert '<span class="del">-' in diff and "`1`" in diff
    assert '<span class="add">+' in diff and "`5`" in diff
    fragment = text_of(signed_in.get(f"/workflows/{wf['id']}/diff?a=2&b=1", headers={"HX-Request": "true"}))
    assert "<h1" not in fragment and '<span class="add">+' in fragment
    same = text_of(signed_in.get(f"/workflows/{wf['id']}/diff?a=2&b=2"))
    assert "The two versions are the same" in same
    assert signed_in.get(f"/workflows/{wf['id']}/diff?a=1&b=9").status_code == 404
    assert signed_in.get(f"/workflows/{wf['id']}/diff").status_code == 404


def test_the_diff_masks_the_secret(api, signed_in):
    wf = api({"name": "Hook", "trigger": {"type": "webhook", "secret": SECRET},
              "steps": [{"id": "a", "type": "transform", "mapping": {"v": "trigger.v"}}]})
    api.client.put(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers, json={
        "name": "Hook", "trigger": {"type": "webhook", "secret": NEW_SECRET},
        "steps": [{"id": "a", "type": "transform", "mapping": {"v": "trigger.v"}}]})
    for path in (f"/workflows/{wf['id']}", f"/workflows/{wf['id']}/diff?a=1&b=2"):
        page = text_of(signed_in.get(path))
        assert SECRET not in page and NEW_SECRET not in page and "gAAAA" not in page


# -- edit: a round trip keeps the secret ---------------------------------------------------------------


def _deliver(app, wf: dict, secret: str) -> int:
    body = json.dumps({"v": 1}).encode()
    client = app.test_client()
    return client.post("/hooks/" + wf["webhook_url"].split("/hooks/", 1)[1], data=body,
                       headers={"Content-Type": "application/json", **sign_atom(secret, body)}).status_code


def test_editing_round_trip_keeps_the_stored_secret(app, api, signed_in):
    wf = api({"name": "Hook", "trigger": {"type": "webhook", "secret": SECRET},
              "steps": [{"id": "a", "type": "transform", "mapping": {"v": "trigger.v"}}]})
    page = text_of(signed_in.get(f"/workflows/{wf['id']}/edit"))
    shown = textarea(page, "definition")
    assert SECRET not in page and json.loads(shown)["trigger"]["secret"] == "********"
    response = signed_in.post(f"/workflows/{wf['id']}/edit", data={
        "definition": shown.replace('"v": "trigger.v"', '"v": "trigger.v", "w": "trigger.w"'), "op": "save"})
    assert response.status_code == 302
    saved = api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()
    assert saved["version"] == 2 and saved["steps"][0]["mapping"] == {"v": "trigger.v", "w": "trigger.w"}
    assert _deliver(app, wf, SECRET) == 202
    # A new secret in the password field replaces it.
    shown = textarea(text_of(signed_in.get(f"/workflows/{wf['id']}/edit")), "definition")
    assert signed_in.post(f"/workflows/{wf['id']}/edit", data={
        "definition": shown, "secret": NEW_SECRET}).status_code == 302
    assert _deliver(app, wf, SECRET) == 401 and _deliver(app, wf, NEW_SECRET) == 202


def test_an_invalid_edit_saves_nothing_and_keeps_the_text(api, signed_in):
    wf = api(GRAPH_WF)
    typed = json.dumps({**GRAPH_WF, "steps": GRAPH_WF["steps"] + [{"id": "late", "type": "transform",
                                                                   "mapping": {"q": "trigger.q"}, "depends_on": ["ghost"]}]})
    response = signed_in.post(f"/workflows/{wf['id']}/edit", data={"definition": typed})
    assert response.status_code == 422
    page = text_of(response)
    assert textarea(page, "definition") == typed
    assert "unknown step &#39;ghost&#39;" in page and 'data-path="steps.late.depends_on"' in page
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()["version"] == 1


# -- run, enable/disable, delete ---------------------------------------------------------------------------


def test_run_with_a_payload_lands_on_the_execution(app, api, signed_in):
    wf = api(GRAPH_WF)
    response = signed_in.post(f"/workflows/{wf['id']}/run", data={"payload": '{"n": 4}'})
    assert response.status_code == 302
    match = re.fullmatch(r"/executions/(\d+)", response.headers["Location"])
    assert match
    ex_id = int(match.group(1))
    assert wait_finished(app, ex_id) == "succeeded"
    with app.app_context():
        ex = db.session.get(Execution, ex_id)
        assert ex.trigger_payload == {"n": 4} and ex.trigger_type == "manual"
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    assert f'href="/executions/{ex_id}"' in page
    again = signed_in.post(f"/workflows/{wf['id']}/run", data={"payload": "{}", "idempotency_key": "k1"})
    twice = signed_in.post(f"/workflows/{wf['id']}/run", data={"payload": "{}", "idempotency_key": "k1"})
    assert again.headers["Location"] == twice.headers["Location"]


def test_run_refuses_bad_payloads_and_disabled_workflows(app, api, signed_in):
    wf = api(GRAPH_WF)
    bad = signed_in.post(f"/workflows/{wf['id']}/run", data={"payload": '{"n": '})
    assert bad.status_code == 422
    assert "Not valid JSON" in field_error(text_of(bad), "payload")
    assert textarea(text_of(bad), "payload") == '{"n":'
    listed = signed_in.post(f"/workflows/{wf['id']}/run", data={"payload": "[1]"})
    assert listed.status_code == 422 and "JSON object" in field_error(text_of(listed), "payload")
    signed_in.post(f"/workflows/{wf['id']}/disable")
    off = signed_in.post(f"/workflows/{wf['id']}/run", data={"payload": "{}"})
    assert off.status_code == 409 and "disabled" in text_of(off)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Execution.id))) == 0


def test_enable_disable_and_delete(app, api, signed_in):
    wf = api(GRAPH_WF)
    assert signed_in.post(f"/workflows/{wf['id']}/disable").status_code == 302
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()["enabled"] is False
    assert "Enable" in text_of(signed_in.get(f"/workflows/{wf['id']}"))
    back = signed_in.post(f"/workflows/{wf['id']}/enable", data={"next": "list"})
    assert back.headers["Location"] == "/workflows"
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()["enabled"] is True
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    assert 'data-confirm="Delete the workflow' in page
    assert signed_in.post(f"/workflows/{wf['id']}/delete").headers["Location"] == "/workflows"
    assert signed_in.get(f"/workflows/{wf['id']}").status_code == 404
    assert "Nightly sync" not in text_of(signed_in.get("/workflows"))
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).status_code == 404


MISSING = [("get", "/workflows/999"), ("get", "/workflows/999/edit"), ("post", "/workflows/999/edit"),
           ("get", "/workflows/999/diff?a=1&b=1"), ("post", "/workflows/999/run"),
           ("post", "/workflows/999/enable"), ("post", "/workflows/999/disable"),
           ("post", "/workflows/999/delete")]


def test_missing_or_deleted_workflows_are_404(api, signed_in):
    gone = api(GRAPH_WF)
    signed_in.post(f"/workflows/{gone['id']}/delete")
    for method, path in MISSING + [(m, p.replace("999", str(gone["id"]))) for m, p in MISSING]:
        response = getattr(signed_in, method)(path)
        assert response.status_code == 404, (method, path)
        assert "Not found" in text_of(response)  # the styled page


# -- viewers ---------------------------------------------------------------------------------------------------


def test_viewers_see_everything_but_no_write_buttons(app, api, viewer):
    wf = api(GRAPH_WF)
    for path in ("/workflows", f"/workflows/{wf['id']}", "/workflows/new", "/workflows/new/template/webhook_forwarder"):
        response = viewer.get(path)
        assert response.status_code == 200, path
        page = text_of(response)
        for button in ("Run now", ">Disable<", ">Delete<", "New workflow</a>", "Create workflow", "Use this template"):
            assert button not in page, (path, button)
    assert "Nightly sync" in text_of(viewer.get("/workflows"))


def test_viewers_cannot_change_anything(app, api, viewer):
    wf = api(GRAPH_WF)
    for path in ("/workflows/new/json", "/workflows/new/steps", "/workflows/new/template/webhook_forwarder",
                 "/workflows/{id}/edit", "/workflows/{id}/run", "/workflows/{id}/disable",
                 "/workflows/{id}/enable", "/workflows/{id}/delete"):
        response = viewer.post(path.format(id=wf["id"]), data={
            "definition": json.dumps(GRAPH_WF), "payload": "{}", "name": "x", "op": "save"})
        assert response.status_code == 403, path
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Workflow.id))) == 1
        assert db.session.scalar(db.select(db.func.count(Execution.id))) == 0
        workflow = db.session.get(Workflow, wf["id"])
        assert workflow.enabled and workflow.deleted_at is None and workflow.version == 1


def test_a_template_needing_parameters_lists_them_in_its_form(signed_in):
    page = text_of(signed_in.get("/workflows/new/template/weekly_open_pr_report"))
    template = get_template("weekly_open_pr_report")
    for need in template.needed():
        assert f'name="parameters.{need["step"]}.{need["field"]}"' in page
    assert 'name="trigger.cron"' in page and field_value(page, "trigger.cron") == "0 8 * * 1"


# -- the pieces behind the pages (no app needed) -------------------------------------------------------


def test_error_keys_resolve_to_the_part_of_the_document_they_name():
    from atom.dashboard.workflows import annotate
    from atom.dashboard.workflows import resolve_path

    doc = {"trigger": {"type": "event", "conditions": {"workflow_run.conclusion": "failure"}},
           "steps": [{"id": "a", "type": "wait"}, {"type": "transform"}, {"id": "c", "parameters": {"x": 1}}]}
    assert resolve_path(doc, "trigger.conditions.workflow_run.conclusion") == (
        ("trigger", "conditions", "workflow_run.conclusion"), "")
    assert resolve_path(doc, "steps.a.seconds") == (("steps", 0), "seconds")  # a missing field
    assert resolve_path(doc, "steps.#1.id") == (("steps", 1), "id")  # a step without an id
    assert resolve_path(doc, "steps.c.parameters.x") == (("steps", 2, "parameters", "x"), "")
    assert resolve_path(doc, "steps.2.parameters") == (("steps", 2, "parameters"), "")
    assert resolve_path(doc, "nothing.here") == ((), "nothing.here")
    long_doc = {"name": "n", "steps": [{"id": f"s{i}", "type": "wait", "seconds": i} for i in range(30)]}
    lines = annotate(long_doc, {"steps.s20.seconds": "too long"})
    marked = [line for line in lines if line["errors"]]
    assert len(marked) == 1 and '"seconds": 20' in marked[0]["text"]
    assert len(lines) < 20 and sum(1 for line in lines if line.get("gap")) == 2  # folded around it


def test_steps_are_layered_by_what_they_wait_for():
    from atom.dashboard.workflows import step_layers

    steps = [{"id": "a"}, {"id": "b", "depends_on": ["a"]}, {"id": "c", "depends_on": ["a"], "on_error": "h"},
             {"id": "h"}, {"id": "d", "depends_on": ["b", "c"]}]
    assert step_layers(steps) == {"a": 0, "b": 1, "c": 1, "h": 2, "d": 2}
    # A cycle (an invalid definition being checked) is drawn flat rather than failing.
    assert step_layers([{"id": "x", "depends_on": ["y"]}, {"id": "y", "depends_on": ["x"]}]) == {"x": 0, "y": 0}


def test_json_nested_too_deeply_is_an_error_not_a_crash(signed_in, api):
    deep = '{"name": "x", "trigger": {"type": "manual"}, "steps": [' + "[" * 5000 + "]" * 5000 + "]}"
    response = signed_in.post("/workflows/new/json", data={"definition": deep})
    assert response.status_code == 422
    nested = {"name": "x", "trigger": {"type": "manual"}, "steps": [
        {"id": "a", "type": "transform", "mapping": {"v": "trigger.v"}, "payload": json.loads("[" * 900 + "]" * 900)}]}
    response = signed_in.post("/workflows/new/json", data={"definition": json.dumps(nested)})
    assert response.status_code == 422 and "nested deeper" in text_of(response)
    wf = api(GRAPH_WF)
    run = signed_in.post(f"/workflows/{wf['id']}/run", data={"payload": "[" * 5000 + "]" * 5000})
    assert run.status_code == 422


def test_the_graph_draws_a_foreach_as_one_node_naming_its_inner_steps(api, signed_in):
    wf = api({"name": "Loop", "trigger": {"type": "manual"}, "steps": [
        {"id": "loop", "type": "foreach", "items": "trigger.xs", "concurrency": 3,
         "steps": [{"id": "shape", "type": "transform", "mapping": {"x": "item"}},
                   {"id": "keep", "type": "transform", "depends_on": ["shape"],
                    "mapping": {"y": "steps.shape.output.x"}}]},
        {"id": "after", "type": "transform", "depends_on": ["loop"], "mapping": {"z": "`1`"}}]})
    page = text_of(signed_in.get(f"/workflows/{wf['id']}"))
    svg = page[page.index("<svg"):page.index("</svg>")]
    titles = re.findall(r"<title>([^<]+)</title>", svg)
    loop_title = next(t for t in titles if t.startswith("loop ("))
    assert "each ×3: shape, keep (items: trigger.xs)" in html.unescape(loop_title)
    assert not any(t.startswith(("shape", "keep")) for t in titles)  # one node, not three
    assert "type-foreach" in svg
