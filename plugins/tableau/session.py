"""Tableau's session sign-in as a ``custom`` auth signer.

``POST /api/{version}/auth/signin`` with ``personalAccessTokenName``,
``personalAccessTokenSecret`` and the site's ``contentUrl`` ("" is the default site) answers
``credentials.token`` (sent as ``X-Tableau-Auth``), ``credentials.site.id`` (the site LUID in
every path) and ``credentials.user.id``
(https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_authentication.htm#sign_in).
A session lasts about 240 minutes (Server admins change it with ``wgserver.session.idle_limit``)
and a personal access token holds one session at a time: a new sign-in ends the previous one.

The signer signs in before the first request, and again once when a request answers 401
(expired session, code 401002): the client calls :meth:`TableauSession.refresh` and retries.
The sign-in goes through the connection's own client session (the outbound policy's
transport) and timeouts, handed over by the runtime (:meth:`bind`), never redirected.

The session is per process: two ATOM processes with one token take each other's session in
turn (each 401 costs one sign-in). Give each worker pool its own token if that matters.
"""
from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urljoin

import requests

from atom.integrations.auth import Auth
from atom.integrations.errors import AuthError
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.http import parse_retry_after

DEFAULT_VERSION = "3.22"


def tableau_error(response: requests.Response) -> tuple[str, str]:
    """``(code, "summary: detail")`` of a Tableau error body (JSON), or ``("", "")``."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    text = ": ".join(str(error[k])[:200] for k in ("summary", "detail") if error.get(k))
    return str(error.get("code") or ""), text


class TableauSession(Auth):
    """``X-Tableau-Auth`` from a personal-access-token sign-in, renewed once on a 401."""

    refreshable = True

    def __init__(self, creds: dict[str, Any], settings: dict[str, Any]) -> None:
        self._name = str(creds.get("token_name") or "")
        self._secret = str(creds.get("token_secret") or "")
        self.site_content_url = str(settings.get("site_content_url") or "")
        self.version = str(settings.get("api_version") or DEFAULT_VERSION)
        self.token: str | None = None
        self.site_id: str | None = None
        self.user_id: str | None = None
        self.sign_ins = 0
        self._client: Any = None
        self._lock = threading.Lock()

    def bind(self, client: Any) -> None:
        self._client = client

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        if self.token is None:
            self.refresh(stale=None)
        headers["X-Tableau-Auth"] = self.token or ""

    def token_fingerprint(self) -> str | None:
        return self.token

    def header_names(self) -> frozenset[str]:
        return frozenset({"X-Tableau-Auth"})

    def site(self) -> str:
        """The signed-in site's LUID (signing in first if need be)."""
        if self.site_id is None:
            self.refresh(stale=None)
        assert self.site_id is not None
        return self.site_id

    def refresh(self, stale: str | None) -> None:
        """Sign in, unless another thread already replaced ``stale`` (None: no session yet)."""
        with self._lock:
            if self.token is not None and self.token != stale:
                return
            self._sign_in()

    def _sign_in(self) -> None:
        client = self._client
        if client is None:
            raise AuthError("the Tableau session has no client to sign in with")
        if not self._name or not self._secret:
            raise AuthError("give the personal access token's name and secret")
        url = urljoin(client.settings.base_url, f"api/{self.version}/auth/signin")
        body = {"credentials": {"personalAccessTokenName": self._name,
                                "personalAccessTokenSecret": self._secret,
                                "site": {"contentUrl": self.site_content_url}}}
        try:
            resp = client.session.post(
                url, json=body, headers={"Accept": "application/json"},
                timeout=(client.settings.connect_timeout, client.settings.read_timeout),
                allow_redirects=False)
        except requests.Timeout as exc:
            raise IntegrationTimeout("Tableau sign-in timed out") from exc
        except requests.ConnectionError as exc:
            raise UpstreamError("Tableau sign-in: server unreachable") from exc
        status = resp.status_code
        code, text = tableau_error(resp)
        message = f"Tableau sign-in answered {status}" + (f" ({code})" if code else "") + \
            (f": {text}" if text else "")
        if status in (400, 401, 403):
            raise AuthError(message + "; check the token name and secret, that the token has "
                            "not expired (15 days unused) and the site content URL",
                            status=status)
        if status == 429:
            raise RateLimited(message, status=status,
                              retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if status >= 500 or status == 408:
            raise UpstreamError(message, status=status)
        if status >= 300:
            raise UpstreamError(message + (" (redirects are not followed)" if status < 400
                                           else ""), status=status, permanent=True)
        try:
            creds = resp.json()["credentials"]
            token, site_id = creds["token"], creds["site"]["id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamError("Tableau sign-in answered without credentials.token",
                                permanent=True) from exc
        self.token, self.site_id = str(token), str(site_id)
        self.user_id = str((creds.get("user") or {}).get("id") or "") or None
        self.sign_ins += 1


def signer(creds: dict[str, Any], settings: dict[str, Any]) -> TableauSession:
    """The ``custom`` AuthScheme's signer (``plugins.tableau.session:signer``)."""
    return TableauSession(creds, settings)
