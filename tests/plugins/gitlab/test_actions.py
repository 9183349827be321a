"""The GitLab actions against the stateful fake GitLab (``fake_gitlab.py``, after GitLab's REST
reference): what they send, what they return, paging, self-managed hosts and input checks."""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from atom.integrations.oauth_store import oauth_url
from atom.integrations.runtime import settings_schema
from plugins.gitlab.manifest import MANIFEST
from tests.plugins.gitlab.conftest import GITLAB
from tests.plugins.gitlab.conftest import PROJECT
from tests.plugins.gitlab.conftest import PROJECT_ID
from tests.plugins.gitlab.fake_gitlab import TOKEN
from tests.plugins.gitlab.fake_gitlab import FakeGitLab

ENCODED = "/projects/gitlab-org%2Fgitlab-test"


def test_every_action_runs_its_example_against_the_fake(fake_gitlab, gitlab_connection,
                                                        run_action):
    fake_gitlab.add_project("gitlab-org/gitlab-test-docs", 15)
    fake_gitlab.add_issue(PROJECT_ID, "Checkout fails")  # iid 1 ... 23 for update/note
    for n in range(22):
        fake_gitlab.add_issue(PROJECT_ID, f"issue {n}")
    fake_gitlab.add_merge_request(PROJECT_ID, "MS-Viewport")
    fake_gitlab.add_pipeline(PROJECT_ID, status="failed")
    conn = gitlab_connection()
    for action in MANIFEST.actions:
        r = run_action(conn, action.name, dict(action.example))
        assert r.status_code == 200, (action.name, r.get_json())
        errors = list(Draft202012Validator(dict(action.output)).iter_errors(r.get_json()["output"]))
        assert not errors, (action.name, errors[0].message)
    assert {r.path for r in fake_gitlab.requests} >= {
        f"{ENCODED}/issues", f"{ENCODED}/issues/23", f"{ENCODED}/issues/23/notes",
        f"{ENCODED}/merge_requests/1/notes", "/projects", f"{ENCODED}/merge_requests",
        f"{ENCODED}/pipelines", f"{ENCODED}/pipeline"}


def test_create_issue_sends_the_token_and_an_encoded_project_path(fake_gitlab,
                                                                  gitlab_connection,
                                                                  run_action):
    r = run_action(gitlab_connection(), "create_issue", {
        "project": PROJECT, "title": "Checkout fails for EU customers",
        "description": "Steps: ...", "labels": ["bug", "checkout"], "assignee_ids": [51],
        "due_date": "2024-06-30", "confidential": True, "issue_type": "incident"})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == {
        "id": 1001, "iid": 1, "project_id": PROJECT_ID, "title": "Checkout fails for EU customers",
        "description": "Steps: ...", "state": "opened", "labels": ["bug", "checkout"],
        "author": "root", "assignees": ["user51"],
        "web_url": "https://gitlab.com/gitlab-org/gitlab-test/-/issues/1",
        "due_date": "2024-06-30", "created_at": "2024-06-01T09:00:00.000Z",
        "updated_at": "2024-06-01T09:00:00.000Z", "closed_at": None}
    (call,) = fake_gitlab.requests
    assert (call.method, call.path) == ("POST", f"{ENCODED}/issues")
    assert call.headers["PRIVATE-TOKEN"] == TOKEN
    assert "Authorization" not in call.headers
    assert call.json == {"title": "Checkout fails for EU customers", "description": "Steps: ...",
                         "labels": "bug,checkout", "assignee_ids": [51],
                         "due_date": "2024-06-30", "confidential": True,
                         "issue_type": "incident"}


@pytest.mark.parametrize("project", [PROJECT_ID, str(PROJECT_ID), f"/{PROJECT}/"])
def test_a_project_is_named_by_id_or_path(fake_gitlab, gitlab_connection, run_action, project):
    r = run_action(gitlab_connection(), "create_issue", {"project": project, "title": "x"})
    assert r.status_code == 200, r.get_json()
    assert fake_gitlab.requests[0].path in (f"/projects/{PROJECT_ID}/issues", f"{ENCODED}/issues")


def test_nested_groups_are_encoded_as_one_segment(mocked, gitlab_connection, run_action):
    fake = FakeGitLab(GITLAB).register(mocked)
    fake.add_project("acme/platform/payments/api", 77)
    r = run_action(gitlab_connection(), "create_issue",
                   {"project": "acme/platform/payments/api", "title": "x"})
    assert r.status_code == 200
    assert fake.requests[0].path == "/projects/acme%2Fplatform%2Fpayments%2Fapi/issues"


