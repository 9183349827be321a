"""Request authentication: static schemes and OAuth2 with refresh under a lock."""
from __future__ import annotations

import base64
import logging
import threading
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING
from typing import Any
from typing import Callable
from typing import Mapping
from typing import Protocol

import requests
import requests.auth

from atom.integrations.clock import Clock
from atom.integrations.errors import AuthError
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError

if TYPE_CHECKING:
    from atom.integrations.manifest import AuthScheme

logger = logging.getLogger(__name__)


class Auth:
    """Adds credentials to outgoing headers/params. Subclasses override :meth:`apply`."""

    refreshable = False

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        """Add credentials to a request about to be sent."""

    def token_fingerprint(self) -> str | None:
        return None

    def header_names(self) -> frozenset[str]:
        """The headers :meth:`apply` sets: dropped on a redirect to another origin."""
        return frozenset()

    def param_names(self) -> frozenset[str]:
        """The query parameters :meth:`apply` sets: dropped on a redirect to another origin."""
        return frozenset()

    def bind(self, client: Any) -> None:
        """Called once by the runtime with the connection's
        :class:`~atom.integrations.http.IntegrationClient`: a signer that makes requests of its
        own (Tableau's session sign-in, Okta's ``private_key_jwt`` token request, Box's JWT
        or client-credentials grant) sends them
        with ``client.session`` (the outbound policy's transport), ``client.clock`` and the
        client's timeouts (``client.settings``), as an OAuth2 refresh does. Nothing by default."""

    def request_signer(self) -> requests.auth.AuthBase | None:
        """For schemes that sign the whole request (AWS SigV4: method, URL, headers and body),
        a ``requests`` auth that signs the prepared request just before it is sent; it is not
        used on a redirect hop that left the connection's origin."""
        return None


class NoAuth(Auth):
    pass


class HeaderAuth(Auth):
    """A fixed header: ``Authorization: Bearer x``, ``Authorization: Bot x``, ``X-Api-Key: x``."""

    def __init__(self, header: str, value: str) -> None:
        self.header, self.value = header, value

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        headers[self.header] = self.value

    def header_names(self) -> frozenset[str]:
        return frozenset({self.header})

    def value_header(self) -> dict[str, str]:
        return {self.header: self.value}


def bearer(token: str, scheme: str = "Bearer") -> HeaderAuth:
    return HeaderAuth("Authorization", f"{scheme} {token}")


def basic(username: str, password: str) -> HeaderAuth:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return HeaderAuth("Authorization", f"Basic {raw}")


class QueryAuth(Auth):
    """Credentials in query parameters (Trello's ``key`` and ``token``)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        params.update(self.values)

    def param_names(self) -> frozenset[str]:
        return frozenset(self.values)


# What the connect flow and a refresh store of a token answer (the credentials' OAuth2 fields).
TOKEN_FIELDS = ("access_token", "refresh_token", "expires_at", "token_type", "scope")
ClientApp = Mapping[str, str]


class TokenRefused(AuthError):
    """The token endpoint refused the grant (RFC 6749 5.2): ``error`` is its code
    (``invalid_grant``, ``invalid_client``, ...), ``description`` its explanation, if any."""

    def __init__(self, message: str, *, error: str = "", description: str = "",
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.error, self.description = error, description


class StoredTokens(Protocol):
    """A connection's stored credentials, read under the lock of :meth:`TokenStore.locked`."""

    creds: dict[str, Any]

    def save(self, tokens: dict[str, Any]) -> None:
        """Store new tokens (``None`` values are removed), access and refresh token together."""

    def refused(self) -> None:
        """The refresh token was refused: the connection needs re-authorisation."""


class TokenStore(Protocol):
    """Where a connection's tokens live, shared by every process (the database)."""

    def locked(self) -> AbstractContextManager[StoredTokens]:
        """Hold the connection's tokens against every other process until the block ends."""


def client_credentials(method: str, client: ClientApp, form: dict[str, str]) -> dict[str, str]:
    """Authenticate a token request as the OAuth client: HTTP Basic (``method="basic"``, RFC
    6749 2.3.1) or ``client_id``/``client_secret`` in ``form``; return the request's headers."""
    headers = {"Accept": "application/json"}
    if method == "basic" and client.get("client_id"):
        headers.update(basic(client["client_id"], client.get("client_secret", "")).value_header())
    else:
        form.update({k: v for k, v in client.items() if k in ("client_id", "client_secret") and v})
    return headers


