"""Fixtures of the OneDrive plugin tests: connections, and OneDrive faked at the HTTP seam
(``fake.FakeOneDrive``) for what Prism cannot answer."""
from __future__ import annotations

from typing import Any

import pytest
import responses

from tests.plugins.onedrive.fake import FakeOneDrive

TOKEN = "EwBwA8l6BAAUO9chh8cJscQLmU+LSWpbnr0vmwwAAX-onedrive-test-token-0123456789"
CLIENT_STATE = "secretClientValue-0d7f3c9a1e"


@pytest.fixture
def fake():
    """OneDrive faked under IntegrationClient; unregistered URLs fail the call."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeOneDrive(rsps)


@pytest.fixture
def onedrive_connection(create_connection):
    """Create a OneDrive connection (OAuth2 tokens, as the connect flow stores them)."""
    def make(settings: dict | None = None, label: str | None = None, **credentials: Any) -> dict:
        creds = {"access_token": TOKEN, "client_state": CLIENT_STATE, **credentials}
        return create_connection("onedrive", {"max_attempts": 3, **(settings or {})}, creds,
                                 label=label)

    return make


@pytest.fixture
def conn(onedrive_connection):
    return onedrive_connection()
