"""Cross-service intelligence: which workflows depend on which services and connections, and
which of them are at risk now given each service's health.

The map is learnt from two sources. From the definitions (one pass over every live workflow's
current version): the event trigger's service and connection, each action and notification
step's service and connection (a step without one uses the service's first enabled
connection, as the runner does), each sub-workflow step's child workflow, and each declared
``fallback`` alternative. From the executions of the last ``window_days`` (at most
``MAX_EXECUTIONS``, read through :mod:`atom.intelligence.history`): which steps actually ran,
how often and how often they failed, and which fallbacks were taken (``StepRun.fallback``), by
the definition of the version each execution ran.

:func:`impact` judges each workflow's dependencies against the integrations' health as
monitoring scores it (:func:`atom.intelligence.history.health`: health checks and calls over
``MONITORING_WINDOW_S``) and each connection's own state (disabled, needing re-authorisation,
its circuit breaker open). A workflow is ``critical`` when a required step (one whose failure
fails the run) or its trigger depends on something unhealthy and no usable fallback is left;
``warning`` when a dependency is degraded, or only a fallback is left, or an optional step is
down; otherwise ``ok``. Every verdict says why, with the figures it was judged on.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from typing import Any
from typing import Iterable

from flask import Flask
from flask import current_app

from atom.engine.definition import error_policy
from atom.engine.definition import every_step
from atom.engine.definition import run_path
from atom.extensions import db
from atom.intelligence import history
from atom.models import Connection
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.base import isoformat
from atom.models.base import utcnow
from atom.state import get_state

VERSION = "1"
DEFAULT_WINDOW_DAYS = 7
MAX_WINDOW_DAYS = 90
# The execution window is bounded: at most this many of the newest executions are read.
MAX_EXECUTIONS = 5000
EDGE_KINDS = ("trigger", "action", "notification", "subworkflow", "fallback")
RISKS = ("critical", "warning", "ok")
_RANK = {"critical": 0, "warning": 1, "ok": 2}


class UnknownTarget(LookupError):
    """``impact`` was asked about a service or connection that does not exist."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


# -- reading the definitions ----------------------------------------------------------------------


@dataclass
class Use:
    """One dependency of one workflow, as its definition declares it."""

    kind: str  # trigger, action, notification, subworkflow, fallback
    step_id: str | None
    service: str | None = None
    connection: int | None = None  # explicit in the definition
    child: int | None = None  # subworkflow
    required: bool = True
    of_step: str | None = None  # fallback: the step it stands in for
    index: int | None = None  # fallback: its place in the step's list
    fallbacks: list["Use"] = field(default_factory=list)


def uses_of(definition: dict[str, Any]) -> list[Use]:
    """The dependencies a definition declares (fallbacks both listed and attached to their
    step)."""
    out: list[Use] = []
    trigger = definition.get("trigger") or {}
    if trigger.get("type") == "event" and trigger.get("service"):
        out.append(Use("trigger", None, trigger["service"], trigger.get("connection_id")))
    # A foreach's inner steps are named by their runs' path (``loop[*]``, ``loop[*].call``).
    for path, step in every_step(definition.get("steps")):
        kind = step.get("type")
        required = error_policy(step) == ("fail", None)
        if kind in ("action", "notification") and step.get("service"):
            use = Use(kind, path, step["service"], step.get("connection"), required=required)
            for n, alt in enumerate(step.get("fallback") or ()):
                if isinstance(alt, dict) and alt.get("service"):
                    fb = Use("fallback", path, alt["service"], alt.get("connection"),
                             required=required, of_step=path, index=n)
                    use.fallbacks.append(fb)
                    out.append(fb)
            out.append(use)
        elif kind == "workflow" and step.get("workflow_id") is not None:
            out.append(Use("subworkflow", path, child=int(step["workflow_id"]),
                           required=required))
    return out


