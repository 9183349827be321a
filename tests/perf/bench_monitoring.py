"""Benchmark: a health-check round, and the ingestion of call records into SQLite.

Run ``python tests/perf/bench_monitoring.py``. Two figures, each the median of several runs:

* ``check_round_s``: one health-check round (``atom.monitoring.checks.run_round``, alert
  evaluation included) over 30 ``http`` connections whose health check takes 300 ms on a local
  fake service. Target: at most 1.0 s (a serial round takes 9 s).
* ``metrics_ingest_per_s``: call records recorded through the app's ``MetricsRecorder`` (with
  the monitoring listeners attached) and flushed to a temporary SQLite database, per second of
  recording plus flushing. Target: at least 20,000.
* ``anomaly_scan_s``: :func:`atom.monitoring.anomaly.scan_directory` over the public NAB set
  (11 files, about 62,000 samples; ``/work/shared/data/nab``). Target: under 10 s.

::

    RESULT check_round_s=0.412
    RESULT metrics_ingest_per_s=180000

Options: ``--connections N``, ``--delay S``, ``--rounds R``, ``--records N``.
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


def make_app(folder: Path):
    import os

    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from atom import create_app

    os.environ["ATOM_INSTANCE_PATH"] = str(folder / "instance")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(), "SECRET_KEY": "bench",
        "PLUGINS_ENABLED": ["http"], "LOG_LEVEL": "WARNING",
        "METRICS_FLUSH_BATCH": 10**9, "METRICS_FLUSH_INTERVAL_S": 3600.0,
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
    args = parser.parse_args()
    logging.disable(logging.INFO)

    durations = bench_round(args.connections, args.delay, args.rounds)
    print(f"check rounds (s): {', '.join(f'{d:.3f}' for d in durations)}")
    print(f"RESULT check_round_s={statistics.median(durations):.3f}")
    rates = bench_ingest(args.records, args.rounds)
    print(f"ingest (records/s): {', '.join(f'{r:,.0f}' for r in rates)}")
    print(f"RESULT metrics_ingest_per_s={statistics.median(rates):.0f}")
    scans = bench_anomaly_scan(3)
    print(f"anomaly scans of the NAB public set (s): {', '.join(f'{d:.2f}' for d in scans)}")
    print(f"RESULT anomaly_scan_s={statistics.median(scans):.2f}")


if __name__ == "__main__":
    main()
