"""Fixtures of the Gmail plugin tests: connections, the live integration of a connection (for
the poll trigger), and Gmail faked at the HTTP seam (``responses``) for the answers Prism
cannot give."""
from __future__ import annotations

import base64
import json
from email import message_from_bytes
from email import policy
from pathlib import Path
from typing import Any

import pytest
import responses


FIXTURES = Path(__file__).parent / "fixtures"
GMAIL = "https://gmail.googleapis.com/gmail/v1/users/me"
TOKEN = "ya29.a0AfH6SMBgmail-test-access-token-0123456789"


def recorded(name: str) -> dict[str, Any]:
    """A Google answer from ``fixtures/<name>.json`` (shapes from Google's reference)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def sent_mail(call) -> Any:
    """The RFC 2822 message a send or draft call carried, parsed."""
    payload = json.loads(call.request.body)
    raw = (payload.get("message") or payload)["raw"]
    return message_from_bytes(base64.urlsafe_b64decode(raw), policy=policy.default)


@pytest.fixture
def fake_gmail():
    """Gmail faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def gmail_connection(create_connection):
    """Create a Gmail connection (OAuth2 tokens, as the connect flow stores them)."""
    def make(settings: dict | None = None, **credentials: Any) -> dict:
        return create_connection("gmail", settings or {}, {"access_token": TOKEN, **credentials})

    return make
