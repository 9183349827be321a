"""Fixtures of the Linear plugin tests: connections, and the graphql-core fake of Linear's API
at the HTTP seam (``responses``)."""
from __future__ import annotations

import pytest
import responses

from tests.plugins.linear.fake_linear import FakeLinear

API = "https://api.linear.app/graphql"
API_KEY = "lin_api_Xy7Qp0aZ3kLm9Nb2Vc4Rt6Yu8Io1Pq5Ws0Ed3Rf"
WEBHOOK_SECRET = "lin_wh_4f1c2b9a8e7d6c5b4a3f2e1d0c9b8a7f"


@pytest.fixture
def http():
    """Linear faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def fake_linear(http):
    """The stateful fake served at Linear's endpoint; fails the test if the plugin sent a
    document or variables the schema refuses."""
    fake = FakeLinear()
    fake.serve(http)
    yield fake
    assert not fake.invalid, f"Linear's schema refused what the plugin sent: {fake.invalid}"


@pytest.fixture
def linear_connection(create_connection):
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, **credentials}
        return create_connection("linear", settings or {}, creds)

    return make
