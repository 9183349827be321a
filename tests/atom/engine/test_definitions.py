"""Definitions through the API: 422s that name the step and the reason and write nothing,
immutable versions, the compact form, and the ready-made templates."""
from __future__ import annotations

import copy

import pytest

from atom.models import AuditEvent
from atom.models import Execution
from atom.models import Workflow
from atom.models import WorkflowVersion
from tests.atom.engine.conftest import count
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import steps_of
from tests.fakes import reply
from tests.conftest import make_key

VALID = manual("valid", [post_step("a", "/a"), post_step("b", "/b", deps=["a"])])


def _with(step_changes: dict | None = None, **top) -> dict:
    """The valid definition with step ``b`` changed (a key set to None is removed)."""
    definition = copy.deepcopy(VALID)
    for key, value in (step_changes or {}).items():
        if value is None:
            definition["steps"][1].pop(key, None)
        else:
            definition["steps"][1][key] = value
    definition.update(top)
    return definition


# (definition, the errors key, the field, a fragment of the reason)
INVALID = {
    "cycle": (manual("c", [post_step("a", "/a", deps=["b"]), post_step("b", "/b", deps=["a"])]),
              "steps.a", "depends_on", "dependency cycle"),
    "self_cycle": (manual("c", [post_step("a", "/a", deps=["a"])]), "steps.a", "depends_on", "cycle"),
    "unknown_dependency": (_with({"depends_on": ["ghost"]}), "steps.b", "depends_on", "unknown step 'ghost'"),
    "unknown_handler": (_with({"handler": "ghost"}), "steps.b", "handler", "unknown step 'ghost'"),
    "self_handler": (_with({"handler": "b"}), "steps.b", "handler", "cannot handle itself"),
    "handler_and_old_form": (_with({"handler": "a", "on_error": "ghost", "depends_on": []}), "steps.b", "on_error",
                             "'fail' or 'continue' when a handler is named"),
    "unknown_service": (_with({"service": "no_such_service"}), "steps.b", "service", "unknown service"),
    "unknown_action": (_with({"action": "teleport"}), "steps.b", "action", "has no action 'teleport'"),
    "parameter_wrong_type": (_with({"parameters": {"path": 12}}), "steps.b", "parameters", "path"),
    "parameter_missing": (_with({"parameters": {"json": {"a": 1}}}), "steps.b", "parameters", "path"),
    "parameter_unknown": (_with({"parameters": {"path": "/x", "colour": "red"}}), "steps.b", "parameters",
                          "colour"),
    "templated_field_does_not_excuse_others": (
        _with({"parameters": {"path": "{{ trigger.p }}", "query": "not-an-object"}}),
        "steps.b", "parameters", "query"),
    "bad_when": (_with({"when": "trigger.a =="}), "steps.b", "when", "invalid expression"),
    "bad_template": (_with({"parameters": {"path": "/x/{{ steps.[ }}"}}), "steps.b", "parameters",
                     "invalid expression"),
    "bad_condition": (manual("c", [{"id": "c", "type": "condition", "expression": "a ||"}]),
                      "steps.c", "expression", "invalid expression"),
    "bad_mapping": (manual("c", [{"id": "t", "type": "transform", "mapping": {"x": "foo[?"}}]),
                    "steps.t", "mapping.x", "invalid expression"),
    "bad_cron": ({"name": "c", "trigger": {"type": "schedule", "cron": "61 * * * *"},
                  "steps": VALID["steps"]}, "trigger", "cron", "invalid cron"),
    "short_cron": ({"name": "c", "trigger": {"type": "schedule", "cron": "* * *"},
                    "steps": VALID["steps"]}, "trigger", "cron", "invalid cron"),
    "bad_timezone": ({"name": "c", "trigger": {"type": "schedule", "cron": "0 9 * * *", "timezone": "Mars/Base"},
                      "steps": VALID["steps"]}, "trigger", "timezone", "unknown time zone"),
    "unknown_event": ({"name": "c", "trigger": {"type": "event", "service": "http", "event": "nope"},
                       "steps": VALID["steps"]}, "trigger", "event", "no event 'nope'"),
    "unknown_trigger_service": ({"name": "c", "trigger": {"type": "event", "service": "zzz", "event": "x"},
                                 "steps": VALID["steps"]}, "trigger", "service", "unknown service"),
    "duplicate_id": (manual("c", [post_step("a", "/a"), post_step("a", "/b")]), "steps.a", "id", "duplicate"),
    "unknown_handler": (_with({"on_error": "nobody"}), "steps.b", "on_error", "none of them"),
    "unknown_connection": (_with({"connection": 999}), "steps.b", "connection", "no connection 999"),
    "missing_action_field": (_with({"action": None}), "steps.b", "action", "required"),
    "bad_step_type": (_with({"type": "teleport"}), "steps.b", "type", "Must be one of"),
    "bad_step_id": (manual("c", [post_step("1 bad", "/a")]), "steps.1 bad", "id", "letters"),
    "unknown_field": (_with({"colour": "red"}), "steps.b", "colour", "Unknown field"),
    "wait_without_seconds": (manual("c", [{"id": "w", "type": "wait"}]), "steps.w", "seconds", "either"),
    "bad_wait_until": (manual("c", [{"id": "w", "type": "wait", "until": "tomorrow"}]), "steps.w", "until",
                       "ISO-8601"),
    # Handlers the runner cannot order (issue 7, item 10: today 201, then every run crashes).
    "handlers_of_each_other": (manual("c", [post_step("a", "/a", on_error="b"), post_step("b", "/b", on_error="a")]),
                               "steps.a", "on_error", "handler and dependency cycle"),
    "handler_chain_looping_back": (manual("c", [post_step("a", "/a", on_error="b"), post_step("b", "/b", on_error="c"),
                                                post_step("c", "/c", on_error="a")]),
                                   "steps.c", "on_error", "handler and dependency cycle"),
    "step_depending_on_its_handler": (manual("c", [post_step("a", "/a", deps=["b"], on_error="b"),
                                                   post_step("b", "/b")]),
                                      "steps.a", "depends_on", "handler and dependency cycle"),
    "handler_upstream_of_its_step": (manual("c", [post_step("a", "/a", deps=["c"], on_error="b"), post_step("b", "/b"),
                                                  post_step("c", "/c", deps=["b"])]),
                                     "steps.a", "on_error", "handler and dependency cycle"),
    "unknown_sub_workflow": (manual("c", [{"id": "sub", "type": "workflow", "workflow_id": 999}]),
                             "steps.sub", "workflow_id", "no workflow 999"),
    "sub_workflow_id_beyond_64_bits": (manual("c", [{"id": "sub", "type": "workflow", "workflow_id": 2 ** 70}]),
                                       "steps.sub", "workflow_id", "no workflow"),
    # References to other steps' outputs, checked against the actions' output schemas.
    "output_field_typo": (_with({"parameters": {"path": "/b/{{ steps.a.output.stauts }}"}}),
                          "steps.b", "parameters", "'stauts' is not a field of output"),
    "output_of_a_step_that_may_not_have_run": (
        _with({"depends_on": [], "parameters": {"path": "/b/{{ steps.a.output.status }}"}}),
        "steps.b", "parameters", "add 'a' to depends_on"),
    "output_of_no_step": (_with({"when": "steps.ghost.output.status == `200`"}),
                          "steps.b", "when", "no step 'ghost'"),
    "own_output": (_with({"when": "steps.b.output.status == `200`"}), "steps.b", "when",
                   "its own output"),
}


