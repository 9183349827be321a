"""Dependency-aware suppression: an alert whose subject depends on a parent that is down is
recorded as ``suppressed`` (``suppressed_by`` the parent's alert) and not notified.

**The graph** (built at every evaluation from what changes: the connections, the workflows'
current versions, whose uses are cached per version, the hosts, cached per connection
revision, and the declared rows). A subject depends on a parent when:

* ``workflow``: a workflow's trigger, action or notification step uses a connection (its
  explicit ``connection``, else its service's default connection, as the runner picks it;
  fallbacks are not dependencies: the workflow does not fail because a spare is down), and a
  workflow depends on the child of each of its sub-workflow steps (an edge that would close a
  cycle of sub-workflows is left out);
* ``host``: every enabled connection of a host shared by at least
  ``HOST_DOWN_MIN_CONNECTIONS`` (default 2) enabled connections depends on ``host:<host>``;
* ``declared``: through the API or the dashboard, a ``connection:<id>`` or ``workflow:<id>``
  depends on a ``connection:<id>``, a ``host:<host>`` or an ``integration:<slug>`` (any of
  its connections' alerts).

**The host rule** ``host_down`` (subject ``host:<host>``, ``Alert.host`` set): at least
``HOST_DOWN_MIN_CONNECTIONS`` enabled connections of the host, out of maintenance, were checked
in the last three check intervals, and the last check of every one of them failed. Warning;
critical once each has failed ``consecutive_failures_critical`` checks in a row. It resolves
through the normal lifecycle when one of them answers again (or the host has too few).

**Suppression** runs after the rules. A parent is *down* when it has an active alert that is
critical, or of a rule that says the subject does not answer (``host_down``,
``consecutive_failures``) at any severity; a warning about latency or a success rate does not
suppress anything. Every active alert whose subject depends, directly or through a chain, on
a parent that is down is ``suppressed`` and ``suppressed_by`` the root cause: the alert of the
topmost parent that is down (the oldest such alert when several are). Its rules still run on
it (it counts, escalates and resolves itself when its condition clears), but nothing it does
is notified. When no parent is down any more it is released: ``open`` again, or
``acknowledged`` if it was acknowledged and not escalated since, with ``suppressed_by`` None,
and notified (``unsuppressed``) if it is open. Acknowledging a suppressed alert records who
and when and keeps it suppressed (it comes back acknowledged); resolving it by hand resolves
it. A resolved alert keeps the ``suppressed_by`` it had when it resolved.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import Any
from typing import Iterable

from flask import Flask
from flask import current_app
from flask import g

from atom.extensions import db
from atom.intelligence.dependencies import Use
from atom.intelligence.dependencies import connection_of
from atom.intelligence.dependencies import default_connections
from atom.intelligence.dependencies import uses_of
from atom.models import Alert
from atom.models import Connection
from atom.models import MonitoringDependency
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.audit import record
from atom.models.base import isoformat
from atom.monitoring.findings import Finding
from atom.monitoring.findings import Subject
from atom.monitoring.hosts import connection_hosts

if TYPE_CHECKING:
    from atom.monitoring.metrics import ConnectionMetrics
    from atom.monitoring.metrics import Snapshot

HOST_RULE = "host_down"
# Rules whose alert says the subject does not answer: a parent with one of these is down at
# any severity; with another rule only when critical.
DOWN_RULES = (HOST_RULE, "consecutive_failures")
SOURCES = ("declared", "workflow", "host")
SUBJECT_KINDS = ("connection", "workflow")
PARENT_KINDS = ("connection", "host", "integration")
# A check older than this many check intervals does not count for the host rule.
FRESH_INTERVALS = 3
_HOSTS = "_atom_suppression_hosts"
_FORMS = {"connection": "connection:<id>", "workflow": "workflow:<id>", "host": "host:<host>",
          "integration": "integration:<slug>"}


def host_key(host: str) -> str:
    """The subject of a host: ``host:<host>``, a long host shortened with a digest to fit
    the alerts' subject column (``Alert.host`` keeps it whole)."""
    key = f"host:{host}"
    if len(key) <= 64:
        return key
    import hashlib

    return f"host:{host[:47]}~{hashlib.sha1(host.encode()).hexdigest()[:11]}"


