"""Fixtures of the Salesforce plugin tests: the documented fake org (``fake.py``) on loopback
and connections to it."""
from __future__ import annotations

import pytest

from tests.plugins.salesforce.fake import CLIENT_ID
from tests.plugins.salesforce.fake import CLIENT_SECRET
from tests.plugins.salesforce.fake import REFRESH
from tests.plugins.salesforce.fake import TOKEN
from tests.plugins.salesforce.fake import FakeSalesforce


@pytest.fixture
def sf():
    fake = FakeSalesforce().start()
    yield fake
    fake.stop()


@pytest.fixture
def oauth_app(client, keys, sf):
    """The admin's OAuth app (a connected app's consumer key and secret); its login_url is the
    fake's, so refreshes go there."""
    response = client.put("/api/v2/oauth-apps/salesforce", headers=keys["admin"], json={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "settings": {"login_url": sf.url}})
    assert response.status_code in (200, 201), response.get_json()


@pytest.fixture
def connect(create_connection, sf):
    """A connection to the fake; keyword arguments become settings."""

    def make(token: str = TOKEN, refresh: str | None = REFRESH, **settings):
        creds = {"access_token": token}
        if refresh:
            creds["refresh_token"] = refresh
        return create_connection("salesforce", settings={
            "instance_url": sf.url, "login_url": sf.url, "max_attempts": 1, **settings},
            credentials=creds)

    return make


@pytest.fixture
def run(client, keys):
    """POST an action through the API; return (status code, JSON body)."""

    def call(conn: dict, action: str, body: dict | None = None):
        response = client.post(f"/api/v2/connections/{conn['id']}/actions/{action}",
                               headers=keys["editor"], json=body or {})
        return response.status_code, response.get_json()

    return call
