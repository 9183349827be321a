"""A file server and a Google Drive resumable-upload endpoint that hold no file in memory, run
in its own process so that only the ATOM side's memory is measured.

``python -m tests.plugins.stream_fake PORT``; then:

- ``GET /files/<n>.bin`` streams ``n`` MiB of deterministic bytes (``Content-Length`` set);
  ``/files/<n>.bin?nolength=1`` streams them chunked, without a length.
- ``POST /upload/drive/v3/files?uploadType=resumable`` opens a session (``Location``); ``PUT``
  on it takes ``Content-Range`` chunks as Drive does (308 with ``Range``, then 200 with the
  file), hashing what arrives.
- ``GET /stats``: ``{"received", "sha256", "puts", "metadata"}`` of the last upload.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import urlsplit

MIB = 1 << 20


def block(i: int) -> bytes:
    """The i-th MiB of every served file."""
    return hashlib.sha256(str(i).encode()).digest() * (MIB // 32)


def expected_sha256(mib: int) -> str:
    h = hashlib.sha256()
    for i in range(mib):
        h.update(block(i))
    return h.hexdigest()


class State:
    received = 0
    sha = hashlib.sha256()
    puts: list[str] = []
    metadata: dict = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _json(self, status: int, body: dict, **headers: str) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/stats":
            return self._json(200, {"received": State.received, "sha256": State.sha.hexdigest(),
                                    "puts": len(State.puts), "metadata": State.metadata})
        m = re.fullmatch(r"/files/(\d+)\.bin", url.path)
        if not m:
            return self._json(404, {"error": "not found"})
        mib = int(m.group(1))
        chunked = "nolength" in parse_qs(url.query)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(mib * MIB))
        self.end_headers()
        for i in range(mib):
            data = block(i)
            if chunked:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            else:
                self.wfile.write(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/upload/drive/v3/files":
            return self._json(404, {"error": "not found"})
        State.metadata = json.loads(self._body() or b"{}")
        State.received, State.sha, State.puts = 0, hashlib.sha256(), []
        port = self.server.server_address[1]
        self._json(200, {}, Location=f"http://127.0.0.1:{port}/upload/session/1")

    def do_PUT(self) -> None:
        data = self._body()
        span = self.headers.get("Content-Range", "")
        State.puts.append(span)
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", span)
        if not m or int(m.group(1)) != State.received or int(m.group(2)) + 1 - int(m.group(1)) != len(data):
            return self._json(400, {"error": {"code": 400, "message": f"bad range {span}"}})
        State.received += len(data)
        State.sha.update(data)
        if m.group(3) != "*" and State.received == int(m.group(3)):
            return self._json(200, {"id": "1StreamedFile", "name": State.metadata.get("name"),
                                    "mimeType": State.metadata.get("mimeType"),
                                    "size": str(State.received)})
        self.send_response(308)
        self.send_header("Range", f"bytes=0-{State.received - 1}")
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("listening", flush=True)
    server.serve_forever()
