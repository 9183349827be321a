"""Maintenance windows: while one is active, its connection opens, escalates and notifies
nothing, and what it records in the meantime does not count against its metrics."""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Iterable

from atom.extensions import db
from atom.models import Connection
from atom.models import MaintenanceWindow
from atom.models.audit import record
from atom.models.base import isoformat

Span = tuple[datetime, datetime]


def spans(connection_ids: Iterable[int], since: datetime, until: datetime) -> dict[int, list[Span]]:
    """The windows of each connection that overlap ``[since, until]``."""
    ids = list(connection_ids)
    out: dict[int, list[Span]] = defaultdict(list)
    if not ids:
        return out
    rows = db.session.execute(
        db.select(MaintenanceWindow.connection_id, MaintenanceWindow.starts_at,
                  MaintenanceWindow.ends_at)
        .where(MaintenanceWindow.connection_id.in_(ids),
               MaintenanceWindow.starts_at <= until, MaintenanceWindow.ends_at > since)
    )
    for conn_id, starts, ends in rows:
        out[conn_id].append((starts, ends))
    return out


def active_ids(now: datetime) -> set[int]:
    """Connections in maintenance at ``now``."""
    return set(db.session.scalars(
        db.select(MaintenanceWindow.connection_id)
        .where(MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now)
    ))


def covered(ts: datetime, windows: list[Span]) -> bool:
    return any(start <= ts < end for start, end in windows)


def create(connection_id: int, starts_at: datetime, ends_at: datetime, reason: str,
           actor: str) -> MaintenanceWindow:
    window = MaintenanceWindow(connection_id=connection_id, starts_at=starts_at, ends_at=ends_at,
                               reason=reason, created_by=actor)
    db.session.add(window)
    db.session.flush()
    record(actor, "maintenance.create", f"connection:{connection_id}", window=window.id,
           starts_at=isoformat(starts_at), ends_at=isoformat(ends_at))
    db.session.commit()
    return window


class MaintenanceError(ValueError):
    """A window that cannot be created; ``errors`` names each bad field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid input: {field}")
        self.errors = {field: [reason]}


MAX_LENGTH = timedelta(days=366)


def schedule(data: dict[str, Any], now: datetime, actor: str) -> MaintenanceWindow:
    """Create a window from the API's loaded ``MaintenanceCreate`` data (aware datetimes;
    ``starts_at`` defaults to ``now``), as the API and the dashboard do.

    :raises MaintenanceError: no such connection, an end not after the start, or longer
        than a year.
    """
    if db.session.get(Connection, data["connection_id"]) is None:
        raise MaintenanceError("connection_id", f"no connection {data['connection_id']}")
    starts = _naive_utc(data.get("starts_at")) or now
    ends = _naive_utc(data["ends_at"])
    if ends <= starts:
        raise MaintenanceError("ends_at", "must be after starts_at")
    if ends - starts > MAX_LENGTH:
        raise MaintenanceError("ends_at", "at most a year long")
    return create(data["connection_id"], starts, ends, data.get("reason", ""), actor)


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def delete(window: MaintenanceWindow, actor: str) -> None:
    record(actor, "maintenance.delete", f"connection:{window.connection_id}", window=window.id)
    db.session.delete(window)
    db.session.commit()


def present(window: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    return {
        "id": window.id,
        "connection_id": window.connection_id,
        "starts_at": isoformat(window.starts_at),
        "ends_at": isoformat(window.ends_at),
        "reason": window.reason,
        "active": window.starts_at <= now < window.ends_at,
        "created_by": window.created_by,
        "created_at": isoformat(window.created_at),
    }
