"""Benchmark: the workflow engine's overhead per step, through the real runner, persisted.

Run ``python tests/perf/bench_engine.py``. The app is built by ``create_app`` on a temporary
SQLite database migrated with ``flask_migrate.upgrade()``; every step is a real step of the
engine: its row is written when it starts and when it ends. Action steps use an in-memory
plugin (``tests/perf/bench_plugin.py``, passed as ``PLUGINS=[MANIFEST]``) through the real
action path: connection lookup, ``ConnectionRuntime.run_action`` (input schema, idempotency
scope), the bounded step pool. Workloads:

* W1: a chain of 50 no-op steps (ideal wall 0);
* W2: a fan-out of 100 no-op steps between a root and a join, 102 steps (ideal wall 0);
* W3: 5 layers of 4 steps, each depending on every step of the layer before, each sleeping
  50 ms like an I/O-bound call (ideal wall 0.25 s);
* W4: a foreach step over 100 items, 10 at a time, each item an action sleeping 50 ms (101
  step rows: the loop's and one per item; ideal wall 100 / min(10, WORKER_THREADS) rounds of
  50 ms: 0.5 s with a pool of 10 threads, 0.65 s with the default 8).

The wall time of a run is from ``Engine.start`` (the execution row is written) to the end of
the execution (its final status committed). Per workload the median of ``--runs`` runs (after
one warm-up) is printed, with the median overhead per step, ``(wall - ideal) / steps``::

    RESULT system=atom workload=W1 wall_s=0.0312 per_step_ms=0.624

Targets: at most 1 ms per step for W1 and W2, W3 and W4 within 1.2 times their ideal wall; a missed
target is reported on stderr (``MISSED ...``; exit status 1 with ``--strict``). A run whose
execution does not succeed with every step row persisted is an error (exit 1). W1 and W2 are
also run with transform (inline, no-I/O) no-op steps and reported on ``INFO`` lines.
``--profile W1`` prints a cProfile of the orchestrator and step threads of one run; ``--only
W1`` runs one workload.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import math
import pstats
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SLEEP_MS = 50.0


# -- workloads --------------------------------------------------------------------------------


def _step(sid: str, kind: str, deps: list[str], ms: float = 0.0) -> dict[str, Any]:
    if kind == "transform":
        return {"id": sid, "type": "transform", "depends_on": deps, "mapping": {"ok": "`true`"}}
    if kind == "sleep":
        return {"id": sid, "type": "action", "service": "bench", "action": "sleep", "depends_on": deps,
                "parameters": {"ms": ms}}
    return {"id": sid, "type": "action", "service": "bench", "action": "noop", "depends_on": deps}


def chain(n: int, kind: str) -> list[dict[str, Any]]:
    return [_step(f"s{i}", kind, [f"s{i - 1}"] if i else []) for i in range(n)]


def fan_out(width: int, kind: str) -> list[dict[str, Any]]:
    middle = [_step(f"m{i}", kind, ["root"]) for i in range(width)]
    return [_step("root", kind, []), *middle, _step("join", kind, [s["id"] for s in middle])]


def layers(count: int, width: int, kind: str, ms: float) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    previous: list[str] = []
    for layer in range(count):
        current = [f"l{layer}_{i}" for i in range(width)]
        steps += [_step(sid, kind, previous, ms) for sid in current]
        previous = current
    return steps


def foreach(items: int, concurrency: int, ms: float) -> list[dict[str, Any]]:
    body = _step("each", "sleep", [], ms)
    del body["depends_on"]
    return [{"id": "loop", "type": "foreach", "items": f"`{list(range(items))}`",
             "concurrency": concurrency, "step": body}]


FOREACH_ITEMS, FOREACH_CONCURRENCY = 100, 10
WORKLOADS: dict[str, tuple[Callable[[str], list[dict[str, Any]]], float]] = {
    "W1": (lambda kind: chain(50, kind), 0.0),
    "W2": (lambda kind: fan_out(100, kind), 0.0),
    "W3": (lambda kind: layers(5, 4, "sleep", SLEEP_MS), 5 * SLEEP_MS / 1000.0),
    # the ideal wall depends on the step pool's size: set in main()
    "W4": (lambda kind: foreach(FOREACH_ITEMS, FOREACH_CONCURRENCY, SLEEP_MS), 0.0),
}
# Step rows a workload's execution persists, where it is not one per step of the definition.
ROWS = {"W4": 1 + FOREACH_ITEMS}


# -- profiling executor -----------------------------------------------------------------------------


class ProfilingExecutor:
    """The engine's thread pools, with every submitted function run under its own profiler."""

    def __init__(self, executions: int, steps: int) -> None:
        self._executions = ThreadPoolExecutor(executions, thread_name_prefix="atom-exec")
        self._steps = ThreadPoolExecutor(steps, thread_name_prefix="atom-step")
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        self.enabled = False

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            if not self.enabled:
                return fn(*args)
            prof = cProfile.Profile()
            prof.enable()
            try:
                return fn(*args)
            finally:
                prof.disable()
                with self._lock:
                    self.profiles.append(prof)
        return run

    def submit_execution(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._executions.submit(self._wrap(fn), *args)

    def submit_step(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._steps.submit(self._wrap(fn), *args)

    def shutdown(self) -> None:
        self._executions.shutdown(wait=True, cancel_futures=True)
        self._steps.shutdown(wait=True, cancel_futures=True)

    def report(self, limit: int = 30) -> str:
        out = io.StringIO()
        stats = pstats.Stats(self.profiles[0], stream=out)
        for prof in self.profiles[1:]:
            stats.add(prof)
        stats.sort_stats("cumulative").print_stats(limit)
        stats.sort_stats("tottime").print_stats(limit)
        return out.getvalue()


# -- the harness ----------------------------------------------------------------------------------


class Bench:
    def __init__(self, tmp: Path, profile: bool = False) -> None:
        from cryptography.fernet import Fernet
        from flask_migrate import upgrade

        from atom import create_app
        from atom.engine import get_engine
        from atom.engine.engine import Engine
        from atom.extensions import db
        from tests.perf.bench_plugin import MANIFEST

        self.app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SECRET_KEY": "bench",
            "PLUGINS": [MANIFEST],
            "LOG_LEVEL": "WARNING",
        })
        with self.app.app_context():
            upgrade()
        self.profiler: ProfilingExecutor | None = None
        if profile:
            cfg = self.app.config
            self.profiler = ProfilingExecutor(cfg["MAX_CONCURRENT_EXECUTIONS"], cfg["WORKER_THREADS"])
            get_engine(self.app).close()
            self.app.extensions["atom_engine"] = Engine(self.app, self.profiler)
        self.engine = get_engine(self.app)
        self.client = self.app.test_client()
        self.db = db
        from atom.models import ApiKey

        with self.app.app_context():
            row, plain = ApiKey.generate("bench", "admin")
            db.session.add(row)
            db.session.commit()
        self.headers = {"Authorization": f"Bearer {plain}"}
        created = self.client.post("/api/v2/connections", headers=self.headers, json={
            "integration": "bench", "label": "bench", "settings": {}, "credentials": {}})
        assert created.status_code == 201, created.get_json()

    def create(self, name: str, steps: list[dict[str, Any]]) -> int:
        response = self.client.post("/api/v2/ai-workflows", headers=self.headers, json={
            "name": name, "trigger": {"type": "manual"}, "steps": steps})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def run(self, wf_id: int, n_steps: int) -> float:
        """One execution, started as the API starts it; return its wall time in seconds."""
        from atom.models import Execution
        from atom.models import StepRun
        from atom.models import Workflow

        db = self.db
        with self.app.app_context():
            workflow = db.session.get(Workflow, wf_id)
            started = time.perf_counter()
            execution, _ = self.engine.start(workflow, {}, "manual")
            if not self.engine.wait(execution.id, 120):
                raise RuntimeError(f"execution {execution.id} did not finish")
            wall = time.perf_counter() - started
            db.session.expire_all()
            status = db.session.get(Execution, execution.id).status
            persisted = db.session.scalar(db.select(db.func.count()).select_from(StepRun).where(
                StepRun.execution_id == execution.id, StepRun.status == "succeeded",
                StepRun.started_at.is_not(None), StepRun.finished_at.is_not(None)))
            db.session.remove()
        if status != "succeeded" or persisted != n_steps:
            raise RuntimeError(f"execution {execution.id}: {status}, {persisted}/{n_steps} step rows")
        return wall

    def measure(self, name: str, steps: list[dict[str, Any]], runs: int,
                n_rows: int | None = None) -> list[float]:
        wf_id = self.create(name, steps)
        n_rows = len(steps) if n_rows is None else n_rows
        self.run(wf_id, n_rows)  # warm-up: caches, first connection, JIT-free but cold
        return [self.run(wf_id, n_rows) for _ in range(runs)]

    def close(self) -> None:
        from atom.state import get_state

        self.engine.close()
        if self.profiler is not None:
            self.profiler.shutdown()
        get_state(self.app).recorder.close()
        with self.app.app_context():
            self.db.engine.dispose()


