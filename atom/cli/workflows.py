"""``atom workflows`` and ``atom executions``: the engine calls of the workflow and execution
API (start, wait, cancel, retry; :func:`atom.engine.workflows.present_execution`).

An execution started (or retried) here runs in this process. ``--wait`` bounds how long the
command waits for it: past that (or on Ctrl-C) the execution is cancelled, and the command
waits up to ``--grace`` seconds for the steps still running to end, so every step row ends
final (``succeeded``, ``failed``, ``skipped`` or ``cancelled``), never left ``running``.
"""
from __future__ import annotations

import re
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from atom.cli import main
from atom.cli.base import JsonFile
from atom.cli.base import JsonObject
from atom.cli.base import Live
from atom.cli.base import OneLineError
from atom.cli.base import aligned
from atom.cli.base import duration
from atom.cli.base import api_page
from atom.cli.base import echo_json
from atom.cli.base import fetch
from atom.cli.base import next_page_hint
from atom.cli.base import one_line
from atom.cli.base import plural
from atom.cli.base import table
from atom.cli.base import when
from atom.engine.states import EXECUTION_STATUSES
from atom.engine.states import FINISHED

STATUSES = EXECUTION_STATUSES
DEFAULT_WAIT_S = 300.0
DEFAULT_GRACE_S = 30.0
POLL_S = 0.25
SHOWN_ERROR_CHARS = 300


def output_options(fn: Any) -> Any:
    """``--json`` / ``--summary``: the readable summary unless ``--json`` asks for the
    execution as the API returns it (what scripts read)."""
    fn = click.option("--summary", "output", flag_value="summary",
                      help="Print the readable summary (the default).")(fn)
    return click.option("--json", "output", flag_value="json",
                        help="Print the execution as JSON, as the API returns it.")(fn)


def wait_options(fn: Any) -> Any:
    fn = click.option("--grace", "grace_s", type=click.FloatRange(min=0), default=DEFAULT_GRACE_S,
                      show_default=True,
                      help="After a timeout, seconds to wait for the steps still running to "
                           "end once the execution is cancelled.")(fn)
    return click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=DEFAULT_WAIT_S,
                        show_default=True,
                        help="Seconds to wait for the execution to finish; past that it is "
                             "cancelled and the command exits 1.")(fn)


# -- workflows ------------------------------------------------------------------------------------


@main.group()
def workflows() -> None:
    """Run and inspect workflows."""


@workflows.command("list")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many (1-500).")
@click.option("--cursor", help="The page after the one that printed this cursor (its next_cursor).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /api/v2/ai-workflows).")
@with_appcontext
def workflows_list(limit: int, cursor: str | None, as_json: bool) -> None:
    """List workflows by id, a page at a time: id, name, version, trigger, enabled."""
    from atom.api.pagination import PageQuery
    from atom.api.workflows import workflows_page

    # Webhook URLs are built on the server's address, as the server would answer.
    body = api_page("/api/v2/ai-workflows", workflows_page, PageQuery(),
                    {"limit": limit, "cursor": cursor})
    if as_json:
        echo_json(body)
        return
    table(("ID", "NAME", "VERSION", "TRIGGER", "STATE"),
          [(w["id"], w["name"], f"v{w['version']}", w["trigger"]["type"],
            "enabled" if w["enabled"] else "disabled") for w in body["workflows"]],
          empty="no workflows yet: create one in the dashboard or POST /api/v2/ai-workflows")
    next_page_hint(body)


@workflows.command("run")
@click.argument("workflow_id", type=int)
@click.option("--payload", "payload", type=JsonFile(),
              help="File holding the trigger payload, a JSON object ('-': stdin).")
@click.option("--data", "data", type=JsonObject(), help="The trigger payload inline: '{\"a\": 1}'.")
@wait_options
@output_options
@with_appcontext
def workflows_run(workflow_id: int, payload: dict | None, data: dict | None, wait_s: float,
                  grace_s: float, output: str | None) -> None:
    """Run a workflow now (as POST /api/v2/ai-workflows/<id>/execute) and print how it went:
    its status, duration, each step with its status and time, and the error if any.

    Exit status 0 if it succeeded, 1 otherwise (failed, cancelled, or not finished in --wait).
    """
    from atom.engine import get_engine
    from atom.models import Workflow

    if payload is not None and data is not None:
        raise click.BadParameter("give --payload or --data, not both", param_hint="--data")
    workflow = fetch(Workflow, workflow_id, "workflow")
    if workflow.deleted_at is not None:
        raise OneLineError(f"no workflow {workflow_id}")
    if not workflow.enabled:
        raise OneLineError(f"workflow {workflow_id} is disabled")
    execution, _ = get_engine().start(workflow, payload or data or {}, "manual")
    watch(execution.id, wait_s, grace_s, output)


