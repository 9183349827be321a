"""Fakes for ATOM's own interfaces and for the services behind them.

* :class:`FakeClock` advances virtual time instead of sleeping and records every sleep.
* :class:`FakeServer` is a real HTTP server on 127.0.0.1 whose answers per path are a scripted
  queue (status, headers, body, a delay before answering, or a dropped connection); it records
  every request it got. Fault tests of ``IntegrationClient`` run against it through real sockets.
* :class:`ListRecorder` collects the :class:`CallStat` objects a client records.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from typing import Callable
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from requests.structures import CaseInsensitiveDict

START_EPOCH = 1_700_000_000.0


class FakeClock:
    """Virtual time: ``sleep`` advances it and records the duration; nothing really sleeps.

    ``time()`` and ``monotonic()`` move together, so an epoch computed from ``time()`` (a reset
    header) and a deadline computed from ``monotonic()`` agree. The epoch is deliberately far
    from the real one so code that reads ``time.time()`` instead of the clock is caught.
    """

    def __init__(self, epoch: float = START_EPOCH, monotonic: float = 1000.0) -> None:
        self._epoch0 = epoch
        self._mono0 = monotonic
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._mono0 + self._elapsed

    def time(self) -> float:
        with self._lock:
            return self._epoch0 + self._elapsed

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._elapsed += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without anyone sleeping (not recorded in :attr:`sleeps`)."""
        with self._lock:
            self._elapsed += seconds

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the clock was made."""
        with self._lock:
            return self._elapsed

    @property
    def slept(self) -> float:
        """Total seconds slept."""
        with self._lock:
            return sum(s for s in self.sleeps if s > 0)


@dataclass
class Reply:
    """One scripted answer.

    :param body: bytes, str, or anything JSON-able (sent as ``application/json``).
    :param delay: seconds to wait (really) before answering.
    :param drop: close the socket without answering anything.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


def reply(status: int = 200, body: Any = b"", **kw: Any) -> Reply:
    return Reply(status, body, **kw)


def drop() -> Reply:
    """A connection the server closes without answering."""
    return Reply(drop=True)


@dataclass
class Recorded:
    """A request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


Responder = Callable[[Recorded], Reply]


class FakeServer:
    """A scripted HTTP server on 127.0.0.1 and a free port, serving from a daemon thread.

    ``script(path, *replies)`` queues answers for a path (query strings are ignored when
    matching); ``always(path, reply_or_callable)`` answers whenever that queue is empty.
    Unscripted requests get a 599 so a test notices. Use as a context manager or call
    :meth:`stop`.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queues: dict[str, list[Reply]] = {}
        self._defaults: dict[str, Reply | Responder] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # a client gave up: fine
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def script(self, path: str, *replies: Reply) -> FakeServer:
        with self._lock:
            self._queues.setdefault(path, []).extend(replies)
        return self

    def always(self, path: str, answer: Reply | Responder) -> FakeServer:
        with self._lock:
            self._defaults[path] = answer
        return self

    def calls(self, path: str | None = None, method: str | None = None) -> list[Recorded]:
        """The recorded requests, optionally only those for ``path`` and ``method``."""
        with self._lock:
            return [r for r in self.requests
                    if (path is None or r.path == path) and (method is None or r.method == method)]

    def count(self, path: str | None = None) -> int:
        return len(self.calls(path))

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- used by the handler ------------------------------------------------------------------

    def _next(self, req: Recorded) -> Reply:
        with self._lock:
            self.requests.append(req)
            queue = self._queues.get(req.path)
            if queue:
                return queue.pop(0)
            answer = self._defaults.get(req.path)
        if answer is None:
            return Reply(599, {"error": f"FakeServer: nothing scripted for {req.path}"})
        return answer(req) if callable(answer) else answer

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _handler_for(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            recorded = Recorded(self.command, parts.path, parse_qs(parts.query),
                                CaseInsensitiveDict(self.headers.items()), body)
            answer = server._next(recorded)
            if answer.delay:
                server._wait(answer.delay)
            if answer.drop:
                self.close_connection = True
                return
            payload, ctype = _encode(answer.body)
            self.send_response(answer.status)
            headers = {"Content-Type": ctype, **answer.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    return Handler


def _encode(body: Any) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, "application/octet-stream" if body else "text/plain"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json"


def free_port() -> int:
    """A port nothing listens on (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ListRecorder:
    """A metrics recorder that keeps every :class:`CallStat` in :attr:`stats`."""

    def __init__(self) -> None:
        self.stats: list[Any] = []

    def record(self, stat: Any) -> None:
        self.stats.append(stat)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
