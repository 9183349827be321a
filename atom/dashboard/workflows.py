"""Workflow pages: the list (search, filters, sort, paging), creating a workflow (from a
template, from JSON, or step by step with forms built from the action schemas), a workflow's
page (its graph of steps, its trigger, versions with diffs, Run with a payload, executions),
editing, enabling/disabling and deleting.

Nothing here decides what a valid workflow is: every save goes through the engine's
``create_workflow`` / ``update_workflow`` (what the REST API calls), templates through
``Template.instantiate``, a run through ``Engine.start``; the :class:`DefinitionError` they
raise is shown at the step and field it names. Definitions are shown through
``public_definition`` (a webhook secret is the mask, for every role).
"""
from __future__ import annotations

import graphlib
import json
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from marshmallow import fields as mf
from marshmallow import validate as mv

from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import field_errors
from atom.dashboard.base import is_htmx
from atom.dashboard.base import paginate
from atom.dashboard.executions import duration_text
from atom.engine import get_engine
from atom.engine.analytics import analysed_workflows
from atom.engine.analytics import services_status
from atom.engine.analytics import workflow_analytics
from atom.engine.chains import ExecutionRefused
from atom.engine.definition import TRIGGER_TYPES
from atom.engine.definition import DefinitionError
from atom.engine.definition import every_step
from atom.engine.diffs import definition_diff
from atom.engine.diffs import line_kinds
from atom.engine.templates import get_template
from atom.engine.templates import list_templates
from atom.engine.workflows import create_workflow
from atom.engine.workflows import current_definition
from atom.engine.workflows import delete_workflow
from atom.engine.workflows import normalise
from atom.engine.workflows import public_definition
from atom.engine.workflows import update_workflow
from atom.extensions import db
from atom.integrations.vault import MASK
from atom.models import Connection
from atom.models import Execution
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.base import utcnow
from atom.state import get_state

# What the JSON editor and the API's GET/PUT round trip share.
EDITABLE = ("name", "description", "enabled", "trigger", "steps")
SORTS = {"name": "Name", "updated": "Recently updated", "last_run": "Last run"}
BUILDER_KINDS = (("action", "Action (an integration does something)"),
                 ("condition", "Condition (continue only if true)"),
                 ("transform", "Transform (reshape data)"),
                 ("wait", "Wait"))
# The windows of the per-step and workflows-wide figures (``?days=``, as the API's
# ``GET /api/v2/ai-workflows/analytics?days=N``).
DAY_WINDOWS = (1, 7, 30)
DEFAULT_DAYS = 30


# -- lookups --------------------------------------------------------------------------------------


def _workflow_or_404(wf_id: int) -> Workflow:
    workflow = db.session.get(Workflow, wf_id)
    if workflow is None or workflow.deleted_at is not None:
        abort(404)
    return workflow


def _connections_by_service() -> dict[str, list[Connection]]:
    out: dict[str, list[Connection]] = {}
    for conn in db.session.scalars(db.select(Connection).order_by(Connection.label, Connection.id)):
        out.setdefault(conn.integration, []).append(conn)
    return out


def _manifests() -> list[Any]:
    return sorted((p.manifest for p in get_state().registry.loaded() if p.manifest),
                  key=lambda m: m.display_name.lower())


def _manifest(slug: str | None) -> Any:
    if not slug:
        return None
    registry = get_state().registry
    return registry.get(slug).manifest if slug in registry else None


def _endpoint(name: str) -> bool:
    return name in current_app.view_functions


def _display_name(slug: str) -> str:
    manifest = _manifest(slug)
    return manifest.display_name if manifest else slug


def conn_options(conns: list[Connection]) -> list[tuple[int, str]]:
    """Select options for connections: label, id, and whether it is disabled."""
    return [(c.id, f"{c.label} (#{c.id})" + ("" if c.enabled else " — disabled")) for c in conns]


# -- the graph of steps ---------------------------------------------------------------------------

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 184, 54, 26, 46, 14


@dataclass
class Node:
    id: str
    kind: str
    title: str
    subtitle: str
    tooltip: str
    layer: int
    x: float = 0
    y: float = 0
    classes: list[str] = dc_field(default_factory=list)


@dataclass
class Edge:
    path: str
    kind: str  # "dep", "cond" (out of a condition: only if it is true), "handler" (on error)
    label: str = ""
    lx: float = 0
    ly: float = 0


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _step_summary(step: dict[str, Any]) -> str:
    kind = step.get("type")
    if kind in ("action", "notification"):
        return f"{step.get('service')}.{step.get('action') or 'notify'}"
    if kind == "condition":
        return f"if {step.get('expression', '')}"
    if kind == "transform":
        if step.get("aggregate"):
            agg = step["aggregate"]
            return f"{agg.get('op')} of {agg.get('source')}"
        return "map " + ", ".join(step.get("mapping") or {})
    if kind == "wait":
        return f"wait {step['seconds']:g} s" if step.get("seconds") is not None else f"until {step.get('until')}"
    if kind == "workflow":
        return f"run workflow {step.get('workflow_id')}"
    if kind == "foreach":
        inner = [step["step"]] if isinstance(step.get("step"), dict) else step.get("steps") or []
        body = ", ".join(str(s.get("id")) for s in inner if isinstance(s, dict))
        times = f" ×{step['concurrency']}" if (step.get("concurrency") or 1) > 1 else ""
        return f"each{times}: {body} (items: {step.get('items')})"
    if kind == "approval":
        who = [*(step.get("approvers") or {}).get("roles", []), *(step.get("approvers") or {}).get("users", [])]
        return f"{step.get('required', 1)} approval(s) by {', '.join(who)}"
    return str(kind)


def trigger_detail(trigger: dict[str, Any]) -> str:
    """What starts it, without the trigger's type (shown beside it)."""
    kind = trigger.get("type")
    if kind == "schedule":
        return f"{trigger.get('cron')} {trigger.get('timezone', 'UTC')}"
    if kind == "event":
        return f"{trigger.get('service')}: {trigger.get('event')}"
    if kind == "webhook":
        return "signed" if trigger.get("secret") else "unsigned"
    return "by hand or the API"


