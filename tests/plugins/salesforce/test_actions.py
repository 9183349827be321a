"""The Salesforce actions through the REST API users touch, against the documented fake org:
what Salesforce received and what the action answered."""
from __future__ import annotations

import json

import pytest

from plugins.salesforce.manifest import MANIFEST
from tests.plugins.salesforce.fake import TOKEN

API = "/services/data/v61.0"
LEAD = {"LastName": "Lovelace", "FirstName": "Ada", "Company": "Analytical Engines Ltd"}


def test_the_health_check_reads_the_limits_with_the_bearer_token(client, keys, connect, sf):
    conn = connect()
    body = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()
    assert body["ok"] is True, body
    [call] = sf.requests
    assert (call.method, call.path) == ("GET", f"{API}/limits")
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


def test_create_record_posts_the_fields_and_answers_the_new_id(connect, run, sf):
    status, body = run(connect(), "create_record", {"object": "Lead", "fields": LEAD})
    assert status == 200, body
    [call] = sf.calls("POST", f"{API}/sobjects/Lead/")
    assert call.json == LEAD
    new_id = body["output"]["id"]
    assert body["output"] == {"id": new_id, "object": "Lead", "success": True, "created": True}
    assert sf.records["Lead"][new_id]["Name"] == "Ada Lovelace"
    assert body["attempts"] == 1


def test_update_record_patches_only_the_given_fields(connect, run, sf):
    lead = sf.add("Lead", **LEAD)
    status, body = run(connect(), "update_record", {
        "object": "Lead", "record_id": lead, "fields": {"Status": "Working - Contacted"}})
    assert status == 200, body
    assert body["output"] == {"id": lead, "object": "Lead", "updated": True}
    [call] = sf.calls("PATCH")
    assert (call.path, call.json) == (f"{API}/sobjects/Lead/{lead}", {"Status": "Working - Contacted"})
    assert sf.records["Lead"][lead]["Status"] == "Working - Contacted"
    assert sf.records["Lead"][lead]["Company"] == LEAD["Company"]


def test_upsert_creates_then_updates_the_record_with_the_external_id(connect, run, sf):
    conn = connect()
    ask = {"object": "Lead", "external_id_field": "External_Id__c", "external_id": "WEB-1001",
           "fields": LEAD}
    status, first = run(conn, "upsert_record", ask)
    assert status == 200, first
    assert first["output"]["created"] is True
    status, second = run(conn, "upsert_record", {**ask, "fields": {"Title": "CTO"}})
    assert status == 200, second
    assert second["output"]["created"] is False
    assert second["output"]["id"] == first["output"]["id"]
    assert [c.path for c in sf.calls("PATCH")] == [f"{API}/sobjects/Lead/External_Id__c/WEB-1001"] * 2
    [lead] = sf.records["Lead"].values()
    assert (lead["External_Id__c"], lead["Title"], lead["LastName"]) == ("WEB-1001", "CTO", "Lovelace")


def test_an_external_id_matching_two_records_is_refused_naming_the_field(connect, run, sf):
    sf.add("Lead", External_Id__c="DUP-1", **LEAD)
    sf.add("Lead", External_Id__c="DUP-1", **LEAD)
    status, body = run(connect(), "upsert_record", {
        "object": "Lead", "external_id_field": "External_Id__c", "external_id": "DUP-1",
        "fields": {"Title": "x"}})
    assert status == 422 and body["upstream_status"] == 300
    assert body["errors"] == {"external_id": ["matches more than one record"]}


def test_external_id_values_are_one_path_segment(connect, run, sf):
    status, body = run(connect(), "upsert_record", {
        "object": "Lead", "external_id_field": "External_Id__c", "external_id": "A B?&#%",
        "fields": LEAD})
    assert status == 200, body
    [call] = sf.calls("PATCH")
    assert call.path == f"{API}/sobjects/Lead/External_Id__c/A B?&#%"  # arrived decoded, whole
    for bad in ("../../limits", "..", "a/b"):
        status, body = run(connect(), "upsert_record", {
            "object": "Lead", "external_id_field": "External_Id__c", "external_id": bad,
            "fields": LEAD})
        assert status == 422 and "external_id" in body["errors"], bad
    assert len(sf.calls("PATCH")) == 1


@pytest.mark.parametrize("field, value", [("record_id", "../limits"), ("record_id", "1" * 40),
                                          ("object", "Lead/../x"), ("object", "Lead;DROP")])
def test_ids_and_object_names_are_checked_before_anything_is_sent(connect, run, sf, field, value):
    body = {"object": "Lead", "record_id": "00Q5e00000AbCdEEAZ", field: value}
    status, answer = run(connect(), "get_record", body)
    assert status == 422 and field in answer["errors"]
    assert sf.requests == []


def test_get_record_asks_for_the_fields_and_drops_attributes(connect, run, sf):
    lead = sf.add("Lead", **LEAD)
    status, body = run(connect(), "get_record", {"object": "Lead", "record_id": lead,
                                                 "fields": ["Name", "Company"]})
    assert status == 200, body
    assert sf.requests[0].query == {"fields": "Name,Company"}
    assert body["output"] == {"id": lead, "object": "Lead", "record": {
        "Name": "Ada Lovelace", "Company": LEAD["Company"], "Id": lead}}


