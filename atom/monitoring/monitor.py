"""The per-app monitoring state, and the two hooks that feed it.

:func:`init_monitoring` is called by the app factory. It starts no thread and touches no
database: it builds the app's Prometheus registry and subscribes to the two places outcomes
are recorded, ``MetricsRecorder`` (every API call) and ``ConnectionRuntime.test`` (every health
check), which then write a :class:`HealthSample` in the same transaction as the check.

The :class:`Monitor` is the composition root of ``atom.monitoring``: it imports the pieces and
hands them what they need (its clock, its detectors, its notifier, the sources of findings);
none of them imports it back. Rounds, jobs, the API, the dashboard and the CLI reach the
alert rules, the incidents and the deliveries through it (``get_monitor(app)``).
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
from atom.intelligence import workflow_health
from atom.models import Connection
from atom.models import HealthSample
from atom.models.base import utcnow
from atom.monitoring import alerts
from atom.monitoring import incidents
from atom.monitoring import metrics
from atom.monitoring import notify
from atom.monitoring.detectors import DetectorBank
from atom.monitoring.notify import Notifier
from atom.monitoring.prometheus import PrometheusMetrics

logger = logging.getLogger(__name__)

EXTENSION = "atom.monitoring"
# A call that ended this long before the check's measured start still counts as the check's.
_CALL_SLACK_S = 0.005


class Monitor:
    """Monitoring state of one app in one process.

    :ivar clock: returns the current naive-UTC time; tests replace it to let time pass (the
        parts read it through :meth:`now`, so a replaced clock reaches them too).
    :ivar finding_sources: findings judged with the metric rules at every evaluation, beyond
        those of ``atom.monitoring`` itself (``alerts.FindingSource``).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.clock: Callable[[], datetime] = utcnow
        self.prometheus = PrometheusMetrics(app, self.now)
        self.notifier = Notifier(app, self.now)
        self.detectors = DetectorBank(app.config.get("ANOMALY_PARAMS") or {},
                                      float(app.config["ANOMALY_MIN_INCREASE_MS"]),
                                      float(app.config["ANOMALY_MIN_INCREASE_RATIO"]))
        self.finding_sources: list[alerts.FindingSource] = [workflow_health.alert_findings]
        # One round at a time in this process (the scheduler and "run now" may overlap).
        self.round_lock = threading.Lock()
        self.last_round: dict[str, Any] | None = None
        self._last_call: dict[int, float] = {}

    def now(self) -> datetime:
        return self.clock()

    # -- the pieces, put together (an app context is current) ----------------------------------

    def snapshot(self, integration: str | None = None, **options: Any) -> metrics.Snapshot:
        """:func:`metrics.snapshot` now (same options)."""
        return metrics.snapshot(self.app, integration, now=self.now(), **options)

    def evaluate(self, snap: metrics.Snapshot, previous: Any = alerts.UNSET) -> list[alerts.Event]:
        """:func:`alerts.evaluate` of ``snap`` with this monitor's detectors and sources."""
        return alerts.evaluate(self.app, snap, detectors=self.detectors,
                               sources=self.finding_sources, previous=previous)

    def evaluate_now(self) -> list[alerts.Event]:
        """Judge the evidence since the previous evaluation (in any process) and update the
        alerts. Returns nothing when another process evaluated meanwhile (its evaluation
        covers this)."""
        previous = alerts.last_evaluation()
        return self.evaluate(metrics.alert_snapshot(self.app, previous, self.now()),
                             previous=previous)

    def assign_incidents(self) -> None:
        """Every active alert in its incident, now (:func:`incidents.assign`)."""
        incidents.assign(self.app, self.now())

    def alerts_changed(self) -> None:
        """After alerts changed by hand (resolved through the API, dashboard or CLI): bring
        their incidents up to date now, and wake the delivery thread."""
        self.assign_incidents()
        self.notifier.nudge()

    def deliver_due(self) -> int:
        """Send the incident messages due now, on this thread (:func:`notify.deliver_due`)."""
        return notify.deliver_due(self.app, self.now)

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
