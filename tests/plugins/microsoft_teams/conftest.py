"""Fixtures of the Microsoft Teams plugin tests: connections, Graph faked at the HTTP seam
(``responses``), the live integration of a connection, and a workflow API whose engine is shut
down after the test."""
from __future__ import annotations

import pytest
import responses


GRAPH = "https://graph.microsoft.com/v1.0"
TOKEN = "eyJ0eXAiOiJKV1QiLCJub25jZSI6Imdyb3VwLXRva2VuIn0.teams-access-token-0123456789"
CLIENT_STATE = "secretClientValue-5f3c9a1e7b"
TEAM = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
CHANNEL = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
# How the channel id travels in a URL path: every segment is percent-encoded.
CHANNEL_PATH = f"{GRAPH}/teams/{TEAM}/channels/19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2"


@pytest.fixture
def fake_graph():
    """Graph faked under IntegrationClient; unregistered URLs fail the call."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def teams_connection(create_connection):
    """Create a Teams connection through the API; returns its JSON."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"access_token": TOKEN, "client_state": CLIENT_STATE, **credentials}
        return create_connection("microsoft_teams", settings or {}, creds)

    return make
