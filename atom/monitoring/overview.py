"""The views of monitoring data that the API, the compatibility paths and the CLI share.

Every loaded integration answers, with or without connections: one without an enabled
connection (or without data in the window) is ``unknown`` with a null score and no
connections. Uptime (:mod:`atom.monitoring.uptime`) is ``{"24h", "7d", "30d"}``: fractions of
passed health checks between 0 and 1, or null for a period without checks; an integration's
is check-weighted over its enabled connections.

The overall status is the worst of its parts (:func:`atom.monitoring.score.overall`): the
integrations that have enabled connections and the connections with data, so one connection
that is down makes the system unhealthy even when its integration's mean score only makes the
integration degraded. ``unknown`` ranks between degraded and healthy: an integration with
connections but no data yet makes an otherwise healthy system unknown, while an installed
integration without any enabled connection does not count, and a connection without data
does not hide the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask

from atom.models.base import isoformat
from atom.monitoring import score as scoring
from atom.monitoring import uptime
from atom.monitoring.alerts import open_counts
from atom.monitoring.metrics import Figures
from atom.monitoring.metrics import IntegrationMetrics
from atom.monitoring.metrics import Snapshot
from atom.monitoring.monitor import get_monitor
from atom.state import get_state


@dataclass
class Views:
    """A snapshot, every integration's metrics (installed ones without connections too) and
    the uptimes of the integrations and their connections."""

    snap: Snapshot
    integrations: dict[str, IntegrationMetrics]
    integration_uptime: dict[str, uptime.Uptimes]
    connection_uptime: dict[int, uptime.Uptimes]

    def service(self, name: str) -> dict[str, Any]:
        """One integration as ``services`` shows it, uptimes included."""
        body = self.integrations[name].to_dict()
        body["uptime"] = self.integration_uptime[name]
        for conn in body["connections"]:
            conn["uptime"] = self.connection_uptime[conn["id"]]
        return body

    def status(self, names: list[str] | None = None) -> str:
        """The worst of the parts (see the module's docstring), over ``names`` (default all)."""
        chosen = [self.integrations[n] for n in (self.integrations if names is None else names)]
        return scoring.overall([m.status for m in chosen if m.connections],
                               [c.status for m in chosen for c in m.connections])

    def score(self, names: list[str] | None = None) -> float | None:
        chosen = [self.integrations[n] for n in (self.integrations if names is None else names)]
        return scoring.combined_score([c.score for m in chosen for c in m.connections])


def views(app: Flask, integration: str | None = None, uptimes: bool = True) -> Views:
    """Read everything the views need once: metrics of every enabled connection (of
    ``integration``) and (unless ``uptimes`` is False) the uptimes, in a fixed number of
    queries."""
    snap = get_monitor(app).snapshot(integration)
    names = {integration} if integration else {p.name for p in get_state(app).registry.loaded()}
    names |= set(snap.integrations)  # connections of a plugin no longer loaded still show
    integrations = {name: snap.integrations.get(name) or IntegrationMetrics(name, Figures(), [])
                    for name in sorted(names)}
    per_connection: dict[int, uptime.Uptimes] = {}
    per_integration: dict[str, uptime.Uptimes] = {}
    if uptimes:
        per_connection, per_integration = uptime.grouped_uptimes(
            {name: [c.connection_id for c in m.connections] for name, m in integrations.items()},
            snap.now)
    return Views(snap, integrations, per_integration, per_connection)


def services(app: Flask) -> dict[str, Any]:
    """Every loaded integration: score, status, metrics, uptime and connections."""
    v = views(app)
    return {"services": {name: v.service(name) for name in v.integrations}, **_stamp(v.snap)}


def service(app: Flask, name: str) -> dict[str, Any]:
    """One integration (``unknown`` when it has no enabled connection).

    :raises UnknownPlugin: no such integration is loaded.
    """
    slug = get_state(app).registry.get(name).name
    v = views(app, slug)
    return {"name": slug, **v.service(slug), **_stamp(v.snap)}


def overview(app: Flask) -> dict[str, Any]:
    """The system at a glance: overall status and score, counts by status, open alerts."""
    v = views(app, uptimes=False)
    connections = list(v.snap.connections.values())
    monitor = get_monitor(app)
    return {
        "status": v.status(),
        "health_score": v.score(),
        "services": _count([m.status for m in v.integrations.values()]),
        "connections": {"total": len(connections), **_count([m.status for m in connections])},
        "in_maintenance": sorted(m.connection_id for m in connections if m.in_maintenance),
        "alerts": open_counts(),
        "last_round": monitor.last_round,
        "scheduler": _scheduler(app),
        "thresholds": v.snap.thresholds,
        **_stamp(v.snap),
    }


def summary(app: Flask) -> dict[str, Any]:
    """Status and score of the system and of each integration, and the open alerts."""
    v = views(app)
    return {
        "status": v.status(),
        "health_score": v.score(),
        "services": {name: {"status": m.status, "health_score": m.score,
                            "connections": len(m.connections),
                            "uptime": v.integration_uptime[name]}
                     for name, m in v.integrations.items()},
        "alerts": open_counts(),
        **_stamp(v.snap),
    }


def health_report(app: Flask, integration: str | None = None,
                  detail: bool = True) -> dict[str, Any]:
    """The product documents' health answer (``/api/v2/health/health/...`` and
    ``/api/integrations/{name}/health``), from the same data as :func:`services`.

    ``services`` has every loaded integration (or only ``integration``): its status, score,
    uptime, the counts of its enabled connections (``connections``), of those with data in the
    window (``connected``) and of the healthy ones (``healthy``), its figures, and with
    ``detail`` each connection. ``connected_count`` counts the integrations with at least one
    connection with data in the window; ``healthy_count`` the healthy integrations;
    ``total_services`` every integration listed. ``status`` is the worst of the parts listed.

    :raises UnknownPlugin: ``integration`` is not loaded.
    """
    slug = get_state(app).registry.get(integration).name if integration else None
    v = views(app, slug)
    entries = {}
    for name, m in v.integrations.items():
        figures = m.figures.to_dict()
        entry = {
            "status": m.status, "health_score": m.score, "uptime": v.integration_uptime[name],
            "connections": len(m.connections),
            "connected": sum(c.status != "unknown" for c in m.connections),
            "healthy": sum(c.status == "healthy" for c in m.connections),
            **{k: figures[k] for k in ("success_rate", "error_count", "response_time_ms",
                                       "p95_response_time_ms", "observations")},
        }
        if detail:
            entry["connection_health"] = [
                {"id": c.connection_id, "label": c.label, "status": c.status,
                 "health_score": c.score, "uptime": v.connection_uptime[c.connection_id],
                 "success_rate": c.success_rate, "consecutive_failures": c.consecutive_failures,
                 "in_maintenance": c.in_maintenance, "last_check": c.last_check}
                for c in m.connections]
        entries[name] = entry
    from atom import __version__

    return {
        "status": v.status(),
        "health_score": v.score(),
        "services": entries,
        "connected_count": sum(e["connected"] > 0 for e in entries.values()),
        "healthy_count": sum(e["status"] == "healthy" for e in entries.values()),
        "total_services": len(entries),
        "timestamp": isoformat(v.snap.now),
        "version": __version__,
        "window_s": v.snap.window_s,
    }


def _count(statuses: list[str]) -> dict[str, int]:
    return {name: statuses.count(name) for name in scoring.STATUSES}


def _stamp(snap: Snapshot) -> dict[str, Any]:
    return {"generated_at": isoformat(snap.now), "window_s": snap.window_s}


def _scheduler(app: Flask) -> dict[str, Any]:
    from atom.scheduler import get_scheduler

    scheduler = get_scheduler(app)
    if scheduler is None:
        return {"role": "off", "jobs": []}
    return scheduler.describe()
