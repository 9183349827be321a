"""``IntegrationClient``: the only code in ATOM that touches the network.

Per logical call, outermost first: circuit breaker, tenacity retry loop, and per attempt the
token bucket, auth (with OAuth2 refresh), the request with connect/read timeouts (and the
redirects it follows), rate-limit header re-sync and the plugin's response classifier. One
:class:`CallStat` is recorded per logical call.

Credentials go only to the connection's own origin: every URL is resolved against the base URL
and compared by origin (:func:`origin`) before anything is sent, and a redirect to another
origin loses every credential the connection adds. Every connection the session opens passes
the app's :class:`~atom.integrations.outbound.OutboundPolicy` (its transport is in
``atom.integrations.outbound``).
"""
from __future__ import annotations

import contextvars
import email.utils
import http.cookiejar
import logging
import random
import re
import time
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Callable
from typing import Iterator
from urllib.parse import unquote_plus
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState
from tenacity import Retrying
from tenacity import retry_if_exception
from tenacity import stop_after_attempt
from urllib3.exceptions import NewConnectionError
from urllib3.util import parse_url

from atom.integrations.auth import Auth
from atom.integrations.auth import NoAuth
from atom.integrations.breaker import CircuitBreaker
from atom.integrations.clock import SYSTEM_CLOCK
from atom.integrations.clock import Clock
from atom.integrations.errors import AuthError
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.metrics import CallStat
from atom.integrations.outbound import DEFAULT_PORTS
from atom.integrations.outbound import OutboundPolicy
from atom.integrations.outbound import PolicyAdapter
from atom.integrations.outbound import normal_host
from atom.integrations.ratelimit import TokenBucket
from atom.integrations.redaction import Redactor

logger = logging.getLogger(__name__)

# Path segments that name one record (numbers, keys like ABC-123, long hex/uuid ids) become
# ":id" in default operation names, so metric labels stay few.
# API versions ("3", "v1", "v2.0") stay as they are.
_ID_SEGMENT = re.compile(r"/(?!(?:v\d+(?:\.\d+)?|\d)(?:/|$))(?=[^/]*\d)[^/]{1,80}(?=/|$)")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "ATOM/0.1 (+self-hosted integration hub)"
MAX_REDIRECTS = 5
# Stripped around a URL, as WHATWG URL parsing does (C0 controls and space), and removed inside.
_C0_OR_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile(r"[\t\r\n]")
# "//host", and "\\host" or "/\host" which browsers read the same way: a host, not a path.
_NETWORK_PATH = re.compile(r"^[/\\]{2,}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Headers that carry credentials whatever the auth scheme; the auth names its own on top.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})

# Attempts made by the calls of the current action run, read by "test this step" and the engine.
attempt_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "attempt_counter", default=None
)


class IdempotencyScope:
    """Idempotency keys for the writes of one action run: ``<key>-1``, ``<key>-2``, ...

    The engine opens a scope with a key stable across re-runs of the same step, so a step that
    runs again after a crash sends the same keys and the service does the work only once.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self._n = 0

    def next_key(self) -> str:
        self._n += 1
        return f"{self.key}-{self._n}"


idempotency_scope: contextvars.ContextVar[IdempotencyScope | None] = contextvars.ContextVar(
    "idempotency_scope", default=None
)

# The execution chain of the workflow step making the calls, sent as ``X-Atom-Execution``: an
# ATOM webhook the call reaches starts its execution in the same chain (atom.engine.chains).
execution_chain: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "execution_chain", default=None
)


@dataclass(frozen=True)
class ClientSettings:
    """Everything tunable about a client; a connection's settings override these."""

    base_url: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 4
    max_retry_wait: float = 30.0
    max_server_wait: float = 60.0
    max_total: float = 120.0
    rate_per_second: float = 10.0
    rate_burst: int = 10
    circuit_threshold: int = 5
    circuit_reset: float = 30.0
    idempotency_header: str | None = "Idempotency-Key"
    # More origins the connection's credentials may go to, as absolute URLs (Dropbox's content
    # host, Box's upload host): the plugin's ``Integration.extra_origins()``.
    extra_origins: tuple[str, ...] = ()

    def with_overrides(self, **overrides: Any) -> ClientSettings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


RaiseForResponse = Callable[[requests.Response], None]
RateLimitParser = Callable[[requests.Response], "tuple[int | None, float | None]"]


