"""Every Zendesk action through the API users touch, against the documented fake: what Zendesk
received (auth, body, idempotency key) and what the action returns."""
from __future__ import annotations

import base64

import pytest

from tests.plugins.zendesk.fake import API_TOKEN
from tests.plugins.zendesk.fake import EMAIL
from tests.plugins.zendesk.fake import OAUTH_TOKEN


def test_the_health_check_reads_users_me_with_the_api_token(zendesk, connect, check_connection):
    assert check_connection(connect()).get_json()["ok"] is True
    (call,) = zendesk.requests
    assert call.path == "/api/v2/users/me.json"
    sent = base64.b64decode(call.headers["authorization"].removeprefix("Basic ")).decode()
    assert sent == f"{EMAIL}/token:{API_TOKEN}"


def test_an_oauth_connection_is_sent_as_bearer(zendesk, connect, check_connection):
    result = check_connection(connect({"access_token": OAUTH_TOKEN})).get_json()
    assert result["ok"] is True, result
    assert zendesk.requests[0].headers["authorization"] == f"Bearer {OAUTH_TOKEN}"


def test_a_wrong_token_fails_the_health_check_as_auth(zendesk, connect, check_connection):
    result = check_connection(connect({"email": EMAIL, "api_token": "W" * 40})).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "Couldn't authenticate you" in result["message"]


def test_create_ticket_sends_the_first_comment_and_an_idempotency_key(zendesk, connect,
                                                                       run_action):
    r = run_action(connect(), "create_ticket", {
        "subject": "Printer on fire", "body": "Smoke on floor 2", "public": False,
        "requester_email": "jdoe@example.com", "requester_name": "Jane Doe",
        "priority": "urgent", "type": "incident", "tags": ["printer"],
        "custom_fields": [{"id": 360001, "value": "floor-2"}]})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    (call,) = zendesk.calls("POST", "/api/v2/tickets.json")
    assert call.json == {"ticket": {
        "subject": "Printer on fire", "priority": "urgent", "type": "incident",
        "tags": ["printer"], "custom_fields": [{"id": 360001, "value": "floor-2"}],
        "comment": {"body": "Smoke on floor 2", "public": False},
        "requester": {"email": "jdoe@example.com", "name": "Jane Doe"}}}
    assert call.headers.get("idempotency-key")
    assert (out["subject"], out["priority"], out["status"]) == ("Printer on fire", "urgent", "new")
    assert out["requester_id"] == zendesk.users["jdoe@example.com"]["id"]
    assert zendesk.comments[out["id"]][0]["public"] is False


def test_a_create_retried_after_a_server_error_makes_one_ticket(zendesk, connect, run_action,
                                                                sleeps):
    zendesk.push(503, {"error": "ServiceUnavailable"}, {"Retry-After": "1"})
    r = run_action(connect(), "create_ticket", {"subject": "Once", "body": "only once"})
    assert r.status_code == 200, r.get_json()
    first, second = zendesk.calls("POST", "/api/v2/tickets.json")
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert len(zendesk.tickets) == 1 and sleeps and sleeps[0] >= 1


def test_update_ticket_sets_fields_and_a_safe_update_refuses_a_stale_stamp(zendesk, connect,
                                                                           run_action):
    tid = zendesk.add_ticket("Broken", updated_at="2025-01-08T10:12:07Z")
    conn = connect()
    r = run_action(conn, "update_ticket", {"ticket_id": tid, "status": "pending",
                                           "assignee_id": 8447388090494,
                                           "updated_stamp": "2025-01-08T10:12:07Z"})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["status"], out["assignee_id"]) == ("pending", 8447388090494)
    body = zendesk.calls("PUT", f"/api/v2/tickets/{tid}.json")[0].json["ticket"]
    assert body["safe_update"] is True and body["updated_stamp"].startswith("2025-01-08T10:12:07")
    stale = run_action(conn, "update_ticket", {"ticket_id": tid, "status": "solved",
                                               "updated_stamp": "2025-01-08T10:12:07Z"})
    assert stale.status_code == 422, stale.get_json()
    assert "updated_stamp" in stale.get_json()["errors"]
    assert zendesk.tickets[tid]["status"] == "pending"