@dataclass
class Graph:
    """What :func:`dependency_map` and :func:`impact` share: the live workflows with their
    current uses, the connections, and the execution window's counts."""

    since: Any
    window_days: int
    workflows: dict[int, dict[str, Any]]  # id -> {"name", "enabled", "version", "uses"}
    connections: dict[int, Connection]
    default_connection: dict[str, int]  # service -> the connection a step without one uses
    # (workflow id, target node id, kind) -> counts from executions
    ran: dict[tuple[int, str, str], dict[str, Any]]
    executions: int
    fallback_runs: int
    fallback_by_step: dict[tuple[int, str], int]  # (workflow id, step id) -> fallbacks taken


def default_connections(connections: Iterable[Any]) -> dict[str, int]:
    """Service -> the connection a step without one uses (its first enabled connection, as
    the runner picks it); ``connections`` in id order, each with ``id``, ``integration`` and
    ``enabled``."""
    out: dict[str, int] = {}
    for c in connections:
        if c.enabled:
            out.setdefault(c.integration, c.id)
    return out


def connection_of(use: Use, default_connection: dict[str, int]) -> int | None:
    """The connection a service use runs through: its own, else its service's default."""
    return use.connection if use.connection is not None else default_connection.get(use.service)


def _node_of(use: Use, default_connection: dict[str, int]) -> list[str]:
    if use.kind == "subworkflow":
        return [f"workflow:{use.child}"]
    nodes = [f"service:{use.service}"]
    conn = connection_of(use, default_connection)
    if conn is not None:
        nodes.append(f"connection:{conn}")
    return nodes


def _load(window_days: int, app: Flask) -> Graph:
    rows = db.session.execute(
        db.select(Workflow.id, Workflow.name, Workflow.enabled, Workflow.version,
                  WorkflowVersion.definition)
        .join(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
              & (WorkflowVersion.version == Workflow.version))
        .where(Workflow.deleted_at.is_(None)).order_by(Workflow.id)).all()
    workflows = {r.id: {"name": r.name, "enabled": r.enabled, "version": r.version,
                        "uses": uses_of(r.definition or {})} for r in rows}
    connections = {c.id: c for c in db.session.scalars(db.select(Connection).order_by(Connection.id))}
    default_connection = default_connections(connections.values())
    since = utcnow() - timedelta(days=window_days)
    records = history.executions(since=since, limit=MAX_EXECUTIONS)
    # The definitions of the versions those executions ran: one query.
    wanted = {(r.workflow_id, r.version) for r in records}
    definitions: dict[tuple[int, int], list[Use]] = {
        (wid, w["version"]): w["uses"] for wid, w in workflows.items()}
    missing = {pair for pair in wanted if pair not in definitions}
    if missing:
        for v in db.session.execute(
                db.select(WorkflowVersion.workflow_id, WorkflowVersion.version,
                          WorkflowVersion.definition)
                .where(WorkflowVersion.workflow_id.in_({w for w, _ in missing}),
                       WorkflowVersion.version.in_({n for _, n in missing}))):
            if (v.workflow_id, v.version) in missing:
                definitions[(v.workflow_id, v.version)] = uses_of(v.definition or {})
    ran: dict[tuple[int, str, str], dict[str, Any]] = {}
    fallback_runs = 0
    fallback_by_step: dict[tuple[int, str], int] = defaultdict(int)

    def count(wid: int, node: str, kind: str, failed: bool, at: Any, step_id: str | None) -> None:
        entry = ran.setdefault((wid, node, kind), {"runs": 0, "failures": 0, "last_run_at": None,
                                                   "steps": set()})
        entry["runs"] += 1
        entry["failures"] += failed
        if at is not None and (entry["last_run_at"] is None or at > entry["last_run_at"]):
            entry["last_run_at"] = at
        if step_id:
            entry["steps"].add(step_id)

    for ex in records:
        uses = definitions.get((ex.workflow_id, ex.version), [])
        by_step = {u.step_id: u for u in uses if u.kind in ("action", "notification", "subworkflow")}
        trigger = next((u for u in uses if u.kind == "trigger"), None)
        if trigger is not None and ex.trigger_type in ("event", "poll", "webhook"):
            for node in _node_of(trigger, default_connection):
                count(ex.workflow_id, node, "trigger", False, ex.created_at, None)
        for run_id, step in ex.steps.items():
            sid = run_path(run_id)  # an item's run of a foreach inner step counts for that step
            use = by_step.get(sid)
            if use is None or step.status not in ("succeeded", "failed"):
                continue
            failed = step.status == "failed"
            at = step.finished_at or step.started_at
            fb = step.fallback if isinstance(step.fallback, dict) else None
            if fb is not None and fb.get("service"):
                fallback_runs += 1
                fallback_by_step[(ex.workflow_id, sid)] += 1
                count(ex.workflow_id, f"service:{fb['service']}", "fallback", failed, at, sid)
                if fb.get("connection") is not None:
                    count(ex.workflow_id, f"connection:{fb['connection']}", "fallback", failed, at, sid)
                continue
            for node in _node_of(use, default_connection):
                count(ex.workflow_id, node, use.kind, failed, at, sid)
    return Graph(since, window_days, workflows, connections, default_connection, ran,
                 len(records), fallback_runs, dict(fallback_by_step))