class _Retry(Exception):
    """Internal: retry at once (after an OAuth2 refresh)."""

    retryable = True
    retry_after = 0.0


class IntegrationClient:
    """A pooled, rate-limited, retrying, circuit-broken HTTP client for one connection."""

    def __init__(
        self,
        *,
        integration: str,
        connection_id: int | None = None,
        settings: ClientSettings = ClientSettings(),
        auth: Auth | None = None,
        raise_for_response: RaiseForResponse | None = None,
        parse_rate_limit: RateLimitParser | None = None,
        default_headers: dict[str, str] | None = None,
        recorder: Any = None,
        session: requests.Session | None = None,
        clock: Clock = SYSTEM_CLOCK,
        policy: OutboundPolicy | None = None,
        redactor: Redactor | None = None,
        shared: Any = None,
    ) -> None:
        """:param policy: the app's outbound address policy (default: the strict one, which
            denies loopback and private addresses).
        :param session: a session of your own; it must carry the policy's transport itself.
        :param redactor: the connection's secrets, removed from every response before anything
            reads it.
        """
        self.integration = integration
        self.redactor = redactor
        self.connection_id = connection_id
        self.settings = settings
        self.auth = auth or NoAuth()
        self.clock = clock
        self.policy = policy or OutboundPolicy()
        self.session = session or _new_session(self.policy)
        name = f"{integration}:{connection_id}"
        self.bucket: Any
        self.breaker: Any
        if shared is not None and connection_id is not None:
            self.bucket = shared.bucket(connection_id, settings.rate_per_second,
                                        settings.rate_burst, clock)
            self.breaker = shared.breaker(name, connection_id, settings.circuit_threshold,
                                          settings.circuit_reset, clock)
        else:
            self.bucket = TokenBucket(settings.rate_per_second, settings.rate_burst, clock)
            self.breaker = CircuitBreaker(name, settings.circuit_threshold,
                                          settings.circuit_reset, clock)
        self._raise_for_response = raise_for_response or default_raise_for_response
        self._parse_rate_limit = parse_rate_limit or self._parse_rate_limit_headers
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self._headers.update(default_headers or {})
        self._recorder = recorder
        self._urls: dict[str, tuple[str, str]] = {}
        self._base_origin: tuple[str, tuple[str, str, int | None]] | None = None
        self._extra_origins: tuple[tuple[str, ...], frozenset] | None = None
        self._retrying = Retrying(
            # The one retry after an OAuth2 refresh is part of auth, outside the attempt budget.
            stop=(stop_after_attempt(max(1, settings.max_attempts)) | self._stop_total)
            & self._not_refresh,
            wait=self._wait,
            retry=retry_if_exception(self._should_retry),
            sleep=clock.sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )

    # -- public surface ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotent: bool | None = None,
        operation: str | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one logical request, retrying transient failures; return the final response.

        :param idempotency_key: sent in the service's idempotency header, the same on every
            attempt; it makes a POST or PATCH safe to retry.
        :param idempotent: override whether retrying this request is safe.
        :param stream: leave a successful response's body unread, for the caller to iterate
            (``iter_content``) and close: a download is never held whole in memory. Error
            bodies are still read (and redacted) before the classifier sees them.
        :raises IntegrationError: a subclass saying what went wrong.
        """
        method = method.upper()
        url, url_path = self._resolve(path)
        hdrs = dict(self._headers)
        if headers:
            hdrs.update(headers)
        chain = execution_chain.get()
        if chain:  # after the caller's headers: a step cannot leave its chain
            hdrs["X-Atom-Execution"] = chain
        if idempotency_key is None and method not in SAFE_METHODS:
            scope = idempotency_scope.get()
            if scope is not None and self.settings.idempotency_header:
                idempotency_key = scope.next_key()
        if idempotency_key and self.settings.idempotency_header:
            hdrs[self.settings.idempotency_header] = idempotency_key
        if idempotent is None:
            idempotent = method in SAFE_METHODS or bool(
                idempotency_key and self.settings.idempotency_header
            )
        call = _Call(method, url, params or {}, json, data, hdrs, idempotent)
        call.stream = stream
        call.started = self.clock.monotonic()
        op = operation or f"{method} {_ID_SEGMENT.sub('/:id', url_path)}"
        started = time.perf_counter()
        try:
            self.breaker.before_call()
        except IntegrationError as exc:
            self._record(op, None, started, 0, exc)
            raise
        try:
            response = self._send(call)
        except _Retry as exc:  # refresh did not help and attempts ran out
            err = AuthError("credentials refused after refresh")
            self._finish(op, started, call, err)
            raise err from exc
        except IntegrationError as exc:
            self._finish(op, started, call, exc)
            raise
        except Exception as exc:
            # A bug in a hook (classifier, auth): free the half-open probe slot, or the
            # breaker would refuse every later call.
            self.breaker.neutral()
            self._record(op, None, started, call.attempts, UpstreamError(type(exc).__name__))
            raise
        self.breaker.success()
        self._record(op, response.status_code, started, call.attempts, None)
        return response

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def paginate(self, path: str, paginator: Any, *, params: dict[str, Any] | None = None,
                 method: str = "GET", **kw: Any) -> Iterator[Any]:
        """Yield every item of every page, following ``paginator``'s strategy."""
        return paginator.iterate(self, method, path, dict(params or {}), **kw)

    def without_credentials(self, url: str) -> IntegrationClient:
        """A client for ``url``'s origin that sends none of this connection's credentials: for
        a pre-authenticated URL on another host (Graph's upload session ``uploadUrl``), where
        an ``Authorization`` header is refused or must not go.

        It shares this client's outbound policy (and session, whose transport enforces it),
        response classifier, rate-limit parsing, redaction, clock and metrics; its retry
        budget and timeouts are this client's, its breaker and token bucket its own. Only
        ``url``'s origin is allowed (no extra origins).
        """
        scheme, host, port = origin(url)
        netloc = f"[{host}]" if ":" in host else host
        if port is not None and port != DEFAULT_PORTS.get(scheme):
            netloc += f":{port}"
        return IntegrationClient(
            integration=self.integration, connection_id=self.connection_id,
            settings=replace(self.settings, base_url=f"{scheme}://{netloc}/", extra_origins=(),
                             idempotency_header=None),
            auth=NoAuth(), raise_for_response=self._raise_for_response,
            parse_rate_limit=self._parse_rate_limit, recorder=self._recorder,
            session=self.session, clock=self.clock, policy=self.policy, redactor=self.redactor)

    def close(self) -> None:
        self.session.close()

    # -- one attempt ------------------------------------------------------------------------

    def _send(self, call: _Call) -> requests.Response:
        """Run the attempts of one call.

        The first attempt runs directly, so a call that succeeds at once costs no retry
        bookkeeping; a retryable failure hands over to tenacity, which sees it as attempt 1.
        """
        try:
            return self._attempt(call)
        except Exception as exc:
            if not self._should_retry(exc):
                raise
            first = [exc]

        def attempt(c: _Call) -> requests.Response:
            if first:
                raise first.pop()
            return self._attempt(c)

        return self._retrying(attempt, call)

    def _attempt(self, call: _Call) -> requests.Response:
        call.attempts += 1
        counter = attempt_counter.get()
        if counter is not None:
            counter[0] += 1
        self.bucket.acquire(self.settings.max_server_wait)
        headers, params = dict(call.headers), dict(call.params)
        self.auth.apply(headers, params)
        token = self.auth.token_fingerprint()
        try:
            response = self._exchange(call, headers, params)
        except requests.RequestException as exc:
            raise self._transport_error(exc, call) from exc
        if call.stream and response.status_code >= 300:
            try:  # an error (or a redirect not followed) is read whole, like any other
                response.content  # noqa: B018
            except requests.RequestException as exc:
                raise self._transport_error(exc, call) from exc
        self._redact(response)
        remaining, reset_in = self._parse_rate_limit(response)
        if remaining is not None:
            self.bucket.sync(remaining, reset_in)
        if response.status_code == 401 and self.auth.refreshable and not call.refreshed:
            call.refreshed = True
            self.auth.refresh(stale=token)  # type: ignore[attr-defined]
            raise _Retry()
        try:
            self._raise_for_response(response)
        except RateLimited as exc:
            exc.retryable = True  # the request was not processed: safe for every method
            if exc.retry_after:
                self.bucket.pause(exc.retry_after)
            raise
        except IntegrationError as exc:
            exc.retryable = not exc.permanent and call.idempotent
            raise
        return response

    def _exchange(self, call: _Call, headers: dict[str, str], params: dict[str, Any]
                  ) -> requests.Response:
        """Send the request; for GET and HEAD follow up to :data:`MAX_REDIRECTS` redirects.

        The client follows redirects itself (never requests), so each hop is checked here and
        by the transport's policy. Once a hop leaves the call's origin, every credential the
        connection adds is gone for the rest of the chain.
        """
        response = self._send_once(call.method, call.url, params, call.json, call.data, headers,
                                   stream=call.stream)
        if call.method not in ("GET", "HEAD"):
            return response
        away, body = False, (call.json, call.data)
        history: list[requests.Response] = []
        while (location := self.session.get_redirect_target(response)) is not None:
            if len(history) == MAX_REDIRECTS:
                raise UpstreamError(f"{call.method} {urlsplit(call.url).path}: more than "
                                    f"{MAX_REDIRECTS} redirects", permanent=True)
            history.append(response)
            url = urljoin(response.url, _clean(location))
            if not away and _origin_or_none(url) != _origin_or_none(call.url):
                away = True
                headers = self._without_credentials(headers)
            if away:
                url = _without_params(url, self.auth.param_names())
            if response.status_code not in (307, 308):
                body = (None, None)  # 301, 302, 303: the next request carries no body
            response.close()
            response = self._send_once(call.method, url, None, body[0], body[1], headers,
                                       signed=not away, stream=call.stream)
        response.history = history
        return response

    def _send_once(self, method: str, url: str, params: dict[str, Any] | None, json: Any,
                   data: Any, headers: dict[str, str], signed: bool = True,
                   stream: bool = False) -> requests.Response:
        """One request; a signing auth (AWS SigV4) signs the prepared request, except on a
        redirect hop that left the call's origin."""
        return self.session.request(
            method,
            url,
            params=params or None,
            json=json,
            data=data,
            headers=headers,
            timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            allow_redirects=False,
            auth=self.auth.request_signer() if signed else None,
            stream=stream,
        )

    def _without_credentials(self, headers: dict[str, str]) -> dict[str, str]:
        drop = _CREDENTIAL_HEADERS | {h.lower() for h in self.auth.header_names()}
        return {k: v for k, v in headers.items() if k.lower() not in drop}

    def _redact(self, response: requests.Response) -> None:
        """Remove the connection's secrets from a response (a service may echo them), before
        the classifier, the plugin or an error message (``snippet``) reads any of it."""
        if self.redactor is not None:
            self.redactor.response(response)

    def _transport_error(self, exc: requests.RequestException, call: _Call) -> IntegrationError:
        where = f"{call.method} {urlsplit(call.url).path}"
        if isinstance(exc, requests.ConnectTimeout):
            err: IntegrationError = IntegrationTimeout(f"{where}: connect timed out")
            err.retryable = True  # nothing was sent
        elif isinstance(exc, requests.Timeout):
            err = IntegrationTimeout(f"{where}: no answer within {self.settings.read_timeout}s")
            err.retryable = call.idempotent
        elif isinstance(exc, requests.ConnectionError):
            never_sent = _never_sent(exc)
            err = UpstreamError(f"{where}: connection failed ({type(exc).__name__})")
            err.retryable = never_sent or call.idempotent
        else:
            err = UpstreamError(f"{where}: {type(exc).__name__}", permanent=True)
            err.retryable = False
        return err

    # -- retry policy -------------------------------------------------------------------------

    def _should_retry(self, exc: BaseException) -> bool:
        if not getattr(exc, "retryable", False):
            return False
        wait = getattr(exc, "retry_after", None)
        return not (wait and wait > self.settings.max_server_wait)

    @staticmethod
    def _not_refresh(state: RetryCallState) -> bool:
        return not (state.outcome and isinstance(state.outcome.exception(), _Retry))

    def _stop_total(self, state: RetryCallState) -> bool:
        call = state.args[0]
        return self.clock.monotonic() - call.started >= self.settings.max_total

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        server_wait = getattr(exc, "retry_after", None)
        if isinstance(exc, _Retry):
            return 0.0
        if server_wait:
            # Jitter goes on top of the server's wait, never below it.
            return server_wait + random.uniform(0, min(1.0, 0.1 * server_wait))
        cap = min(self.settings.max_retry_wait, 0.5 * 2 ** (state.attempt_number - 1))
        return random.uniform(0, cap)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.info(
            "%s connection %s: attempt %d failed (%s), retrying in %.2fs",
            self.integration,
            self.connection_id,
            state.attempt_number,
            getattr(exc, "code", type(exc).__name__),
            state.upcoming_sleep,
        )

    # -- bookkeeping ----------------------------------------------------------------------------

    def _finish(self, op: str, started: float, call: _Call, exc: IntegrationError) -> None:
        if exc.code in ("timeout", "upstream") and not exc.permanent:
            self.breaker.failure()
        else:
            self.breaker.neutral()
        self._record(op, exc.status, started, call.attempts, exc)

    def _record(self, op: str, status: int | None, started: float, attempts: int,
                exc: IntegrationError | None) -> None:
        if self._recorder is None:
            return
        self._recorder.record(
            CallStat(
                ts=datetime.now(UTC).replace(tzinfo=None),
                integration=self.integration,
                connection_id=self.connection_id,
                operation=op[:200],
                status=status,
                ok=exc is None,
                latency_ms=(time.perf_counter() - started) * 1000.0,
                attempts=attempts,
                error_class=None if exc is None else exc.code,
            )
        )

    def _parse_rate_limit_headers(self, response: requests.Response
                                  ) -> tuple[int | None, float | None]:
        # Reset epochs are read against this client's clock, like every other wait.
        return parse_rate_limit_headers(response, now=self.clock.time())

    def _resolve(self, path: str) -> tuple[str, str]:
        """``(url, url path)`` for ``path``, cached: connections call the same paths again."""
        hit = self._urls.get(path)
        if hit is None:
            url = self._url(path)
            hit = (url, urlsplit(url).path)
            if len(self._urls) < 1024:
                self._urls[path] = hit
        return hit

    def _url(self, path: str) -> str:
        """The URL ``path`` names, refused unless it is on the base URL's origin.

        Relative paths extend the base URL's path; anything naming a host (a scheme in any
        case, ``//host``, ``\\\\host``) is resolved against the base URL, and the FINAL URL's
        origin is compared with the base URL's, so no spelling gets credentials elsewhere.
        """
        base, raw = self.settings.base_url, _clean(path)
        if _NETWORK_PATH.match(raw):
            raw = _NETWORK_PATH.sub("//", raw)
        names_host = raw.startswith("//") or bool(_SCHEME.match(raw))
        if not base and not names_host:
            raise ValidationFailed("the connection has no base_url", details={"base_url": ["required"]})
        if not base:
            url = raw
        elif names_host:
            url = urljoin(base, raw)
        else:
            url = urljoin(base.rstrip("/") + "/", raw.lstrip("/"))
        try:
            parts = parse_url(url)
            target = origin(url)
        except ValueError as exc:  # LocationParseError is one
            raise ValidationFailed(f"invalid URL {url[:200]!r}: {exc}") from exc
        if base and target != self._origin_of_base(base) and target not in self._extra():
            # Never send this connection's credentials to another origin.
            raise ValidationFailed(f"URL {target[0]}://{parts.netloc} is outside the "
                                   f"connection's base URL")
        # Userinfo in the URL would become an Authorization header of its own.
        return parts._replace(auth=None).url if parts.auth else url

    def _extra(self) -> frozenset[tuple[str, str, int | None]]:
        extra = self._extra_origins
        if extra is None or extra[0] != self.settings.extra_origins:
            extra = self._extra_origins = (self.settings.extra_origins,
                                           frozenset(origin(u) for u in self.settings.extra_origins))
        return extra[1]

    def _origin_of_base(self, base: str) -> tuple[str, str, int | None]:
        cached = self._base_origin
        if cached is None or cached[0] != base:
            cached = self._base_origin = (base, origin(base))
        return cached[1]