class DependencyError(ValueError):
    """A declaration is refused: ``status`` 422 (``errors`` names the field) or 409."""

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors or {}


# -- the graph ------------------------------------------------------------------------------


@dataclass
class Edge:
    subject: str
    parent: str
    source: str  # declared | workflow | host
    detail: str = ""
    row: MonitoringDependency | None = None


@dataclass
class Graph:
    edges: list[Edge] = field(default_factory=list)
    parents: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # integration:<slug> -> its connections (the parent "any of its connections' alerts")
    members: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    labels: dict[str, str] = field(default_factory=dict)
    hosts: set[str] = field(default_factory=set)

    def add(self, edge: Edge) -> None:
        self.edges.append(edge)
        if edge.parent not in self.parents[edge.subject]:
            self.parents[edge.subject].append(edge.parent)

    def parents_of(self, node: str) -> list[str]:
        if node.startswith("integration:"):
            return self.members.get(node, [])
        return self.parents.get(node, [])

    def path(self, start: str, goal: str) -> list[str] | None:
        """A chain of dependencies from ``start`` up to ``goal`` (None: there is none). An
        integration's membership does not lead back to ``goal`` itself: a connection that
        depends on its own integration depends on its siblings."""
        before: dict[str, str | None] = {start: None}
        todo = [start]
        while todo:
            node = todo.pop()
            if node == goal:
                chain = [node]
                while before[chain[-1]] is not None:
                    chain.append(before[chain[-1]])  # type: ignore[arg-type]
                return chain[::-1]
            for parent in self.parents_of(node):
                if parent == goal and node.startswith("integration:"):
                    continue
                if parent not in before:
                    before[parent] = node
                    todo.append(parent)
        return None

    def label(self, node: str) -> str:
        return self.labels.get(node, node)


# (database, workflow id, version) -> what that version uses: a version never changes.
_USES: dict[tuple[str, int, int], list[Use]] = {}
_USES_LOCK = threading.Lock()
_USES_MAX = 20_000


def _workflow_uses() -> dict[int, tuple[str, list[Use]]]:
    """Every live workflow's name and the uses of its current version."""
    rows = db.session.execute(db.select(Workflow.id, Workflow.name, Workflow.version)
                              .where(Workflow.deleted_at.is_(None))
                              .order_by(Workflow.id)).all()
    database = str(db.engine.url)
    with _USES_LOCK:
        missing = [r.id for r in rows if (database, r.id, r.version) not in _USES]
    if missing:
        found = db.session.execute(
            db.select(WorkflowVersion.workflow_id, WorkflowVersion.version,
                      WorkflowVersion.definition)
            .join(Workflow, (Workflow.id == WorkflowVersion.workflow_id)
                  & (Workflow.version == WorkflowVersion.version))
            .where(Workflow.id.in_(missing))).all()
        with _USES_LOCK:
            if len(_USES) + len(found) > _USES_MAX:
                _USES.clear()
            for v in found:
                _USES[(database, v.workflow_id, v.version)] = uses_of(v.definition or {})
    with _USES_LOCK:
        return {r.id: (r.name, _USES.get((database, r.id, r.version), [])) for r in rows}


def min_connections(app: Flask) -> int:
    """Connections a host needs for the host rule and the host dependencies (at least 2)."""
    return max(2, int(app.config.get("HOST_DOWN_MIN_CONNECTIONS", 2)))


