"""Alert notifications: channels, and the delivery of incidents off the checking thread.

A channel is a connection whose integration can post messages (it implements
``Integration.notify``, as Slack and the generic ``http`` webhook do) plus a ``target`` passed
to it: a Slack channel, a path under the http connection's base URL.

Notifications go out per incident (:mod:`atom.monitoring.incidents`), on Alertmanager's
timers: the first message ``ALERT_GROUP_WAIT_S`` after the incident opened (so the rest of the
group arrives first); a changed incident (alerts added, resolved or escalated) at most every
``ALERT_GROUP_INTERVAL_S``; an unchanged, unacknowledged one again every
``ALERT_REPEAT_INTERVAL_S`` (the reminder; an escalation policy may override it); the next
escalation level when its delay has passed unacknowledged (:mod:`atom.monitoring.escalation`);
and one ``resolved`` message, once the group interval since the last one has passed, to the
channels that heard of it. One message lists the incident's firing and resolved counts and its
top alerts. :func:`deliver_due` runs on one background thread per process (:class:`Notifier`,
owned by the app's :class:`~atom.monitoring.monitor.Monitor`), woken after every round and by
the ``monitoring:notify`` job; each message is claimed by a conditional UPDATE of the
incident's ``notify_seq``, so several processes never send the same one (a process dying
between the claim and the send loses that message rather than doubling it). Each attempt is
stored as an :class:`IncidentNotification` (sent or failed).
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import Callable

from flask import Flask

from atom.extensions import db
from atom.integrations.base import Integration
from atom.integrations.errors import IntegrationError
from atom.models import Alert
from atom.models import Connection
from atom.models import Incident
from atom.models import IncidentNotification
from atom.models import NotificationChannel
from atom.models.audit import record
from atom.models.base import isoformat
from atom.monitoring import incidents
from atom.monitoring.escalation import Level
from atom.monitoring.escalation import Routing

logger = logging.getLogger(__name__)

# Alerts a message lists by name (the rest are counted).
TOP = 5


class ChannelError(ValueError):
    """A channel definition is invalid; ``errors`` names each bad field."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("invalid channel: " + ", ".join(sorted(errors)))
        self.errors = errors


def validate_channel(conn: Connection | None) -> None:
    """Check that the connection exists and its integration can post messages.

    :raises ChannelError: naming ``connection_id``.
    """
    from atom.state import get_state

    if conn is None:
        raise ChannelError({"connection_id": ["no such connection"]})
    plugin = get_state().registry.get(conn.integration)
    if plugin.integration_class is None or plugin.integration_class.notify is Integration.notify:
        raise ChannelError({"connection_id": [
            f"{plugin.manifest.display_name if plugin.manifest else conn.integration} "
            "cannot post messages"]})


def create_channel(data: dict[str, Any], actor: str) -> NotificationChannel:
    conn = db.session.get(Connection, data["connection_id"])
    validate_channel(conn)
    channel = NotificationChannel(name=data["name"], connection_id=data["connection_id"],
                                  target=data.get("target"),
                                  min_severity=data.get("min_severity", "warning"),
                                  enabled=data.get("enabled", True), created_by=actor)
    db.session.add(channel)
    db.session.flush()
    record(actor, "channel.create", f"channel:{channel.id}", connection=channel.connection_id)
    db.session.commit()
    return channel


def delete_channel(channel: NotificationChannel, actor: str) -> None:
    record(actor, "channel.delete", f"channel:{channel.id}")
    db.session.delete(channel)
    db.session.commit()


def mask_target(target: str | None) -> str | None:
    """A channel's target as responses show it: a Slack channel (``#ops``, ``C0123``) as is; a
    path (or URL) only down to its first segment, since webhook paths often carry their token
    (``/services/T0/B0/XXXX``): ``/services/********``."""
    if not target or not ("/" in target or "?" in target):
        return target
    head, sep, rest = target.partition("://")
    if sep:  # a whole URL: keep scheme and host
        host, _, path = rest.partition("/")
        return f"{head}://{host}/********" if path else target
    first = target.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    tail = target.lstrip("/")[len(first):]
    return f"/{first}" + ("/********" if tail.strip("/?") else "")