@pytest.mark.parametrize("project", ["../../user", "gitlab-org", "gitlab-org/../admin",
                                     "gitlab-org/gitlab-test?private_token=x", "a b/c",
                                     "gitlab-org/gitlab-test.git", "gitlab-org//gitlab-test",
                                     "gitlab-org/gitlab-test#frag", "-1", True, 1.5, "",
                                     "gitlab-org/%2e%2e"])
def test_a_project_that_is_not_an_id_or_path_is_refused(fake_gitlab, gitlab_connection,
                                                        run_action, project):
    r = run_action(gitlab_connection(), "create_issue", {"project": project, "title": "x"})
    assert r.status_code == 422
    assert "project" in r.get_json()["errors"]
    assert fake_gitlab.requests == []


@pytest.mark.parametrize("body, field", [
    ({"project": PROJECT}, "title"),
    ({"project": PROJECT, "title": "x" * 256}, "title"),
    ({"project": PROJECT, "title": "x", "labels": ["a,b"]}, "labels"),
    ({"project": PROJECT, "title": "x", "due_date": "tomorrow"}, "due_date"),
    ({"project": PROJECT, "title": "x", "issue_type": "epic"}, "issue_type"),
    ({"project": PROJECT, "title": "x", "weight": 3}, "weight"),
])
def test_invalid_issue_input_is_refused_before_calling_gitlab(fake_gitlab, gitlab_connection,
                                                              run_action, body, field):
    r = run_action(gitlab_connection(), "create_issue", body)
    assert r.status_code == 422
    assert field in r.get_json()["errors"]
    assert fake_gitlab.requests == []


def test_update_issue_closes_and_labels(fake_gitlab, gitlab_connection, run_action):
    fake_gitlab.add_issue(PROJECT_ID, "Checkout fails", labels=["bug", "triage"])
    r = run_action(gitlab_connection(), "update_issue", {
        "project": PROJECT, "issue_iid": 1, "state_event": "close",
        "add_labels": ["resolved"], "remove_labels": ["triage"]})

    out = r.get_json()["output"]
    assert (out["state"], out["labels"], out["closed_at"]) == (
        "closed", ["bug", "resolved"], "2024-06-01T09:00:00.000Z")
    (call,) = fake_gitlab.requests
    assert (call.method, call.path) == ("PUT", f"{ENCODED}/issues/1")
    assert call.json == {"state_event": "close", "add_labels": "resolved",
                         "remove_labels": "triage"}


def test_an_update_without_changes_is_refused(fake_gitlab, gitlab_connection, run_action):
    r = run_action(gitlab_connection(), "update_issue", {"project": PROJECT, "issue_iid": 1})
    assert r.status_code == 422
    assert "state_event" in r.get_json()["errors"]


def test_issue_and_merge_request_notes(fake_gitlab, gitlab_connection, run_action):
    fake_gitlab.add_issue(PROJECT_ID, "Checkout fails")
    fake_gitlab.add_merge_request(PROJECT_ID, "Fix checkout")
    conn = gitlab_connection()
    issue_note = run_action(conn, "create_issue_note", {
        "project": PROJECT, "issue_iid": 1, "body": "Deployed in 1.4.2.", "internal": True})
    mr_note = run_action(conn, "create_merge_request_note", {
        "project": PROJECT_ID, "merge_request_iid": 1, "body": "LGTM"})

    assert issue_note.get_json()["output"] == {
        "id": 1003, "body": "Deployed in 1.4.2.", "author": "root", "noteable_type": "Issue",
        "noteable_iid": 1, "internal": True, "system": False,
        "created_at": "2024-06-01T09:00:00.000Z"}
    assert mr_note.get_json()["output"]["noteable_type"] == "MergeRequest"
    first, second = fake_gitlab.requests
    assert (first.path, first.json) == (f"{ENCODED}/issues/1/notes",
                                        {"body": "Deployed in 1.4.2.", "internal": True})
    assert (second.path, second.json) == (f"/projects/{PROJECT_ID}/merge_requests/1/notes",
                                          {"body": "LGTM", "internal": False})


def test_list_projects_follows_the_link_header_to_the_last_page(fake_gitlab, gitlab_connection,
                                                                run_action):
    for n in range(130):
        fake_gitlab.add_project(f"acme/service-{n:03d}", 2000 + n)
    fake_gitlab.add_project("other/not-mine", 5000, member=False)
    r = run_action(gitlab_connection(), "list_projects",
                   {"max_items": 500, "order_by": "id", "sort": "asc"})

    out = r.get_json()["output"]
    assert out["count"] == 131
    assert out["projects"][0] == {
        "id": PROJECT_ID, "name": "Gitlab Test", "path_with_namespace": PROJECT,
        "description": None, "default_branch": "main", "visibility": "private",
        "web_url": "https://gitlab.com/gitlab-org/gitlab-test", "archived": False,
        "last_activity_at": "2024-06-01T09:00:00.000Z"}
    first, second = fake_gitlab.requests
    assert first.query == {"membership": ["true"], "order_by": ["id"], "sort": ["asc"],
                           "simple": ["true"], "per_page": ["100"]}
    assert second.query["page"] == ["2"]


