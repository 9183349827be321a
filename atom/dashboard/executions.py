"""Execution pages: the list across workflows (the filters of ``GET /api/v2/executions``) and one
execution with its steps in graph order, a timeline, every attempt, inputs and outputs, and
Retry / Cancel (the code paths of ``POST /api/v2/executions/<id>/retry`` and ``/cancel``).

The page of a running execution refreshes itself: the live part carries ``hx-get`` with
``hx-trigger="every 2s"`` while the status is not final, and the fragment served once it is
final carries neither, so the polling stops.
"""
from __future__ import annotations

import graphlib
import math
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from marshmallow import ValidationError

from atom.api.workflows import ExecutionQuery
from atom.dashboard.base import bp
from atom.dashboard.base import field_errors
from atom.dashboard.base import is_htmx
from atom.dashboard.base import paginate
from atom.engine.executions import EXECUTION_TRIGGERS
from atom.engine.executions import ExecutionConflict
from atom.engine.executions import cancel_execution
from atom.engine.executions import retry_execution
from atom.engine.executions import select_executions
from atom.engine.states import ExecutionStatus
from atom.engine.timers import waiting_until
from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.base import utcnow
from atom.models.workflow import EXECUTION_STATUSES
from atom.models.workflow import FINISHED

FILTERS = ("status", "workflow_id", "trigger_type", "since", "until")
POLL_LIST_S = 3
# Presets of the time filter: (label, how far back).
RANGES = (("Last hour", timedelta(hours=1)), ("Last 24 hours", timedelta(days=1)),
          ("Last 7 days", timedelta(days=7)), ("Last 30 days", timedelta(days=30)))


# -- the list ------------------------------------------------------------------------------------


@bp.get("/executions")
def executions():
    """Every execution, newest first, filtered like ``GET /api/v2/executions``."""
    typed = {k: request.args.get(k, "").strip() for k in FILTERS}
    errors: dict[str, str] = {}
    try:
        query = ExecutionQuery(only=FILTERS).load({k: v for k, v in typed.items() if v})
    except ValidationError as exc:
        errors = field_errors(exc.messages)
        query = {}
    page = paginate(select_executions(**query))
    names = _workflow_names()
    live = any(ex.status not in FINISHED for ex in page.items)
    context = {"page": page, "names": names, "typed": typed, "errors": errors, "live": live,
               "filtered": any(typed.values()), "workflow_url": workflow_url,
               "duration": duration_text, "poll_s": POLL_LIST_S}
    if is_htmx():
        return _fragment("dashboard/executions/_results.html", context, 422 if errors else 200)
    context.update(
        status_options=[("", "Any status")] + [(s, s.capitalize()) for s in EXECUTION_STATUSES],
        workflow_options=[("", "Any workflow")] + [
            (str(wf_id), name)
            for wf_id, name in sorted(names.items(), key=lambda item: item[1].lower())],
        trigger_options=[("", "Any trigger")] + [(t, t.capitalize()) for t in EXECUTION_TRIGGERS],
        ranges=[(label, _range_url(back)) for label, back in RANGES],
        any_execution=(page.total > 0
                       or db.session.scalar(db.select(Execution.id).limit(1)) is not None),
    )
    return render_template("dashboard/executions/list.html", **context), 422 if errors else 200


def _workflow_names() -> dict[int, str]:
    """Every workflow's name by id (deleted ones marked: their executions are kept)."""
    rows = db.session.execute(db.select(Workflow.id, Workflow.name, Workflow.deleted_at)).all()
    return {r.id: f"{r.name} (deleted)" if r.deleted_at else r.name for r in rows}


def _range_url(back: timedelta) -> str:
    since = (datetime.now(UTC) - back).replace(tzinfo=None, second=0, microsecond=0)
    args = {k: v for k, v in request.args.items()
            if k in FILTERS and k not in ("since", "until") and v}
    return url_for("dashboard.executions", **args, since=since.isoformat(timespec="minutes"))


# -- one execution -------------------------------------------------------------------------------


@bp.get("/executions/<int:ex_id>")
def execution(ex_id: int):
    """One execution; an htmx request gets the live part only (polled while it runs)."""
    ex = _execution(ex_id)
    context = _execution_context(ex)
    if is_htmx():
        return _fragment("dashboard/executions/_live.html", context)
    response = make_response(render_template("dashboard/executions/detail.html", **context))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.post("/executions/<int:ex_id>/retry")
