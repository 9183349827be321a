"""The Jira plugin through the REST API, with Jira Cloud's answers faked by ``responses``."""
from __future__ import annotations

import base64
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import responses

from tests.plugins.jira.conftest import API_TOKEN
from tests.plugins.jira.conftest import EMAIL

SITE = "https://acme.atlassian.net"
API = f"{SITE}/rest/api/3"
MYSELF = {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof", "active": True}
SPRINTT = "Field 'sprintt' does not exist or you do not have permission to view it."


@pytest.fixture
def jira_api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def health(client, keys, conn) -> dict:
    return client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def body(call) -> dict:
    return json.loads(call.request.body)


def test_the_site_setting_builds_the_base_url_and_basic_auth(client, keys, connect, jira_api):
    jira_api.get(f"{API}/myself", json=MYSELF)
    conn = connect(site="acme")
    r = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert r.get_json()["ok"] is True, r.get_json()
    [call] = jira_api.calls
    expected = base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"


@pytest.mark.parametrize("site", ["acme.atlassian.net", "https://acme.atlassian.net/", "ACME"])
def test_the_site_may_be_a_host_name_or_url(client, keys, connect, jira_api, site):
    jira_api.get(f"{API}/myself", json=MYSELF)
    conn = connect(site=site)
    r = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert r.get_json()["ok"] is True, r.get_json()


def test_base_url_overrides_the_site(client, keys, connect, jira_api):
    jira_api.get("https://jira-proxy.example.com/rest/api/3/myself", json=MYSELF)
    conn = connect(site="acme", base_url="https://jira-proxy.example.com")
    r = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert r.get_json()["ok"] is True, r.get_json()


def test_a_malformed_site_is_refused(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "jira", "label": "bad", "settings": {"site": "acme.atlassian.net/x?y=1"},
        "credentials": {"email": EMAIL, "api_token": API_TOKEN}})
    assert r.status_code == 422
    assert "site" in r.get_json()["errors"]["settings"]


def test_refused_credentials_mark_the_connection_for_reauth(client, keys, connect, jira_api):
    jira_api.get(f"{API}/myself", status=401,
                 body="Client must be authenticated to access this resource.")
    conn = connect(site="acme", max_attempts=3)
    result = health(client, keys, conn)
    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert len(jira_api.calls) == 1
    got = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["editor"]).get_json()
    assert got["status"] == "needs_reauth"


def test_create_issue_sends_fields_with_an_adf_description(connect, run, jira_api):
    jira_api.post(f"{API}/issue", status=201,
                  json={"id": "10002", "key": "ED-24", "self": f"{API}/issue/10002"})
    status, out = run(connect(site="acme"), "create_issue", {
        "project_key": "ED", "summary": "Checkout fails", "issue_type": "Bug",
        "description": "Steps:\n1. Pay\n\nExpected: receipt", "labels": ["checkout"],
        "priority": "High", "assignee_account_id": "5b10a2844c20165700ede21g"})
    assert status == 200, out
    assert out["output"] == {"id": "10002", "key": "ED-24", "self": f"{API}/issue/10002"}
    assert body(jira_api.calls[0]) == {"fields": {
        "project": {"key": "ED"},
        "summary": "Checkout fails",
        "issuetype": {"name": "Bug"},
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Steps:"},
                                              {"type": "hardBreak"},
                                              {"type": "text", "text": "1. Pay"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "Expected: receipt"}]},
        ]},
        "labels": ["checkout"],
        "priority": {"name": "High"},
        "assignee": {"accountId": "5b10a2844c20165700ede21g"},
    }}


def test_create_issue_defaults_to_a_task_and_omits_empty_fields(connect, run, jira_api):
    jira_api.post(f"{API}/issue", status=201, json={"id": "10003", "key": "ED-25"})
    status, out = run(connect(site="acme"), "create_issue",
                      {"project_key": "ED", "summary": "Tidy"})
    assert status == 200, out
    assert body(jira_api.calls[0]) == {"fields": {"project": {"key": "ED"}, "summary": "Tidy",
                                                  "issuetype": {"name": "Task"}}}


def test_a_jira_400_names_the_bad_fields(connect, run, jira_api):
    jira_api.post(f"{API}/issue", status=400, json={
        "errorMessages": [], "errors": {"summary": "You must specify a summary of the issue.",
                                        "issuetype": "Specify a valid issue type"}})
    status, out = run(connect(site="acme", max_attempts=3), "create_issue",
                      {"project_key": "ED", "summary": "x", "issue_type": "Nope"})
    assert status == 422
    assert out["code"] == "validation"
    assert out["upstream_status"] == 400
    assert out["errors"] == {"summary": ["You must specify a summary of the issue."],
                             "issuetype": ["Specify a valid issue type"]}
    assert "Specify a valid issue type" in out["message"]
    assert len(jira_api.calls) == 1


def test_a_jira_400_with_only_error_messages(connect, run, jira_api):
    jira_api.get(f"{API}/search/jql", status=400, json={
        "errorMessages": [SPRINTT], "errors": {}})
    status, out = run(connect(site="acme"), "search_issues", {"jql": "sprintt = 1"})
    assert (status, out["code"]) == (422, "validation")
    assert out["errors"] == {"_schema": [SPRINTT]}


