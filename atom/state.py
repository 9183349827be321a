"""The per-app ATOM state: database, vault, plugins, metrics and live connections."""
from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask import current_app
from sqlalchemy import event

from atom.extensions import csrf
from atom.extensions import db
from atom.extensions import migrate
from atom.integrations.metrics import MetricsRecorder
from atom.integrations.outbound import OutboundPolicy
from atom.integrations.registry import Registry
from atom.integrations.registry import discover
from atom.integrations.runtime import ConnectionRuntime
from atom.integrations.vault import Vault
from atom.integrations.vault import init_vault
from atom.settings import uses_sqlite

logger = logging.getLogger(__name__)

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


@dataclass
class AtomState:
    registry: Registry
    vault: Vault
    recorder: MetricsRecorder
    runtime: ConnectionRuntime
    outbound: OutboundPolicy


def init_app(app: Flask) -> None:
    if uses_sqlite(app.config):
        # A SQLite connection is a file handle that never goes stale: pinging it on every
        # checkout is a wasted statement per request (PostgreSQL's connections keep the ping).
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                                                   "pool_pre_ping": False}
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    csrf.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _create_private(db.engine.url.database)
            event.listen(db.engine, "connect", _sqlite_pragmas)
    registry = discover(
        sources=_explicit_plugins(app.config.get("PLUGINS")),
        enabled=app.config.get("PLUGINS_ENABLED"),
        disabled=app.config.get("PLUGINS_DISABLED") or (),
        strict=bool(app.config.get("PLUGINS_STRICT")),
    )
    vault = init_vault(app)
    outbound = OutboundPolicy.from_config(app.config)
    outbound.announce(app.config["ENV_NAME"])
    recorder = MetricsRecorder(
        app, batch=app.config["METRICS_FLUSH_BATCH"], interval=app.config["METRICS_FLUSH_INTERVAL_S"]
    )
    runtime = ConnectionRuntime(app, registry, vault, recorder, outbound)
    app.extensions["atom"] = AtomState(registry, vault, recorder, runtime, outbound)


def get_state(app: Flask | None = None) -> AtomState:
    return (app or current_app).extensions["atom"]


def _explicit_plugins(value: Any) -> list[tuple[str, Any]] | None:
    """``PLUGINS`` in config: manifests or ``"name=module:MANIFEST"`` strings, not entry points."""
    if value is None:
        return None
    out: list[tuple[str, Any]] = []
    for item in value:
        if isinstance(item, str):
            name, _, path = item.partition("=")
            out.append((name, path))
        else:
            out.append((item.slug, item))
    return out


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"]
    cursor.close()
    if files and files[0]:
        _make_private(files[0])


def _create_private(database: str | None) -> None:
    """Create the SQLite file 0600 before SQLite opens it (SQLite would use the umask, often
    0644). Its -wal and -shm files are created with the database file's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # exists already (tightened on connect), or no folder: SQLite reports that


def _make_private(database: str) -> None:
    """Tighten a database (and its -wal/-shm) that an earlier release left readable by others."""
    for path in (database, database + "-wal", database + "-shm"):
        try:
            info = os.stat(path)
            if info.st_mode & 0o077 and info.st_uid == os.getuid():
                os.chmod(path, 0o600)
                logger.warning("made %s readable by its owner only (it was %o)", path,
                               stat.S_IMODE(info.st_mode))
        except FileNotFoundError:
            continue
        except OSError as exc:
            logger.warning("could not make %s private: %s", path, exc)