def execution_retry(ex_id: int):
    """Retry from the failed steps (``POST /api/v2/executions/<id>/retry``)."""
    ex = _execution(ex_id)
    try:
        retry_execution(ex)
    except ExecutionConflict as exc:
        flash(f"Not retried: {exc.message}.", "error")
    else:
        flash(f"Execution #{ex_id} runs again from its failed steps; the steps that succeeded "
              "keep their outputs.", "success")
    return redirect(url_for("dashboard.execution", ex_id=ex_id))


@bp.post("/executions/<int:ex_id>/cancel")
def execution_cancel(ex_id: int):
    """Cancel (``POST /api/v2/executions/<id>/cancel``): running steps finish, no new one starts."""
    ex = _execution(ex_id)
    was = ex.status
    try:
        cancel_execution(ex)
    except ExecutionConflict as exc:
        flash(f"Not cancelled: {exc.message}.", "error")
    else:
        if ex.status == "cancelled":
            flash(f"Execution #{ex_id} was cancelled while it waited." if was == ExecutionStatus.WAITING
                  else f"Execution #{ex_id} was cancelled before it started.", "success")
        else:
            flash(f"Cancellation of execution #{ex_id} requested: running steps finish, "
                  "no new step starts.", "success")
    return redirect(url_for("dashboard.execution", ex_id=ex_id))


def _execution(ex_id: int) -> Execution:
    ex = db.session.get(Execution, ex_id)
    if ex is None:
        abort(404, f"There is no execution #{ex_id}; it may have been pruned after the "
                   "retention period.")
    return ex


def _fragment(template: str, context: dict[str, Any], status: int = 200):
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    response.headers["Cache-Control"] = "no-store"
    return response


def _execution_context(ex: Execution) -> dict[str, Any]:
    workflow = db.session.get(Workflow, ex.workflow_id)
    definition = db.session.scalar(db.select(WorkflowVersion.definition).filter_by(
        workflow_id=ex.workflow_id, version=ex.version)) or {"steps": []}
    runs = {r.step_id: r for r in db.session.scalars(
        db.select(StepRun).filter_by(execution_id=ex.id).order_by(StepRun.id))}
    now = utcnow()
    steps = ordered_steps(definition.get("steps") or [], runs, now)
    children = db.session.scalars(db.select(Execution).filter_by(parent_id=ex.id)
                                  .order_by(Execution.id)).all()
    end = ex.finished_at or (now if ex.started_at else None)
    return {
        "ex": ex, "workflow": workflow, "steps": steps, "final": ex.status in FINISHED,
        "duration_ms": _ms(ex.started_at, end), "timeline": timeline(steps, ex, now),
        "timeline_narrow": timeline(steps, ex, now, NARROW),
        "children": children, "workflow_url": workflow_url, "duration": duration_text,
        "counts": _counts(steps),
        # Parked on a durable timer: when its earliest one is due.
        "waiting_until": waiting_until(ex.id) if ex.status == ExecutionStatus.WAITING else None,
        "approvals": _approvals(ex, definition),
    }


