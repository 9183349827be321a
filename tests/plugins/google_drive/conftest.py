"""Fixtures of the Google Drive plugin tests: connections, the live integration of a
connection (for the poll trigger), and Drive faked at the HTTP seam (``responses``) for the
answers Prism cannot give."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses


FIXTURES = Path(__file__).parent / "fixtures"
ROOT = "https://www.googleapis.com"
API = f"{ROOT}/drive/v3"
UPLOAD = f"{ROOT}/upload/drive/v3/files"
TOKEN = "ya29.a0AfH6SMBdrive-test-access-token-0123456789"
FOLDER = "0B9xYzFolder0123456789abcdef"


def recorded(name: str) -> dict[str, Any]:
    """A Google answer from ``fixtures/<name>.json`` (shapes from Google's reference)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def fake_drive():
    """Google Drive faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def drive_connection(create_connection):
    """Create a Google Drive connection (OAuth2 tokens, as the connect flow stores them)."""
    def make(settings: dict | None = None, **credentials: Any) -> dict:
        return create_connection("google_drive", settings or {},
                                 {"access_token": TOKEN, **credentials})

    return make
