"""Durable timers benchmark: 10,000 executions each waiting a day cost no threads.

Run ``python tests/perf/bench_timers.py`` (``--count 10000`` by default). A real app on a
temporary SQLite database (``create_app``, migrated) starts a ``transform -> wait 86400 s ->
transform`` workflow ``--count`` times through ``Engine.start`` (as the webhook handler does)
and waits until every execution is parked (status ``waiting``, its timer a row). It prints the
process's threads and RSS before, every ``--sample`` executions and at the end (they must stay
flat: no thread per waiting execution), and how long starting and parking took. Then every
timer is made due (``due_at`` set to now, as a day later) and the scheduler's timer job
(:func:`atom.engine.timers.fire_due_timers`) is run until every execution has finished.
Measured on 2 shared cores (2026-12-02, other test runs beside it)::

    BEFORE threads=2 py_threads=1 rss_mb=132.2
    SAMPLE started=2000 waiting=1997 threads=11 py_threads=10 rss_mb=138.5
    SAMPLE started=10000 waiting=9998 threads=11 py_threads=10 rss_mb=140.1
    PARKED executions=10000 timers=10000 start_s=109.0 parked_s=109.1 per_s=92 active=0 threads=11 py_threads=10 rss_mb=140.1
    RESUMED executions=10000 wake_s=74.4 per_s=134 threads=18 py_threads=17 rss_mb=149.8

Exit status 1 when an execution does not end parked, or then succeeded.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--no-resume", action="store_true", help="stop after parking")
    args = parser.parse_args(argv)

    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from atom import create_app
    from atom.engine import get_engine
    from atom.engine.timers import fire_due_timers
    from atom.extensions import db
    from atom.models import ApiKey
    from atom.models import Execution
    from atom.models import ExecutionTimer
    from atom.models import StepRun
    from atom.models import Workflow
    from atom.models.base import utcnow
    from atom.state import get_state

    proc = psutil.Process()

    def figures() -> str:
        return f"threads={proc.num_threads()} py_threads={threading.active_count()} " \
               f"rss_mb={proc.memory_info().rss / 2**20:.1f}"

    def count(status: str) -> int:
        return db.session.scalar(db.select(db.func.count()).select_from(Execution)
                                 .where(Execution.status == status))

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ATOM_INSTANCE_PATH"] = os.path.join(tmp, "instance")
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.join(tmp, 'timers.db')}",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(), "SECRET_KEY": "timers",
            "LOG_LEVEL": "WARNING", "WORKFLOW_MAX_RUNS_PER_MINUTE": 100_000_000,
            "TIMER_MAX_PER_TICK": 1000,
        })
        with app.app_context():
            upgrade()
            row, plain = ApiKey.generate("timers", "admin")
            db.session.add(row)
            db.session.commit()
        client = app.test_client()
        created = client.post("/api/v2/ai-workflows", headers={"Authorization": f"Bearer {plain}"}, json={
            "name": "a day", "trigger": {"type": "webhook"},
            "steps": [{"id": "first", "type": "transform", "mapping": {"n": "trigger.n"}},
                      {"id": "nap", "type": "wait", "seconds": 86_400, "depends_on": ["first"]},
                      {"id": "after", "type": "transform", "mapping": {"n": "trigger.n"},
                       "depends_on": ["nap"]}]})
        assert created.status_code == 201, created.get_json()
        wf_id = created.get_json()["id"]
        engine = get_engine(app)
        print(f"BEFORE {figures()}", flush=True)
        started = time.perf_counter()
        with app.app_context():
            workflow = db.session.get(Workflow, wf_id)
            for n in range(1, args.count + 1):
                engine.start(workflow, {"n": n}, "webhook")
                db.session.expunge_all()
                workflow = db.session.merge(workflow, load=False)
                if n % args.sample == 0:
                    print(f"SAMPLE started={n} waiting={count('waiting')} {figures()}", flush=True)
                    db.session.commit()
            start_s = time.perf_counter() - started
            while count("waiting") < args.count:
                db.session.commit()
                if time.perf_counter() - started > start_s + 300:
                    break
                time.sleep(0.1)
            parked_s = time.perf_counter() - started
            waiting = count("waiting")
            timers = db.session.scalar(db.select(db.func.count()).select_from(ExecutionTimer))
            db.session.commit()
        print(f"PARKED executions={waiting} timers={timers} start_s={start_s:.1f} parked_s={parked_s:.1f} "
              f"per_s={args.count / parked_s:.0f} active={len(engine._active)} {figures()}", flush=True)
        failed = waiting != args.count
        if not args.no_resume and not failed:
            with app.app_context():
                # A day later: the timers are due and the waits began a day ago (a wait counts
                # from when it started, so a woken run whose wait is not over parks again).
                db.session.execute(db.update(ExecutionTimer).values(due_at=utcnow()))
                db.session.execute(db.update(StepRun).where(StepRun.step_id == "nap").values(
                    started_at=utcnow() - timedelta(days=1, seconds=1)))
                db.session.commit()
            woke = time.perf_counter()
            with app.app_context():
                while count("succeeded") < args.count:
                    db.session.commit()
                    fire_due_timers(app)
                    if time.perf_counter() - woke > 600:
                        break
                    time.sleep(0.2)
                done = count("succeeded")
                db.session.commit()
            wake_s = time.perf_counter() - woke
            print(f"RESUMED executions={done} wake_s={wake_s:.1f} per_s={done / wake_s:.0f} {figures()}",
                  flush=True)
            failed = done != args.count
        engine.close()
        get_state(app).recorder.close()
        with app.app_context():
            db.engine.dispose()
    if failed:
        print("ERROR not every execution parked and then finished", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
