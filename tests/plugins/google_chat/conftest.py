"""Fixtures of the Google Chat plugin tests: OAuth2 and incoming-webhook connections, and Google
Chat faked at the HTTP seam (``responses``) for what Prism cannot answer."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

FIXTURES = Path(__file__).parent / "fixtures"
CHAT = "https://chat.googleapis.com"
SPACE = "spaces/AAAAb4Cd3fE"
MESSAGE = f"{SPACE}/messages/BBBBx1.BBBBx1"
ACCESS_TOKEN = "ya29.a0AfH6SMBx-test-access-token-0123456789"
WEBHOOK_KEY = "AIzaSyTestKey-0123456789abcdefghijklmn"
WEBHOOK_TOKEN = "q1W2e3R4t5Y6u7I8o9P0-test-webhook-token_0123456789abcd"
WEBHOOK_URL = f"{CHAT}/v1/{SPACE}/messages?key={WEBHOOK_KEY}&token={WEBHOOK_TOKEN}"


def recorded(name: str) -> Any:
    """A sanitised Google Chat answer from ``fixtures/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def fake_chat():
    """Google Chat faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def chat_connection(create_connection):
    """An OAuth2 connection (the tokens the connect flow stores), through the API."""
    def make(settings: dict | None = None, **credentials: Any) -> dict:
        return create_connection("google_chat", settings or {},
                                 {"access_token": ACCESS_TOKEN, **credentials})

    return make


@pytest.fixture
def webhook_connection(create_connection):
    """An incoming-webhook connection: the URL alone, no OAuth2."""
    def make(settings: dict | None = None, url: str = WEBHOOK_URL) -> dict:
        return create_connection("google_chat", settings or {}, {"webhook_url": url})

    return make
