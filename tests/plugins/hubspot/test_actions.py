"""The HubSpot plugin through the REST API, against the local fake HubSpot."""
from __future__ import annotations

import pytest

from plugins.hubspot.manifest import MANIFEST
from tests.plugins.hubspot.fake_hubspot import TOKEN


def test_health_check_reads_account_details_with_the_bearer_token(client, keys, connect, hubspot):
    conn = connect()
    r = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert r.status_code == 200
    assert r.get_json()["ok"] is True, r.get_json()
    [call] = hubspot.requests
    assert (call.method, call.path) == ("GET", "/account-info/v3/details")
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_refused_token_marks_the_connection_for_reauth(client, keys, connect, hubspot):
    conn = connect(token="pat-na1-revoked")
    r = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    body = r.get_json()
    assert (body["ok"], body["error_class"]) == (False, "auth")
    assert "INVALID_AUTHENTICATION" in body["message"]
    assert len(hubspot.requests) == 1  # a 401 is permanent: no retry
    assert client.get(f"/api/v2/connections/{conn['id']}",
                      headers=keys["editor"]).get_json()["status"] == "needs_reauth"


def test_secrets_are_masked_in_the_connection(connect):
    conn = connect()
    assert conn["credentials"]["access_token"].startswith("****")
    assert conn["credentials"]["client_secret"].startswith("****")
    assert set(MANIFEST.secret_fields()) == {"access_token", "refresh_token", "client_secret"}


def test_create_contact_sends_named_and_extra_properties(connect, run, hubspot):
    conn = connect()
    status, body = run(conn, "create_contact", {
        "email": "Ada@Example.com", "firstname": "Ada", "lastname": "Lovelace",
        "properties": {"jobtitle": "Analyst", "lifecyclestage": "lead"},
    })
    assert status == 200, body
    out = body["output"]
    assert out["id"] == "101"
    assert out["properties"]["email"] == "ada@example.com"
    [call] = hubspot.calls("POST", "/crm/v3/objects/contacts")
    assert call.json == {"properties": {"email": "Ada@Example.com", "firstname": "Ada",
                                        "lastname": "Lovelace", "jobtitle": "Analyst",
                                        "lifecyclestage": "lead"}}
    assert body["attempts"] == 1


def test_an_existing_email_is_a_validation_error_not_retried(connect, run, hubspot):
    hubspot.add("contacts", {"email": "ada@example.com"})
    conn = connect(max_attempts=3)
    status, body = run(conn, "create_contact", {"email": "ada@example.com"})
    assert status == 422
    assert body["code"] == "validation"
    assert body["upstream_status"] == 409
    assert "Contact already exists. Existing ID: 101" in body["message"]
    assert body["errors"] == {"_schema": ["Contact already exists. Existing ID: 101"]}
    assert len(hubspot.calls("POST", "/crm/v3/objects/contacts")) == 1


def test_an_unknown_property_surfaces_as_a_field_error(connect, run):
    status, body = run(connect(), "create_contact", {
        "email": "ada@example.com", "properties": {"favourite_colour": "green"}})
    assert status == 422
    assert body["code"] == "validation"
    assert body["upstream_status"] == 400
    assert "VALIDATION_ERROR" in body["message"]
    assert body["errors"] == {"favourite_colour": ['Property "favourite_colour" does not exist']}


def test_an_invalid_option_surfaces_from_the_errors_array(connect, run):
    status, body = run(connect(), "create_contact", {
        "email": "ada@example.com", "properties": {"lifecyclestage": "friend"}})
    assert status == 422
    assert body["code"] == "validation"
    assert list(body["errors"]) == ["lifecyclestage"]
    [reason] = body["errors"]["lifecyclestage"]
    assert reason.startswith("friend was not one of the allowed options")


def test_input_is_validated_before_anything_is_sent(connect, run, hubspot):
    status, body = run(connect(), "create_contact", {"email": "not-an-email"})
    assert status == 422
    assert body["code"] == "validation"
    assert "email" in body["errors"]
    status, body = run(connect(), "update_contact", {"contact_id": "../deals", "firstname": "x"})
    assert status == 422
    assert "contact_id" in body["errors"]
    assert hubspot.requests == []


def test_update_contact_patches_the_record(connect, run, hubspot):
    cid = hubspot.add("contacts", {"email": "ada@example.com", "firstname": "Ada"})
    status, body = run(connect(), "update_contact", {
        "contact_id": cid, "lastname": "Byron", "properties": {"lifecyclestage": "customer"}})
    assert status == 200, body
    assert body["output"]["properties"]["lastname"] == "Byron"
    assert hubspot.records["contacts"][cid]["properties"]["lifecyclestage"] == "customer"
    [call] = hubspot.calls("PATCH", f"/crm/v3/objects/contacts/{cid}")
    assert call.json == {"properties": {"lastname": "Byron", "lifecyclestage": "customer"}}