@pytest.mark.parametrize("public", [True, False])
def test_add_comment_public_or_internal(zendesk, connect, run_action, public):
    tid = zendesk.add_ticket("Question")
    r = run_action(connect(), "add_comment", {"ticket_id": tid, "body": "On it", "public": public})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["ticket_id"], out["public"], out["body"]) == (tid, public, "On it")
    assert out["comment_id"] == zendesk.comments[tid][-1]["id"]
    assert zendesk.calls("PUT", f"/api/v2/tickets/{tid}.json")[0].json == {
        "ticket": {"comment": {"body": "On it", "public": public}}}


def test_a_comment_is_an_internal_note_by_default(zendesk, connect, run_action):
    tid = zendesk.add_ticket("Question")
    assert run_action(connect(), "add_comment", {"ticket_id": tid, "body": "note"}
                      ).get_json()["output"]["public"] is False


def test_a_comment_is_not_retried_after_a_server_error(zendesk, connect, run_action):
    tid = zendesk.add_ticket("Question")
    zendesk.push(500, {"error": "InternalError"})
    r = run_action(connect(), "add_comment", {"ticket_id": tid, "body": "twice?"})
    assert r.status_code == 502, r.get_json()
    assert len(zendesk.calls("PUT", f"/api/v2/tickets/{tid}.json")) == 1


def test_get_ticket(zendesk, connect, run_action):
    tid = zendesk.add_ticket("Printer", priority="high", tags=["a", "b"])
    out = run_action(connect(), "get_ticket", {"ticket_id": tid}).get_json()["output"]
    assert (out["id"], out["priority"], out["tags"]) == (tid, "high", ["a", "b"])


def test_search_adds_type_ticket_follows_next_page_and_stops_at_max_items(zendesk, connect,
                                                                          run_action):
    for n in range(7):
        zendesk.add_ticket(f"Printer {n}", priority="urgent", status="open")
    zendesk.add_ticket("Solved printer", priority="urgent", status="solved")
    zendesk.add_ticket("Low printer", priority="low", status="open")
    conn = connect()
    r = run_action(conn, "search", {"query": "status<solved priority:urgent", "max_items": 5})
    out = r.get_json()["output"]
    assert out["count"] == 5 and all(t["priority"] == "urgent" for t in out["tickets"])
    calls = zendesk.calls("GET", "/api/v2/search.json")
    assert calls[0].query["query"] == "type:ticket status<solved priority:urgent"
    assert calls[0].query["per_page"] == "5" and len(calls) == 1
    everything = run_action(conn, "search", {"query": "printer", "max_items": 1000})
    assert everything.get_json()["output"]["count"] == 9


def test_search_pages_through_next_page(zendesk, connect, run_action, monkeypatch):
    from plugins.zendesk import integration

    monkeypatch.setattr(integration, "PAGE_SIZE", 2)
    for n in range(5):
        zendesk.add_ticket(f"Printer {n}")
    out = run_action(connect(), "search", {"query": "printer"}).get_json()["output"]
    assert out["count"] == 5
    pages = [c.query.get("page") for c in zendesk.calls("GET", "/api/v2/search.json")]
    assert pages == [None, "2", "3"]


@pytest.mark.parametrize("body, field", [
    ({"ticket_id": 2**63, "body": "x"}, "ticket_id"),
    ({"ticket_id": "../../users/1", "body": "x"}, "ticket_id"),
    ({"ticket_id": 1}, "body"),
    ({"ticket_id": 1, "body": "x", "html_body": "<p>x</p>"}, "body"),
])
def test_bad_input_is_refused_before_anything_is_sent(zendesk, connect, run_action, body, field):
    r = run_action(connect(), "add_comment", body)
    assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()
    assert [c for c in zendesk.requests if c.method == "PUT"] == []


def test_the_api_token_is_never_in_an_output(zendesk, connect, run_action):
    tid = zendesk.add_ticket(f"token {API_TOKEN} pasted by mistake")
    out = run_action(connect(), "get_ticket", {"ticket_id": tid}).get_json()["output"]
    assert API_TOKEN not in str(out)
