"""What the documented fakes (``tests/plugins/<slug>/fake.py``) share: the recorded request,
the scripted or routed answer, and serving a WSGI app on 127.0.0.1.

A fake subclasses ``LoopbackFake`` and hands it its WSGI app(s) at the end of ``__init__``:
one app (``url`` is its origin) or several named ones (Dropbox's ``api`` and ``content``
hosts; ``origin(name)`` is each one's). ``start()`` serves them on free ports in daemon
threads, ``stop()`` shuts them down; the fake is also a context manager. ``push()`` queues a
``Reply`` that answers the next request instead of the routes (``received()`` records a
request and takes it).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Callable
from typing import TypeVar

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

HOST = "127.0.0.1"
WSGIApp = Callable[..., Any]
F = TypeVar("F", bound="LoopbackFake")


@dataclass
class Recorded:
    """One request a fake received. Each fake fills the fields it needs (by keyword):
    the HTTP ones (``method``, ``path``, ``query``, ``headers``, ``json``, ``form``) or,
    for Dropbox, ``host``, ``route``, ``arg``, ``size`` and ``raw_arg``."""

    method: str = ""
    path: str = ""
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    host: str = ""
    route: str = ""
    arg: Any = None
    size: int = 0
    raw_arg: str | None = None


class Reply(Exception):
    """An answer: raised by a route or scripted with ``push()``. ``body`` is JSON (or bytes /
    str where a fake serves those); ``text`` a plain-text body (Dropbox's 400s)."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                 text: str | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers, self.text = status, body, headers or {}, text


class QuietHandler(WSGIRequestHandler):
    """No access log, no http.server messages (app errors still reach werkzeug's logger)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, *args: Any, **kwargs: Any) -> None:
        pass


class LoopbackFake:
    poll_interval = 0.02  # how soon stop() returns (socketserver polls its shutdown flag)

    requests: list[Any]
    scripted: list[Any]

    def __init__(self, app: WSGIApp | None = None, **named: WSGIApp) -> None:
        apps = named if app is None else {"main": app, **named}
        if not apps:
            raise TypeError("LoopbackFake needs at least one WSGI app")
        self.requests = []
        self.scripted = []
        self.servers: dict[str, BaseWSGIServer] = {
            name: make_server(HOST, 0, wsgi, threaded=True, request_handler=QuietHandler)
            for name, wsgi in apps.items()}
        self._threads = [
            threading.Thread(target=server.serve_forever,
                             kwargs={"poll_interval": self.poll_interval}, daemon=True)
            for server in self.servers.values()]

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def server(self) -> BaseWSGIServer:
        """The first (or only) server."""
        return next(iter(self.servers.values()))

    def origin(self, name: str | None = None) -> str:
        server = self.server if name is None else self.servers[name]
        return f"http://{HOST}:{server.server_port}"

    @property
    def url(self) -> str:
        return self.origin()

    def start(self: F) -> F:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        for server, thread in zip(self.servers.values(), self._threads):
            if thread.is_alive():  # shutdown() waits for serve_forever, so only when started
                server.shutdown()
            server.server_close()

    def __enter__(self: F) -> F:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- scripting and looking back ------------------------------------------------------------

    def push(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with this instead of routing it."""
        self.scripted.append(Reply(status, body, headers))

    def received(self, rec: Recorded) -> Reply | None:
        """Record ``rec``; the next pushed answer (taken off the queue) if there is one, to
        answer it with instead of routing it. Call it holding the fake's lock."""
        self.requests.append(rec)
        return self.scripted.pop(0) if self.scripted else None

    def calls(self, method: str, path: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.method == method
                and (path is None or r.path == path)]
