"""Live connections: build each connection's integration and client once per revision, run
health checks and actions through them, and record the outcome in one place."""
from __future__ import annotations

import contextvars
import logging
import threading
import time
from contextlib import contextmanager
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any
from typing import Callable
from typing import Iterator

from flask import Flask
from flask import current_app
from flask import has_app_context
from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate

from atom.extensions import db
from atom.integrations import auth as auth_mod
from atom.integrations import files
from atom.integrations.base import ConnectionInfo
from atom.integrations.base import Integration
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import UNEXPECTED
from atom.integrations.errors import ValidationFailed
from atom.integrations.errors import unexpected_answer
from atom.integrations.clock import SYSTEM_CLOCK
from atom.integrations.http import origin
from atom.integrations.http import ClientSettings
from atom.integrations.http import IdempotencyScope
from atom.integrations.http import IntegrationClient
from atom.integrations.http import attempt_counter
from atom.integrations.http import idempotency_scope
from atom.integrations.manifest import Manifest
from atom.integrations.metrics import MetricsRecorder
from atom.integrations.oauth_store import OAuthClientApp
from atom.integrations.oauth_store import TokenRow
from atom.integrations.oauth_store import oauth_url
from atom.integrations.oauth_store import placeholders
from atom.integrations.outbound import OutboundPolicy
from atom.integrations.redaction import EMPTY
from atom.integrations.redaction import LIVE
from atom.integrations.redaction import Redactor
from atom.integrations.registry import Registry
from atom.integrations.shared import shared_state
from atom.integrations.vault import Vault
from atom.logging import scrub
from atom.models import Connection
from atom.models import OAuthApp
from atom.models.base import utcnow

logger = logging.getLogger(__name__)


class CommonSettings(Schema):
    """Settings every connection accepts; each overrides the client default of the same kind."""

    class Meta:
        unknown = RAISE

    # A destination: changing it requires re-entering the connection's secrets.
    base_url = fields.Url(require_tld=False, schemes={"http", "https"},
                          metadata={"description": "Override the service's base URL",
                                    "destination": True})
    connect_timeout_s = fields.Float(validate=validate.Range(min=0.05, max=120))
    read_timeout_s = fields.Float(validate=validate.Range(min=0.05, max=600))
    max_attempts = fields.Integer(validate=validate.Range(min=1, max=10))
    rate_limit_per_second = fields.Float(validate=validate.Range(min=0.001, max=100_000))
    rate_limit_burst = fields.Integer(validate=validate.Range(min=1, max=100_000))
    circuit_failure_threshold = fields.Integer(validate=validate.Range(min=1, max=1000))
    circuit_reset_s = fields.Float(validate=validate.Range(min=0.1, max=86_400))


def settings_schema(manifest: Manifest) -> Schema:
    """The settings schema of a plugin: the common settings plus the plugin's own."""
    if manifest.settings is None:
        return CommonSettings(unknown=RAISE)
    # Inheritance, not a field copy, so the plugin's own @validates_schema checks still run.
    cls = type(f"{manifest.slug}Settings", (manifest.settings, CommonSettings), {})
    return cls(unknown=RAISE)


def credentials_schema(manifest: Manifest, partial: bool = False) -> Schema:
    return manifest.auth.fields(unknown=RAISE, partial=partial)


@dataclass
class TestResult:
    ok: bool
    latency_ms: float
    error_class: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "latency_ms": round(self.latency_ms, 2),
                "error_class": self.error_class, "message": self.message}


@dataclass
class ActionResult:
    output: Any
    duration_ms: float
    attempts: int


