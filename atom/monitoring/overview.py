"""The views of monitoring data that the API, the compatibility paths and the CLI share."""
from __future__ import annotations

from typing import Any

from flask import Flask

from atom.models.base import isoformat
from atom.monitoring import score as scoring
from atom.monitoring.alerts import open_counts
from atom.monitoring.metrics import Figures
from atom.monitoring.metrics import IntegrationMetrics
from atom.monitoring.metrics import Snapshot
from atom.monitoring.metrics import snapshot
from atom.monitoring.monitor import get_monitor
from atom.state import get_state


def services(app: Flask) -> dict[str, Any]:
    """Every integration with enabled connections: score, status, metrics, connections."""
    snap = snapshot(app)
    return {
        "services": {name: m.to_dict() for name, m in snap.integrations.items()},
        **_stamp(snap),
    }


def service(app: Flask, name: str) -> dict[str, Any]:
    """One integration (``unknown`` when it has no enabled connection).

    :raises UnknownPlugin: no such integration is loaded.
    """
    slug = get_state(app).registry.get(name).name
    snap = snapshot(app, integration=slug)
    metrics = snap.integrations.get(slug) or IntegrationMetrics(slug, Figures(), [])
    return {"name": slug, **metrics.to_dict(), **_stamp(snap)}


def overview(app: Flask) -> dict[str, Any]:
    """The system at a glance: overall status and score, counts by status, open alerts."""
    snap = snapshot(app)
    integrations = list(snap.integrations.values())
    connections = list(snap.connections.values())
    monitor = get_monitor(app)
    return {
        "status": scoring.overall([m.status for m in integrations],
                                  [m.status for m in connections]),
        "health_score": scoring.combined_score([m.score for m in connections]),
        "services": _count([m.status for m in integrations]),
        "connections": {"total": len(connections), **_count([m.status for m in connections])},
        "in_maintenance": sorted(m.connection_id for m in connections if m.in_maintenance),
        "alerts": open_counts(),
        "last_round": monitor.last_round,
        "scheduler": _scheduler(app),
        "thresholds": snap.thresholds,
        **_stamp(snap),
    }


def summary(app: Flask) -> dict[str, Any]:
    """Status and score of the system and of each integration, and the open alerts."""
    snap = snapshot(app)
    connections = list(snap.connections.values())
    return {
        "status": scoring.overall([m.status for m in snap.integrations.values()],
                                  [m.status for m in connections]),
        "health_score": scoring.combined_score([m.score for m in connections]),
        "services": {name: {"status": m.status, "health_score": m.score,
                            "connections": len(m.connections)}
                     for name, m in snap.integrations.items()},
        "alerts": open_counts(),
        **_stamp(snap),
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
