"""Fixtures of the Slack plugin tests: connections, the API calls users make, and a fake Slack
at the HTTP seam (``responses``) for the answers Prism cannot give."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses


FIXTURES = Path(__file__).parent / "fixtures"
SLACK = "https://slack.com/api"
TOKEN = "xoxb-1111-2222-abcdefABCDEF"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def recorded(name: str) -> dict[str, Any]:
    """A sanitised Slack answer from ``fixtures/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def fake_slack():
    """Slack's Web API faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def slack_connection(create_connection):
    """Create a Slack connection through the API; returns its JSON."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"token": TOKEN, "signing_secret": SIGNING_SECRET, **credentials}
        return create_connection("slack", settings or {}, creds)

    return make