# -- health of services and connections -----------------------------------------------------------


class HealthBook:
    """Each integration's and connection's health, computed once per request."""

    def __init__(self, graph: Graph, app: Flask) -> None:
        self.graph = graph
        self.app = app
        self._services: dict[str, history.Health] = {}
        self.runtime = get_state(app).runtime

    def service(self, slug: str) -> history.Health:
        if slug not in self._services:
            self._services[slug] = history.health(slug, app=self.app)
        return self._services[slug]

    def service_view(self, slug: str) -> dict[str, Any]:
        return self.service(slug).to_dict()

    def connection(self, conn_id: int) -> dict[str, Any]:
        """``{"status", "problems": [...], "circuit"}``: the worst of its service's health and
        its own state (missing, disabled, needing re-authorisation, circuit open)."""
        conn = self.graph.connections.get(conn_id)
        if conn is None:
            return {"status": "unhealthy", "problems": [f"connection {conn_id} does not exist"],
                    "circuit": None}
        problems = []
        if not conn.enabled:
            problems.append(f"connection {conn.id} ({conn.label}) is disabled")
        if conn.status == "needs_reauth":
            problems.append(f"connection {conn.id} ({conn.label}) needs re-authorisation")
        circuit = self.runtime.circuit(conn)
        if circuit is not None and circuit["state"] == "open":
            problems.append(f"connection {conn.id}'s circuit is open after "
                            f"{circuit['failures']} consecutive failures")
        status = "unhealthy" if problems else self.service(conn.integration).status
        return {"status": status, "problems": problems, "circuit": circuit}


def _worst(*statuses: str) -> str:
    order = {"unhealthy": 0, "degraded": 1, "unknown": 2, "healthy": 3}
    return min(statuses, key=lambda s: order.get(s, 2))


def _service_name(slug: str, app: Flask) -> str:
    try:
        return get_state(app).registry.get(slug).manifest.display_name
    except Exception:  # a plugin no longer installed: its slug still names it
        return slug


# -- the map --------------------------------------------------------------------------------------


def _window(window_days: int | None) -> int:
    days = DEFAULT_WINDOW_DAYS if window_days is None else int(window_days)
    return max(1, min(MAX_WINDOW_DAYS, days))


def snapshot(window_days: int | None = None, app: Flask | None = None) -> tuple[Graph, HealthBook]:
    """One read of the definitions, the execution window and (lazily) the health, for a
    caller that wants both the map and the impact (the dashboard page)."""
    app = app or current_app
    graph = _load(_window(window_days), app)
    return graph, HealthBook(graph, app)


