"""Benchmark: a health-check round, the alert rules, and the ingestion of call records.

Run ``python tests/perf/bench_monitoring.py``. Figures, each the median of several runs:

* ``check_round_s``: one health-check round (``atom.monitoring.checks.run_round``, alert
  evaluation included) over 30 ``http`` connections whose health check takes 300 ms on a local
  fake service. Target: at most 1.0 s (a serial round takes 9 s).
* ``check_round_300_s``: the same over 300 connections. Target: under 3 s (issue 12).
* ``rule_eval_ms``: one evaluation of the alert rules (``Monitor.evaluate_now``: the snapshot
  of fresh evidence and ``alerts.evaluate``, no checks) over 1,000 connections with 30 days of
  hourly roll-ups, two hours of raw checks and calls at one a minute (a new minute before
  each evaluation), 5 % of them failing with alerts open. Target: under 200 ms (issue 12).
* ``metrics_ingest_per_s``: call records recorded through the app's ``MetricsRecorder`` (with
  the monitoring listeners attached) and flushed to a temporary SQLite database, per second of
  recording plus flushing. Target: at least 20,000.
* ``services_uptime_s``: ``GET /api/v2/monitoring/services`` with the uptime (24 h, 7 d, 30 d)
  of 1,000 connections, each with 30 days of hourly check roll-ups and 15 raw checks (720,000
  roll-up rows; the uptimes are two grouped queries however many connections). Target: under
  1.5 s (about 0.85 s here; the uptime part about 0.35 s).
* ``anomaly_scan_s``: :func:`atom.monitoring.anomaly.scan_directory` over the public NAB set
  (11 files, about 62,000 samples; ``/work/shared/data/nab``). Target: under 10 s.

::

    RESULT check_round_s=0.412
    RESULT check_round_300_s=1.2
    RESULT rule_eval_ms=80
    RESULT metrics_ingest_per_s=180000
    RESULT services_uptime_s=0.850

Options: ``--connections N``, ``--delay S``, ``--rounds R``, ``--records N``,
``--uptime-connections N``, ``--big-round N`` (0 skips it), ``--eval-connections N`` (0 skips it).
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def make_app(folder: Path, **extra):
    import os

    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from atom import create_app

    os.environ["ATOM_INSTANCE_PATH"] = str(folder / "instance")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(), "SECRET_KEY": "bench",
        "PLUGINS_ENABLED": ["http"], "LOG_LEVEL": "WARNING",
        "METRICS_FLUSH_BATCH": 10**9, "METRICS_FLUSH_INTERVAL_S": 3600.0, **extra,
    })
    with app.app_context():
        upgrade()
    return app


def bench_round(connections: int, delay: float, rounds: int) -> list[float]:
    from atom.integrations.connections import create_connection
    from atom.monitoring.checks import run_round
    from tests.fakes import FakeServer
    from tests.fakes import reply

    with tempfile.TemporaryDirectory() as tmp, FakeServer() as fake:
        fake.always("/slow", reply(200, {"ok": True}, delay=delay))
        app = make_app(Path(tmp))
        with app.app_context():
            for i in range(connections):
                create_connection({"integration": "http", "label": f"bench {i}",
                                   "settings": {"base_url": fake.url, "health_path": "/slow"},
                                   "credentials": {}}, "bench")
        run_round(app)  # warm-up: builds each connection's client once
        durations = []
        for _ in range(rounds):
            result = run_round(app)
            assert len(result.results) == connections and all(r["ok"] for r in result.results)
            durations.append(result.duration_s)
        return durations


def bench_rule_eval(connections: int, rounds: int) -> list[float]:
    """Milliseconds per evaluation of the alert rules (no checks) over a large history."""
    from datetime import timedelta

    from atom.extensions import db
    from atom.models import CallRecord
    from atom.models import Connection
    from atom.models import HealthSample
    from atom.models import MetricRollup
    from atom.monitoring.monitor import get_monitor

    def evaluate_now(app):
        return get_monitor(app).evaluate_now()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), ANOMALY_DETECTION=False)
        now = datetime.now(UTC).replace(tzinfo=None).replace(second=0, microsecond=0)
        clock = {"now": now}
        get_monitor(app).clock = lambda: clock["now"]
        with app.app_context():
            db.session.execute(db.insert(Connection), [
                {"integration": "http", "label": f"bench {i}", "settings": {},
                 "enabled": True} for i in range(connections)])
            db.session.commit()
            ids = list(db.session.scalars(db.select(Connection.id)))
            hours = [now - timedelta(hours=h) for h in range(1, 24 * 30 + 1)]
            for bucket in hours:
                db.session.execute(db.insert(MetricRollup), [
                    {"source": "check", "bucket": bucket, "integration": "http",
                     "connection_id": cid, "count": 60, "error_count": 0,
                     "latency_sum_ms": 1200.0, "latency_max_ms": 40.0, "p50_ms": 20.0,
                     "p95_ms": 30.0} for cid in ids])
            db.session.commit()

            def minute(ts: datetime) -> None:
                failing = {cid for cid in ids if cid % 20 == 0}
                db.session.execute(db.insert(HealthSample), [
                    {"ts": ts, "connection_id": cid, "integration": "http",
                     "ok": cid not in failing, "latency_ms": 20.0 + cid % 7,
                     "error_class": "upstream" if cid in failing else None, "has_call": True}
                    for cid in ids])
                db.session.execute(db.insert(CallRecord), [
                    {"ts": ts, "integration": "http", "connection_id": cid,
                     "operation": "GET /health", "status": 503 if cid in failing else 200,
                     "ok": cid not in failing, "latency_ms": 20.0 + cid % 7, "attempts": 1,
                     "error_class": "upstream" if cid in failing else None} for cid in ids])
                db.session.commit()

            for m in range(120, 0, -1):
                minute(now - timedelta(minutes=m))
            for _ in range(3):  # warm-up: opens the failing connections' alerts
                minute(clock["now"])
                evaluate_now(app)
                clock["now"] += timedelta(minutes=1)
            durations = []
            for _ in range(rounds):
                minute(clock["now"])
                started = time.perf_counter()
                evaluate_now(app)
                durations.append((time.perf_counter() - started) * 1000)
                clock["now"] += timedelta(minutes=1)
        return durations


def bench_ingest(records: int, rounds: int) -> list[float]:
    from atom.extensions import db
    from atom.integrations.metrics import CallStat
    from atom.models import CallRecord
    from atom.state import get_state

    rates = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(Path(tmp))
            recorder = get_state(app).recorder
            now = datetime.now(UTC).replace(tzinfo=None)
            stats = [CallStat(now, "http", i % 30 + 1, "GET /items", 200 if i % 20 else 500,
                              bool(i % 20), 12.5 + i % 50, 1, None if i % 20 else "upstream")
                     for i in range(records)]
            started = time.perf_counter()
            for stat in stats:
                recorder.record(stat)
            while recorder.flush():
                pass
            elapsed = time.perf_counter() - started
            with app.app_context():
                stored = db.session.scalar(db.select(db.func.count(CallRecord.id)))
            recorder.close()
            assert stored == records, (stored, records)
            rates.append(records / elapsed)
    return rates


def bench_services_uptime(connections: int, days: int, rounds: int) -> list[float]:
    """``GET /api/v2/monitoring/services`` (every integration, uptime 24 h / 7 d / 30 d of each
    connection and integration) over ``connections`` connections with ``days`` days of hourly
    check roll-ups each and an hour of raw checks, in seconds per answer."""
    from datetime import timedelta

    from atom.extensions import db
    from atom.models import ApiKey
    from atom.models import Connection
    from atom.models import HealthSample
    from atom.models import MetricRollup

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        now = datetime.now(UTC).replace(tzinfo=None, minute=30, second=0, microsecond=0)
        hour = now.replace(minute=0)
        with app.app_context():
            db.session.execute(db.insert(Connection), [
                {"integration": "http", "label": f"bench {i}", "settings": {},
                 "credentials_encrypted": "", "enabled": True, "status": "active"}
                for i in range(connections)])
            ids = list(db.session.scalars(db.select(Connection.id)))
            rollups = [{"source": "check", "bucket": hour - timedelta(hours=k),
                        "integration": "http", "connection_id": cid, "count": 60,
                        "error_count": (cid + k) % 7 == 0, "latency_sum_ms": 600.0,
                        "latency_max_ms": 20.0, "p50_ms": 10.0, "p95_ms": 15.0}
                       for cid in ids for k in range(1, 24 * days + 1)]
            for start in range(0, len(rollups), 50_000):
                db.session.execute(db.insert(MetricRollup), rollups[start:start + 50_000])
            db.session.execute(db.insert(HealthSample), [
                {"ts": now - timedelta(minutes=m), "connection_id": cid, "integration": "http",
                 "ok": m % 9 != 0, "latency_ms": 10.0, "has_call": False}
                for cid in ids for m in range(0, 30, 2)])
            row, key = ApiKey.generate("bench", "viewer")
            db.session.add(row)
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        durations = []
        for _ in range(rounds + 1):  # the first one warms up
            started = time.perf_counter()
            response = client.get("/api/v2/monitoring/services", headers=headers)
            durations.append(time.perf_counter() - started)
            body = response.get_json()
            assert response.status_code == 200, body
            assert len(body["services"]["http"]["connections"]) == connections
            assert body["services"]["http"]["uptime"]["30d"] is not None
        return durations[1:]
def bench_anomaly_scan(rounds: int) -> list[float]:
    """Seconds to scan the public NAB set (``atom anomaly scan``'s work: read, detect, format)."""
    from atom.monitoring.anomaly import scan_directory

    data = ROOT.parent / "shared" / "data" / "nab"
    if not data.is_dir():
        data = Path("/work/shared/data/nab")
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        detections = scan_directory(data)
        durations.append(time.perf_counter() - started)
        assert len(detections) == 11, sorted(detections)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=30)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--uptime-connections", type=int, default=1000)
    parser.add_argument("--big-round", type=int, default=300)
    parser.add_argument("--eval-connections", type=int, default=1000)
    args = parser.parse_args()
    logging.disable(logging.INFO)

    durations = bench_round(args.connections, args.delay, args.rounds)
    print(f"check rounds (s): {', '.join(f'{d:.3f}' for d in durations)}")
    print(f"RESULT check_round_s={statistics.median(durations):.3f}")
    if args.big_round:
        durations = bench_round(args.big_round, args.delay, 3)
        print(f"check rounds of {args.big_round} (s): {', '.join(f'{d:.3f}' for d in durations)}")
        print(f"RESULT check_round_{args.big_round}_s={statistics.median(durations):.3f}")
    if args.eval_connections:
        durations = bench_rule_eval(args.eval_connections, args.rounds)
        print(f"rule evaluations (ms): {', '.join(f'{d:.0f}' for d in durations)}")
        print(f"RESULT rule_eval_ms={statistics.median(durations):.0f}")
    rates = bench_ingest(args.records, args.rounds)
    print(f"ingest (records/s): {', '.join(f'{r:,.0f}' for r in rates)}")
    print(f"RESULT metrics_ingest_per_s={statistics.median(rates):.0f}")
    uptime = bench_services_uptime(args.uptime_connections, 30, 3)
    print(f"services with uptimes (s): {', '.join(f'{d:.3f}' for d in uptime)}")
    print(f"RESULT services_uptime_s={statistics.median(uptime):.3f}")
    scans = bench_anomaly_scan(3)
    print(f"anomaly scans of the NAB public set (s): {', '.join(f'{d:.2f}' for d in scans)}")
    print(f"RESULT anomaly_scan_s={statistics.median(scans):.2f}")


if __name__ == "__main__":
    main()