def _approvals(ex: Execution, definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The approval steps' decisions, and whether the signed-in user may decide each now
    (``why_not``: None when they may)."""
    raw = [s for s in definition.get("steps") or [] if s.get("type") == "approval"]
    if not raw:
        return {}
    from atom.accounts import session_user
    from atom.engine.approvals import allowed
    from atom.engine.approvals import decisions_of
    from atom.engine.definition import load_step

    user = session_user()
    by_step: dict[str, list[Any]] = {}
    for decision in decisions_of(ex.id):
        by_step.setdefault(decision.step_id, []).append(decision)
    out = {}
    for step in map(load_step, raw):
        decided = by_step.get(step.id, [])
        why = None if user is None else allowed(step, user.email, user.role, ex.started_by)
        if user is not None and any(d.decided_by == user.email for d in decided):
            why = "you have decided already"
        out[step.id] = {"decisions": decided, "why_not": why if user is not None else "not signed in",
                        "required": step.required}
    return out


@bp.post("/executions/<int:ex_id>/steps/<step_id>/<any(approve, reject):verb>")
def execution_decide(ex_id: int, step_id: str, verb: str):
    """Approve or reject a waiting approval step
    (``POST /api/v2/executions/<id>/steps/<step>/approve|reject``)."""
    from atom.accounts import session_user
    from atom.engine import get_engine
    from atom.engine.approvals import DecisionError
    from atom.engine.approvals import decide
    from atom.security import client_address

    _execution(ex_id)
    user = session_user()
    comment = (request.form.get("comment") or "").strip() or None
    if comment is not None and len(comment) > 2000:
        flash("Not decided: the comment is longer than 2000 characters.", "error")
        return redirect(url_for("dashboard.execution", ex_id=ex_id))
    decision = "approved" if verb == "approve" else "rejected"
    try:
        decide(ex_id, step_id, decision, user.email, user.role, "dashboard", comment, get_engine(),
               address=client_address())
    except DecisionError as exc:
        flash(f"Not decided: {exc}.", "error")
    else:
        flash(f"You {decision} step {step_id} of execution #{ex_id}.", "success")
    return redirect(url_for("dashboard.execution", ex_id=ex_id))


def _counts(steps: list[dict[str, Any]]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for step in steps:
        counts[step["status"]] = counts.get(step["status"], 0) + 1
    return sorted(counts.items())


def workflow_url(wf_id: int) -> str | None:
    """The workflow's page, where the workflows module serves one (``dashboard.workflow``)."""
    if "dashboard.workflow" not in current_app.view_functions:
        return None
    rule = next(current_app.url_map.iter_rules("dashboard.workflow"))
    arguments = sorted(rule.arguments)
    if len(arguments) != 1:
        return None
    return url_for("dashboard.workflow", **{arguments[0]: wf_id})


# -- steps in graph order ------------------------------------------------------------------------


def graph_levels(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Each step's level in the graph the runner follows (``depends_on``, and a handler after
    the step it handles): 0 for steps that wait for nothing, else one more than the deepest
    step it waits for. Steps of one level may run in parallel."""
    ids = [s["id"] for s in steps]
    waits = {s["id"]: [d for d in (s.get("depends_on") or []) if d in ids] for s in steps}
    for s in steps:
        handler = s.get("on_error")
        if handler in waits and handler != s["id"]:
            waits[handler].append(s["id"])
    levels: dict[str, int] = {}
    try:
        order = list(graphlib.TopologicalSorter(waits).static_order())
    except graphlib.CycleError:  # a saved definition has none; never fail a page on one anyway
        return {sid: 0 for sid in ids}
    for sid in order:
        levels[sid] = 1 + max((levels[d] for d in waits[sid]), default=-1)
    return levels


def ordered_steps(definition_steps: list[dict[str, Any]], runs: dict[str, StepRun],
                  now: datetime) -> list[dict[str, Any]]:
    """The steps of the version the execution ran, in topological order (level, then the order
    of the definition), each with what its row recorded."""
    levels = graph_levels(definition_steps)
    index = {s["id"]: i for i, s in enumerate(definition_steps)}
    handles: dict[str, list[str]] = {}  # a handler step -> the steps whose failure it handles
    for s in definition_steps:
        if s.get("on_error") not in (None, "fail", "continue"):
            handles.setdefault(s["on_error"], []).append(s["id"])
    items = _item_runs(definition_steps, runs)
    out = []
    for step in sorted(definition_steps, key=lambda s: (levels[s["id"]], index[s["id"]])):
        view = _step_view(step, runs.get(step["id"]), levels[step["id"]], handles.get(step["id"]), now)
        if step.get("type") == "foreach":
            view["loop_items"] = _item_views(step, items.get(step["id"], {}), now)
        out.append(view)
    in_items = {sid for by_index in items.values() for rows in by_index.values() for sid in rows}
    for sid, run in runs.items():  # a row of no step of this version (never expected)
        if sid not in index and sid not in in_items:
            out.append(_step_view({"id": sid, "type": run.step_type}, run, None, None, now))
    return out


_ITEM_ROW = re.compile(r"^(?P<loop>[^\[\]]+)\[(?P<index>\d+)\](?:\.(?P<inner>.+))?$")


def _item_runs(definition_steps: list[dict[str, Any]],
               runs: dict[str, StepRun]) -> dict[str, dict[int, dict[str, StepRun]]]:
    """The rows of foreach items (``<loop>[<n>]``, ``<loop>[<n>].<inner>``): loop id -> item
    index -> inner step id -> row."""
    loops = {s["id"] for s in definition_steps if s.get("type") == "foreach"}
    found: dict[str, dict[int, dict[str, StepRun]]] = {}
    for sid, run in runs.items():
        match = _ITEM_ROW.match(sid) if "[" in sid else None
        if match and match["loop"] in loops:
            found.setdefault(match["loop"], {}).setdefault(int(match["index"]), {})[sid] = run
    return found


def _item_views(step: dict[str, Any], by_index: dict[int, dict[str, StepRun]],
                now: datetime) -> list[dict[str, Any]]:
    """A foreach step's items in item order, each with its inner steps' views and a status
    (failed, running, or the status all its steps share)."""
    inner = [step["step"]] if step.get("step") else list(step.get("steps") or [])
    views = []
    for n in sorted(by_index):
        rows = by_index[n]
        steps = []
        for s in inner:
            sid = f"{step['id']}[{n}]" if step.get("step") else f"{step['id']}[{n}].{s.get('id')}"
            view = _step_view({**s, "id": sid}, rows.get(sid), None, None, now)
            view["local"] = s.get("id")
            steps.append(view)
        statuses = {v["status"] for v in steps}
        status = ("failed" if "failed" in statuses else "running" if "running" in statuses
                  else statuses.pop() if len(statuses) == 1 else "succeeded")
        views.append({"index": n, "status": status, "steps": steps})
    return views


def _step_view(step: dict[str, Any], run: StepRun | None, level: int | None,
               handles: list[str] | None, now: datetime) -> dict[str, Any]:
    policy = step.get("retry") or {}
    view: dict[str, Any] = {
        "id": step["id"], "name": step.get("name"),
        "type": step.get("type") or (run and run.step_type),
        "level": level, "depends_on": step.get("depends_on") or [], "handles": handles,
        "on_error": step.get("on_error", "fail"), "when": step.get("when"),
        "max_attempts": policy.get("max_attempts", 1), "run": run,
        "status": run.status if run else "pending", "attempt": run.attempt if run else 0,
        "started_at": run.started_at if run else None,
        "finished_at": run.finished_at if run else None,
        "duration_ms": run.duration_ms if run else None,
        "input": run.input if run else None, "output": run.output if run else None,
        "reason": None, "attempts": [], "retrying": False, "child_id": None,
        "wait": (f"waits {duration_text(float(step['seconds']) * 1000)}" if "seconds" in step
                 else f"waits until {step['until']}" if "until" in step else None),
    }
    if run is None:
        return view
    if run.duration_ms is None and run.started_at:
        view["duration_ms"] = _ms(run.started_at, run.finished_at or now)
    if run.status in ("skipped", "cancelled") and not run.error_class:
        view["reason"] = run.error  # the runner records why in the error column
    # A retry is waiting: the row stays "running" and holds the error of the attempt that failed.
    view["retrying"] = run.status == "running" and bool(run.error_class)
    view["attempts"] = _attempts(run, view["retrying"])
    if view["type"] == "workflow" and isinstance(run.output, dict):
        view["child_id"] = run.output.get("execution_id")
    return view


def _attempts(run: StepRun, retrying: bool) -> list[dict[str, Any]]:
    """Every attempt of a step: the earlier ones from the row's ``attempts`` list (status, error
    class and message, duration), then the row's own last attempt. Rows written before that
    list existed know only that an earlier attempt failed (only a failure is retried)."""
    kept = {a.get("attempt"): a for a in (run.attempts or []) if isinstance(a, dict)}
    attempts = []
    for n in range(1, run.attempt + (1 if retrying else 0)):
        record = kept.get(n)
        attempts.append({"number": n, "status": "failed", "known": record is not None,
                         "error_class": record.get("error_class") if record else None,
                         "error": record.get("error") if record else None,
                         "duration_ms": record.get("duration_ms") if record else None})
    if run.attempt < 1:  # ended without starting (skipped, cancelled)
        return attempts
    if retrying:
        attempts.append({"number": run.attempt + 1, "status": "pending", "error_class": None,
                         "error": None, "known": True, "duration_ms": None})
    else:
        attempts.append({"number": run.attempt, "status": run.status, "known": True,
                         "error_class": run.error_class,
                         "error": run.error if run.error_class else None,
                         "duration_ms": run.duration_ms})
    return attempts


# -- the timeline --------------------------------------------------------------------------------

# Two drawings of the timeline: a wide one, and a narrow one for phones (so its text stays
# readable where the SVG is scaled to the screen); CSS shows one of them.
WIDE = {"width": 960, "label": 190, "chars": 24}
NARROW = {"width": 360, "label": 104, "chars": 13}
TL_RIGHT = 16
TL_TOP = 30
TL_ROW = 26
TL_BAR = 14


def timeline(steps: list[dict[str, Any]], ex: Execution, now: datetime,
             layout: dict[str, int] = WIDE) -> dict[str, Any] | None:
    """A Gantt-like chart: one row per step, a bar from its start to its end (now while it
    runs), on an axis from the execution's start; parallel steps overlap in time."""
    times = [t for s in steps for t in (s["started_at"], s["finished_at"]) if t]
    if not times:
        return None
    t0 = min([ex.started_at] + times) if ex.started_at else min(times)
    running = [now for s in steps if s["status"] == "running"]
    t1 = max(times + running + ([ex.finished_at] if ex.finished_at else []))
    span = max(_ms(t0, t1) or 0.0, 1.0)
    tick = _tick(span, 6 if layout["width"] > 500 else 3)
    span = math.ceil(span / tick - 1e-9) * tick  # the axis ends on a tick
    width, left = layout["width"], layout["label"]
    plot = width - left - TL_RIGHT
    unit = _axis_unit(span)

    def x(ms: float) -> float:
        return round(left + plot * ms / span, 1)

    rows = []
    for i, step in enumerate(steps):
        y = TL_TOP + i * TL_ROW
        row = {"y": y, "text_y": y + TL_ROW / 2 + 4, "bar_y": y + (TL_ROW - TL_BAR) / 2,
               "label": _short(step["id"], layout["chars"]), "status": step["status"], "bar": None}
        start, end = step["started_at"], step["finished_at"]
        if step["status"] == "running" and start:
            end = now
        if start or end:
            a = _ms(t0, start or end) or 0.0
            b = _ms(t0, end or start) or a
            cls = step["status"]
            if step["retrying"] or (step["type"] in ("wait", "approval") and step["status"] == "running"):
                cls = "waiting"
            bar_width = max(x(b) - x(a), 3.0)
            row["bar"] = {"x": min(x(a), width - TL_RIGHT - bar_width),
                          "width": round(bar_width, 1), "cls": cls,
                          "title": f"{step['id']}: {step['status']}, "
                                   + (f"{duration_text(b - a)} from +{duration_text(a)}" if start
                                      else f"at +{duration_text(a)}")
                                   + (f" ({step['reason']})" if step["reason"] else "")}
        else:
            row["note_x"] = left + 4
        rows.append(row)
    ticks = [{"x": x(n * tick), "label": _tick_label(n * tick, unit)}
             for n in range(int(round(span / tick)) + 1)]
    height = TL_TOP + len(steps) * TL_ROW + 8
    return {"width": width, "height": height, "rows": rows, "ticks": ticks, "label_x": left,
            "plot_end": width - TL_RIGHT, "axis_y": TL_TOP - 4, "bottom": height - 4,
            "span": duration_text(span)}


