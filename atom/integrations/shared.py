"""Rate limits and circuit breakers shared by every process of a deployment, in Redis.

With ``REDIS_URL`` set, each connection's token bucket and circuit breaker live in Redis under
``<REDIS_KEY_PREFIX>:rl:<connection id>`` and ``<REDIS_KEY_PREFIX>:cb:<connection id>`` (hashes
with a TTL, so nothing outlives its use), and every change is one Lua script: atomic across all
web and worker processes. Without it the in-process :class:`~atom.integrations.ratelimit.TokenBucket`
and :class:`~atom.integrations.breaker.CircuitBreaker` are used, as before; the Redis classes have
the same methods, so ``IntegrationClient`` does not know which it holds.

When Redis does not answer, each call falls back to an in-process bucket and breaker of the same
connection (at the connection's full rate: N processes may then send up to N times it) and one
warning is logged; Redis is tried again after ``REDIS_RETRY_S``, and an info line says when it
answers again. Calls are neither refused nor left unlimited because of Redis.

Time is the clock's ``time()`` (epoch seconds), the same on every host that keeps NTP time, and
injectable in tests like the rest of the client's time.
"""
from __future__ import annotations

import logging
import threading
from typing import Any
from typing import Callable
from typing import TypeVar

from atom.integrations.breaker import CLOSED
from atom.integrations.breaker import HALF_OPEN
from atom.integrations.breaker import OPEN
from atom.integrations.breaker import CircuitBreaker
from atom.integrations.clock import Clock
from atom.integrations.errors import CircuitOpen
from atom.integrations.errors import RateLimited
from atom.integrations.ratelimit import ServerSynced
from atom.integrations.ratelimit import TokenBucket

logger = logging.getLogger(__name__)

T = TypeVar("T")

# KEYS[1] the bucket; ARGV: rate, burst, now, op, arg, where op is
#   "acquire" (arg: the longest wait accepted) -> {taken 0/1, wait},
#   "sync" (arg: remaining calls) -> {1, 0},
#   "pause" (arg: seconds) -> {1, 0}.
# The same arithmetic as TokenBucket: tokens accrue from ``updated``, which lies in the future
# while the server has told us to pause. The key expires once the bucket would be full again.
_BUCKET = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local op, arg = ARGV[4], tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens, updated = tonumber(state[1]), tonumber(state[2])
if tokens == nil or updated == nil then tokens, updated = burst, now end
local taken, wait = 1, 0
if op == 'acquire' then
  if now > updated then
    tokens = math.min(burst, tokens + (now - updated) * rate)
    updated = now
  end
  tokens = tokens - 1
  if tokens < 0 then
    wait = (updated - now) + (-tokens) / rate
    if wait > arg then
      tokens = tokens + 1
      taken = 0
    end
  end
elseif op == 'sync' then
  tokens = math.min(tokens, arg)
elseif op == 'pause' then
  local start = now + arg - 1.0 / rate
  if start > updated or tokens > 0 then
    tokens = 0
    if start > updated then updated = start end
  end
end
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'u', string.format('%.6f', updated))
local full_in = math.max(0, updated - now) + math.max(0, burst - tokens) / rate
redis.call('PEXPIRE', KEYS[1], math.ceil((full_in + 1) * 1000))
return {taken, string.format('%.6f', wait)}
"""

# KEYS[1] the breaker; ARGV: now, op, threshold, reset_timeout, ttl. Fields: s (state), f
# (consecutive failures), o (opened at), p (a probe is out until). Returns {state before,
# state after, failures, retry_in (before_call: "" when admitted)}.
_BREAKER = """
local now, op = tonumber(ARGV[1]), ARGV[2]
local threshold, reset, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 's', 'f', 'o', 'p')
if not h[1] and (op == 'success' or op == 'neutral') then
  return {'closed', 'closed', 0, ''}  -- closed without failures: nothing to write
end
local state, failures = h[1] or 'closed', tonumber(h[2]) or 0
local opened, probe = tonumber(h[3]) or 0, tonumber(h[4]) or 0
local verdict = ''
if state == 'open' and now - opened >= reset then state = 'half_open' end
local before = state
if op == 'before_call' then
  if state == 'closed' then
    return {before, state, failures, ''}
  end
  if state == 'half_open' and probe <= now then
    -- One probe at a time; a probe whose process died frees the slot after reset_timeout.
    probe = now + reset
  else
    verdict = string.format('%.3f', math.max(0, opened + reset - now))
  end
elseif op == 'success' then
  state, failures, probe = 'closed', 0, 0
