from __future__ import annotations

import pytest

from tests.plugins.hubspot.fake_hubspot import TOKEN
from tests.plugins.hubspot.fake_hubspot import FakeHubSpot

CLIENT_SECRET = "4b9f0c1e-hubspot-app-client-secret"


@pytest.fixture
def hubspot():
    """A fresh fake HubSpot per test, on 127.0.0.1."""
    fake = FakeHubSpot().start()
    yield fake
    fake.stop()


@pytest.fixture
def connect(create_connection, hubspot):
    """Create a HubSpot connection pointed at the fake; keyword arguments become settings."""

    def make(token: str = TOKEN, **settings):
        return create_connection(
            "hubspot",
            settings={"base_url": hubspot.url, "max_attempts": 1, **settings},
            credentials={"access_token": token, "client_secret": CLIENT_SECRET},
        )

    return make


@pytest.fixture
def run(client, keys):
    """POST an action through the API; return (status code, JSON body)."""

    def call(conn: dict, action: str, body: dict | None = None):
        response = client.post(f"/api/v2/connections/{conn['id']}/actions/{action}",
                               headers=keys["editor"], json=body or {})
        return response.status_code, response.get_json()

    return call
