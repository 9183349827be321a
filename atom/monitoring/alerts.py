"""Alert rules and the alert lifecycle.

After every round the rules judge the freshest evidence (:func:`metrics.alert_snapshot`: the
observations since the previous evaluation, at most ``ALERT_WINDOW_S`` old) and say, per
subject (a connection or a workflow), whether a condition holds and how severe it is:

* ``response_time``: the p95 response time above ``response_time_warning_ms`` / ``_critical_ms``;
* ``success_rate``: below ``success_rate_warning`` / ``_critical``;
* ``health_score``: below ``health_score_warning`` / ``_critical``;
* ``consecutive_failures``: at least ``consecutive_failures_warning`` / ``_critical`` failed
  health checks in a row;
* ``anomaly``: the live detector flagged a check's latency or the failures of a round (warning);
* ``workflow_failure_rate``: a workflow's failed share of the executions finished in the last
  ``ALERT_WINDOW_S``.

The first three need ``ALERT_MIN_OBSERVATIONS`` observations in the reporting window
(``MONITORING_WINDOW_S``): the history a subject needs before a rate means something. A
connection with no observation since the previous evaluation is not judged at all: its
streaks stay as they were.

Streaks (kept in ``alert_states``, so every process continues them): an alert opens after
``<rule>_open_after`` bad evaluations in a row (default ``ALERT_OPEN_AFTER`` = 2), with the
severity of the latest; it resolves itself after ``<rule>_resolve_after`` good ones (default
``ALERT_RESOLVE_AFTER`` = 2). While it is active there is one alert per subject and rule: a bad
evaluation updates it and its ``count``; a worse severity escalates it at once (event
``escalated``, ``escalated_at`` = when its severity last rose, re-opening it if it was
acknowledged); a critical alert judged at the warning level for ``<rule>_resolve_after``
evaluations in a row is de-escalated to warning (event ``deescalated``, in the audit log).

Flapping: a connection whose health checks changed between ok and failed more than
``FLAP_MAX_CHANGES`` times in ``FLAP_WINDOW_S`` is flapping. Its active alerts (and those that
open meanwhile) get ``flapping = True`` (event ``flapping``) and every event of its alerts is
silenced: alerts still open and resolve, nobody is told. When it settles, its alerts get
``flapping = False``: active ones send ``settled`` (their current state), those that were
announced before it began and resolved meanwhile send their ``resolved``.

A connection in maintenance opens and escalates nothing and notifies no one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Callable
from typing import Mapping
from typing import Sequence

from flask import Flask
from sqlalchemy.exc import IntegrityError

from atom.extensions import db
from atom.models import Alert
from atom.models import AlertState
from atom.models import Execution
from atom.models import Workflow
from atom.models.audit import record
from atom.models.monitoring import SEVERITIES
from atom.monitoring import maintenance
from atom.monitoring import suppression
from atom.monitoring import thresholds
from atom.monitoring.detectors import Anomaly
from atom.monitoring.detectors import DetectorBank
from atom.monitoring.findings import Finding
from atom.monitoring.findings import Subject
from atom.monitoring.findings import level
from atom.monitoring.metrics import ConnectionMetrics
from atom.monitoring.metrics import Snapshot

logger = logging.getLogger(__name__)

RULES = ("response_time", "success_rate", "health_score", "consecutive_failures", "anomaly",
         "workflow_failure_rate", suppression.HOST_RULE)
_RANK = {None: 0, "warning": 1, "critical": 2}
# The alert_states row holding the time of the latest evaluation.
_EVALUATION_KEY = "evaluation"
_FLAPPING = "flapping:"
#: ``previous`` not given to :func:`evaluate`: evaluate whatever another process did.
UNSET: Any = object()
#: A source of findings beyond the metric rules: ``source(app, snap, min_observations)``
#: returns, by subject, each rule's finding.
FindingSource = Callable[[Flask, Snapshot, int], Mapping[Subject, Mapping[str, Finding]]]
# The kinds of event an evaluation reports (suppression adds its own).
EVENTS = ("opened", "escalated", "deescalated", "resolved", "flapping", "settled")


@dataclass(frozen=True)
class Event:
    alert_id: int
    # opened | escalated | deescalated | resolved | flapping | settled (| suppressed ...)
    event: str
    silenced: bool = False


class AlertConflict(Exception):
    """The alert cannot make that transition (it is resolved)."""


def connection_findings(m: ConnectionMetrics, th: dict[str, float],
                        min_observations: int) -> dict[str, Finding]:
    """The findings of the metric rules for one connection (rules without data are absent;
    every rule is, when the connection has no fresh observation)."""
    out: dict[str, Finding] = {}
    f = m.figures
    if f.observations == 0:
        return out
    history = f.observations if m.history is None else max(m.history, f.observations)
    if history >= min_observations and f.p95_ms is not None:
        warn, crit = th["response_time_warning_ms"], th["response_time_critical_ms"]
        sev = level(f.p95_ms, warn, crit, True)
        out["response_time"] = Finding(sev, f.p95_ms, crit if sev == "critical" else warn,
                                       f"p95 response time {f.p95_ms:.0f} ms "
                                       f"{'exceeds' if sev else 'within'} {warn:.0f} ms")
    if history >= min_observations and f.success_rate is not None:
        warn, crit = th["success_rate_warning"], th["success_rate_critical"]
        sev = level(f.success_rate, warn, crit, False)
        out["success_rate"] = Finding(sev, f.success_rate, crit if sev == "critical" else warn,
                                      f"success rate {f.success_rate:.1%} over "
                                      f"{f.observations} calls and checks")
    if history >= min_observations and m.score is not None:
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


def last_evaluation() -> datetime | None:
    """When the rules were last evaluated, by any process (None: never)."""
    row = db.session.get(AlertState, _EVALUATION_KEY)
    return None if row is None else row.updated_at


def evaluate(app: Flask, snap: Snapshot, *, detectors: DetectorBank | None = None,
             sources: Sequence[FindingSource] = (), previous: Any = UNSET) -> list[Event]:
    """Run every rule on ``snap`` and update the alerts; return what changed (committed).
    The monitor calls it (:meth:`atom.monitoring.monitor.Monitor.evaluate_now`) with its parts.

    :param detectors: the live anomaly detectors, fed the new points and judged at the
        evaluation's time (``snap.now``; none, or ``ANOMALY_DETECTION`` off: no ``anomaly``
        rule).
    :param sources: more findings, by subject and rule, judged with the metric rules (the
        monitored workflows' health score): each is called ``source(app, snap,
        min_observations)``.
    :param previous: the evaluation time ``snap`` was computed from; when given, nothing
        happens if another process has evaluated since (the evaluations of a deployment are
        serialised through the ``evaluation`` row of ``alert_states``).
    """
    cfg = app.config
    if not _claim(snap.now, previous):
        logger.info("another process evaluated the alert rules meanwhile; skipped")
        return []
    min_obs = int(cfg["ALERT_MIN_OBSERVATIONS"])
    silenced = maintenance.active_ids(snap.now)
    active = {a.dedup_key: a for a in db.session.scalars(
        db.select(Alert).where(Alert.dedup_key.is_not(None)))}
    states = {s.key: s for s in db.session.scalars(db.select(AlertState))}
    findings: dict[Subject, dict[str, Finding]] = {}
    anomalies: dict[int, Anomaly] = {}
    if detectors is not None and cfg["ANOMALY_DETECTION"]:
        anomalies, threshold = detectors.evaluate(snap.connections, snap.now), detectors.threshold
    for m in snap.connections.values():
        subject = Subject(f"connection:{m.connection_id}", m.label, m.integration, m.connection_id)
        findings[subject] = connection_findings(m, snap.thresholds, min_obs)
        if m.connection_id in anomalies:
            findings[subject]["anomaly"] = anomaly_finding(anomalies[m.connection_id], threshold)
    for subject, finding in workflow_findings(snap.now, snap.window_s, snap.thresholds,
                                              min_obs).items():
        findings[subject] = {"workflow_failure_rate": finding}
    # Other sources (workflows under enhanced monitoring: atom.intelligence.workflow_health).
    for source in sources:
        for subject, by_rule in source(app, snap, min_obs).items():
            findings.setdefault(subject, {}).update(by_rule)
    # Parents that are subjects of their own (an upstream host all of whose connections fail).
    for subject, by_rule in suppression.parent_findings(app, snap).items():
        findings.setdefault(subject, {}).update(by_rule)
    flapping, changed = _flapping(snap, states, active)
    for subject, by_rule in findings.items():
        quiet = subject.connection_id in silenced
        held = subject.connection_id in flapping
        for rule, finding in by_rule.items():
            key = f"{rule}:{subject.key}"
            if finding.severity is None and key not in active and key not in states:
                continue  # fine, and nothing pending: the common case, kept cheap
            opens, resolves = thresholds.streaks(app, snap.thresholds, rule)
            outcome = _apply(active.get(key), _state(states, key, snap.now), subject, rule,
                             finding, quiet, snap.now, opens, resolves)
            if outcome is not None:
                outcome[0].flapping = outcome[0].flapping or held
                changed.append((outcome[0], outcome[1], quiet or held))
    changed += _orphans(active.values(), snap)
    _prune(states, active, snap)
    # Dependents of a parent that is down are suppressed (and resume when it recovers); what a
    # suppressed alert does, even opening in the same round as its parent, is not notified.
    changed += [(alert, event, alert.connection_id in silenced)
                for alert, event in suppression.apply(app, snap.now)]
    changed = [(a, e, quiet or suppression.silenced(a, e)) for a, e, quiet in changed]
    return _commit(changed)


def _claim(now: datetime, previous: Any) -> bool:
    """Record ``now`` as the latest evaluation; False if ``previous`` is no longer the latest
    (another process evaluated since it was read). Starts the write transaction, so the
    evaluations of several processes run one after the other."""
    db.session.commit()  # end the snapshot's read transaction: the claim starts a fresh one
    if previous is UNSET:
        row = db.session.get(AlertState, _EVALUATION_KEY)
        if row is None:
            db.session.add(AlertState(key=_EVALUATION_KEY, updated_at=now))
        else:
            row.updated_at = now
        return _flushed()
    if previous is None:
        db.session.add(AlertState(key=_EVALUATION_KEY, updated_at=now))
        return _flushed()
    claimed = db.session.execute(
        db.update(AlertState).where(AlertState.key == _EVALUATION_KEY,
                                    AlertState.updated_at == previous)
        .values(updated_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    return True


def _flushed() -> bool:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _state(states: dict[str, AlertState], key: str, now: datetime) -> AlertState:
    state = states.get(key)
    if state is None:
        state = states[key] = AlertState(key=key, bad_streak=0, good_streak=0, lower_streak=0,
                                         updated_at=now)
    return state


def _apply(alert: Alert | None, state: AlertState, subject: Subject, rule: str,
           finding: Finding, quiet: bool, now: datetime, opens: int,
           resolves: int) -> tuple[Alert, str] | None:
    """Advance the streaks of one rule and subject by one evaluation; open, escalate,
    de-escalate or resolve its alert when a streak is long enough."""
    state.updated_at = now
    if finding.severity is not None or (alert is not None and finding.holds):
        state.good_streak = 0
        if alert is None:
            if quiet:  # in maintenance: nothing counts towards opening
                return None
            if state.bad_streak == 0:
                state.since = now
            state.bad_streak += 1
            state.pending_severity = finding.severity
            if state.bad_streak < opens:
                return None
            created = _open(subject, rule, finding, now, state)
            state.bad_streak, state.pending_severity, state.since = 0, None, None
            return created, "opened"
        alert.count += 1
        alert.last_seen_at, alert.ok_streak = now, 0
        alert.value, alert.message = finding.value, _message(subject, finding)
        if quiet:
            return None
        if _RANK[finding.severity] > _RANK[alert.severity]:
            alert.severity, alert.threshold = finding.severity, finding.threshold
            alert.escalated_at, alert.status = now, "open"
            state.lower_streak = 0
            return alert, "escalated"
        if finding.severity is not None and _RANK[finding.severity] < _RANK[alert.severity]:
            state.lower_streak += 1
            if state.lower_streak >= resolves:
                alert.severity, alert.threshold = finding.severity, finding.threshold
                state.lower_streak = 0
                record("system", "alert.deescalate", f"alert:{alert.id}",
                       severity=finding.severity, value=finding.value)
                return alert, "deescalated"
        else:
            state.lower_streak = 0
        return None
    state.bad_streak, state.pending_severity, state.since, state.lower_streak = 0, None, None, 0
    if alert is None:
        return None
    state.good_streak += 1
    alert.ok_streak = state.good_streak
    if state.good_streak >= resolves:
        _close(alert, "system", now)
        state.good_streak = 0
        return alert, "resolved"
    return None


def _flapping(snap: Snapshot, states: dict[str, AlertState], active: dict[str | None, Alert]
              ) -> tuple[set[int], list[tuple[Alert, str, bool]]]:
    """Start and end the connections' flapping; return the flapping ones and the events."""
    changed: list[tuple[Alert, str, bool]] = []
    now_flapping = {cid for cid, m in snap.connections.items() if m.flapping}
    was = {int(key.rsplit(":", 1)[1]): state for key, state in states.items()
           if key.startswith(_FLAPPING)}
    by_connection: dict[int, list[Alert]] = {}
    for alert in active.values():
        if alert.connection_id is not None:
            by_connection.setdefault(alert.connection_id, []).append(alert)
    for cid in sorted(now_flapping - set(was)):
        m = snap.connections[cid]
        state = _state(states, f"{_FLAPPING}connection:{cid}", snap.now)
        state.since, state.bad_streak = snap.now, m.flap_changes
        db.session.add(state)
        record("system", "connection.flapping", f"connection:{cid}", changes=m.flap_changes)
        for alert in by_connection.get(cid, []):
            alert.flapping = True
            changed.append((alert, "flapping", True))
    for cid, state in was.items():
        if cid in now_flapping:
            state.bad_streak, state.updated_at = snap.connections[cid].flap_changes, snap.now
            continue
        db.session.delete(state)
        states.pop(state.key)
        if cid not in snap.connections:
            continue
        record("system", "connection.settled", f"connection:{cid}")
        quiet = snap.connections[cid].in_maintenance
        for alert in db.session.scalars(db.select(Alert).filter_by(connection_id=cid,
                                                                   flapping=True)):
            alert.flapping = False
            if alert.status != "resolved":
                changed.append((alert, "settled", quiet))
            elif state.since is not None and alert.created_at < state.since:
                changed.append((alert, "resolved", quiet))  # announced before: now its end
    return now_flapping, changed


