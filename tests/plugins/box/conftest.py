"""Fixtures of the Box plugin tests: the documented fake (tests/plugins/box/fake_box.py) on
three loopback origins, and connections pointed at it."""
from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.box.fake_box import CLIENT_ID
from tests.plugins.box.fake_box import CLIENT_SECRET
from tests.plugins.box.fake_box import ENTERPRISE
from tests.plugins.box.fake_box import TOKEN
from tests.plugins.box.fake_box import FakeBox

PRIMARY_KEY = "SamplePrimaryKey0123456789abcdef"
SECONDARY_KEY = "SampleSecondaryKey0123456789abc"


@pytest.fixture
def box():
    fake = FakeBox(part_size=4096).start()
    yield fake
    fake.stop()


@pytest.fixture
def box_connection(create_connection, box):
    """A Box connection on the fake: OAuth2 tokens (as the connect flow stores them) unless
    credentials say otherwise; keyword ``settings`` are added to the fake's URLs."""
    def make(settings: dict | None = None, label: str | None = None,
             **credentials: Any) -> dict:
        creds = credentials or {"access_token": TOKEN}
        return create_connection("box", {"base_url": box.base_url, "upload_url": box.upload_url,
                                         "max_attempts": 1, **(settings or {})}, creds, label)

    return make


@pytest.fixture
def ccg_credentials() -> dict[str, str]:
    return {"auth_mode": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "subject_type": "enterprise",
            "subject_id": ENTERPRISE}
