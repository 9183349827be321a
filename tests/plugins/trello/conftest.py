"""Fixtures of the Trello plugin tests: connections, and Trello faked at the HTTP seam
(``responses``) for the answers Prism cannot give (plain-text errors, rate limits, ``me``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

FIXTURES = Path(__file__).parent / "fixtures"
TRELLO = "https://api.trello.com/1"
API_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
TOKEN = "ATTAf0e1d2c3b4a5968778695a4b3c2d1e0f0e1d2c3b4a5968778695a4b3c2d1e0f9A8B7C6D"
APP_SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
BOARD = "4d5ea62fd76aa1136000000c"
TODO = "4d5ea62fd76aa11360000010"
DOING = "4d5ea62fd76aa11360000011"
CARD = "51a79e72dbb7e23c7c003778"


def recorded(name: str) -> Any:
    """A Trello answer from ``fixtures/<name>.json`` (shapes of Trello's API reference)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


class FakeTrello:
    """Trello's API faked under IntegrationClient (``responses``); unregistered URLs fail.

    ``sent`` keeps each request's URL as it left the client: the client redacts the
    connection's secrets from the request it keeps with a response, and Trello's key and token
    travel in the query string.
    """

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.sent: list[str] = []

    @property
    def calls(self) -> Any:
        return self.rsps.calls

    def add(self, method: str, url: str, *, json: Any = None, body: Any = None,
            status: int = 200, headers: dict[str, str] | None = None) -> None:
        def answer(request: Any) -> Any:
            self.sent.append(request.url)
            if isinstance(body, Exception):
                raise body
            if json is not None:
                typed = {"Content-Type": "application/json", **(headers or {})}
                return status, typed, _dumps(json)
            plain = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
            return status, plain, body or ""

        self.rsps.add_callback(method, url, callback=answer)

    def get(self, url: str, **kw: Any) -> None:
        self.add("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> None:
        self.add("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> None:
        self.add("PUT", url, **kw)


def _dumps(value: Any) -> str:
    return json.dumps(value)


@pytest.fixture
def fake_trello():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeTrello(rsps)


@pytest.fixture
def trello_connection(create_connection):
    """Create a Trello connection through the API; returns its JSON."""
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = {"api_key": API_KEY, "token": TOKEN, "app_secret": APP_SECRET, **credentials}
        return create_connection("trello", settings or {}, creds)

    return make
