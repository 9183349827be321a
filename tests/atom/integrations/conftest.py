"""Fixtures for the client fault tests: a scripted local server, a fake clock, a client factory."""
from __future__ import annotations

from typing import Any

import pytest

from atom.integrations.http import ClientSettings
from atom.integrations.http import IntegrationClient
from atom.integrations.outbound import OutboundPolicy
from tests.fakes import FakeClock
from tests.fakes import FakeServer
from tests.fakes import ListRecorder
from tests.fakes import reply


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder() -> ListRecorder:
    return ListRecorder()


@pytest.fixture
def make_client(server, clock, recorder):
    """Build an ``IntegrationClient`` for the fake server; keywords override ``ClientSettings``.

    The client gets the testing outbound policy (loopback allowed) unless ``client_kw`` names
    another ``policy``.
    """
    clients: list[IntegrationClient] = []

    def make(*, auth: Any = None, settings: ClientSettings | None = None,
             client_kw: dict[str, Any] | None = None, **overrides: Any) -> IntegrationClient:
        if settings is None:
            settings = ClientSettings(base_url=server.url, connect_timeout=2.0, read_timeout=5.0)
        client = IntegrationClient(
            integration="fake",
            connection_id=7,
            settings=settings.with_overrides(**overrides),
            auth=auth,
            recorder=recorder,
            clock=clock,
            **{"policy": OutboundPolicy(allow_private=True), **(client_kw or {})},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def other():
    """A second local server: another port is another origin."""
    with FakeServer() as fake:
        for path in ("/", "/x", "/landing"):
            fake.always(path, reply(200, {"other": True}))
        yield fake