def test_updating_a_missing_contact_is_a_permanent_upstream_error(connect, run, hubspot):
    status, body = run(connect(max_attempts=3), "update_contact",
                       {"contact_id": "999", "firstname": "Nobody"})
    assert status == 502
    assert body["code"] == "upstream"
    assert body["upstream_status"] == 404
    assert "OBJECT_NOT_FOUND" in body["message"]
    assert len(hubspot.requests) == 1


def test_get_contact_by_id_or_by_email(connect, run, hubspot):
    cid = hubspot.add("contacts", {"email": "ada@example.com", "firstname": "Ada",
                                   "jobtitle": "Analyst"})
    conn = connect()
    status, body = run(conn, "get_contact", {"contact_id": cid})
    assert status == 200, body
    assert body["output"]["properties"]["firstname"] == "Ada"
    assert "jobtitle" not in body["output"]["properties"]  # only the requested properties
    status, body = run(conn, "get_contact", {"email": "ada@example.com",
                                             "properties": ["jobtitle"]})
    assert status == 200, body
    assert body["output"]["id"] == cid
    assert body["output"]["properties"]["jobtitle"] == "Analyst"
    last = hubspot.requests[-1]
    assert last.path == "/crm/v3/objects/contacts/ada@example.com"
    assert last.query == {"properties": "jobtitle", "idProperty": "email"}


def test_search_contacts_returns_a_page_and_the_next_cursor(connect, run, hubspot):
    for i in range(3):
        hubspot.add("contacts", {"email": f"dev{i}@acme.io", "company": "Acme"})
    hubspot.add("contacts", {"email": "other@example.com", "company": "Other"})
    conn = connect()
    status, body = run(conn, "search_contacts", {"query": "acme", "limit": 2})
    assert status == 200, body
    page = body["output"]
    assert page["total"] == 3
    assert [r["properties"]["email"] for r in page["results"]] == ["dev0@acme.io", "dev1@acme.io"]
    assert page["next_after"] == "2"
    status, body = run(conn, "search_contacts", {"query": "acme", "limit": 2,
                                                 "after": page["next_after"]})
    assert [r["properties"]["email"] for r in body["output"]["results"]] == ["dev2@acme.io"]
    assert body["output"]["next_after"] is None
    status, body = run(conn, "search_contacts", {"email": "other@example.com"})
    assert body["output"]["total"] == 1
    assert hubspot.requests[-1].json["filterGroups"] == [
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "other@example.com"}]}]


def test_create_deal_associates_the_contact(connect, run, hubspot):
    cid = hubspot.add("contacts", {"email": "ada@example.com"})
    status, body = run(connect(), "create_deal", {
        "dealname": "Acme renewal", "amount": 1500.5, "closedate": "2024-07-01",
        "contact_id": cid})
    assert status == 200, body
    assert body["output"]["properties"]["dealname"] == "Acme renewal"
    [call] = hubspot.calls("POST", "/crm/v3/objects/deals")
    assert call.json["properties"] == {"dealname": "Acme renewal", "pipeline": "default",
                                       "dealstage": "appointmentscheduled", "amount": "1500.5",
                                       "closedate": "2024-07-01T00:00:00.000Z"}
    assert call.json["associations"] == [{"to": {"id": cid}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}]


def test_create_note_attaches_to_contact_and_deal(connect, run, hubspot):
    cid = hubspot.add("contacts", {"email": "ada@example.com"})
    did = hubspot.add("deals", {"dealname": "Acme renewal"})
    status, body = run(connect(), "create_note", {
        "body": "Called Ada; renewal agreed.", "contact_id": cid, "deal_id": did,
        "timestamp": "2024-06-12T10:15:30+02:00"})
    assert status == 200, body
    [call] = hubspot.calls("POST", "/crm/v3/objects/notes")
    assert call.json["properties"] == {"hs_note_body": "Called Ada; renewal agreed.",
                                       "hs_timestamp": "2024-06-12T08:15:30.000Z"}
    assert [a["types"][0]["associationTypeId"] for a in call.json["associations"]] == [202, 214]


def test_a_note_without_timestamp_is_stamped_now(connect, run, hubspot):
    status, body = run(connect(), "create_note", {"body": "Quick note"})
    assert status == 200, body
    [call] = hubspot.calls("POST", "/crm/v3/objects/notes")
    assert call.json["properties"]["hs_timestamp"].endswith("Z")
    assert "associations" not in call.json


