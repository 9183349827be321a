"""Live anomaly detection: one :class:`StreamingDetector` per connection and series.

Two series per connection: the latency of each health check, and the number of failed
observations per evaluation (failed API calls plus checks that never reached the client).
Detectors are fed from the database, after each round, with the samples they have not seen;
on first use a connection's detector learns its stored history first, so a restarted process
does not start from scratch. Decisions stay causal: a sample is scored against earlier ones.

Warm-up is time-based here: every sample goes in with its time (a check's ``ts``, an
evaluation's monitor time), and a detector may flag once it has learnt an hour of samples
(:data:`LIVE_DEFAULTS`, ``warmup_s``) or its sample warm-up, whichever comes first; with checks
every 60 s that is 60 samples. ``ANOMALY_PARAMS`` overrides any of these.

A latency flag must also matter to a person: the check is slower than the median of the
connection's recent checks by at least ``ANOMALY_MIN_INCREASE_MS`` and by a factor of at least
``ANOMALY_MIN_INCREASE_RATIO`` (see :class:`LatencyWatch`). The detector judges how unusual a
value is; this judges whether it is worth an alert (noise on a steady service, or a faster
answer, never is).
"""
from __future__ import annotations

import math
import statistics
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import Iterable
from typing import Mapping

from atom.extensions import db
from atom.models import CallRecord
from atom.models import HealthSample
from atom.monitoring.anomaly import StreamingDetector

# Enough history to fill the default detector's buffers.
_PRIME_LIMIT = 5000
#: Live detectors start flagging after an hour of samples, however often checks run.
LIVE_DEFAULTS: dict[str, Any] = {"warmup_s": 3600.0}
#: The recent checks a latency is compared with (:func:`significant`).
RECENT = 60


class LatencyWatch:
    """One connection's latency detector, its flags kept to the ones that matter: a check
    slower than the median of the last :data:`RECENT` checks by ``min_increase_ms`` and by a
    factor of ``min_ratio``. The detector's hold (one flag per incident) counts only such
    checks, so an unusual but harmless value does not hide a slowdown that follows it."""

    def __init__(self, params: Mapping[str, Any], min_increase_ms: float = 0.0,
                 min_ratio: float = 1.0) -> None:
        self.detector = StreamingDetector(**params)
        self.min_increase_ms, self.min_ratio = min_increase_ms, min_ratio
        self.recent: deque[float] = deque(maxlen=RECENT)
        self._quiet = math.inf

    def learn(self, latency: float, ts: datetime | None) -> None:
        self.observe(latency, ts)

    def observe(self, latency: float, ts: datetime | None) -> tuple[float, bool]:
        score = self.detector.update(latency, ts)
        self._quiet += 1
        high = self.detector.is_anomaly(score) and self._matters(latency)
        self.recent.append(latency)
        if not high:
            return score, False
        flagged, self._quiet = self._quiet > self.detector.hold, 0
        return score, flagged

    def _matters(self, latency: float) -> bool:
        if not self.recent:
            return True
        median = statistics.median(self.recent)
        return latency - median >= self.min_increase_ms and latency >= median * self.min_ratio


@dataclass
class Anomaly:
    """The most unusual new point of a connection in one evaluation."""

    score: float
    flagged: bool
    series: str
    value: float | None


class DetectorBank:
    """The detectors of this process, keyed by connection id."""

    def __init__(self, params: Mapping[str, Any], min_increase_ms: float = 0.0,
                 min_increase_ratio: float = 1.0) -> None:
        self.params = {**LIVE_DEFAULTS, **params}
        self.min_increase_ms, self.min_increase_ratio = min_increase_ms, min_increase_ratio
        self._latency: dict[int, LatencyWatch] = {}
        self._errors: dict[int, StreamingDetector] = {}
        self._sample_mark: dict[int, int] = {}
        self._call_mark: int | None = None
        self._lock = threading.Lock()

    @property
    def threshold(self) -> float:
        return StreamingDetector(**self.params).threshold

    def evaluate(self, connection_ids: Iterable[int], now: datetime) -> dict[int, Anomaly]:
        """Feed every detector its new points; return each connection's worst new point.

        :param now: the evaluation's time (the failure counts' timestamp).
        """
        with self._lock:
            ids = list(connection_ids)
            failed_calls = self._failed_calls(ids)
            out: dict[int, Anomaly] = {}
            for conn_id in ids:
                latency, callless_failures = self._feed_latency(conn_id)
                errors = None
                if failed_calls is not None:
                    count = failed_calls.get(conn_id, 0) + callless_failures
                    errors = self._feed_errors(conn_id, count, now)
                found = [a for a in (latency, errors) if a is not None]
                if found:
                    out[conn_id] = max(found, key=lambda a: (a.flagged, a.score))
            return out

    def _detector(self, bank: dict[int, StreamingDetector], conn_id: int) -> StreamingDetector:
        if conn_id not in bank:
            bank[conn_id] = StreamingDetector(**self.params)
        return bank[conn_id]

    def _feed_latency(self, conn_id: int) -> tuple[Anomaly | None, int]:
        watch = self._latency.get(conn_id)
        if watch is None:
            watch = self._latency[conn_id] = LatencyWatch(self.params, self.min_increase_ms,
                                                          self.min_increase_ratio)
        if conn_id not in self._sample_mark:
            self._prime(watch, conn_id)
        rows = db.session.execute(
            db.select(HealthSample.id, HealthSample.ts, HealthSample.latency_ms, HealthSample.ok,
                      HealthSample.has_call)
            .where(HealthSample.connection_id == conn_id,
                   HealthSample.id > self._sample_mark[conn_id])
            .order_by(HealthSample.id)
        ).all()
        worst: Anomaly | None = None
        callless_failures = 0
        for sample_id, ts, latency, ok, has_call in rows:
            score, flagged = watch.observe(latency, ts)
            if worst is None or (flagged, score) > (worst.flagged, worst.score):
                worst = Anomaly(score, flagged, "latency", latency)
            callless_failures += (not ok) and (not has_call)
            self._sample_mark[conn_id] = sample_id
        return worst, callless_failures

    def _prime(self, watch: LatencyWatch, conn_id: int) -> None:
        """Learn the stored history, all but the newest sample (that one is scored)."""
        rows = db.session.execute(
            db.select(HealthSample.id, HealthSample.ts, HealthSample.latency_ms)
            .where(HealthSample.connection_id == conn_id)
            .order_by(HealthSample.id.desc()).limit(_PRIME_LIMIT)
        ).all()
        rows.reverse()
        for _sample_id, ts, latency in rows[:-1]:
            watch.learn(latency, ts)
        self._sample_mark[conn_id] = rows[-2][0] if len(rows) > 1 else 0

    def _feed_errors(self, conn_id: int, count: int, now: datetime) -> Anomaly:
        score, flagged = self._detector(self._errors, conn_id).observe(float(count), now)
        return Anomaly(score, flagged, "errors", float(count))

    def _failed_calls(self, ids: list[int]) -> dict[int, int] | None:
        """Failed calls per connection since the last evaluation (``None`` the first time)."""
        top = db.session.scalar(db.select(db.func.max(CallRecord.id))) or 0
        mark, self._call_mark = self._call_mark, top
        if mark is None or not ids:
            return None
        rows = db.session.execute(
            db.select(CallRecord.connection_id, db.func.count())
            .where(CallRecord.id > mark, CallRecord.id <= top, CallRecord.ok.is_(False),
                   CallRecord.connection_id.in_(ids))
            .group_by(CallRecord.connection_id)
        )
        return {conn_id: count for conn_id, count in rows}