def test_list_projects_stops_at_max_items_without_fetching_more(fake_gitlab, gitlab_connection,
                                                                run_action):
    for n in range(30):
        fake_gitlab.add_project(f"acme/service-{n:03d}", 2000 + n)
    r = run_action(gitlab_connection(), "list_projects", {"max_items": 5, "search": "acme"})
    assert r.get_json()["output"]["count"] == 5
    (call,) = fake_gitlab.requests
    assert call.query["per_page"] == ["5"] and call.query["search"] == ["acme"]


def test_list_pipelines_filters_and_pages_by_x_next_page(fake_gitlab, gitlab_connection,
                                                         run_action):
    fake_gitlab.link_headers = False
    for status in ("success", "failed", "failed", "failed", "running"):
        fake_gitlab.add_pipeline(PROJECT_ID, ref="main", status=status)
    fake_gitlab.add_pipeline(PROJECT_ID, ref="develop", status="failed")
    r = run_action(gitlab_connection(), "list_pipelines", {
        "project": PROJECT, "ref": "main", "status": "failed", "max_items": 3,
        "updated_after": "2024-05-01T00:00:00+00:00", "sort": "desc"})

    out = r.get_json()["output"]
    assert out["project"] == PROJECT
    assert [p["status"] for p in out["pipelines"]] == ["failed"] * 3
    assert out["pipelines"][0]["web_url"].startswith("https://gitlab.com/gitlab-org/gitlab-test")
    (call,) = fake_gitlab.requests
    assert call.query == {"status": ["failed"], "ref": ["main"], "order_by": ["id"],
                          "sort": ["desc"], "updated_after": ["2024-05-01T00:00:00+00:00"],
                          "per_page": ["3"]}


def test_x_next_page_alone_is_enough_to_page(fake_gitlab, gitlab_connection, run_action):
    fake_gitlab.link_headers = False
    for n in range(250):
        fake_gitlab.add_pipeline(PROJECT_ID)
    r = run_action(gitlab_connection(), "list_pipelines", {"project": PROJECT,
                                                           "max_items": 250})
    assert r.get_json()["output"]["count"] == 250
    assert [c.query.get("page") for c in fake_gitlab.requests] == [None, ["2"], ["3"]]


def test_list_merge_requests(fake_gitlab, gitlab_connection, run_action):
    fake_gitlab.add_merge_request(PROJECT_ID, "Old", state="merged")
    fake_gitlab.add_merge_request(PROJECT_ID, "Fix checkout", labels=["bug"])
    r = run_action(gitlab_connection(), "list_merge_requests",
                   {"project": PROJECT, "labels": ["bug"], "target_branch": "main"})
    out = r.get_json()["output"]
    assert [m["title"] for m in out["merge_requests"]] == ["Fix checkout"]
    assert out["merge_requests"][0]["labels"] == ["bug"]
    assert fake_gitlab.requests[0].query == {"state": ["opened"], "labels": ["bug"],
                                             "target_branch": ["main"], "per_page": ["20"]}


def test_trigger_pipeline_sends_ref_and_variables(fake_gitlab, gitlab_connection, run_action):
    r = run_action(gitlab_connection(), "trigger_pipeline", {
        "project": PROJECT, "ref": "develop",
        "variables": {"DEPLOY_ENV": "staging", "DRY_RUN": True, "REPLICAS": 3},
        "inputs": {"environment": "staging"}})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["ref"], out["status"], out["source"]) == ("develop", "created", "api")
    (call,) = fake_gitlab.requests
    assert (call.method, call.path) == ("POST", f"{ENCODED}/pipeline")
    assert call.json == {"ref": "develop", "inputs": {"environment": "staging"}, "variables": [
        {"key": "DEPLOY_ENV", "value": "staging", "variable_type": "env_var"},
        {"key": "DRY_RUN", "value": "true", "variable_type": "env_var"},
        {"key": "REPLICAS", "value": "3", "variable_type": "env_var"}]}


