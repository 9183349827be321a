"""What the Linear actions send and return, against the graphql-core fake of Linear's API
(every document and its variables are checked against Linear's schema as they are sent)."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from plugins.linear.manifest import MANIFEST
from tests.plugins.linear.conftest import API_KEY
from tests.plugins.linear.fake_linear import BUG
from tests.plugins.linear.fake_linear import DONE
from tests.plugins.linear.fake_linear import IN_PROGRESS
from tests.plugins.linear.fake_linear import ISSUE
from tests.plugins.linear.fake_linear import TEAM
from tests.plugins.linear.fake_linear import VIEWER

OPS = "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize("action", [a.name for a in MANIFEST.actions])
def test_every_example_runs_and_fits_its_output_schema(fake_linear, linear_connection,
                                                       run_action, action):
    spec = MANIFEST.action(action)
    r = run_action(linear_connection(), action, dict(spec.example))
    assert r.status_code == 200, r.get_json()
    errors = list(Draft202012Validator(dict(spec.output)).iter_errors(r.get_json()["output"]))
    assert not errors, errors[0].message


def test_create_issue_sends_linear_s_input_fields(fake_linear, linear_connection, run_action):
    r = run_action(linear_connection(), "create_issue", {
        "team_id": TEAM, "title": "Login loops", "description": "**Steps**", "priority": "urgent",
        "label_ids": [BUG], "assignee_id": VIEWER, "due_date": "2025-07-01"})

    assert r.status_code == 200, r.get_json()
    (sent,) = fake_linear.sent("CreateIssue")
    assert sent["variables"] == {"input": {
        "teamId": TEAM, "title": "Login loops", "description": "**Steps**", "priority": 1,
        "labelIds": [BUG], "assigneeId": VIEWER, "dueDate": "2025-07-01"}}
    out = r.get_json()["output"]
    assert out["identifier"].startswith("ENG-")
    assert (out["title"], out["priority"], out["priority_label"]) == ("Login loops", 1, "Urgent")
    assert out["team"] == {"id": TEAM, "key": "ENG", "name": "Engineering"}
    assert out["state"] == {"id": "6d1c9e5b-0f43-4a5e-9a9c-1b8f3a7e2d10", "name": "Todo",
                            "type": "unstarted"}
    assert out["assignee"] == {"id": VIEWER, "name": "Grace Hopper",
                               "email": "grace@linear.example"}
    assert out["labels"] == [{"id": BUG, "name": "Bug"}]


def test_the_api_key_goes_in_authorization_as_it_is(fake_linear, linear_connection,
                                                    run_action):
    run_action(linear_connection(), "get_issue", {"id": "ENG-1778"})
    assert fake_linear.requests[0]["headers"]["Authorization"] == API_KEY


def test_an_oauth_token_goes_as_bearer(fake_linear, create_connection, run_action):
    conn = create_connection("linear", {}, {"access_token": "lin_oauth_0123456789abcdef"})
    run_action(conn, "get_issue", {"id": "ENG-1778"})
    assert fake_linear.requests[0]["headers"]["Authorization"] == \
        "Bearer lin_oauth_0123456789abcdef"


def test_update_issue_moves_the_issue_and_changes_only_what_is_given(fake_linear,
                                                                    linear_connection,
                                                                    run_action):
    r = run_action(linear_connection(), "update_issue",
                   {"id": "ENG-1778", "state_id": IN_PROGRESS, "assignee_id": None})

    assert r.status_code == 200, r.get_json()
    assert fake_linear.sent("UpdateIssue")[0]["variables"] == {
        "id": "ENG-1778", "input": {"stateId": IN_PROGRESS, "assigneeId": None}}
    out = r.get_json()["output"]
    assert out["state"]["name"] == "In Progress"
    assert out["assignee"] is None  # null unassigns
    assert out["labels"] == [{"id": BUG, "name": "Bug"}]  # untouched


def test_update_issue_adds_and_removes_labels(fake_linear, linear_connection, run_action):
    r = run_action(linear_connection(), "update_issue",
                   {"id": ISSUE, "removed_label_ids": [BUG]})
    assert r.get_json()["output"]["labels"] == []
    assert fake_linear.sent("UpdateIssue")[0]["variables"]["input"] == {"removedLabelIds": [BUG]}


def test_add_comment_on_an_issue_by_identifier(fake_linear, linear_connection, run_action):
    r = run_action(linear_connection(), "add_comment",
                   {"issue_id": "ENG-1778", "body": "Reproduced on staging."})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["issue_id"], out["issue_identifier"]) == (ISSUE, "ENG-1778")
    assert out["body"] == "Reproduced on staging."
    assert out["user"] == {"id": VIEWER, "name": "Grace Hopper"}
    assert fake_linear.sent("AddComment")[0]["variables"] == {
        "input": {"issueId": "ENG-1778", "body": "Reproduced on staging."}}


def test_list_issues_builds_the_filter_and_follows_end_cursor(fake_linear, linear_connection,
                                                              run_action):
    for n in range(5):
        fake_linear.add_issue(f"Started {n}", stateId=IN_PROGRESS,
                              updatedAt=f"2025-06-0{n + 1}T00:00:00.000Z")
    fake_linear.add_issue("Elsewhere", team=OPS, stateId=IN_PROGRESS)
    fake_linear.add_issue("Done already", stateId=DONE)
    r = run_action(linear_connection(), "list_issues", {
        "team_key": "eng", "state_types": ["started"], "page_size": 2, "max_items": 10})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert [i["title"] for i in out["issues"]] == [f"Started {n}" for n in (4, 3, 2, 1, 0)]
    pages = fake_linear.sent("ListIssues")
    assert [p["variables"].get("after") for p in pages] == [None, "c:2", "c:4"]
    assert pages[0]["variables"] == {
        "filter": {"team": {"key": {"eqIgnoreCase": "eng"}},
                   "state": {"type": {"in": ["started"]}}},
        "orderBy": "updatedAt", "first": 2}


def test_list_issues_stops_at_max_items_without_fetching_more(fake_linear, linear_connection,
                                                              run_action):
    for n in range(4):
        fake_linear.add_issue(f"Issue {n}")
    r = run_action(linear_connection(), "list_issues", {"max_items": 3, "page_size": 3})
    assert r.get_json()["output"]["count"] == 3
    assert len(fake_linear.requests) == 1


@pytest.mark.parametrize("given, expected", [
    ({"assigned_to_me": True}, {"assignee": {"isMe": {"eq": True}}}),
    ({"assignee_id": VIEWER}, {"assignee": {"id": {"eq": VIEWER}}}),
    ({"label_name": "bug"}, {"labels": {"some": {"name": {"eqIgnoreCase": "bug"}}}}),
    ({"priorities": ["high", 1]}, {"priority": {"in": [2, 1]}}),
    ({"title_contains": "checkout"}, {"title": {"containsIgnoreCase": "checkout"}}),
    ({"updated_after": "2025-05-01T00:00:00Z"}, {"updatedAt": {"gt": "2025-05-01T00:00:00Z"}}),
    ({"team_id": TEAM, "state_name": "todo"},
     {"team": {"id": {"eq": TEAM}}, "state": {"name": {"eqIgnoreCase": "todo"}}}),
])
def test_list_issues_filters(fake_linear, linear_connection, run_action, given, expected):
    r = run_action(linear_connection(), "list_issues", given)
    assert r.status_code == 200, r.get_json()
    assert fake_linear.sent("ListIssues")[0]["variables"]["filter"] == expected
    assert [i["identifier"] for i in r.get_json()["output"]["issues"]] == ["ENG-1778"]


def test_search_issues(fake_linear, linear_connection, run_action):
    fake_linear.add_issue("Unrelated")
    r = run_action(linear_connection(), "search_issues", {"term": "checkout", "team_id": TEAM})
    assert [i["identifier"] for i in r.get_json()["output"]["issues"]] == ["ENG-1778"]
    assert fake_linear.sent("SearchIssues")[0]["variables"] == {
        "term": "checkout", "teamId": TEAM, "first": 25}


def test_list_teams(fake_linear, linear_connection, run_action):
    out = run_action(linear_connection(), "list_teams", {}).get_json()["output"]
    assert out["count"] == 2
    assert out["teams"][0] == {"id": TEAM, "key": "ENG", "name": "Engineering",
                               "description": "Product engineering", "private": False}


def test_list_workflow_states_of_a_team(fake_linear, linear_connection, run_action):
    out = run_action(linear_connection(), "list_workflow_states",
                     {"team_id": TEAM}).get_json()["output"]
    assert [s["name"] for s in out["states"]] == ["Todo", "In Progress", "Done"]
    assert out["states"][1] == {"id": IN_PROGRESS, "name": "In Progress", "type": "started",
                                "color": "#f2c94c", "position": 2.0, "team_id": TEAM,
                                "team_key": "ENG"}
    assert fake_linear.sent("ListWorkflowStates")[0]["variables"]["filter"] == {
        "team": {"id": {"eq": TEAM}}}


@pytest.mark.parametrize("action, body, field", [
    ("create_issue", {"team_id": "11111111-2222-4333-8444-000000000000", "title": "x"},
     "team_id"),
    ("create_issue", {"team_id": TEAM, "title": "x", "label_ids":
                      ["11111111-2222-4333-8444-000000000000"]}, "label_ids"),
    ("update_issue", {"id": "ENG-9999", "title": "x"}, "id"),
    ("update_issue", {"id": ISSUE, "state_id": "11111111-2222-4333-8444-000000000000"},
     "state_id"),
    ("add_comment", {"issue_id": "ENG-9999", "body": "x"}, "issue_id"),
    ("get_issue", {"id": "ENG-9999"}, "id"),
])
def test_what_linear_cannot_find_names_the_field(fake_linear, linear_connection, run_action,
                                                 action, body, field):
    r = run_action(linear_connection(), action, body)
    assert r.status_code == 422, r.get_json()
    assert list(r.get_json()["errors"]) == [field]


@pytest.mark.parametrize("action, body, field", [
    ("create_issue", {"title": "x"}, "team_id"),
    ("create_issue", {"team_id": "ENG", "title": "x"}, "team_id"),
    ("create_issue", {"team_id": TEAM}, "title"),
    ("create_issue", {"team_id": TEAM, "title": "x" * 256}, "title"),
    ("create_issue", {"team_id": TEAM, "title": "x", "priority": 5}, "priority"),
    ("create_issue", {"team_id": TEAM, "title": "x", "priority": "asap"}, "priority"),
    ("create_issue", {"team_id": TEAM, "title": "x", "label_ids": ["bug"]}, "label_ids"),
    ("create_issue", {"team_id": TEAM, "title": "x", "due_date": "next week"}, "due_date"),
    ("create_issue", {"team_id": TEAM, "title": "x", "teamId": TEAM}, "teamId"),
    ("update_issue", {"id": "ENG-1778"}, "_schema"),
    ("update_issue", {"id": "../issues", "title": "x"}, "id"),
    ("update_issue", {"id": "ENG-1778", "label_ids": [BUG], "added_label_ids": [BUG]},
     "label_ids"),
    ("add_comment", {"issue_id": "ENG-1778", "body": ""}, "body"),
    ("get_issue", {"id": "ENG 1778"}, "id"),
    ("list_issues", {"state_types": ["open"]}, "state_types"),
    ("list_issues", {"updated_after": "yesterday"}, "updated_after"),
    ("list_issues", {"page_size": 251}, "page_size"),
    ("search_issues", {}, "term"),
])
def test_invalid_input_is_refused_before_calling_linear(fake_linear, linear_connection,
                                                        run_action, action, body, field):
    r = run_action(linear_connection(), action, body)
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert field in r.get_json()["errors"]
    assert fake_linear.requests == []


def test_the_base_url_setting_points_the_plugin_elsewhere(http, linear_connection, run_action):
    from tests.plugins.linear.fake_linear import FakeLinear

    fake = FakeLinear()
    fake.serve(http, "https://linear.internal.example/graphql")
    r = run_action(linear_connection({"base_url": "https://linear.internal.example"}),
                   "get_issue", {"id": "ENG-1778"})
    assert r.status_code == 200, r.get_json()
    assert len(fake.requests) == 1


def test_credentials_are_validated_and_masked(client, keys, linear_connection):
    conn = linear_connection()
    assert conn["credentials"]["api_key"] != API_KEY
    assert conn["credentials"]["webhook_secret"].startswith("****")
    for credentials in ({"api_key": "lin_wh_pasted-the-webhook-secret"}, {}):
        r = client.post("/api/v2/connections", headers=keys["editor"], json={
            "integration": "linear", "label": "bad", "credentials": credentials})
        assert r.status_code == 422
        assert "credentials" in r.get_json()["errors"]


@pytest.mark.parametrize("alias", ["Linear", "linear app", "Linear Issue", "linear ticket"])
def test_the_integration_is_found_by_its_aliases(client, keys, alias):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": alias, "label": "by alias", "credentials": {"api_key": API_KEY}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["integration"] == "linear"