def _prune(states: dict[str, AlertState], active: dict[str | None, Alert],
           snap: Snapshot) -> None:
    """Forget the streaks that say nothing (no streak, no active alert) and those of
    connections that are gone or disabled."""
    for key, state in list(states.items()):
        if key == _EVALUATION_KEY or key.startswith(_FLAPPING):
            continue
        subject = key.split(":", 1)[1]
        gone = subject.startswith("connection:") and \
            int(subject.rsplit(":", 1)[1]) not in snap.connections
        idle = not (state.bad_streak or state.good_streak or state.lower_streak)
        if gone or idle:
            if state in db.session:
                db.session.delete(state)
            states.pop(key)
        elif state not in db.session:
            db.session.add(state)


def _open(subject: Subject, rule: str, finding: Finding, now: datetime,
          state: AlertState) -> Alert:
    """A new alert; ``count`` = the bad evaluations that opened it."""
    alert = Alert(rule=rule, subject=subject.key, dedup_key=f"{rule}:{subject.key}",
                  integration=subject.integration, connection_id=subject.connection_id,
                  workflow_id=subject.workflow_id, severity=finding.severity, status="open",
                  message=_message(subject, finding), value=finding.value,
                  threshold=finding.threshold, count=state.bad_streak, ok_streak=0,
                  created_at=now, last_seen_at=now)
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
