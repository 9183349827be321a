"""Fixtures for the ``atom`` CLI tests: the app (its engine and notifier stopped after the test),
a fake service on loopback with an ``http`` connection to it, the workflow API, and checks that
an error is one line on stderr with a non-zero exit and no traceback."""
from __future__ import annotations

import sys
from typing import Any

import pytest

from atom.cli import main
from atom.monitoring.monitor import get_monitor
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("ATOM_BIND", "GUNICORN_CMD_ARGS", "ATOM_CLI_TRACEBACK"):
        monkeypatch.delenv(name, raising=False)
    app = app_factory()
    yield app
    close_engine(app)
    get_monitor(app).notifier.close()


@pytest.fixture
def fake(app):
    """The scripted service (``/health`` answers 200); torn down before the app."""
    with FakeServer() as server:
        server.always("/health", reply(200, {"ok": True}))
        yield server


@pytest.fixture
def conn(create_connection, fake) -> dict:
    return create_connection("http", {"base_url": fake.url, "max_attempts": 1,
                                      "health_path": "/health"}, label="fake service")


@pytest.fixture
def api(client, keys) -> Api:
    return Api(client, keys["editor"])


@pytest.fixture
def atom(runner):
    """Run ``atom ARGS...``: ``atom("executions", "list")``."""
    def invoke(*args: Any, **kwargs: Any):
        return runner.invoke(main, [str(a) for a in args], **kwargs)

    return invoke


def assert_one_line_error(result, *fragments: str, exit_code: int | None = None) -> str:
    """The command failed with exactly one line on stderr (``Error: ...``) naming
    ``fragments``, and no traceback anywhere."""
    assert result.exit_code != 0, result.output
    if exit_code is not None:
        assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


@pytest.fixture
def tty(monkeypatch):
    """Make the CLI believe stderr (``"stderr"``), stdout (``"stdout"``) or both are terminals."""
    def make(*streams: str) -> None:
        def isatty(stream: Any) -> bool:
            return any(stream is getattr(sys, name) for name in streams)

        monkeypatch.setattr("atom.cli.base.isatty", isatty)

    return make
