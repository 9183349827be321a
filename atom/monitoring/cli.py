"""The monitoring commands: ``atom health``, ``atom test``, ``atom alerts``,
``atom anomaly scan``, ``atom monitoring maintain`` and ``atom scheduler``.

They are built on :mod:`atom.cli.base` (one-line errors, tables, live progress on a terminal)
and call what the monitoring API calls."""
from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from atom.cli.base import AtomCommand
from atom.cli.base import AtomSubGroup
from atom.cli.base import Live
from atom.cli.base import OutputFile
from atom.cli.base import echo_json
from atom.cli.base import fetch
from atom.cli.base import operator
from atom.cli.base import require_schema
from atom.cli.base import table
from atom.cli.base import when
from atom.cli.base import write_file


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@click.command("health", cls=AtomCommand)
@click.option("--check", is_flag=True, help="Run a health-check round first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@with_appcontext
def health_cmd(check: bool, as_json: bool) -> None:
    """Print every connection's health; exit 1 if any is unhealthy."""
    from atom.monitoring.checks import run_round
    from atom.monitoring.monitor import get_monitor

    app = _app()
    if check:
        run_round(app)
    snap = get_monitor(app).snapshot()
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


@click.command("test", cls=AtomCommand)
@click.option("--json", "json_path", type=OutputFile(),
              help="Write the report as JSON to this file.")
@click.option("--html", "html_path", type=OutputFile(),
              help="Write the report as an HTML page to this file.")
@with_appcontext
def test_cmd(json_path: str | None, html_path: str | None) -> None:
    """Run every connection's health check and read-only actions; write a report.

    Exit status 1 if a health check or an action failed. On a terminal a live count shows the
    connections tested so far.
    """
    from atom.monitoring.report import build_report
    from atom.monitoring.report import render_html

    with Live("testing connections") as live:
        def progress(row: dict[str, Any] | None, total: int) -> None:
            live.total = total
            if row is None:
                live.status("")
                return
            failed = not row["health"]["ok"] or any(a["status"] == "failed" for a in row["actions"])
            live.advance(row["label"], failed=failed)

        report = build_report(_app(), progress=progress)
    if json_path:
        write_file(json_path, json.dumps(report, indent=2))
    if html_path:
        write_file(html_path, render_html(report))
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


@click.group("anomaly", cls=AtomSubGroup)
def anomaly_cmd() -> None:
    """Anomaly detection over time series."""


@anomaly_cmd.command("scan")
@click.option("--input", "input_dir", required=True,
              type=click.Path(exists=True, file_okay=False), help="Folder of timestamp,value CSVs.")
@click.option("--output", required=True, type=OutputFile(),
              help="Where to write {relative csv path: [flagged timestamps]}.")
def anomaly_scan(input_dir: str, output: str) -> None:
    """Run the streaming detector (one fixed configuration) over every CSV under --input
    (a live count of the files on a terminal)."""
    from atom.monitoring.anomaly import scan_directory

    with Live("scanning") as live:
        def progress(done: int, total: int, name: str) -> None:
            live.total = total
            live.advance(name)

        detections = scan_directory(input_dir, progress=progress)
    write_file(output, json.dumps(detections, indent=2))
    flagged = sum(len(v) for v in detections.values())
    click.echo(f"scanned {len(detections)} file(s); {flagged} timestamp(s) flagged -> {output}")


@click.group("monitoring", cls=AtomSubGroup)
def monitoring_cmd() -> None:
    """Monitoring housekeeping."""


@monitoring_cmd.command("maintain")
@with_appcontext
def monitoring_maintain() -> None:
    """Roll up complete hours of metrics and prune what is past retention, now."""
    from atom.monitoring.rollup import maintain

    result = maintain(_app())
    click.echo(f"{result['rollups_written']} roll-up row(s) written; deleted {result['deleted']}")


@click.command("scheduler", cls=AtomCommand)
@with_appcontext
def scheduler_cmd() -> None:
    """Run the scheduler in this process until interrupted (it waits for the lock if another
    process holds it)."""
    from atom.background import start
    from atom.scheduler import start_scheduler

    app = _app()
    require_schema(app)
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


# -- alerts ---------------------------------------------------------------------------------------

ALERT_STATUS_CHOICES = ("open", "acknowledged", "resolved", "active")


@click.group("alerts", cls=AtomSubGroup)
def alerts_cmd() -> None:
    """List, acknowledge and resolve alerts."""


@alerts_cmd.command("list", field_options={"connection_id": "--connection"})
@click.option("--status", type=click.Choice(ALERT_STATUS_CHOICES),
              help="Only alerts in this status (active: open or acknowledged).")
@click.option("--severity", type=click.Choice(("warning", "critical")))
@click.option("--integration", help="Only alerts about this integration (its slug).")
@click.option("--connection", "connection_id", type=int, help="Only alerts about this connection.")
@click.option("--rule", help="Only alerts of this rule (response_time, success_rate, ...).")
@click.option("--limit", type=int, default=50, show_default=True,
              help="At most this many (1-500).")
@click.option("--cursor", help="The page after the one that printed this cursor (its next_cursor).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON (as GET /api/v2/monitoring/alerts).")
@with_appcontext
def alerts_list(status: str | None, severity: str | None, integration: str | None,
                connection_id: int | None, rule: str | None, limit: int, cursor: str | None,
                as_json: bool) -> None:
    """List alerts, newest first, a page at a time (the filters of GET
    /api/v2/monitoring/alerts)."""
    from atom.api.monitoring import alerts_page
    from atom.api.monitoring_schemas import AlertQuery
    from atom.cli.base import api_page
    from atom.cli.base import next_page_hint

    body = api_page("/api/v2/monitoring/alerts", alerts_page, AlertQuery(), {
        "status": status, "severity": severity, "integration": integration,
        "connection_id": connection_id, "rule": rule, "limit": limit, "cursor": cursor})
    rows = body["alerts"]
    if as_json:
        echo_json(body)
        return
    table(("ID", "SEVERITY", "STATUS", "RULE", "SUBJECT", "MESSAGE", "SINCE", "BY"),
          [(a["id"], a["severity"], a["status"], a["rule"], a["subject"], _cut(a["message"], 70),
            when(a["created_at"]), a["resolved_by"] or a["acknowledged_by"]) for a in rows],
          empty="no alerts match")
    next_page_hint(body)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@alerts_cmd.command("ack")
@click.argument("alert_id", type=int)
@click.option("--by", help="Who acknowledges it (default: your OS user name).")
@with_appcontext
def alerts_ack(alert_id: int, by: str | None) -> None:
    """Acknowledge an alert: it stays open until it resolves, but has been seen (who and when
    are recorded, as POST /api/v2/monitoring/alerts/<id>/acknowledge does)."""
    from atom.models import Alert
    from atom.monitoring import alerts
    from atom.monitoring.monitor import get_monitor

    alert = fetch(Alert, alert_id, "alert")
    was = alert.status
    who = operator(by)
    alerts.acknowledge(alert, who, get_monitor().now())
    if was == "acknowledged":
        click.echo(f"alert {alert_id} was acknowledged already (by {alert.acknowledged_by})")
    else:
        click.echo(f"acknowledged alert {alert_id} ({alert.severity} {alert.rule} on "
                   f"{alert.subject}) as {who}")


@alerts_cmd.command("resolve")
@click.argument("alert_id", type=int)
@click.option("--by", help="Who resolves it (default: your OS user name).")
@with_appcontext
def alerts_resolve(alert_id: int, by: str | None) -> None:
    """Resolve an alert by hand and notify its channels (as POST
    /api/v2/monitoring/alerts/<id>/resolve); if its condition persists a new alert opens later."""
    from atom.models import Alert
    from atom.monitoring import alerts
    from atom.monitoring.monitor import get_monitor

    monitor = get_monitor()
    who = operator(by)
    alert = alerts.resolve(fetch(Alert, alert_id, "alert"), who, monitor.now())
    monitor.alerts_changed()  # its incident may resolve with it
    delivered = monitor.notifier.drain(timeout=30.0)  # before this process exits
    click.echo(f"resolved alert {alert_id} ({alert.severity} {alert.rule} on {alert.subject}) "
               f"as {who}")
    if not delivered:
        click.echo("note: its notifications were still being sent after 30s", err=True)
