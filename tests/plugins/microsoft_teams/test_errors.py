"""How Graph's failures reach the user: its ``{"error": {"code", "message"}}`` bodies by status,
throttling with ``Retry-After``, which calls are retried, and secrets never echoed back.

Error shapes: https://learn.microsoft.com/graph/errors; throttling:
https://learn.microsoft.com/graph/throttling.
"""
from __future__ import annotations

import pytest
import requests

from tests.plugins.microsoft_teams.conftest import CHANNEL
from tests.plugins.microsoft_teams.conftest import CHANNEL_PATH
from tests.plugins.microsoft_teams.conftest import GRAPH
from tests.plugins.microsoft_teams.conftest import TEAM
from tests.plugins.microsoft_teams.conftest import TOKEN

MESSAGE = {"team_id": TEAM, "channel_id": CHANNEL, "text": "Deploy finished"}
LIST = {"team_id": TEAM, "channel_id": CHANNEL, "max_items": 5}


def graph_error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "innerError": {
        "date": "2021-03-29T03:53:52", "request-id": "2ec4f87e-3a9c-4a46-8c4b-3f4e2f0b6d9e",
        "client-request-id": "2ec4f87e-3a9c-4a46-8c4b-3f4e2f0b6d9e"}}}


@pytest.mark.parametrize("status, code, http, error_class", [
    (401, "InvalidAuthenticationToken", 502, "auth"),
    (403, "Forbidden", 502, "auth"),
    (404, "NotFound", 422, "validation"),
    (400, "BadRequest", 422, "validation"),
    (409, "Conflict", 422, "validation"),
    (429, "TooManyRequests", 429, "rate_limited"),
    (500, "InternalServerError", 502, "upstream"),
    (503, "ServiceNotAvailable", 502, "upstream"),
    (418, "Teapot", 502, "upstream"),
])
def test_each_status_maps_to_its_error_class(fake_graph, teams_connection, run_action,
                                             status, code, http, error_class):
    fake_graph.post(f"{CHANNEL_PATH}/messages", status=status,
                    json=graph_error(code, "Something happened."))
    r = run_action(teams_connection({"max_attempts": 1}), "send_channel_message", MESSAGE)

    assert r.status_code == http, r.get_json()
    body = r.get_json()
    assert body["code"] == error_class
    assert body["message"].startswith("Microsoft Graph POST /v1.0/teams/")
    assert f"{status} {code}" in body["message"]


def test_a_401_marks_the_connection_for_reauthorisation(fake_graph, teams_connection,
                                                        check_connection, client, keys):
    fake_graph.get(f"{GRAPH}/me", status=401, json=graph_error(
        "InvalidAuthenticationToken", "Access token has expired or is not yet valid."))
    conn = teams_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert len(fake_graph.calls) == 1  # permanent: never retried
    row = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert row["status"] == "needs_reauth"


def test_a_healthy_connection_passes_the_check(fake_graph, teams_connection, check_connection):
    fake_graph.get(f"{GRAPH}/me", json={"id": "48d31887-5fad-4d73-a9f5-3c356e68a038",
                                        "displayName": "Megan Bowen"})
    assert check_connection(teams_connection()).get_json()["ok"] is True
    # %24 is "$": Graph's SDKs send OData options percent-encoded too.
    assert fake_graph.calls[0].request.url.endswith("/me?%24select=id%2CdisplayName")


