"""How an Okta connection authenticates: the manifest's ``custom`` signer.

- An API token: ``Authorization: SSWS <token>``
  (https://developer.okta.com/docs/guides/create-an-api-token/).
- A service app: OAuth 2.0 client credentials with ``private_key_jwt``
  (https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/): a JWT
  signed with the app's private key (``iss`` = ``sub`` = client id, ``aud`` = the token URL,
  ``exp`` at most an hour ahead, a unique ``jti``) is exchanged at
  ``https://{domain}/oauth2/v1/token`` for an access token with the ``okta.*`` scopes, sent as
  ``Authorization: Bearer``. The token lives an hour (``expires_in``: 3600, verify) and is
  minted again two minutes before it expires, or once on a 401. The token request goes through
  the connection client's session (its outbound policy) handed over by ``bind``.

  Not covered (verify): service apps that require DPoP-bound tokens (Okta answers
  ``invalid_dpop_proof``; turn "Require DPoP" off for the app).
"""
from __future__ import annotations

import threading
import uuid
from typing import Any
from urllib.parse import urlsplit

import requests

from atom.integrations import auth as auth_mod
from atom.integrations.clock import SYSTEM_CLOCK
from atom.integrations.clock import Clock
from atom.integrations.errors import AuthError
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import UpstreamError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300


def token_url(settings: dict[str, Any]) -> str:
    """The org authorization server's token URL: on ``base_url``'s origin when it is set (a
    proxy, a test fake), else on the domain."""
    base = settings.get("base_url")
    if base:
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}/oauth2/v1/token"
    return f"https://{settings.get('domain', '')}/oauth2/v1/token"


def okta_auth(creds: dict[str, Any], settings: dict[str, Any]) -> auth_mod.Auth:
    """The manifest's signer: SSWS for an API token, else the service app's tokens."""
    if creds.get("api_token"):
        return auth_mod.HeaderAuth("Authorization", f"SSWS {creds['api_token']}")
    if creds.get("client_id") and creds.get("private_key"):
        return ServiceAppAuth(creds, token_url(settings))
    return auth_mod.NoAuth()


class ServiceAppAuth(auth_mod.Auth):
    """Access tokens of an Okta service app, minted with a signed client assertion."""

    refreshable = True

    def __init__(self, creds: dict[str, Any], url: str, margin_s: float = 120.0) -> None:
        self._client_id = creds["client_id"]
        self._key = creds["private_key"]
        self._kid = creds.get("key_id")
        self._scopes = creds.get("scopes") or "okta.users.manage okta.groups.manage"
        self._url = url
        self._margin = margin_s
        self._session: requests.Session | None = None
        self._clock: Clock = SYSTEM_CLOCK
        self._timeout = (5.0, 30.0)
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def bind(self, client: Any) -> None:
        self._session, self._clock = client.session, client.clock
        self._timeout = (client.settings.connect_timeout, client.settings.read_timeout)

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        if self._token is None or self._expires_at - self._clock.time() < self._margin:
            self.refresh(stale=self._token)
        headers["Authorization"] = f"Bearer {self._token}"

    def token_fingerprint(self) -> str | None:
        return self._token

    def header_names(self) -> frozenset[str]:
        return frozenset({"Authorization"})

    def refresh(self, stale: str | None) -> None:
        """Mint a new access token, unless another thread already replaced ``stale``."""
        with self._lock:
            if self._token is not None and self._token != stale:
                return
            self._token, self._expires_at = self._mint()

    def assertion(self) -> str:
        """The signed client assertion (RFC 7523 section 3, as Okta asks for it)."""
        import jwt  # pyjwt

        now = int(self._clock.time())
        claims = {"iss": self._client_id, "sub": self._client_id, "aud": self._url,
                  "iat": now, "exp": now + ASSERTION_LIFETIME_S, "jti": uuid.uuid4().hex}
        algorithm = "ES256" if "EC PRIVATE KEY" in self._key else "RS256"
        try:
            return jwt.encode(claims, self._key, algorithm=algorithm,
                              headers={"kid": self._kid} if self._kid else None)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise AuthError("the service app's private_key is not a PEM RSA or EC private "
                            f"key ({type(exc).__name__})") from None

    def _mint(self) -> tuple[str, float]:
        if self._session is None:
            raise AuthError("the service app's token request has no client session")
        form = {"grant_type": "client_credentials", "scope": self._scopes,
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion()}
        try:
            # Not followed: a redirect would carry the assertion elsewhere.
            response = self._session.post(self._url, data=form,
                                          headers={"Accept": "application/json"},
                                          timeout=self._timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise IntegrationTimeout("Okta's token endpoint timed out") from exc
        except requests.ConnectionError as exc:
            raise UpstreamError("Okta's token endpoint is unreachable") from exc
        auth_mod.raise_for_token_response(response)
        try:
            fields = auth_mod.token_fields(response.json(), self._clock.time())
        except ValueError as exc:
            raise UpstreamError("Okta's token endpoint answered without JSON") from exc
        return fields["access_token"], fields.get("expires_at") or self._clock.time() + 3600
