"""Fixtures of the Notion plugin tests: connections, recorded answers and a fake Notion at the
HTTP seam (``responses``) for what Prism cannot answer (Notion's spec answers ``{}``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

FIXTURES = Path(__file__).parent / "fixtures"
NOTION = "https://api.notion.com/v1"
TOKEN = "ntn_4312345678901aBcDeFgHiJkLmNoPqRsTuVwXyZ0123"
# The verification_token of Notion's webhook reference example.
VERIFICATION_TOKEN = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
PAGE_ID = "59833787-2cf9-4fdf-8782-e53db20768a5"
DATABASE_ID = "8e2c2b76-9e1d-47d2-87b9-ed3035d607ae"
DATA_SOURCE_ID = "b55c9c91-384d-452b-81db-d1ef79372b75"


def recorded(name: str) -> dict[str, Any]:
    """A Notion answer from ``fixtures/<name>.json`` (shapes of Notion's API reference)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def notion_error(status: int, code: str, message: str) -> dict[str, Any]:
    """Notion's error body (https://developers.notion.com/reference/status-codes)."""
    return {"object": "error", "status": status, "code": code, "message": message,
            "request_id": "be1e1a8a-1bd0-4d49-9d8e-6a1c9e3e1f11"}


@pytest.fixture
def fake_notion():
    """Notion faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def notion_connection(create_connection):
    """Create a Notion connection through the API; returns its JSON."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"token": TOKEN, "webhook_secret": VERIFICATION_TOKEN, **credentials}
        creds = {k: v for k, v in creds.items() if v is not None}
        return create_connection("notion", settings or {}, creds)

    return make


def sent(call) -> Any:
    """The JSON body of a recorded request."""
    return json.loads(call.request.body)