def step_layers(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Each step's depth: 0 for a step that waits for nothing, else one more than the deepest
    step it waits for (its dependencies and, for an error handler, the steps it handles).
    Steps of the same depth may run in parallel."""
    ids = {s["id"] for s in steps}
    waits: dict[str, set[str]] = {s["id"]: {d for d in s.get("depends_on") or [] if d in ids} for s in steps}
    for step in steps:
        handler = step.get("on_error")
        if handler in ids and handler != step["id"]:
            waits[handler].add(step["id"])
    depth: dict[str, int] = {}
    try:
        order = list(graphlib.TopologicalSorter(waits).static_order())
    except graphlib.CycleError:  # an invalid definition: draw it flat rather than fail
        return {s["id"]: 0 for s in steps}
    for sid in order:
        depth[sid] = 1 + max((depth[d] for d in waits[sid]), default=-1)
    return depth


def build_graph(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition laid out for an SVG: the trigger on top, then one row per depth."""
    steps = [s for s in definition.get("steps") or [] if isinstance(s, dict) and isinstance(s.get("id"), str)]
    by_id = {s["id"]: s for s in steps}
    layers = step_layers(steps)
    handlers = {s.get("on_error") for s in steps if s.get("on_error") in by_id}
    trigger = definition.get("trigger") or {}
    nodes = [Node("__trigger__", "trigger", f"Trigger: {trigger.get('type', '?')}",
                  _short(trigger_detail(trigger), 25),
                  f"{trigger.get('type', 'manual')}: {trigger_detail(trigger)}", 0,
                  classes=["node", "kind-trigger"])]
    for step in steps:
        kind = "handler" if step["id"] in handlers else step.get("type", "action")
        classes = ["node", f"kind-{kind}", f"type-{step.get('type')}"]
        if step.get("when"):
            classes.append("has-when")
        summary = _step_summary(step)
        tip = f"{step['id']} ({step.get('type')}): {summary}"
        if step.get("when"):
            tip += f"; only when {step['when']}"
        if step.get("on_error") not in (None, "fail"):
            tip += f"; on error: {step['on_error']}"
        title = ("◆ " if step.get("type") == "condition" else "") + step.get("name", step["id"])
        nodes.append(Node(step["id"], kind, _short(title, 23), _short(summary, 24), tip,
                          layers.get(step["id"], 0) + 1, classes=classes))
    rows: dict[int, list[Node]] = {}
    for node in nodes:
        rows.setdefault(node.layer, []).append(node)
    widest = max(len(r) for r in rows.values())
    width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X
    for layer, row in rows.items():
        row_w = len(row) * NODE_W + (len(row) - 1) * GAP_X
        left = (width - row_w) / 2
        for i, node in enumerate(row):
            node.x = left + i * (NODE_W + GAP_X)
            node.y = PAD + layer * (NODE_H + GAP_Y)
    height = PAD * 2 + (max(rows) + 1) * NODE_H + max(rows) * GAP_Y
    place = {n.id: n for n in nodes}
    edges: list[Edge] = []

    def connect(a: Node, b: Node, kind: str, label: str = "") -> None:
        x1, y1 = a.x + NODE_W / 2, a.y + NODE_H
        x2, y2 = b.x + NODE_W / 2, b.y
        if b.layer <= a.layer:  # drawn flat (an invalid definition): side by side
            x1, y1, x2, y2 = a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2
        bend = max(18.0, (y2 - y1) / 2)
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2 - 2:.1f}"
        edges.append(Edge(path, kind, label, (x1 + x2) / 2 + 4, (y1 + y2) / 2 + 4))

    for step in steps:
        node = place[step["id"]]
        deps = [d for d in step.get("depends_on") or [] if d in place]
        handled = [s["id"] for s in steps if s.get("on_error") == step["id"]]
        if not deps and not handled:
            connect(place["__trigger__"], node, "dep")
        for dep in deps:
            is_cond = by_id[dep].get("type") == "condition"
            connect(place[dep], node, "cond" if is_cond else "dep", "if true" if is_cond else "")
        for failing in handled:
            connect(place[failing], node, "handler", "on error")
    return {"width": round(width), "height": round(height), "nodes": nodes, "edges": edges,
            "node_w": NODE_W, "node_h": NODE_H, "wide": width > 440,
            "parallel": any(len(r) > 1 for layer, r in rows.items() if layer > 0),
            "label": f"{len(steps)} steps in {max(rows)} rows; steps in the same row run in parallel"}


