"""Request authentication: static schemes and OAuth2 with refresh under a lock."""
from __future__ import annotations

import base64
import logging
import threading
from typing import TYPE_CHECKING
from typing import Any
from typing import Callable

import requests
import requests.auth

from atom.integrations.clock import Clock
from atom.integrations.errors import AuthError
from atom.integrations.errors import IntegrationTimeout
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


class OAuth2(Auth):
    """A bearer token refreshed proactively before expiry and once on a 401.

    ``creds`` holds ``access_token``, ``refresh_token``, ``expires_at`` (epoch seconds) and
    ``client_id``/``client_secret``. Rotated tokens are handed to ``persist``.
    """

    refreshable = True

    def __init__(
        self,
        creds: dict[str, Any],
        token_url: str,
        session: requests.Session,
        clock: Clock,
        persist: Callable[[dict[str, Any]], None] | None = None,
        margin_s: float = 120.0,
        timeout: tuple[float, float] = (5.0, 30.0),
        client_auth: str = "body",
        client: dict[str, str] | None = None,
    ) -> None:
        self.creds = dict(creds)
        self.token_url = token_url
        self._session = session
        self._clock = clock
        self._persist = persist
        self._margin = margin_s
        self._timeout = timeout
        self._client_auth = client_auth
        # The OAuth app's id and secret (an admin's settings); older connections carry them in
        # their own credentials. Never persisted with the tokens.
        self._client = {k: v for k, v in (client or {}).items() if v} or {
            k: self.creds[k] for k in ("client_id", "client_secret") if self.creds.get(k)}
        self._lock = threading.Lock()

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        expires_at = self.creds.get("expires_at")
        if expires_at and float(expires_at) - self._clock.time() < self._margin:
            self.refresh(stale=self.creds.get("access_token"))
        headers["Authorization"] = f"Bearer {self.creds.get('access_token', '')}"

    def token_fingerprint(self) -> str | None:
        return self.creds.get("access_token")

    def header_names(self) -> frozenset[str]:
        return frozenset({"Authorization"})

    def refresh(self, stale: str | None) -> None:
        """Exchange the refresh token, unless another thread already replaced ``stale``."""
        with self._lock:
            if stale is not None and self.creds.get("access_token") != stale:
                return
            if not self.creds.get("refresh_token"):
                raise AuthError("access token expired and no refresh token is stored")
            new = self._exchange()
            self.creds.update(new)
            if self._persist is not None:
                self._persist(dict(self.creds))
            logger.info("refreshed OAuth2 token")

    def _exchange(self) -> dict[str, Any]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.creds["refresh_token"],
        }
        headers: dict[str, str] = {"Accept": "application/json"}
        if self._client_auth == "basic" and self._client.get("client_id"):
            headers.update(basic(self._client["client_id"],
                                 self._client.get("client_secret", "")).value_header())
        else:
            form.update(self._client)
        try:
            # Not followed: a 307 would resend the client secret wherever it points.
            resp = self._session.post(self.token_url, data=form, headers=headers,
                                      timeout=self._timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise IntegrationTimeout("token refresh timed out") from exc
        except requests.ConnectionError as exc:
            raise UpstreamError("token endpoint unreachable") from exc
        if resp.status_code in (400, 401, 403):
            raise AuthError("refresh token was refused; re-authorise the connection", status=resp.status_code)
        if resp.status_code >= 300:
            raise UpstreamError(f"token endpoint answered {resp.status_code}", status=resp.status_code)
        try:
            body = resp.json()
            access = body["access_token"]
        except (ValueError, KeyError) as exc:
            raise UpstreamError("token endpoint answered without an access_token") from exc
        new: dict[str, Any] = {"access_token": access}
        if body.get("refresh_token"):
            new["refresh_token"] = body["refresh_token"]
        if body.get("expires_in"):
            new["expires_at"] = self._clock.time() + float(body["expires_in"])
        return new


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
        return basic(username, password) if username else NoAuth()
    if kind == "custom":
        from atom.integrations.registry import resolve

        return resolve(scheme.signer or "")(creds, settings or {})
    return NoAuth()
