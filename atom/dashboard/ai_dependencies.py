"""The Dependencies page: the cross-service dependency map drawn as a server-side SVG
(workflows on the left; services, each with its connections, on the right; edges coloured by
kind, nodes by health) beside the impact list (which workflows are at risk now, and why),
filterable by service. The figures are :mod:`atom.intelligence.dependencies`'s, as the API's."""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import current_app
from flask import render_template
from flask import request
from flask import url_for

from atom.dashboard.base import bp
from atom.dashboard.base import role_required
from atom.intelligence import dependencies as deps
from atom.intelligence import COMPONENTS
from atom.intelligence import enabled

NODE_W, NODE_H = 200, 40
GAP_Y, GAP_X = 12, 190
PAD_X, PAD_Y = 56, 16  # room on the left for the sub-workflow arcs
INDENT = 18  # a connection sits under its service, indented


@dataclass
class GNode:
    id: str
    kind: str
    title: str
    subtitle: str
    status: str
    tooltip: str
    href: str | None
    x: float = 0.0
    y: float = 0.0
    w: float = NODE_W
    service: str | None = None  # a connection's service
    classes: list[str] = field(default_factory=list)


@dataclass
class GEdge:
    path: str
    kind: str
    tooltip: str
    classes: list[str] = field(default_factory=list)


def _url(endpoint: str, **values: Any) -> str | None:
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def layout(dmap: dict[str, Any], risks: dict[int, str]) -> dict[str, Any]:
    """The map laid out in two columns, as coordinates for the template."""
    nodes = {n["id"]: n for n in dmap["nodes"]}
    workflows = sorted((n for n in nodes.values() if n["kind"] == "workflow"),
                       key=lambda n: ({"critical": 0, "warning": 1}.get(risks.get(n["ref"]), 2),
                                      n["ref"]))
    services = sorted((n for n in nodes.values() if n["kind"] == "service"),
                      key=lambda n: n["name"].lower())
    by_service: dict[str, list[dict[str, Any]]] = {}
    for n in nodes.values():
        if n["kind"] == "connection":
            by_service.setdefault(n.get("service") or "", []).append(n)
    placed: dict[str, GNode] = {}
    y = PAD_Y
    for n in workflows:
        risk = risks.get(n["ref"])
        sub = f"v{n['version']}" if n.get("version") else n["status"]
        sub += "" if n["enabled"] else " · disabled"
        if risk:
            sub += f" · {risk}"
        g = GNode(n["id"], "workflow", _short(n["name"], 26), sub, risk or "unknown",
                  f"workflow {n['ref']}: {n['name']} ({n['status']}){', ' + risk if risk else ''}",
                  _url("dashboard.workflow", wf_id=n["ref"]) if n["status"] != "missing" else None,
                  PAD_X, y)
        g.classes = ["node", "dep-workflow", f"risk-{risk or 'none'}"]
        placed[n["id"]] = g
        y += NODE_H + GAP_Y
    left_bottom = y
    right_x = PAD_X + NODE_W + GAP_X
    y = PAD_Y
    for s in services:
        h = s.get("health") or {}
        score = f"score {h['score']:.0f}" if h.get("score") is not None else "no data"
        g = GNode(s["id"], "service", _short(s["name"], 26), f"{s['status']} · {score}",
                  s["status"], f"{s['name']} ({s['ref']}): {s['status']}, {score}; "
                  f"{h.get('checks_failed', 0)}/{h.get('checks', 0)} checks and "
                  f"{h.get('calls_failed', 0)}/{h.get('calls', 0)} calls failed",
                  _url("dashboard.integration", slug=s["ref"]), right_x, y)
        g.classes = ["node", "dep-service", f"health-{s['status']}"]
        placed[s["id"]] = g
        y += NODE_H + GAP_Y
        for c in sorted(by_service.pop(s["ref"], []), key=lambda c: c["ref"]):
            y = _place_connection(c, placed, right_x, y)
    for rest in by_service.values():  # connections of a service no edge names (missing ones)
        for c in rest:
            y = _place_connection(c, placed, right_x, y)
    height = max(left_bottom, y) + PAD_Y - GAP_Y
    width = right_x + NODE_W + PAD_X
    edges: list[GEdge] = []
    for e in dmap["edges"]:
        a, b = placed.get(e["from"]), placed.get(e["to"])
        if a is None or b is None:
            continue
        ran = f"{e['runs']} runs, {e['failures']} failed" if e["runs"] else "no runs in the window"
        tip = (f"{a.title} → {b.title}: {e['kind']}"
               f"{' (' + ', '.join(e['steps']) + ')' if e['steps'] else ''}; {ran}; "
               f"from {' and '.join(e['source'])}")
        classes = ["edge", f"edge-{e['kind']}"]
        if e["runs"]:
            classes.append("ran")
        if e["failures"]:
            classes.append("failing")
        if "definition" not in e["source"]:
            classes.append("history-only")
        if b.kind == "workflow":  # a sub-workflow: an arc on the left
            x1, y1 = a.x, a.y + NODE_H / 2
            x2, y2 = b.x, b.y + NODE_H / 2
            bulge = min(PAD_X - 6, 18 + abs(y2 - y1) / 6)
            path = f"M{x1:.1f},{y1:.1f} C{x1 - bulge:.1f},{y1:.1f} {x2 - bulge:.1f},{y2:.1f} {x2 - 2:.1f},{y2:.1f}"
        else:
            x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
            x2, y2 = b.x, b.y + NODE_H / 2
            mid = (x1 + x2) / 2
            path = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2 - 2:.1f},{y2:.1f}"
        edges.append(GEdge(path, e["kind"], tip, classes))
    # a connection hangs off its service
    for g in placed.values():
        if g.kind == "connection":
            service = placed.get(f"service:{g.service}")
            if service is not None:
                x = service.x + 8
                edges.append(GEdge(f"M{x:.1f},{service.y + NODE_H:.1f} L{x:.1f},{g.y + NODE_H / 2:.1f} "
                                   f"L{g.x:.1f},{g.y + NODE_H / 2:.1f}", "has",
                                   f"{g.title} is a connection of {service.title}",
                                   ["edge", "edge-has"]))
    return {"width": round(width), "height": round(max(height, NODE_H + 2 * PAD_Y)),
            "nodes": list(placed.values()), "edges": edges, "node_h": NODE_H,
            "label": f"{len(workflows)} workflows depending on {len(services)} services and "
                     f"{sum(g.kind == 'connection' for g in placed.values())} connections"}


