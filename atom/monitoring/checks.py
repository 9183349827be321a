"""A health-check round: every enabled connection checked concurrently, then the alert rules.

Each check runs through ``ConnectionRuntime.test`` (the one place a check is run and
recorded) on a bounded thread pool, after a random start delay of up to ``jitter_s`` so a
round does not hit every service at the same instant, and is cut off after
``HEALTH_CHECK_TIMEOUT_S``. Nothing a check does can stop the round.
"""
from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import Flask

from atom.extensions import db
from atom.integrations.registry import UnknownPlugin
from atom.models import Connection
from atom.models.base import isoformat
from atom.monitoring import alerts
from atom.monitoring.monitor import get_monitor
from atom.state import get_state

logger = logging.getLogger(__name__)


@dataclass
class RoundResult:
    started_at: str
    duration_s: float
    results: list[dict[str, Any]]
    events: list[alerts.Event] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        failed = sum(1 for r in self.results if not r["ok"])
        changes: dict[str, list[int]] = {kind: [] for kind in (*alerts.EVENTS, "suppressed",
                                                                "unsuppressed")}
        for event in self.events:
            changes.setdefault(event.event, []).append(event.alert_id)
        return {
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "checked": len(self.results),
            "failed": failed,
            "results": self.results,
            "alerts": changes,
        }


def run_round(app: Flask, *, jitter_s: float = 0.0, evaluate: bool = True) -> RoundResult:
    """Check every enabled connection now, evaluate the alert rules, queue notifications.

    :param jitter_s: spread the checks' starts over up to this many seconds.
    :param evaluate: also run the alert rules (the ``atom test`` report does not).
    """
    monitor = get_monitor(app)
    with monitor.round_lock:
        started = time.perf_counter()
        with app.app_context():
            started_at = isoformat(monitor.now())
            ids = list(db.session.scalars(db.select(Connection.id)
                                          .where(Connection.enabled.is_(True))
                                          .order_by(Connection.id)))
        results = _check_all(app, ids, jitter_s)
        result = RoundResult(started_at, time.perf_counter() - started, results)
        if evaluate:
            result.events = _evaluate(app)
            result.duration_s = time.perf_counter() - started
        summary = result.to_dict()
        summary.pop("results")
        monitor.last_round = summary
    logger.info("health round: %s connections, %s failed, %.2f s", len(results),
                sum(1 for r in results if not r["ok"]), result.duration_s)
    return result


def check_one(app: Flask, conn_id: int, jitter_s: float = 0.0) -> dict[str, Any] | None:
    """Run one connection's health check in a fresh app context; None if it is gone."""
    if jitter_s > 0:
        time.sleep(random.uniform(0, jitter_s))
    with app.app_context():
        try:
            conn = db.session.get(Connection, conn_id)
            if conn is None or not conn.enabled:
                return None
            # Return the database connection to the pool while the check waits on the network;
            # the loaded (detached, then re-added) row needs no query until test() commits.
            db.session.close()
            db.session.add(conn)
            result = get_state(app).runtime.test(conn, timeout=_timeout(app))
            return {"connection_id": conn.id, "integration": conn.integration,
                    "label": conn.label, **result.to_dict()}
        except UnknownPlugin as exc:  # its plugin was disabled or removed: nothing to check
            return {"connection_id": conn_id, "integration": exc.slug, "label": None,
                    "ok": False, "latency_ms": 0.0, "error_class": "unavailable",
                    "message": str(exc)}
        except Exception as exc:  # the database, not the plugin: keep the round going
            logger.exception("health check of connection %s could not run", conn_id)
            db.session.rollback()
            return {"connection_id": conn_id, "integration": None, "label": None, "ok": False,
                    "latency_ms": 0.0, "error_class": "internal",
                    "message": f"the check could not run: {type(exc).__name__}"}


def _check_all(app: Flask, ids: list[int], jitter_s: float) -> list[dict[str, Any]]:
    if not ids:
        return []
    workers = max(1, min(len(ids), int(app.config["HEALTH_CHECK_CONCURRENCY"])))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="atom-check") as pool:
        outcomes = list(pool.map(lambda cid: check_one(app, cid, jitter_s), ids))
    return [outcome for outcome in outcomes if outcome is not None]


def _evaluate(app: Flask) -> list[alerts.Event]:
    """Run the alert rules on fresh metrics and queue the notifications (never raises)."""
    monitor = get_monitor(app)
    try:
        with app.app_context():
            events = monitor.evaluate_now()
            monitor.assign_incidents()  # every active alert in its incident
        # Delivery reads the incidents, not the events: look for messages due now.
        monitor.notifier.nudge()
        return events
    except Exception:
        logger.exception("alert evaluation failed; the next round will try again")
        return []


def _timeout(app: Flask) -> float:
    return float(app.config["HEALTH_CHECK_TIMEOUT_S"])