def _state(app) -> tuple[int, int, int, int]:
    return (count(app, Workflow), count(app, WorkflowVersion), count(app, AuditEvent), count(app, Execution))


def test_output_references_within_the_schema_are_accepted(api, conn):
    """Known fields, passthrough objects (``headers``, ``body``: any key), lists past an index,
    and dependencies through another step."""
    definition = manual("refs", [
        post_step("a", "/a"),
        post_step("b", "/b", deps=["a"], when="steps.a.output.status == `201`"),
        post_step("c", "/c", deps=["b"], body={
            "etag": "{{ steps.a.output.headers.ETag }}",
            "first": "{{ steps.a.output.body.items[0].name.first }}",
            "all": "{{ steps.b.output.body }}"}),
    ])
    assert api.create(definition)["id"]


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_definition_is_422_naming_the_step_and_reason_and_writes_nothing(app, api, conn, case):
    definition, key, field, reason = INVALID[case]
    before = _state(app)
    response = api.client.post("/api/v2/ai-workflows", json=definition, headers=api.headers)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "validation"
    assert key in body["errors"], body
    problems = body["errors"][key]
    assert field in problems, body
    assert reason in str(problems[field]), body
    assert key.split(".")[-1] in body["message"] or key in body["message"]
    assert _state(app) == before


