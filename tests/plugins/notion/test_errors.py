"""How Notion's failures reach the user: its ``{"object": "error", "code"}`` bodies, 429s with
``Retry-After``, 5xx, and which calls are retried."""
from __future__ import annotations

import json

import pytest

from tests.plugins.notion.conftest import DATA_SOURCE_ID
from tests.plugins.notion.conftest import DATABASE_ID
from tests.plugins.notion.conftest import NOTION
from tests.plugins.notion.conftest import PAGE_ID
from tests.plugins.notion.conftest import TOKEN
from tests.plugins.notion.conftest import notion_error
from tests.plugins.notion.conftest import recorded

CREATE = {"database_id": DATABASE_ID, "title": "Deploy finished"}
QUERY = {"data_source_id": DATA_SOURCE_ID}
QUERY_URL = f"{NOTION}/data_sources/{DATA_SOURCE_ID}/query"


def test_a_refused_token_fails_the_health_check_and_asks_for_reauthorisation(
        fake_notion, notion_connection, check_connection, client, keys):
    fake_notion.get(f"{NOTION}/users/me", status=401,
                    json=notion_error(401, "unauthorized", "API token is invalid."))
    conn = notion_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "unauthorized: API token is invalid." in result["message"]
    assert len(fake_notion.calls) == 1  # permanent: never retried
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "needs_reauth"


def test_a_healthy_workspace_passes_the_check(fake_notion, notion_connection, check_connection):
    fake_notion.get(f"{NOTION}/users/me", json={
        "object": "user", "id": "16d84278-ab0e-484c-9bdd-b35da3bd8905", "name": "ATOM",
        "type": "bot", "bot": {"owner": {"type": "workspace", "workspace": True}}})
    assert check_connection(notion_connection()).get_json()["ok"] is True


def test_a_missing_capability_is_an_auth_error(fake_notion, notion_connection, run_action):
    fake_notion.post(f"{NOTION}/pages", status=403, json=notion_error(
        403, "restricted_resource", "Insufficient permissions for this endpoint."))
    r = run_action(notion_connection({"max_attempts": 3}), "create_page", CREATE)

    assert r.status_code == 502
    assert r.get_json()["code"] == "auth"
    assert "restricted_resource" in r.get_json()["message"]
    assert len(fake_notion.calls) == 1


def test_an_unshared_database_names_the_field_and_says_why(fake_notion, notion_connection,
                                                           run_action):
    message = (f"Could not find database with ID: {DATABASE_ID}. Make sure the relevant pages "
               f"and databases are shared with your integration.")
    fake_notion.post(f"{NOTION}/pages", status=404,
                     json=notion_error(404, "object_not_found", message))
    r = run_action(notion_connection({"max_attempts": 3}), "create_page", CREATE)

    assert r.status_code == 422
    assert r.get_json()["errors"] == {"database_id": ["object_not_found", message]}
    assert len(fake_notion.calls) == 1


@pytest.mark.parametrize("message, field", [
    ("body failed validation: body.properties.Status.status.name should be a string, instead "
     "was `3`.", "properties"),
    ("Status is not a property that exists.", "properties"),
    ("body failed validation: body.parent.database_id should be a valid uuid, instead was "
     "`\"x\"`.", "database_id"),
    ("body failed validation: body.children[0].paragraph.rich_text[0].text.content.length "
     "should be ≤ `2000`, instead was `2001`.", "content"),
    ("Can't edit block that is archived.", "_request"),
])
def test_a_validation_error_names_the_input_field(fake_notion, notion_connection, run_action,
                                                  message, field):
    fake_notion.post(f"{NOTION}/pages", status=400,
                     json=notion_error(400, "validation_error", message))
    r = run_action(notion_connection(), "create_page", CREATE)

    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert r.get_json()["errors"] == {field: ["validation_error", message]}


def test_an_append_validation_error_names_the_blocks(fake_notion, notion_connection, run_action):
    message = "body failed validation: body.children[0].to_do.checked should be a boolean."
    fake_notion.patch(f"{NOTION}/blocks/{PAGE_ID}/children", status=400,
                      json=notion_error(400, "validation_error", message))
    r = run_action(notion_connection(), "append_blocks", {"page_id": PAGE_ID, "text": "x"})
    assert r.get_json()["errors"] == {"blocks": ["validation_error", message]}


