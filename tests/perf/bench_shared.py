"""Benchmark: what a shared (Redis) rate limit and circuit breaker add to each call.

Run ``python tests/perf/bench_shared.py`` (needs Redis at ``--redis``, default
redis://127.0.0.1:6379/3). A keep-alive HTTP server runs in a subprocess; ``IntegrationClient``
calls it ``--calls`` times with the in-process bucket and breaker, and as often with the Redis
ones (the rate far above the load, so nothing waits), interleaved in blocks. Printed::

    RESULT local_ms_per_call=0.412 shared_ms_per_call=0.598 added_ms=0.186

Also the bare cost of one ``acquire`` and one breaker round (``before_call`` + ``success``)
against Redis, and the local ones.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SERVER = r'''
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        # One write: headers and body in separate segments would meet delayed ACKs (40 ms).
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 12\r\n\r\n" + b'{"ok": true}')
    def log_message(self, *a):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
'''


def _per_call(fn, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) * 1000 / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--block", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3")
    args = parser.parse_args(argv)

    from atom.integrations.http import ClientSettings
    from atom.integrations.http import IntegrationClient
    from atom.integrations.outbound import OutboundPolicy
    from atom.integrations.shared import SharedState

    prefix = f"atom-bench-{uuid.uuid4().hex[:8]}"
    shared = SharedState.from_url(args.redis, prefix=prefix)
    shared.redis.ping()
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        settings = ClientSettings(base_url=f"http://127.0.0.1:{port}", rate_per_second=100_000,
                                  rate_burst=100_000)
        policy = OutboundPolicy(allow_private=True)
        local = IntegrationClient(integration="bench", connection_id=1, settings=settings,
                                  policy=policy)
        remote = IntegrationClient(integration="bench", connection_id=1, settings=settings,
                                   policy=policy, shared=shared)
        for client in (local, remote):
            for _ in range(200):
                client.get("/x")
        blocks: dict[str, list[float]] = {"local": [], "shared": []}
        for _ in range(max(1, args.calls // args.block)):
            blocks["local"].append(_per_call(lambda: local.get("/x"), args.block))
            blocks["shared"].append(_per_call(lambda: remote.get("/x"), args.block))
        local_ms = statistics.median(blocks["local"])
        shared_ms = statistics.median(blocks["shared"])

        def breaker_round(breaker):
            breaker.before_call()
            breaker.success()

        parts = {
            "acquire local": _per_call(lambda: local.bucket.acquire(1.0), 5000),
            "acquire redis": _per_call(lambda: remote.bucket.acquire(1.0), 5000),
            "breaker local": _per_call(lambda: breaker_round(local.breaker), 5000),
            "breaker redis": _per_call(lambda: breaker_round(remote.breaker), 5000),
        }
        for name, ms in parts.items():
            print(f"{name:14s} {ms * 1000:8.1f} us")
        print(f"RESULT local_ms_per_call={local_ms:.3f} shared_ms_per_call={shared_ms:.3f} "
              f"added_ms={shared_ms - local_ms:.3f}")
    finally:
        proc.kill()
        for key in shared.redis.scan_iter(f"{prefix}:*"):
            shared.redis.delete(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
