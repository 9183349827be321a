"""Benchmark: gunicorn worker settings, by throughput and by how requests spread over workers.

Run ``python tests/perf/bench_workers.py``. For each configuration a real gunicorn
(``config/gunicorn.conf.py``, 2 workers, SQLite, scheduler off) serves ``GET
/api/v2/connections`` with an API key to a load generator in two other processes (``--clients``
HTTP connections in all, keep-alive unless the configuration says ``close``) for
``--seconds`` after a warm-up. Each access-log line names the worker's pid, so the share of the
requests each worker served is counted from the log. Printed per configuration::

    gthread w2 t4 keep-alive     412.3 req/s  shares 100% / 0%   p50 12.1 ms  p99 40.2 ms

and one ``RESULT`` line per configuration (``req_s`` and ``max_share``: the busiest worker's
share, 0.5 is an even spread over two workers). Rounds (``--rounds``) run the configurations
interleaved, so each sees the same machine load; the figures are per-round medians.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PATH = "/api/v2/connections"


@dataclass(frozen=True)
class Config:
    name: str
    worker_class: str = "gthread"
    threads: int = 4
    reuse_port: bool = False
    keep_alive: bool = True  # the clients' side: keep connections open
    # gunicorn's --keep-alive seconds: 2 is gunicorn's default, 0 closes after each response
    # (config/gunicorn.conf.py's default since this benchmark).
    server_keepalive: int = 2
    # Clients connect as soon as the first worker answers (a restart under load, or a worker
    # recycled by max_requests), instead of once both are up.
    cold: bool = False


CONFIGS = (
    Config("gthread w2 t4 keep-alive"),
    Config("gthread w2 t4 close", keep_alive=False),
    Config("gthread w2 t4 reuse_port", reuse_port=True),
    Config("gthread w2 t2 keep-alive", threads=2),
    Config("gthread w2 t4 server keepalive 0", server_keepalive=0),
    Config("sync w2", worker_class="sync", threads=1),
    Config("gthread w2 t4 keep-alive cold", cold=True),
    Config("gthread w2 t4 server keepalive 0 cold", server_keepalive=0, cold=True),
    Config("sync w2 cold", worker_class="sync", threads=1, cold=True),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(instance: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {**os.environ, "PYTHONPATH": str(ROOT), "ATOM_INSTANCE_PATH": str(instance),
            "ATOM_ENV": "development", "ATOM_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ATOM_PLUGINS_ENABLED": '["http"]', "ATOM_SCHEDULER_ENABLED": "false",
            "ATOM_GUNICORN_LOGLEVEL": "warning", "ATOM_WEB_WORKERS": "2"}


def _prepare(instance: Path) -> tuple[dict[str, str], str]:
    env = _env(instance)
    subprocess.run([str(BIN / "atom"), "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    created = subprocess.run([str(BIN / "atom"), "keys", "create", "--name", "bench", "--role",
                              "admin"], env=env, cwd=ROOT, check=True, capture_output=True,
                             text=True)
    return env, created.stdout.strip().splitlines()[-1]


def _start(config: Config, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    args = [f"--worker-class {config.worker_class}", f"--threads {config.threads}",
            "--access-logformat 'pid=%(p)s %(s)s'"]
    if config.reuse_port:
        args.append("--reuse-port")
    args.append(f"--keep-alive {config.server_keepalive}")
    run_env = {**env, "ATOM_BIND": f"127.0.0.1:{port}", "ATOM_WEB_THREADS": str(config.threads),
               "GUNICORN_CMD_ARGS": " ".join(args)}
    out = open(log, "w")
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "wsgi:app"],
                            env=run_env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            if not config.cold:
                time.sleep(3.0)  # both workers up (the second may still be importing)
            return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"gunicorn did not start: {log.read_text()[-2000:]}")


def _load(port: int, key: str, threads: int, keep_alive: bool, start_at: float,
          stop_at: float, queue: multiprocessing.Queue) -> None:
    """One load process: ``threads`` clients from ``start_at`` to ``stop_at`` (wall time)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {key}"}
    if not keep_alive:
        headers["Connection"] = "close"

    def client() -> None:
        mine: list[float] = []
        conn = None
        while time.time() < start_at:
            time.sleep(0.001)
        while (now := time.time()) < stop_at:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", PATH, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    with lock:
                        errors[0] += 1
                mine.append(time.time() - now)
                if not keep_alive or response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                if conn is not None:
                    conn.close()
                conn = None
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    queue.put((latencies, errors[0]))


@dataclass
class Result:
    req_s: float
    shares: list[float]
    p50_ms: float
    p99_ms: float
    errors: int


def _measure(config: Config, env: dict[str, str], key: str, tmp: Path, clients: int,
             seconds: float, warmup: float) -> Result:
    log = tmp / f"gunicorn-{re.sub(r'[^a-z0-9]+', '-', config.name)}.log"
    proc, port = _start(config, env, log)
    try:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        start_at = time.time() + (0.0 if config.cold else 1.0)
        measure_from = start_at + warmup
        stop_at = measure_from + seconds
        per = [clients // 2, clients - clients // 2]
        procs = [ctx.Process(target=_load, args=(port, key, n, config.keep_alive, start_at,
                                                 stop_at, queue)) for n in per]
        for p in procs:
            p.start()
        # The log lines written during the measured window only.
        while time.time() < measure_from:
            time.sleep(0.01)
        before = log.read_text().count("\n")
        while time.time() < stop_at:
            time.sleep(0.01)
        window = log.read_text().splitlines()[before:]
        outcomes = [queue.get(timeout=60) for _ in procs]
        for p in procs:
            p.join()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    pids: dict[str, int] = {}
    for line in window:
        match = re.match(r"pid=<?(\d+)>? 200", line)
        if match:
            pids[match.group(1)] = pids.get(match.group(1), 0) + 1
    served = sum(pids.values())
    shares = sorted((n / served for n in pids.values()), reverse=True) if served else []
    shares += [0.0] * (2 - len(shares))
    latencies = sorted(x for lat, _ in outcomes for x in lat)
    return Result(req_s=served / seconds, shares=shares,
                  p50_ms=1000 * latencies[len(latencies) // 2] if latencies else 0.0,
                  p99_ms=1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
                  errors=sum(e for _, e in outcomes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", help="configurations whose name contains this")
    parser.add_argument("--cold", action="store_true", help="only the cold configurations")
    args = parser.parse_args(argv)
    configs = [c for c in CONFIGS if (not args.only or args.only in c.name)
               and (not args.cold or c.cold)]
    results: dict[str, list[Result]] = {c.name: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env, key = _prepare(tmp / "instance")
        for round_no in range(args.rounds):
            for config in configs:
                result = _measure(config, env, key, tmp, args.clients, args.seconds, args.warmup)
                results[config.name].append(result)
                print(f"round {round_no + 1}  {config.name:34s} {result.req_s:7.1f} req/s  "
                      f"shares {' / '.join(f'{s:.0%}' for s in result.shares):11s} "
                      f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
                      f"errors {result.errors}", flush=True)
    print()
    for name, rounds in results.items():
        req_s = statistics.median(r.req_s for r in rounds)
        max_share = statistics.median(r.shares[0] for r in rounds)
        worst = max(r.shares[0] for r in rounds)
        p99 = statistics.median(r.p99_ms for r in rounds)
        print(f"RESULT config={name.replace(' ', '_')} req_s={req_s:.1f} "
              f"max_share={max_share:.2f} worst_max_share={worst:.2f} p99_ms={p99:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