def test_http_429_carries_retry_after_to_the_caller(fake_notion, notion_connection, run_action):
    fake_notion.post(QUERY_URL, status=429, headers={"Retry-After": "30"},
                     json=notion_error(429, "rate_limited", "You have been rate limited."))
    r = run_action(notion_connection({"max_attempts": 1}), "query_database", QUERY)

    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert r.get_json()["retry_after"] == 30
    assert r.headers["Retry-After"] == "30"


def test_a_rate_limited_create_is_sent_again_after_the_wait(fake_notion, notion_connection,
                                                            run_action, sleeps):
    # A 429 was not processed, so even a create is safe to send again.
    fake_notion.post(f"{NOTION}/pages", status=429, headers={"Retry-After": "7"},
                     json=notion_error(429, "rate_limited", "You have been rate limited."))
    fake_notion.post(f"{NOTION}/pages", json=recorded("page"))
    r = run_action(notion_connection({"max_attempts": 3}), "create_page", CREATE)

    assert r.status_code == 200
    assert r.get_json()["attempts"] == 2
    assert len(fake_notion.calls) == 2
    assert sum(sleeps) >= 7


@pytest.mark.parametrize("method, url, action, body, calls", [
    ("POST", QUERY_URL, "query_database", QUERY, 2),  # a read (POST query): retried
    ("GET", f"{NOTION}/pages/{PAGE_ID}", "get_page", {"page_id": PAGE_ID}, 2),
    ("PATCH", f"{NOTION}/pages/{PAGE_ID}", "update_page",  # sets values: retried
     {"page_id": PAGE_ID, "in_trash": False}, 2),
    ("POST", f"{NOTION}/pages", "create_page", CREATE, 1),  # it may have been created
    ("PATCH", f"{NOTION}/blocks/{PAGE_ID}/children", "append_blocks",  # may have appended
     {"page_id": PAGE_ID, "text": "x"}, 1),
])
@pytest.mark.parametrize("status, code", [
    (500, "internal_server_error"), (503, "service_unavailable"), (409, "conflict_error")])
def test_a_server_error_is_retried_only_when_safe(fake_notion, notion_connection, run_action,
                                                  sleeps, method, url, action, body, calls,
                                                  status, code):
    fake_notion.add(method, url, status=status, json=notion_error(status, code, "try again"))
    r = run_action(notion_connection({"max_attempts": 2}), action, body)

    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream"
    assert len(fake_notion.calls) == calls


def test_a_transient_failure_of_a_read_recovers(fake_notion, notion_connection, run_action,
                                                sleeps):
    fake_notion.post(QUERY_URL, status=502, body="<html>Bad gateway</html>",
                     content_type="text/html")
    fake_notion.post(QUERY_URL, json=recorded("query_page2"))
    r = run_action(notion_connection({"max_attempts": 3}), "query_database", QUERY)
    assert r.status_code == 200
    assert r.get_json()["output"]["count"] == 1


def test_a_token_echoed_in_an_error_is_redacted(fake_notion, notion_connection, run_action,
                                                check_connection):
    fake_notion.get(f"{NOTION}/users/me", status=401,
                    json=notion_error(401, "unauthorized", f"API token {TOKEN} is invalid."))
    fake_notion.post(f"{NOTION}/pages", status=400, json=notion_error(
        400, "validation_error", f"body.properties: bad value near {TOKEN}"))
    conn = notion_connection()
    checked = check_connection(conn).get_json()
    ran = run_action(conn, "create_page", CREATE)

    assert checked["error_class"] == "auth"
    assert ran.status_code == 422
    for answer in (checked, ran.get_json()):
        assert TOKEN not in json.dumps(answer)


def test_a_base_url_that_is_not_notion_fails_the_health_check(fake_notion, notion_connection,
                                                              check_connection):
    fake_notion.get("https://intranet.example.com/v1/users/me", body="<html>Welcome</html>",
                    content_type="text/html")
    result = check_connection(notion_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_an_error_without_notions_body_is_classified_by_status(fake_notion, notion_connection,
                                                               run_action):
    fake_notion.get(f"{NOTION}/pages/{PAGE_ID}", status=404, body="Not Found")
    r = run_action(notion_connection({"max_attempts": 1}), "get_page", {"page_id": PAGE_ID})
    assert (r.status_code, r.get_json()["code"], r.get_json()["upstream_status"]) == (
        502, "upstream", 404)
