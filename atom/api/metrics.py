"""``/metrics`` (Prometheus), ``/healthz`` (the process is alive) and ``/readyz`` (it can
serve: the database answers and its schema is current)."""
from __future__ import annotations

import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from atom.api.auth import authenticate
from atom.extensions import db
from atom.monitoring.monitor import get_monitor

logger = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)
_HEADS: dict[str, tuple[str, ...]] = {}


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format; needs an API key unless ``METRICS_PUBLIC``."""
    if not current_app.config.get("METRICS_PUBLIC"):
        authenticate()
    body = get_monitor().prometheus.render()
    return Response(body, content_type=CONTENT_TYPE_LATEST)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness only: no pid, version or host, which help an attacker and no probe needs."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    checks = {"database": "ok", "migrations": "ok"}
    try:
        with db.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
        if set(current) != set(_heads()):
            checks["migrations"] = (f"at {','.join(current) or 'none'}, "
                                    f"expected {','.join(_heads())}")
    except Exception as exc:
        logger.warning("readiness: the database does not answer: %s", type(exc).__name__)
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    ready = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ready" if ready else "not_ready", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


def _heads() -> tuple[str, ...]:
    from atom.state import MIGRATIONS

    if MIGRATIONS not in _HEADS:
        _HEADS[MIGRATIONS] = tuple(ScriptDirectory(MIGRATIONS).get_heads())
    return _HEADS[MIGRATIONS]