@workflows.command("prune")
@with_appcontext
def workflows_prune() -> None:
    """Delete finished executions older than ATOM_EXECUTION_RETENTION_DAYS."""
    from atom.engine.triggers import prune_executions

    click.echo(f"pruned {prune_executions(current_app._get_current_object())} execution(s)")


# -- executions -----------------------------------------------------------------------------------


@main.group()
def executions() -> None:
    """List, show, retry and cancel workflow executions."""


@executions.command("list", field_options={"workflow_id": "--workflow"})
@click.option("--status", type=click.Choice(STATUSES), help="Only executions in this status.")
@click.option("--workflow", "workflow_id", type=int, help="Only this workflow's executions.")
@click.option("--since", help="Created at or after: ISO-8601 (2026-01-31T12:00Z) or an age "
                              "(30m, 6h, 7d).")
@click.option("--until", help="Created at or before (the same forms).")
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many (1-500).")
@click.option("--cursor", help="The page after the one that printed this cursor (its next_cursor).")
@click.option("--offset", type=int, default=0, help="Skip this many (deprecated: use --cursor).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /api/v2/executions).")
@with_appcontext
def executions_list(status: str | None, workflow_id: int | None, since: str | None,
                    until: str | None, limit: int, cursor: str | None, offset: int,
                    as_json: bool) -> None:
    """List executions, newest first, a page at a time (the filters of GET /api/v2/executions)."""
    from atom.api.workflows import ExecutionQuery
    from atom.api.workflows import executions_page
    from atom.extensions import db
    from atom.models import Workflow

    body = api_page("/api/v2/executions", executions_page, ExecutionQuery(), {
        "status": status, "workflow_id": workflow_id, "since": _moment(since),
        "until": _moment(until), "limit": limit, "cursor": cursor, "offset": offset})
    rows = body["executions"]
    if as_json:
        echo_json(body)
        return
    names = dict(db.session.execute(db.select(Workflow.id, Workflow.name).where(
        Workflow.id.in_({r["workflow_id"] for r in rows}))).all())
    table(("ID", "WORKFLOW", "STATUS", "TRIGGER", "CREATED", "DURATION", "ERROR"),
          [(r["id"], f"{r['workflow_id']} {names.get(r['workflow_id'], '?')}", r["status"],
            r["trigger_type"], when(r["created_at"]), duration(_elapsed_ms(r)),
            _short(r["error"], 80)) for r in rows],
          empty="no executions match")
    next_page_hint(body)


@executions.command("show")
@click.argument("execution_id", type=int)
@output_options
@with_appcontext
def executions_show(execution_id: int, output: str | None) -> None:
    """Show an execution: status, duration, and each step with its status, attempts, time
    and error (class and message)."""
    from atom.engine.workflows import present_execution
    from atom.models import Execution

    emit(present_execution(fetch(Execution, execution_id, "execution")), output)


@executions.command("retry")
@click.argument("execution_id", type=int)
@wait_options
@output_options
@with_appcontext
def executions_retry(execution_id: int, wait_s: float, grace_s: float, output: str | None) -> None:
    """Run a failed or cancelled execution again from its failed steps, keeping the outputs of
    those that succeeded (as POST /api/v2/executions/<id>/retry), and print how it went."""
    from atom.engine.executions import retry_execution
    from atom.models import Execution

    retry_execution(fetch(Execution, execution_id, "execution"))
    watch(execution_id, wait_s, grace_s, output)


@executions.command("cancel")
@click.argument("execution_id", type=int)
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=0.0,
              help="Seconds to wait for it to end (its running steps finish first).")
