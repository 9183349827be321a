"""Fixtures of the Dropbox plugin tests: the documented fake (``fake.py``: the API and content
hosts on two loopback ports), connections to it, and Dropbox's token endpoint faked with
``responses`` (the plugin's token URL is the real one) while every loopback request passes
through to the fake."""
from __future__ import annotations

import re

import pytest
import responses

from tests.plugins.dropbox.fake import APP_SECRET
from tests.plugins.dropbox.fake import TOKEN
from tests.plugins.dropbox.fake import FakeDropbox

TOKEN_URL = "https://api.dropboxapi.com/oauth2/token"


@pytest.fixture
def dropbox():
    """A fresh fake Dropbox per test."""
    with FakeDropbox() as fake:
        yield fake


@pytest.fixture
def connect(create_connection, dropbox):
    """A Dropbox connection to the fake; keyword arguments become settings, ``credentials``
    replaces or adds credentials."""
    def make(credentials: dict | None = None, label: str | None = None, **settings):
        creds = {"access_token": TOKEN, "app_secret": APP_SECRET, **(credentials or {})}
        creds = {k: v for k, v in creds.items() if v is not None}
        return create_connection("dropbox", settings={
            "base_url": dropbox.api_url, "content_url": dropbox.content_url, "max_attempts": 1,
            **settings}, credentials=creds, label=label)

    return make


@pytest.fixture
def token_endpoint(dropbox):
    """``POST https://api.dropboxapi.com/oauth2/token`` answered by the fake's token logic;
    yields the recorded calls (the token requests among them)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(re.compile(r"http://127\.0\.0\.1:\d+/"))
        rsps.add_callback(responses.POST, TOKEN_URL,
                          callback=lambda request: dropbox.token_answer(request.body))
        yield rsps.calls
