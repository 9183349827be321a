"""Per-call metrics: recorded in memory on the hot path, written to the database in batches."""
from __future__ import annotations

import atexit
import logging
import threading
from collections import deque
from dataclasses import dataclass
from dataclasses import fields
from datetime import datetime
from operator import attrgetter
from typing import Callable

from flask import Flask

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class CallStat:
    ts: datetime
    integration: str
    connection_id: int | None
    operation: str
    status: int | None
    ok: bool
    latency_ms: float
    attempts: int
    error_class: str | None


MAX_BUFFERED = 200_000
_FIELDS = tuple(f.name for f in fields(CallStat))
_values = attrgetter(*_FIELDS)


class MetricsRecorder:
    """Collects :class:`CallStat` in a deque; a background thread flushes it in batches.

    ``record`` is a lock-free ``deque.append`` so recording never slows a call. Listeners
    (Prometheus counters, live health) are called synchronously and must be cheap.
    """

    def __init__(self, app: Flask, batch: int = 500, interval: float = 2.0) -> None:
        self._app = app
        self._batch = batch
        self._interval = interval
        self._buffer: deque[CallStat] = deque(maxlen=MAX_BUFFERED)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.listeners: list[Callable[[CallStat], None]] = []

    def record(self, stat: CallStat) -> None:
        self._buffer.append(stat)
        for listener in self.listeners:
            listener(stat)
        if self._thread is None:
            self._start()
        if len(self._buffer) >= self._batch:
            self._wake.set()

    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Write everything buffered so far; return the number of rows written."""
        from atom.extensions import db
        from atom.models import CallRecord

        with self._flush_lock:
            stats = []
            while self._buffer and len(stats) < 50_000:
                stats.append(self._buffer.popleft())
            if not stats:
                return 0
            # Not dataclasses.asdict: it deep-copies, and this runs under the GIL of the
            # threads making calls.
            rows = [dict(zip(_FIELDS, _values(stat))) for stat in stats]
            try:
                with self._app.app_context():
                    db.session.execute(CallRecord.__table__.insert(), rows)
                    db.session.commit()
            except Exception:
                # Keep the batch for the next flush (the deque's bound caps memory if the
                # database stays away: the oldest records go first).
                self._buffer.extendleft(reversed(stats))
                raise
            return len(rows)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:  # the database may already be gone at interpreter exit
            logger.exception("could not flush call metrics at shutdown")

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="atom-metrics", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                while self.flush():
                    pass
            except Exception:
                logger.exception("flushing call metrics failed; will retry")
