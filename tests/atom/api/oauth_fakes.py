"""A local OAuth2 authorization server and a test integration that connects through it.

:class:`FakeAuthorizationServer` follows RFC 6749 (authorization code grant, refresh grant,
client authentication by HTTP Basic or in the body, the error answers of 5.2) and RFC 7636
(PKCE, S256 only): it verifies ``code_verifier`` against the ``code_challenge`` the authorize
request carried, issues single-use codes bound to their redirect URI, and with ``rotating``
every refresh returns a new refresh token and refuses the old one (as Xero, Jira and Asana
do). It also serves a protected resource (``/api/me``) and Atlassian's
``accessible-resources`` list (``/accessible-resources``). It runs on a real socket
(:class:`tests.fakes.FakeServer`), so ATOM's token exchange goes through its real client.

The ``acme`` integration (and ``acme_basic``: HTTP Basic client authentication, no PKCE) has
OAuth2 URLs with an ``{auth_base}`` placeholder that the OAuth app's settings fill.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.integrations.base import Integration
from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.shapes import STR
from atom.integrations.shapes import obj
from plugins.jira.manifest import MANIFEST as JIRA
from tests.fakes import FakeServer
from tests.fakes import Recorded
from tests.fakes import Reply

CLIENT_ID = "atom-client-42"
CLIENT_SECRET = "cs-SUPERSECRET-0123456789abcdef"
WORKSPACE = "acme-ws"
CLOUD_ID = "11223344-a1b2-3c4d-5e6f-aabbccddeeff"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str | None
    scope: str
    issued: float
    used: bool = False


class FakeAuthorizationServer:
    """The vendor's authorization server: ``/authorize``, ``/token``, and resources."""

    def __init__(self, server: FakeServer, *, client_auth: str = "body", rotating: bool = True,
                 code_ttl: float = 600.0, token_ttl: float = 3600.0) -> None:
        self.server, self.url = server, server.url
        self.client_auth = client_auth
        self.rotating = rotating
        self.code_ttl, self.token_ttl = code_ttl, token_ttl
        self.deny = False  # the user refuses consent
        self.delay = 0.0  # seconds the token endpoint takes
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, bool] = {}  # token -> still valid
        self.access_tokens: dict[str, float] = {}  # token -> expiry
        self.sites = [{"id": CLOUD_ID, "url": "https://acme.atlassian.net", "name": "acme",
                       "scopes": ["read:jira-work"]}]
        self._lock = threading.Lock()
        server.always("/authorize", self._authorize)
        server.always("/token", self._token)
        server.always("/api/me", self._me)
        server.always("/accessible-resources", self._resources)

    # -- what a test does as the user or the vendor ----------------------------------------------

    def consent(self, authorize_url: str) -> dict[str, str]:
        """Open the authorize URL as the user's browser would and approve (or, with ``deny``,
        refuse); return the query the vendor redirects back with."""
        response = requests.get(authorize_url, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def expire_codes(self) -> None:
        with self._lock:
            for grant in self.codes.values():
                grant.issued -= self.code_ttl + 1

    def issue(self) -> dict[str, Any]:
        """Tokens as if a code had been exchanged (for refresh tests)."""
        with self._lock:
            return self._tokens("read")

    def token_requests(self, grant_type: str | None = None) -> list[Recorded]:
        return [r for r in self.server.calls("/token")
                if grant_type is None or r.form().get("grant_type") == grant_type]

    # -- the endpoints ---------------------------------------------------------------------------

    def _authorize(self, req: Recorded) -> Reply:
        q = {k: v[0] for k, v in req.query.items()}
        if q.get("response_type") != "code" or q.get("client_id") != CLIENT_ID \
                or not q.get("redirect_uri"):
            return Reply(400, {"error": "invalid_request"})
        if q.get("code_challenge") and q.get("code_challenge_method") != "S256":
            return Reply(400, {"error": "invalid_request", "error_description": "S256 only"})
        back = {"state": q.get("state", "")}
        if self.deny:
            back.update(error="access_denied", error_description="The user denied access")
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self.codes[code] = Grant(q["client_id"], q["redirect_uri"],
                                         q.get("code_challenge"), q.get("scope", ""), time.time())
            back["code"] = code
        return Reply(302, headers={"Location": f"{q['redirect_uri']}?{urlencode(back)}"})

    def _client(self, req: Recorded, form: dict[str, str]) -> bool:
        if self.client_auth == "basic":
            scheme, _, value = req.headers.get("Authorization", "").partition(" ")
            if scheme != "Basic" or "client_secret" in form:
                return False
            user, _, password = base64.b64decode(value).decode().partition(":")
            return (user, password) == (CLIENT_ID, CLIENT_SECRET)
        return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)

    def _token(self, req: Recorded) -> Reply:
        form = req.form()
        if req.method != "POST":
            return Reply(405, {"error": "invalid_request"})
        if not self._client(req, form):
            return Reply(401, {"error": "invalid_client"})
        with self._lock:
            if form.get("grant_type") == "authorization_code":
                answer = self._code_grant(form)
            elif form.get("grant_type") == "refresh_token":
                answer = self._refresh_grant(form)
            else:
                answer = Reply(400, {"error": "unsupported_grant_type"})
        answer.delay = self.delay
        return answer

    def _code_grant(self, form: dict[str, str]) -> Reply:
        grant = self.codes.get(form.get("code", ""))
        if grant is None or grant.used or time.time() - grant.issued > self.code_ttl:
            return Reply(400, {"error": "invalid_grant",
                               "error_description": "authorization code expired or used"})
        grant.used = True
        if grant.redirect_uri != form.get("redirect_uri"):
            return Reply(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if not verifier or digest.rstrip(b"=").decode() != grant.challenge:
                return Reply(400, {"error": "invalid_grant",
                                   "error_description": "PKCE verification failed"})
        return Reply(200, self._tokens(grant.scope))

    def _refresh_grant(self, form: dict[str, str]) -> Reply:
        token = form.get("refresh_token", "")
        if not self.refresh_tokens.get(token):
            return Reply(400, {"error": "invalid_grant",
                               "error_description": "refresh token reused or revoked"})
        if not self.rotating:
            answer = self._tokens("read", refresh=False)
            return Reply(200, answer)
        self.refresh_tokens[token] = False
        return Reply(200, self._tokens("read"))

    def _tokens(self, scope: str, refresh: bool = True) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(16)
        self.access_tokens[access] = time.time() + self.token_ttl
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                                "expires_in": int(self.token_ttl), "scope": scope}
        if refresh:
            body["refresh_token"] = "rt-" + secrets.token_urlsafe(16)
            self.refresh_tokens[body["refresh_token"]] = True
        return body

    def _bearer_ok(self, req: Recorded) -> bool:
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        with self._lock:
            return scheme == "Bearer" and self.access_tokens.get(token, 0) > time.time()

    def _me(self, req: Recorded) -> Reply:
        if not self._bearer_ok(req):
            return Reply(401, {"error": "invalid_token"})
        return Reply(200, {"user": "mia", "workspace": WORKSPACE})

    def _resources(self, req: Recorded) -> Reply:
        if not self._bearer_ok(req):
            return Reply(401, {"code": 401, "message": "Unauthorized"})
        return Reply(200, self.sites)