@pytest.mark.parametrize("case", ["cycle", "unknown_action", "bad_when", "bad_cron"])
def test_an_invalid_update_is_422_and_keeps_the_current_version(app, api, conn, case):
    wf = api.create(VALID)
    before = _state(app)
    response = api.client.put(f"/api/v2/ai-workflows/{wf['id']}", json=INVALID[case][0], headers=api.headers)
    assert response.status_code == 422
    assert INVALID[case][1] in response.get_json()["errors"]
    assert _state(app) == before
    current = api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()
    assert current["version"] == 1 and current["steps"] == wf["steps"] and current["name"] == "valid"


def test_templated_parameters_are_not_held_to_the_schema_until_run_time(api, fake, conn):
    fake.always("/dyn", reply(200, {}))
    wf = api.create(manual("tpl", [{"id": "x", "type": "action", "service": "http", "action": "get",
                                    "parameters": {"path": "{{ trigger.path }}", "query": "{{ trigger.q }}"}}]))
    done = api.run(wf["id"], {"path": "/dyn", "q": {"a": "1"}})
    assert done["status"] == "succeeded", done
    assert fake.calls("/dyn")[0].query == {"a": ["1"]}
    # At run time a rendered value that fails the schema fails the step as validation.
    done = api.run(wf["id"], {"path": 5})
    step = steps_of(done)["x"]
    assert done["status"] == "failed" and step["error"]["class"] == "validation"


def test_every_non_object_body_is_rejected(api):
    for body in ([], "text", 3):
        response = api.client.post("/api/v2/ai-workflows", json=body, headers=api.headers)
        assert response.status_code == 400
    response = api.client.post("/api/v2/ai-workflows", data="{not json", headers={
        **api.headers, "Content-Type": "application/json"})
    assert response.status_code == 400


# -- versions ---------------------------------------------------------------------------------


def test_an_update_creates_a_new_version_and_executions_keep_the_one_they_ran(app, api, fake, conn):
    fake.always("/v1", reply(200, {}))
    fake.always("/v2", reply(200, {}))
    v1 = manual("versioned", [{"id": "nap", "type": "wait", "seconds": 0.5}, post_step("call", "/v1", deps=["nap"])])
    wf = api.create(v1)
    assert wf["version"] == 1
    first = api.execute(wf["id"], wait=None).get_json()
    assert first["version"] == 1
    # Updated while the first execution waits: it still runs version 1.
    v2 = manual("versioned v2", [post_step("call", "/v2")], description="second")
    updated = api.put(wf["id"], v2)
    assert (updated["version"], updated["name"], updated["description"]) == (2, "versioned v2", "second")
    second = api.run(wf["id"])
    assert second["version"] == 2 and second["status"] == "succeeded"
    first = api.wait_finished(first["id"])
    assert first["version"] == 1 and first["status"] == "succeeded"
    assert set(steps_of(first)) == {"nap", "call"}
    assert fake.count("/v1") == 1 and fake.count("/v2") == 1
    versions = api.client.get(f"/api/v2/ai-workflows/{wf['id']}/versions", headers=api.headers).get_json()
    assert [v["version"] for v in versions["versions"]] == [1, 2]
    assert versions["versions"][0]["definition"]["steps"][1]["parameters"]["path"] == "/v1"
    assert versions["versions"][1]["definition"]["name"] == "versioned v2"
    assert all(v["created_by"] for v in versions["versions"])
    # The stored version 1 is untouched by the update (immutable).
    with app.app_context():
        from atom.extensions import db

        stored = db.session.execute(db.select(WorkflowVersion.definition).filter_by(
            workflow_id=wf["id"], version=1)).scalar_one()
    assert stored["name"] == "versioned"


def test_a_definition_is_stored_normalised(api, conn):
    wf = api.create(manual("norm", [post_step("a", "/a", service="REST")]))
    step = wf["steps"][0]
    assert step["service"] == "http"
    assert step["on_error"] == "fail" and step["depends_on"] == []
    assert wf["trigger"] == {"type": "manual", "conditions": {}, "timezone": "UTC"}


# -- the compact form -------------------------------------------------------------------------------


