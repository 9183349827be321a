"""Text -> workflow (atom.intelligence.language): the API, English schedules checked by their
fire times, entities, a manifest alias learnt without code, the dashboard's Describe box, the
CLI."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from croniter import croniter

from atom.cli import main
from atom.extensions import db
from atom.integrations.registry import Plugin
from atom.integrations.registry import Registry
from atom.models import Workflow
from atom.state import get_state

ANALYZE = "/api/v2/workflows/enhanced/intelligence/analyze"
GENERATE = "/api/v2/workflows/enhanced/intelligence/generate"
START = datetime(2026, 3, 2, 0, 0)  # a Monday


def fires(cron: str, count: int = 12) -> list[datetime]:
    it = croniter(cron, START)
    return [it.get_next(datetime) for _ in range(count)]


# -- API ---------------------------------------------------------------------------------------


def test_analyze_reads_trigger_actions_and_entities(client, keys):
    response = client.post(ANALYZE, headers=keys["viewer"], json={
        "user_input": "When a GitHub pull request is opened, post to #code-review in Slack"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["trigger"]["type"] == "event"
    assert (body["trigger"]["service"], body["trigger"]["event"]) == ("github", "pull_request_opened")
    assert [(a["service"], a["action"]) for a in body["actions"]] == [("slack", "send_message")]
    assert "Slack" in body["actions"][0]["matched"]
    assert body["entities"]["channels"] == ["code-review"]
    assert 0 < body["confidence"] <= 1


def test_analyze_answers_without_the_api_prefix(client, keys):
    response = client.post("/workflows/enhanced/intelligence/analyze", headers=keys["viewer"],
                           json={"user_input": "Every weekday at 7am post the Jira bugs to Slack"})
    assert response.status_code == 200
    assert response.get_json()["trigger"]["cron"] == "0 7 * * 1-5"


BAD_INPUT = [
    ({"user_input": ""}, "user_input"),
    ({"user_input": "   \n  "}, "user_input"),
    ({"user_input": "x" * 2001}, "user_input"),
    ({}, "user_input"),
    ({"user_input": "post to Slack", "surprise": 1}, "surprise"),
    ({"user_input": "every day at 9am post to Slack", "context": {"timezone": "Mars/Olympus"}}, "context"),
    ({"user_input": "post to Slack", "optimization_strategy": "fastest"}, "optimization_strategy"),
]


def test_bad_input_is_422_naming_the_field(app, client, keys):
    for body, field in BAD_INPUT:
        for path in (ANALYZE, GENERATE):
            # (analyze refuses optimization_strategy as an unknown field, by its name too)
            response = client.post(path, headers=keys["editor"], json=body)
            assert response.status_code == 422, (path, body, response.get_json())
            assert field in response.get_json()["errors"], (path, body, response.get_json())
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Workflow)) == 0


def test_generate_fills_parameters_and_validates(client, keys, create_connection):
    slack = create_connection("slack", credentials={"token": "xoxb-test-token"})
    response = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "When a GitHub pull request is opened, post to #code-review in Slack",
        "optimization_strategy": "reliability"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    workflow = body["workflow"]
    assert workflow["trigger"] == {"type": "event", "service": "github",
                                   "event": "pull_request_opened", "conditions": {},
                                   "timezone": "UTC"}
    [step] = workflow["steps"]
    assert (step["service"], step["action"]) == ("slack", "send_message")
    assert step["parameters"]["channel"] == "#code-review"
    assert step["connection"] == slack["id"]
    assert body["connections"] == {"slack": slack["id"]}
    assert body["missing_connections"] == ["github"]
    assert body["optimization_strategy"] == "reliability"
    assert "GitHub" in body["explanation"] and "#code-review" in body["explanation"]
    # The definition is accepted as it is by the workflows API.
    created = client.post("/api/v2/ai-workflows", headers=keys["editor"], json=workflow)
    assert created.status_code == 201, created.get_json()


def test_generate_prefers_a_healthy_enabled_connection(app, client, keys, create_connection):
    from atom.models import Connection

    broken = create_connection("slack", credentials={"token": "xoxb-one"}, label="broken")
    off = create_connection("slack", credentials={"token": "xoxb-two"}, label="off")
    good = create_connection("slack", credentials={"token": "xoxb-three"}, label="good")
    with app.app_context():
        db.session.get(Connection, broken["id"]).last_error_class = "auth"
        db.session.get(Connection, off["id"]).enabled = False
        db.session.commit()
    body = client.post(GENERATE, headers=keys["viewer"],
                       json={"user_input": "Every hour post a reminder to #ops in Slack"}).get_json()
    assert body["connections"] == {"slack": good["id"]}


def test_threshold_becomes_a_condition(client, keys):
    body = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "When a Stripe payment over 50k succeeds, alert #finance in Slack"}).get_json()
    [threshold] = body["analysis"]["entities"]["thresholds"]
    assert (threshold["op"], threshold["value"]) == (">", 50000)
    steps = {s["id"]: s for s in body["workflow"]["steps"]}
    condition = steps["check_threshold"]
    assert condition["type"] == "condition"
    assert condition["expression"] == "trigger.object.amount > `50000`"  # from Stripe's sample payload
    assert steps["slack_send_message"]["depends_on"] == ["check_threshold"]


def test_label_and_recipient_fill_gmail(client, keys):
    body = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "When an email labeled invoice arrives in Gmail, forward it to ap@example.com "
                      "by email and post to #billing in Slack"}).get_json()
    workflow = body["workflow"]
    assert workflow["trigger"]["service"] == "gmail"
    assert workflow["trigger"]["params"]["query"] == "label:invoice"
    assert body["analysis"]["entities"]["labels"] == ["invoice"]
    assert body["analysis"]["entities"]["recipients"] == ["ap@example.com"]
    gmail = next(s for s in workflow["steps"] if s["service"] == "gmail")
    assert gmail["parameters"]["to"] == ["ap@example.com"]


def test_schedule_uses_the_context_time_zone(client, keys):
    body = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "Every weekday at 7am post the open Jira bugs to #dev in Slack",
        "context": {"timezone": "Europe/Paris"}}).get_json()
    trigger = body["workflow"]["trigger"]
    assert trigger == {"type": "schedule", "cron": "0 7 * * 1-5", "timezone": "Europe/Paris",
                       "conditions": {}}


def test_missing_values_become_questions(client, keys):
    body = client.post(ANALYZE, headers=keys["viewer"], json={
        "user_input": "Every Monday send a message in Slack"}).get_json()
    fields_ = {q["field"] for q in body["questions"]}
    assert "trigger.cron" in fields_  # no time given: 9:00 assumed, and asked
    assert "entities.channels" in fields_
    assert body["confidence"] < body["confidence_threshold"]


def test_save_creates_the_workflow(app, client, keys):
    response = client.post(GENERATE, headers=keys["editor"], json={
        "user_input": "When a new Zendesk ticket is created, open a Jira issue", "save": True})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["saved"] is True
    shown = client.get(f"/api/v2/ai-workflows/{body['workflow']['id']}", headers=keys["viewer"])
    assert shown.status_code == 200
    assert shown.get_json()["trigger"]["service"] == "zendesk"
    assert body["workflow"]["steps"] == shown.get_json()["steps"]
    assert body["analysis"]["trigger"]["service"] == "zendesk"


def test_save_refuses_a_request_with_no_action(app, client, keys):
    response = client.post(GENERATE, headers=keys["editor"],
                           json={"user_input": "hello there", "save": True})
    assert response.status_code == 422
    assert "user_input" in response.get_json()["errors"]
    # Without save it still answers, asking which service to act on.
    body = client.post(GENERATE, headers=keys["editor"], json={"user_input": "hello there"}).get_json()
    assert "actions" in {q["field"] for q in body["analysis"]["questions"]}
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Workflow)) == 0


def test_viewer_may_generate_but_not_save(app, client, keys):
    text = "When a new Zendesk ticket is created, open a Jira issue"
    assert client.post(GENERATE, headers=keys["viewer"], json={"user_input": text}).status_code == 200
    response = client.post(GENERATE, headers=keys["viewer"], json={"user_input": text, "save": True})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Workflow)) == 0


def test_unauthenticated_is_401(client):
    assert client.post(ANALYZE, json={"user_input": "post to Slack"}).status_code == 401


def test_switched_off_is_503(app_factory, monkeypatch, tmp_path):
    from tests.conftest import make_key

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(AI_WORKFLOW_ENABLED=False)
    headers = {"Authorization": f"Bearer {make_key(app, 'editor')}"}
    response = app.test_client().post(ANALYZE, headers=headers, json={"user_input": "post to Slack"})
    assert response.status_code == 503
    assert "AI_WORKFLOW_ENABLED" in response.get_json()["message"]


def test_status_describes_the_vocabulary(app):
    # What GET .../status shows for this component (the endpoint also needs the others').
    from atom.api.intelligence.status import component_status

    with app.test_request_context():
        mine = component_status("intelligence")
    assert mine["available"] is True
    assert mine["model"] == "manifest vocabulary + rules"
    assert mine["trained_on"]["integrations"] == len(get_state(app).registry.loaded())
    assert mine["trained_on"]["events"] > 50 and mine["trained_on"]["actions"] > 50


# -- English schedules, checked by when they fire ---------------------------------------------


SCHEDULES = [
    ("every 15 minutes post the queue size to Slack", "*/15 * * * *"),
    ("hourly, post the Zendesk backlog to Slack", "0 * * * *"),
    ("every weekday at 7am post to Slack", "0 7 * * 1-5"),
    ("on the 1st of every month at 6am create a Xero invoice", "0 6 1 * *"),
    ("Sunday night at 11pm back up Notion to Dropbox", "0 23 * * 0"),
    ("weekdays at 8:30, email the agenda", "30 8 * * 1-5"),
    ("twice a day post open tickets to Slack", "0 9,17 * * *"),
    ("every Monday and Thursday at 9:30 post to Slack", "30 9 * * 1,4"),
    ("every day at 6pm send a Slack summary", "0 18 * * *"),
    ("every Friday at 4:15 pm post to Slack", "15 16 * * 5"),
    ("every 2 hours check GitHub and post to Slack", "0 */2 * * *"),
    ("at midnight every day export Salesforce to Box", "0 0 * * *"),
    ("every 30 minutes during business hours check Jira", "*/30 9-17 * * 1-5"),
    ("on the last day of the month at 18:00 create a Xero bill", "0 18 L * *"),
    ("on the first Monday of the month at 10am email the team", "0 10 * * 1#1"),
    ("every weekend at 10am post to Discord", "0 10 * * 0,6"),
]


def test_english_schedules(client, keys):
    for text, cron in SCHEDULES:
        body = client.post(ANALYZE, headers=keys["viewer"], json={"user_input": text}).get_json()
        assert body["trigger"]["type"] == "schedule", (text, body["trigger"])
        assert fires(body["trigger"]["cron"]) == fires(cron), (text, body["trigger"]["cron"], cron)


def test_time_zone_named_in_the_text(client, keys):
    body = client.post(ANALYZE, headers=keys["viewer"], json={
        "user_input": "every day at 9am EST post the standup reminder to Slack"}).get_json()
    assert body["trigger"]["timezone"] == "America/New_York"


def test_monday_the_service_is_not_monday_the_day(client, keys):
    body = client.post(ANALYZE, headers=keys["viewer"], json={
        "user_input": "When a Zendesk ticket is created, add an item to the Monday board"}).get_json()
    assert body["trigger"]["type"] == "event"
    assert [a["service"] for a in body["actions"]] == ["monday"]


# -- entities ------------------------------------------------------------------------------------


def test_entities(client, keys):
    body = client.post(ANALYZE, headers=keys["viewer"], json={
        "user_input": "When a HubSpot deal over $250,000 is created, notify #big-deals and #sales "
                      "in Slack, email cfo@example.com and @maria, and save a note in the "
                      "\"Q3 Deals\" folder in Google Drive"}).get_json()
    e = body["entities"]
    assert e["channels"] == ["big-deals", "sales"]
    assert e["thresholds"][0] == {"field": "deal", "op": ">", "value": 250000,
                                  "currency": "USD", "text": "over $250,000"}
    assert e["recipients"] == ["cfo@example.com", "@maria"]
    assert e["folders"] == ["Q3 Deals"]
    assert {a["service"] for a in body["actions"]} == {"slack", "gmail", "google_drive"}


def test_threshold_words(client, keys):
    for phrase, op, value in (("under 100", "<", 100), ("at least 2m", ">=", 2_000_000),
                              ("more than 1.5k", ">", 1500)):
        body = client.post(ANALYZE, headers=keys["viewer"], json={
            "user_input": f"When a Stripe payment {phrase} succeeds, post to #x in Slack"}).get_json()
        [t] = body["entities"]["thresholds"]
        assert (t["op"], t["value"]) == (op, value), phrase


# -- the vocabulary comes from the manifests -------------------------------------------------


def test_a_new_alias_is_understood_without_code(app, client, keys, monkeypatch):
    text = "When a GitHub issue is opened, post it to Chatterbox"
    before = client.post(ANALYZE, headers=keys["viewer"], json={"user_input": text}).get_json()
    assert [a["service"] for a in before["actions"]] == []
    state = get_state(app)
    plugins = []
    for plugin in state.registry.all():
        if plugin.name == "slack":
            plugin = Plugin(plugin.name, plugin.state, replace(
                plugin.manifest, aliases=(*plugin.manifest.aliases, "chatterbox")),
                plugin.integration_class)
        plugins.append(plugin)
    monkeypatch.setattr(state, "registry", Registry(plugins))
    after = client.post(ANALYZE, headers=keys["viewer"], json={"user_input": text}).get_json()
    assert [(a["service"], a["matched"][0]) for a in after["actions"]] == [("slack", "Chatterbox")]


# -- dashboard ----------------------------------------------------------------------------------


def _dashboard_client(app, role: str):
    from atom.models import User

    with app.app_context():
        user = User(email=f"{role}@example.com", role=role)
        user.set_password("a long enough password")
        db.session.add(user)
        db.session.commit()
    web = app.test_client()
    assert web.post("/login", data={"email": f"{role}@example.com",
                                    "password": "a long enough password"}).status_code == 302
    return web


def test_new_workflow_page_has_the_describe_box(app):
    web = _dashboard_client(app, "viewer")
    page = web.get("/workflows/new")
    assert page.status_code == 200
    assert b"Describe it" in page.data and b'hx-get="/workflows/new/describe"' in page.data


def test_describe_shows_the_analysis_and_workflow(app):
    web = _dashboard_client(app, "viewer")
    text = "Every weekday at 7am post the open Jira bugs to #dev in Slack"
    page = web.get("/workflows/new/describe", query_string={"text": text})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "0 7 * * 1-5" in html and "send_message" in html and "#dev" in html
    assert "No connection yet for: jira, slack" in html
    assert "Create workflow" not in html  # a viewer cannot create
    partial = web.get("/workflows/new/describe", query_string={"text": text},
                      headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)
    assert "0 7 * * 1-5" in partial.get_data(as_text=True)
    assert web.get("/workflows/new/describe", query_string={"text": " "}).status_code == 422
    assert web.post("/workflows/new/describe", data={"text": text}).status_code == 403


def test_describe_create_saves_and_redirects(app):
    web = _dashboard_client(app, "editor")
    text = "When a new Stripe customer is created, create a HubSpot contact"
    page = web.get("/workflows/new/describe", query_string={"text": text})
    assert "Create workflow" in page.get_data(as_text=True)
    response = web.post("/workflows/new/describe", data={"text": text, "timezone": ""})
    assert response.status_code == 302
    with app.app_context():
        workflow = db.session.scalars(db.select(Workflow)).one()
        assert workflow.trigger_service == "stripe"
    assert response.headers["Location"].endswith(f"/workflows/{workflow.id}")
    assert web.post("/workflows/new/describe", data={"text": ""}).status_code == 422
    refused = web.post("/workflows/new/describe", data={"text": "hello there"})
    assert refused.status_code == 422 and "no action was recognised" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Workflow)) == 1


# -- CLI -------------------------------------------------------------------------------------------


def test_cli_generate(app, runner):
    result = runner.invoke(main, ["generate", "Every Monday at 9am create a Jira issue for the review",
                                 "--timezone", "Europe/London", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["workflow"]["trigger"]["cron"] == "0 9 * * 1"
    assert body["workflow"]["trigger"]["timezone"] == "Europe/London"
    assert body["saved"] is False
    readable = runner.invoke(main, ["generate", "When a GitHub issue is opened, post to #eng in Slack"])
    assert readable.exit_code == 0
    assert "This workflow starts when GitHub" in readable.output and '"channel": "#eng"' in readable.output


def test_cli_generate_save_and_errors(app, runner):
    saved = runner.invoke(main, ["generate", "When a GitHub issue is opened, post to #eng in Slack",
                                "--save"])
    assert saved.exit_code == 0, saved.output
    with app.app_context():
        workflow = db.session.scalars(db.select(Workflow)).one()
    assert f"created workflow {workflow.id}" in saved.output
    bad = runner.invoke(main, ["generate", "every day at 9 post to Slack", "--timezone", "Nowhere/Else"])
    assert bad.exit_code != 0 and "--timezone" in bad.output
    nothing = runner.invoke(main, ["generate", "hello there", "--save"])
    assert nothing.exit_code != 0 and "no action was recognised" in nothing.output
    empty = runner.invoke(main, ["generate", "  "])
    assert empty.exit_code != 0 and "TEXT" in empty.output


def test_actions_run_side_by_side_unless_ordered(client, keys):
    side = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "When a Zendesk ticket is created, open a Jira issue and post to #support in Slack"
    }).get_json()["workflow"]["steps"]
    assert {s["id"]: s["depends_on"] for s in side} == {"jira_create_issue": [], "slack_send_message": []}
    ordered = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "When a Zendesk ticket is created, open a Jira issue, then post to #support in Slack"
    }).get_json()["workflow"]["steps"]
    assert {s["id"]: s["depends_on"] for s in ordered} == {
        "jira_create_issue": [], "slack_send_message": ["jira_create_issue"]}


def test_ambiguous_and_unknown_services_are_asked(client, keys):
    body = client.post(ANALYZE, headers=keys["viewer"], json={
        "user_input": "When a GitHub or GitLab issue is opened, add a row to Airtable and post to "
                      "#eng in Slack"}).get_json()
    questions = {q["field"]: q["question"] for q in body["questions"]}
    assert "GitLab" in questions["trigger.service"]
    assert "'Airtable' is not an installed integration" in questions["services"]
    assert body["trigger"]["alternatives"] == ["gitlab"]
    assert body["confidence"] < body["confidence_threshold"]


def test_the_action_follows_the_words(client, keys):
    cases = [
        ("Every morning at 7, list overdue Xero invoices in Slack",
         [("xero", "list_invoices"), ("slack", "send_message")]),
        ("When a Jira issue is updated, update the matching Linear issue", [("linear", "update_issue")]),
        ("When a pull request is merged on GitHub, move the Trello card to Done", [("trello", "move_card")]),
        ("Every 12 hours back up Notion to Dropbox", [("notion", "query_database"), ("dropbox", "upload_file")]),
        ("Save Gmail attachments to Dropbox", [("dropbox", "copy_file")]),
        ("When a new Zendesk ticket arrives, add an internal note and notify Slack",
         [("slack", "send_message"), ("zendesk", "add_comment")]),
    ]
    for text, expected in cases:
        body = client.post(ANALYZE, headers=keys["viewer"], json={"user_input": text}).get_json()
        assert [(a["service"], a["action"]) for a in body["actions"]] == expected, text
    events = [("If a Stripe payment fails, open a Jira ticket", ("stripe", "payment_failed")),
              ("When a merge request is opened, ping #reviews in Slack", ("gitlab", "merge_request_opened")),
              ("When somebody joins a Slack channel, send them a welcome DM", ("slack", "member_joined"))]
    for text, expected in events:
        trigger = client.post(ANALYZE, headers=keys["viewer"], json={"user_input": text}).get_json()["trigger"]
        assert (trigger["service"], trigger["event"]) == expected, text


def test_what_is_read_is_what_is_written(client, keys):
    body = client.post(GENERATE, headers=keys["editor"], json={
        "user_input": "Every morning at 7, list overdue Xero invoices in #finance on Slack",
        "save": True})
    assert body.status_code == 201, body.get_json()
    steps = {s["id"]: s for s in body.get_json()["workflow"]["steps"]}
    assert steps["slack_send_message"]["depends_on"] == ["xero_list_invoices"]
    assert steps["slack_send_message"]["parameters"]["text"] == "{{ steps.xero_list_invoices.output }}"


def test_a_trigger_param_the_text_cannot_fill_is_asked(client, keys):
    body = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "When a Discord message is posted in #support, create a Zendesk ticket"}).get_json()
    trigger = body["workflow"]["trigger"]
    assert (trigger["type"], trigger["service"], trigger["event"]) == ("event", "discord", "message_posted")
    placeholder = trigger["params"]["channel_id"]  # "#support" is a name, Discord wants an id
    assert placeholder != "support"
    asked = {q["field"]: q["question"] for q in body["analysis"]["questions"]}
    assert placeholder in asked["trigger.params.channel_id"]


def test_a_strategy_applies_its_safe_findings_and_enhanced_adds_a_prediction(client, keys):
    """``optimization_strategy: reliability`` gives the draft the optimisation's safe
    reliability findings (a retry and a timeout on each action), listed as applied; without it
    the draft has none. ``enhanced_intelligence`` adds the draft's prediction."""
    text = {"user_input": "When a GitHub issue is opened, post it to #triage in Slack"}
    plain = client.post(GENERATE, json=text, headers=keys["viewer"]).get_json()
    action = next(s for s in plain["workflow"]["steps"] if s["type"] == "action")
    assert "retry" not in action and plain["optimization"] is None and plain["prediction"] is None
    tuned = client.post(GENERATE, headers=keys["viewer"], json={
        **text, "optimization_strategy": "reliability", "enhanced_intelligence": True}).get_json()
    action = next(s for s in tuned["workflow"]["steps"] if s["type"] == "action")
    assert action["retry"]["max_attempts"] > 1 and action["timeout_s"] > 0
    kinds = {f["kind"] for f in tuned["optimization"]["applied"]}
    assert {"add_retry", "add_timeout"} <= kinds
    assert 0 < tuned["prediction"]["success_rate"] <= 1
    assert tuned["prediction"]["duration_ms"]["p50"] > 0
    saved = client.post(GENERATE, headers=keys["editor"], json={
        **text, "optimization_strategy": "reliability", "save": True})
    assert saved.status_code == 201
    step = next(s for s in saved.get_json()["workflow"]["steps"] if s["type"] == "action")
    assert step["retry"]["max_attempts"] > 1


