"""Alerts and incidents as the API, the dashboard and the CLI show them (JSON bodies).

One module for both, above :mod:`atom.monitoring.incidents` (which knows what is held and
firing): an alert's body lists its incident's notifications and an incident's body lists its
alerts, so neither rules module needs the other.
"""
from __future__ import annotations

from typing import Any

from atom.extensions import db
from atom.models import Alert
from atom.models import AlertNotification
from atom.models import Incident
from atom.models import IncidentNotification
from atom.models.base import isoformat
from atom.monitoring.incidents import Held
from atom.monitoring.incidents import firing_of
from atom.monitoring.incidents import status_of


def present_alert(alert: Alert, notifications: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": alert.id,
        "rule": alert.rule,
        "subject": alert.subject,
        "integration": alert.integration,
        "connection_id": alert.connection_id,
        "workflow_id": alert.workflow_id,
        "severity": alert.severity,
        "status": alert.status,
        "message": alert.message,
        "value": alert.value,
        "threshold": alert.threshold,
        "count": alert.count,
        "created_at": isoformat(alert.created_at),
        "last_seen_at": isoformat(alert.last_seen_at),
        "escalated_at": isoformat(alert.escalated_at),
        "acknowledged_at": isoformat(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": isoformat(alert.resolved_at),
        "resolved_by": alert.resolved_by,
        "suppressed_by": alert.suppressed_by,
        "incident_id": alert.incident_id,
        "flapping": alert.flapping,
    }
    if notifications:
        rows = db.session.scalars(db.select(AlertNotification).filter_by(alert_id=alert.id)
                                  .order_by(AlertNotification.id))
        # Per-alert messages from before incidents, then those of the alert's incident.
        body["notifications"] = [
            {"channel_id": n.channel_id, "event": n.event, "status": n.status,
             "error_class": n.error_class, "message": n.message, "at": isoformat(n.created_at)}
            for n in rows
        ] + notifications_of(alert.incident_id)
    return body


def present_incident(incident: Incident, alerts: list[Alert], held: Held,
                     detail: bool = False) -> dict[str, Any]:
    active = [a for a in alerts if a.status != "resolved"]
    firing = firing_of(active, held)
    body: dict[str, Any] = {
        "id": incident.id,
        "title": incident.title,
        "group_key": incident.group_key,
        "integration": incident.integration,
        "host": incident.host,
        "severity": incident.severity,
        "status": status_of(incident, alerts),
        "counts": {"alerts": len(alerts), "active": len(active), "firing": len(firing),
                   "held": len(active) - len(firing), "resolved": len(alerts) - len(active)},
        "created_at": isoformat(incident.created_at),
        "changed_at": isoformat(incident.changed_at),
        "acknowledged_at": isoformat(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": isoformat(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "notified_at": isoformat(incident.notified_at),
        "escalation_level": max(incident.level, 0) if incident.notified_at else None,
    }
    if detail:
        body["alerts"] = [{**present_alert(a), "held": held.reason(a)} for a in alerts]
        body["notifications"] = notifications_of(incident.id)
    return body


def notifications_of(incident_id: int | None) -> list[dict[str, Any]]:
    if incident_id is None:
        return []
    rows = db.session.scalars(db.select(IncidentNotification)
                              .filter_by(incident_id=incident_id).order_by(IncidentNotification.id))
    return [{"incident_id": n.incident_id, "channel_id": n.channel_id, "event": n.event,
             "level": n.level, "firing": n.firing, "resolved": n.resolved, "status": n.status,
             "error_class": n.error_class, "message": n.message, "at": isoformat(n.created_at)}
            for n in rows]
