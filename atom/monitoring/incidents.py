"""Incidents: every active alert belongs to one, so fifty failing connections behind one host are
one problem, told once (Alertmanager's grouping, for ATOM).

Grouping: an alert's group key is made of the fields named by ``ALERT_GROUP_BY`` (default
``["integration", "host"]``: ``integration=http|host=api.example.com``). An alert with none of
those fields set (a workflow's failure-rate alert) groups by its own subject
(``subject=workflow:3``), so each workflow is an incident of its own.

Lifecycle: :func:`assign` runs right after every evaluation (and before every delivery), and
after alerts change by hand (:meth:`atom.monitoring.monitor.Monitor.alerts_changed`): it
gives each active alert without an incident the open incident of its group, or opens one (a
unique ``active_key`` keeps one open incident per group in every process); it sets the alert's
``host`` when empty; it refreshes each open incident's severity (the worst of its active
alerts) and the fingerprint of what it would notify, and resolves (``resolved_by`` system) an
incident whose alerts are all resolved. A new alert of the group after that opens a new one.

``acknowledged`` is derived: an open incident none of whose alerts is still ``open`` and at
least one of which is acknowledged (acknowledging the incident acknowledges its open alerts;
acknowledging every alert by hand gives the same). A new alert makes it open again.

Held alerts (``suppressed``, ``flapping``, in maintenance, or matched by a silence) stay in
their incident but are not counted as firing: an incident whose every alert is held sends
nothing. Delivery (:mod:`atom.monitoring.notify`) reads :func:`firing_of`.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from datetime import datetime
from typing import Any
from typing import Iterable

from flask import Flask
from sqlalchemy.exc import IntegrityError

from atom.extensions import db
from atom.models import Alert
from atom.models import Incident
from atom.models import Silence
from atom.models.audit import record
from atom.models.monitoring import SEVERITIES
from atom.monitoring import maintenance
from atom.settings import ALERT_GROUP_FIELDS

logger = logging.getLogger(__name__)

GROUP_FIELDS = ALERT_GROUP_FIELDS
# The alert fields a silence can match (every given field must equal the alert's).
SILENCE_FIELDS = ("integration", "connection_id", "host", "rule", "severity", "subject",
                  "workflow_id")
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


class IncidentConflict(Exception):
    """The incident cannot make that transition (it is resolved)."""


def group_fields(app: Flask) -> tuple[str, ...]:
    fields = tuple(app.config["ALERT_GROUP_BY"] or ())
    unknown = [f for f in fields if f not in GROUP_FIELDS]
    if unknown:
        raise ValueError(f"ALERT_GROUP_BY: unknown field(s) {unknown}; use {list(GROUP_FIELDS)}")
    return fields


def group_key(alert: Alert, fields: Iterable[str]) -> str:
    values = [(f, getattr(alert, f)) for f in fields]
    if all(v is None for _f, v in values):
        return f"subject={alert.subject}"[:300]
    return "|".join(f"{f}={'' if v is None else v}" for f, v in values)[:300]


def _title(alert: Alert, fields: Iterable[str]) -> str:
    parts = [str(getattr(alert, f)) for f in fields if getattr(alert, f) is not None]
    if not parts:
        return alert.message.split(": ", 1)[0][:300] or alert.subject
    return " on ".join(parts)[:300]


# -- what is held -----------------------------------------------------------------------------


class Held:
    """Why alerts are not notified at one moment: maintenance and silences in force."""

    def __init__(self, now: datetime) -> None:
        self.in_maintenance = maintenance.active_ids(now)
        self.silences = list(db.session.scalars(
            db.select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)
            .order_by(Silence.id)))

    def reason(self, alert: Alert) -> str | None:
        """None when the alert counts as firing; otherwise why it is held."""
        if alert.status == "resolved":
            return None
        if alert.status == "suppressed":
            return "suppressed"
        if alert.flapping:
            return "flapping"
        if alert.connection_id is not None and alert.connection_id in self.in_maintenance:
            return "maintenance"
        for silence in self.silences:
            if silence_matches(silence.matcher, alert):
                return f"silence {silence.id}"
        return None


def silence_matches(matcher: dict[str, Any], alert: Alert) -> bool:
    return bool(matcher) and all(getattr(alert, f, None) == v for f, v in matcher.items())


def firing_of(active: list[Alert], held: Held) -> list[Alert]:
    """The active alerts that count as firing, worst first."""
    firing = [a for a in active if held.reason(a) is None]
    return sorted(firing, key=lambda a: (-_RANK.get(a.severity, 0), a.id))


def _fingerprint(firing: list[Alert]) -> str:
    text = ",".join(f"{a.id}:{a.severity}" for a in sorted(firing, key=lambda a: a.id))
    return hashlib.sha256(text.encode()).hexdigest()[:64] if firing else ""


def worst(severities: Iterable[str]) -> str:
    return max(severities, key=lambda s: _RANK.get(s, 0), default=SEVERITIES[0])


# -- assignment -------------------------------------------------------------------------------


def assign(app: Flask, now: datetime) -> None:
    """Put every active alert in its group's open incident and refresh the open incidents at
    ``now`` (the monitor's clock; committed; never raises: a race with another process is
    retried, then left to the next call)."""
    for _attempt in range(3):
        try:
            _assign(app, now)
            db.session.commit()
            return
        except IntegrityError:  # another process opened the same group's incident first
            db.session.rollback()
    logger.warning("incident assignment raced with other processes; left to the next round")


def _assign(app: Flask, now: datetime) -> None:
    from atom.monitoring.hosts import connection_hosts

    fields = group_fields(app)
    active = list(db.session.scalars(db.select(Alert).where(Alert.status != "resolved")
                                     .order_by(Alert.id)))
    open_ = {i.id: i for i in db.session.scalars(db.select(Incident)
                                                 .where(Incident.status != "resolved"))}
    by_key = {i.active_key: i for i in open_.values()}
    hostless = [a.connection_id for a in active if a.host is None and a.connection_id is not None]
    hosts = connection_hosts(set(hostless)) if hostless else {}
    for alert in active:
        if alert.host is None and alert.connection_id is not None:
            alert.host = hosts.get(alert.connection_id)
        if alert.incident_id in open_:
            continue
        key = group_key(alert, fields)
        incident = by_key.get(key)
        if incident is None:
            incident = Incident(group_key=key, active_key=key, title=_title(alert, fields),
                                integration=alert.integration, host=alert.host,
                                severity=alert.severity, status="open", created_at=now,
                                changed_at=now, fingerprint="", level=-1,
                                resolved_notified=False, notify_seq=0)
            db.session.add(incident)
            db.session.flush()  # IntegrityError here: another process has this group open
            by_key[key], open_[incident.id] = incident, incident
        alert.incident_id = incident.id
    members: dict[int, list[Alert]] = defaultdict(list)
    for alert in active:
        members[alert.incident_id].append(alert)
    held = Held(now)
    for incident in open_.values():
        _refresh(incident, members.get(incident.id, []), held, now)


def _refresh(incident: Incident, active: list[Alert], held: Held, now: datetime) -> None:
    if not active:
        incident.status, incident.active_key = "resolved", None
        incident.resolved_at = incident.resolved_at or now
        incident.resolved_by = incident.resolved_by or "system"
        incident.changed_at = now
        logger.info("incident %s resolved: %s", incident.id, incident.group_key)
        return
    incident.severity = worst(a.severity for a in active)
    fingerprint = _fingerprint(firing_of(active, held))
    if fingerprint != incident.fingerprint:
        incident.fingerprint, incident.changed_at = fingerprint, now


# -- derived state ----------------------------------------------------------------------------


def _has_alert(status: str) -> Any:
    return db.select(Alert.id).where(Alert.incident_id == Incident.id,
                                     Alert.status == status).exists()


def status_of(incident: Incident, alerts: list[Alert]) -> str:
    if incident.status == "resolved":
        return "resolved"
    statuses = {a.status for a in alerts}
    return "acknowledged" if "acknowledged" in statuses and "open" not in statuses else "open"


def incidents_query(filters: dict[str, Any]) -> Any:
    """The select of ``GET /api/v2/monitoring/incidents``: newest first; ``status`` (open,
    acknowledged, resolved, or active: not resolved), ``severity``, ``integration``, ``limit``.

    :raises UnknownPlugin: an unknown ``integration``.
    """
    from atom.state import get_state

    stmt = db.select(Incident).order_by(Incident.id.desc())
    if filters.get("limit") is not None:
        stmt = stmt.limit(filters["limit"])
    status = filters.get("status")
    if status == "resolved":
        stmt = stmt.where(Incident.status == "resolved")
    elif status in ("active", "open", "acknowledged"):
        stmt = stmt.where(Incident.status != "resolved")
        acknowledged = _has_alert("acknowledged") & ~_has_alert("open")
        if status == "acknowledged":
            stmt = stmt.where(acknowledged)
        elif status == "open":
            stmt = stmt.where(~acknowledged)
    if filters.get("severity"):
        stmt = stmt.where(Incident.severity == filters["severity"])
    if filters.get("integration"):
        plugin = get_state().registry.get(filters["integration"])
        stmt = stmt.where(Incident.integration == plugin.name)
    return stmt


def alerts_of(incident_ids: list[int]) -> dict[int, list[Alert]]:
    out: dict[int, list[Alert]] = defaultdict(list)
    if incident_ids:
        for alert in db.session.scalars(db.select(Alert).where(Alert.incident_id.in_(incident_ids))
                                        .order_by(Alert.id)):
            out[alert.incident_id].append(alert)
    return out


# -- people acting on incidents ---------------------------------------------------------------


def acknowledge(incident: Incident, actor: str, now: datetime) -> Incident:
    """Acknowledge every open alert of the incident (which stops its escalation and
    reminders); twice changes nothing.

    :raises IncidentConflict: the incident is resolved.
    """
    if incident.status == "resolved":
        raise IncidentConflict(f"incident {incident.id} is resolved; it cannot be acknowledged")
    members = db.session.scalars(db.select(Alert).where(Alert.incident_id == incident.id,
                                                        Alert.status == "open")).all()
    for alert in members:
        alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", now, actor
    if members or incident.acknowledged_at is None:
        incident.acknowledged_at, incident.acknowledged_by = now, actor
        record(actor, "incident.acknowledge", f"incident:{incident.id}",
               alerts=[a.id for a in members])
        db.session.commit()
    return incident


def resolve(incident: Incident, actor: str, now: datetime) -> Incident:
    """Resolve every active alert of the incident, and the incident, by hand; conditions that
    persist open new alerts (and a new incident) later.

    :raises IncidentConflict: the incident is resolved already.
    """
    if incident.status == "resolved":
        raise IncidentConflict(f"incident {incident.id} is resolved already")
    members = db.session.scalars(db.select(Alert).where(Alert.incident_id == incident.id,
                                                        Alert.status != "resolved")).all()
    for alert in members:
        alert.status, alert.dedup_key = "resolved", None
        alert.resolved_at, alert.resolved_by = now, actor
    incident.status, incident.active_key = "resolved", None
    incident.resolved_at, incident.resolved_by, incident.changed_at = now, actor, now
    record(actor, "incident.resolve", f"incident:{incident.id}", alerts=[a.id for a in members])
    db.session.commit()
    return incident