def dependency_map(window_days: int | None = None, app: Flask | None = None,
                   shared: tuple[Graph, HealthBook] | None = None) -> dict[str, Any]:
    """Nodes (workflows, services, connections: names, enabled, health) and edges (kind;
    source: definition and/or executions; runs and failures in the window)."""
    app = app or current_app
    graph, book = shared or snapshot(window_days, app)
    edges: dict[tuple[int, str, str], dict[str, Any]] = {}

    def edge(wid: int, node: str, kind: str) -> dict[str, Any]:
        return edges.setdefault((wid, node, kind), {
            "from": f"workflow:{wid}", "to": node, "kind": kind, "source": [], "steps": set(),
            "via": None, "runs": 0, "failures": 0, "last_run_at": None})

    for wid, wf in graph.workflows.items():
        for use in wf["uses"]:
            nodes = _node_of(use, graph.default_connection)
            for node in nodes:
                e = edge(wid, node, use.kind)
                if "definition" not in e["source"]:
                    e["source"].append("definition")
                if use.step_id:
                    e["steps"].add(use.step_id)
                if node.startswith("connection:") and use.connection is None:
                    e["via"] = "default connection of the service"
    for (wid, node, kind), counts in graph.ran.items():
        if wid not in graph.workflows:
            continue  # deleted since
        e = edge(wid, node, kind)
        e["source"].append("executions")
        e["runs"], e["failures"] = counts["runs"], counts["failures"]
        e["last_run_at"] = isoformat(counts["last_run_at"]) if counts["last_run_at"] else None
        e["steps"] |= counts["steps"]
    nodes: dict[str, dict[str, Any]] = {}
    for wid, wf in graph.workflows.items():
        nodes[f"workflow:{wid}"] = {"id": f"workflow:{wid}", "kind": "workflow", "ref": wid,
                                    "name": wf["name"], "enabled": wf["enabled"],
                                    "status": "enabled" if wf["enabled"] else "disabled",
                                    "version": wf["version"]}
    for e in edges.values():
        target = e["to"]
        if target in nodes:
            continue
        kind, _, ref = target.partition(":")
        if kind == "service":
            health = book.service(ref)
            nodes[target] = {"id": target, "kind": "service", "ref": ref,
                             "name": _service_name(ref, app), "enabled": True,
                             "status": health.status, "health": health.to_dict()}
        elif kind == "connection":
            state = book.connection(int(ref))
            conn = graph.connections.get(int(ref))
            nodes[target] = {"id": target, "kind": "connection", "ref": int(ref),
                             "name": conn.label if conn else f"connection {ref} (missing)",
                             "service": conn.integration if conn else None,
                             "enabled": bool(conn and conn.enabled), "status": state["status"],
                             "problems": state["problems"], "circuit": state["circuit"]}
        elif kind == "workflow":  # a child workflow that is deleted
            nodes[target] = {"id": target, "kind": "workflow", "ref": int(ref),
                             "name": f"workflow {ref} (missing)", "enabled": False,
                             "status": "missing", "version": None}
    edge_list = []
    for e in sorted(edges.values(), key=lambda e: (e["from"], e["kind"], e["to"])):
        e["steps"] = sorted(e["steps"])
        edge_list.append(e)
    return {
        "generated_at": isoformat(utcnow()), "window_days": graph.window_days,
        "since": isoformat(graph.since),
        "nodes": sorted(nodes.values(), key=lambda n: (n["kind"], str(n["ref"]))),
        "edges": edge_list,
        "summary": {"workflows": len(graph.workflows),
                    "services": sum(n["kind"] == "service" for n in nodes.values()),
                    "connections": sum(n["kind"] == "connection" for n in nodes.values()),
                    "edges": len(edge_list), "executions": graph.executions,
                    "executions_capped": graph.executions >= MAX_EXECUTIONS,
                    "fallback_runs": graph.fallback_runs},
    }


# -- impact ---------------------------------------------------------------------------------------


