"""Benchmark: list endpoints, analytics and services/status at 20 and at 10,000 workflows.

Run ``python tests/perf/bench_lists.py`` (``--rows 10000``, ``--budget-s 10``). The app is
built by ``create_app`` on a temporary SQLite database migrated with ``flask_migrate.upgrade()``;
one workflow is created through the API (two action steps of the in-memory bench plugin), and
its stored rows are copied with bulk inserts (not API calls) to ``--rows`` workflows, each with
one finished execution of two step runs inside the analytics window. Then, for each size:

* every list endpoint below, asked for a page of 20 (``?limit=20``), and the page after it
  (its ``next_cursor``); the median wall time per request (as many requests as fit in
  ``--budget-s``, at least one, at most ``--max-runs``), and the response size;
* ``GET /api/v2/ai-workflows/analytics?days=30`` and ``GET /api/v2/ai-workflows/services/status``;
* for the 20-workflow list: SQL statements per request (a ``before_cursor_execute`` listener)
  and process CPU per request, beside the floor: the same rows read by a plain ORM query.

Lines printed::

    RESULT endpoint=/api/v2/ai-workflows rows=20 ms=1.234 bytes=5678
    RATIO endpoint=/api/v2/ai-workflows at_10000/at_20=1.05
    RESULT list20 queries=2 cpu_ms=0.9 floor_cpu_ms=0.5

Against a tree without pagination (``PYTHONPATH=/work/main``), ``limit`` is ignored and the
whole list is answered: that is the "before" figure.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

LISTS = (
    "/api/v2/ai-workflows",
    "/api/v2/executions",
    "/api/v2/connections",
    "/api/v2/audit",
    "/api/v2/ai-workflows/templates",
    "/api/v2/integrations",
)


class Bench:
    def __init__(self, tmp: Path, rows: int) -> None:
        from cryptography.fernet import Fernet
        from flask_migrate import upgrade

        from atom import create_app
        from atom.extensions import db
        from atom.models import ApiKey
        from tests.perf.bench_plugin import MANIFEST

        self.app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SECRET_KEY": "bench-secret-key-bench-secret-key",
            "PLUGINS": [MANIFEST],
            "LOG_LEVEL": "WARNING",
            "SCHEDULER_ENABLED": False,
        })
        self.db = db
        with self.app.app_context():
            upgrade()
            row, plain = ApiKey.generate("bench", "admin")
            db.session.add(row)
            db.session.commit()
        self.headers = {"Authorization": f"Bearer {plain}"}
        self.client = self.app.test_client()
        created = self.client.post("/api/v2/connections", headers=self.headers, json={
            "integration": "bench", "label": "bench", "settings": {}, "credentials": {}})
        assert created.status_code == 201, created.get_json()
        steps = [{"id": "a", "type": "action", "service": "bench", "action": "noop"},
                 {"id": "b", "type": "action", "service": "bench", "action": "noop",
                  "depends_on": ["a"]}]
        made = self.client.post("/api/v2/ai-workflows", headers=self.headers, json={
            "name": "wf 1", "trigger": {"type": "manual"}, "steps": steps})
        assert made.status_code == 201, made.get_json()
        self._fill(made.get_json()["id"], rows)

    def _fill(self, first_id: int, rows: int) -> None:
        """Copy the workflow to ``rows`` workflows, each with one finished execution of two
        step runs, by bulk inserts."""
        from datetime import timedelta

        from sqlalchemy import inspect
        from sqlalchemy import insert

        from atom.models import Execution
        from atom.models import StepRun
        from atom.models import Workflow
        from atom.models import WorkflowVersion
        from atom.models.base import utcnow

        db = self.db
        with self.app.app_context():
            first = db.session.get(Workflow, first_id)
            definition = db.session.execute(db.select(WorkflowVersion.definition).filter_by(
                workflow_id=first_id)).scalar_one()
            now = utcnow()
            ids = range(first_id + 1, first_id + rows)
            db.session.execute(insert(Workflow), [
                {"id": i, "name": f"wf {i}", "description": "", "enabled": True, "version": 1,
                 "trigger_type": first.trigger_type, "created_at": now, "updated_at": now}
                for i in ids])
            db.session.execute(insert(WorkflowVersion), [
                {"workflow_id": i, "version": 1, "definition": definition, "created_at": now,
                 "created_by": "bench"} for i in ids])
            if inspect(db.engine).has_table("workflow_services"):
                from atom.models import WorkflowService

                db.session.execute(insert(WorkflowService), [
                    {"workflow_id": i, "service": "bench"} for i in ids])
            all_ids = [first_id, *ids]
            db.session.execute(insert(Execution), [
                {"id": n + 1, "workflow_id": wf, "version": 1, "status": "succeeded",
                 "trigger_type": "manual", "trigger_payload": {}, "created_at": now,
                 "started_at": now, "finished_at": now + timedelta(milliseconds=5 + n % 50)}
                for n, wf in enumerate(all_ids)])
            db.session.execute(insert(StepRun), [
                {"execution_id": n + 1, "step_id": sid, "step_type": "action",
                 "status": "succeeded", "attempt": 1, "started_at": now, "finished_at": now,
                 "duration_ms": 1.0 + n % 7}
                for n in range(len(all_ids)) for sid in ("a", "b")])
            db.session.commit()

    def get(self, path: str) -> Any:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, (path, response.status_code, response.get_data()[:300])
        return response

    def timed(self, path: str, budget_s: float, max_runs: int) -> tuple[float, int]:
        """Median ms per request, and the response size."""
        self.get(path)  # warm-up
        times, size, spent = [], 0, 0.0
        while not times or (spent < budget_s and len(times) < max_runs):
            start = time.perf_counter()
            size = len(self.get(path).get_data())
            took = time.perf_counter() - start
            times.append(took)
            spent += took
        return statistics.median(times) * 1000.0, size

    def next_page(self, path: str) -> str | None:
        body = self.get(path).get_json()
        cursor = body.get("next_cursor") if isinstance(body, dict) else None
        if not cursor:
            return None
        sep = "&" if "?" in path else "?"
        return f"{path}{sep}cursor={cursor}"

    def list_cost(self, requests: int = 200) -> dict[str, float]:
        """SQL statements and CPU per request of ``GET /api/v2/ai-workflows?limit=20``, and the
        CPU of the floor (the same 20 workflows and definitions by a plain ORM read)."""
        from sqlalchemy import event

        from atom.models import Workflow
        from atom.models import WorkflowVersion

        db = self.db
        path = "/api/v2/ai-workflows?limit=20"
        with self.app.app_context():
            engine = db.engine
        count = [0]

        def counted(*args: Any) -> None:
            count[0] += 1

        self.get(path)
        event.listen(engine, "before_cursor_execute", counted)
        try:
            self.get(path)
            queries = count[0]
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        start = time.process_time()
        for _ in range(requests):
            self.get(path)
        cpu = (time.process_time() - start) / requests * 1000.0
        with self.app.app_context():
            start = time.process_time()
            for _ in range(requests):
                rows = db.session.execute(
                    db.select(Workflow, WorkflowVersion.definition)
                    .join(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
                          & (WorkflowVersion.version == Workflow.version))
                    .order_by(Workflow.id).limit(20)).all()
                assert len(rows) == 20
                db.session.expunge_all()
            floor = (time.process_time() - start) / requests * 1000.0
        return {"queries": queries, "cpu_ms": cpu, "floor_cpu_ms": floor}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--budget-s", type=float, default=5.0)
    parser.add_argument("--max-runs", type=int, default=50)
    parser.add_argument("--skip-analytics-at", type=int, default=None,
                        help="skip analytics at this size (the quadratic version takes minutes)")
    args = parser.parse_args()
    import atom

    print(f"INFO atom={atom.__file__}")
    small_tmp, large_tmp = tempfile.TemporaryDirectory(), tempfile.TemporaryDirectory()
    benches = {}
    for rows, tmp in ((20, small_tmp), (args.rows, large_tmp)):
        start = time.perf_counter()
        benches[rows] = Bench(Path(tmp.name), rows)
        print(f"INFO rows={rows} fixtures_s={time.perf_counter() - start:.1f}", flush=True)
    # The two sizes are measured in turn, path by path, so that the load of the machine (shared
    # with other work) weighs on both alike.
    paths = []
    for path in LISTS:
        paths.append((f"{path}?limit=20", False))
        paths.append((f"{path}?limit=20", True))
    paths.append(("/api/v2/ai-workflows/services/status", False))
    paths.append(("/api/v2/ai-workflows/analytics?days=30", False))
    results: dict[tuple[str, int], float] = {}
    for path, second_page in paths:
        label = path + ("&cursor=<page 2>" if second_page else "")
        for rows, bench in benches.items():
            if "analytics" in path and args.skip_analytics_at == rows:
                continue
            url = bench.next_page(path) if second_page else path
            if url is None:
                continue  # one page only at this size
            ms, size = bench.timed(url, args.budget_s, args.max_runs)
            results[(label, rows)] = ms
            print(f"RESULT endpoint={label} rows={rows} ms={ms:.3f} bytes={size}", flush=True)
    cost = benches[20].list_cost()
    print(f"RESULT list20 queries={cost['queries']} cpu_ms={cost['cpu_ms']:.3f} "
          f"floor_cpu_ms={cost['floor_cpu_ms']:.3f}", flush=True)
    for (label, rows), ms in results.items():
        if rows == 20 and (label, args.rows) in results:
            print(f"RATIO endpoint={label} at_{args.rows}/at_20="
                  f"{results[(label, args.rows)] / ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
