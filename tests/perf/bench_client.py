"""Benchmark: the per-call overhead of ``IntegrationClient`` over a bare ``requests.Session``.

Run ``python tests/perf/bench_client.py`` (``make bench``). A keep-alive HTTP/1.1 server runs in
a subprocess on 127.0.0.1, so it does not compete with the client for the GIL. Each round makes
2,000 calls with a bare session and 2,000 through ``IntegrationClient`` (rate limit far above the
load; metrics recorded by the app's real ``MetricsRecorder``, flushed to a temporary SQLite
database by its background thread), interleaved in blocks of 100 so both sides see the same
machine load. A round's ratio is the median over adjacent block pairs of client time / bare
time; the result is the median of the per-round ratios (target: at most 1.15)::

    RESULT client_overhead_ratio=1.031

The client redacts every response with the redactor of a connection holding a bearer token and
a Basic user and password, as a real connection's client does (``--no-redactor``: without).

Options: ``--calls N``, ``--rounds R``, ``--block B``, ``--profile`` (cProfile of one client
run), ``--no-metrics`` (diagnostics: no recorder). Exits 1 if metrics rows went missing.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SERVER = r'''
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"ok": true, "items": [1, 2, 3], "next_cursor": null}'

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 65536  # headers and body leave in one send

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass

httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
httpd.daemon_threads = True
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
'''


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


def build_app(tmp: str):
    """A real ATOM app on a temporary SQLite database, its metrics flushed in the background."""
    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from atom import create_app

    os.environ["ATOM_INSTANCE_PATH"] = os.path.join(tmp, "instance")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.join(tmp, 'bench.db')}",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SECRET_KEY": "bench",
        "PLUGINS_ENABLED": ["http"],
        "METRICS_FLUSH_INTERVAL_S": 0.5,
    })
    with app.app_context():
        upgrade()
    return app


def timed(fn: Callable[[], object], calls: int) -> float:
    """Mean seconds per call of ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


@dataclass
class Round:
    bare_ms: float  # median per-call time of the bare session's blocks
    client_ms: float
    ratio: float  # median over adjacent block pairs of client time / bare time
    cpu_ratio: float  # the same with this process's CPU time (all threads, incl. the flusher)


def run_round(bare: Callable[[], object], client: Callable[[], object], calls: int, block: int,
              n: int) -> Round:
    """``calls`` calls per side in alternating blocks of ``block``, so both sides see the same
    machine load; the side that starts alternates between rounds. Comparing adjacent blocks and
    taking medians keeps the result steady when other processes compete for the two cores."""
    wall: dict[Callable[[], object], list[float]] = {bare: [], client: []}
    cpu: dict[Callable[[], object], list[float]] = {bare: [], client: []}
    order = (bare, client) if n % 2 == 0 else (client, bare)
    for done in range(0, calls, block):
        size = min(block, calls - done)
        for fn in order:
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(size):
                fn()
            wall[fn].append((time.perf_counter() - w0) / size)
            cpu[fn].append((time.process_time() - c0) / size)
    return Round(
        bare_ms=statistics.median(wall[bare]) * 1e3,
        client_ms=statistics.median(wall[client]) * 1e3,
        ratio=statistics.median(c / b for c, b in zip(wall[client], wall[bare])),
        cpu_ratio=statistics.median(c / b for c, b in zip(cpu[client], cpu[bare]) if b > 0),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=100, help="calls per alternating block")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-metrics", action="store_true", help="diagnostics: no recorder")
    parser.add_argument("--no-redactor", action="store_true", help="responses are not redacted")
    args = parser.parse_args(argv)

    import logging

    import requests
    from sqlalchemy import func
    from sqlalchemy import select

    from atom.extensions import db
    from atom.integrations.http import ClientSettings
    from atom.integrations.http import IntegrationClient
    from atom.integrations.redaction import Redactor
    from atom.models import CallRecord
    from atom.state import get_state

    proc, url = start_server()
    tmp = tempfile.TemporaryDirectory(prefix="atom-bench-")
    try:
        app = build_app(tmp.name)
        logging.getLogger("atom").setLevel(logging.WARNING)
        recorder = get_state(app).recorder
        bare = requests.Session()
        # Like the client's session: no proxy lookup in the environment on every call (it
        # would cost the bare session ~0.5 ms a call here and flatter the client).
        bare.trust_env = False
        client = IntegrationClient(
            integration="bench",
            connection_id=1,
            settings=ClientSettings(base_url=url, rate_per_second=1e9, rate_burst=1_000_000),
            recorder=None if args.no_metrics else recorder,
            # The app's outbound policy, as every connection's client has it (testing: the
            # loopback server is allowed).
            policy=get_state(app).outbound,
            redactor=None if args.no_redactor else Redactor.for_credentials(
                {"token": "tok-bench-0123456789abcdefghij", "username": "bench@example.com",
                 "password": "pw-bench-9876543210"}, {"token", "password"}),
        )
        target = url + "/items"

        def bare_call() -> None:
            bare.get(target, timeout=(5.0, 30.0)).raise_for_status()

        def client_call() -> None:
            client.get("/items")

        timed(bare_call, 300)  # warm up both connections and code paths
        timed(client_call, 300)
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(timed, client_call, args.calls)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

        rounds: list[Round] = []
        for n in range(args.rounds):
            r = run_round(bare_call, client_call, args.calls, args.block, n)
            rounds.append(r)
            print(f"round {n + 1}: bare {r.bare_ms:.3f} ms/call, client {r.client_ms:.3f} ms/call, "
                  f"ratio {r.ratio:.3f} (CPU time ratio {r.cpu_ratio:.3f})", flush=True)

        pending = recorder.pending()  # left for the background flusher when timing ended
        recorder.close()
        with app.app_context():
            rows = db.session.scalar(select(func.count()).select_from(CallRecord))
        expected = 300 + args.rounds * args.calls + (args.calls if args.profile else 0)
        print(f"metrics rows written: {rows} (expected {expected}; {pending} still buffered "
              f"when timing ended)")
        bare_ms = statistics.median(r.bare_ms for r in rounds)
        client_ms = statistics.median(r.client_ms for r in rounds)
        extra_us = statistics.median(r.client_ms - r.bare_ms for r in rounds) * 1e3
        cpu = statistics.median(r.cpu_ratio for r in rounds)
        print(f"per call: bare requests.Session {bare_ms:.3f} ms, IntegrationClient "
              f"{client_ms:.3f} ms (median difference {extra_us:+.0f} us); "
              f"CPU time ratio {cpu:.3f}")
        print(f"RESULT client_overhead_ratio={statistics.median(r.ratio for r in rounds):.3f}")
        client.close()
        bare.close()
        with app.app_context():
            db.engine.dispose()
        return 0 if rows == expected or args.no_metrics else 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