def test_a_read_of_many_records_is_a_list_or_search_not_one_records_detail(client, keys):
    """"list the open Jira issues" searches issues; it does not list one issue's transitions
    (an action whose required input names one record)."""
    for text in ("Every weekday at 7am, list the open Jira issues and post them to #standup in Slack",
                 "Each Friday at 5pm search Jira for resolved issues and post a summary to #eng in Slack"):
        body = client.post(GENERATE, json={"user_input": text}, headers=keys["viewer"]).get_json()
        jira = next(a for a in body["analysis"]["actions"] if a["service"] == "jira")
        assert jira["action"] == "search_issues", (text, jira)


def test_a_required_value_no_trigger_brings_becomes_a_question(client, keys):
    """On a schedule there is no payload: a required parameter left as ``{{ trigger.x }}``
    is asked about, naming the step and field; on an event whose payload has the field it is
    not."""
    body = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "Every morning at 9am list the open Jira issues and post them to #eng in Slack"}).get_json()
    step = next(s for s in body["workflow"]["steps"] if s["service"] == "jira")
    fields_asked = {q["field"] for q in body["analysis"]["questions"]}
    assert f"steps.{step['id']}.parameters.jql" in fields_asked
    event = client.post(GENERATE, headers=keys["viewer"], json={
        "user_input": "When a GitHub pull request is opened, post a message to #eng in Slack"}).get_json()
    assert not [q for q in event["analysis"]["questions"] if ".parameters." in q["field"]]