def _route_state(use: Use, graph: Graph, book: HealthBook) -> dict[str, Any]:
    """A service (and connection) route's status now, with what it was judged on."""
    health = book.service(use.service)
    conn_id = connection_of(use, graph.default_connection)
    evidence: dict[str, Any] = {"service": health.to_dict()}
    problems: list[str] = []
    status = health.status
    if conn_id is None:
        problems.append(f"no enabled {use.service} connection")
        status = "unhealthy"
    else:
        state = book.connection(conn_id)
        evidence["connection"] = {"id": conn_id, "status": state["status"],
                                  "problems": state["problems"], "circuit": state["circuit"]}
        problems += state["problems"]
        status = _worst(status, state["status"])
    return {"service": use.service, "connection": conn_id,
            "connection_explicit": use.connection is not None, "status": status,
            "problems": problems, "evidence": evidence}


def _health_text(h: dict[str, Any]) -> str:
    parts = [f"score {h['score']}" if h.get("score") is not None else "no score"]
    if h.get("success_rate") is not None:
        parts.append(f"success rate {h['success_rate']:.0%}")
    parts.append(f"{h['checks_failed']}/{h['checks']} checks and {h['calls_failed']}/{h['calls']} "
                 f"calls failed since {h['since']}")
    return ", ".join(parts)


def _why(route: dict[str, Any]) -> str:
    if route["problems"]:
        return f"{route['service']}, but " + "; ".join(route["problems"])
    return (f"{route['service']}, which is {route['status']} "
            f"({_health_text(route['evidence']['service'])})")


def _assess_use(use: Use, graph: Graph, book: HealthBook,
                child_risk: Any) -> dict[str, Any]:
    if use.kind == "subworkflow":
        child = child_risk(use.child)
        status = {"critical": "unhealthy", "warning": "degraded", "ok": "healthy"}.get(
            child["risk"], "unknown")
        dep = {"kind": "subworkflow", "step_id": use.step_id, "workflow_id": use.child,
               "required": use.required, "status": status, "fallbacks": [],
               "evidence": {"child_risk": child["risk"], "child_why": child["why"][:3]}}
        if child["risk"] == "ok":
            return {**dep, "risk": "ok", "why": None}
        risk = child["risk"] if use.required else "warning"
        return {**dep, "risk": risk,
                "why": f"sub-workflow step {use.step_id} runs workflow {use.child}, which is "
                       f"{child['risk']}: " + "; ".join(child["why"][:2])}
    primary = _route_state(use, graph, book)
    alternatives = [{"index": fb.index, **_route_state(fb, graph, book)} for fb in use.fallbacks]
    usable = [a for a in alternatives if a["status"] != "unhealthy"]
    dep = {"kind": use.kind, "step_id": use.step_id, "service": use.service,
           "connection": primary["connection"], "required": use.required,
           "status": primary["status"], "problems": primary["problems"],
           "fallbacks": alternatives, "evidence": primary["evidence"]}
    what = "the trigger" if use.kind == "trigger" else f"step {use.step_id}"
    if primary["status"] == "unhealthy":
        if usable:
            best = usable[0]
            return {**dep, "risk": "warning",
                    "why": f"{what} depends on {_why(primary)}; only fallback "
                           f"{best['index'] + 1} of {len(alternatives)} ({best['service']}, "
                           f"connection {best['connection']}, {best['status']}) is left"}
        tried = (f"; its {len(alternatives)} fallback(s) are unhealthy too" if alternatives
                 else "; no fallback is declared")
        if not use.required:
            return {**dep, "risk": "warning",
                    "why": f"{what} (not required: on_error is not fail) depends on "
                           f"{_why(primary)}{tried}"}
        return {**dep, "risk": "critical", "why": f"{what} depends on {_why(primary)}{tried}"}
    if primary["status"] == "degraded":
        return {**dep, "risk": "warning", "why": f"{what} depends on {_why(primary)}"}
    return {**dep, "risk": "ok", "why": None}