def test_the_compact_form_is_expanded_into_a_full_definition(api, fake, conn):
    compact = {"name": "Orders to REST", "description": "forward orders", "trigger_service": "http",
               "action_services": ["http", "rest"], "conditions": {"event": "order.created"},
               "ai_optimized": True}
    response = api.client.post("/api/v2/ai-workflows", json=compact, headers=api.headers)
    assert response.status_code == 201, response.get_json()
    wf = response.get_json()
    assert wf["name"] == "Orders to REST" and wf["description"] == "forward orders"
    assert wf["trigger"]["type"] == "event"
    assert wf["trigger"]["service"] == "http" and wf["trigger"]["event"] == "webhook_received"
    assert wf["trigger"]["conditions"] == {"event": "order.created"}
    assert len(wf["steps"]) == 2
    first, second = wf["steps"]
    assert (first["type"], first["service"], first["action"]) == ("action", "http", "post")
    assert first["parameters"]["path"] == "{{ trigger.path }}"
    assert first["retry"]["max_attempts"] == 3 and first["timeout_s"] == 60  # ai_optimized
    assert second["depends_on"] == [first["id"]]
    assert (first["id"], second["id"]) == ("http_post", "http_post_2")  # the same service twice
    # Compact without ai_optimized gets no retry policy; unknown services are 422.
    plain = api.client.post("/api/v2/ai-workflows", json={"name": "p", "action_services": ["http"]},
                            headers=api.headers).get_json()
    assert plain["trigger"] == {"type": "manual", "conditions": {}, "timezone": "UTC"}
    assert "retry" not in plain["steps"][0]
    bad = api.client.post("/api/v2/ai-workflows", json={"name": "b", "trigger_service": "nope",
                                                        "action_services": ["nada"]}, headers=api.headers)
    assert bad.status_code == 422
    assert {"trigger_service", "action_services"} <= set(bad.get_json()["errors"])
    # The expanded workflow runs: the path comes from the trigger payload.
    fake.always("/orders", reply(200, {}))
    done = api.run(plain["id"], {"path": "/orders"})
    assert done["status"] == "succeeded", done
    assert fake.count("/orders") == 1


# -- templates ----------------------------------------------------------------------------------


def test_at_least_fifteen_templates_are_listed_with_the_product_examples(api):
    body = api.client.get("/api/v2/ai-workflows/templates", headers=api.headers).get_json()
    templates = {t["name"]: t for t in body["templates"]}
    assert len(templates) >= 15
    for name in ("github_pr_to_slack", "salesforce_lead_to_asana", "meeting_to_trello_and_slack",
                 "slack_to_notion_sync", "customer_onboarding", "health_alert_to_slack"):
        assert name in templates
    for t in templates.values():
        assert t["title"] and t["description"] and t["steps"] >= 1
        assert isinstance(t["available"], bool)
        assert t["available"] == (not t["missing_integrations"])
    # Trello, Google Calendar, Notion and Salesforce are in the catalogue: these templates are
    # available.
    for name in ("meeting_to_trello_and_slack", "slack_to_notion_sync", "salesforce_lead_to_asana"):
        assert templates[name]["available"] is True, templates[name]


def test_every_available_template_instantiates_into_a_valid_workflow(app, api):
    body = api.client.get("/api/v2/ai-workflows/templates", headers=api.headers).get_json()
    available = [t for t in body["templates"] if t["available"]]
    assert available
    for template in available:
        params: dict = {}
        for need in template["needs"]:
            params.setdefault(need["step"], {})[need["field"]] = need["example"]
        response = api.client.post(f"/api/v2/ai-workflows/templates/{template['name']}/instantiate",
                                   json={"enabled": False, "parameters": params}, headers=api.headers)
        if template["connections_needed"]:  # no connection of the source service exists here
            assert response.status_code == 422, template["name"]
            assert set(response.get_json()["errors"]) == {
                f"connections.{s}" for s in template["connections_needed"]}
            continue
        assert response.status_code == 201, (template["name"], response.get_json())
        assert response.get_json()["enabled"] is False


def test_a_template_needing_a_parameter_names_it_when_it_is_missing(api):
    response = api.client.post("/api/v2/ai-workflows/templates/slack_to_notion_sync/instantiate",
                               json={"parameters": {"page": {"title": "x"}}}, headers=api.headers)
    assert response.status_code == 422
    assert "parameters.page.database_id" in response.get_json()["errors"], response.get_json()