def _line(prefix: str, workload: str, walls: list[float], ideal: float, n_steps: int) -> str:
    wall = statistics.median(walls)
    per_step = statistics.median([(w - ideal) / n_steps * 1000.0 for w in walls])
    return f"{prefix} workload={workload} wall_s={wall:.4f} per_step_ms={per_step:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="measured runs per workload (median)")
    parser.add_argument("--profile", choices=sorted(WORKLOADS), help="cProfile one run of a workload")
    parser.add_argument("--no-inline", action="store_true", help="skip the transform-only runs")
    parser.add_argument("--only", action="append", choices=sorted(WORKLOADS), help="run only these")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("use at least 5 runs")
    failed = []
    with tempfile.TemporaryDirectory(prefix="atom-bench-") as tmp:
        bench = Bench(Path(tmp), profile=bool(args.profile))
        try:
            if args.profile:
                build, _ = WORKLOADS[args.profile]
                steps = build("noop")
                wf_id = bench.create("profile", steps)
                n_rows = ROWS.get(args.profile, len(steps))
                bench.run(wf_id, n_rows)
                bench.profiler.enabled = True
                bench.run(wf_id, n_rows)
                bench.profiler.enabled = False
                print(bench.profiler.report())
                return 0
            for workload, (build, ideal) in WORKLOADS.items():
                if args.only and workload not in args.only:
                    continue
                steps = build("noop")
                n_rows = ROWS.get(workload, len(steps))
                if workload == "W4":
                    lanes = min(FOREACH_CONCURRENCY, int(bench.app.config["WORKER_THREADS"]))
                    ideal = math.ceil(FOREACH_ITEMS / lanes) * SLEEP_MS / 1000.0
                walls = bench.measure(workload, steps, args.runs, n_rows)
                print(_line("RESULT system=atom", workload, walls, ideal, n_rows), flush=True)
                per_step = statistics.median([(w - ideal) / n_rows * 1000.0 for w in walls])
                if workload in ("W1", "W2") and per_step > 1.0:
                    failed.append(f"{workload}: {per_step:.3f} ms/step > 1 ms")
                if workload in ("W3", "W4") and statistics.median(walls) > 1.2 * ideal:
                    failed.append(f"{workload}: {statistics.median(walls):.3f} s > 1.2 x {ideal} s")
            if not args.no_inline:
                for workload in ("W1", "W2"):
                    if args.only and workload not in args.only:
                        continue
                    build, ideal = WORKLOADS[workload]
                    steps = build("transform")
                    walls = bench.measure(f"{workload} inline", steps, args.runs)
                    print(_line("INFO transform-only", workload, walls, ideal, len(steps)), flush=True)
        finally:
            bench.close()
    for problem in failed:
        print(f"MISSED {problem}", file=sys.stderr)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
