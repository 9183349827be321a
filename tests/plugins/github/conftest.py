"""Fixtures of the GitHub plugin tests: connections, the API calls users make, and a fake
GitHub at the HTTP seam (``responses``) for the answers Prism cannot give."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses


FIXTURES = Path(__file__).parent / "fixtures"
GITHUB = "https://api.github.com"
REPO = f"{GITHUB}/repos/octocat/Hello-World"
TOKEN = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
WEBHOOK_SECRET = "It's a Secret to Everybody"


def recorded(name: str) -> Any:
    """A sanitised GitHub answer from ``fixtures/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def fake_github():
    """GitHub's REST API faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def github_connection(create_connection):
    """Create a GitHub connection through the API; returns its JSON."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"token": TOKEN, "webhook_secret": WEBHOOK_SECRET, **credentials}
        return create_connection("github", settings or {}, creds)

    return make
