"""Fixtures of the Webex plugin tests: the local stateful fake Webex, connections to it, Webex
faked at the HTTP seam (``responses``) for fault paths, and the live integration."""
from __future__ import annotations

import pytest
import responses

from tests.plugins.webex.fake_webex import TOKEN
from tests.plugins.webex.fake_webex import FakeWebex

WEBEX = "https://webexapis.com/v1"
WEBHOOK_SECRET = "whsec-webex-7c1b2d9e4f"


@pytest.fixture
def webex():
    """A fresh fake Webex per test, on 127.0.0.1."""
    fake = FakeWebex().start()
    yield fake
    fake.stop()


@pytest.fixture
def connect(create_connection, webex):
    """A Webex connection pointed at the fake; keyword arguments become settings."""
    def make(token: str = TOKEN, **settings):
        return create_connection(
            "webex", settings={"base_url": f"{webex.url}/v1", "max_attempts": 1, **settings},
            credentials={"token": token, "webhook_secret": WEBHOOK_SECRET})

    return make


@pytest.fixture
def fake_http():
    """Webex faked under IntegrationClient, for the answers the fake does not script."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def webex_connection(create_connection):
    """A connection to the real base URL (for ``fake_http``)."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"token": TOKEN, "webhook_secret": WEBHOOK_SECRET, **credentials}
        return create_connection("webex", settings or {}, creds)

    return make
