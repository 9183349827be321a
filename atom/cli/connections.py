"""``atom connections``: list connections (credentials masked, as the API shows them) and test
them (the health check of POST /api/v2/connections/<id>/test, recorded on the connection)."""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from atom.cli import main
from atom.cli.base import Live
from atom.cli.base import OneLineError
from atom.cli.base import duration
from atom.cli.base import api_page
from atom.cli.base import echo_json
from atom.cli.base import fetch
from atom.cli.base import next_page_hint
from atom.cli.base import one_line
from atom.cli.base import plural
from atom.cli.base import stdout_is_tty
from atom.cli.base import table
from atom.cli.base import when


SHOWN_MESSAGE_CHARS = 160


@main.group()
def connections() -> None:
    """List and test connections (accounts of integrations)."""


@connections.command("list")
@click.option("--integration", help="Only connections of this integration (its slug).")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many (1-500).")
@click.option("--cursor", help="The page after the one that printed this cursor (its next_cursor).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /api/v2/connections).")
@with_appcontext
def connections_list(integration: str | None, limit: int, cursor: str | None,
                     as_json: bool) -> None:
    """List connections: id, integration, label, enabled, status, health (status and score
    from the monitoring window) and the last test."""
    from atom.api.connections import ConnectionUptimeList
    from atom.api.connections import connections_page
    from atom.api.schemas import ConnectionQuery
    from atom.monitoring.monitor import get_monitor

    body = api_page("/api/v2/connections", connections_page, ConnectionQuery(),
                    {"integration": integration, "limit": limit, "cursor": cursor})
    rows = body["connections"]
    if as_json:
        echo_json(ConnectionUptimeList().dump(body))
        return
    health = get_monitor().snapshot().connections
    table(("ID", "INTEGRATION", "LABEL", "ENABLED", "STATUS", "HEALTH", "LAST TEST"),
          [(c["id"], c["integration"], c["label"], c["enabled"], c["status"],
            _health(health.get(c["id"])), _last_test(c["last_test"])) for c in rows],
          empty="no connections yet: add one in the dashboard or POST /api/v2/connections")
    next_page_hint(body)


def _health(metrics: Any) -> str:
    """The health the monitoring computes (a connection ``active`` for its credentials can
    still be ``unhealthy`` with a score of 0)."""
    if metrics is None:
        return "-"
    m = metrics.to_dict()
    score = m.get("health_score")
    text = m["status"] + ("" if score is None else f" {score:.0f}")
    return text + (" (maintenance)" if m.get("in_maintenance") else "")


def _last_test(test: dict[str, Any]) -> str:
    if not test.get("at"):
        return "never"
    if test.get("ok"):
        return f"ok {duration(test.get('latency_ms'))} at {when(test['at'])}"
    return f"failed ({test.get('error_class')}) at {when(test['at'])}"


@connections.command("test")
@click.argument("connection_ids", nargs=-1, type=int, metavar="[ID]...")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@with_appcontext
def connections_test(connection_ids: tuple[int, ...], as_json: bool) -> None:
    """Run the health check of the connections given (default: every enabled one), as POST
    /api/v2/connections/<id>/test does, and record each result on its connection.

    Prints each result as it comes (ok, latency, error class and message) and a summary; exit
    status 1 if any failed. A disabled connection given by id counts as failed.
    """
    from atom.extensions import db
    from atom.models import Connection

    app = current_app._get_current_object()
    if connection_ids:
        chosen = [fetch(Connection, cid, "connection") for cid in dict.fromkeys(connection_ids)]
        skipped = []
    else:
        every = db.session.scalars(db.select(Connection).order_by(Connection.id)).all()
        if not every:
            raise OneLineError("no connections to test: add one first")
        chosen = [c for c in every if c.enabled]
        skipped = [c for c in every if not c.enabled]
    targets = [(c.id, c.integration, c.label, c.enabled) for c in chosen]
    db.session.commit()
    results: list[dict[str, Any]] = []
    widths = [max((len(str(t[i])) for t in targets), default=1) for i in range(3)]
    with Live("testing connections", total=len(targets)) as live:
        def test_one(target: tuple[int, str, str, bool]) -> dict[str, Any]:
            result = _test(app, *target)
            results.append(result)
            if not as_json:
                live.echo(_result_line(result, widths))
            live.advance(f"{result['label']}", failed=not result["ok"])
            return result

        workers = max(1, min(len(targets), int(app.config["HEALTH_CHECK_CONCURRENCY"])))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="atom-cli-test") as pool:
            list(pool.map(test_one, targets))
    results.sort(key=lambda r: r["id"])
    failed = [r for r in results if not r["ok"]]
    summary = {"tested": len(results), "ok": len(results) - len(failed), "failed": len(failed),
               "disabled_not_tested": [c.id for c in skipped]}
    if as_json:
        echo_json({"results": results, "summary": summary})
    else:
        line = (f"{plural(len(results), 'connection')} tested: {summary['ok']} ok, "
                f"{len(failed)} failed")
        if skipped:
            line += f" ({plural(len(skipped), 'disabled connection')} not tested: " \
                    f"{', '.join(str(c.id) for c in skipped)})"
        click.echo(line)
    sys.exit(1 if failed else 0)


def _test(app: Any, conn_id: int, integration: str, label: str, enabled: bool) -> dict[str, Any]:
    """One connection's test, in its own app context (tests run on worker threads)."""
    from atom.extensions import db
    from atom.integrations.errors import IntegrationError
    from atom.integrations.registry import UnknownPlugin
    from atom.models import Connection
    from atom.state import get_state

    base = {"id": conn_id, "integration": integration, "label": label}
    if not enabled:  # what the API answers (409) for a disabled connection
        return {**base, "ok": False, "latency_ms": None, "error_class": "disabled",
                "message": f"connection {conn_id} is disabled: enable it first"}
    with app.app_context():
        try:
            conn = db.session.get(Connection, conn_id)
            if conn is None:
                return {**base, "ok": False, "latency_ms": None, "error_class": "deleted",
                        "message": f"connection {conn_id} was deleted meanwhile"}
            return {**base, **get_state().runtime.test(conn).to_dict()}
        except UnknownPlugin as exc:
            return {**base, "ok": False, "latency_ms": None, "error_class": "unknown_plugin",
                    "message": str(exc).strip("'\"")}
        except IntegrationError as exc:
            return {**base, "ok": False, "latency_ms": None, "error_class": exc.code,
                    "message": exc.message}
        finally:
            db.session.remove()


def _result_line(result: dict[str, Any], widths: list[int]) -> str:
    """``ok      3  http   orders api  120 ms`` (columns as wide as the widest connection's)."""
    cells = ["ok" if result["ok"] else "FAILED", str(result["id"]), result["integration"],
             result["label"], duration(result["latency_ms"]),
             "" if result["ok"] else f"{result['error_class']}: {one_line(result['message'])}"]
    if not stdout_is_tty():
        return "\t".join(cells)
    if len(cells[5]) > SHOWN_MESSAGE_CHARS:  # all of it: --json
        cells[5] = cells[5][:SHOWN_MESSAGE_CHARS - 1] + "…"
    padded = [cells[0].ljust(6), cells[1].rjust(widths[0]), cells[2].ljust(widths[1]),
              cells[3].ljust(widths[2]), cells[4].rjust(8), cells[5]]
    return "  ".join(padded).rstrip()
