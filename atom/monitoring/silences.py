"""Silences: matchers (any of integration, connection_id, host, rule, severity, subject,
workflow_id; every given field must equal the alert's) that keep alerts from being notified
from ``starts_at`` until ``ends_at``, with who set them and why. A silenced alert still opens,
escalates and resolves, and stays in its incident; it only does not count as firing
(:class:`atom.monitoring.incidents.Held`). Beside maintenance windows, which hold a whole
connection."""
from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from atom.extensions import db
from atom.models import Alert
from atom.models import Silence
from atom.models.audit import record
from atom.models.base import isoformat
from atom.monitoring.incidents import silence_matches

MAX_LENGTH = timedelta(days=366)


class SilenceError(ValueError):
    """A silence that cannot be created; ``errors`` names each bad field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid input: {field}")
        self.errors = {field: [reason]}


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def create(data: dict[str, Any], now: datetime, actor: str) -> Silence:
    """A silence from the API's loaded ``SilenceCreate`` data (aware datetimes).

    :raises SilenceError: an end not in the future or not after the start, or over a year.
    """
    starts = _naive_utc(data.get("starts_at")) or now
    ends = _naive_utc(data["ends_at"])
    if ends <= now:
        raise SilenceError("ends_at", "must be in the future")
    if ends <= starts:
        raise SilenceError("ends_at", "must be after starts_at")
    if ends - starts > MAX_LENGTH:
        raise SilenceError("ends_at", "at most a year long")
    silence = Silence(matcher=dict(data["matcher"]), starts_at=starts, ends_at=ends,
                      comment=data["comment"], created_by=actor, created_at=now)
    db.session.add(silence)
    db.session.flush()
    record(actor, "silence.create", f"silence:{silence.id}", matcher=silence.matcher,
           ends_at=isoformat(ends))
    db.session.commit()
    return silence


def expire(silence: Silence, now: datetime, actor: str) -> Silence:
    """End the silence now (a pending one never starts).

    :raises SilenceError: it has ended already.
    """
    if silence.ends_at <= now:
        raise SilenceError("id", f"silence {silence.id} has ended already")
    silence.ends_at, silence.expired_by = now, actor
    if silence.starts_at > now:
        silence.starts_at = now
    record(actor, "silence.expire", f"silence:{silence.id}")
    db.session.commit()
    return silence


def state(silence: Silence, now: datetime) -> str:
    if silence.ends_at <= now:
        return "expired"
    return "active" if silence.starts_at <= now else "pending"


def listing(now: datetime, every: bool = False) -> list[Silence]:
    """Silences that have not ended (``every``: all of them), newest first."""
    stmt = db.select(Silence).order_by(Silence.id.desc())
    if not every:
        stmt = stmt.where(Silence.ends_at > now)
    return list(db.session.scalars(stmt))


def present(silence: Silence, now: datetime, active: list[Alert] | None = None) -> dict[str, Any]:
    """``active``: the active alerts, to count the ones it matches (queried when None)."""
    if active is None:
        active = active_alerts()
    return {
        "id": silence.id,
        "matcher": dict(silence.matcher),
        "starts_at": isoformat(silence.starts_at),
        "ends_at": isoformat(silence.ends_at),
        "state": state(silence, now),
        "comment": silence.comment,
        "created_by": silence.created_by,
        "created_at": isoformat(silence.created_at),
        "expired_by": silence.expired_by,
        "matching": sum(1 for a in active if silence_matches(silence.matcher, a)),
    }


def active_alerts() -> list[Alert]:
    return list(db.session.scalars(db.select(Alert).where(Alert.status != "resolved")))
