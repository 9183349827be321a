"""Every Tableau action through the API, against the documented fake: the sign-in, the
re-sign-in when the session expires, paging, refresh jobs and the exports."""
from __future__ import annotations

import base64

import pytest

from tests.plugins.tableau.fake import TOKEN_NAME
from tests.plugins.tableau.fake import TOKEN_SECRET
from tests.plugins.tableau.fake import png

V = "3.22"


def test_the_health_check_signs_in_and_reads_the_site(tableau, connect, check_connection):
    assert check_connection(connect()).get_json()["ok"] is True
    sign_in, site = tableau.requests
    assert (sign_in.method, sign_in.path) == ("POST", f"/api/{V}/auth/signin")
    assert sign_in.json == {"credentials": {"personalAccessTokenName": TOKEN_NAME,
                                            "personalAccessTokenSecret": TOKEN_SECRET,
                                            "site": {"contentUrl": "salesteam"}}}
    assert site.path == f"/api/{V}/sites/{tableau.site['id']}"
    assert tableau.sessions.get(site.headers["x-tableau-auth"]) is True


def test_a_refused_token_is_auth(tableau, connect, check_connection):
    result = check_connection(connect(secret="not-the-secret-at-all")).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "401001" in result["message"] and "not-the-secret" not in result["message"]


def test_an_expired_session_signs_in_again_once_and_retries(tableau, connect, run_action):
    wid = tableau.add_workbook("Sales Overview")
    conn = connect()
    assert run_action(conn, "list_workbooks", {}).status_code == 200
    tableau.expire()
    r = run_action(conn, "list_workbooks", {})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["workbooks"][0]["id"] == wid
    assert tableau.sign_ins == 2
    lists = tableau.calls("GET", "/workbooks")
    assert len(lists) == 3 and lists[1].headers["x-tableau-auth"] != lists[2].headers[
        "x-tableau-auth"]


def test_a_session_refused_after_signing_in_again_is_auth(tableau, connect, run_action):
    conn = connect()
    assert run_action(conn, "list_workbooks", {}).status_code == 200
    tableau.expire()
    tableau.push(401, {"error": {"summary": "Unauthorized Access", "code": "401002"}})
    tableau.push(200, {"credentials": {"token": "dead", "site": {"id": tableau.site["id"]}}})
    r = run_action(conn, "list_workbooks", {})
    assert r.get_json()["code"] == "auth", r.get_json()
    assert tableau.sign_ins == 1  # the scripted sign-in was the second: no third one


def test_list_workbooks_filters_and_pages(tableau, connect, run_action, monkeypatch):
    from plugins.tableau import integration

    monkeypatch.setattr(integration, "PAGE_SIZE", 2)
    for n in range(5):
        tableau.add_workbook(f"WB {n}", project="Sales", tags=["kpi"])
    tableau.add_workbook("Other", project="HR")
    out = run_action(connect(), "list_workbooks", {"project_name": "Sales", "tag": "kpi"}
                     ).get_json()["output"]
    assert out["count"] == 5 and {w["project_name"] for w in out["workbooks"]} == {"Sales"}
    calls = tableau.calls("GET", "/workbooks")
    assert [c.query["pageNumber"] for c in calls] == ["1", "2", "3"]
    assert calls[0].query["filter"] == "projectName:eq:Sales,tags:eq:kpi"


def test_list_workbooks_updated_after(tableau, connect, run_action):
    tableau.add_workbook("Old", updatedAt="2024-01-01T00:00:00Z")
    new = tableau.add_workbook("New", updatedAt="2024-06-01T00:00:00Z")
    out = run_action(connect(), "list_workbooks", {"updated_after": "2024-03-01T02:00:00+02:00"}
                     ).get_json()["output"]
    assert [w["id"] for w in out["workbooks"]] == [new]
    assert tableau.calls("GET", "/workbooks")[0].query["filter"] == \
        "updatedAt:gt:2024-03-01T00:00:00Z"