elseif op == 'failure' then
  failures = failures + 1
  if state == 'half_open' or failures >= threshold then
    state, opened, probe = 'open', now, 0
  end
elseif op == 'neutral' then
  if state == 'half_open' then state, failures, probe = 'closed', 0, 0 end
elseif op == 'read' then
  return {before, state, failures, string.format('%.3f', math.max(0, opened + reset - now))}
end
if state == 'closed' and failures == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 's', state, 'f', failures, 'o', string.format('%.6f', opened),
             'p', string.format('%.6f', probe))
  redis.call('EXPIRE', KEYS[1], ttl)
end
return {before, state, failures, verdict}
"""


class SharedState:
    """The Redis connection and scripts behind every shared bucket and breaker of a process.

    :param client: a ``redis.Redis`` (tests pass their own, e.g. on another db or a dead port).
    """

    def __init__(self, client: Any, prefix: str = "atom", retry_s: float = 5.0,
                 clock: Clock | None = None) -> None:
        import redis

        self.redis = client
        self.prefix = prefix
        self.retry_s = retry_s
        self._errors = (redis.RedisError, OSError)
        self._bucket = client.register_script(_BUCKET)
        self._breaker = client.register_script(_BREAKER)
        self._clock = clock or Clock()
        self._lock = threading.Lock()
        self._down_until: float | None = None  # monotonic; None while Redis answers

    @classmethod
    def from_url(cls, url: str, prefix: str = "atom", timeout_s: float = 0.5,
                 retry_s: float = 5.0) -> SharedState:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries inside redis-py: a Redis that is down must cost one timeout, then the
        # local fallback, not seconds of backoff on every call.
        client = redis.Redis.from_url(url, socket_timeout=timeout_s,
                                      socket_connect_timeout=timeout_s,
                                      retry=Retry(NoBackoff(), 0))
        return cls(client, prefix, retry_s)

    @property
    def available(self) -> bool:
        """False while the last failure's retry delay runs (calls use the local fallback)."""
        with self._lock:
            return self._down_until is None or self._clock.monotonic() >= self._down_until

    def bucket(self, connection_id: int, rate: float, burst: int, clock: Clock) -> SharedBucket:
        return SharedBucket(self, f"{self.prefix}:rl:{connection_id}", rate, burst, clock)

    def breaker(self, name: str, connection_id: int, threshold: int, reset_timeout: float,
                clock: Clock) -> SharedBreaker:
        return SharedBreaker(self, f"{self.prefix}:cb:{connection_id}", name, threshold,
                             reset_timeout, clock)

    def run(self, remote: Callable[[], T], local: Callable[[], T]) -> T:
        """``remote()`` against Redis, or ``local()`` while Redis does not answer."""
        if not self.available:
            return local()
        try:
            result = remote()
        except self._errors as exc:
            self._went_down(exc)
            return local()
        self._answered()
        return result

    def _went_down(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = self._clock.monotonic() + self.retry_s
        if first:
            logger.warning(
                "shared state: Redis does not answer (%s); rate limits and circuit breakers "
                "are per process until it does (each process at the connection's full rate), "
                "retrying every %g s", type(exc).__name__, self.retry_s)

    def _answered(self) -> None:
        if self._down_until is None:
            return
        with self._lock:
            was_down, self._down_until = self._down_until is not None, None
        if was_down:
            logger.info("shared state: Redis answers again; rate limits and circuit breakers "
                        "are shared again")


class SharedBucket(ServerSynced):
    """A :class:`TokenBucket` whose tokens live in Redis, shared by every process."""

    def __init__(self, shared: SharedState, key: str, rate: float, burst: int,
                 clock: Clock) -> None:
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.key = key
        self._shared = shared
        self._clock = clock
        self.local = TokenBucket(rate, burst, clock)

    def _script(self, op: str, arg: float) -> tuple[int, float]:
        taken, wait = self._shared._bucket(
            keys=[self.key], args=[self.rate, self.burst, repr(self._clock.time()), op, repr(arg)])
        return int(taken), float(wait)

    def acquire(self, max_wait: float) -> float:
        """Take a token, sleeping as needed; return the seconds waited.

        :raises RateLimited: when the wait would exceed ``max_wait`` (no token is taken).
        """
        outcome = self._shared.run(lambda: self._script("acquire", max_wait), lambda: None)
        if outcome is None:
            return self.local.acquire(max_wait)
        taken, wait = outcome
        if not taken:
            raise RateLimited(f"rate limit: next request allowed in {wait:.1f}s", retry_after=wait)
        if wait > 0:
            self._clock.sleep(wait)
        return wait

    def hold_at_most(self, tokens: float) -> None:
        self._shared.run(lambda: self._script("sync", tokens), lambda: self.local.hold_at_most(tokens))

    def pause(self, seconds: float) -> None:
        """Give out no token for ``seconds`` (a 429 with ``Retry-After``), in every process."""
        self._shared.run(lambda: self._script("pause", float(seconds)),
                         lambda: self.local.pause(seconds))


class SharedBreaker:
    """A :class:`CircuitBreaker` whose state lives in Redis: one breaker per connection for
    every process. A half-open breaker admits one probe in the whole deployment; a probe whose
    process died frees its slot after ``reset_timeout``."""

    # Keys of closed breakers with no failures are deleted; others live a day past their use.
    TTL_S = 86_400

    def __init__(self, shared: SharedState, key: str, name: str, threshold: int,
                 reset_timeout: float, clock: Clock) -> None:
        self.name = name
        self.key = key
        self.threshold = max(1, int(threshold))
        self.reset_timeout = reset_timeout
        self._shared = shared
        self._clock = clock
        self.local = CircuitBreaker(name, threshold, reset_timeout, clock)
        # Per thread: the last before_call found the breaker closed without failures.
        self._clean = threading.local()

    def _script(self, op: str) -> tuple[str, str, int, str]:
        ttl = int(self.TTL_S + self.reset_timeout)
        before, after, failures, verdict = self._shared._breaker(
            keys=[self.key],
            args=[repr(self._clock.time()), op, self.threshold, repr(self.reset_timeout), ttl])
        return _text(before), _text(after), int(failures), _text(verdict)

    @property
    def state(self) -> str:
        return self.snapshot()["state"]

    def snapshot(self) -> dict:
        """``{"state", "failures", "retry_in_s"}`` now, for a caller choosing a route."""
        outcome = self._shared.run(lambda: self._script("read"), lambda: None)
        if outcome is None:
            return self.local.snapshot()
        _before, state, failures, retry_in = outcome
        return {"state": state, "failures": failures,
                "retry_in_s": round(float(retry_in), 3) if state == OPEN else 0.0}

    def before_call(self) -> None:
        """Admit a call or raise :class:`CircuitOpen` without touching the network."""
        outcome = self._shared.run(lambda: self._script("before_call"), lambda: None)
        if outcome is None:
            self.local.before_call()
            return
        _before, state, failures, verdict = outcome
        self._clean.seen = state == CLOSED and failures == 0
        if verdict:
            raise CircuitOpen(f"circuit open for {self.name} after {failures} failures",
                              retry_after=float(verdict))

    def success(self) -> None:
        """The call succeeded. When its ``before_call`` (in this thread) found the breaker closed
        without failures, nothing is written: failures other processes recorded meanwhile were
        concurrent with this call, which then counts as having succeeded before them. A call
        saves a Redis round trip that way."""
        if self._take_clean():
            return
        self._change("success", self.local.success)

    def failure(self) -> None:
        self._clean.seen = False
        self._change("failure", self.local.failure)

    def neutral(self) -> None:
        """A call ended without telling us about the service's health (e.g. a 4xx)."""
        if self._take_clean():
            return  # only a half-open breaker changes on a neutral answer
        self._change("neutral", self.local.neutral)

    def _take_clean(self) -> bool:
        clean = getattr(self._clean, "seen", False)
        self._clean.seen = False
        return clean

    def _change(self, op: str, local: Callable[[], None]) -> None:
        outcome = self._shared.run(lambda: self._script(op), lambda: None)
        if outcome is None:
            local()
            return
        before, after, failures, _ = outcome
        if after == OPEN and before != OPEN:
            logger.warning("circuit %s opened after %d failures", self.name, failures)
        elif after == CLOSED and before in (OPEN, HALF_OPEN):
            logger.info("circuit %s closed", self.name)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def shared_state(config: Any) -> SharedState | None:
    """The app's :class:`SharedState` when ``REDIS_URL`` is set, else None (per process).

    Nothing connects here: the first call does, and a Redis that is down then only means the
    local fallback.
    """
    url = config.get("REDIS_URL")
    if not url:
        return None
    return SharedState.from_url(url, prefix=config.get("REDIS_KEY_PREFIX") or "atom",
                                timeout_s=config.get("REDIS_TIMEOUT_S", 0.5),
                                retry_s=config.get("REDIS_RETRY_S", 5.0))