class _Call:
    __slots__ = ("method", "url", "params", "json", "data", "headers", "idempotent", "attempts",
                 "refreshed", "started", "stream")

    def __init__(self, method: str, url: str, params: dict[str, Any], json: Any, data: Any,
                 headers: dict[str, str], idempotent: bool) -> None:
        self.method, self.url, self.params = method, url, params
        self.json, self.data, self.headers = json, data, headers
        self.idempotent = idempotent
        self.attempts = 0
        self.refreshed = False
        self.started = 0.0
        self.stream = False


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Keep no cookie: credentials come from the connection, and a cookie one origin set must
    never travel to another."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def _new_session(policy: OutboundPolicy) -> requests.Session:
    session = requests.Session()
    # Retries are ours (tenacity); urllib3 must not retry underneath.
    adapter = PolicyAdapter(policy, pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # No proxy from the environment: only the one the operator configured for ATOM.
    session.trust_env = False
    if policy.proxy:
        session.proxies = {"http": policy.proxy, "https": policy.proxy}
    session.cookies.set_policy(_NoCookies())
    return session


def _never_sent(exc: requests.ConnectionError) -> bool:
    """Whether the connection failed before the request went out (safe to retry any method)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, where the transport will connect for it.

    Parsed with urllib3's parser, the one requests and the connection pool use (urllib.parse
    reads ``http://a\\@b/`` as host ``b``, urllib3 as ``a``), after stripping surrounding
    whitespace; the userinfo dropped, the host lower case and IDNA-encoded, the default port
    filled in.

    :raises ValueError: ``url`` cannot be parsed.
    """
    parts = parse_url(_clean(url))
    scheme = (parts.scheme or "").lower()
    return scheme, normal_host(parts.host or ""), parts.port or DEFAULT_PORTS.get(scheme)


def _origin_or_none(url: str) -> tuple[str, str, int | None] | None:
    try:
        return origin(url)
    except ValueError:  # LocationParseError is one
        return None


def _clean(url: str) -> str:
    return _TAB_OR_NEWLINE.sub("", url.strip(_C0_OR_SPACE))


def _without_params(url: str, names: frozenset[str]) -> str:
    """``url`` without the query parameters called ``names`` (the auth's, on another origin)."""
    if not names:
        return url
    rest, hash_, fragment = url.partition("#")
    head, mark, query = rest.partition("?")
    kept = [p for p in query.split("&") if p and unquote_plus(p.split("=", 1)[0]) not in names]
    return head + (mark + "&".join(kept) if kept else "") + hash_ + fragment


def snippet(response: requests.Response, limit: int = 200) -> str:
    """The start of a response body for an error message (never whole bodies)."""
    text = response.text if response.content else ""
    return text[:limit].replace("\n", " ")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def parse_reset(value: str | None, now: float | None = None) -> float | None:
    """Seconds until a reset header: epoch seconds, delta seconds, epoch ms or ISO-8601."""
    if not value:
        return None
    now = time.time() if now is None else now
    try:
        number = float(value)
    except ValueError:
        try:
            return max(0.0, datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - now)
        except ValueError:
            return None
    if number > 1e12:  # epoch milliseconds
        return max(0.0, number / 1000.0 - now)
    if number > 1e9:  # epoch seconds
        return max(0.0, number - now)
    return number


_REMAINING = ("X-RateLimit-Remaining", "RateLimit-Remaining", "X-RateLimit-Requests-Remaining")
_RESET = ("X-RateLimit-Reset-After", "X-RateLimit-Reset", "RateLimit-Reset",
          "X-RateLimit-Requests-Reset")


def parse_rate_limit_headers(response: requests.Response,
                             now: float | None = None) -> tuple[int | None, float | None]:
    """Read the common ``*-RateLimit-Remaining``/``-Reset`` headers; ``(None, None)`` if absent.

    :param now: the epoch time reset epochs are measured from (default: ``time.time()``).
    """
    headers = response.headers
    remaining = next((headers[h] for h in _REMAINING if h in headers), None)
    if remaining is None:
        return None, None
    try:
        left = int(float(remaining))
    except ValueError:
        return None, None
    reset = next((headers[h] for h in _RESET if h in headers), None)
    return left, parse_reset(reset, now)


def default_raise_for_response(response: requests.Response) -> None:
    """Map an HTTP status to the error hierarchy (the table in STYLE.md B.5)."""
    status = response.status_code
    if status < 400:
        return
    request = response.request
    where = f"{request.method} {urlsplit(request.url or '').path}" if request is not None else ""
    message = f"{where} answered {status}: {snippet(response)}"
    if status == 429:
        raise RateLimited(message, retry_after=parse_retry_after(response.headers.get("Retry-After")),
                          status=status)
    if status in (401, 403):
        raise AuthError(message, status=status)
    if status == 408 or status >= 500:
        raise UpstreamError(message, status=status,
                            retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status in (400, 409, 422):
        raise ValidationFailed(message, status=status)
    raise UpstreamError(message, status=status, permanent=True)
