"""Fixtures of the Asana plugin tests: connections, and Asana faked at the HTTP seam
(``responses``) for the answers Prism cannot give (pages, errors, rate limits)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

FIXTURES = Path(__file__).parent / "fixtures"
ASANA = "https://app.asana.com/api/1.0"
TOKEN = "2/1204567890123456/1206543210987654:0a1b2c3d4e5f60718293a4b5c6d7e8f9"
# Asana's documented handshake secret (https://developers.asana.com/reference/createwebhook).
HOOK_SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"


def recorded(name: str) -> dict[str, Any]:
    """An Asana answer from ``fixtures/<name>.json`` (shapes of Asana's API reference)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def fake_asana():
    """Asana's API faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def asana_connection(create_connection):
    """Create an Asana connection through the API; returns its JSON."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        return create_connection("asana", settings or {}, {"token": TOKEN, **credentials})

    return make
