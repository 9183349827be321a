"""``atom test``: run every connection's health check and read-only actions, and report.

Read-only actions (``Action.read_only``) run, their listings to the first page only, with an
empty input when it loads, else with the action's ``example`` (ids from the vendor's reference:
a service that answers that it does not know them, a 404 or a validation error, makes the
action skipped, not failed). An action neither loads for is listed as skipped with the fields it
needs, as is one the service refuses for want of input, and the actions of a connection whose
health check failed. The report has per-integration pass counts and latencies, and
recommendations derived from the error classes and the thresholds.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from typing import Callable

import numpy as np
from flask import Flask
from jinja2 import Environment
from marshmallow import RAISE
from marshmallow import ValidationError

from atom.extensions import db
from atom.integrations.errors import IntegrationError
from atom.integrations.pagination import first_page_only
from atom.models import Connection
from atom.models.base import isoformat
from atom.monitoring import thresholds
from atom.monitoring.monitor import get_monitor
from atom.state import get_state

ADVICE = {
    "auth": "Credentials were refused: re-authorise the connection (update its credentials).",
    "timeout": "The service did not answer in time: check the network path, or raise "
               "read_timeout_s in the connection's settings.",
    "rate_limited": "The service is rate limiting ATOM: lower rate_limit_per_second or spread "
                    "the workflows that use this connection.",
    "circuit_open": "The circuit breaker is open after repeated failures: fix the cause; it "
                    "lets a probe through after circuit_reset_s.",
    "upstream": "The service answered with an error or could not be reached: check its "
                "status page, the base_url and the health path.",
    "validation": "The service's answer or the input did not match the schema: check the "
                  "plugin version against the service's API version.",
}


def build_report(app: Flask, progress: Callable[[dict[str, Any] | None, int], None] | None = None,
                 ) -> dict[str, Any]:
    """Test every enabled connection concurrently and return the report.

    :param progress: called once with (None, number of connections) before the tests start,
        then with each connection's row (None for one deleted meanwhile) as it is done, from
        the worker threads.
    """
    started = time.perf_counter()
    with app.app_context():
        ids = list(db.session.scalars(db.select(Connection.id).where(Connection.enabled.is_(True))
                                      .order_by(Connection.id)))
        th = thresholds.current(app)
        now = isoformat(get_monitor(app).now())
    if progress is not None:
        progress(None, len(ids))

    def test_one(conn_id: int) -> dict[str, Any] | None:
        row = _test_connection(app, conn_id, th)
        if progress is not None:
            progress(row, len(ids))
        return row

    workers = max(1, min(len(ids), int(app.config["HEALTH_CHECK_CONCURRENCY"])))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="atom-test") as pool:
        rows = [r for r in pool.map(test_one, ids) if r]
    integrations = _by_integration(rows)
    checks_ok = sum(1 for r in rows if r["health"]["ok"])
    actions = [a for r in rows for a in r["actions"]]
    return {
        "generated_at": now,
        "duration_s": round(time.perf_counter() - started, 3),
        "summary": {
            "ok": checks_ok == len(rows) and not any(a["status"] == "failed" for a in actions),
            "connections": len(rows),
            "checks_passed": checks_ok,
            "checks_failed": len(rows) - checks_ok,
            "actions_passed": sum(1 for a in actions if a["status"] == "passed"),
            "actions_failed": sum(1 for a in actions if a["status"] == "failed"),
            "actions_skipped": sum(1 for a in actions if a["status"] == "skipped"),
        },
        "thresholds": th,
        "integrations": integrations,
        "connections": rows,
    }


def _test_connection(app: Flask, conn_id: int, th: dict[str, float]) -> dict[str, Any] | None:
    with app.app_context():
        conn = db.session.get(Connection, conn_id)
        if conn is None:
            return None
        runtime = get_state(app).runtime
        health = runtime.test(conn, timeout=float(app.config["HEALTH_CHECK_TIMEOUT_S"])).to_dict()
        manifest = runtime.registry.get(conn.integration).manifest
        actions = [_run_action(conn, spec, health["ok"]) for spec in manifest.actions
                   if spec.read_only]
        row = {"id": conn.id, "integration": conn.integration, "label": conn.label,
               "health": health, "actions": actions}
        row["recommendations"] = recommendations(row, th)
        return row


def _run_action(conn: Connection, spec: Any, healthy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec.name, "status": "skipped", "duration_ms": None,
                           "error_class": None, "message": None}
    if not healthy:
        out["message"] = "skipped: the health check failed"
        return out
    given = _input(spec)
    if isinstance(given, ValidationError):
        out["message"] = "skipped: needs input " + ", ".join(sorted(given.normalized_messages()))
        return out
    started = time.perf_counter()
    try:
        with first_page_only():  # one page shows the action works; a full listing is not a test
            get_state().runtime.run_action(conn, spec.name, given)
        out["status"] = "passed"
    except IntegrationError as exc:
        if given and (exc.code == "validation" or exc.status == 404):
            out["message"] = ("skipped: the service does not know the example input's ids "
                              f"(they are from its reference): {exc.message[:400]}")
        elif exc.code == "validation":  # reached and authenticated; it wants input to list
            out["message"] = f"skipped: needs input the test cannot guess: {exc.message[:400]}"
        else:
            out.update(status="failed", error_class=exc.code, message=exc.message[:500])
    out["duration_ms"] = round((time.perf_counter() - started) * 1000.0, 2)
    return out


def _input(spec: Any) -> dict[str, Any] | ValidationError:
    """An empty input if it loads, else the action's example if that does, else why not."""
    schema = spec.input(unknown=RAISE)
    try:
        schema.load({})
        return {}
    except ValidationError as exc:
        missing = exc
    try:
        schema.load(dict(spec.example))
        return dict(spec.example)
    except ValidationError:
        return missing