def _oauth_error(response: requests.Response) -> tuple[str, str]:
    """``(error, error_description)`` of a token endpoint's answer, short and printable."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return tuple(printable(body.get(k)) for k in ("error", "error_description"))  # type: ignore[return-value]


def printable(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else ""
    return "".join(c if c.isprintable() else " " for c in text[:limit])


def raise_for_token_response(response: requests.Response) -> None:
    """Classify a token endpoint's answer for :class:`~atom.integrations.http.IntegrationClient`.

    400, 401 and 403 (and a 200 carrying ``error``, as GitHub and Slack answer) refuse the
    grant: :class:`TokenRefused`. 429 and 5xx are the usual transient errors; a redirect is
    never followed (it would carry the client secret elsewhere).
    """
    from atom.integrations.http import parse_retry_after

    status = response.status_code
    if status in (400, 401, 403) or (status == 200 and _oauth_error(response)[0]):
        error, description = _oauth_error(response)
        reason = error or f"HTTP {status}"
        raise TokenRefused(f"the token endpoint refused the grant ({reason}"
                           f"{': ' + description if description else ''})",
                           error=error, description=description, status=status)
    if status < 300:
        return
    # No body in these messages: a token endpoint's answer is not for logs.
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        raise RateLimited("token endpoint answered 429", retry_after=retry_after, status=status)
    if status == 408 or status >= 500:
        raise UpstreamError(f"token endpoint answered {status}", status=status,
                            retry_after=retry_after)
    raise UpstreamError(f"token endpoint answered {status}"
                        + (" (redirects are not followed)" if status < 400 else ""),
                        status=status, permanent=True)


def token_fields(body: Any, now: float) -> dict[str, Any]:
    """The credential fields of a token answer: ``access_token``, and when given
    ``refresh_token``, ``expires_at`` (``now`` + ``expires_in``), ``token_type``, ``scope``.
    ``expires_at`` is None when the answer says nothing of expiry (a previous one is void).

    :raises UpstreamError: the answer has no access token.
    """
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) \
            or not body["access_token"]:
        raise UpstreamError("token endpoint answered without an access_token")
    new: dict[str, Any] = {"access_token": body["access_token"], "expires_at": None}
    if isinstance(body.get("refresh_token"), str) and body["refresh_token"]:
        new["refresh_token"] = body["refresh_token"]
    try:
        if body.get("expires_in") is not None and float(body["expires_in"]) > 0:
            new["expires_at"] = now + float(body["expires_in"])
    except (TypeError, ValueError):
        pass
    for name in ("token_type", "scope"):
        if isinstance(body.get(name), str):
            new[name] = body[name][:4000]
    return new


# Fields of a token answer that are never handed on as plain data.
_TOKENS_ONLY = frozenset({"access_token", "refresh_token", "id_token"})


def answer_extras(body: Any, limit: int = 2000) -> dict[str, Any]:
    """The fields of a token answer besides the tokens (Salesforce's ``instance_url``, ``id``
    and ``issued_at``), for a plugin's ``oauth_connected``: strings, numbers
    and booleans only, strings cut to ``limit`` characters."""
    if not isinstance(body, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in body.items():
        if not isinstance(key, str) or key in _TOKENS_ONLY or key in TOKEN_FIELDS:
            continue
        if isinstance(value, str):
            out[key] = value[:limit]
        elif isinstance(value, (bool, int, float)):
            out[key] = value
    return out


def merge_tokens(creds: dict[str, Any], tokens: Mapping[str, Any]) -> dict[str, Any]:
    """``creds`` with ``tokens`` applied: a ``None`` removes the field, absent ones stay."""
    merged = dict(creds)
    for key, value in tokens.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def token_pair(creds: Mapping[str, Any]) -> tuple[Any, Any]:
    return creds.get("access_token"), creds.get("refresh_token")


class OAuth2(Auth):
    """A bearer token refreshed proactively before expiry and once on a 401.

    ``creds`` holds ``access_token``, ``refresh_token``, ``expires_at`` (epoch seconds) and, for
    connections made before OAuth apps, ``client_id``/``client_secret``. ``client`` is the OAuth
    app (a mapping, or a callable returning one at each refresh); ``token_url`` may be a callable
    too. New tokens are handed to ``persist``.

    With a ``store`` (the runtime's database row), a refresh runs under the store's lock, held
    against every other process: it first re-reads the stored tokens and adopts them when
    another process refreshed meanwhile (a rotating refresh token works once), else exchanges
    its refresh token and stores the answer before the lock is released; a refused refresh
    token marks the stored connection for re-authorisation.
    """

    refreshable = True

    def __init__(
        self,
        creds: dict[str, Any],
        token_url: str | Callable[[], str],
        session: requests.Session,
        clock: Clock,
        persist: Callable[[dict[str, Any]], None] | None = None,
        margin_s: float = 120.0,
        timeout: tuple[float, float] = (5.0, 30.0),
        client_auth: str = "body",
        client: ClientApp | Callable[[], ClientApp] | None = None,
        store: TokenStore | None = None,
    ) -> None:
        self.creds = dict(creds)
        self.token_url = token_url
        self._session = session
        self._clock = clock
        self._persist = persist
        self._store = store
        self._margin = margin_s
        self._timeout = timeout
        self._client_auth = client_auth
        self._app = client
        # The tokens as last seen in the store: a stored pair that differs was written by
        # another process (or a re-authorisation) since.
        self._seen = token_pair(self.creds)
        self._lock = threading.Lock()

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        # No access token yet (a connection given only a refresh token, as Workday's API
        # clients for integrations are): get one before the first request.
        if self._expiring() or not self.creds.get("access_token"):
            self.refresh(stale=self.creds.get("access_token"))
        headers["Authorization"] = f"Bearer {self.creds.get('access_token', '')}"

    def token_fingerprint(self) -> str | None:
        return self.creds.get("access_token")

    def header_names(self) -> frozenset[str]:
        return frozenset({"Authorization"})

    def refresh(self, stale: str | None) -> None:
        """Exchange the refresh token, unless another thread (or, with a store, another
        process) already replaced ``stale``."""
        with self._lock:
            if stale is not None and self.creds.get("access_token") != stale:
                return
            if self._store is None:
                self._renew(None)
                return
            with self._store.locked() as stored:
                if self._adopt(stored.creds, stale):
                    logger.info("adopted the OAuth2 token another process refreshed")
                    return
                self._renew(stored)

    def _renew(self, stored: StoredTokens | None) -> None:
        try:
            if not self.creds.get("refresh_token"):
                raise AuthError("access token expired and no refresh token is stored")
            new = self._exchange()
        except AuthError:
            if stored is not None:
                stored.refused()
            raise
        self.creds = merge_tokens(self.creds, new)
        if stored is not None:
            stored.save(new)
            self._seen = token_pair(self.creds)
        if self._persist is not None:
            self._persist(dict(self.creds))
        logger.info("refreshed OAuth2 token")

    def _adopt(self, stored: dict[str, Any], stale: str | None) -> bool:
        """Take the stored tokens if they changed since last seen; True when their access
        token is usable as it is (no exchange needed)."""
        if not stored or token_pair(stored) == self._seen:
            return False
        self.creds = merge_tokens(self.creds, {k: stored.get(k) for k in TOKEN_FIELDS})
        self._seen = token_pair(stored)
        token = self.creds.get("access_token")
        return bool(token) and token != stale and not self._expiring()

    def _expiring(self) -> bool:
        expires_at = self.creds.get("expires_at")
        return bool(expires_at) and float(expires_at) - self._clock.time() < self._margin

    def _client(self) -> dict[str, str]:
        """The OAuth app's id and secret (an admin's settings); older connections carry them in
        their own credentials. Never persisted with the tokens."""
        app = self._app() if callable(self._app) else self._app
        own = {k: v for k, v in (app or {}).items() if v}
        return own or {k: self.creds[k] for k in ("client_id", "client_secret")
                       if self.creds.get(k)}

    def _exchange(self) -> dict[str, Any]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.creds["refresh_token"],
        }
        headers = client_credentials(self._client_auth, self._client(), form)
        url = self.token_url() if callable(self.token_url) else self.token_url
        if not url:
            raise AuthError("no token URL to refresh the access token; re-authorise the connection")
        try:
            # Not followed: a 307 would resend the client secret wherever it points.
            resp = self._session.post(url, data=form, headers=headers,
                                      timeout=self._timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise IntegrationTimeout("token refresh timed out") from exc
        except requests.ConnectionError as exc:
            raise UpstreamError("token endpoint unreachable") from exc
        try:
            raise_for_token_response(resp)
        except TokenRefused as exc:
            raise TokenRefused("refresh token was refused; re-authorise the connection"
                               + (f" ({exc.error})" if exc.error else ""), error=exc.error,
                               description=exc.description, status=exc.status) from None
        try:
            body = resp.json()
        except ValueError as exc:
            raise UpstreamError("token endpoint answered without an access_token") from exc
        return token_fields(body, self._clock.time())


def uses_oauth2(scheme: AuthScheme, creds: dict[str, Any]) -> bool:
    """Whether a connection is sent with OAuth2 tokens: the scheme is OAuth2, or it offers
    the connect flow and these credentials came from it."""
    return scheme.kind == "oauth2" or (scheme.oauth2 is not None
                                       and bool(creds.get("access_token")))


def from_scheme(scheme: AuthScheme, creds: dict[str, Any],
                settings: dict[str, Any] | None = None) -> Auth:
    """Build the request authentication a manifest declares, from a connection's credentials.

    OAuth2 tokens are sent as a plain bearer here; the runtime wraps them in :class:`OAuth2`
    when a refresh token is stored.
    """
    if uses_oauth2(scheme, creds):
        token = creds.get("access_token")
        return bearer(token) if token else NoAuth()
    kind = scheme.kind
    if kind in ("bearer", "api_key") and scheme.location == "header":
        value = creds.get(scheme.secret or "")
        if not value:
            return NoAuth()
        return HeaderAuth(scheme.header, f"{scheme.prefix} {value}" if scheme.prefix else value)
    if kind == "api_key":
        return QueryAuth({param: str(creds.get(name, "")) for param, name in scheme.params.items()
                          if creds.get(name)})
    if kind == "basic":
        username = creds.get(scheme.username or "", "")
        password = creds.get(scheme.password, "") if scheme.password else ""
        return basic(username + scheme.username_suffix, password) if username else NoAuth()
    if kind == "custom":
        from atom.integrations.registry import resolve

        return resolve(scheme.signer or "")(creds, settings or {})
    return NoAuth()
