"""An injectable clock, so rate limits, backoff and breakers can be tested without sleeping."""
from __future__ import annotations

import time


class Clock:
    """Monotonic time and sleep; tests pass a fake with the same two methods."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


SYSTEM_CLOCK = Clock()