_S, _MIN, _H = 1000.0, 60_000.0, 3_600_000.0
# Round steps for the axis: 1-2-5 in ms and seconds, then the clock's own.
TICKS = (1, 2, 5, 10, 20, 50, 100, 200, 500, _S, 2 * _S, 5 * _S, 10 * _S, 15 * _S, 30 * _S,
         _MIN, 2 * _MIN, 5 * _MIN, 10 * _MIN, 15 * _MIN, 30 * _MIN,
         _H, 2 * _H, 3 * _H, 6 * _H, 12 * _H, 24 * _H, 48 * _H, 168 * _H)


def _tick(span_ms: float, most: int = 6) -> float:
    """The smallest round step giving at most ``most`` intervals."""
    for step in TICKS:
        if span_ms / step <= most:
            return step
    return math.ceil(span_ms / most / TICKS[-1]) * TICKS[-1]


UNITS = (("ms", 1.0), ("s", 1000.0), ("min", 60_000.0), ("h", 3_600_000.0))


def _axis_unit(span_ms: float) -> tuple[str, float]:
    """Milliseconds up to 2 s, seconds up to 5 min, then minutes, then hours past 3 h."""
    if span_ms < 2000:
        return UNITS[0]
    if span_ms < 300_000:
        return UNITS[1]
    return UNITS[2] if span_ms < 3 * 3_600_000 else UNITS[3]


def _tick_label(value_ms: float, unit: tuple[str, float]) -> str:
    name, size = unit
    return f"{round(value_ms / size, 2):g} {name}"


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- formatting ----------------------------------------------------------------------------------


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds() * 1000.0, 0.0)


def duration_text(ms: float | None) -> str:
    """``< 0.1 ms``, ``0.4 ms``, ``120 ms``, ``2.35 s``, ``3 min 5 s``, ``2 h 10 min``."""
    if ms is None:
        return "—"
    if 0 < ms < 0.05:
        return "< 0.1 ms"  # not "0.0 ms": it took some time
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
