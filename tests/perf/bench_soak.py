"""Soak benchmark: many webhook-like executions through one process; its memory stays flat.

Run ``python tests/perf/bench_soak.py`` (``--count 100000`` by default; ``--count 5000`` for a
short run). A real app on a temporary SQLite database (``create_app``, migrated) runs a
one-``transform`` workflow ``--count`` times through ``Engine.start`` (as the webhook handler
starts it), ``--window`` executions in flight at a time. The process's RSS is sampled every
``--sample`` executions; after the warm-up (the first ``--warmup`` executions) it must stay
within ``--limit-mb`` (20 MB) of its post-warm-up value::

    SAMPLE executions=10000 rss_mb=88.1 per_s=412.0
    RESULT executions=100000 rss_warm_mb=86.9 rss_end_mb=88.3 growth_mb=1.4 max_growth_mb=2.0 per_s=401.2

Exit status 1 when the growth passes the limit, or an execution does not succeed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--window", type=int, default=32, help="executions in flight at a time")
    parser.add_argument("--limit-mb", type=float, default=20.0)
    args = parser.parse_args(argv)
    warmup = min(args.warmup, args.count // 2)

    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from atom import create_app
    from atom.engine import get_engine
    from atom.extensions import db
    from atom.models import Execution
    from atom.models import Workflow
    from atom.state import get_state

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ATOM_INSTANCE_PATH"] = os.path.join(tmp, "instance")
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.join(tmp, 'soak.db')}",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(), "SECRET_KEY": "soak",
            "LOG_LEVEL": "WARNING", "WORKFLOW_MAX_RUNS_PER_MINUTE": 100_000_000,
        })
        with app.app_context():
            upgrade()
        client = app.test_client()
        from atom.models import ApiKey

        with app.app_context():
            row, plain = ApiKey.generate("soak", "admin")
            db.session.add(row)
            db.session.commit()
        created = client.post("/api/v2/ai-workflows", headers={"Authorization": f"Bearer {plain}"}, json={
            "name": "soak", "trigger": {"type": "webhook"},
            "steps": [{"id": "t", "type": "transform", "mapping": {"n": "trigger.n"}}]})
        assert created.status_code == 201, created.get_json()
        wf_id = created.get_json()["id"]
        engine = get_engine(app)
        proc = psutil.Process()
        in_flight: deque[int] = deque()
        warm_rss = None
        max_growth = 0.0
        started = time.perf_counter()
        failed = 0
        with app.app_context():
            workflow = db.session.get(Workflow, wf_id)
            for n in range(1, args.count + 1):
                execution, _ = engine.start(workflow, {"n": n}, "webhook")
                in_flight.append(execution.id)
                db.session.expunge_all()
                workflow = db.session.merge(workflow, load=False)
                if len(in_flight) >= args.window:
                    if not engine.wait(in_flight.popleft(), 60):
                        failed += 1
                if n % args.sample == 0 or n == warmup:
                    rss = proc.memory_info().rss / 2**20
                    rate = n / (time.perf_counter() - started)
                    if n == warmup:
                        warm_rss = rss
                    elif warm_rss is not None:
                        max_growth = max(max_growth, rss - warm_rss)
                    print(f"SAMPLE executions={n} rss_mb={rss:.1f} per_s={rate:.1f}", flush=True)
            while in_flight:
                if not engine.wait(in_flight.popleft(), 60):
                    failed += 1
            wall = time.perf_counter() - started
            end_rss = proc.memory_info().rss / 2**20
            ok = db.session.scalar(db.select(db.func.count()).select_from(Execution)
                                   .where(Execution.status == "succeeded"))
        engine.close()
        get_state(app).recorder.close()
        with app.app_context():
            db.engine.dispose()
    warm_rss = warm_rss if warm_rss is not None else end_rss
    growth = end_rss - warm_rss
    max_growth = max(max_growth, growth)
    print(f"RESULT executions={args.count} rss_warm_mb={warm_rss:.1f} rss_end_mb={end_rss:.1f} "
          f"growth_mb={growth:.1f} max_growth_mb={max_growth:.1f} per_s={args.count / wall:.1f} "
          f"bookkeeping active={len(engine._active)} waiters={len(engine._waiters)}")
    if ok != args.count or failed:
        print(f"ERROR {args.count - ok} executions did not succeed ({failed} not finished in time)",
              file=sys.stderr)
        return 1
    if max_growth > args.limit_mb:
        print(f"MISSED rss grew {max_growth:.1f} MB after warm-up (limit {args.limit_mb} MB)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