def test_a_missing_issue_is_a_permanent_upstream_error(connect, run, jira_api):
    jira_api.get(f"{API}/issue/ED-999", status=404, json={
        "errorMessages": ["Issue does not exist or you do not have permission to see it."],
        "errors": {}})
    status, out = run(connect(site="acme", max_attempts=3), "get_issue", {"issue_key": "ED-999"})
    assert status == 502
    assert out["code"] == "upstream"
    assert out["upstream_status"] == 404
    assert "Issue does not exist" in out["message"]
    assert len(jira_api.calls) == 1


def test_an_issue_key_cannot_escape_the_path(connect, run, jira_api):
    status, out = run(connect(site="acme"), "get_issue", {"issue_key": "../../admin"})
    assert status == 422
    assert "issue_key" in out["errors"]
    assert len(jira_api.calls) == 0


def test_get_issue_flattens_status_assignee_and_description(connect, run, jira_api):
    jira_api.get(f"{API}/issue/ED-24", json={
        "id": "10002", "key": "ED-24", "self": f"{API}/issue/10002",
        "fields": {"summary": "Checkout fails", "status": {"name": "In Progress"},
                   "assignee": {"accountId": "abc", "displayName": "Mia Krystof"},
                   "description": {"type": "doc", "version": 1, "content": [
                       {"type": "paragraph", "content": [{"type": "text", "text": "One"},
                                                         {"type": "hardBreak"},
                                                         {"type": "text", "text": "two"}]},
                       {"type": "paragraph", "content": [{"type": "text", "text": "Three"}]}]}}})
    status, out = run(connect(site="acme"), "get_issue",
                      {"issue_key": "ED-24",
                       "fields": ["summary", "status", "assignee", "description"]})
    assert status == 200, out
    got = out["output"]
    assert (got["key"], got["summary"], got["status"], got["assignee"]) == (
        "ED-24", "Checkout fails", "In Progress", "Mia Krystof")
    assert got["description"] == "One\ntwo\n\nThree"
    assert query(jira_api.calls[0]) == {"fields": ["summary,status,assignee,description"]}


