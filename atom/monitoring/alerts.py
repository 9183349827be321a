"""Alert rules and the alert lifecycle.

After every round the rules read the metrics snapshot and say, per subject (a connection or a
workflow), whether a condition holds and how severe it is:

* ``response_time``: the p95 response time above ``response_time_warning_ms`` / ``_critical_ms``;
* ``success_rate``: below ``success_rate_warning`` / ``_critical``;
* ``health_score``: below ``health_score_warning`` / ``_critical``;
* ``consecutive_failures``: at least ``consecutive_failures_warning`` / ``_critical`` failed
  health checks in a row;
* ``anomaly``: the live detector flagged a check's latency or the failures of a round (warning);
* ``workflow_failure_rate``: a workflow's failed share of the executions finished in the window.

The first three need ``ALERT_MIN_OBSERVATIONS`` observations in the window. There is at most
one active (open or acknowledged) alert per subject and rule: repeats update it and count,
a warning escalates to critical (re-opening it if it was acknowledged), and it resolves itself
after ``ALERT_RECOVERY_EVALUATIONS`` evaluations in a row in which the condition did not hold.
A connection in maintenance opens and escalates nothing and notifies no one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy.exc import IntegrityError

from atom.extensions import db
from atom.models import Alert
from atom.models import AlertNotification
from atom.models import Execution
from atom.models import Workflow
from atom.models.audit import record
from atom.models.base import isoformat
from atom.models.monitoring import SEVERITIES
from atom.monitoring import maintenance
from atom.monitoring import suppression
from atom.monitoring.detectors import Anomaly
from atom.monitoring.metrics import ConnectionMetrics
from atom.monitoring.metrics import Snapshot

logger = logging.getLogger(__name__)

RULES = ("response_time", "success_rate", "health_score", "consecutive_failures", "anomaly",
         "workflow_failure_rate", suppression.HOST_RULE)
_RANK = {None: 0, "warning": 1, "critical": 2}


@dataclass
class Finding:
    """What a rule found: ``severity`` None means fine. ``holds`` says an existing alert's
    condition is still present even without a new severity (an anomaly that goes on)."""

    severity: str | None
    value: float | None
    threshold: float | None
    message: str
    holds: bool | None = None

    def __post_init__(self) -> None:
        if self.holds is None:
            self.holds = self.severity is not None


@dataclass(frozen=True)
class Subject:
    key: str
    label: str
    integration: str | None = None
    connection_id: int | None = None
    workflow_id: int | None = None


@dataclass(frozen=True)
class Event:
    alert_id: int
    event: str  # opened | escalated | resolved
    silenced: bool = False


class AlertConflict(Exception):
    """The alert cannot make that transition (it is resolved)."""


def level(value: float, warning: float, critical: float, higher_is_worse: bool) -> str | None:
    """``critical``, ``warning`` or None for a value against a pair of thresholds."""
    if higher_is_worse:
        return "critical" if value > critical else "warning" if value > warning else None
    return "critical" if value < critical else "warning" if value < warning else None


def connection_findings(m: ConnectionMetrics, th: dict[str, float],
                        min_observations: int) -> dict[str, Finding]:
    """The findings of the metric rules for one connection (rules without data are absent)."""
    out: dict[str, Finding] = {}
    f = m.figures
    if f.observations >= min_observations and f.p95_ms is not None:
        warn, crit = th["response_time_warning_ms"], th["response_time_critical_ms"]
        sev = level(f.p95_ms, warn, crit, True)
        out["response_time"] = Finding(sev, f.p95_ms, crit if sev == "critical" else warn,
                                       f"p95 response time {f.p95_ms:.0f} ms "
                                       f"{'exceeds' if sev else 'within'} {warn:.0f} ms")
    if f.observations >= min_observations and f.success_rate is not None:
        warn, crit = th["success_rate_warning"], th["success_rate_critical"]
        sev = level(f.success_rate, warn, crit, False)
        out["success_rate"] = Finding(sev, f.success_rate, crit if sev == "critical" else warn,
                                      f"success rate {f.success_rate:.1%} over "
                                      f"{f.observations} calls and checks")
    if f.observations >= min_observations and m.score is not None:
        warn, crit = th["health_score_warning"], th["health_score_critical"]
        sev = level(m.score, warn, crit, False)
        out["health_score"] = Finding(sev, m.score, crit if sev == "critical" else warn,
                                      f"health score {m.score:.0f}")
    if m.last_check is not None:
        warn, crit = th["consecutive_failures_warning"], th["consecutive_failures_critical"]
        c = m.consecutive_failures
        sev = "critical" if c >= crit else "warning" if c >= warn else None
        out["consecutive_failures"] = Finding(
            sev, float(c), crit if sev == "critical" else warn,
            f"{c} consecutive failed health checks (last error: "
            f"{m.last_check.get('error_class') or 'none'})")
    return out


def anomaly_finding(anomaly: Anomaly, threshold: float) -> Finding:
    what = "health-check latency" if anomaly.series == "latency" else "failure count"
    return Finding("warning" if anomaly.flagged else None, round(anomaly.score, 3), threshold,
                   f"unusual {what} ({anomaly.value:g}; anomaly score {anomaly.score:.2f})",
                   holds=anomaly.score >= threshold)


def workflow_findings(now: datetime, window_s: float, th: dict[str, float],
                      min_observations: int) -> dict[Subject, Finding]:
    """Failure rate of each workflow over the executions finished in the window."""
    since = now - timedelta(seconds=window_s)
    rows = db.session.execute(
        db.select(Execution.workflow_id, Execution.status, db.func.count())
        .where(Execution.finished_at >= since, Execution.status.in_(("succeeded", "failed")))
        .group_by(Execution.workflow_id, Execution.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for workflow_id, status, count in rows:
        counts.setdefault(workflow_id, {})[status] = count
    names = dict(db.session.execute(db.select(Workflow.id, Workflow.name)
                                    .where(Workflow.id.in_(list(counts)))).all())
    out = {}
    warn, crit = th["workflow_failure_rate_warning"], th["workflow_failure_rate_critical"]
    for workflow_id, by_status in counts.items():
        total = sum(by_status.values())
        if total < min_observations or workflow_id not in names:
            continue
        rate = by_status.get("failed", 0) / total
        sev = level(rate, warn, crit, True)
        subject = Subject(f"workflow:{workflow_id}", names[workflow_id], workflow_id=workflow_id)
        out[subject] = Finding(sev, round(rate, 4), crit if sev == "critical" else warn,
                               f"{rate:.0%} of {total} executions failed")
    return out


def evaluate(app: Flask, snap: Snapshot) -> list[Event]:
    """Run every rule on ``snap`` and update the alerts; return what changed (committed)."""
    from atom.monitoring.monitor import get_monitor

    cfg = app.config
    min_obs = int(cfg["ALERT_MIN_OBSERVATIONS"])
    silenced = maintenance.active_ids(snap.now)
    active = {a.dedup_key: a for a in db.session.scalars(
        db.select(Alert).where(Alert.dedup_key.is_not(None)))}
    findings: dict[Subject, dict[str, Finding]] = {}
    detectors = get_monitor(app).detectors
    anomalies = detectors.evaluate(snap.connections) if cfg["ANOMALY_DETECTION"] else {}
    for m in snap.connections.values():
        subject = Subject(f"connection:{m.connection_id}", m.label, m.integration, m.connection_id)
        findings[subject] = connection_findings(m, snap.thresholds, min_obs)
        if m.connection_id in anomalies:
            findings[subject]["anomaly"] = anomaly_finding(anomalies[m.connection_id],
                                                           detectors.threshold)
    for subject, finding in workflow_findings(snap.now, snap.window_s, snap.thresholds,
                                              min_obs).items():
        findings[subject] = {"workflow_failure_rate": finding}
    # Workflows under enhanced monitoring: their health score (atom.intelligence.workflow_health).
    from atom.intelligence import workflow_health
    for subject, finding in workflow_health.findings(app, snap.now, snap.thresholds,
                                                     min_obs).items():
        findings.setdefault(subject, {})["health_score"] = finding
    # Parents that are subjects of their own (an upstream host all of whose connections fail).
    for subject, by_rule in suppression.parent_findings(app, snap).items():
        findings.setdefault(subject, {}).update(by_rule)
    changed: list[tuple[Alert, str, bool]] = []
    for subject, by_rule in findings.items():
        quiet = subject.connection_id in silenced
        for rule, finding in by_rule.items():
            key = f"{rule}:{subject.key}"
            outcome = _apply(active.get(key), subject, rule, finding, quiet, snap.now,
                             int(cfg["ALERT_RECOVERY_EVALUATIONS"]))
            if outcome is not None:
                changed.append((outcome[0], outcome[1], quiet))
    changed += _orphans(active.values(), snap)
    # Dependents of a parent that is down are suppressed (and resume when it recovers); what a
    # suppressed alert does, even opening in the same round as its parent, is not notified.
    changed += [(alert, event, alert.connection_id in silenced)
                for alert, event in suppression.apply(app, snap.now)]
    changed = [(a, e, quiet or suppression.silenced(a, e)) for a, e, quiet in changed]
    return _commit(changed)


def _apply(alert: Alert | None, subject: Subject, rule: str, finding: Finding, quiet: bool,
           now: datetime, recovery: int) -> tuple[Alert, str] | None:
    if finding.severity is not None or (alert is not None and finding.holds):
        if alert is None:
            return None if quiet else (_open(subject, rule, finding, now), "opened")
        alert.count += 1
        alert.last_seen_at, alert.ok_streak = now, 0
        alert.value, alert.message = finding.value, _message(subject, finding)
        if _RANK[finding.severity] > _RANK[alert.severity] and not quiet:
            alert.severity, alert.threshold = finding.severity, finding.threshold
            alert.escalated_at, alert.status = now, "open"
            return alert, "escalated"
        return None
    if alert is None:
        return None
    alert.ok_streak += 1
    if alert.ok_streak >= recovery:
        _close(alert, "system", now)
        return alert, "resolved"
    return None


def _open(subject: Subject, rule: str, finding: Finding, now: datetime) -> Alert:
    alert = Alert(rule=rule, subject=subject.key, dedup_key=f"{rule}:{subject.key}",
                  integration=subject.integration, connection_id=subject.connection_id,
                  workflow_id=subject.workflow_id, severity=finding.severity, status="open",
                  message=_message(subject, finding), value=finding.value,
                  threshold=finding.threshold, count=1, ok_streak=0, created_at=now,
                  last_seen_at=now)
    db.session.add(alert)
    return alert


def _message(subject: Subject, finding: Finding) -> str:
    return f"{subject.label}: {finding.message}"[:500]


def _close(alert: Alert, actor: str, now: datetime) -> None:
    alert.status, alert.dedup_key = "resolved", None
    alert.resolved_at, alert.resolved_by = now, actor


def _orphans(active: Any, snap: Snapshot) -> list[tuple[Alert, str, bool]]:
    """Resolve, quietly, the alerts of deleted or disabled connections and deleted workflows."""
    live_workflows = set(db.session.scalars(db.select(Workflow.id)
                                            .where(Workflow.deleted_at.is_(None))))
    out = []
    for alert in active:
        gone = (alert.connection_id is not None and alert.connection_id not in snap.connections) \
            or (alert.workflow_id is not None and alert.workflow_id not in live_workflows)
        if gone and alert.status != "resolved":
            _close(alert, "system", snap.now)
            out.append((alert, "resolved", True))
    return out


def _commit(changed: list[tuple[Alert, str, bool]]) -> list[Event]:
    try:
        db.session.commit()
    except IntegrityError:
        # Another process opened the same alert first; its round covers this one.
        db.session.rollback()
        logger.warning("alert evaluation raced with another process; skipped this round")
        return []
    for alert, event, _quiet in changed:
        logger.info("alert %s %s: %s %s (%s)", alert.id, event, alert.rule, alert.subject,
                    alert.severity)
    return [Event(alert.id, event, quiet) for alert, event, quiet in changed]


# -- people acting on alerts ------------------------------------------------------------------


def acknowledge(alert: Alert, actor: str, now: datetime) -> Alert:
    """Mark an active alert as seen; acknowledging it twice changes nothing.

    :raises AlertConflict: the alert is resolved.
    """
    if alert.status == "resolved":
        raise AlertConflict(f"alert {alert.id} is resolved; it cannot be acknowledged")
    if alert.status == "open" or (alert.status == "suppressed"
                                  and not suppression.acknowledged(alert)):
        # A suppressed alert stays suppressed, and comes back acknowledged when released.
        if alert.status == "open":
            alert.status = "acknowledged"
        alert.acknowledged_at, alert.acknowledged_by = now, actor
        record(actor, "alert.acknowledge", f"alert:{alert.id}")
        db.session.commit()
    return alert


def resolve(alert: Alert, actor: str, now: datetime) -> Alert:
    """Resolve an active alert by hand; if its condition persists a new alert opens later.

    :raises AlertConflict: the alert is resolved already.
    """
    if alert.status == "resolved":
        raise AlertConflict(f"alert {alert.id} is resolved already")
    _close(alert, actor, now)
    record(actor, "alert.resolve", f"alert:{alert.id}")
    db.session.commit()
    return alert


def open_counts() -> dict[str, int]:
    """Unresolved alerts by severity (every severity present, zero or not)."""
    counts = dict.fromkeys(SEVERITIES, 0)
    rows = db.session.execute(db.select(Alert.severity, db.func.count())
                              .where(Alert.status != "resolved").group_by(Alert.severity))
    for severity, count in rows:
        counts[severity] = count
    return counts


def present(alert: Alert, notifications: bool = False) -> dict[str, Any]:
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
    }
    if notifications:
        from atom.monitoring.incidents import notifications_of

        rows = db.session.scalars(db.select(AlertNotification).filter_by(alert_id=alert.id)
                                  .order_by(AlertNotification.id))
        # Per-alert messages from before incidents, then those of the alert's incident.
        body["notifications"] = [
            {"channel_id": n.channel_id, "event": n.event, "status": n.status,
             "error_class": n.error_class, "message": n.message, "at": isoformat(n.created_at)}
            for n in rows
        ] + notifications_of(alert.incident_id)
    return body


def alerts_query(filters: dict[str, Any]) -> Any:
    """The select of ``GET /api/v2/monitoring/alerts``: newest first; ``status`` (or
    ``active``: open or acknowledged), ``severity``, ``integration``, ``connection_id``, ``rule``
    and ``limit`` (none: every match, for paging) as the API's ``AlertQuery`` loads them.

    :raises UnknownPlugin: an unknown ``integration``.
    """
    from atom.state import get_state

    stmt = db.select(Alert).order_by(Alert.id.desc())
    if filters.get("limit") is not None:
        stmt = stmt.limit(filters["limit"])
    status = filters.get("status")
    if status == "active":
        stmt = stmt.where(Alert.status != "resolved")
    elif status:
        stmt = stmt.where(Alert.status == status)
    if filters.get("integration"):
        plugin = get_state().registry.get(filters["integration"])
        stmt = stmt.where(Alert.integration == plugin.name)
    for name in ("severity", "connection_id", "rule"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Alert, name) == filters[name])
    return stmt
