"""A per-connection circuit breaker: closed, open, half-open."""
from __future__ import annotations

import logging
import threading

from atom.integrations.clock import Clock
from atom.integrations.errors import CircuitOpen

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Open after ``threshold`` consecutive failed calls; after ``reset_timeout`` admit one probe.

    Only retry-exhausted transport errors and 5xx count as failures; 4xx answers and rate
    limits show the service is up and do not.
    """

    def __init__(self, name: str, threshold: int, reset_timeout: float, clock: Clock) -> None:
        self.name = name
        self.threshold = max(1, int(threshold))
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == OPEN and self._cooled_down():
                return HALF_OPEN
            return self._state

    def snapshot(self) -> dict:
        """``{"state", "failures", "retry_in_s"}`` now, for a caller choosing a route."""
        state = self.state
        with self._lock:
            retry_in = (max(0.0, self._opened_at + self.reset_timeout - self._clock.monotonic())
                        if state == OPEN else 0.0)
            return {"state": state, "failures": self._failures, "retry_in_s": round(retry_in, 3)}

    def before_call(self) -> None:
        """Admit a call or raise :class:`CircuitOpen` without touching the network."""
        with self._lock:
            if self._state == CLOSED:
                return
            if self._state == OPEN and self._cooled_down():
                self._state = HALF_OPEN
            if self._state == HALF_OPEN and not self._probing:
                self._probing = True
                return
            retry_in = max(0.0, self._opened_at + self.reset_timeout - self._clock.monotonic())
            raise CircuitOpen(
                f"circuit open for {self.name} after {self._failures} failures",
                retry_after=retry_in,
            )

    def success(self) -> None:
        with self._lock:
            if self._state != CLOSED:
                logger.info("circuit %s closed", self.name)
            self._state, self._failures, self._probing = CLOSED, 0, False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.threshold:
                if self._state != OPEN:
                    logger.warning("circuit %s opened after %d failures", self.name, self._failures)
                self._state, self._opened_at, self._probing = OPEN, self._clock.monotonic(), False

    def neutral(self) -> None:
        """A call ended without telling us about the service's health (e.g. a 4xx)."""
        with self._lock:
            if self._state == HALF_OPEN:
                self._state, self._failures, self._probing = CLOSED, 0, False

    def _cooled_down(self) -> bool:
        return self._clock.monotonic() - self._opened_at >= self.reset_timeout
