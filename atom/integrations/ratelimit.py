"""A token bucket per connection that also obeys what the server says about its limits."""
from __future__ import annotations

import threading

from atom.integrations.clock import Clock
from atom.integrations.errors import RateLimited


class ServerSynced:
    """What a bucket does with the server's own count (``X-RateLimit-Remaining`` and reset):
    an empty quota pauses it until the reset, else it holds at most ``remaining`` tokens."""

    def sync(self, remaining: int | None, reset_in: float | None) -> None:
        """Re-sync from the server: ``remaining`` calls left; the window resets in ``reset_in`` s."""
        if remaining is None:
            return
        if remaining <= 0 and reset_in and reset_in > 0:
            self.pause(reset_in)
            return
        self.hold_at_most(float(remaining))

    def pause(self, seconds: float) -> None:
        raise NotImplementedError

    def hold_at_most(self, tokens: float) -> None:
        raise NotImplementedError


class TokenBucket(ServerSynced):
    """``rate`` tokens per second up to ``burst``; ``acquire`` waits for one.

    Tokens accrue from ``_updated``, which lies in the future while the server has told us to
    pause; a caller then waits until the pause ends.
    """

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock.monotonic()
        self._lock = threading.Lock()

    def acquire(self, max_wait: float) -> float:
        """Take a token, sleeping as needed; return the seconds waited.

        :raises RateLimited: when the wait would exceed ``max_wait`` (no token is taken).
        """
        with self._lock:
            now = self._clock.monotonic()
            if now > self._updated:
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
            self._tokens -= 1
            if self._tokens >= 0:
                return 0.0
            wait = (self._updated - now) + (-self._tokens) / self.rate
            if wait > max_wait:
                self._tokens += 1
                raise RateLimited(
                    f"rate limit: next request allowed in {wait:.1f}s", retry_after=wait
                )
        self._clock.sleep(wait)
        return wait

    def hold_at_most(self, tokens: float) -> None:
        with self._lock:
            self._tokens = min(self._tokens, tokens)

    def pause(self, seconds: float) -> None:
        """Give out no token for ``seconds`` (a 429 with ``Retry-After``, or an empty quota)."""
        with self._lock:
            resume = self._clock.monotonic() + seconds
            # The first token becomes available exactly at ``resume``.
            start = resume - 1.0 / self.rate
            if start > self._updated or self._tokens > 0:
                self._tokens = 0.0
                self._updated = max(self._updated, start)