def test_a_pipeline_for_an_unknown_ref_names_the_ref(fake_gitlab, gitlab_connection,
                                                     run_action):
    r = run_action(gitlab_connection(), "trigger_pipeline", {"project": PROJECT, "ref": "nope"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"ref": ["Reference not found"]}
    assert len(fake_gitlab.requests) == 1  # a refused create is not retried


@pytest.mark.parametrize("body, field", [
    ({"project": PROJECT}, "ref"),
    ({"project": PROJECT, "ref": "main branch"}, "ref"),
    ({"project": PROJECT, "ref": "main", "variables": {"1BAD": "x"}}, "variables"),
    ({"project": PROJECT, "ref": "main", "variables": {"OK": {"nested": 1}}}, "variables"),
])
def test_invalid_pipeline_input_is_refused(fake_gitlab, gitlab_connection, run_action, body,
                                           field):
    r = run_action(gitlab_connection(), "trigger_pipeline", body)
    assert r.status_code == 422
    assert field in r.get_json()["errors"]
    assert fake_gitlab.requests == []


# -- self-managed instances, OAuth and connections ---------------------------------------------


def test_a_self_managed_host_gets_every_request(mocked, gitlab_connection, run_action,
                                               check_connection):
    own = FakeGitLab("https://gitlab.example.com/api/v4").register(mocked)
    own.add_project(PROJECT, PROJECT_ID)
    conn = gitlab_connection({"host": "https://gitlab.example.com/"})

    assert conn["settings"]["host"] == "https://gitlab.example.com"
    assert check_connection(conn).get_json()["ok"] is True
    r = run_action(conn, "create_issue", {"project": PROJECT, "title": "On prem"})
    assert r.get_json()["output"]["web_url"].startswith("https://gitlab.example.com/")
    assert [c.path for c in own.requests] == ["/user", f"{ENCODED}/issues"]


def test_a_base_url_setting_wins_over_the_host(mocked, gitlab_connection, run_action):
    own = FakeGitLab("https://git.example.org/gitlab/api/v4").register(mocked)
    own.add_project(PROJECT, PROJECT_ID)
    conn = gitlab_connection({"host": "https://ignored.example.com",
                              "base_url": "https://git.example.org/gitlab/api/v4"})
    assert run_action(conn, "create_issue", {"project": PROJECT, "title": "x"}).status_code == 200
    assert len(own.requests) == 1


@pytest.mark.parametrize("host", ["gitlab.example.com", "ftp://gitlab.example.com",
                                  "https://gitlab.example.com/?x=1", "https://user:pw@gl.example",
                                  "https://"])
def test_a_host_that_is_not_an_http_url_is_refused(client, keys, host):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "gitlab", "label": "bad host", "settings": {"host": host},
        "credentials": {"token": TOKEN}})
    assert r.status_code == 422
    assert "host" in r.get_json()["errors"]["settings"]


@pytest.mark.parametrize("settings, authorize, token", [
    ({}, "https://gitlab.com/oauth/authorize", "https://gitlab.com/oauth/token"),
    ({"host": "https://gitlab.example.com/"}, "https://gitlab.example.com/oauth/authorize",
     "https://gitlab.example.com/oauth/token"),
])
def test_the_oauth_urls_are_filled_from_the_host_setting(app, settings, authorize, token):
    with app.app_context():
        loaded = settings_schema(MANIFEST).load(settings)
    oauth = MANIFEST.auth.oauth2
    assert oauth_url(oauth.authorize_url, loaded) == authorize
    assert oauth_url(oauth.token_url, loaded) == token
    assert oauth.scopes == ("api",) and oauth.rotating_refresh is True


def test_an_oauth_connection_sends_a_bearer_token(fake_gitlab, gitlab_connection, run_action):
    conn = gitlab_connection(token=None, access_token=TOKEN)
    r = run_action(conn, "create_issue", {"project": PROJECT, "title": "via OAuth"})
    assert r.status_code == 200
    (call,) = fake_gitlab.requests
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "PRIVATE-TOKEN" not in call.headers


def test_credentials_are_validated_and_masked(client, keys, gitlab_connection):
    conn = gitlab_connection()
    shown = json.dumps(client.get(f"/api/v2/connections/{conn['id']}",
                                  headers=keys["viewer"]).get_json())
    assert TOKEN not in shown
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "gitlab", "label": "no token", "credentials": {"webhook_token": "x"}})
    assert r.status_code == 422
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "gitlab", "label": "header injection",
        "credentials": {"token": "glpat-abc\r\nX-Evil: 1"}})
    assert r.status_code == 422


@pytest.mark.parametrize("alias", ["GitLab", "gitlab.com", "Self-hosted GitLab", "GitLab CI"])
def test_the_integration_is_found_by_its_aliases(client, keys, alias):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": alias, "label": "by alias", "credentials": {"token": TOKEN}})
    assert r.status_code == 201
    assert r.get_json()["integration"] == "gitlab"