@with_appcontext
def executions_cancel(execution_id: int, wait_s: float) -> None:
    """Cancel an execution (as POST /api/v2/executions/<id>/cancel): no new step starts, the
    running ones finish. One whose process is gone is ended here."""
    from atom.engine import get_engine
    from atom.engine.executions import cancel_execution
    from atom.extensions import db
    from atom.models import Execution

    engine = get_engine()
    execution = fetch(Execution, execution_id, "execution")
    was = execution.status
    cancel_execution(execution)
    if engine.adopt(execution_id):  # its process is gone: end it here
        engine.wait(execution_id, DEFAULT_GRACE_S)
    elif wait_s:
        _poll_until_finished(execution_id, wait_s)
    db.session.expire_all()
    execution = db.session.get(Execution, execution_id)
    if execution.status == "cancelled":
        click.echo(f"execution {execution_id} cancelled (it was {was})")
    else:
        click.echo(f"cancel requested: execution {execution_id} is {execution.status}; its "
                   "running steps finish, then it ends as cancelled")


def _poll_until_finished(execution_id: int, wait_s: float) -> None:
    """Wait for an execution another process runs (read from the database)."""
    from atom.extensions import db
    from atom.models import Execution

    deadline = time.monotonic() + wait_s
    with Live(f"execution {execution_id}") as live:
        while time.monotonic() < deadline:
            status = db.session.execute(db.select(Execution.status)
                                        .filter_by(id=execution_id)).scalar()
            db.session.commit()
            if status in FINISHED:
                return
            live.status(f"{status}: waiting for its running steps")
            time.sleep(POLL_S)


# -- waiting for an execution of this process -----------------------------------------------------


def watch(execution_id: int, wait_s: float, grace_s: float, output: str | None) -> None:
    """Wait for an execution this process runs, print it, and exit 0 if it succeeded, else 1.
    Past ``wait_s`` (or on Ctrl-C) cancel it, wait up to ``grace_s`` for it to end, and fail
    with one line saying so."""
    from atom.engine import get_engine
    from atom.engine.workflows import present_execution
    from atom.extensions import db
    from atom.models import Execution

    engine = get_engine()
    reason = None
    started = time.monotonic()
    try:
        finished = _wait(engine, execution_id, wait_s, "running")
        if finished and _parked(execution_id):  # on a durable timer: it has not finished
            finished = _wait_parked(engine, execution_id, wait_s - (time.monotonic() - started))
    except KeyboardInterrupt:
        finished, reason = False, "was interrupted"
    ended = finished
    if not finished:
        reason = reason or f"did not finish within {wait_s:g}s"
        db.session.expire_all()
        engine.cancel_tree(db.session.get(Execution, execution_id))
        ended = _wait(engine, execution_id, grace_s, "cancelling")
    db.session.expire_all()
    body = present_execution(db.session.get(Execution, execution_id))
    emit(body, output)
    if reason is None:
        raise SystemExit(0 if body["status"] == "succeeded" else 1)
    running = [s["step_id"] for s in body["steps"] if s["status"] == "running"]
    if ended:
        raise OneLineError(f"execution {execution_id} {reason}: cancelled it "
                           f"({_step_counts(body['steps'])})")
    raise OneLineError(f"execution {execution_id} {reason}: cancelled it, but step(s) "
                       f"{', '.join(running) or '?'} still run after {grace_s:g}s more; they "
                       "end as their calls return (atom executions show "
                       f"{execution_id})")


def _parked(execution_id: int) -> bool:
    from atom.engine.states import ExecutionStatus
    from atom.extensions import db
    from atom.models import Execution

    status = db.session.execute(db.select(Execution.status).where(Execution.id == execution_id)).scalar()
    db.session.rollback()
    return status == ExecutionStatus.WAITING