def build(hosts: dict[int, str | None] | None = None) -> Graph:
    """The dependency graph now: derived (workflows, shared hosts) and declared edges."""
    graph = Graph()
    conns = db.session.execute(db.select(Connection.id, Connection.integration,
                                         Connection.enabled, Connection.label)
                               .order_by(Connection.id)).all()
    if hosts is None:
        hosts = connection_hosts([c.id for c in conns if c.enabled])
    by_host: dict[str, list[int]] = defaultdict(list)
    for c in conns:
        graph.labels[f"connection:{c.id}"] = c.label
        graph.members[f"integration:{c.integration}"].append(f"connection:{c.id}")
        if hosts.get(c.id):
            graph.hosts.add(hosts[c.id])  # type: ignore[arg-type]
            if c.enabled:
                by_host[hosts[c.id]].append(c.id)  # type: ignore[index]
    enough = min_connections(current_app)
    for host, ids in sorted(by_host.items()):
        graph.labels[host_key(host)] = host
        if len(ids) >= enough:
            for cid in ids:
                graph.add(Edge(f"connection:{cid}", host_key(host), "host",
                               f"{len(ids)} enabled connections share {host}"))
    default = default_connections(conns)
    workflows = _workflow_uses()
    children: list[tuple[int, Use]] = []
    for wid, (name, uses) in workflows.items():
        graph.labels[f"workflow:{wid}"] = name
        for use in uses:
            if use.kind == "subworkflow":
                children.append((wid, use))
            elif use.kind in ("trigger", "action", "notification"):
                cid = connection_of(use, default)
                if cid is None:
                    continue
                what = "the trigger" if use.kind == "trigger" else f"step {use.step_id}"
                how = "" if use.connection is not None else \
                    f" (the default {use.service} connection)"
                graph.add(Edge(f"workflow:{wid}", f"connection:{cid}", "workflow",
                               f"{what} uses it{how}"))
    for wid, use in children:  # after the connections, so a cycle check sees them
        child = f"workflow:{use.child}"
        if use.child in workflows and graph.path(child, f"workflow:{wid}") is None:
            graph.add(Edge(f"workflow:{wid}", child, "workflow",
                           f"sub-workflow step {use.step_id} runs it"))
    for row in db.session.scalars(db.select(MonitoringDependency)
                                  .order_by(MonitoringDependency.id)):
        graph.add(Edge(row.subject, row.parent, "declared", row.note, row))
    return graph


# -- the host rule --------------------------------------------------------------------------


def parent_findings(app: Flask, snap: Snapshot) -> dict[Subject, dict[str, Finding]]:
    """Findings of the parent-only subjects (``host:<host>``), by subject and rule."""
    hosts = connection_hosts(list(snap.connections))
    setattr(g, _HOSTS, hosts)  # apply() of this evaluation reuses them
    enough = min_connections(app)
    fresh_since = snap.now - timedelta(
        seconds=FRESH_INTERVALS * float(app.config["HEALTH_CHECK_INTERVAL_S"]))
    members: dict[str, list[ConnectionMetrics]] = defaultdict(list)
    for cid, m in snap.connections.items():
        if hosts.get(cid):
            members[hosts[cid]].append(m)  # type: ignore[index]
    out: dict[Subject, dict[str, Finding]] = {}
    for host, ms in members.items():
        if len(ms) >= enough:
            # The integration its connections share (if one), so that the host's alert is
            # grouped into the same incident as theirs.
            shared = {m.integration for m in ms}
            integration = shared.pop() if len(shared) == 1 else None
            out[Subject(host_key(host), f"host {host}", integration)] = {
                HOST_RULE: host_finding(ms, fresh_since, enough, snap.thresholds)}
    # A host alert whose host has too few connections now gets a finding that lets it resolve.
    for subject, host, integration in db.session.execute(
            db.select(Alert.subject, Alert.host, Alert.integration).where(
                Alert.rule == HOST_RULE, Alert.status != "resolved")):
        key = Subject(subject, f"host {host or subject.split(':', 1)[1]}", integration)
        if key not in out:
            out[key] = {HOST_RULE: Finding(None, 0.0, float(enough),
                                           f"fewer than {enough} enabled connections")}
    return out