def impact(service: str | None = None, connection_id: int | None = None,
           window_days: int | None = None, app: Flask | None = None,
           shared: tuple[Graph, HealthBook] | None = None) -> dict[str, Any]:
    """Which workflows are at risk now: per workflow its dependencies with their status, the
    risk (critical, warning, ok) and why. ``service`` / ``connection_id``: only the workflows
    that depend on it (``UnknownTarget`` when it does not exist)."""
    app = app or current_app
    slug = None
    if service is not None:
        try:
            slug = get_state(app).registry.get(service).name
        except Exception as exc:
            raise UnknownTarget("service", f"unknown service {service!r}") from exc
    graph, book = shared or snapshot(window_days, app)
    if connection_id is not None and connection_id not in graph.connections:
        raise UnknownTarget("connection_id", f"no connection {connection_id}")
    verdicts: dict[int, dict[str, Any]] = {}
    visiting: set[int] = set()

    def assess(wid: int) -> dict[str, Any]:
        if wid in verdicts:
            return verdicts[wid]
        wf = graph.workflows.get(wid)
        if wf is None:
            return {"risk": "critical", "why": [f"workflow {wid} does not exist"]}
        if wid in visiting:  # a cycle of sub-workflows: judged where it started
            return {"risk": "ok", "why": []}
        visiting.add(wid)
        deps = [_assess_use(u, graph, book, assess) for u in wf["uses"] if u.kind != "fallback"]
        visiting.discard(wid)
        risk = min((d["risk"] for d in deps), key=_RANK.__getitem__, default="ok")
        why = [d["why"] for d in sorted(deps, key=lambda d: _RANK[d["risk"]]) if d["why"]]
        for d in deps:  # what the execution window says about it
            node = (f"workflow:{d['workflow_id']}" if d["kind"] == "subworkflow"
                    else f"service:{d['service']}")
            c = graph.ran.get((wid, node, d["kind"])) or {}
            d["runs"], d["failures"] = c.get("runs", 0), c.get("failures", 0)
            d["fallback_runs"] = graph.fallback_by_step.get((wid, d["step_id"]), 0)
        verdicts[wid] = {"workflow_id": wid, "name": wf["name"], "enabled": wf["enabled"],
                         "version": wf["version"], "risk": risk, "why": why,
                         "dependencies": deps}
        return verdicts[wid]

    def touches(wid: int) -> bool:
        wf = graph.workflows[wid]
        for use in wf["uses"]:
            if use.kind == "subworkflow":
                continue
            conn = connection_of(use, graph.default_connection)
            if slug is not None and use.service == slug:
                return True
            if connection_id is not None and conn == connection_id:
                return True
        return any(w == wid and (slug and node == f"service:{slug}"
                                 or connection_id is not None and node == f"connection:{connection_id}")
                   for (w, node, _) in graph.ran)

    chosen = [wid for wid in graph.workflows
              if (slug is None and connection_id is None) or touches(wid)]
    results = sorted((assess(wid) for wid in chosen),
                     key=lambda v: (_RANK[v["risk"]], v["workflow_id"]))
    services_seen = sorted(book._services)
    if slug is not None and slug not in services_seen:
        services_seen.append(slug)
    return {
        "generated_at": isoformat(utcnow()), "service": slug, "connection_id": connection_id,
        "window_days": graph.window_days,
        "services": {s: book.service(s).to_dict() for s in services_seen},
        "workflows": results,
        "summary": {risk: sum(v["risk"] == risk for v in results) for risk in RISKS},
    }


def status(app: Flask) -> dict[str, Any]:
    """For ``GET /workflows/enhanced/status``: what the map was learnt from."""
    graph = _load(DEFAULT_WINDOW_DAYS, app)
    uses = [u for wf in graph.workflows.values() for u in wf["uses"]]
    counts = defaultdict(int)
    for u in uses:
        counts[u.kind] += 1
    return {"model": "dependency graph from workflow definitions and executions, judged "
                     "against monitoring's health scores",
            "version": VERSION, "trained_at": isoformat(utcnow()),
            "trained_on": {"workflows": len(graph.workflows), "executions": graph.executions,
                           "window_days": DEFAULT_WINDOW_DAYS,
                           "connections": len(graph.connections)},
            "details": {"declared": dict(counts), "fallback_runs": graph.fallback_runs,
                        "max_executions": MAX_EXECUTIONS}}