def present_channel(channel: NotificationChannel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "connection_id": channel.connection_id,
        "target": mask_target(channel.target),
        "min_severity": channel.min_severity,
        "enabled": channel.enabled,
        "created_at": isoformat(channel.created_at),
        "created_by": channel.created_by,
    }


def send(channel: NotificationChannel, text: str, key: str | None) -> None:
    """Post one message through the channel's connection.

    :raises IntegrationError: the service refused or failed.
    """
    from atom.state import get_state

    conn = db.session.get(Connection, channel.connection_id)
    get_state().runtime.notify(conn, channel.target, text, key)


TEST_TEXT = "ATOM test notification: this channel receives alerts."


def send_test(channel: NotificationChannel) -> dict[str, Any]:
    """Send a test message through the channel now: ``{"ok", "error_class", "message"}``."""
    try:
        send(channel, TEST_TEXT, None)
    except IntegrationError as exc:
        return {"ok": False, "error_class": exc.code, "message": exc.message}
    return {"ok": True, "error_class": None, "message": None}




# -- delivery per incident --------------------------------------------------------------------


@dataclass
class Plan:
    """One message due for an incident: its event, the level reached once it is sent, the
    channels (with their level) and the text."""

    event: str  # firing | updated | escalated | reminder | resolved
    level: int
    targets: list[tuple[NotificationChannel, int]]
    text: str
    firing: int
    resolved: int


def deliver_due(app: Flask, clock: Callable[[], datetime]) -> int:
    """Send every incident message that is due now; return how many were sent.

    :param clock: the monitor's clock (``Monitor.now``).
    """
    incidents.assign(app, clock())  # silences and maintenance windows start and end with time
    now = clock()
    due = db.session.scalars(db.select(Incident).where(
        (Incident.status != "resolved")
        | (Incident.notified_at.is_not(None) & Incident.resolved_notified.is_(False)))
        .order_by(Incident.id)).all()
    if not due:
        return 0
    routing, held = Routing(), incidents.Held(now)
    members = incidents.alerts_of([i.id for i in due])
    plans = [(i.id, i.notify_seq, _plan(app, i, members[i.id], held, routing, now)) for i in due]
    sent = 0
    for incident_id, seq, plan in plans:
        if plan is not None and _claim(incident_id, seq, plan, now):
            sent += _send(incident_id, seq, plan, now)
    return sent


def _age(now: datetime, since: datetime) -> float:
    return (now - since).total_seconds()


def _targets(levels: list[Level], first: int, last: int) -> list[tuple[NotificationChannel, int]]:
    out, seen = [], set()
    for index in range(max(first, 0), min(last, len(levels) - 1) + 1):
        for channel in levels[index].channels:
            if channel.id not in seen:
                seen.add(channel.id)
                out.append((channel, index))
    return out


def _plan(app: Flask, incident: Incident, alerts: list[Alert], held: incidents.Held,
          routing: Routing, now: datetime) -> Plan | None:
    cfg = app.config
    wait, interval = float(cfg["ALERT_GROUP_WAIT_S"]), float(cfg["ALERT_GROUP_INTERVAL_S"])
    levels = routing.levels(incident)
    active = [a for a in alerts if a.status != "resolved"]
    resolved = [a for a in alerts if a.status == "resolved"]

    def plan(event: str, level: int, first: int, last: int, listed: list[Alert]) -> Plan | None:
        targets = _targets(levels, first, last)
        if not targets and event == "firing":
            return None  # nobody to tell yet: a channel added later hears of it
        text = incident_text(incident, event, firing, resolved, len(active) - len(firing), listed)
        return Plan(event, level, targets, text, len(firing), len(resolved))

    if incident.status == "resolved":
        firing: list[Alert] = []
        if _age(now, incident.notified_at) < interval:
            return None
        if any(a.flapping for a in resolved):
            return None  # its end is told once the connection settles
        return plan("resolved", incident.level, 0, incident.level, resolved)
    firing = incidents.firing_of(active, held)
    if not firing:
        return None  # every alert is held
    unacknowledged = any(a.status == "open" for a in firing)
    age = _age(now, incident.created_at)
    reached = max((i for i, level in enumerate(levels) if age >= max(level.delay_s, wait)),
                  default=-1)
    if incident.notified_at is None:
        # Nobody told yet, but someone acknowledged everything firing: nothing to announce.
        if age < wait or not unacknowledged:
            return None
        top = max(reached, 0) if unacknowledged else 0
        return plan("firing", top, 0, top, firing)
    top = max(incident.level, reached) if unacknowledged else incident.level
    since_last = _age(now, incident.notified_at)
    if incident.changed_at > incident.notified_at and since_last >= interval:
        return plan("updated", top, 0, top, firing)
    if top > incident.level:
        return plan("escalated", top, incident.level + 1, top, firing)
    policy = routing.policy(incident)
    repeat = float(policy.repeat_interval_s if policy and policy.repeat_interval_s
                   else cfg["ALERT_REPEAT_INTERVAL_S"])
    if unacknowledged and since_last >= repeat:
        return plan("reminder", incident.level, 0, incident.level, firing)
    return None


