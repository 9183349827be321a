"""The monitoring commands: ``atom health``, ``atom test``, ``atom anomaly scan``,
``atom monitoring maintain`` and ``atom scheduler``."""
from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@click.command("health")
@click.option("--check", is_flag=True, help="Run a health-check round first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_appcontext
def health_cmd(check: bool, as_json: bool) -> None:
    """Print every connection's health; exit 1 if any is unhealthy."""
    from atom.monitoring.checks import run_round
    from atom.monitoring.metrics import snapshot

    app = _app()
    if check:
        run_round(app)
    snap = snapshot(app)
    rows = [m.to_dict() for m in snap.connections.values()]
    if as_json:
        click.echo(json.dumps({"connections": rows}, indent=2))
    else:
        click.echo(_table(rows))
    sys.exit(1 if any(r["status"] == "unhealthy" for r in rows) else 0)


def _table(rows: list[dict[str, Any]]) -> str:
    header = ("ID", "INTEGRATION", "LABEL", "STATUS", "SCORE", "P95 MS", "SUCCESS", "FAILS",
              "LAST CHECK")
    lines = [header]
    for r in rows:
        last = r["last_check"] or {}
        lines.append((
            str(r["id"]), r["integration"], r["label"][:30],
            r["status"] + (" (maintenance)" if r["in_maintenance"] else ""),
            _fmt(r["health_score"], "{:.0f}"), _fmt(r["p95_response_time_ms"], "{:.0f}"),
            _fmt(r["success_rate"], "{:.1%}"), str(r["consecutive_failures"]),
            (last.get("at") or "never") + ("" if last.get("ok", True) else
                                           f" {last.get('error_class')}"),
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def _fmt(value: Any, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


@click.command("test")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True),
              help="Write the report as JSON to this file.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, writable=True),
              help="Write the report as an HTML page to this file.")
@with_appcontext
def test_cmd(json_path: str | None, html_path: str | None) -> None:
    """Run every connection's health check and read-only actions; write a report.

    Exit status 1 if a health check or an action failed.
    """
    from atom.monitoring.report import build_report
    from atom.monitoring.report import render_html

    report = build_report(_app())
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2))
    if html_path:
        Path(html_path).write_text(render_html(report))
    s = report["summary"]
    click.echo(f"{s['connections']} connection(s): {s['checks_passed']} health check(s) passed, "
               f"{s['checks_failed']} failed; actions {s['actions_passed']} passed, "
               f"{s['actions_failed']} failed, {s['actions_skipped']} skipped")
    for name, info in report["integrations"].items():
        click.echo(f"  {name}: {info['checks']['passed']}/{info['checks']['total']} checks, "
                   f"p95 {info['latency_ms']['p95']:.0f} ms")
        for advice in info["recommendations"]:
            click.echo(f"    - {advice}")
    sys.exit(0 if s["ok"] else 1)


@click.group("anomaly")
def anomaly_cmd() -> None:
    """Anomaly detection over time series."""


@anomaly_cmd.command("scan")
@click.option("--input", "input_dir", required=True,
              type=click.Path(exists=True, file_okay=False), help="Folder of timestamp,value CSVs.")
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write {relative csv path: [flagged timestamps]}.")
def anomaly_scan(input_dir: str, output: str) -> None:
    """Run the streaming detector (one fixed configuration) over every CSV under --input."""
    from atom.monitoring.anomaly import scan_directory

    detections = scan_directory(input_dir)
    Path(output).write_text(json.dumps(detections, indent=2))
    flagged = sum(len(v) for v in detections.values())
    click.echo(f"scanned {len(detections)} file(s); {flagged} timestamp(s) flagged -> {output}")


@click.group("monitoring")
def monitoring_cmd() -> None:
    """Monitoring housekeeping."""


@monitoring_cmd.command("maintain")
@with_appcontext
def monitoring_maintain() -> None:
    """Roll up complete hours of metrics and prune what is past retention, now."""
    from atom.monitoring.rollup import maintain

    result = maintain(_app())
    click.echo(f"{result['rollups_written']} roll-up row(s) written; deleted {result['deleted']}")


@click.command("scheduler")
@with_appcontext
def scheduler_cmd() -> None:
    """Run the scheduler in this process until interrupted (it waits for the lock if another
    process holds it)."""
    from atom.background import start
    from atom.scheduler import start_scheduler

    app = _app()
    scheduler = start_scheduler(app, force=True)
    start(app)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"scheduler started ({'leader' if scheduler.is_leader else 'standing by'})")
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    scheduler.shutdown()