def _place_connection(c: dict[str, Any], placed: dict[str, GNode], x: float, y: float) -> float:
    state = c["status"]
    problems = "; ".join(c.get("problems") or []) or state
    g = GNode(c["id"], "connection", _short(c["name"], 24), f"{c.get('service') or '?'} · {state}",
              state, f"connection {c['ref']}: {c['name']} ({c.get('service')}): {problems}",
              _url("dashboard.connection", conn_id=c["ref"]) if c.get("service") else None,
              x + INDENT, y, NODE_W - INDENT)
    g.classes = ["node", "dep-connection", f"health-{state}"]
    g.service = c.get("service")
    placed[c["id"]] = g
    return y + NODE_H + GAP_Y


@bp.get("/dependencies")
@role_required("viewer")
def dependencies():
    """Which workflows use which services and connections, and which are at risk now."""
    if not enabled("cross_service"):
        return render_template("dashboard/ai/dependencies.html", off=True,
                               setting=COMPONENTS["cross_service"]), 503
    raw_days = request.args.get("window_days", "")
    window = int(raw_days) if raw_days.isdigit() and 1 <= int(raw_days) <= deps.MAX_WINDOW_DAYS \
        else deps.DEFAULT_WINDOW_DAYS
    service = request.args.get("service", "").strip()[:64] or None
    problem = None
    shared = deps.snapshot(window)  # one read for the map and both impact lists
    dmap = deps.dependency_map(window, shared=shared)
    everything = deps.impact(window_days=window, shared=shared)
    risks = {v["workflow_id"]: v["risk"] for v in everything["workflows"]}
    shown = everything
    if service:
        try:
            shown = deps.impact(service=service, window_days=window, shared=shared)
        except deps.UnknownTarget as exc:
            problem, service = exc.message, None
    services = sorted(((n["ref"], n["name"]) for n in dmap["nodes"] if n["kind"] == "service"),
                      key=lambda p: p[1].lower())
    return render_template("dashboard/ai/dependencies.html", off=False, graph=layout(dmap, risks),
                           dmap=dmap, impact=shown, service=service, services=services,
                           window=window, problem=problem)