def incident_text(incident: Incident, event: str, firing: list[Alert], resolved: list[Alert],
                  held: int, listed: list[Alert]) -> str:
    head = "RESOLVED" if event == "resolved" else incident.severity.upper()
    counts = f"{len(firing)} firing, {len(resolved)} resolved" + (f", {held} held" if held else "")
    lines = [f"[ATOM {head}] incident #{incident.id} {event}: {incident.title} ({counts})"]
    lines += [f"- alert #{a.id} {a.severity} {a.rule}: {a.message}" for a in listed[:TOP]]
    if len(listed) > TOP:
        lines.append(f"... and {len(listed) - TOP} more")
    return "\n".join(lines)


def _claim(incident_id: int, seq: int, plan: Plan, now: datetime) -> bool:
    """Take the right to send ``plan`` (False: another process sent something first)."""
    values: dict[str, Any] = {"notify_seq": seq + 1, "notified_at": now, "level": plan.level}
    if plan.event == "resolved":
        values["resolved_notified"] = True
    result = db.session.execute(db.update(Incident).where(Incident.id == incident_id,
                                                          Incident.notify_seq == seq)
                                .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _send(incident_id: int, seq: int, plan: Plan, now: datetime) -> int:
    sent = 0
    for channel, level in plan.targets:
        row = IncidentNotification(incident_id=incident_id, channel_id=channel.id,
                                   event=plan.event, level=level, firing=plan.firing,
                                   resolved=plan.resolved, status="sent", created_at=now)
        _attempt(row, channel, plan.text, f"atom-incident-{incident_id}-{seq}-{channel.id}")
        sent += row.status == "sent"
        db.session.add(row)
        db.session.commit()
    if plan.targets:
        logger.info("incident %s %s: told %s of %s channels", incident_id, plan.event, sent,
                    len(plan.targets))
    return sent


def _attempt(row: IncidentNotification, channel: NotificationChannel, text: str,
             key: str) -> None:
    try:
        send(channel, text, key)
    except IntegrationError as exc:
        row.status, row.error_class, row.message = "failed", exc.code, exc.message[:2000]
        logger.warning("incident notification to channel %s failed: %s", channel.id, exc.code)
    except Exception as exc:  # a plugin bug must not stop the other channels
        logger.exception("incident notification to channel %s raised", channel.id)
        row.status, row.error_class, row.message = "failed", "upstream", type(exc).__name__


class Notifier:
    """Runs :func:`deliver_due` on one background thread; a wake-up while one is already
    waiting to run is folded into it.

    :param clock: the monitor's clock, read at each pass.
    """

    def __init__(self, app: Flask, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock
        self._pool: ThreadPoolExecutor | None = None
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self._pending = False

    def nudge(self) -> bool:
        """Queue a delivery pass unless one is queued already; True if this call queued it."""
        with self._lock:
            if self._pending:
                return False
            self._pending = True
        future = self._executor().submit(self._run)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return True

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until the passes queued so far have run; False on timeout."""
        with self._lock:
            pending = set(self._futures)
        return not wait(pending, timeout=timeout).not_done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atom-notify")
            return self._pool

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _run(self) -> None:
        with self._lock:
            self._pending = False
        with self.app.app_context():
            try:
                deliver_due(self.app, self.clock)
            except Exception:
                logger.exception("delivering incident notifications failed")
