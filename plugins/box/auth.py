"""Box server authentication (no user in the loop): an access token minted at Box's token URL
from the app's own credentials, re-minted before it expires and once on a 401.

- Client Credentials Grant (https://developer.box.com/guides/authentication/client-credentials/):
  ``grant_type=client_credentials`` with ``client_id``, ``client_secret``,
  ``box_subject_type`` (``enterprise`` or ``user``) and ``box_subject_id``.
- JWT (https://developer.box.com/guides/authentication/jwt/without-sdk/): an assertion signed
  RS256 with the app's private key, header ``kid`` = the public key id; claims ``iss`` = client
  id, ``sub`` = enterprise or user id, ``box_sub_type``, ``aud`` = the token URL, a unique
  ``jti`` and ``exp`` at most 60 s ahead; exchanged with
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion``, ``client_id`` and
  ``client_secret``.

Neither grant returns a refresh token: the token (60 minutes, ``expires_in``) is minted anew.
The token URL is ``/oauth2/token`` on the API's own origin (``https://api.box.com``), so the
app's secrets go nowhere the connection's base URL does not. The request is sent through the
connection client's session (its outbound policy), handed over by the runtime (:meth:`bind`).
"""
from __future__ import annotations

import secrets
import threading
from typing import Any
from urllib.parse import urljoin

import requests

from atom.integrations import auth as auth_mod
from atom.integrations.errors import AuthError
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import UpstreamError

DEFAULT_BASE = "https://api.box.com/2.0/"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Box refuses an assertion whose exp is more than 60 s ahead; 45 s leaves room for skew.
ASSERTION_LIFETIME_S = 45
# Mint a new token this long before the current one expires.
MARGIN_S = 120.0


def token_url(settings: dict[str, Any]) -> str:
    """``/oauth2/token`` on the base URL's origin (Box: https://api.box.com/oauth2/token)."""
    return urljoin(settings.get("base_url") or DEFAULT_BASE, "/oauth2/token")


def server_auth(creds: dict[str, Any], settings: dict[str, Any]) -> auth_mod.Auth:
    """The ``custom`` signer of the manifest: server authentication for ``auth_mode``."""
    if not creds.get("auth_mode"):
        return auth_mod.NoAuth()
    return BoxServerAuth(creds, token_url(settings))


class BoxServerAuth(auth_mod.Auth):
    """A bearer token minted with the Client Credentials Grant or a JWT assertion."""

    refreshable = True

    def __init__(self, creds: dict[str, Any], url: str) -> None:
        self.creds = creds
        self.url = url
        self.token: str | None = None
        self.expires_at = 0.0
        self._session: requests.Session | None = None
        self._clock: Any = None
        self._timeout: tuple[float, float] = (5.0, 30.0)
        self._lock = threading.Lock()
        self._key: Any = None
        self._client: Any = None
        self._redactor: Any = None

    def bind(self, client: Any) -> None:
        self._client = client
        self._redactor = client.redactor  # the connection's own secrets
        self._session = client.session
        self._clock = client.clock
        self._timeout = (client.settings.connect_timeout, client.settings.read_timeout)

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        if self.token is None or self._expiring():
            self.refresh(stale=self.token)
        headers["Authorization"] = f"Bearer {self.token}"

    def header_names(self) -> frozenset[str]:
        return frozenset({"Authorization"})

    def token_fingerprint(self) -> str | None:
        return self.token

    def refresh(self, stale: str | None) -> None:
        with self._lock:
            if self.token is not None and self.token != stale and not self._expiring():
                return  # another thread minted one meanwhile
            self._mint()

    # -- internals -------------------------------------------------------------------------

    def _now(self) -> float:
        import time

        return self._clock.time() if self._clock is not None else time.time()

    def _expiring(self) -> bool:
        return self.expires_at - self._now() < MARGIN_S

    def form(self) -> dict[str, str]:
        """The token request's form for this connection's grant."""
        c = self.creds
        form = {"client_id": c.get("client_id", ""), "client_secret": c.get("client_secret", "")}
        if c.get("auth_mode") == "jwt":
            form.update(grant_type=JWT_GRANT, assertion=self.assertion())
        else:
            form.update(grant_type="client_credentials",
                        box_subject_type=c.get("subject_type") or "enterprise",
                        box_subject_id=str(c.get("subject_id", "")))
        return form

    def assertion(self) -> str:
        import jwt
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        c = self.creds
        if self._key is None:  # decrypting the key is slow (its KDF): once per connection
            passphrase = c.get("private_key_passphrase")
            try:
                self._key = load_pem_private_key(c["private_key"].encode(),
                                                 passphrase.encode() if passphrase else None)
            except (KeyError, TypeError, ValueError) as exc:
                # No detail: the message must not say anything about the key's content.
                raise AuthError("the JWT private key cannot be read (wrong key or "
                                "passphrase?)") from exc
        key = self._key
        now = int(self._now())
        claims = {"iss": c.get("client_id"), "sub": str(c.get("subject_id")),
                  "box_sub_type": c.get("subject_type") or "enterprise", "aud": self.url,
                  "jti": secrets.token_urlsafe(32), "exp": now + ASSERTION_LIFETIME_S}
        return jwt.encode(claims, key, algorithm="RS256",
                          headers={"kid": c.get("public_key_id"), "typ": "JWT"})

    def _mint(self) -> None:
        try:
            self._exchange()
        except (UpstreamError, IntegrationTimeout) as exc:
            # A token request changes nothing: a transient failure may be tried again.
            exc.retryable = not exc.permanent
            raise

    def _exchange(self) -> None:
        if self._session is None:
            raise AuthError("Box server authentication was not bound to a client session")
        try:
            # Not followed: a redirect would carry the client secret elsewhere.
            response = self._session.post(self.url, data=self.form(),
                                          headers={"Accept": "application/json"},
                                          timeout=self._timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise IntegrationTimeout("Box token request timed out") from exc
        except requests.ConnectionError as exc:
            raise UpstreamError("Box token endpoint unreachable") from exc
        auth_mod.raise_for_token_response(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamError("Box's token endpoint answered without JSON") from exc
        fields = auth_mod.token_fields(body, self._now())
        self.token = fields["access_token"]
        # No expires_in: assume Box's documented 60 minutes.
        self.expires_at = fields.get("expires_at") or self._now() + 3600.0
        self._redact(self.token)

    def _redact(self, token: str) -> None:
        """Redact the minted token like the connection's own secrets (a service may echo
        it): the connection's redactor plus the current token (not every token minted)."""
        from atom.integrations.redaction import LIVE
        from atom.integrations.redaction import Redactor

        if self._client is None:
            return
        minted = Redactor.for_credentials({"access_token": token}, ())
        self._client.redactor = (self._redactor | minted) if self._redactor else minted
        LIVE.register(self._client, self._client.redactor)
