"""Alert notifications: channels, and their delivery off the checking thread.

A channel is a connection whose integration can post messages (it implements
``Integration.notify``, as Slack and the generic ``http`` webhook do) plus a ``target`` passed
to it: a Slack channel, a path under the http connection's base URL. Delivery runs on a single
background thread, so a slow or failing channel never delays a check. Each attempt is stored
as an :class:`AlertNotification` (sent, failed or throttled). Throttling: the same event of
the same rule and subject goes to a channel at most once per ``ALERT_NOTIFY_THROTTLE_S``
(escalations always go), and a channel gets at most ``ALERT_NOTIFY_MAX_PER_MINUTE`` messages a
minute.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Iterable

from flask import Flask

from atom.extensions import db
from atom.integrations.base import Integration
from atom.integrations.errors import IntegrationError
from atom.models import Alert
from atom.models import AlertNotification
from atom.models import Connection
from atom.models import NotificationChannel
from atom.models.audit import record
from atom.models.base import isoformat
from atom.models.monitoring import SEVERITIES

logger = logging.getLogger(__name__)

_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


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


def alert_text(alert: Alert, event: str) -> str:
    return (f"[ATOM {alert.severity.upper()}] alert #{alert.id} {event}: {alert.message} "
            f"({alert.rule}, {alert.subject})")


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


def deliver(app: Flask, alert_id: int, event: str) -> list[AlertNotification]:
    """Tell every eligible channel about ``event`` of the alert; store each attempt."""
    from atom.monitoring.monitor import get_monitor

    alert = db.session.get(Alert, alert_id)
    if alert is None:
        return []
    now = get_monitor(app).now()
    text = alert_text(alert, event)
    out = []
    channels = db.session.scalars(db.select(NotificationChannel).filter_by(enabled=True)
                                  .order_by(NotificationChannel.id))
    for channel in channels:
        if _RANK[alert.severity] < _RANK.get(channel.min_severity, 0):
            continue
        row = AlertNotification(alert_id=alert.id, channel_id=channel.id, event=event,
                                status="sent", created_at=now)
        reason = _throttle_reason(app, channel, alert, event, now)
        if reason:
            row.status, row.message = "throttled", reason
        else:
            _attempt(row, channel, text, f"atom-alert-{alert.id}-{event}-{channel.id}")
        db.session.add(row)
        db.session.commit()
        out.append(row)
    return out


def _attempt(row: AlertNotification, channel: NotificationChannel, text: str, key: str) -> None:
    try:
        send(channel, text, key)
    except IntegrationError as exc:
        row.status, row.error_class, row.message = "failed", exc.code, exc.message[:2000]
        logger.warning("alert notification to channel %s failed: %s", channel.id, exc.code)
    except Exception as exc:  # a plugin bug must not stop the other channels
        logger.exception("alert notification to channel %s raised", channel.id)
        row.status, row.error_class, row.message = "failed", "upstream", type(exc).__name__


def _throttle_reason(app: Flask, channel: NotificationChannel, alert: Alert, event: str,
                     now: datetime) -> str | None:
    cfg = app.config
    sent = db.select(db.func.count()).select_from(AlertNotification).where(
        AlertNotification.channel_id == channel.id, AlertNotification.status == "sent")
    last_minute = AlertNotification.created_at > now - timedelta(minutes=1)
    minute = db.session.scalar(sent.where(last_minute))
    if minute >= int(cfg["ALERT_NOTIFY_MAX_PER_MINUTE"]):
        return f"channel sent {minute} messages in the last minute"
    if event == "escalated":
        return None
    window = now - timedelta(seconds=float(cfg["ALERT_NOTIFY_THROTTLE_S"]))
    repeats = db.session.scalar(
        sent.join(Alert, Alert.id == AlertNotification.alert_id)
        .where(AlertNotification.event == event, AlertNotification.created_at > window,
               Alert.rule == alert.rule, Alert.subject == alert.subject))
    if repeats:
        return f"the same {event} event of {alert.rule} for {alert.subject} was sent recently"
    return None


class Notifier:
    """Delivers notifications on one background thread, in the order they were submitted."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._pool: ThreadPoolExecutor | None = None
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, events: Iterable[Any]) -> int:
        """Queue the events that are not silenced; return how many were queued."""
        queued = 0
        for event in events:
            if event.silenced:
                continue
            future = self._executor().submit(self._run, event.alert_id, event.event)
            with self._lock:
                self._futures.add(future)
            future.add_done_callback(self._forget)
            queued += 1
        return queued

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far was delivered; False on timeout."""
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

    def _run(self, alert_id: int, event: str) -> None:
        with self.app.app_context():
            try:
                deliver(self.app, alert_id, event)
            except Exception:
                logger.exception("delivering notifications of alert %s failed", alert_id)
