"""Workday through the API against the documented fake tenant: the refresh-token grant before
the first call, workers paged with limit/offset/total, RaaS reports with prompts, errors."""
from __future__ import annotations

import base64
import json

import pytest

from tests.plugins.workday.fake import CLIENT_ID
from tests.plugins.workday.fake import CLIENT_SECRET
from tests.plugins.workday.fake import LOGAN
from tests.plugins.workday.fake import REFRESH

WORKERS = "/ccx/api/v1/acme/workers"
TOKEN_PATH = "/ccx/oauth2/acme/token"


def test_the_first_call_fetches_an_access_token_with_the_refresh_token(client, keys, connect, wd):
    conn = connect()
    body = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()
    assert body["ok"] is True, body
    token, read = wd.requests
    assert (token.method, token.path) == ("POST", TOKEN_PATH)
    assert token.form == {"grant_type": "refresh_token", "refresh_token": REFRESH}
    assert token.headers["authorization"] == "Basic " + base64.b64encode(
        f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert (read.path, read.query) == (WORKERS, {"limit": ["1"]})
    assert read.headers["authorization"][7:] in wd.tokens


def test_the_access_token_is_reused_then_refreshed_when_it_expires(connect, run, wd, live, app):
    conn = connect()
    run(conn, "get_worker", {"worker_id": LOGAN})
    run(conn, "get_worker", {"worker_id": LOGAN})
    assert len(wd.calls("POST", TOKEN_PATH)) == 1
    wd.tokens.clear()  # the tenant let it expire
    status, body = run(conn, "get_worker", {"worker_id": LOGAN})
    assert status == 200, body
    assert len(wd.calls("POST", TOKEN_PATH)) == 2


def test_a_revoked_refresh_token_marks_the_connection(client, keys, connect, run, wd):
    conn = connect(refresh="revoked-token")
    status, body = run(conn, "get_worker", {"worker_id": LOGAN})
    assert body["code"] == "auth" and "invalid_grant" in body["message"]
    assert client.get(f"/api/v2/connections/{conn['id']}",
                      headers=keys["editor"]).get_json()["status"] == "needs_reauth"
    assert wd.api_calls() == []


def test_get_worker_answers_the_worker(connect, run, wd):
    status, body = run(connect(), "get_worker", {"worker_id": LOGAN})
    assert status == 200, body
    out = body["output"]
    assert (out["id"], out["descriptor"], out["isManager"]) == (LOGAN, "Logan McNeil", True)
    assert wd.api_calls()[0].path == f"{WORKERS}/{LOGAN}"


@pytest.mark.parametrize("bad", ["../../oauth2/acme/token", "1" * 31, "Employee_ID=1/2"])
def test_worker_ids_are_checked_before_anything_is_sent(connect, run, wd, bad):
    status, body = run(connect(), "get_worker", {"worker_id": bad})
    assert status == 422 and "worker_id" in body["errors"]
    assert wd.requests == []


def test_an_unknown_worker_names_the_field(connect, run, wd):
    status, body = run(connect(), "get_worker", {"worker_id": "0" * 32})
    assert (status, body["upstream_status"]) == (422, 404)
    assert list(body["errors"]) == ["worker_id"]


def test_list_workers_pages_with_limit_and_offset_until_the_total(connect, run, wd):
    for n in range(7):
        wd.add_worker(f"Worker {n}")
    status, body = run(connect(), "list_workers", {"page_size": 4, "max_items": 100})
    assert status == 200, body
    out = body["output"]
    assert (out["count"], out["total"]) == (9, 9)
    pages = [(c.query["limit"], c.query["offset"]) for c in wd.api_calls()]
    assert pages == [(["4"], ["0"]), (["4"], ["4"]), (["4"], ["8"])]


def test_list_workers_stops_at_max_items_and_passes_search(connect, run, wd):
    for n in range(7):
        wd.add_worker(f"Worker {n}")
    status, body = run(connect(), "list_workers", {"page_size": 4, "max_items": 5,
                                                   "search": "worker"})
    out = body["output"]
    assert (out["count"], out["total"]) == (5, 7)
    assert [c.query["limit"] for c in wd.api_calls()] == [["4"], ["1"]]
    assert wd.api_calls()[0].query["search"] == ["worker"]


def test_list_organizations_pages_the_supervisory_organizations(connect, run, wd):
    wd.organizations.append({"id": "f" * 32, "descriptor": "Engineering"})
    wd.organizations.append({"id": "e" * 32, "descriptor": "Finance"})
    status, body = run(connect(), "list_organizations", {"page_size": 2})
    assert status == 200, body
    out = body["output"]
    assert (out["count"], out["total"]) == (3, 3)
    assert [o["descriptor"] for o in out["organizations"]] == [
        "Human Resources", "Engineering", "Finance"]
    assert out["organizations"][1]["href"].endswith("/supervisoryOrganizations/" + "f" * 32)
    calls = wd.api_calls()
    assert {c.path for c in calls} == {"/ccx/api/v1/acme/supervisoryOrganizations"}
    assert [(c.query["limit"], c.query["offset"]) for c in calls] == [(["2"], ["0"]),
                                                                       (["2"], ["2"])]


def test_list_organizations_stops_at_max_items_and_checks_its_input(connect, run, wd):
    wd.organizations.append({"id": "f" * 32, "descriptor": "Engineering"})
    status, body = run(connect(), "list_organizations", {"max_items": 1})
    assert status == 200, body
    assert (body["output"]["count"], body["output"]["total"]) == (1, 2)
    assert [c.query["limit"] for c in wd.api_calls()] == [["1"]]
    before = len(wd.requests)
    status, body = run(connect(), "list_organizations", {"page_size": 101})
    assert status == 422 and "page_size" in body["errors"], body
    assert len(wd.requests) == before


def test_run_report_sends_prompts_and_asks_for_json(connect, run, wd):
    wd.hire("21002", "Teresa Serrano", "2026-04-10")
    status, body = run(connect(), "run_report", {
        "owner": "lmcneil", "report": "New_Hires",
        "prompts": {"Start_Date": "2026-03-01", "End_Date": "2026-03-31"}})
    assert status == 200, body
    assert body["output"]["count"] == 1 and body["output"]["truncated"] is False
    assert body["output"]["rows"][0]["Employee_ID"] == "21001"
    [call] = wd.api_calls()
    assert call.path == "/ccx/service/customreport2/acme/lmcneil/New_Hires"
    assert call.query == {"Start_Date": ["2026-03-01"], "End_Date": ["2026-03-31"],
                          "format": ["json"]}


def test_report_errors_name_the_report_or_the_prompts(connect, run, wd):
    conn = connect()
    status, body = run(conn, "run_report", {"owner": "lmcneil", "report": "Nope"})
    assert status == 422 and list(body["errors"]) == ["report"]
    status, body = run(conn, "run_report", {"owner": "lmcneil", "report": "Headcount",
                                            "prompts": {"Region": "EMEA"}})
    assert status == 422 and list(body["errors"]) == ["prompts"]
    assert "Invalid prompt: Region" in body["errors"]["prompts"][0]


def test_a_refused_page_size_names_our_input_field(connect, run, wd):
    conn = connect()
    run(conn, "get_worker", {"worker_id": LOGAN})  # the token first
    wd.push(400, {"error": "invalid request", "errors": [
        {"error": "limit must be between 1 and 100", "field": "limit"}]})
    status, body = run(conn, "list_workers", {})
    assert status == 422
    assert body["errors"] == {"page_size": ["limit must be between 1 and 100"]}


def test_throttling_waits_and_retries_a_read(connect, run, wd, sleeps):
    conn = connect(max_attempts=3)
    run(conn, "get_worker", {"worker_id": LOGAN})
    wd.push(429, {"error": "too many requests"}, {"Retry-After": "3"})
    status, body = run(conn, "get_worker", {"worker_id": LOGAN})
    assert status == 200 and body["attempts"] == 2
    assert any(s >= 3 for s in sleeps)


def test_a_permission_error_is_permanent_and_says_why(connect, run, wd):
    conn = connect(max_attempts=3)
    run(conn, "get_worker", {"worker_id": LOGAN})
    wd.push(403, {"error": "The task submitted is not authorized."})
    status, body = run(conn, "get_worker", {"worker_id": LOGAN})
    assert body["code"] == "upstream" and "security domain" in body["message"]
    assert len(wd.api_calls()) == 2


def test_secrets_are_masked(client, keys, connect):
    conn = connect()
    shown = json.dumps(client.get(f"/api/v2/connections/{conn['id']}",
                                  headers=keys["viewer"]).get_json())
    assert REFRESH not in shown and CLIENT_SECRET not in shown


def test_host_and_tenant_are_required_and_checked(client, keys):
    creds = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH}
    for settings, field in (({"tenant": "acme"}, "host"), ({"host": "wd2.workday.com"}, "tenant"),
                            ({"host": "wd2.workday.com/x", "tenant": "acme"}, "host"),
                            ({"host": "wd2.workday.com", "tenant": "../x"}, "tenant")):
        r = client.post("/api/v2/connections", headers=keys["editor"], json={
            "integration": "workday", "label": "x", "settings": settings, "credentials": creds})
        assert r.status_code == 422 and field in r.get_json()["errors"]["settings"], settings
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "workday", "label": "x", "credentials": creds,
        "settings": {"host": "wd2-impl-services1.workday.com", "tenant": "acme"}})
    assert r.status_code == 201
    assert r.get_json()["settings"]["host"] == "https://wd2-impl-services1.workday.com"