def test_list_deals_follows_paging_next_after_across_pages(connect, run, hubspot):
    ids = [hubspot.add("deals", {"dealname": f"Deal {i}", "amount": str(i * 100)})
           for i in range(5)]
    status, body = run(connect(), "list_deals", {"page_size": 2})
    assert status == 200, body
    assert body["output"]["count"] == 5
    assert [d["id"] for d in body["output"]["deals"]] == ids
    calls = hubspot.calls("GET", "/crm/v3/objects/deals")
    assert [c.query.get("after") for c in calls] == [None, "2", "4"]
    assert {c.query["limit"] for c in calls} == {"2"}
    assert calls[0].query["properties"] == "dealname,amount,dealstage,pipeline,closedate"
    assert body["attempts"] == 3


def test_list_deals_stops_at_max_results_without_fetching_more(connect, run, hubspot):
    ids = [hubspot.add("deals", {"dealname": f"Deal {i}"}) for i in range(5)]
    status, body = run(connect(), "list_deals", {"page_size": 2, "max_results": 3})
    assert status == 200, body
    assert [d["id"] for d in body["output"]["deals"]] == ids[:3]
    assert len(hubspot.calls("GET", "/crm/v3/objects/deals")) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_on_a_read_is_retried(connect, run, hubspot, status):
    hubspot.add("deals", {"dealname": "Deal"})
    hubspot.push(status, {"status": "error", "message": "internal error",
                          "correlationId": "c0ffee", "category": "INTERNAL_ERROR"})
    s, body = run(connect(max_attempts=2), "list_deals", {})
    assert s == 200, body
    assert body["attempts"] == 2
    assert body["output"]["count"] == 1


def test_a_server_error_on_create_is_not_retried(connect, run, hubspot):
    hubspot.push(502, {"status": "error", "message": "Bad gateway", "category": "INTERNAL_ERROR"})
    s, body = run(connect(max_attempts=3), "create_contact", {"email": "ada@example.com"})
    assert s == 502
    assert body["code"] == "upstream"
    assert len(hubspot.requests) == 1
    assert hubspot.records["contacts"] == {}


def test_the_catalogue_describes_the_plugin(client, keys):
    r = client.get("/api/v2/integrations/hubspot", headers=keys["viewer"])
    assert r.status_code == 200
    info = r.get_json()
    assert info["auth"]["kind"] == "bearer"
    assert (info["auth"]["header"], info["auth"]["prefix"]) == ("Authorization", "Bearer")
    assert info["auth"]["secret_fields"] == ["access_token", "client_secret", "refresh_token"]
    assert info["oauth2"] is True
    assert info["webhook"] == {"scheme": "hubspot_v3"}
    assert info["rate_limit"] == {"per_second": 10, "burst": 10}
    assert {a["name"] for a in info["actions"] if a["read_only"]} == {
        "get_contact", "search_contacts", "list_deals"}
    assert [t["name"] for t in info["triggers"]] == [
        "contact_created", "contact_updated", "contact_deleted",
        "deal_created", "deal_updated", "deal_deleted"]
    assert client.get("/api/v2/integrations/hub spot",
                      headers=keys["viewer"]).get_json()["name"] == "hubspot"


def test_every_example_runs_against_the_fake_and_fits_its_output_schema(connect, run, hubspot):
    """The manifest's examples are inputs HubSpot accepts: run against the stateful fake (which
    follows the public reference), each answers 200 with an output its schema describes."""
    from jsonschema import Draft202012Validator

    # The records the examples name (contact 1246965, ada@example.com) exist, as they would.
    hubspot.records["contacts"]["1246965"] = {
        "id": "1246965", "properties": {"email": "ada@example.com", "firstname": "Ada"},
        "createdAt": "2024-06-12T10:15:30.512Z", "updatedAt": "2024-06-12T10:15:30.512Z",
        "archived": False}
    conn = connect()
    for action in MANIFEST.actions:
        if action.name == "create_contact":
            continue  # its example's email is taken by the record above: run on its own below
        status, body = run(conn, action.name, dict(action.example))
        assert status == 200, (action.name, body)
        errors = list(Draft202012Validator(dict(action.output)).iter_errors(body["output"]))
        assert not errors, (action.name, errors[0].message)
    del hubspot.records["contacts"]["1246965"]
    status, body = run(conn, "create_contact", dict(MANIFEST.action("create_contact").example))
    assert status == 200, body