def test_a_base_url_that_is_not_graph_fails_the_health_check(fake_graph, teams_connection,
                                                              check_connection):
    fake_graph.get("https://intranet.example.com/me", body="<html>Welcome</html>",
                   content_type="text/html")
    result = check_connection(teams_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_a_graph_message_naming_a_property_points_at_the_input_field(fake_graph,
                                                                     teams_connection,
                                                                     run_action):
    fake_graph.post(f"{GRAPH}/teams/{TEAM}/channels", status=400, json=graph_error(
        "BadRequest", "Invalid value for property 'displayName'."))
    r = run_action(teams_connection(), "create_channel", {"team_id": TEAM, "display_name": "ops"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {
        "display_name": ["BadRequest", "Invalid value for property 'displayName'."]}


def test_a_channel_name_in_use_is_a_validation_error_on_the_name(fake_graph, teams_connection,
                                                                 run_action):
    fake_graph.post(f"{GRAPH}/teams/{TEAM}/channels", status=409, json=graph_error(
        "NameAlreadyExists", "Channel name already existed, please use other name."))
    r = run_action(teams_connection(), "create_channel", {"team_id": TEAM, "display_name": "ops"})
    assert r.get_json()["errors"]["display_name"][0] == "NameAlreadyExists"


def test_a_missing_channel_is_a_validation_error_of_the_request(fake_graph, teams_connection,
                                                                run_action):
    fake_graph.post(f"{CHANNEL_PATH}/messages", status=404,
                    json=graph_error("NotFound", "Channel not found."))
    r = run_action(teams_connection(), "send_channel_message", MESSAGE)
    assert r.get_json()["errors"] == {"_request": ["NotFound"]}


def test_429_carries_retry_after_to_the_caller(fake_graph, teams_connection, run_action):
    fake_graph.post(f"{CHANNEL_PATH}/messages", status=429, headers={"Retry-After": "30"},
                    json=graph_error("TooManyRequests", "Too many requests."))
    r = run_action(teams_connection({"max_attempts": 1}), "send_channel_message", MESSAGE)
    assert r.status_code == 429
    assert r.get_json()["retry_after"] == 30
    assert r.headers["Retry-After"] == "30"


def test_a_429_is_retried_after_the_wait_graph_asked_for(fake_graph, teams_connection,
                                                         run_action, sleeps):
    fake_graph.post(f"{CHANNEL_PATH}/messages", status=429, headers={"Retry-After": "7"},
                    json=graph_error("TooManyRequests", "Too many requests."))
    fake_graph.post(f"{CHANNEL_PATH}/messages", json={"id": "1616990032035"})
    r = run_action(teams_connection({"max_attempts": 3}), "send_channel_message", MESSAGE)

    assert r.status_code == 200
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 7


def test_a_throttled_503_with_retry_after_is_retried_for_a_read(fake_graph, teams_connection,
                                                                run_action, sleeps):
    fake_graph.get(f"{CHANNEL_PATH}/messages", status=503, headers={"Retry-After": "3"},
                   json=graph_error("ServiceNotAvailable", "Service unavailable."))
    fake_graph.get(f"{CHANNEL_PATH}/messages", json={"value": []})
    r = run_action(teams_connection({"max_attempts": 3}), "list_channel_messages", LIST)

    assert r.status_code == 200
    assert len(fake_graph.calls) == 2
    assert sum(sleeps) >= 3


def test_a_message_is_not_posted_twice_after_a_server_error(fake_graph, teams_connection,
                                                            run_action, sleeps):
    # Graph has no idempotency key: a 5xx may have posted the message already.
    fake_graph.post(f"{CHANNEL_PATH}/messages", status=502, body="Bad Gateway")
    r = run_action(teams_connection({"max_attempts": 3}), "send_channel_message", MESSAGE)
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(fake_graph.calls) == 1


def test_a_read_that_times_out_is_retried(fake_graph, teams_connection, run_action, sleeps):
    fake_graph.get(f"{CHANNEL_PATH}/messages", body=requests.ReadTimeout("slow"))
    fake_graph.get(f"{CHANNEL_PATH}/messages", json={"value": []})
    r = run_action(teams_connection({"max_attempts": 2}), "list_channel_messages", LIST)
    assert r.status_code == 200
    assert len(fake_graph.calls) == 2


def test_a_permanent_error_is_not_retried(fake_graph, teams_connection, run_action, sleeps):
    fake_graph.get(f"{CHANNEL_PATH}/messages", status=403, json=graph_error(
        "Forbidden", "Missing role permissions on the request."))
    r = run_action(teams_connection({"max_attempts": 3}), "list_channel_messages", LIST)
    assert r.get_json()["code"] == "auth"
    assert len(fake_graph.calls) == 1 and sleeps == []


def test_a_token_echoed_in_an_error_body_is_redacted(fake_graph, teams_connection, run_action):
    fake_graph.post(f"{CHANNEL_PATH}/messages", status=400, json=graph_error(
        "BadRequest", f"Invalid token {TOKEN} in request"))
    r = run_action(teams_connection(), "send_channel_message", MESSAGE)
    text = r.get_data(as_text=True)
    assert r.status_code == 422
    assert TOKEN not in text
    assert "Invalid token" in text


def test_the_client_state_is_never_echoed_back(fake_graph, teams_connection, run_action):
    from tests.plugins.microsoft_teams.conftest import CLIENT_STATE

    fake_graph.post(f"{GRAPH}/subscriptions", status=400, json=graph_error(
        "ValidationError", f"clientState {CLIENT_STATE} rejected: notification endpoint must "
                           "respond with 200 OK to validation request."))
    r = run_action(teams_connection(), "subscribe_channel_messages", {
        "team_id": TEAM, "channel_id": CHANNEL,
        "notification_url": "https://atom.example.com/hooks/microsoft_teams/1"})
    assert r.status_code == 422
    assert CLIENT_STATE not in r.get_data(as_text=True)
