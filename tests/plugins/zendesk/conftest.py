"""Fixtures of the Zendesk plugin tests: the documented fake (tests/plugins/zendesk/fake.py)
and connections to it."""
from __future__ import annotations

import pytest

from tests.plugins.zendesk.fake import API_TOKEN
from tests.plugins.zendesk.fake import EMAIL
from tests.plugins.zendesk.fake import FakeZendesk

SIGNING_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="


@pytest.fixture
def zendesk():
    fake = FakeZendesk().start()
    yield fake
    fake.stop()


@pytest.fixture
def connect(create_connection, zendesk):
    """A Zendesk connection to the fake; keyword arguments become settings."""
    def make(credentials: dict | None = None, **settings):
        creds = credentials or {"email": EMAIL, "api_token": API_TOKEN}
        return create_connection(
            "zendesk", settings={"base_url": zendesk.api, "max_attempts": 3, **settings},
            credentials={**creds, "webhook_secret": SIGNING_SECRET})

    return make
