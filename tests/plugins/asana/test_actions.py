"""What the Asana actions send and return, with Asana faked at the HTTP seam."""
from __future__ import annotations

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from atom.integrations.errors import ValidationFailed
from atom.state import get_state
from plugins.asana.payloads import TASK_FIELDS
from tests.plugins.asana.conftest import ASANA
from tests.plugins.asana.conftest import HOOK_SECRET
from tests.plugins.asana.conftest import TOKEN
from tests.plugins.asana.conftest import recorded

TASK_OUT = {
    "gid": "1207654321098765", "name": "Follow up with Acme Corp",
    "notes": "Lead from the web form", "completed": False, "completed_at": None,
    "due_on": "2026-03-02", "due_at": None,
    "assignee": {"gid": "1201234567890123", "name": "Greg Sanchez"},
    "projects": [{"gid": "1209876543210987", "name": "Sales pipeline"}],
    "workspace": {"gid": "1200000000000001", "name": "Acme workspace"}, "parent": None,
    "permalink_url": "https://app.asana.com/0/1209876543210987/1207654321098765",
    "created_at": "2026-02-27T10:15:42.318Z", "modified_at": "2026-02-27T10:15:42.318Z",
}


def sent(call) -> dict:
    return json.loads(call.request.body)


def query_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def test_create_task_wraps_the_fields_in_data_and_returns_the_task(fake_asana, asana_connection,
                                                                   run_action):
    fake_asana.post(f"{ASANA}/tasks", json=recorded("task"), status=201)
    r = run_action(asana_connection(), "create_task", {
        "name": "Follow up with Acme Corp", "notes": "Lead from the web form",
        "projects": ["1209876543210987"], "assignee": "me", "due_on": "2026-03-02",
        "followers": ["grace@example.com"]})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == TASK_OUT
    (call,) = fake_asana.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent(call) == {"data": {"name": "Follow up with Acme Corp",
                                   "notes": "Lead from the web form",
                                   "projects": ["1209876543210987"], "assignee": "me",
                                   "followers": ["grace@example.com"], "due_on": "2026-03-02"}}
    assert query_of(call) == {"opt_fields": TASK_FIELDS}


def test_a_due_time_is_sent_in_utc(fake_asana, asana_connection, run_action):
    fake_asana.post(f"{ASANA}/tasks", json=recorded("task"), status=201)
    run_action(asana_connection(), "create_task", {
        "name": "Call", "workspace": "1200000000000001", "due_at": "2026-03-02T09:30:00+01:00"})
    assert sent(fake_asana.calls[0])["data"] == {"name": "Call", "workspace": "1200000000000001",
                                                 "due_at": "2026-03-02T08:30:00.000Z"}


@pytest.mark.parametrize("settings, container", [
    ({"default_project": "1209876543210987", "default_workspace": "1200000000000001"},
     {"projects": ["1209876543210987"]}),
    ({"default_workspace": "1200000000000001"}, {"workspace": "1200000000000001"}),
])
def test_a_task_without_a_container_goes_to_the_connection_default(fake_asana, asana_connection,
                                                                   run_action, settings,
                                                                   container):
    fake_asana.post(f"{ASANA}/tasks", json=recorded("task"), status=201)
    r = run_action(asana_connection(settings), "create_task", {"name": "Follow up"})
    assert r.status_code == 200, r.get_json()
    assert sent(fake_asana.calls[0]) == {"data": {"name": "Follow up", **container}}


def test_a_task_without_any_workspace_is_refused_naming_it(fake_asana, asana_connection,
                                                           run_action):
    r = run_action(asana_connection(), "create_task", {"name": "Follow up"})
    assert r.status_code == 422
    assert "workspace" in r.get_json()["errors"]
    assert len(fake_asana.calls) == 0


@pytest.mark.parametrize("body, field", [
    ({"workspace": "1200000000000001"}, "name"),
    ({"name": "x", "workspace": "12/../34"}, "workspace"),
    ({"name": "x", "projects": ["1209876543210987?opt_pretty=1"]}, "projects"),
    ({"name": "x", "workspace": "1", "assignee": "somebody"}, "assignee"),
    ({"name": "x", "workspace": "1", "due_on": "next tuesday"}, "due_on"),
    ({"name": "x", "workspace": "1", "due_on": "2026-03-02", "due_at": "2026-03-02T10:00:00Z"},
     "due_at"),
    ({"name": "x", "workspace": "1", "due_at": "2026-03-02T10:00:00"}, "due_at"),
    ({"name": "", "workspace": "1"}, "name"),
    ({"name": "x", "workspace": "1", "color": "red"}, "color"),
])
def test_invalid_task_input_is_refused_before_calling_asana(fake_asana, asana_connection,
                                                            run_action, body, field):
    r = run_action(asana_connection(), "create_task", body)
    assert r.status_code == 422
    assert field in r.get_json()["errors"]
    assert len(fake_asana.calls) == 0