def test_query_follows_next_records_url_up_to_max_items(connect, run, sf):
    for n in range(450):
        sf.add("Lead", LastName=f"L{n:03d}", Company="Acme")
    sf.max_batch = 200  # pages of 200, whatever the client asks for
    conn = connect()
    status, body = run(conn, "query", {"soql": "SELECT Id, LastName FROM Lead ORDER BY LastName",
                                       "max_items": 1000})
    assert status == 200, body
    out = body["output"]
    assert (out["count"], out["total_size"], out["done"]) == (450, 450, True)
    assert [r["LastName"] for r in out["records"][:2]] == ["L000", "L001"]
    assert out["records"][-1]["LastName"] == "L449" and "attributes" not in out["records"][0]
    calls = sf.calls("GET")
    assert calls[0].path == f"{API}/query" and calls[0].query["q"].startswith("SELECT Id")
    assert calls[0].headers["sforce-query-options"] == "batchSize=1000"
    locator = calls[1].path.rsplit("/", 1)[1].rsplit("-", 1)[0]
    assert [c.path for c in calls[1:]] == [f"{API}/query/{locator}-200", f"{API}/query/{locator}-400"]
    assert all(c.query == {} for c in calls[1:])  # nextRecordsUrl carries the query

    sf.requests.clear()
    status, body = run(conn, "query", {"soql": "SELECT Id FROM Lead", "max_items": 250})
    out = body["output"]
    assert (out["count"], out["total_size"], out["done"]) == (250, 450, False)
    assert len(sf.calls("GET")) == 2  # the third page is never read
    assert sf.calls("GET")[0].headers["sforce-query-options"] == "batchSize=250"


def test_a_next_records_url_that_comes_back_is_a_loop(connect, run, sf):
    page = {"totalSize": 5, "done": False, "records": [{"Id": "00Q5e00000AbCdEEAZ"}],
            "nextRecordsUrl": f"{API}/query/01gLOOP-1"}
    sf.push(200, page)
    sf.push(200, page)
    status, body = run(connect(), "query", {"soql": "SELECT Id FROM Lead"})
    assert status == 502 and "loop" in body["message"]


def test_a_next_records_url_elsewhere_is_not_followed(connect, run, sf):
    sf.push(200, {"totalSize": 5, "done": False, "records": [{"Id": "00Q5e00000AbCdEEAZ"}],
                  "nextRecordsUrl": "https://evil.example.com/services/data/v61.0/query/x-1"})
    status, body = run(connect(), "query", {"soql": "SELECT Id FROM Lead"})
    assert status == 502 and len(sf.requests) == 1


def test_include_deleted_uses_query_all(connect, run, sf):
    run(connect(), "query", {"soql": "SELECT Id FROM Lead", "include_deleted": True})
    assert sf.calls("GET")[0].path == f"{API}/queryAll"


def test_describe_object_lists_fields_with_what_workflows_need(connect, run, sf):
    status, body = run(connect(), "describe_object", {"object": "Lead"})
    assert status == 200, body
    out = body["output"]
    assert out["name"] == "Lead" and out["key_prefix"] == "00Q"
    fields = {f["name"]: f for f in out["fields"]}
    assert out["count"] == len(fields)
    assert fields["LastName"]["nillable"] is False
    assert fields["External_Id__c"]["external_id"] is True
    assert "Working - Contacted" in fields["Status"]["picklist_values"]
    assert sf.requests[0].path == f"{API}/sobjects/Lead/describe"


def test_the_api_version_setting_picks_the_path(connect, run, sf):
    run(connect(api_version="v58.0"), "describe_object", {"object": "Lead"})
    assert sf.requests[0].path == "/services/data/v58.0/sobjects/Lead/describe"


def test_tokens_are_masked_and_never_echoed(client, keys, connect, run, sf):
    conn = connect()
    shown = json.dumps(client.get(f"/api/v2/connections/{conn['id']}",
                                  headers=keys["viewer"]).get_json())
    assert TOKEN not in shown
    assert {"access_token", "refresh_token"} <= MANIFEST.secret_fields()
    sf.push(400, [{"message": f"bad token {TOKEN}", "errorCode": "MALFORMED_QUERY"}])
    status, body = run(conn, "query", {"soql": "SELECT Id FROM Lead"})
    assert status == 422 and TOKEN not in json.dumps(body)


def test_a_connection_needs_an_instance_url(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "salesforce", "label": "no host", "settings": {},
        "credentials": {"access_token": TOKEN}})
    assert r.status_code == 422
    assert "instance_url" in r.get_json()["errors"]["settings"]
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "salesforce", "label": "path", "settings": {
            "instance_url": "https://acme.my.salesforce.com/evil"},
        "credentials": {"access_token": TOKEN}})
    assert r.status_code == 422