def test_instantiating_a_template_with_overrides_gives_a_runnable_workflow(api, fake, conn):
    response = api.client.post("/api/v2/ai-workflows/templates/webhook_forwarder/instantiate", json={
        "name": "My forwarder", "connections": {"http": conn["id"]},
        "parameters": {"forward": {"path": "/inbox"}}}, headers=api.headers)
    assert response.status_code == 201, response.get_json()
    wf = response.get_json()
    assert wf["name"] == "My forwarder"
    assert wf["steps"][0]["connection"] == conn["id"]
    assert wf["webhook_url"]
    fake.always("/inbox", reply(200, {}))
    hook = wf["webhook_url"].split("localhost", 1)[1]
    started = api.client.post(hook, json={"order": 1})
    assert started.status_code == 202
    done = api.wait_finished(started.get_json()["execution_id"])
    assert done["status"] == "succeeded", done
    assert fake.calls("/inbox")[0].json() == {"order": 1}


def test_unknown_or_uninstallable_templates_are_refused(app, api):
    before = count(app, Workflow)
    assert api.client.post("/api/v2/ai-workflows/templates/nope/instantiate", json={},
                           headers=api.headers).status_code == 404
    for overrides in ({"connections": "http"}, {"trigger": "webhook"}, {"parameters": [1]}):
        response = api.client.post("/api/v2/ai-workflows/templates/webhook_forwarder/instantiate",
                                   json=overrides, headers=api.headers)
        assert response.status_code == 422, overrides
    assert count(app, Workflow) == before


def test_a_template_whose_integration_is_disabled_is_refused(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    other = app_factory(PLUGINS_DISABLED=["salesforce"])
    headers = {"Authorization": f"Bearer {make_key(other, 'editor')}"}
    client = other.test_client()
    listed = {t["name"]: t for t in client.get("/api/v2/ai-workflows/templates",
                                                headers=headers).get_json()["templates"]}
    assert listed["salesforce_lead_to_asana"]["available"] is False
    assert listed["salesforce_lead_to_asana"]["missing_integrations"] == ["salesforce"]
    response = client.post("/api/v2/ai-workflows/templates/salesforce_lead_to_asana/instantiate",
                           json={}, headers=headers)
    assert response.status_code == 422
    assert "salesforce" in response.get_json()["message"]


def test_a_sub_workflow_must_exist_and_not_be_deleted(app, api, conn):
    child = api.create(manual("child", [post_step("a", "/a")]))
    step = {"id": "sub", "type": "workflow", "workflow_id": child["id"]}
    api.client.post(f"/api/v2/ai-workflows/{child['id']}/disable", headers=api.headers)
    parent = api.create(manual("parent", [step]))  # disabled is fine: it may be enabled again
    assert api.client.delete(f"/api/v2/ai-workflows/{child['id']}", headers=api.headers).status_code == 204
    before = _state(app)
    for response in (api.client.post("/api/v2/ai-workflows", json=manual("p2", [step]), headers=api.headers),
                     api.client.put(f"/api/v2/ai-workflows/{parent['id']}", json=manual("p3", [step]),
                                    headers=api.headers)):
        assert response.status_code == 422
        assert response.get_json()["errors"]["steps.sub"]["workflow_id"] == [f"no workflow {child['id']}"]
    assert _state(app) == before


def test_a_handler_that_waits_for_its_step_is_fine(api, fake, conn):
    fake.always("/a", reply(500, {}))
    fake.always("/b", reply(200, {}))
    wf = api.create(manual("h", [post_step("a", "/a", on_error="b"), post_step("b", "/b", deps=["a"])]))
    done = api.run(wf["id"])
    assert steps_of(done)["b"]["status"] == "succeeded"


def test_the_pure_step_types_are_the_ones_whose_steps_are_pure():
    from atom.engine.definition import PURE_TYPES
    from atom.engine.definition import STEP_CLASSES
    from atom.engine.definition import is_pure

    assert {name for name, cls in STEP_CLASSES.items() if cls.pure.fget(None)} == PURE_TYPES
    assert is_pure({"steps": [{"type": "transform"}, {"type": "condition"}]})
    assert not is_pure({"steps": [{"type": "transform"}, {"type": "wait"}]})
    assert not is_pure({"steps": [{"type": "foreach"}]})  # its body may call services