@pytest.mark.parametrize("gid", ["../users/me", "123/stories", "12%2F3", "me", "1 2", ""])
def test_a_task_gid_that_could_change_the_path_is_refused(fake_asana, asana_connection,
                                                          run_action, gid):
    r = run_action(asana_connection(), "complete_task", {"task_gid": gid})
    assert r.status_code == 422
    assert "task_gid" in r.get_json()["errors"]
    assert len(fake_asana.calls) == 0


def test_update_task_sends_only_the_given_fields_and_nulls_to_clear(fake_asana,
                                                                    asana_connection,
                                                                    run_action):
    fake_asana.put(f"{ASANA}/tasks/1207654321098765", json=recorded("task"))
    r = run_action(asana_connection(), "update_task", {
        "task_gid": "1207654321098765", "name": "Follow up (call booked)", "due_on": None,
        "assignee": None})

    assert r.status_code == 200, r.get_json()
    assert sent(fake_asana.calls[0]) == {"data": {"name": "Follow up (call booked)",
                                                  "due_on": None, "assignee": None}}
    assert query_of(fake_asana.calls[0]) == {"opt_fields": TASK_FIELDS}


def test_update_task_needs_something_to_change(fake_asana, asana_connection, run_action):
    r = run_action(asana_connection(), "update_task", {"task_gid": "1207654321098765"})
    assert r.status_code == 422
    assert "_schema" in r.get_json()["errors"]


@pytest.mark.parametrize("body, completed", [({}, True), ({"completed": False}, False)])
def test_complete_task_sets_completed(fake_asana, asana_connection, run_action, body, completed):
    task = recorded("task")
    task["data"]["completed"] = completed
    fake_asana.put(f"{ASANA}/tasks/1207654321098765", json=task)
    r = run_action(asana_connection(), "complete_task", {"task_gid": "1207654321098765", **body})

    assert r.get_json()["output"]["completed"] is completed
    assert sent(fake_asana.calls[0]) == {"data": {"completed": completed}}


def test_get_task_reads_the_task(fake_asana, asana_connection, run_action):
    fake_asana.get(f"{ASANA}/tasks/1207654321098765", json=recorded("task"))
    r = run_action(asana_connection(), "get_task", {"task_gid": "1207654321098765"})
    assert r.get_json()["output"] == TASK_OUT


def test_add_comment_posts_a_story(fake_asana, asana_connection, run_action):
    fake_asana.post(f"{ASANA}/tasks/1207654321098765/stories", json=recorded("story"), status=201)
    r = run_action(asana_connection(), "add_comment", {"task_gid": "1207654321098765",
                                                       "text": "Called them; they want a demo."})

    assert r.get_json()["output"] == {
        "gid": "1207777777777777", "task_gid": "1207654321098765",
        "text": "Called them; they want a demo.", "is_pinned": False,
        "created_at": "2026-02-27T11:02:10.004Z",
        "created_by": {"gid": "1201234567890123", "name": "Greg Sanchez"}}
    assert sent(fake_asana.calls[0]) == {"data": {"text": "Called them; they want a demo."}}


def test_list_projects_follows_next_page_offsets(fake_asana, asana_connection, run_action):
    fake_asana.get(f"{ASANA}/projects", json=recorded("projects_page1"))
    fake_asana.get(f"{ASANA}/projects", json=recorded("projects_page2"))
    r = run_action(asana_connection(), "list_projects", {"workspace": "1200000000000001"})

    out = r.get_json()["output"]
    assert [p["name"] for p in out["projects"]] == ["Sales pipeline", "Onboarding",
                                                    "Website relaunch"]
    assert out["count"] == 3
    assert out["projects"][0] == {
        "gid": "1209876543210987", "name": "Sales pipeline", "archived": False,
        "permalink_url": "https://app.asana.com/0/1209876543210987/1209876543210987",
        "workspace": {"gid": "1200000000000001", "name": "Acme workspace"}}
    first, second = (query_of(c) for c in fake_asana.calls)
    assert first == {"workspace": "1200000000000001", "archived": "false", "limit": "100",
                     "opt_fields": "name,archived,permalink_url,workspace.name"}
    assert second == {**first, "offset": recorded("projects_page1")["next_page"]["offset"]}


