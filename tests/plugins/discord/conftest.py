"""Fixtures of the Discord plugin tests: connections, an application key pair for signed
interactions, and Discord faked at the HTTP seam (``responses``) for what Prism cannot answer."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import responses
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat

FIXTURES = Path(__file__).parent / "fixtures"
DISCORD = "https://discord.com/api/v10"
TOKEN = "MTE4OTI4MzAxMTExNDY5MjAwMA.GhJk3L.aBcDeFgHiJkLmNoPqRsTuVwXyZ012345678"
CHANNEL = "1189283011114692648"
MESSAGE = "1189290000000000001"
GUILD = "290926798626357999"
# The application's key pair, made here from a fixed seed (the same in every test process):
# Discord signs with the private key and the connection stores the public one (its
# "public_key" credential).
APP_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"atom-discord-test-app").digest())
PUBLIC_KEY = APP_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def recorded(name: str) -> Any:
    """A sanitised Discord answer from ``fixtures/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def fake_discord():
    """Discord's API faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def discord_connection(create_connection):
    """Create a Discord connection through the API; returns its JSON."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"token": TOKEN, "public_key": PUBLIC_KEY, **credentials}
        return create_connection("discord", settings or {}, creds)

    return make
