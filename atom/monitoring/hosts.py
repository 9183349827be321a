"""The upstream host of each connection: what alerts are grouped by and what connections
sharing a host depend on (``api.slack.com``, ``acme.atlassian.net``, ``127.0.0.1:8080``)."""
from __future__ import annotations

import logging
import threading
from typing import Iterable
from urllib.parse import urlsplit

from atom.extensions import db
from atom.models import Connection

logger = logging.getLogger(__name__)

# (database, connection id, revision) -> host: a connection's host changes only with its
# settings (the database, because ids repeat across databases: the tests' apps, one process).
_CACHE: dict[tuple[str, int, int], str | None] = {}
_LOCK = threading.Lock()
_CACHE_MAX = 50_000


def host_of(url: str | None) -> str | None:
    """``host[:port]`` of a URL, lower-cased (None for an empty or relative one)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if not parts.hostname:
        return None
    return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname


def connection_host(conn: Connection) -> str | None:
    """The host ``conn`` sends its requests to (its effective base URL's)."""
    from atom.state import get_state

    key = (str(db.engine.url), conn.id, conn.revision)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    runtime = get_state().runtime
    try:
        # Settings alone give most base URLs; one that needs the credentials (an instance URL
        # from the token answer) comes from the live integration.
        host = host_of(runtime.destination(conn.integration, conn.settings or {}, {})
                       .split(" ", 1)[0])
        if host is None:
            host = host_of(runtime.integration(conn).base_url())
    except Exception:  # an uninstalled plugin or unreadable credentials: no host
        logger.debug("no host for connection %s", conn.id, exc_info=True)
        host = None
    with _LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = host
    return host


def connection_hosts(connection_ids: Iterable[int] | None = None) -> dict[int, str | None]:
    """The host of each connection (every connection when ``connection_ids`` is None).

    Reads only ids and revisions for the connections already known (every evaluation asks for
    all of them); the settings of the others are loaded once."""
    stmt = db.select(Connection.id, Connection.revision).order_by(Connection.id)
    if connection_ids is not None:
        stmt = stmt.where(Connection.id.in_(list(connection_ids)))
    rows = db.session.execute(stmt).all()
    database = str(db.engine.url)
    found: dict[int, str | None] = {}
    with _LOCK:
        for row in rows:
            key = (database, row.id, row.revision)
            if key in _CACHE:
                found[row.id] = _CACHE[key]
    missing = [row.id for row in rows if row.id not in found]
    for start in range(0, len(missing), 500):
        for conn in db.session.scalars(db.select(Connection).where(
                Connection.id.in_(missing[start:start + 500]))):
            found[conn.id] = connection_host(conn)
    return {row.id: found.get(row.id) for row in rows}