def recommendations(row: dict[str, Any], th: dict[str, float]) -> list[str]:
    """What to do about one connection's results (empty when all is well)."""
    found = []
    classes = [row["health"]["error_class"]] + [a["error_class"] for a in row["actions"]]
    for error_class in dict.fromkeys(c for c in classes if c):
        found.append(ADVICE.get(error_class, f"Failed with {error_class}: see the message."))
    latency = row["health"]["latency_ms"]
    if row["health"]["ok"] and latency > th["response_time_warning_ms"]:
        found.append(f"The health check took {latency:.0f} ms (warning level "
                     f"{th['response_time_warning_ms']:.0f} ms): the service is slow from here.")
    return found


def _by_integration(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted({r["integration"] for r in rows}):
        mine = [r for r in rows if r["integration"] == name]
        latency = np.asarray([r["health"]["latency_ms"] for r in mine], dtype=float)
        actions = [a for r in mine for a in r["actions"]]
        out[name] = {
            "connections": len(mine),
            "checks": {"passed": sum(1 for r in mine if r["health"]["ok"]), "total": len(mine)},
            "actions": {"passed": sum(1 for a in actions if a["status"] == "passed"),
                        "failed": sum(1 for a in actions if a["status"] == "failed"),
                        "skipped": sum(1 for a in actions if a["status"] == "skipped")},
            "latency_ms": {"avg": round(float(latency.mean()), 2),
                           "p50": round(float(np.percentile(latency, 50)), 2),
                           "p95": round(float(np.percentile(latency, 95)), 2),
                           "max": round(float(latency.max()), 2)},
            "recommendations": list(dict.fromkeys(x for r in mine for x in r["recommendations"])),
        }
    return out


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ATOM connection test report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2330; }
table { border-collapse: collapse; margin: 1rem 0 2rem; }
th, td { border: 1px solid #d5d9e0; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f2f4f7; } .ok { color: #17733a; } .failed { color: #b42318; } .skipped { color: #777; }
</style></head><body>
<h1>ATOM connection test report</h1>
<p>{{ r.generated_at }} &middot; {{ r.summary.connections }} connection(s) in {{ r.duration_s }} s &middot;
<strong class="{{ 'ok' if r.summary.ok else 'failed' }}">{{ 'all passed' if r.summary.ok else 'failures' }}</strong>
&middot; checks {{ r.summary.checks_passed }}/{{ r.summary.connections }} passed,
actions {{ r.summary.actions_passed }} passed, {{ r.summary.actions_failed }} failed,
{{ r.summary.actions_skipped }} skipped</p>
<h2>By integration</h2>
<table><tr><th>Integration</th><th>Checks passed</th><th>Actions (pass/fail/skip)</th>
<th>Latency avg / p95 / max (ms)</th><th>Recommendations</th></tr>
{% for name, i in r.integrations.items() %}<tr><td>{{ name }}</td>
<td class="{{ 'ok' if i.checks.passed == i.checks.total else 'failed' }}">{{ i.checks.passed }}/{{ i.checks.total }}</td>
<td>{{ i.actions.passed }}/{{ i.actions.failed }}/{{ i.actions.skipped }}</td>
<td>{{ i.latency_ms.avg }} / {{ i.latency_ms.p95 }} / {{ i.latency_ms.max }}</td>
<td>{% for rec in i.recommendations %}<div>{{ rec }}</div>{% endfor %}</td></tr>{% endfor %}
</table>
<h2>Connections</h2>
<table><tr><th>#</th><th>Connection</th><th>Health check</th><th>Read-only actions</th></tr>
{% for c in r.connections %}<tr><td>{{ c.id }}</td><td>{{ c.label }}<br><small>{{ c.integration }}</small></td>
<td class="{{ 'ok' if c.health.ok else 'failed' }}">{{ 'passed' if c.health.ok else 'failed' }}
({{ c.health.latency_ms }} ms){% if c.health.error_class %}<br>{{ c.health.error_class }}: {{ c.health.message }}{% endif %}</td>
<td>{% for a in c.actions %}<div class="{{ 'ok' if a.status == 'passed' else a.status }}">{{ a.name }}: {{ a.status }}
{% if a.duration_ms is not none %}({{ a.duration_ms }} ms){% endif %}{% if a.message %} &ndash; {{ a.message }}{% endif %}</div>{% endfor %}</td></tr>
{% endfor %}</table>
</body></html>
"""


def render_html(report: dict[str, Any]) -> str:
    """The report as a standalone HTML page (every value escaped)."""
    return Environment(autoescape=True).from_string(_HTML).render(r=report)
