"""``/metrics``: Prometheus metrics in a registry of the app's own.

API calls and health checks are counted (and their durations put in histogram buckets) in the
process that made them, by :class:`Tally`: a lock and a few list updates, because it runs on
every call's path (prometheus-client's own ``Counter`` plus ``Histogram`` cost several times
more per call). Health scores, statuses, success rates and open alerts are read from the
database at scrape time, so every gunicorn worker answers the same for those.

Under gunicorn with several workers each process would count only its own calls, and a scrape
would see whichever worker answered. With ``PROMETHEUS_MULTIPROC_DIR`` set (config/gunicorn.conf.py
sets it from ``ATOM_PROMETHEUS_MULTIPROC_DIR``, empties it at start and marks dead workers with
``mark_process_dead``), the counts go to prometheus-client's ``Counter`` and ``Histogram`` instead,
whose values every process writes to files in that folder, and ``/metrics`` sums every process's
files (``MultiProcessCollector``), so any worker answers with the deployment's totals. The
database-backed gauges stay as they are: read at scrape time, one answer for every process.
"""
from __future__ import annotations

import bisect
import logging
import os
import threading
from datetime import datetime
from typing import Any
from typing import Callable
from typing import Iterator

from flask import Flask
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from atom.integrations.metrics import CallStat

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Tally(Collector):
    """A counter and a duration histogram with the same two labels, the second of which the
    histogram leaves out (``atom_api_calls_total{integration,status}`` and
    ``atom_api_call_duration_seconds{integration}``)."""

    def __init__(self, counter: str, counter_help: str, histogram: str, histogram_help: str,
                 labels: tuple[str, str]) -> None:
        self.counter, self.counter_help = counter, counter_help
        self.histogram, self.histogram_help = histogram, histogram_help
        self.labels = labels
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        # Per first label: one count per bucket (the last is +Inf), then the sum of seconds.
        self._hist: dict[str, list[float]] = {}

    def add(self, first: str, second: str, seconds: float) -> None:
        index = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        with self._lock:
            key = (first, second)
            self._counts[key] = self._counts.get(key, 0) + 1
            hist = self._hist.get(first)
            if hist is None:
                hist = self._hist[first] = [0.0] * (len(LATENCY_BUCKETS) + 2)
            hist[index] += 1
            hist[-1] += seconds

    def collect(self) -> Iterator[Any]:
        with self._lock:
            counts = dict(self._counts)
            hists = {k: list(v) for k, v in self._hist.items()}
        counter = CounterMetricFamily(self.counter, self.counter_help, labels=list(self.labels))
        for labels, count in sorted(counts.items()):
            counter.add_metric(list(labels), count)
        yield counter
        histogram = HistogramMetricFamily(self.histogram, self.histogram_help,
                                          labels=[self.labels[0]])
        bounds = [floatToGoString(b) for b in LATENCY_BUCKETS] + ["+Inf"]
        for first, hist in sorted(hists.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip(bounds, hist[:-1], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            histogram.add_metric([first], buckets, sum_value=hist[-1])
        yield histogram


def multiprocess_dir() -> str | None:
    """The folder of prometheus-client's multiprocess mode, when it is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class SharedTally:
    """:class:`Tally`'s two metrics as prometheus-client's own, in multiprocess mode: each
    process writes its values to files that ``MultiProcessCollector`` sums.

    One pair per process and name (:func:`shared_tally`): a second pair of the same name in a
    process would write over the first one's values in the same file.
    """

    def __init__(self, counter: str, counter_help: str, histogram: str, histogram_help: str,
                 labels: tuple[str, str]) -> None:
        from prometheus_client import Counter
        from prometheus_client import Histogram

        self.counter = Counter(counter, counter_help, list(labels), registry=None)
        self.histogram = Histogram(histogram, histogram_help, [labels[0]],
                                   buckets=LATENCY_BUCKETS, registry=None)

    def add(self, first: str, second: str, seconds: float) -> None:
        self.counter.labels(first, second).inc()
        self.histogram.labels(first).observe(seconds)


_SHARED_TALLIES: dict[str, SharedTally] = {}
_SHARED_LOCK = threading.Lock()


def shared_tally(*args: Any) -> SharedTally:
    with _SHARED_LOCK:
        tally = _SHARED_TALLIES.get(args[0])
        if tally is None:
            tally = _SHARED_TALLIES[args[0]] = SharedTally(*args)
        return tally


class PrometheusMetrics:
    """The app's registry: the call and check tallies and the database-backed collector.

    :param clock: the monitor's clock (the time of each scrape's figures).
    """

    def __init__(self, app: Flask, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        calls = ("atom_api_calls", "API calls made through IntegrationClient",
                 "atom_api_call_duration_seconds", "Duration of API calls (all attempts)",
                 ("integration", "status"))
        checks = ("atom_health_checks", "Health checks run",
                  "atom_health_check_duration_seconds", "Duration of health checks",
                  ("integration", "result"))
        self.multiprocess = multiprocess_dir()
        self.calls: Tally | SharedTally
        self.checks: Tally | SharedTally
        if self.multiprocess:
            from prometheus_client import multiprocess

            self.calls, self.checks = shared_tally(*calls), shared_tally(*checks)
            multiprocess.MultiProcessCollector(self.registry, path=self.multiprocess)
        else:
            self.calls, self.checks = Tally(*calls), Tally(*checks)
            self.registry.register(self.calls)
            self.registry.register(self.checks)
        self.state = StateCollector(app, clock)
        self.registry.register(self.state)

    def observe_call(self, stat: CallStat) -> None:
        status = "ok" if stat.ok else (stat.error_class or "error")
        self.calls.add(stat.integration, status, stat.latency_ms / 1000.0)

    def observe_check(self, integration: str, ok: bool, latency_ms: float) -> None:
        self.checks.add(integration, "ok" if ok else "failed", latency_ms / 1000.0)

    def render(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)


class StateCollector(Collector):
    """Health scores, statuses and open alerts, read from the database at scrape time."""

    def __init__(self, app: Flask, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock

    def collect(self) -> Iterator[Any]:
        from atom.monitoring.alerts import open_counts
        from atom.monitoring.metrics import snapshot
        from atom.monitoring.score import STATUSES

        with self.app.app_context():
            snap = snapshot(self.app, now=self.clock())
            alerts = open_counts()
            uptimes = _uptimes(snap)
        labels = ["integration", "connection_id", "connection"]
        score = GaugeMetricFamily("atom_connection_health_score",
                                  "Health score of a connection (0-100; absent when unknown)",
                                  labels=labels)
        status = GaugeMetricFamily("atom_connection_status",
                                   "1 for the connection's current status",
                                   labels=[*labels, "status"])
        success = GaugeMetricFamily("atom_connection_success_rate",
                                    "Success rate over the monitoring window", labels=labels)
        p95 = GaugeMetricFamily("atom_connection_response_time_p95_seconds",
                                "p95 response time over the monitoring window", labels=labels)
        for m in snap.connections.values():
            values = [m.integration, str(m.connection_id), m.label]
            if m.score is not None:
                score.add_metric(values, m.score)
            for name in STATUSES:
                status.add_metric([*values, name], 1.0 if m.status == name else 0.0)
            if m.success_rate is not None:
                success.add_metric(values, m.success_rate)
            if m.p95_ms is not None:
                p95.add_metric(values, m.p95_ms / 1000.0)
        yield from (score, status, success, p95)
        yield self._flapping(snap)
        yield from self._integrations(snap, STATUSES)
        yield from _uptime_gauges(snap, *uptimes)
        open_alerts = GaugeMetricFamily("atom_alerts_open", "Unresolved alerts by severity",
                                        labels=["severity"])
        for severity, count in alerts.items():
            open_alerts.add_metric([severity], count)
        yield open_alerts

    @staticmethod
    def _flapping(snap: Any) -> GaugeMetricFamily:
        """1 while a connection's checks change state too often (FLAP_MAX_CHANGES in
        FLAP_WINDOW_S): its alerts' notifications are held."""
        gauge = GaugeMetricFamily("atom_connection_flapping",
                                  "1 while the connection is flapping (notifications held)",
                                  labels=["integration", "connection_id", "connection"])
        for m in snap.connections.values():
            gauge.add_metric([m.integration, str(m.connection_id), m.label],
                             1.0 if m.flapping else 0.0)
        return gauge

    @staticmethod
    def _integrations(snap: Any, statuses: tuple[str, ...]) -> Iterator[Any]:
        score = GaugeMetricFamily("atom_integration_health_score",
                                  "Health score of an integration (mean of its connections)",
                                  labels=["integration"])
        status = GaugeMetricFamily("atom_integration_status",
                                   "1 for the integration's current status",
                                   labels=["integration", "status"])
        for name, m in snap.integrations.items():
            if m.score is not None:
                score.add_metric([name], m.score)
            for value in statuses:
                status.add_metric([name, value], 1.0 if m.status == value else 0.0)
        yield score
        yield status