def test_list_projects_stops_at_max_items_without_fetching_more(fake_asana, asana_connection,
                                                                 run_action):
    fake_asana.get(f"{ASANA}/projects", json=recorded("projects_page1"))
    r = run_action(asana_connection({"default_workspace": "1200000000000001"}), "list_projects",
                   {"max_items": 2})

    assert r.get_json()["output"]["count"] == 2
    assert len(fake_asana.calls) == 1
    assert query_of(fake_asana.calls[0])["limit"] == "2"
    assert query_of(fake_asana.calls[0])["workspace"] == "1200000000000001"


def test_list_tasks_asks_for_incomplete_tasks_of_the_default_project(fake_asana,
                                                                     asana_connection,
                                                                     run_action):
    fake_asana.get(f"{ASANA}/projects/1209876543210987/tasks",
                   json={"data": [recorded("task")["data"]], "next_page": None})
    r = run_action(asana_connection({"default_project": "1209876543210987"}), "list_tasks",
                   {"incomplete_only": True})

    assert r.get_json()["output"] == {"project": "1209876543210987", "tasks": [TASK_OUT],
                                      "count": 1}
    assert query_of(fake_asana.calls[0]) == {"completed_since": "now", "limit": "100",
                                             "opt_fields": TASK_FIELDS}


def test_list_tasks_without_a_project_names_the_field(fake_asana, asana_connection, run_action):
    r = run_action(asana_connection(), "list_tasks", {})
    assert r.status_code == 422
    assert "project" in r.get_json()["errors"]


def test_list_workspaces(fake_asana, asana_connection, run_action):
    fake_asana.get(f"{ASANA}/workspaces", json={"data": [
        {"gid": "1200000000000001", "resource_type": "workspace", "name": "Acme workspace",
         "is_organization": True}]})
    r = run_action(asana_connection(), "list_workspaces", {})
    assert r.get_json()["output"] == {"count": 1, "workspaces": [
        {"gid": "1200000000000001", "name": "Acme workspace", "is_organization": True}]}


def test_register_webhook_targets_this_connections_hook_url_and_hides_the_secret(
        fake_asana, asana_connection, run_action):
    conn = asana_connection()
    fake_asana.post(f"{ASANA}/webhooks", json=recorded("webhook_created"), status=201)
    r = run_action(conn, "register_webhook", {
        "resource": "1209876543210987",
        "filters": [{"resource_type": "task", "action": "changed", "fields": ["completed"]}]})

    assert r.status_code == 200, r.get_json()
    assert sent(fake_asana.calls[0]) == {"data": {
        "resource": "1209876543210987",
        "target": f"http://localhost/hooks/asana/{conn['id']}",
        "filters": [{"resource_type": "task", "action": "changed", "fields": ["completed"]}]}}
    out = r.get_json()["output"]
    assert out == {"gid": "1208888888888888", "active": True,
                   "target": "https://atom.example.com/hooks/asana/1",
                   "resource": {"gid": "1209876543210987", "resource_type": "project",
                                "name": "Sales pipeline"},
                   "created_at": "2026-02-27T12:00:00.000Z"}
    assert HOOK_SECRET not in json.dumps(r.get_json())


def test_register_webhook_with_a_target_given(fake_asana, asana_connection, run_action):
    fake_asana.post(f"{ASANA}/webhooks", json=recorded("webhook_created"), status=201)
    run_action(asana_connection(), "register_webhook", {
        "resource": "1209876543210987", "target": "https://atom.example.com/hooks/asana/1"})
    assert sent(fake_asana.calls[0])["data"]["target"] == "https://atom.example.com/hooks/asana/1"


def test_register_webhook_outside_a_request_needs_a_target(app, fake_asana):
    """A workflow run has no request to take ATOM's URL from (and SERVER_NAME is unset)."""
    with app.app_context():
        integ = get_state(app).runtime.build("asana", 7, "asana", {}, {"token": TOKEN})
        with pytest.raises(ValidationFailed) as info:
            integ.register_webhook({"resource": "1209876543210987"})
    assert "target" in info.value.details
    assert len(fake_asana.calls) == 0


def test_the_base_url_setting_points_the_plugin_elsewhere(fake_asana, asana_connection,
                                                          run_action):
    fake_asana.get("https://asana.internal.example/api/1.0/tasks/1207654321098765",
                   json=recorded("task"))
    r = run_action(asana_connection({"base_url": "https://asana.internal.example/api/1.0"}),
                   "get_task", {"task_gid": "1207654321098765"})
    assert r.status_code == 200
    assert fake_asana.calls[0].request.url.startswith("https://asana.internal.example/api/1.0/")