def _wait_parked(engine: Any, execution_id: int, wait_s: float) -> bool:
    """Watch an execution parked on a durable timer until it has ended (woken by the scheduler,
    here or in another process) or ``wait_s`` more have passed."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not _parked(execution_id) and engine.wait(execution_id, max(0.0, deadline - time.monotonic())):
            return True
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    return False


def _wait(engine: Any, execution_id: int, timeout: float, doing: str) -> bool:
    """Wait for the engine to finish the execution; on a terminal, show a live line of its
    steps meanwhile."""
    live = Live(f"execution {execution_id} {doing}")
    if not live.enabled:
        return engine.wait(execution_id, timeout)
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    total = _step_total(execution_id)
    with live:
        while True:
            if engine.wait(execution_id, min(POLL_S, max(0.0, deadline - time.monotonic()))):
                return True
            if time.monotonic() >= deadline:
                return False
            live.status(_live_detail(execution_id, total, time.monotonic() - started))


def _step_total(execution_id: int) -> int | None:
    from atom.extensions import db
    from atom.models import Execution
    from atom.models import WorkflowVersion

    definition = db.session.execute(
        db.select(WorkflowVersion.definition).join(
            Execution, (Execution.workflow_id == WorkflowVersion.workflow_id)
            & (Execution.version == WorkflowVersion.version))
        .where(Execution.id == execution_id)).scalar()
    db.session.commit()
    return len(definition["steps"]) if definition else None


def _live_detail(execution_id: int, total: int | None, elapsed_s: float) -> str:
    from atom.extensions import db
    from atom.models import StepRun

    rows = db.session.execute(db.select(StepRun.step_id, StepRun.status)
                              .filter_by(execution_id=execution_id)).all()
    db.session.commit()
    done = sum(1 for _, status in rows if status != "running")
    running = [sid for sid, status in rows if status == "running"]
    text = f"{elapsed_s:.0f}s: {done}/{total if total is not None else '?'} steps done"
    return text + (f", running {', '.join(running)}" if running else "")


# -- printing an execution ------------------------------------------------------------------------


def emit(body: dict[str, Any], output: str | None) -> None:
    """Print an execution as JSON or as the summary (see :func:`output_options`)."""
    if output == "json":
        echo_json(body)
    else:
        for line in summary_lines(body):
            click.echo(line)


def summary_lines(body: dict[str, Any]) -> list[str]:
    """The readable summary of an execution (``present_execution``'s shape)."""
    from atom.extensions import db
    from atom.models import Workflow

    workflow = db.session.get(Workflow, body["workflow_id"])
    name = workflow.name if workflow is not None else "(deleted)"
    took = _elapsed_ms(body)
    status = body["status"] + (f" in {duration(took)}" if took is not None and
                               body["status"] in FINISHED else "")
    parent = f", sub-workflow of execution {body['parent_id']}" if body.get("parent_id") else ""
    lines = [f"Execution {body['id']}: {status}",
             f"  workflow  {body['workflow_id']} {name!r}, version {body['version']}, "
             f"trigger {body['trigger_type']}{parent}",
             f"  started   {when(body['started_at'])}   finished {when(body['finished_at'])}"]
    steps = body.get("steps") or []
    if steps:
        lines.append("  steps")
        lines += aligned(("STEP", "TYPE", "STATUS", "ATTEMPTS", "TIME", "ERROR / NOTE"),
                         [(s["step_id"], s["type"], s["status"], s["attempt"] or "-",
                           duration(s["duration_ms"]), _step_note(s)) for s in steps],
                         indent="    ")
    else:
        lines.append("  steps     none ran")
    if body.get("error"):
        lines.append(f"  error     {_short(body['error'], SHOWN_ERROR_CHARS)}")
    return lines


def _step_note(step: dict[str, Any]) -> str:
    error = step.get("error") or {}
    message = _short(error.get("message"), SHOWN_ERROR_CHARS) if error.get("message") else ""
    if error.get("class"):
        return f"{error['class']}: {message}" if message else error["class"]
    return message


def _step_counts(steps: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for step in steps:
        counts[step["status"]] = counts.get(step["status"], 0) + 1
    order = ("succeeded", "failed", "skipped", "cancelled", "running")
    ranked = sorted(counts.items(), key=lambda c: order.index(c[0]) if c[0] in order else len(order))
    said = ", ".join(f"{plural(n, 'step')} {status}" for status, n in ranked)
    return said or "no step ran"


def _elapsed_ms(body: dict[str, Any]) -> float | None:
    start, end = body.get("started_at"), body.get("finished_at")
    if not start or not end:
        return None
    return (_parse(end) - _parse(start)).total_seconds() * 1000.0


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _short(text: str | None, limit: int) -> str:
    if not text:
        return ""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _moment(value: str | None) -> str | None:
    """An age (``6h``) as the ISO-8601 time that long ago; anything else as given (the API's
    schema validates it)."""
    if value is None:
        return None
    match = _AGE.match(value)
    if not match:
        return value
    ago = datetime.now(UTC) - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    return ago.isoformat()
