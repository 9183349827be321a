"""Salesforce's error bodies become ATOM's error classes naming our input field; the session
refresh on INVALID_SESSION_ID; Sforce-Limit-Info and REQUEST_LIMIT_EXCEEDED feed the rate
limiter; retries only where safe."""
from __future__ import annotations

import requests

from plugins.salesforce.integration import SalesforceIntegration
from tests.fakes import FakeServer
from tests.fakes import drop
from tests.fakes import reply
from tests.plugins.salesforce.fake import REFRESH

API = "/services/data/v61.0"
LEAD = {"LastName": "Lovelace", "Company": "Acme"}


def test_missing_required_fields_are_named(connect, run):
    status, body = run(connect(), "create_record", {"object": "Lead", "fields": {"Title": "CTO"}})
    assert (status, body["code"], body["upstream_status"]) == (422, "validation", 400)
    assert set(body["errors"]) == {"fields.LastName", "fields.Company"}
    assert "REQUIRED_FIELD_MISSING" in body["errors"]["fields.LastName"][0]


def test_an_unknown_field_is_named_from_the_message(connect, run):
    status, body = run(connect(), "create_record",
                       {"object": "Lead", "fields": {**LEAD, "Favourite__c": "green"}})
    assert status == 422
    assert list(body["errors"]) == ["fields.Favourite__c"]
    assert body["errors"]["fields.Favourite__c"][0].startswith("INVALID_FIELD: No such column")


def test_query_errors_name_the_soql(connect, run):
    conn = connect()
    for soql, code in (("SELEC Id FROM Lead", "MALFORMED_QUERY"),
                       ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
                       ("SELECT Nope__c FROM Lead", "INVALID_FIELD")):
        status, body = run(conn, "query", {"soql": soql})
        assert status == 422, body
        assert list(body["errors"]) == ["soql"] and body["errors"]["soql"][0].startswith(code)


def test_missing_and_deleted_records_name_the_record_id(connect, run, sf):
    gone = sf.add("Lead", **LEAD)
    sf.delete("Lead", gone)
    conn = connect()
    status, body = run(conn, "get_record", {"object": "Lead", "record_id": gone})
    assert status == 422 and body["errors"]["record_id"][0].startswith("ENTITY_IS_DELETED")
    status, body = run(conn, "update_record", {"object": "Lead", "record_id": "00Q5e0000099999AAA",
                                               "fields": {"Title": "x"}})
    assert status == 422 and body["errors"]["record_id"][0].startswith("NOT_FOUND")
    status, body = run(conn, "describe_object", {"object": "Nope__c"})
    assert status == 422 and list(body["errors"]) == ["object"]
    status, body = run(conn, "upsert_record", {"object": "Lead", "external_id_field": "Title",
                                               "external_id": "x", "fields": LEAD})
    assert status == 422 and list(body["errors"]) == ["external_id_field"]


def test_an_expired_session_is_refreshed_once_and_the_call_repeated(client, keys, oauth_app,
                                                                    connect, run, sf, app):
    conn = connect(token="00D5e000000AbCd!expired")
    status, body = run(conn, "describe_object", {"object": "Lead"})
    assert status == 200, body
    paths = [(r.method, r.path) for r in sf.requests]
    assert paths == [("GET", f"{API}/sobjects/Lead/describe"), ("POST", "/services/oauth2/token"),
                     ("GET", f"{API}/sobjects/Lead/describe")]
    refresh = sf.requests[1]
    assert refresh.form["grant_type"] == "refresh_token" and refresh.form["refresh_token"] == REFRESH
    retried = sf.requests[2].headers["authorization"]
    assert retried != "Bearer 00D5e000000AbCd!expired" and retried[7:] in sf.tokens
    # The refresh answer has no refresh token: the stored one is kept.
    run(conn, "describe_object", {"object": "Lead"})
    assert len(sf.calls("POST", "/services/oauth2/token")) == 1


def test_a_refused_refresh_token_needs_reauthorisation(client, keys, oauth_app, connect, run, sf):
    conn = connect(token="00D5e000000AbCd!expired", refresh="5Aep861revoked")
    status, body = run(conn, "describe_object", {"object": "Lead"})
    assert body["code"] == "auth", (status, body)
    assert client.get(f"/api/v2/connections/{conn['id']}",
                      headers=keys["editor"]).get_json()["status"] == "needs_reauth"


def test_request_limit_exceeded_is_a_rate_limit_and_not_retried(connect, run, sf, sleeps):
    sf.api_used = sf.api_limit
    status, body = run(connect(max_attempts=3), "describe_object", {"object": "Lead"})
    assert (status, body["code"], body["upstream_status"]) == (429, "rate_limited", 403)
    assert body["retry_after"] == 3600 and "TotalRequests" in body["message"]
    assert len(sf.requests) == 1 and sleeps == []


def _response(header: str | None) -> requests.Response:
    r = requests.Response()
    r.status_code = 200
    if header is not None:
        r.headers["Sforce-Limit-Info"] = header
    return r


def test_the_limit_info_header_is_parsed():
    parse = SalesforceIntegration.parse_rate_limit
    assert parse(None, _response("api-usage=18/5000")) == (4982, None)
    assert parse(None, _response("api-usage=25/5000; per-app-api-usage=17/250(appName=x)")) \
        == (233, None)
    assert parse(None, _response("api-usage=5000/5000")) == (0, 3600.0)
    assert parse(None, _response(None)) == (None, None)
    assert parse(None, _response("garbage")) == (None, None)


def test_a_spent_allocation_pauses_the_connection_before_the_next_call(connect, run, sf):
    sf.api_limit = 2
    conn = connect()
    assert run(conn, "describe_object", {"object": "Lead"})[0] == 200
    status, body = run(conn, "describe_object", {"object": "Lead"})
    assert status == 200  # api-usage=2/2 in this answer
    status, body = run(conn, "describe_object", {"object": "Lead"})
    assert (status, body["code"]) == (429, "rate_limited")
    assert len(sf.api_calls()) == 2  # the third call never left ATOM


def test_lock_contention_on_an_update_is_retried_a_create_is_not(connect, run, sf, sleeps):
    lead = sf.add("Lead", **LEAD)
    conn = connect(max_attempts=3)
    sf.push(503, [{"message": "unable to obtain exclusive access to this record",
                   "errorCode": "UNABLE_TO_LOCK_ROW"}])
    status, body = run(conn, "update_record", {"object": "Lead", "record_id": lead,
                                               "fields": {"Title": "x"}})
    assert status == 200 and body["attempts"] == 2
    sf.requests.clear()
    sf.push(503, [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}])
    status, body = run(conn, "create_record", {"object": "Lead", "fields": LEAD})
    assert (status, body["code"]) == (502, "upstream")
    assert len(sf.requests) == 1  # a POST that may have created the lead is not repeated


def test_a_dropped_connection_is_retried_for_a_read(create_connection, run, sleeps):
    with FakeServer() as server:
        server.script(f"{API}/sobjects/Lead/describe", drop(),
                      reply(200, {"name": "Lead", "fields": []}))
        conn = create_connection("salesforce", settings={
            "instance_url": server.url, "max_attempts": 3},
            credentials={"access_token": "00D!tok"})
        status, body = run(conn, "describe_object", {"object": "Lead"})
        assert status == 200, body
        assert server.count(f"{API}/sobjects/Lead/describe") == 2
