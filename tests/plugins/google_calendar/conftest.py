"""Fixtures of the Google Calendar plugin tests: connections, the live integration of a
connection (for the poll triggers), and Google Calendar faked at the HTTP seam (``responses``)
for the answers Prism cannot give."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses


FIXTURES = Path(__file__).parent / "fixtures"
CAL = "https://www.googleapis.com/calendar/v3"
EVENTS = f"{CAL}/calendars/primary/events"
TOKEN = "ya29.a0AfH6SMBcalendar-test-access-token-0123456789"


def recorded(name: str) -> dict[str, Any]:
    """A Google answer from ``fixtures/<name>.json`` (shapes from Google's reference)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def fake_calendar():
    """Google Calendar faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def calendar_connection(create_connection):
    """Create a Google Calendar connection (OAuth2 tokens, as the connect flow stores them)."""
    def make(settings: dict | None = None, **credentials: Any) -> dict:
        return create_connection("google_calendar", settings or {},
                                 {"access_token": TOKEN, **credentials})

    return make