def host_finding(ms: list[ConnectionMetrics], fresh_since: datetime, enough: int,
                 th: dict[str, float]) -> Finding:
    """``host_down`` over the connections of one host (see the module's description)."""
    live = [m for m in ms if not m.in_maintenance and m.last_check is not None
            and _checked_at(m.last_check) >= fresh_since]
    failing = [m for m in live if not m.last_check["ok"]]  # type: ignore[index]
    if len(live) >= enough and len(failing) == len(live):
        crit = th["consecutive_failures_critical"]
        severity = "critical" if all(m.consecutive_failures >= crit for m in live) else "warning"
        errors = sorted({m.last_check.get("error_class") or "error"  # type: ignore[union-attr]
                         for m in live})
        return Finding(severity, float(len(failing)), float(enough),
                       f"all {len(live)} connections fail their health checks "
                       f"(last errors: {', '.join(errors)})")
    return Finding(None, float(len(failing)), float(enough),
                   f"{len(failing)} of {len(live)} recently checked connections fail")


def _checked_at(last_check: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(last_check["at"]).rstrip("Z"))


# -- suppression ----------------------------------------------------------------------------


def is_down(alert: Alert) -> bool:
    """Whether an active alert makes its subject a parent that is down."""
    return alert.status != "resolved" and (alert.severity == "critical"
                                           or alert.rule in DOWN_RULES)


def acknowledged(alert: Alert) -> bool:
    """Acknowledged and not escalated since (a suppressed alert remembers it)."""
    return alert.acknowledged_at is not None and (alert.escalated_at is None
                                                  or alert.escalated_at <= alert.acknowledged_at)


def silenced(alert: Alert, event: str) -> bool:
    """Whether an evaluation's event of ``alert`` goes unnotified because of suppression:
    anything a suppressed alert does (it opened, escalated or resolved while suppressed) and
    the release of one that comes back acknowledged."""
    return alert.suppressed_by is not None or (event == "unsuppressed" and alert.status != "open")


def _root_causes(graph: Graph, down: dict[str, Alert]) -> Any:
    """``causes(node)``: the alerts of the topmost parents of ``node`` that are down."""
    memo: dict[str, frozenset[Alert]] = {}
    visiting: set[str] = set()

    def causes(node: str) -> tuple[frozenset[Alert], bool]:
        if node in memo:
            return memo[node], True
        visiting.add(node)
        found: set[Alert] = set()
        complete = True
        for parent in graph.parents_of(node):
            if parent in visiting:  # a cycle: the parent is judged where it started
                complete = False
                continue
            above, whole = causes(parent)
            complete &= whole
            if above:
                found |= above
            elif parent in down:
                found.add(down[parent])
        visiting.discard(node)
        result = frozenset(found)
        if complete:
            memo[node] = result
        return result, complete

    return lambda node: causes(node)[0]


def apply(app: Flask, now: datetime) -> list[tuple[Alert, str]]:
    """Suppress the active alerts whose parent is down and release those whose parent
    recovered; return ``(alert, "suppressed" | "unsuppressed")`` (not committed)."""
    hosts = g.pop(_HOSTS, None)
    active = list(db.session.scalars(db.select(Alert).where(Alert.status != "resolved")
                                     .order_by(Alert.id)))
    down: dict[str, Alert] = {}
    named = {host_key(h): h for h in (hosts or {}).values() if h}
    for alert in active:
        if alert.rule == HOST_RULE and alert.host is None:
            alert.host = named.get(alert.subject, alert.subject.split(":", 1)[1])
        if is_down(alert) and alert.subject not in down:
            down[alert.subject] = alert  # the oldest
    if not down and not any(a.suppressed_by is not None for a in active):
        return []
    causes = _root_causes(build(hosts), down)
    events: list[tuple[Alert, str]] = []
    for alert in active:
        found = [c for c in causes(alert.subject) if c.subject != alert.subject]
        if found:
            ids = {c.id for c in found}
            was = alert.suppressed_by
            alert.status = "suppressed"
            alert.suppressed_by = was if was in ids else min(ids)
            if was is None:
                events.append((alert, "suppressed"))
        elif alert.suppressed_by is not None:
            alert.suppressed_by = None
            alert.status = "acknowledged" if acknowledged(alert) else "open"
            events.append((alert, "unsuppressed"))
    return events


# -- declared dependencies ------------------------------------------------------------------


