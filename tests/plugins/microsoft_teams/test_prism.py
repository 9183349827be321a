"""The health check and every action against Prism serving Microsoft Graph v1.0 (the Teams
subset in shared/specs/msgraph.json).

Every response Prism gives our client is recorded (a response hook on the connection's own
session) and none may carry ``sl-violations`` about the request; an HTTP 200 from our API also means
Prism accepted it (a wrong ``contentType`` enum, a non-object body or an unknown path comes back
as an error). The copy declares no security scheme, so auth is not checked here.
"""
from __future__ import annotations

import pytest

from plugins.microsoft_teams.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted
from tests.plugins.microsoft_teams.conftest import CHANNEL
from tests.plugins.microsoft_teams.conftest import TEAM

pytestmark = pytest.mark.prism

CH = {"team_id": TEAM, "channel_id": CHANNEL}
# Inputs per action and what Prism's generated answers must turn into. Listings ask for one
# item: Prism answers every page with the placeholder nextLink "string".
CASES = {
    "send_channel_message": (
        {**CH, "text": "<b>Deploy</b> finished", "content_type": "html", "subject": "Deploy",
         "importance": "high"},
        {"id": "string", "content_type": "text", "team_id": "string", "channel_id": "string"},
    ),
    "reply_to_message": (
        {**CH, "message_id": "1612293113399", "text": "Rolled back", "importance": "urgent"},
        {"id": "string", "reply_to_id": "string"},
    ),
    "send_chat_message": (
        {"chat_id": "19:2da4c29f6d7041eca70b638b43d45437@thread.v2", "text": "hi"},
        {"id": "string", "chat_id": "string"},
    ),
    "list_joined_teams": ({"max_items": 1}, {"count": 1}),
    "list_channels": ({"team_id": TEAM, "max_items": 1}, {"count": 1, "team_id": TEAM}),
    "list_channel_messages": ({**CH, "max_items": 1}, {"count": 1, "channel_id": CHANNEL}),
    "create_channel": (
        {"team_id": TEAM, "display_name": "Leads", "description": "Team leads",
         "membership_type": "private", "owner_user_id": "62855810-484b-4823-9e01-60667f8b12ae"},
        {"id": "string", "membership_type": "standard", "team_id": TEAM},
    ),
    "subscribe_channel_messages": (
        {**CH, "notification_url": "https://atom.example.com/hooks/microsoft_teams/1",
         "expiration_minutes": 30},
        {"id": "string", "expires_at": "2019-08-24T14:15:22Z"},
    ),
    "renew_subscription": (
        {"subscription_id": "9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c", "expiration_minutes": 60},
        {"id": "string"},
    ),
}


@pytest.fixture
def graph_url(prism):
    return prism("msgraph")


@pytest.fixture
def prism_teams(graph_url, teams_connection):
    return teams_connection({"base_url": graph_url, "max_attempts": 1,
                             "rate_limit_per_second": 100, "rate_limit_burst": 100})


@pytest.fixture
def exchanges(prism_teams, live) -> list:
    """Every response Prism gives the connection's client, in order."""
    seen: list = []
    live(prism_teams).http.session.hooks["response"].append(lambda r, *a, **kw: seen.append(r))
    return seen


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_teams, exchanges, check_connection, client,
                                              keys):
    r = check_connection(prism_teams)
    assert r.get_json()["ok"] is True, r.get_json()
    (response,) = exchanges
    assert_prism_accepted(response)
    conn = client.get(f"/api/v2/connections/{prism_teams['id']}", headers=keys["viewer"])
    assert conn.get_json()["status"] == "active"


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_teams, exchanges, run_action, action):
    given, expected = CASES[action]
    r = run_action(prism_teams, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected
    assert exchanges, "nothing reached Prism"
    for response in exchanges:
        assert response.status_code < 300
        assert_prism_accepted(response)


def test_a_body_prism_rejects_comes_back_as_a_validation_error(prism_teams, exchanges,
                                                                run_action, monkeypatch):
    """The contract bites: Graph's enum for importance has no "critical"."""
    from plugins.microsoft_teams import payloads

    original = payloads.message_body
    monkeypatch.setattr(payloads, "message_body",
                        lambda data: {**original(data), "importance": "critical"})
    r = run_action(prism_teams, "send_channel_message", {**CH, "text": "hi"})
    assert r.status_code == 422
    assert "importance" in exchanges[0].headers["sl-violations"]


def test_a_following_page_is_requested_at_the_next_link(prism_teams, exchanges, run_action):
    # Prism's placeholder nextLink "string" resolves next to the listing and is not routed.
    r = run_action(prism_teams, "list_joined_teams", {"max_items": 2})
    assert r.status_code == 422
    assert [x.request.path_url for x in exchanges] == ["/me/joinedTeams", "/me/string"]
