"""The public status page: the connections an admin chose, under their public names, with a
status word, uptime over 24 h / 7 d / 30 d, 30 days of daily uptime and an overall banner.

Nothing else leaves: not the connection's label, id, host, integration or error messages.
Off unless ``STATUS_PAGE_ENABLED``. The public answer is computed at most once per
``STATUS_PAGE_CACHE_S`` seconds per process (a change of items clears this process's copy).

Public words, from the status the dashboard shows (:func:`uptime.connection_status`):
``operational`` (healthy), ``degraded`` (degraded or unhealthy: answering, but slowly or with
errors), ``down`` (failing its checks), ``unknown`` (no data, disabled, in maintenance, or its
credential refused). The banner is the worst known word; ``unknown`` items do not hide the
others, and the page is ``unknown`` only when no item is known (or there is none).
"""
from __future__ import annotations

import time
from typing import Any
from typing import Iterable

from flask import Flask

from atom.extensions import db
from atom.models import Connection
from atom.models import StatusPageItem
from atom.models import audit
from atom.models.base import isoformat
from atom.monitoring import uptime
from atom.monitoring.monitor import get_monitor

PUBLIC_STATUSES = ("operational", "degraded", "down", "unknown")
_PUBLIC = {"healthy": "operational", "degraded": "degraded", "unhealthy": "degraded",
           "down": "down"}
_ORDER = {"down": 0, "degraded": 1, "operational": 2}
BANNERS = {"operational": "All systems operational", "degraded": "Some systems are degraded",
           "down": "Some systems are down", "unknown": "Status unknown"}
MAX_ITEMS = 100
_CACHE = "atom_status_page"


class StatusPageError(ValueError):
    """The items are refused; ``errors`` names the fields (``{"items": {i: {field: [..]}}}``)."""

    def __init__(self, message: str, errors: dict[str, Any]) -> None:
        super().__init__(message)
        self.errors = errors


def enabled(app: Flask) -> bool:
    value = app.config.get("STATUS_PAGE_ENABLED", False)
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def title(app: Flask) -> str:
    return str(app.config.get("STATUS_PAGE_TITLE") or "Service status")


def _rows() -> list[tuple[StatusPageItem, Connection]]:
    return list(db.session.execute(
        db.select(StatusPageItem, Connection)
        .join(Connection, Connection.id == StatusPageItem.connection_id)
        .order_by(StatusPageItem.position, StatusPageItem.id)).all())


def present_config(app: Flask) -> dict[str, Any]:
    """The configuration as admins see it (with each connection's label and integration)."""
    return {"enabled": enabled(app), "title": title(app),
            "items": [{"connection_id": item.connection_id, "name": item.name,
                       "position": item.position, "label": conn.label,
                       "integration": conn.integration}
                      for item, conn in _rows()]}


def replace(app: Flask, items: Iterable[dict[str, Any]], actor: str) -> dict[str, Any]:
    """Make ``items`` (``connection_id``, ``name``; in order) the page's items, audited.

    :raises StatusPageError: an unknown or repeated connection, or a blank name.
    """
    items = list(items)
    errors: dict[int, dict[str, list[str]]] = {}
    ids = [item["connection_id"] for item in items]
    known = set(db.session.scalars(db.select(Connection.id).where(Connection.id.in_(ids))))
    seen: set[int] = set()
    for i, item in enumerate(items):
        if item["connection_id"] not in known:
            errors.setdefault(i, {})["connection_id"] = [f"no connection {item['connection_id']}"]
        elif item["connection_id"] in seen:
            errors.setdefault(i, {})["connection_id"] = ["listed twice"]
        seen.add(item["connection_id"])
        if not item["name"].strip():
            errors.setdefault(i, {})["name"] = ["a public name is required"]
    if errors:
        first = next(iter(errors.values()))
        raise StatusPageError(f"status page items refused: {next(iter(first.values()))[0]}",
                              {"items": errors})
    db.session.execute(db.delete(StatusPageItem))
    now = get_monitor(app).now()
    for position, item in enumerate(items):
        db.session.add(StatusPageItem(connection_id=item["connection_id"],
                                      name=item["name"].strip(), position=position,
                                      updated_at=now, updated_by=actor))
    audit.record(actor, "status_page.updated", "status_page", connection_ids=ids)
    db.session.commit()
    app.extensions.pop(_CACHE, None)
    return present_config(app)


def public_status(app: Flask) -> dict[str, Any]:
    """What ``/status`` and ``/status.json`` show (cached for ``STATUS_PAGE_CACHE_S``)."""
    ttl = float(app.config.get("STATUS_PAGE_CACHE_S") or 0)
    cached = app.extensions.get(_CACHE)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    body = _compute(app)
    if ttl > 0:
        app.extensions[_CACHE] = (time.monotonic() + ttl, body)
    return body


def _compute(app: Flask) -> dict[str, Any]:
    rows = _rows()
    snap = get_monitor(app).snapshot()
    ids = [conn.id for _item, conn in rows]
    ratios = uptime.connection_uptimes(ids, snap.now)
    days = uptime.daily_uptimes(ids, snap.now)
    shown = []
    for item, conn in rows:
        word = uptime.connection_status(conn.enabled, conn.status, snap.connections.get(conn.id),
                                        snap.thresholds, conn.last_test_ok)
        shown.append({"name": item.name, "status": _PUBLIC.get(word, "unknown"),
                      "uptime": ratios[conn.id],
                      "days": [{"date": d, "uptime": r} for d, r in days[conn.id]]})
    overall = overall_status([s["status"] for s in shown])
    return {"title": title(app), "status": overall, "banner": BANNERS[overall],
            "items": shown, "generated_at": isoformat(snap.now)}


def overall_status(words: Iterable[str]) -> str:
    known = [w for w in words if w in _ORDER]
    return min(known, key=_ORDER.__getitem__) if known else "unknown"