# -- the test integration ----------------------------------------------------------------------


class AcmeCredentials(OAuth2Tokens):
    """The tokens of the connect flow."""


class AcmeSettings(Schema):
    workspace = fields.String(validate=validate.Regexp(r"^[a-z0-9-]{1,40}$"),
                              metadata={"description": "set by the connect flow"})
    # Where the authorization server is; the token URL's host: the OAuth app must set it.
    auth_base = fields.Url(require_tld=False)


class WhoAmIInput(Schema):
    pass


class AcmeIntegration(Integration):
    def health_check(self) -> None:
        self.http.get("/api/me", operation="health")

    def whoami(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.http.get("/api/me").json()

    def oauth_connected(self) -> dict[str, Any]:
        base = self.connection.settings["base_url"].rstrip("/")
        return {"workspace": self.http.get(f"{base}/api/me").json()["workspace"]}


ACME = Manifest(
    slug="acme", display_name="Acme", category="productivity",
    description="A fake OAuth2 service (tests).",
    auth=AuthScheme(kind="oauth2", fields=AcmeCredentials, oauth2=OAuth2Spec(
        authorize_url="{auth_base}/authorize", token_url="{auth_base}/token",
        scopes=("read", "write"), pkce=True, authorize_params={"audience": "acme-api"},
        rotating_refresh=True)),
    integration="tests.atom.api.oauth_fakes:AcmeIntegration",
    settings=AcmeSettings,
    actions=(Action("whoami", "Who am I", WhoAmIInput, obj(user=STR, workspace=STR), example={},
                    read_only=True, idempotent=True),),
    contract=Contract("fake"),
)
ACME_BASIC = replace(ACME, slug="acme_basic", display_name="Acme Basic", auth=replace(
    ACME.auth, oauth2=replace(ACME.auth.oauth2, client_auth="basic", pkce=False,
                              scope_separator=",")))
# Jira's own manifest with its OAuth2 URLs on the fake.
JIRA_ON_FAKE = replace(JIRA, auth=replace(JIRA.auth, oauth2=replace(
    JIRA.auth.oauth2, authorize_url="{auth_base}/authorize", token_url="{auth_base}/token")))
PLUGINS = [ACME, ACME_BASIC, JIRA_ON_FAKE]