def test_transition_sends_the_id_as_a_string_with_an_optional_comment(connect, run, jira_api):
    jira_api.post(f"{API}/issue/ED-24/transitions", status=204)
    status, out = run(connect(site="acme"), "transition_issue",
                      {"issue_key": "ED-24", "transition_id": "31", "comment": "Done"})
    assert status == 200, out
    assert body(jira_api.calls[0]) == {
        "transition": {"id": "31"},
        "update": {"comment": [{"add": {"body": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Done"}]}]}}}]}}


def test_assign_issue_puts_the_account_id(connect, run, jira_api):
    jira_api.put(f"{API}/issue/ED-24/assignee", status=204)
    status, out = run(connect(site="acme"), "assign_issue",
                      {"issue_key": "ED-24", "account_id": "5b10a2844c20165700ede21g"})
    assert status == 200, out
    assert body(jira_api.calls[0]) == {"accountId": "5b10a2844c20165700ede21g"}


def _issues(*keys: str) -> list[dict]:
    return [{"id": str(10000 + i), "key": k, "fields": {"summary": f"Issue {k}"}}
            for i, k in enumerate(keys)]


def test_search_follows_next_page_token_to_the_last_page(connect, run, jira_api):
    search = f"{API}/search/jql"
    jira_api.get(search, json={"issues": _issues("ED-1", "ED-2"), "nextPageToken": "tok-2",
                               "isLast": False})
    jira_api.get(search, json={"issues": _issues("ED-3", "ED-4"), "nextPageToken": "tok-3",
                               "isLast": False})
    jira_api.get(search, json={"issues": _issues("ED-5"), "isLast": True})
    status, out = run(connect(site="acme"), "search_issues",
                      {"jql": "project = ED", "fields": ["summary"]})
    assert status == 200, out
    assert [i["key"] for i in out["output"]["issues"]] == ["ED-1", "ED-2", "ED-3", "ED-4", "ED-5"]
    assert out["output"]["count"] == 5
    pages = [query(c) for c in jira_api.calls]
    assert [p.get("nextPageToken") for p in pages] == [None, ["tok-2"], ["tok-3"]]
    assert all(p["jql"] == ["project = ED"] and p["fields"] == ["summary"] for p in pages)
    assert pages[0]["maxResults"] == ["50"]


def test_search_stops_at_max_results(connect, run, jira_api):
    search = f"{API}/search/jql"
    jira_api.get(search, json={"issues": _issues("ED-1", "ED-2"), "nextPageToken": "tok-2"})
    jira_api.get(search, json={"issues": _issues("ED-3", "ED-4"), "nextPageToken": "tok-3"})
    status, out = run(connect(site="acme"), "search_issues",
                      {"jql": "project = ED", "max_results": 3})
    assert status == 200, out
    assert [i["key"] for i in out["output"]["issues"]] == ["ED-1", "ED-2", "ED-3"]
    assert len(jira_api.calls) == 2
    assert query(jira_api.calls[0])["maxResults"] == ["3"]


# -- rate limits and transient errors ---------------------------------------------------------

def test_a_429_reports_retry_after_and_the_reason(client, keys, connect, jira_api):
    jira_api.get(f"{API}/issue/ED-1", status=429, json={"errorMessages": ["Rate limit exceeded."]},
                 headers={"Retry-After": "5", "X-RateLimit-Limit": "100",
                          "X-RateLimit-Remaining": "0", "RateLimit-Reason": "jira-burst-based"})
    conn = connect(site="acme")
    r = client.post(f"/api/v2/connections/{conn['id']}/actions/get_issue", headers=keys["editor"],
                    json={"issue_key": "ED-1"})
    assert r.status_code == 429
    out = r.get_json()
    assert (out["code"], out["retry_after"], out["upstream_status"]) == ("rate_limited", 5.0, 429)
    assert "jira-burst-based" in out["message"]
    assert r.headers["Retry-After"] == "5"


def test_a_429_without_retry_after_uses_the_iso_reset(connect, run, jira_api):
    reset = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    jira_api.get(f"{API}/issue/ED-1", status=429, json={"errorMessages": ["Rate limit exceeded."]},
                 headers={"X-RateLimit-Reset": reset})
    status, out = run(connect(site="acme"), "get_issue", {"issue_key": "ED-1"})
    assert (status, out["code"]) == (429, "rate_limited")
    assert 25 <= out["retry_after"] <= 30


def test_rate_limited_after_the_retries_run_out(connect, run, jira_api):
    jira_api.post(f"{API}/issue/ED-1/comment", status=429, headers={"Retry-After": "0.05"},
                  json={"errorMessages": ["Rate limit exceeded."]})
    status, out = run(connect(site="acme", max_attempts=2), "add_comment",
                      {"issue_key": "ED-1", "body": "hi"})
    assert (status, out["code"]) == (429, "rate_limited")
    # A 429 means Jira did nothing, so even a POST is retried.
    assert len(jira_api.calls) == 2


def test_a_429_then_success_is_retried(connect, run, jira_api):
    jira_api.post(f"{API}/issue/ED-1/comment", status=429, headers={"Retry-After": "0.05"})
    jira_api.post(f"{API}/issue/ED-1/comment", status=201,
                  json={"id": "10050", "self": f"{API}/issue/10001/comment/10050",
                        "created": "2024-06-12T10:20:00.000+0000"})
    status, out = run(connect(site="acme", max_attempts=2), "add_comment",
                      {"issue_key": "ED-1", "body": "hi"})
    assert status == 200, out
    assert (out["attempts"], out["output"]["id"]) == (2, "10050")


def test_a_503_with_retry_after_is_transient_and_honoured_on_reads(connect, run, jira_api):
    jira_api.get(f"{API}/issue/ED-1", status=503, headers={"Retry-After": "0.2"},
                 json={"errorMessages": ["Service unavailable"]})
    jira_api.get(f"{API}/issue/ED-1", json={"id": "1", "key": "ED-1", "fields": {}})
    status, out = run(connect(site="acme", max_attempts=2), "get_issue", {"issue_key": "ED-1"})
    assert status == 200, out
    assert out["attempts"] == 2
    assert out["duration_ms"] >= 200


def test_a_503_on_create_is_not_retried_but_reports_retry_after(connect, run, jira_api):
    jira_api.post(f"{API}/issue", status=503, headers={"Retry-After": "7"},
                  json={"errorMessages": ["Service unavailable"]})
    status, out = run(connect(site="acme", max_attempts=3), "create_issue",
                      {"project_key": "ED", "summary": "x"})
    assert status == 502
    assert (out["code"], out["upstream_status"], out["retry_after"]) == ("upstream", 503, 7.0)
    assert len(jira_api.calls) == 1


def test_the_catalogue_describes_the_plugin(client, keys):
    r = client.get("/api/v2/integrations/jira", headers=keys["viewer"])
    assert r.status_code == 200
    info = r.get_json()
    assert info["auth"]["kind"] == "basic"
    assert (info["auth"]["username"], info["auth"]["password"]) == ("email", "api_token")
    assert info["auth"]["secret_fields"] == ["access_token", "api_token", "refresh_token",
                                             "webhook_secret"]
    assert info["auth"]["oauth2"]["rotating_refresh"] is True
    assert info["webhook"] == {"scheme": "jira_sha256"}
    assert "site" in info["settings_schema"]["properties"]
    assert {a["name"] for a in info["actions"] if a["read_only"]} == {
        "get_issue", "list_transitions", "search_issues"}
    assert "fields" in next(a for a in info["actions"]
                            if a["name"] == "search_issues")["input_schema"]["properties"]
    assert client.get("/api/v2/integrations/atlassian jira",
                      headers=keys["viewer"]).get_json()["name"] == "jira"


def test_a_connection_needs_a_site_or_a_base_url(client, keys):
    response = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "jira", "label": "no site",
        "credentials": {"email": "bot@example.com", "api_token": "tok-123456"}})
    assert response.status_code == 422
    assert "site" in response.get_json()["errors"]["settings"]
