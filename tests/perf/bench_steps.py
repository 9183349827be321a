"""Benchmark: per-step orchestration cost through the API, and server CPU per webhook execution.

Run ``python tests/perf/bench_steps.py`` (``--postgres``: on a throwaway database of the local
PostgreSQL instead of a temporary SQLite one). The app is built by ``create_app`` and migrated
with ``flask_migrate.upgrade()``; everything goes through the REST API (Flask test client):

* T40: a workflow of 40 sequential ``transform`` steps, executed one at a time with
  ``POST /api/v2/ai-workflows/<id>/execute?wait=60`` (execute -> finished);
* H40: 40 sequential ``http.get`` steps against a keep-alive server on loopback (in a
  subprocess, so it does not share this process's GIL), the same way;
* WH: a webhook workflow (one ``transform`` step): ``--hooks`` deliveries to
  ``/hooks/workflows/<token>`` back to back, then every execution waited for; the figures are
  finished executions a second and this process's CPU time per execution (all threads).

Per workload the median of ``--runs`` runs (after a warm-up) is printed::

    RESULT workload=T40 db=sqlite wall_s=0.0150 per_step_ms=0.375
    RESULT workload=WH db=sqlite executions=500 per_s=260.1 cpu_ms=4.81

An execution that does not succeed with every step is an error (exit 1).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.bench_client import start_server  # noqa: E402

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _pg_database() -> tuple[str, Any]:
    import psycopg2

    admin = psycopg2.connect(connect_timeout=3, **PG)
    admin.autocommit = True
    name = f"atom_bench_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()

    return f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{name}", drop


class Bench:
    def __init__(self, tmp: str, url: str) -> None:
        from cryptography.fernet import Fernet
        from flask_migrate import upgrade

        from atom import create_app
        from atom.extensions import db
        from atom.models import ApiKey

        os.environ["ATOM_INSTANCE_PATH"] = os.path.join(tmp, "instance")
        self.app = create_app({
            "SQLALCHEMY_DATABASE_URI": url,
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SECRET_KEY": "bench",
            "PLUGINS_ENABLED": ["http"],
            "LOG_LEVEL": "WARNING",
            "WORKFLOW_MAX_RUNS_PER_MINUTE": 10_000_000,
        })
        with self.app.app_context():
            upgrade()
            row, plain = ApiKey.generate("bench", "admin")
            db.session.add(row)
            db.session.commit()
        self.db = db
        self.client = self.app.test_client()
        self.headers = {"Authorization": f"Bearer {plain}"}

    def create(self, definition: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/api/v2/ai-workflows", headers=self.headers, json=definition)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def connection(self, base_url: str) -> None:
        created = self.client.post("/api/v2/connections", headers=self.headers, json={
            "integration": "http", "label": "loopback", "credentials": {},
            "settings": {"base_url": base_url, "max_attempts": 1,
                         "rate_limit_per_second": 100_000, "rate_limit_burst": 1000}})
        assert created.status_code == 201, created.get_json()

    def execute(self, wf_id: int, n_steps: int) -> float:
        started = time.perf_counter()
        response = self.client.post(f"/api/v2/ai-workflows/{wf_id}/execute?wait=60", json={},
                                    headers=self.headers)
        wall = time.perf_counter() - started
        body = response.get_json()
        if body["status"] != "succeeded" or len(body["steps"]) != n_steps:
            raise RuntimeError(f"execution {body['id']}: {body['status']} {body.get('error')}")
        return wall

    def per_step(self, name: str, steps: list[dict[str, Any]], runs: int) -> tuple[float, float]:
        wf = self.create({"name": name, "trigger": {"type": "manual"}, "steps": steps})
        for _ in range(2):
            self.execute(wf["id"], len(steps))
        walls = [self.execute(wf["id"], len(steps)) for _ in range(runs)]
        wall = statistics.median(walls)
        return wall, wall / len(steps) * 1000.0

    def webhooks(self, count: int) -> tuple[float, float]:
        """Deliver ``count`` webhooks, wait for their executions; (per second, CPU ms each)."""
        from atom.engine import get_engine

        wf = self.create({"name": "hook", "trigger": {"type": "webhook"},
                          "steps": [{"id": "t", "type": "transform",
                                     "mapping": {"n": "trigger.n"}}]})
        path = "/hooks/workflows/" + wf["webhook_url"].rsplit("/", 1)[1]
        engine = get_engine(self.app)

        def deliver(n: int) -> list[int]:
            ids = []
            for i in range(n):
                response = self.client.post(path, json={"n": i})
                assert response.status_code == 202, response.get_json()
                ids.append(response.get_json()["execution_id"])
            return ids

        for ex_id in deliver(50):  # warm-up
            engine.wait(ex_id, 60)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        ids = deliver(count)
        # Wait for them all as one waiter would, not with a read per execution: the figure is
        # what the server spends (a wait per id cost about 0.3 ms each, a tenth of the total).
        from atom.models import Execution

        deadline = time.monotonic() + 120
        while True:
            with self.app.app_context():
                left = self.db.session.scalar(self.db.select(self.db.func.count()).select_from(Execution).where(
                    Execution.id.in_(ids), Execution.finished_at.is_(None)))
            if not left:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{left} webhook executions did not finish")
            time.sleep(0.02)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

        with self.app.app_context():
            done = self.db.session.scalar(self.db.select(self.db.func.count()).select_from(Execution).where(
                Execution.id.in_(ids), Execution.status == "succeeded"))
        if done != count:
            raise RuntimeError(f"{count - done} webhook executions did not succeed")
        return count / wall, cpu / count * 1000.0

    def close(self) -> None:
        from atom.engine import get_engine
        from atom.state import get_state

        get_engine(self.app).close()
        get_state(self.app).recorder.close()
        with self.app.app_context():
            self.db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true", help="on the local PostgreSQL")
    parser.add_argument("--runs", type=int, default=15, help="measured runs per workload (median)")
    parser.add_argument("--hooks", type=int, default=500, help="webhook deliveries measured")
    parser.add_argument("--only", action="append", choices=("T40", "H40", "WH"))
    args = parser.parse_args(argv)
    only = set(args.only or ("T40", "H40", "WH"))
    server, base_url = start_server()
    drop = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            url, drop = _pg_database()
        else:
            url = f"sqlite:///{os.path.join(tmp, 'bench.db')}"
        db_name = "postgresql" if args.postgres else "sqlite"
        bench = Bench(tmp, url)
        try:
            if "T40" in only:
                steps = [{"id": f"s{i}", "type": "transform", "depends_on": [f"s{i - 1}"] if i else [],
                          "mapping": {"i": f"`{i}`"}} for i in range(40)]
                wall, per = bench.per_step("t40", steps, args.runs)
                print(f"RESULT workload=T40 db={db_name} wall_s={wall:.4f} per_step_ms={per:.3f}", flush=True)
            if "H40" in only:
                bench.connection(base_url)
                steps = [{"id": f"s{i}", "type": "action", "service": "http", "action": "get",
                          "depends_on": [f"s{i - 1}"] if i else [], "parameters": {"path": "/x"}}
                         for i in range(40)]
                wall, per = bench.per_step("h40", steps, args.runs)
                print(f"RESULT workload=H40 db={db_name} wall_s={wall:.4f} per_step_ms={per:.3f}", flush=True)
            if "WH" in only:
                rate, cpu = bench.webhooks(args.hooks)
                print(f"RESULT workload=WH db={db_name} executions={args.hooks} per_s={rate:.1f} "
                      f"cpu_ms={cpu:.2f}", flush=True)
        finally:
            bench.close()
            server.kill()
            if drop is not None:
                drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