def test_list_views_of_a_workbook_and_of_the_site(tableau, connect, run_action):
    wid = tableau.add_workbook("Sales")
    vid = tableau.add_view(wid, "Regional Sales")
    tableau.add_view(tableau.add_workbook("HR"), "Headcount")
    conn = connect()
    mine = run_action(conn, "list_views", {"workbook_id": wid}).get_json()["output"]
    assert [(v["id"], v["workbook_id"]) for v in mine["views"]] == [(vid, wid)]
    assert run_action(conn, "list_views", {}).get_json()["output"]["count"] == 2


def test_refresh_a_workbook_then_follow_the_job(tableau, connect, run_action):
    wid = tableau.add_workbook("Sales")
    conn = connect()
    job = run_action(conn, "refresh_extract", {"workbook_id": wid}).get_json()["output"]
    assert job["status"] == "queued" and job["type"] == "RefreshExtract"
    assert tableau.calls("POST", f"/workbooks/{wid}/refresh")[0].json == {}
    again = run_action(conn, "refresh_extract", {"workbook_id": wid})
    assert again.status_code == 422 and "workbook_id" in again.get_json()["errors"]
    tableau.finish_job(job["id"], code=1, notes="Database unreachable")
    done = run_action(conn, "get_job", {"job_id": job["id"]}).get_json()["output"]
    assert (done["status"], done["workbook_id"], done["notes"]) == (
        "failed", wid, "Database unreachable")


def test_refresh_a_data_source(tableau, connect, run_action):
    did = tableau.add_datasource("Opportunities")
    job = run_action(connect(), "refresh_extract", {"datasource_id": did}).get_json()["output"]
    assert tableau.jobs[job["id"]]["extractRefreshJob"]["datasource"]["id"] == did


def test_export_csv_with_filters(tableau, connect, run_action):
    vid = tableau.add_view(tableau.add_workbook("Sales"), "Regional")
    out = run_action(connect(), "export_view_csv", {"view_id": vid, "filters": {"Region": "West"},
                                                    "max_age_minutes": 5}).get_json()["output"]
    assert out["csv"] == "Region,Sales\nWest,1200\n" and out["rows"] == 1
    assert tableau.calls("GET", f"/views/{vid}/data")[0].query == {"vf_Region": "West",
                                                                  "maxAge": "5"}


def test_export_image_as_base64_and_refuse_big_ones(tableau, connect, run_action):
    vid = tableau.add_view(tableau.add_workbook("Sales"), "Regional")
    conn = connect()
    out = run_action(conn, "export_view_image", {"view_id": vid}).get_json()["output"]
    assert base64.b64decode(out["content_base64"]) == tableau.image
    assert tableau.calls("GET", f"/views/{vid}/image")[0].query == {"resolution": "high"}
    tableau.image = png(400, 400)
    big = run_action(conn, "export_view_image", {"view_id": vid, "max_bytes": 10_000})
    assert big.status_code == 422 and "max_bytes" in big.get_json()["errors"], big.get_json()


@pytest.mark.parametrize("body, field", [
    ({"view_id": "../../auth/signin"}, "view_id"),
    ({"view_id": "9d7c1a4e-2b3f-4e5a-8c6d-1e2f3a4b5c6d/../x"}, "view_id"),
    ({"view_id": "9d7c1a4e-2b3f-4e5a-8c6d-1e2f3a4b5c6d", "filters": {"a&b": "1"}}, "filters"),
])
def test_bad_ids_are_refused_before_anything_is_sent(tableau, connect, run_action, body, field):
    r = run_action(connect(), "export_view_csv", body)
    assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()
    assert tableau.requests == []


def test_an_unknown_view_names_view_id(tableau, connect, run_action):
    r = run_action(connect(), "export_view_csv", {"view_id": "9d7c1a4e-2b3f-4e5a-8c6d-000000000000"})
    assert r.status_code == 422 and "view_id" in r.get_json()["errors"], r.get_json()
    assert "404011" in r.get_json()["message"]
