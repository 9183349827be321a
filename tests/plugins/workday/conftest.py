"""Fixtures of the Workday plugin tests: the documented fake tenant (``fake.py``)."""
from __future__ import annotations

import pytest

from tests.plugins.workday.fake import CLIENT_ID
from tests.plugins.workday.fake import CLIENT_SECRET
from tests.plugins.workday.fake import REFRESH
from tests.plugins.workday.fake import TENANT
from tests.plugins.workday.fake import FakeWorkday


@pytest.fixture
def wd():
    fake = FakeWorkday().start()
    fake.seed_examples()
    yield fake
    fake.stop()


@pytest.fixture
def connect(create_connection, wd):
    def make(refresh: str = REFRESH, **settings):
        return create_connection("workday", settings={
            "host": wd.url, "tenant": TENANT, "max_attempts": 1, **settings},
            credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                         "refresh_token": refresh})

    return make


@pytest.fixture
def run(client, keys):
    def call(conn: dict, action: str, body: dict | None = None):
        response = client.post(f"/api/v2/connections/{conn['id']}/actions/{action}",
                               headers=keys["editor"], json=body or {})
        return response.status_code, response.get_json()

    return call