def steps_table(definition: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [s for s in definition.get("steps") or [] if isinstance(s, dict)]
    layers = step_layers([s for s in steps if isinstance(s.get("id"), str)])
    handled = {s.get("on_error"): s.get("id") for s in steps}
    out = []
    for step in steps:
        retry = step.get("retry") or {}
        out.append({"id": step.get("id"), "type": step.get("type"), "what": _step_summary(step),
                    "row": layers.get(step.get("id"), 0) + 1,
                    "after": ", ".join(step.get("depends_on") or []) or (
                        "" if step.get("id") in handled else "the trigger"),
                    "when": step.get("when"), "on_error": step.get("on_error", "fail"),
                    "handles": [s.get("id") for s in steps if s.get("on_error") == step.get("id")],
                    "connection": step.get("connection"), "retry": retry.get("max_attempts"),
                    "timeout": step.get("timeout_s"), "handler": step.get("id") in handled})
    return out


# -- triggers -------------------------------------------------------------------------------------


def next_fire_times(cron: str, timezone: str, count: int = 5) -> list[tuple[datetime, datetime]]:
    """The next ``count`` fire times as (UTC, the cron's own time zone), as the scheduler fires
    them (cron evaluated in its time zone)."""
    zone = ZoneInfo(timezone)
    it = croniter(cron, datetime.now(UTC).astimezone(zone))
    out = []
    for _ in range(count):
        local = it.get_next(datetime)
        out.append((local.astimezone(UTC), local))
    return out


def _trigger_view(workflow: Workflow, trigger: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"type": trigger.get("type"), "trigger": trigger}
    if trigger.get("type") == "schedule":
        try:
            view["fires"] = next_fire_times(trigger["cron"], trigger.get("timezone", "UTC"))
        except Exception as exc:  # a definition saved before validation got stricter
            view["fire_error"] = str(exc)
    elif trigger.get("type") == "webhook" and workflow.webhook_token:
        view["url"] = url_for("workflow_hooks.receive", token=workflow.webhook_token, _external=True)
        view["signed"] = bool(trigger.get("secret"))
        view["tolerance"] = int(current_app.config["WEBHOOK_TOLERANCE_S"])
    elif trigger.get("type") == "event":
        manifest = _manifest(trigger.get("service"))
        spec = manifest.trigger(trigger.get("event")) if manifest else None
        view["manifest"] = manifest
        view["spec"] = spec
        if trigger.get("connection_id"):
            view["connection"] = db.session.get(Connection, trigger["connection_id"])
    return view


def _default_payload(definition: dict[str, Any]) -> dict[str, Any]:
    """What the Run form starts with: an event trigger's sample event, else {}."""
    trigger = definition.get("trigger") or {}
    if trigger.get("type") == "event":
        manifest = _manifest(trigger.get("service"))
        spec = manifest.trigger(trigger.get("event")) if manifest else None
        if spec is not None:
            return dict(spec.sample)
    return {}


# -- JSON with errors at the lines they name --------------------------------------------------------


def json_lines(value: Any, path: tuple = (), indent: int = 0, key: Any = None,
               last: bool = True) -> list[tuple[str, tuple]]:
    """``value`` as ``json.dumps(indent=2)`` would print it, line by line, each line with the
    path (keys and list indexes) of what it shows."""
    pad = "  " * indent
    head = pad + (json.dumps(key, ensure_ascii=False) + ": " if key is not None else "")
    comma = "" if last else ","
    if isinstance(value, dict) and value:
        lines = [(head + "{", path)]
        items = list(value.items())
        for i, (k, v) in enumerate(items):
            lines += json_lines(v, path + (k,), indent + 1, str(k), i == len(items) - 1)
        return lines + [(pad + "}" + comma, path)]
    if isinstance(value, list) and value:
        lines = [(head + "[", path)]
        for i, v in enumerate(value):
            lines += json_lines(v, path + (i,), indent + 1, None, i == len(value) - 1)
        return lines + [(pad + "]" + comma, path)]
    return [(head + json.dumps(value, ensure_ascii=False, default=str) + comma, path)]


def resolve_path(doc: Any, key: str) -> tuple[tuple, str]:
    """An error key (``steps.notify.parameters.channel``, ``steps.#2.id``,
    ``trigger.params.folder_id``) as the path of the deepest part of ``doc`` it names, and
    what remains of it (a field that is missing)."""
    parts = key.split(".")
    path: tuple = ()
    node = doc
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(node, list):
            index = None
            if part.isdigit():
                index = int(part)
            elif part.startswith("#") and part[1:].isdigit():
                index = int(part[1:])
            else:
                index = next((n for n, s in enumerate(node) if isinstance(s, dict) and s.get("id") == part), None)
            if index is None or index >= len(node):
                break
            path, node, i = path + (index,), node[index], i + 1
            continue
        if isinstance(node, dict):
            # A key may itself hold dots (a condition on "workflow_run.conclusion").
            for j in range(len(parts), i, -1):
                name = ".".join(parts[i:j])
                if name in node:
                    path, node, i = path + (name,), node[name], j
                    break
            else:
                break
            continue
        break
    return path, ".".join(parts[i:])


def annotate(doc: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """Lines of ``doc`` pretty-printed, each with the errors that name it."""
    lines = json_lines(doc)
    first_line = {}
    for n, (_, path) in enumerate(lines):
        first_line.setdefault(path, n)
    notes: dict[int, list[dict[str, str]]] = {}
    for key, message in errors.items():
        path, rest = resolve_path(doc, key)
        n = first_line.get(path, 0)
        notes.setdefault(n, []).append({"key": key, "field": rest, "message": message,
                                        "anchor": "err-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)})
    out = [{"number": n + 1, "text": text, "errors": notes.get(n, [])} for n, (text, _) in enumerate(lines)]
    if len(out) <= 2 * ANNOTATE_CONTEXT + 16:
        return out
    # A long definition: the marked lines with a few lines around each, the rest folded.
    keep = {k for n in notes for k in range(n - ANNOTATE_CONTEXT, n + ANNOTATE_CONTEXT + 1)}
    folded: list[dict[str, Any]] = []
    for n, line in enumerate(out):
        if n in keep:
            folded.append(line)
        elif not folded or not folded[-1].get("gap"):
            folded.append({"gap": True, "number": "⋯", "text": "", "errors": []})
    return folded


ANNOTATE_CONTEXT = 4


def error_list(doc: Any, errors: dict[str, str]) -> list[dict[str, str]]:
    """The errors in the order of the document, each saying which step and field it names."""
    out = []
    steps = doc.get("steps") if isinstance(doc, dict) else None
    for key, message in errors.items():
        parts = key.split(".")
        where = key
        if parts[0] == "steps" and len(parts) > 1:
            path, rest = resolve_path(doc, key)
            if len(path) > 1 and isinstance(steps, list):
                step = steps[path[1]]
                sid = step.get("id") if isinstance(step, dict) else None
                where = f"step {path[1] + 1}" + (f" ({sid})" if isinstance(sid, str) else "")
                field = ".".join(str(p) for p in path[2:]) + ("." if path[2:] and rest else "") + rest
                if field:
                    where += f", field {field}"
        out.append({"key": key, "where": where, "message": message,
                    "anchor": "err-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)})
    return out


def _definition_errors(exc: DefinitionError) -> dict[str, str]:
    return field_errors(exc.errors)


# -- analytics ------------------------------------------------------------------------------------


def analytics_days() -> tuple[int, dict[str, str]]:
    """``?days=`` as one of :data:`DAY_WINDOWS` (none: 30), and the field's error otherwise."""
    raw = request.args.get("days", "")
    if raw == "":
        return DEFAULT_DAYS, {}
    if raw.isdigit() and int(raw) in DAY_WINDOWS:
        return int(raw), {}
    return DEFAULT_DAYS, {"days": f"Choose 1, 7 or 30 days (not {raw[:20]!r})."}


def day_options() -> list[tuple[int, str]]:
    return [(n, "the last day" if n == 1 else f"the last {n} days") for n in DAY_WINDOWS]


def step_figures(definition: dict[str, Any], stats: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The analytics' per-step entries (runs, failed, p50/p95) in the definition's order, a
    foreach's item runs (``loop[*].call``) after the loop; steps that did not run in the window
    are listed with no runs, and entries of steps since removed come last."""
    by_id = {s["step_id"]: s for s in (stats or {}).get("steps", [])}
    out = []
    for path, step in every_step(definition.get("steps")):
        entry = by_id.pop(path, None) or {"step_id": path, "runs": 0, "failed": 0,
                                            "p50_ms": None, "p95_ms": None}
        out.append({**entry, "type": step.get("type"), "current": True})
    out += [{**entry, "type": None, "current": False} for entry in by_id.values()]
    return out


@bp.get("/workflows/analytics")
def workflows_analytics():
    """Every workflow with executions in the window (a page of them, by id, as the API pages
    them): executions, by status, success rate, p50/p95, and the window's totals."""
    days, errors = analytics_days()
    page = paginate(analysed_workflows(days).order_by(Execution.workflow_id))
    analytics = workflow_analytics(days, page.items)
    return render_template("dashboard/workflows/analytics.html", analytics=analytics, page=page,
                           days=days, errors=errors, day_options=day_options(),
                           duration=duration_text), 422 if errors else 200


# -- the list ---------------------------------------------------------------------------------------


@bp.get("/workflows")
def workflows():
    args = request.args
    q = args.get("q", "").strip()[:200]
    enabled = args.get("enabled", "")
    trigger = args.get("trigger", "")
    service = args.get("service", "")
    sort = args.get("sort", "name") if args.get("sort") in SORTS else "name"
    used = services_status()["services"]
    last_run = (db.select(Execution.workflow_id.label("wf"), db.func.max(Execution.created_at).label("at"))
                .group_by(Execution.workflow_id).subquery())
    stmt = (db.select(Workflow).filter_by(deleted_at=None)
            .outerjoin(last_run, last_run.c.wf == Workflow.id))
    if q:
        stmt = stmt.where(db.or_(Workflow.name.icontains(q, autoescape=True),
                                 Workflow.description.icontains(q, autoescape=True)))
    if enabled in ("yes", "no"):
        stmt = stmt.where(Workflow.enabled.is_(enabled == "yes"))
    if trigger in TRIGGER_TYPES:
        stmt = stmt.filter_by(trigger_type=trigger)
    if service:
        stmt = stmt.where(Workflow.id.in_(used.get(service, {}).get("workflows", [])))
    if sort == "updated":
        stmt = stmt.order_by(Workflow.updated_at.desc(), Workflow.id.desc())
    elif sort == "last_run":
        stmt = stmt.order_by(last_run.c.at.is_(None), last_run.c.at.desc(), Workflow.id.desc())
    else:
        stmt = stmt.order_by(db.func.lower(Workflow.name), Workflow.id)
    page = paginate(stmt)
    ids = [w.id for w in page.items]
    latest = {}
    if ids:
        newest = (db.select(db.func.max(Execution.id)).where(Execution.workflow_id.in_(ids))
                  .group_by(Execution.workflow_id))
        latest = {e.workflow_id: e for e in db.session.scalars(db.select(Execution).where(Execution.id.in_(newest)))}
    analytics = workflow_analytics(30, ids)
    per_wf = {w["workflow_id"]: w for w in analytics["workflows"]}
    rows = []
    for wf in page.items:
        definition = public_definition(current_definition(wf))
        services = sorted({s["service"] for s in definition["steps"] if s.get("service")}
                          | ({definition["trigger"]["service"]} if definition["trigger"].get("service") else set()))
        rows.append({"wf": wf, "last": latest.get(wf.id), "trigger": trigger_detail(definition["trigger"]),
                     "steps": len(definition["steps"]), "services": services, "stats": per_wf.get(wf.id)})
    total = db.session.scalar(db.select(db.func.count(Workflow.id)).filter_by(deleted_at=None)) or 0
    filtered = bool(q or enabled or trigger or service)
    context = dict(rows=rows, page=page, q=q, enabled=enabled, trigger=trigger, service=service,
                   sort=sort, sorts=SORTS, services_used=used, total=total, filtered=filtered,
                   analytics=analytics,
                   service_options=[("", "Any")] + [(name, _display_name(name)) for name in used] + (
                       [(service, service)] if service and service not in used else []),
                   enabled_count=db.session.scalar(db.select(db.func.count(Workflow.id))
                                                   .filter_by(deleted_at=None, enabled=True)) or 0)
    if is_htmx():
        return render_template("dashboard/workflows/_results.html", **context)
    return render_template("dashboard/workflows/list.html", **context)


# -- new: templates -----------------------------------------------------------------------------------


@bp.get("/workflows/new")
def workflow_new():
    """Start a workflow: browse the templates (with what they need), or write JSON, or add
    steps one by one."""
    q = request.args.get("q", "").strip().lower()[:200]
    kind = request.args.get("trigger", "")
    found = []
    for summary in list_templates():
        text = " ".join([summary["title"], summary["description"], *summary["services"]]).lower()
        if q and q not in text:
            continue
        if kind in TRIGGER_TYPES and summary["trigger"].get("type") != kind:
            continue
        found.append(summary)
    manifests = {m.slug: m for m in _manifests()}
    return render_template("dashboard/workflows/new.html", templates=found, q=q, trigger=kind,
                           trigger_types=TRIGGER_TYPES, manifests=manifests,
                           connections=_connections_by_service())


def _template_form(template, definition) -> dict[str, Any]:
    """What the template's form asks for: its parameters, connection choices, and trigger
    settings."""
    conns = _connections_by_service()
    steps_services = sorted({s["service"] for s in definition["steps"] if s.get("service")})
    summary = template.summary()
    return {"needs": summary["needs"], "services": steps_services,
            "connections_needed": summary["connections_needed"], "connections": conns,
            "trigger": definition["trigger"]}


def _parse_value(raw: str, example: Any) -> Any:
    """A typed parameter: text for a text example, else JSON (a list of ids, a number)."""
    if isinstance(example, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        if isinstance(example, (int, float)) and not isinstance(example, bool):
            raise ValueError(f"a number, for example {json.dumps(example)}")
        raise ValueError(f"JSON, for example {json.dumps(example)}")


@bp.route("/workflows/new/template/<name>", methods=["GET", "POST"])
def workflow_template(name: str):
    """A template's page: what it does and needs; the form instantiates it exactly as
    ``POST /api/v2/ai-workflows/templates/<name>/instantiate`` does."""
    template = get_template(name)
    if template is None:
        abort(404)
    summary = template.summary()
    form = _template_form(template, template.definition)
    values: dict[str, Any] = {"name": template.definition["name"], "description": template.description,
                              "enabled": True, "trigger.timezone": template.definition["trigger"].get("timezone", "UTC"),
                              "trigger.cron": template.definition["trigger"].get("cron", "")}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k != "csrf_token" and not k.endswith("secret")}
        values["enabled"] = request.form.get("enabled") == "on"
        overrides: dict[str, Any] = {"name": request.form.get("name", ""),
                                     "description": request.form.get("description", ""),
                                     "enabled": values["enabled"]}
        trigger: dict[str, Any] = {}
        kind = template.definition["trigger"].get("type")
        if kind == "schedule":
            trigger = {"cron": request.form.get("trigger.cron", "").strip(),
                       "timezone": request.form.get("trigger.timezone", "").strip() or "UTC"}
        elif kind == "webhook" and request.form.get("trigger.secret"):
            trigger = {"secret": request.form["trigger.secret"]}
        elif kind == "event" and request.form.get("trigger.connection_id"):
            trigger = {"connection_id": _int(request.form["trigger.connection_id"])}
        if trigger:
            overrides["trigger"] = trigger
        connections = {svc: _int(request.form[f"connections.{svc}"])
                       for svc in sorted(set(form["services"]) | set(form["connections_needed"]))
                       if request.form.get(f"connections.{svc}")}
        if connections:
            overrides["connections"] = connections
        parameters: dict[str, dict[str, Any]] = {}
        for need in summary["needs"]:
            key = f"parameters.{need['step']}.{need['field']}"
            raw = request.form.get(key, "").strip()
            if raw == "":
                continue  # instantiate names what is missing
            try:
                parameters.setdefault(need["step"], {})[need["field"]] = _parse_value(raw, need["example"])
            except ValueError as exc:
                errors[key] = str(exc)
        if parameters:
            overrides["parameters"] = parameters
        if not errors:
            try:
                definition = template.instantiate(overrides)
                workflow = create_workflow(definition, actor())
            except DefinitionError as exc:
                db.session.rollback()
                errors = _template_errors(_definition_errors(exc), template, summary)
            else:
                flash(f"Workflow “{workflow.name}” created from the template {template.title}.", "success")
                return redirect(url_for("dashboard.workflow", wf_id=workflow.id))
        status = 422
    known = _template_field_names(template, summary, form)
    other = {k: v for k, v in errors.items() if k not in known}
    return render_template("dashboard/workflows/template.html", template=template, summary=summary,
                           form=form, values=values, errors=errors, other_errors=other,
                           graph=build_graph(template.definition), conn_options=conn_options,
                           has_connections_page=_endpoint("dashboard.connections"),
                           manifests={m.slug: m for m in _manifests()}), status


def _int(value: str) -> Any:
    return int(value) if value.strip().lstrip("-").isdigit() else value


def _template_field_names(template, summary, form) -> set[str]:
    names = {"name", "description", "enabled", "trigger.cron", "trigger.timezone", "trigger.secret",
             "trigger.connection_id"}
    names |= {f"parameters.{n['step']}.{n['field']}" for n in summary["needs"]}
    names |= {f"connections.{s}" for s in set(form["services"]) | set(form["connections_needed"])}
    return names


def _template_errors(errors: dict[str, str], template, summary) -> dict[str, str]:
    """The engine's error keys as the template form's fields: a step's parameter is
    ``parameters.<step>.<field>``, a step's connection ``connections.<service>``, the trigger's
    params ``parameters.trigger.<field>``."""
    steps = {s["id"]: s for s in template.definition["steps"]}
    out: dict[str, str] = {}
    for key, message in errors.items():
        parts = key.split(".")
        if parts[0] == "steps" and len(parts) >= 3 and parts[1] in steps:
            sid, rest = parts[1], parts[2:]
            if rest[0] == "parameters" and len(rest) >= 2:
                key = f"parameters.{sid}.{rest[1]}"
            elif rest[0] == "connection" and steps[sid].get("service"):
                key = f"connections.{steps[sid]['service']}"
        elif parts[:2] == ["trigger", "params"] and len(parts) >= 3:
            key = f"parameters.trigger.{parts[2]}"
        elif parts[:2] == ["trigger", "connection_id"]:
            key = "trigger.connection_id"
        out[key] = f"{out[key]} {message}" if key in out else message
    return out


# -- new / edit: JSON -----------------------------------------------------------------------------------

STARTER = {
    "name": "My workflow",
    "description": "",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "shape", "type": "transform", "mapping": {"greeting": "trigger.greeting"}},
    ],
}


def _editable(definition: dict[str, Any], workflow: Workflow | None = None) -> dict[str, Any]:
    shown = public_definition(definition)
    out = {k: shown[k] for k in EDITABLE if k in shown}
    if workflow is not None:
        out["enabled"] = workflow.enabled
    return out


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _json_editor(workflow: Workflow | None):
    """The JSON editor, for a new workflow or a new version of ``workflow``. ``op=check``
    validates without saving; ``op=save`` saves; errors are shown at the line they name."""
    text = request.form.get("definition", "")
    secret = request.form.get("secret", "")
    op = request.form.get("op", "save")
    errors: dict[str, str] = {}
    doc: Any = None
    valid = None
    try:
        doc = json.loads(text)
    except RecursionError:
        errors["definition"] = "Not valid JSON: nested too deeply."
        return _render_editor(workflow, text, errors, [], [], None, 422)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        where = f" (line {line}, column {col})" if line else ""
        errors["definition"] = f"Not valid JSON: {getattr(exc, 'msg', str(exc))}{where}."
        raw_lines = _around(text, line or 1, errors["definition"])
        return _render_editor(workflow, text, errors, raw_lines, [], None, 422)
    if not isinstance(doc, dict):
        errors["definition"] = "A workflow definition is a JSON object: { \"name\": …, \"trigger\": …, \"steps\": […] }."
        return _render_editor(workflow, text, errors, [], [], None, 422)
    body = json.loads(text)
    if secret:
        if isinstance(body.get("trigger"), dict):
            body["trigger"]["secret"] = secret
        else:
            errors["secret"] = "Only a webhook trigger has a secret."
    typed_secret = isinstance(doc.get("trigger"), dict) and isinstance(doc["trigger"].get("secret"), str) \
        and doc["trigger"]["secret"] != MASK
    if not errors:
        try:
            if op == "check":
                valid = normalise(body)
            elif workflow is None:
                saved = create_workflow(body, actor())
                flash(f"Workflow “{saved.name}” created.", "success")
                return redirect(url_for("dashboard.workflow", wf_id=saved.id))
            else:
                saved = update_workflow(workflow, body, actor())
                flash(f"Saved version {saved.version} of “{saved.name}”.", "success")
                return redirect(url_for("dashboard.workflow", wf_id=saved.id))
        except DefinitionError as exc:
            db.session.rollback()
            errors = _definition_errors(exc)
    if typed_secret:
        # A secret typed into the JSON is never shown back: it is taken out of the text.
        doc["trigger"]["secret"] = ""
        text = _pretty(doc)
        errors.setdefault("secret", "Secrets are not shown back: type the webhook secret here again "
                                    "(the JSON's \"secret\" was emptied).")
    if secret and "secret" not in errors and valid is None:
        errors["secret"] = "Type the secret again: secrets are never shown back."
    shown_errors = {k: v for k, v in errors.items() if k not in ("secret", "definition")}
    if "definition" in errors:
        shown_errors["_body"] = errors["definition"]
    try:
        lines = annotate(doc, shown_errors) if shown_errors else []
    except RecursionError:  # nested deeper than a page can show: the list names the errors
        lines = []
    listing = error_list(doc, shown_errors)
    return _render_editor(workflow, text, errors, lines, listing, valid, 200 if valid is not None else 422)


def _around(text: str, line: int, message: str, context: int = 3) -> list[dict[str, Any]]:
    """The lines of ``text`` around ``line`` (1-based), the error under that line."""
    all_lines = text.splitlines() or [""]
    if line > len(all_lines):
        all_lines.append("")
        line = len(all_lines)
    note = [{"key": "definition", "field": "", "message": message, "anchor": "err-definition"}]
    return [{"number": n, "text": all_lines[n - 1], "errors": note if n == line else []}
            for n in range(max(1, line - context), min(len(all_lines), line + context) + 1)]


def _render_editor(workflow, text, errors, lines, listing, valid, status):
    template = "dashboard/workflows/edit.html" if workflow is not None else "dashboard/workflows/json.html"
    return render_template(template, workflow=workflow, text=text, errors=errors, lines=lines,
                           listing=listing, valid=valid,
                           graph=build_graph(valid) if valid is not None else None,
                           signed=_signed(workflow)), status


def _signed(workflow: Workflow | None) -> bool:
    return workflow is not None and bool(public_definition(current_definition(workflow))["trigger"].get("secret"))


@bp.route("/workflows/new/json", methods=["GET", "POST"])
def workflow_new_json():
    """Write a workflow as JSON (the API's body), checked and saved like ``POST
    /api/v2/ai-workflows``."""
    if request.method == "POST":
        return _json_editor(None)
    return _render_editor(None, _pretty(STARTER), {}, [], [], None, 200)


@bp.route("/workflows/<int:wf_id>/edit", methods=["GET", "POST"])
def workflow_edit(wf_id: int):
    """Edit the definition as JSON, prefilled as ``GET /api/v2/ai-workflows/<id>`` shows it (a
    webhook secret as its mask, which keeps the stored secret); saving makes a new version."""
    workflow = _workflow_or_404(wf_id)
    if request.method == "POST":
        return _json_editor(workflow)
    text = _pretty(_editable(current_definition(workflow), workflow))
    return _render_editor(workflow, text, {}, [], [], None, 200)


# -- new: step by step -----------------------------------------------------------------------------------


def _schema_fields(schema_cls) -> list[dict[str, Any]]:
    """An action's input schema as form fields: text (templates allowed), a select for a
    choice or a yes/no, JSON for lists and objects."""
    schema = schema_cls()
    out = []
    for name, fld in schema.fields.items():
        if fld.dump_only:
            continue
        key = fld.data_key or name
        choices = next(([str(c) for c in v.choices] for v in fld.validators if isinstance(v, mv.OneOf)), None)
        if isinstance(fld, mf.Boolean):
            kind = "bool"
        elif choices:
            kind = "choice"
        elif isinstance(fld, (mf.List, mf.Mapping, mf.Nested, mf.Raw, mf.Tuple)):
            kind = "json"
        elif isinstance(fld, mf.Number):
            kind = "number"
        else:
            kind = "text"
        out.append({"name": key, "kind": kind, "required": fld.required, "choices": choices,
                    "options": [("", "—")] + [(c, c) for c in choices or []],
                    "help": fld.metadata.get("description"), "secret": bool(fld.metadata.get("secret"))})
    out.sort(key=lambda f: (not f["required"], f["name"]))
    return out


def _convert(fieldspec: dict[str, Any], raw: str) -> Any:
    """A typed form value as the parameter's JSON value (a template stays text)."""
    kind = fieldspec["kind"]
    if kind == "bool":
        return raw == "true"
    if kind == "number":
        try:
            number = float(raw)
        except ValueError:
            return raw  # a template, or text the schema names as wrong
        return int(number) if number.is_integer() and "." not in raw else number
    if kind == "json":
        try:
            return json.loads(raw)
        except ValueError:
            if "{{" in raw:
                return raw
            raise ValueError("not valid JSON (or a {{ template }})")
    return raw


def _builder_trigger(form) -> dict[str, Any]:
    kind = form.get("trigger.type", "manual")
    trigger: dict[str, Any] = {"type": kind if kind in TRIGGER_TYPES else "manual"}
    if trigger["type"] == "schedule":
        trigger["cron"] = form.get("trigger.cron", "").strip()
        trigger["timezone"] = form.get("trigger.timezone", "").strip() or "UTC"
    elif trigger["type"] == "event":
        trigger["service"] = form.get("trigger.service", "")
        trigger["event"] = form.get("trigger.event", "")
        if form.get("trigger.connection_id"):
            trigger["connection_id"] = _int(form["trigger.connection_id"])
        conditions = form.get("trigger.conditions", "").strip()
        if conditions:
            trigger["conditions"] = _json_or(conditions)
    return trigger


def _json_or(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # the definition's validation names it


def _builder_step(form, steps: list[dict[str, Any]], manifest, action) -> tuple[dict[str, Any], dict[str, str]]:
    """The step the "Add a step" form describes, and the form's own errors (JSON that does not
    parse); everything else is validated with the whole definition."""
    errors: dict[str, str] = {}
    kind = form.get("kind", "action")
    taken = {s["id"] for s in steps}
    base = (action.name if kind == "action" and action else kind)
    sid = form.get("step_id", "").strip() or next(
        c for c in [base] + [f"{base}_{n}" for n in range(2, len(taken) + 3)] if c not in taken)
    step: dict[str, Any] = {"id": sid, "type": kind}
    deps = [d for d in form.getlist("depends_on") if d in taken]
    if deps:
        step["depends_on"] = deps
    if form.get("when", "").strip():
        step["when"] = form["when"].strip()
    on_error = form.get("on_error", "fail")
    if on_error != "fail":
        step["on_error"] = on_error
    if kind == "action":
        step["service"] = manifest.slug if manifest else form.get("service", "")
        step["action"] = action.name if action else form.get("action", "")
        if form.get("connection"):
            step["connection"] = _int(form["connection"])
        params = {}
        for spec in _schema_fields(action.input) if action else []:
            raw = form.get(f"param.{spec['name']}", "")
            if raw.strip() == "":
                continue
            try:
                params[spec["name"]] = _convert(spec, raw.strip() if spec["kind"] != "text" else raw)
            except ValueError as exc:
                errors[f"param.{spec['name']}"] = str(exc)
        step["parameters"] = params
        retries = form.get("retry", "").strip()
        if retries:
            step["retry"] = {"max_attempts": _int(retries)}
    elif kind == "condition":
        step["expression"] = form.get("expression", "")
    elif kind == "transform":
        raw = form.get("mapping", "").strip() or "{}"
        try:
            step["mapping"] = json.loads(raw)
        except ValueError:
            errors["mapping"] = "not valid JSON: an object of {\"output name\": \"expression\"}"
    elif kind == "wait":
        seconds = form.get("seconds", "").strip()
        try:
            step["seconds"] = float(seconds)
        except ValueError:
            errors["seconds"] = "a number of seconds"
    return step, errors


# Form fields of the "add a step" form, by the step field an engine error names.
STEP_FIELD = {"id": "step_id", "depends_on": "depends_on", "when": "when", "on_error": "on_error",
              "connection": "connection", "expression": "expression", "mapping": "mapping",
              "seconds": "seconds", "service": "service", "action": "action", "retry": "retry",
              "type": "kind"}


def _step_form_errors(errors: dict[str, str], sid: str) -> dict[str, str]:
    out = {}
    prefix = f"steps.{sid}."
    for key, message in errors.items():
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if rest.startswith("parameters."):
            name = "param." + rest.split(".")[1]
        else:
            name = STEP_FIELD.get(rest.split(".")[0], "_step")
        out[name] = f"{out[name]} {message}" if name in out else message
    return out


@bp.route("/workflows/new/steps", methods=["GET", "POST"])
def workflow_builder():
    """Build a workflow one step at a time: pick an integration, then one of its actions, and
    fill the form made from the action's input schema. The steps so far travel in a hidden
    JSON field; each step is checked with the whole definition (the same validation as the
    API) before it is added, and Save creates the workflow."""
    form = request.form if request.method == "POST" else request.args
    op = form.get("op", "refresh")
    try:
        steps = json.loads(form.get("steps", "[]"))
        if not isinstance(steps, list) or not all(isinstance(s, dict) and isinstance(s.get("id"), str) for s in steps):
            raise ValueError
    except ValueError:
        steps = []
    manifests = [m for m in _manifests() if m.actions]
    manifest = _manifest(form.get("service")) if form.get("service") else None
    action = manifest.action(form.get("action", "")) if manifest else None
    if manifest and action is None and len(manifest.actions) == 1:
        action = manifest.actions[0]
    errors: dict[str, str] = {}
    step_errors: dict[str, dict[str, str]] = {}
    status = 200
    keep_step_form = True
    if request.method == "POST" and op.startswith("remove:"):
        gone = op.split(":", 1)[1]
        steps = [s for s in steps if s["id"] != gone]
        for step in steps:  # what waited for it waits for what it waited for no more
            if gone in (step.get("depends_on") or []):
                step["depends_on"] = [d for d in step["depends_on"] if d != gone]
            if step.get("on_error") == gone:
                step.pop("on_error")
        keep_step_form = True
    elif request.method == "POST" and op == "add":
        if form.get("kind", "action") == "action" and action is None:
            errors["service" if manifest is None else "action"] = "choose one first"
            status = 422
        else:
            step, errors = _builder_step(form, steps, manifest, action)
            if not errors:
                candidate = {"name": form.get("name") or "Untitled workflow",
                             "trigger": _builder_trigger(form), "steps": steps + [step]}
                try:
                    normalise(candidate)
                except DefinitionError as exc:
                    errors = _step_form_errors(_definition_errors(exc), step["id"])
            if errors:
                status = 422
            else:
                steps.append(step)
                keep_step_form = False
    elif request.method == "POST" and op in ("save", "json"):
        definition: dict[str, Any] = {"name": form.get("name", ""), "description": form.get("description", ""),
                                      "trigger": _builder_trigger(form), "steps": steps}
        if op == "json":
            return _render_editor(None, _pretty(definition), {}, [], [], None, 200)
        if definition["trigger"]["type"] == "webhook" and form.get("trigger.secret"):
            definition["trigger"]["secret"] = form["trigger.secret"]
        try:
            workflow = create_workflow(definition, actor())
        except DefinitionError as exc:
            db.session.rollback()
            flat = _definition_errors(exc)
            for key, message in flat.items():
                parts = key.split(".")
                if parts[0] == "steps" and len(parts) > 1:
                    step_errors.setdefault(parts[1], {})[".".join(parts[2:]) or "step"] = message
                elif key == "steps":
                    errors["steps"] = "add at least one step" if not steps else message
                else:
                    errors[key] = message
            if definition["trigger"].get("secret"):
                errors.setdefault("trigger.secret", "Type the secret again: secrets are never shown back.")
            status = 422
        else:
            flash(f"Workflow “{workflow.name}” created with {len(steps)} steps.", "success")
            return redirect(url_for("dashboard.workflow", wf_id=workflow.id))
    values = {k: v for k, v in form.items() if k not in ("csrf_token", "steps", "op") and not k.endswith("secret")}
    if not keep_step_form:  # a step was added: a fresh form for the next one, same integration
        values = {k: v for k, v in values.items()
                  if k in ("name", "description", "kind", "service") or k.startswith("trigger.")}
        action = None if manifest and len(manifest.actions) > 1 else action
    trigger_manifest = _manifest(form.get("trigger.service"))
    trigger_manifests = [m for m in _manifests() if m.triggers]
    options = {
        "trigger_service": [("", "Choose…")] + [(m.slug, m.display_name) for m in trigger_manifests],
        "trigger_event": [(t.name, t.title) for t in trigger_manifest.triggers] if trigger_manifest else [],
        "service": [("", "Choose…")] + [(m.slug, m.display_name) for m in manifests],
        "action": [("", "Choose…")] + [(a.name, a.title) for a in manifest.actions] if manifest else [],
    }
    preview = None
    if steps:
        preview = build_graph({"trigger": _builder_trigger(form), "steps": steps})
    return render_template(
        "dashboard/workflows/builder.html", steps=steps, steps_json=json.dumps(steps), values=values,
        errors=errors, step_errors=step_errors, manifests=manifests, manifest=manifest, action=action,
        action_fields=_schema_fields(action.input) if action else [],
        example=dict(action.example) if action else {}, kinds=BUILDER_KINDS,
        options=options, trigger_manifest=trigger_manifest, connections=_connections_by_service(), preview=preview,
        summaries={s["id"]: _step_summary(s) for s in steps}, conn_options=conn_options,
        on_error_options=[("fail", "Fail the execution"), ("continue", "Continue anyway")]
        + [(s["id"], f"Run step {s['id']} (as its error handler)") for s in steps],
        # The boxes the user ticked, once they were shown; until then, after the last step.
        depends_default=form.getlist("depends_on") if keep_step_form and form.get("deps_shown")
        else ([steps[-1]["id"]] if steps else [])), status


# -- a workflow's page ---------------------------------------------------------------------------------


def _versions(workflow: Workflow) -> list[WorkflowVersion]:
    return db.session.scalars(db.select(WorkflowVersion).filter_by(workflow_id=workflow.id)
                              .order_by(WorkflowVersion.version.desc())).all()


def _workflow_page(workflow: Workflow, payload_text: str | None = None, run_errors: dict | None = None,
                   key: str = "", status: int = 200):
    definition = public_definition(current_definition(workflow))
    versions = _versions(workflow)
    executions = db.session.scalars(db.select(Execution).filter_by(workflow_id=workflow.id)
                                    .order_by(Execution.id.desc()).limit(20)).all()
    days, days_errors = analytics_days()
    stats = next(iter(workflow_analytics(days, [workflow.id])["workflows"]), None)
    if days_errors and status == 200:
        status = 422
    if payload_text is None:
        payload_text = _pretty(_default_payload(definition))
    connections = {c.id: c for c in db.session.scalars(db.select(Connection).where(Connection.id.in_(
        [s["connection"] for s in definition["steps"] if isinstance(s.get("connection"), int)])))}
    older = versions[1].version if len(versions) > 1 else None
    return render_template(
        "dashboard/workflows/detail.html", wf=workflow, definition=definition,
        graph=build_graph(definition), steps=steps_table(definition), trigger=_trigger_view(workflow, definition["trigger"]),
        versions=versions, executions=executions, stats=stats, payload=payload_text,
        days=days, days_errors=days_errors, day_options=day_options(),
        step_stats=step_figures(definition, stats), duration=duration_text,
        run_errors=run_errors or {}, idempotency_key=key, connections=connections,
        diff=_diff(workflow, versions, older, workflow.version) if older else None,
        diff_a=older, diff_b=workflow.version, public=public_definition,
        version_options=[(v.version, f"v{v.version}") for v in versions],
        executions_list=_endpoint("dashboard.executions"), now=utcnow()), status


@bp.get("/workflows/<int:wf_id>")
def workflow(wf_id: int):
    return _workflow_page(_workflow_or_404(wf_id))


def _diff(workflow: Workflow, versions: list[WorkflowVersion], a: int, b: int) -> dict[str, Any]:
    by_number = {v.version: v for v in versions}
    if a not in by_number or b not in by_number:
        abort(404)
    diff = definition_diff(public_definition(by_number[a].definition),
                           public_definition(by_number[b].definition), f"version {a}", f"version {b}")
    lines = line_kinds(diff["unified"])
    added = sum(1 for k, t in lines if k == "add")
    removed = sum(1 for k, t in lines if k == "del")
    return {"a": a, "b": b, "lines": lines, "added": added, "removed": removed,
            "a_by": by_number[a], "b_by": by_number[b]}


@bp.get("/workflows/<int:wf_id>/diff")
def workflow_diff(wf_id: int):
    """The unified diff between two versions (their definitions as the API shows them)."""
    workflow = _workflow_or_404(wf_id)
    versions = _versions(workflow)
    a = request.args.get("a", type=int)
    b = request.args.get("b", type=int)
    if a is None or b is None:
        abort(404)
    diff = _diff(workflow, versions, a, b)
    if is_htmx():
        return render_template("dashboard/workflows/_diff.html", diff=diff, wf=workflow)
    return render_template("dashboard/workflows/diff.html", diff=diff, wf=workflow, versions=versions)


@bp.post("/workflows/<int:wf_id>/run")
def workflow_run(wf_id: int):
    """Run with a JSON payload, as ``POST /api/v2/ai-workflows/<id>/execute`` does; then the
    execution's page."""
    workflow = _workflow_or_404(wf_id)
    text = request.form.get("payload", "").strip()
    key = request.form.get("idempotency_key", "").strip()
    errors: dict[str, str] = {}
    payload: Any = {}
    if text:
        try:
            payload = json.loads(text)
        except RecursionError:
            errors["payload"] = "Not valid JSON: nested too deeply."
        except ValueError as exc:
            errors["payload"] = f"Not valid JSON: {getattr(exc, 'msg', exc)}" + (
                f" (line {exc.lineno}, column {exc.colno})." if hasattr(exc, "lineno") else ".")
        else:
            if not isinstance(payload, dict):
                errors["payload"] = "The payload must be a JSON object ({ … })."
    if key and not 1 <= len(key) <= 200:
        errors["idempotency_key"] = "1 to 200 characters."
    if not workflow.enabled:
        errors["_form"] = "This workflow is disabled: enable it to run it."
        return _workflow_page(workflow, text, errors, key, 409)
    if errors:
        return _workflow_page(workflow, text, errors, key, 422)
    try:
        execution, created = get_engine().start(workflow, payload, "manual", idempotency_key=key or None)
    except ExecutionRefused as exc:
        db.session.rollback()
        return _workflow_page(workflow, text, {"_form": str(exc)}, key, exc.status)
    flash(f"Execution #{execution.id} started." if created else
          f"Execution #{execution.id} already ran with this idempotency key.", "success")
    return redirect(url_for("dashboard.execution", ex_id=execution.id))


@bp.post("/workflows/<int:wf_id>/enable")
def workflow_enable(wf_id: int):
    return _set_enabled(wf_id, True)


@bp.post("/workflows/<int:wf_id>/disable")
def workflow_disable(wf_id: int):
    return _set_enabled(wf_id, False)


def _set_enabled(wf_id: int, enabled: bool):
    """As ``POST /api/v2/ai-workflows/<id>/enable`` (``/disable``)."""
    workflow = _workflow_or_404(wf_id)
    workflow.enabled = enabled
    db.session.commit()
    flash(f"“{workflow.name}” is {'enabled' if enabled else 'disabled'}.", "success")
    target = request.form.get("next", "")
    if target == "list":
        return redirect(url_for("dashboard.workflows"))
    return redirect(url_for("dashboard.workflow", wf_id=wf_id))


@bp.post("/workflows/<int:wf_id>/delete")
def workflow_delete(wf_id: int):
    """As ``DELETE /api/v2/ai-workflows/<id>``: the workflow goes, its executions stay."""
    workflow = _workflow_or_404(wf_id)
    delete_workflow(workflow, actor())
    flash(f"Workflow “{workflow.name}” deleted.", "success")
    return redirect(url_for("dashboard.workflows"))

