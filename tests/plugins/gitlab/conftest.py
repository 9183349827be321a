"""Fixtures of the GitLab plugin tests: connections and the stateful fake GitLab
(``fake_gitlab.py``) at the HTTP seam."""
from __future__ import annotations

import pytest
import responses

from tests.plugins.gitlab.fake_gitlab import TOKEN
from tests.plugins.gitlab.fake_gitlab import FakeGitLab

GITLAB = "https://gitlab.com/api/v4"
WEBHOOK_TOKEN = "whk-5f0c7a1e2b9d4c3a8e6f0123"
PROJECT = "gitlab-org/gitlab-test"
PROJECT_ID = 14


@pytest.fixture
def mocked():
    """The HTTP seam; a request no fake answers fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def fake_gitlab(mocked):
    """gitlab.com, with one project the token's user is a member of."""
    fake = FakeGitLab(GITLAB).register(mocked)
    fake.add_project(PROJECT, PROJECT_ID)
    return fake


@pytest.fixture
def gitlab_connection(create_connection):
    """Create a GitLab connection through the API; returns its JSON."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"token": TOKEN, "webhook_token": WEBHOOK_TOKEN, **credentials}
        creds = {k: v for k, v in creds.items() if v is not None}
        return create_connection("gitlab", settings or {}, creds)

    return make
