"""Fixtures of the monday.com plugin tests: connections, and the graphql-core fake of monday's
API at the HTTP seam (``responses``)."""
from __future__ import annotations

import pytest
import responses

from tests.plugins.monday.fake_monday import FakeMonday

API = "https://api.monday.com/v2"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ0aWQiOjQyNDI0MiwidWlkIjo0MDEyNjg5fQ.s3cr3t-personal-token"
# monday signing secrets are 32 characters; a shorter HS256 key would draw pyjwt's warning.
SIGNING_SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.fixture
def http():
    """monday faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def fake_monday(http):
    """The stateful fake served at monday's endpoint; fails the test if the plugin sent a
    document or variables the schema refuses."""
    fake = FakeMonday()
    fake.serve(http)
    yield fake
    assert not fake.invalid, f"monday's schema refused what the plugin sent: {fake.invalid}"


@pytest.fixture
def monday_connection(create_connection):
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"token": TOKEN, "signing_secret": SIGNING_SECRET, **credentials}
        return create_connection("monday", settings or {}, creds)

    return make