def _node(value: str, name: str, kinds: tuple[str, ...], graph: Graph,
          live_workflows: set[int]) -> str:
    """``value`` checked and normalised (``host:`` lower-cased, ``integration:`` the
    installed slug).

    :raises DependencyError: 422 naming ``name``.
    """
    from atom.state import get_state

    kind, sep, ref = (value or "").strip().partition(":")
    kind, ref = kind.strip().lower(), ref.strip()
    if not sep or kind not in kinds or not ref:
        raise DependencyError(422, f"invalid {name}", {name: [
            "must be " + " or ".join(_FORMS[k] for k in kinds)]})
    if kind in SUBJECT_KINDS:
        known = ref.isdigit() and (int(ref) in live_workflows if kind == "workflow"
                                   else f"connection:{int(ref)}" in graph.labels)
        if not known:
            raise DependencyError(422, f"unknown {name}", {name: [f"no {kind} {ref}"]})
        return f"{kind}:{int(ref)}"
    if kind == "host":
        if ref.lower() not in graph.hosts:
            raise DependencyError(422, f"unknown {name}",
                                  {name: [f"no connection sends its requests to {ref}"]})
        return host_key(ref.lower())
    try:
        return f"integration:{get_state().registry.get(ref).name}"
    except Exception as exc:  # UnknownPlugin
        raise DependencyError(422, f"unknown {name}",
                              {name: [f"no installed integration {ref}"]}) from exc


def declare(data: dict[str, Any], actor: str) -> Edge:
    """Store ``subject`` depends on ``parent`` (with an optional ``note``).

    :raises DependencyError: 422 unknown subject or parent, self-dependency, a cycle;
        409 declared already.
    """
    graph = build()
    live = set(db.session.scalars(db.select(Workflow.id).where(Workflow.deleted_at.is_(None))))
    subject = _node(data.get("subject", ""), "subject", SUBJECT_KINDS, graph, live)
    parent = _node(data.get("parent", ""), "parent", PARENT_KINDS, graph, live)
    if subject == parent:
        raise DependencyError(422, "a subject cannot depend on itself",
                              {"parent": ["is the subject itself"]})
    chain = graph.path(parent, subject)
    if chain is not None:
        shown = " → ".join([subject, *chain])
        raise DependencyError(422, "the dependency would close a cycle",
                              {"parent": [f"would close a cycle: {shown}"]})
    exists = db.session.scalar(db.select(MonitoringDependency).filter_by(subject=subject,
                                                                         parent=parent))
    if exists is not None:
        raise DependencyError(409, f"{subject} already depends on {parent} "
                                   f"(dependency {exists.id})")
    row = MonitoringDependency(subject=subject, parent=parent, note=data.get("note") or "",
                               created_by=actor)
    db.session.add(row)
    db.session.flush()
    record(actor, "dependency.create", f"dependency:{row.id}", dependent=subject, parent=parent)
    db.session.commit()
    return Edge(subject, parent, "declared", row.note, row)


def remove(row: MonitoringDependency, actor: str) -> None:
    record(actor, "dependency.delete", f"dependency:{row.id}", dependent=row.subject,
           parent=row.parent)
    db.session.delete(row)
    db.session.commit()


def present(edge: Edge, graph: Graph) -> dict[str, Any]:
    row = edge.row
    return {
        "id": row.id if row is not None else None,
        "subject": edge.subject,
        "subject_label": graph.label(edge.subject),
        "parent": edge.parent,
        "parent_label": graph.label(edge.parent),
        "source": edge.source,
        "detail": edge.detail if row is None else None,
        "note": row.note if row is not None else None,
        "created_at": isoformat(row.created_at) if row is not None else None,
        "created_by": row.created_by if row is not None else None,
    }


def listing(subject: str | None = None, source: str | None = None,
            graph: Graph | None = None) -> list[dict[str, Any]]:
    """Every dependency (declared first, then derived), optionally of one subject or source."""
    graph = graph or build()
    chosen: Iterable[Edge] = graph.edges
    if subject:
        chosen = [e for e in chosen if e.subject == subject.strip().lower()]
    if source:
        chosen = [e for e in chosen if e.source == source]
    order = {s: n for n, s in enumerate(SOURCES)}
    return [present(e, graph) for e in sorted(chosen, key=lambda e: (order[e.source],
                                                                      e.subject, e.parent))]