# -- uptime ---------------------------------------------------------------------------------------


def _uptimes(snap: Any) -> tuple[dict, dict]:
    """Uptime of every enabled connection and of each integration (one read; app context)."""
    from atom.monitoring.uptime import grouped_uptimes

    groups: dict[str, list[int]] = {name: [] for name in snap.integrations}
    for m in snap.connections.values():
        groups[m.integration].append(m.connection_id)
    return grouped_uptimes(groups, snap.now)


def _uptime_gauges(snap: Any, per_connection: dict, per_integration: dict) -> Iterator[Any]:
    """``atom_connection_uptime_ratio{connection_id,integration,period}`` and
    ``atom_integration_uptime_ratio{integration,period}``: 0-1, absent for a period without
    checks."""
    connection = GaugeMetricFamily("atom_connection_uptime_ratio",
                                   "Share of passed health checks over the period (0-1)",
                                   labels=["connection_id", "integration", "period"])
    for m in snap.connections.values():
        for period, value in per_connection.get(m.connection_id, {}).items():
            if value is not None:
                connection.add_metric([str(m.connection_id), m.integration, period], value)
    integration = GaugeMetricFamily("atom_integration_uptime_ratio",
                                    "Share of an integration's passed health checks over the "
                                    "period (0-1)", labels=["integration", "period"])
    for name, values in per_integration.items():
        for period, value in values.items():
            if value is not None:
                integration.add_metric([name, period], value)
    yield connection
    yield integration