class ConnectionRuntime:
    """Per-process cache of connection clients (rate buckets and breakers live here)."""

    def __init__(self, app: Flask, registry: Registry, vault: Vault, recorder: MetricsRecorder,
                 outbound: OutboundPolicy | None = None) -> None:
        self.app = app
        # Every client's transport checks its addresses against it (default: the strict one).
        self.outbound = outbound or OutboundPolicy()
        self.registry = registry
        self.vault = vault
        self.recorder = recorder
        # Injectable for tests: rate limits, backoff and breakers read time through it.
        self.clock = SYSTEM_CLOCK
        # With REDIS_URL: every connection's bucket and breaker shared by all processes.
        self.shared = shared_state(app.config)
        self._cache: dict[int, tuple[int, Integration]] = {}
        self._lock = threading.Lock()
        # Input schemas by action: building a marshmallow Schema costs more than loading with it.
        self._schemas: dict[Any, Schema] = {}
        # Called by test() with (connection, result) before it commits (monitoring's samples).
        self.test_listeners: list[Callable[[Connection, TestResult], None]] = []

    def integration(self, conn: Connection) -> Integration:
        """Return the live integration for ``conn``, rebuilt when its revision changed."""
        with self._lock:
            cached = self._cache.get(conn.id)
            if cached and cached[0] == conn.revision:
                return cached[1]
        built = self.build(conn.integration, conn.id, conn.label, conn.settings or {},
                           self.vault.decrypt(conn.credentials_encrypted))
        with self._lock:
            old = self._cache.get(conn.id)
            self._cache[conn.id] = (conn.revision, built)
        if old:
            _close(old[1])
        return built

    def circuit(self, conn: Connection) -> dict[str, Any] | None:
        """The circuit breaker of ``conn``'s live client (:meth:`CircuitBreaker.snapshot`), or
        None when it has no client yet (no call made: its breaker would start closed)."""
        with self._lock:
            cached = self._cache.get(conn.id)
        if cached is None or cached[0] != conn.revision:
            return None
        client = getattr(cached[1], "http", None)
        breaker = getattr(client, "breaker", None)
        return None if breaker is None else breaker.snapshot()

    def redactor(self, conn: Connection) -> Redactor:
        """The redactor of ``conn``'s secrets (of its live integration, cached by revision)."""
        return self.integration(conn).http.redactor or EMPTY

    def destination(self, slug: str, settings: dict[str, Any], credentials: dict[str, Any]) -> str:
        """Where a connection with these settings sends its requests: the effective base URL
        (and its extra origins, joined by spaces)."""
        plugin = self.registry.get(slug)
        assert plugin.manifest is not None and plugin.integration_class is not None
        info = ConnectionInfo(None, "", dict(settings), dict(credentials))
        integ = plugin.integration_class(plugin.manifest, info)
        return " ".join((integ.base_url(), *integ.extra_origins()))

    def build(self, slug: str, conn_id: int | None, label: str, settings: dict[str, Any],
              credentials: dict[str, Any], *, base_url: str | None = None) -> Integration:
        """Build a live integration and its client.

        :param base_url: the client's base URL instead of the integration's (``""``: absolute
            URLs only, for the connect flow's hook before the destination is known).
        """
        plugin = self.registry.get(slug)
        assert plugin.manifest is not None and plugin.integration_class is not None
        info = ConnectionInfo(conn_id, label, dict(settings), dict(credentials))
        integ = plugin.integration_class(plugin.manifest, info)
        cs = self._client_settings(plugin.manifest, integ, settings)
        if base_url is not None:
            cs = cs.with_overrides(base_url=base_url)
        scheme = plugin.manifest.auth
        oauth = auth_mod.uses_oauth2(scheme, credentials) and bool(credentials.get("refresh_token"))
        # The OAuth app's secret goes to the token URL on every refresh: redacted like the
        # connection's own secrets.
        app_secret = self.oauth_client(slug).get("client_secret", "") if oauth else ""
        extra = Redactor.for_credentials({"client_secret": app_secret}, ()) if app_secret else EMPTY
        redactor = Redactor.for_credentials(credentials, plugin.manifest.secret_fields()) | extra
        client = IntegrationClient(
            integration=slug,
            connection_id=conn_id,
            settings=cs,
            raise_for_response=integ.raise_for_response,
            # The base hook reads the common headers against the client's own clock.
            parse_rate_limit=(None if type(integ).parse_rate_limit is Integration.parse_rate_limit
                              else integ.parse_rate_limit),
            clock=self.clock,
            default_headers=integ.default_headers(),
            recorder=self.recorder,
            policy=self.outbound,
            redactor=redactor,
            shared=self.shared,
        )
        LIVE.register(client, redactor)
        auth = integ.auth()
        if oauth:
            own_url = credentials.get("token_url")
            auth = auth_mod.OAuth2(
                credentials,
                # A token URL of the connection's own goes with its own client id and secret,
                # never with the OAuth app's.
                own_url or (lambda: self._refresh_url(slug, settings)),
                client.session,
                client.clock,
                persist=lambda creds: self._rotated(client, plugin.manifest, creds, extra),
                margin_s=self.app.config["OAUTH_REFRESH_MARGIN_S"],
                timeout=(cs.connect_timeout, cs.read_timeout),
                client_auth=scheme.oauth2.client_auth if scheme.oauth2 else "body",
                client=None if own_url else (lambda: self.oauth_client(slug)),
                store=None if conn_id is None else TokenRow(self, conn_id),
            )
        client.auth = auth
        auth.bind(client)
        integ.http = client
        return integ

    # -- OAuth apps ----------------------------------------------------------------------------

    def oauth_app(self, slug: str) -> OAuthClientApp | None:
        """The OAuth app for ``slug``: the one an admin stored, else the configured one."""
        with self._context():
            row = db.session.execute(
                db.select(OAuthApp).filter_by(integration=slug)).scalar_one_or_none()
            if row is not None:
                return OAuthClientApp(row.client_id,
                                      self.vault.decrypt_text(row.client_secret_encrypted),
                                      dict(row.settings or {}), "api")
        cfg = self.app.config
        prefix = f"OAUTH_{slug.upper()}_"
        if not cfg.get(prefix + "CLIENT_ID"):
            return None
        extra = cfg.get(prefix + "SETTINGS")
        return OAuthClientApp(str(cfg[prefix + "CLIENT_ID"]),
                              str(cfg.get(prefix + "CLIENT_SECRET") or ""),
                              dict(extra) if isinstance(extra, dict) else {}, "config")

    def oauth_client(self, slug: str) -> dict[str, str]:
        """The OAuth app (``client_id``, ``client_secret``) an admin configured for ``slug``,
        used to refresh tokens; empty when none is configured."""
        app = self.oauth_app(slug)
        return {} if app is None else app.client()

    def oauth_token_url(self, slug: str, settings: dict[str, Any],
                        app: OAuthClientApp | None = None) -> str:
        """The token URL of ``slug`` for a connection's ``settings``.

        The OAuth app's settings fill placeholders first. A placeholder that decides where the
        URL goes (its origin) must come from them: the client secret is sent there, and
        connection settings are an editor's, not an admin's.

        :raises ValidationFailed: a placeholder is missing, or only the connection sets one that
            decides the origin (``details["settings"]`` names it).
        """
        spec = self.registry.get(slug).manifest.auth.oauth2
        if spec is None:
            raise ValidationFailed(f"{slug} does not offer OAuth2",
                                   details={"integration": [f"{slug} does not offer OAuth2"]})
        app = app or self.oauth_app(slug)
        own = app.values() if app else {}
        values = {**settings, **own}
        url = oauth_url(spec.token_url, values)
        borrowed = sorted(placeholders(spec.token_url) - set(own))
        if borrowed:
            probe = {**values, **{name: f"atom-probe-{name}" for name in borrowed}}
            if _origin_or_none(url) != _origin_or_none(oauth_url(spec.token_url, probe)):
                raise ValidationFailed(
                    f"the token URL's host comes from {', '.join(borrowed)}: the OAuth app's "
                    f"settings must set it (the client secret is sent there)",
                    details={"settings": {name: ["set it in the OAuth app's settings (admin)"]
                                          for name in borrowed}})
        return url

    def token_client(self, slug: str, url: str, secrets: dict[str, str]) -> IntegrationClient:
        """A client for one request to a token URL (the connect flow's code exchange): the
        outbound policy, timeouts, metrics and the token endpoint's error classes of
        :func:`atom.integrations.auth.raise_for_token_response`; ``secrets`` (client secret,
        code, verifier) are redacted from the answer and the log while it lives. Close it."""
        cfg = self.app.config
        redactor = Redactor.for_credentials(secrets, secrets.keys())
        client = IntegrationClient(
            integration=slug,
            settings=ClientSettings(base_url=url, connect_timeout=cfg["HTTP_CONNECT_TIMEOUT_S"],
                                    read_timeout=cfg["HTTP_READ_TIMEOUT_S"],
                                    max_attempts=cfg["HTTP_MAX_ATTEMPTS"],
                                    max_retry_wait=cfg["HTTP_MAX_RETRY_WAIT_S"],
                                    max_server_wait=cfg["HTTP_MAX_SERVER_WAIT_S"],
                                    max_total=cfg["HTTP_MAX_TOTAL_S"], idempotency_header=None),
            raise_for_response=auth_mod.raise_for_token_response,
            clock=self.clock,
            recorder=self.recorder,
            policy=self.outbound,
            redactor=redactor,
        )
        LIVE.register(client, redactor)
        return client

    def connect_hook(self, slug: str, label: str, settings: dict[str, Any],
                     credentials: dict[str, Any],
                     answer: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run the plugin's :meth:`~atom.integrations.base.Integration.oauth_connected` with the
        tokens the connect flow just got (and the token answer's other fields, ``answer``, as
        ``token_response``); return the settings it adds.

        :raises IntegrationError: the hook's calls failed (secrets redacted from the message).
        """
        plugin = self.registry.get(slug)
        assert plugin.integration_class is not None
        if plugin.integration_class.oauth_connected is Integration.oauth_connected:
            return {}
        integ = self.build(slug, None, label, settings, credentials, base_url="")
        integ.token_response = dict(answer or {})
        try:
            with redacting(integ):
                try:
                    extra = integ.oauth_connected()
                except (KeyError, TypeError, ValueError) as exc:
                    raise UpstreamError(f"unexpected answer from {slug}: "
                                        f"{type(exc).__name__}: {exc}") from exc
        finally:
            _close(integ)
        if not isinstance(extra, dict):
            raise UpstreamError(f"{slug}'s oauth_connected returned no settings")
        return extra

    def forget_integration(self, slug: str) -> None:
        """Drop every cached connection of ``slug`` (its OAuth app changed)."""
        with self._lock:
            gone = [cid for cid, (_, integ) in self._cache.items() if integ.manifest.slug == slug]
            dropped = [self._cache.pop(cid) for cid in gone]
        for _, integ in dropped:
            _close(integ)

    def _refresh_url(self, slug: str, settings: dict[str, Any]) -> str:
        """The token URL of a refresh ("" when there is none). With the OAuth app's client it
        is checked as :meth:`oauth_token_url` checks it; a connection that carries its own
        client id and secret (made before OAuth apps) fills it from its own settings."""
        app = self.oauth_app(slug)
        try:
            if app is None:
                spec = self.registry.get(slug).manifest.auth.oauth2
                return oauth_url(spec.token_url, settings) if spec else ""
            return self.oauth_token_url(slug, settings, app)
        except ValidationFailed as exc:
            logger.warning("%s: no token URL to refresh with: %s", slug, exc.message)
            return ""

    def _context(self) -> Any:
        """This app's context: the current one, or a new one (another thread, another app)."""
        if has_app_context() and current_app._get_current_object() is self.app:  # type: ignore[attr-defined]
            return nullcontext()
        return self.app.app_context()

    def forget(self, conn_id: int) -> None:
        with self._lock:
            cached = self._cache.pop(conn_id, None)
        if cached:
            _close(cached[1])

    def _client_settings(self, manifest: Manifest, integ: Integration,
                         settings: dict[str, Any]) -> ClientSettings:
        cfg = self.app.config
        return ClientSettings(
            base_url=integ.base_url(),
            connect_timeout=settings.get("connect_timeout_s", cfg["HTTP_CONNECT_TIMEOUT_S"]),
            read_timeout=settings.get("read_timeout_s", cfg["HTTP_READ_TIMEOUT_S"]),
            max_attempts=settings.get("max_attempts", cfg["HTTP_MAX_ATTEMPTS"]),
            max_retry_wait=cfg["HTTP_MAX_RETRY_WAIT_S"],
            max_server_wait=cfg["HTTP_MAX_SERVER_WAIT_S"],
            max_total=cfg["HTTP_MAX_TOTAL_S"],
            rate_per_second=settings.get("rate_limit_per_second", manifest.rate_limit.per_second),
            rate_burst=settings.get("rate_limit_burst", manifest.rate_limit.burst),
            circuit_threshold=settings.get("circuit_failure_threshold", cfg["CIRCUIT_FAILURE_THRESHOLD"]),
            circuit_reset=settings.get("circuit_reset_s", cfg["CIRCUIT_RESET_TIMEOUT_S"]),
            idempotency_header=integ.idempotency_header(),
            extra_origins=tuple(integ.extra_origins()),
        )

    def _rotated(self, client: IntegrationClient, manifest: Manifest, creds: dict[str, Any],
                 extra: Redactor) -> None:
        """OAuth2 tokens were refreshed (and stored): redact the new ones too."""
        client.redactor = (Redactor.for_credentials(creds, manifest.secret_fields()) | extra) or None
        LIVE.register(client, client.redactor or EMPTY)

    # -- the one place outcomes are recorded -------------------------------------------------

    def test(self, conn: Connection, timeout: float | None = None) -> TestResult:
        """Run the connection's health check and record the result on the connection.

        :param timeout: seconds after which a check that has not finished counts as failed
            (``timeout``); its thread is abandoned and its late outcome ignored.
        """
        started = time.perf_counter()
        integ = self.integration(conn)
        try:
            with redacting(integ):
                _within(integ.health_check, timeout)
            result = TestResult(True, _ms(started))
        except IntegrationError as exc:
            result = TestResult(False, _ms(started), exc.code, exc.message[:500])
        except UNEXPECTED as exc:  # a reply without the fields the plugin reads
            error = unexpected_answer(conn.integration, exc)
            result = TestResult(False, _ms(started), error.code, error.message[:500])
        except Exception as exc:  # a plugin bug must not break the caller (API, scheduler)
            logger.exception("health check of %s connection %s raised", conn.integration, conn.id)
            result = TestResult(False, _ms(started), "upstream", f"plugin error: {type(exc).__name__}")
        conn.last_test_at = utcnow()
        conn.last_test_ok = result.ok
        conn.last_test_latency_ms = result.latency_ms
        conn.last_error_class = result.error_class
        conn.last_error_message = result.message
        if result.error_class == "auth":
            conn.status = "needs_reauth"
        elif result.ok:
            conn.status = "active"
        for listener in self.test_listeners:
            listener(conn, result)
        db.session.commit()
        return result

    def run_action(self, conn: Connection, action: str, data: Any,
                   idempotency_key: str | None = None) -> ActionResult:
        """Validate ``data`` against the action's schema and run the action once.

        :raises ValidationFailed: the input is invalid (``details`` names each field).
        :raises IntegrationError: the service call failed.
        """
        integ = self.integration(conn)
        spec = integ.manifest.action(action)
        if spec is None:
            raise ValidationFailed(f"{conn.integration} has no action {action!r}",
                                   details={"action": [f"unknown action {action!r}"]})
        if not isinstance(data, dict):
            raise ValidationFailed("the action input must be a JSON object")
        schema = self._schemas.get(spec)
        if schema is None:
            schema = self._schemas[spec] = spec.input(unknown=RAISE)
        try:
            loaded = schema.load(data)
        except ValidationError as exc:
            raise ValidationFailed("invalid action input", details=exc.normalized_messages()) from exc
        counter = [0]
        token_c = attempt_counter.set(counter)
        token_s = idempotency_scope.set(IdempotencyScope(idempotency_key) if idempotency_key else None)
        token_f = files.sources.set(self._file_source)
        started = time.perf_counter()
        try:
            with redacting(integ):
                try:
                    output = integ.run(action, loaded)
                except UNEXPECTED as exc:
                    # A response without the fields the plugin expects: the service's answer.
                    raise unexpected_answer(conn.integration, exc) from exc
        finally:
            attempt_counter.reset(token_c)
            idempotency_scope.reset(token_s)
            files.sources.reset(token_f)
        redactor = integ.http.redactor
        if redactor is not None:
            output = redactor.value(output)
        return ActionResult(output, _ms(started), counter[0])

    def notify(self, conn: Connection, channel: str | None, message: str,
               idempotency_key: str | None = None) -> Any:
        """Post ``message`` through the connection (workflow notification steps and alert
        channels both come here).

        :raises IntegrationError: the service refused or failed, or answered with a reply
            the plugin cannot read (``upstream``, naming what was missing).
        """
        integ = self.integration(conn)
        scope = IdempotencyScope(idempotency_key) if idempotency_key else None
        token = idempotency_scope.set(scope)
        try:
            with redacting(integ):
                try:
                    return integ.notify(channel, message)
                except UNEXPECTED as exc:
                    raise unexpected_answer(conn.integration, exc) from exc
        finally:
            idempotency_scope.reset(token)

    def _file_source(self, conn_id: int) -> Integration:
        """The live integration of the connection a ``copy_file`` action reads from."""
        conn = db.session.get(Connection, conn_id)
        if conn is None:
            raise ValidationFailed(f"connection {conn_id} not found",
                                   details={"source_connection_id": ["no such connection"]})
        if not conn.enabled:
            raise ValidationFailed(f"connection {conn_id} is disabled",
                                   details={"source_connection_id": ["the connection is disabled"]})
        return self.integration(conn)


@contextmanager
def redacting(integ: Integration) -> Iterator[None]:
    """Remove the connection's own secrets, in every encoding, from error messages (a service
    may echo them); before any caller truncates the message."""
    try:
        yield
    except IntegrationError as exc:
        redactor = integ.http.redactor or EMPTY
        exc.message = scrub(redactor.text(exc.message))
        exc.args = (exc.message,)
        raise


def _close(integ: Integration) -> None:
    LIVE.drop(integ.http)
    integ.http.close()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _within(func: Callable[[], None], timeout: float | None) -> None:
    """Call ``func``; with a timeout, in a daemon thread that is abandoned when it overruns.

    :raises IntegrationTimeout: ``func`` did not return within ``timeout`` seconds.
    """
    if timeout is None:
        func()
        return
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            func()
            outcome.append(None)
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append(exc)

    worker = threading.Thread(target=contextvars.copy_context().run, args=(run,),
                              name="atom-health-check", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise IntegrationTimeout(f"the health check did not finish within {timeout:g} s")
    if outcome[0] is not None:
        raise outcome[0]



def _origin_or_none(url: str) -> tuple[str, str, int | None] | None:
    try:
        return origin(url)
    except ValueError:
        return None
