"""The per-app monitoring state, and the two hooks that feed it.

:func:`init_monitoring` is called by the app factory. It starts no thread and touches no
database: it builds the app's Prometheus registry and subscribes to the two places outcomes
are recorded, ``MetricsRecorder`` (every API call) and ``ConnectionRuntime.test`` (every health
check), which then write a :class:`HealthSample` in the same transaction as the check.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any
from typing import Callable

from flask import Flask
from flask import current_app

from atom.extensions import db
from atom.integrations.metrics import CallStat
from atom.integrations.runtime import TestResult
from atom.models import Connection
from atom.models import HealthSample
from atom.models.base import utcnow
from atom.monitoring.detectors import DetectorBank
from atom.monitoring.notify import Notifier
from atom.monitoring.prometheus import PrometheusMetrics

logger = logging.getLogger(__name__)

EXTENSION = "atom.monitoring"
# A call that ended this long before the check's measured start still counts as the check's.
_CALL_SLACK_S = 0.005


class Monitor:
    """Monitoring state of one app in one process.

    :ivar clock: returns the current naive-UTC time; tests replace it to let time pass.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.clock: Callable[[], datetime] = utcnow
        self.prometheus = PrometheusMetrics(app)
        self.notifier = Notifier(app)
        self.detectors = DetectorBank(app.config.get("ANOMALY_PARAMS") or {},
                                      float(app.config["ANOMALY_MIN_INCREASE_MS"]),
                                      float(app.config["ANOMALY_MIN_INCREASE_RATIO"]))
        # One round at a time in this process (the scheduler and "run now" may overlap).
        self.round_lock = threading.Lock()
        self.last_round: dict[str, Any] | None = None
        self._last_call: dict[int, float] = {}

    def now(self) -> datetime:
        return self.clock()

    def on_call(self, stat: CallStat) -> None:
        """``MetricsRecorder`` listener: count the call for Prometheus (cheap, synchronous)."""
        if stat.connection_id is not None:
            self._last_call[stat.connection_id] = time.perf_counter()
        self.prometheus.observe_call(stat)

    def on_test(self, conn: Connection, result: TestResult) -> None:
        """``ConnectionRuntime.test`` listener: add the health sample to the check's transaction."""
        started = time.perf_counter() - result.latency_ms / 1000.0 - _CALL_SLACK_S
        has_call = self._last_call.get(conn.id, float("-inf")) >= started
        db.session.add(HealthSample(
            ts=self.now(), connection_id=conn.id, integration=conn.integration, ok=result.ok,
            latency_ms=result.latency_ms, error_class=result.error_class, has_call=has_call,
        ))
        self.prometheus.observe_check(conn.integration, result.ok, result.latency_ms)


def init_monitoring(app: Flask) -> Monitor:
    """Attach a :class:`Monitor` to ``app`` and subscribe it to calls and health checks."""
    from atom.state import get_state

    monitor = Monitor(app)
    state = get_state(app)
    state.recorder.listeners.append(monitor.on_call)
    state.runtime.test_listeners.append(monitor.on_test)
    app.extensions[EXTENSION] = monitor
    return monitor


def get_monitor(app: Flask | None = None) -> Monitor:
    return (app or current_app).extensions[EXTENSION]
