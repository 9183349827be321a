"""What a plugin declares about itself, as plain frozen data.

A plugin's ``manifest.py`` builds one :class:`Manifest` named ``MANIFEST`` and exposes it
under the ``atom.integrations`` entry-point group. Nothing here imports a vendor SDK.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Mapping

from marshmallow import Schema

CATEGORIES = (
    "communication",
    "project-management",
    "storage",
    "crm",
    "support",
    "developer",
    "finance",
    "productivity",
    "identity",
    "hr",
    "ai",
    "cloud",
    "analytics",
    "generic",
)
AUTH_KINDS = ("none", "api_key", "basic", "bearer", "oauth2", "custom")
API_KEY_LOCATIONS = ("header", "query")


@dataclass(frozen=True, eq=False)
class OAuth2Spec:
    """The vendor's authorization-code flow (RFC 6749, with PKCE per RFC 7636).

    ``authorize_url`` and ``token_url`` may contain ``{setting}`` placeholders filled from the
    connection's settings (a self-managed GitLab host, an Entra ID tenant).
    """

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    pkce: bool = True
    # Extra authorize parameters: Google needs access_type=offline and prompt=consent to issue a
    # refresh token; Atlassian needs audience=api.atlassian.com.
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    # How the client authenticates at the token URL: "body" (client_id/client_secret in the form)
    # or "basic" (HTTP Basic, RFC 6749 2.3.1).
    client_auth: str = "body"
    # The refresh token is single-use: every refresh returns a new one (Xero, Jira, Asana).
    rotating_refresh: bool = False


@dataclass(frozen=True, eq=False)
class AuthScheme:
    """How a connection authenticates, declared once; the client builds it from this.

    ``fields`` validates the credentials; fields flagged ``metadata={"secret": True}`` are
    encrypted, masked and redacted. How they are applied, per ``kind``:

    - ``bearer``: ``header: f"{prefix} {credentials[secret]}"`` (``Authorization: Bearer x``,
      ``Authorization: Bot x``; ``prefix=""`` sends the value alone).
    - ``api_key``: ``location="header"``: as bearer, under ``header`` (``PRIVATE-TOKEN: x``,
      ``Authorization: SSWS x``); ``location="query"``: every ``params`` entry
      (query parameter -> credential field) is added to the query (Trello's ``key``/``token``).
    - ``basic``: HTTP Basic from the ``username`` and ``password`` fields (``password`` may be
      None: Stripe's key as the user name); ``username_suffix`` is appended to the user name
      (Zendesk's API tokens: ``{email}/token:{api_token}``).
    - ``oauth2``: the tokens of the OAuth2 connect flow (``access_token``, ``refresh_token``,
      ``expires_at``), sent as ``Authorization: Bearer``, refreshed before expiry and on a 401.
    - ``custom``: ``signer`` (``"module:callable"``) is called with the credentials and the
      connection settings and returns an :class:`atom.integrations.auth.Auth` (AWS SigV4); the
      runtime then hands it the connection's client (:meth:`~atom.integrations.auth.Auth.bind`),
      for a signer that signs in with a request of its own (Tableau's session sign-in).
    - ``none``: nothing.

    A static kind may also offer ``oauth2``: a connection made by the connect flow carries
    ``access_token`` and is sent as OAuth2 whatever the static kind says.
    """

    kind: str
    fields: type[Schema]
    secret: str | None = None
    header: str = "Authorization"
    prefix: str = "Bearer"
    location: str = "header"
    params: Mapping[str, str] = field(default_factory=dict)
    username: str | None = None
    password: str | None = None
    username_suffix: str = ""
    oauth2: OAuth2Spec | None = None
    signer: str | None = None

    @property
    def token_url(self) -> str | None:
        return self.oauth2.token_url if self.oauth2 else None

    @property
    def scopes(self) -> tuple[str, ...]:
        return self.oauth2.scopes if self.oauth2 else ()

    def applied_fields(self) -> set[str]:
        """The credential fields this scheme sends (the contract test checks they exist)."""
        if self.kind in ("bearer", "api_key") and self.location == "header":
            return {self.secret} if self.secret else set()
        if self.kind == "api_key":
            return set(self.params.values())
        if self.kind == "basic":
            return {f for f in (self.username, self.password) if f}
        if self.kind == "oauth2":
            return {"access_token"}
        return set()

    def describe(self) -> dict[str, Any]:
        """The declaration as JSON, for the catalogue."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("bearer", "api_key") and self.location == "header":
            out.update(location="header", header=self.header, prefix=self.prefix,
                       field=self.secret)
        elif self.kind == "api_key":
            out.update(location="query", params=dict(self.params))
        elif self.kind == "basic":
            out.update(username=self.username, password=self.password)
            if self.username_suffix:
                out["username_suffix"] = self.username_suffix
        if self.oauth2 is not None:
            out["oauth2"] = {"authorize_url": self.oauth2.authorize_url,
                             "token_url": self.oauth2.token_url,
                             "scopes": list(self.oauth2.scopes), "pkce": self.oauth2.pkce,
                             "rotating_refresh": self.oauth2.rotating_refresh}
        return out


@dataclass(frozen=True)
class RateLimit:
    """A published limit: ``per_second`` sustained, ``burst`` at once."""

    per_second: float
    burst: int = 1


# JSON Schema of an action's output or a trigger's payload.
JsonSchema = Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Action:
    """One thing a connection can do.

    ``name`` maps to the integration method of the same name. ``output`` is the JSON Schema of
    what it returns; ``example`` is an input the vendor's API accepts as it is (for a service
    with a published spec, Prism accepts it). ``idempotent`` says whether a retry of the whole
    action is safe; ``read_only`` marks actions the test report may run. ``words`` are what
    people call it ("card", "DM", "ticket"), for the text-to-workflow parser.
    """

    name: str
    title: str
    input: type[Schema]
    output: JsonSchema
    example: Mapping[str, Any]
    idempotent: bool = False
    read_only: bool = False
    description: str = ""
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Webhook:
    """Delivered by the vendor to ``/hooks/<slug>/<connection id>``, verified by the
    manifest's :class:`WebhookSpec` scheme."""

    kind = "webhook"


@dataclass(frozen=True)
class Poll:
    """Fetched by the scheduler: ``method`` (an integration method taking the trigger's
    parameters and the stored cursor, returning a :class:`atom.integrations.base.PollPage`)
    is called every ``interval_s``; ``cursor`` names the vendor's cursor or high-water field
    (``historyId``, ``syncToken``, ``updated_at``) and ``item_id`` the field new items are
    de-duplicated on."""

    method: str
    cursor: str
    item_id: str = "id"
    interval_s: int = 60
    kind = "poll"


WEBHOOK = Webhook()


@dataclass(frozen=True, eq=False)
class Trigger:
    """An event a connection emits, from a verified webhook or from polling.

    ``sample`` is a real payload of the vendor's reference (as ATOM hands it to workflows) and
    validates against ``payload`` (JSON Schema). ``params`` are what a workflow's trigger may
    narrow it with (a Gmail query, a Drive folder), validated when the workflow is saved.
    """

    name: str
    title: str
    sample: Mapping[str, Any]
    payload: JsonSchema = field(default_factory=lambda: {"type": "object"})
    delivery: Webhook | Poll = WEBHOOK
    params: type[Schema] | None = None
    description: str = ""
    words: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.delivery.kind


@dataclass(frozen=True)
class WebhookSpec:
    """How the service signs deliveries: a scheme from ``atom.integrations.webhooks``."""

    scheme: str
    secret_field: str
    delivery_header: str | None = None
    # The vendor hands the secret to ATOM in its handshake and the user must paste it back into
    # the vendor's settings to finish (Notion's verification_token): an admin may reveal it once
    # adopted (POST /api/v2/connections/<id>/webhook-secret/reveal, audited).
    handed_over: bool = False


@dataclass(frozen=True, eq=False)
class Contract:
    """What the plugin is tested against: ``openapi`` (a vendor spec in ``shared/specs``, served
    by Prism; ``base_path`` is prepended to the Prism URL when the spec's paths omit the
    manifest's base path), ``graphql`` (a vendor schema, every query validated with
    graphql-core), ``fake`` (a local stateful fake following the vendor's reference; ``file``
    is its module, whose ``contract_fake()`` starts it for tests that run many plugins and
    returns an object with ``settings``, ``credentials`` and ``stop()``) or ``moto`` (the AWS
    API emulator, in server mode on loopback; ``file`` names the fixtures)."""

    source: str
    file: str | None = None
    base_path: str = ""
    # Settings a connection needs besides base_url for the contract run (a Jira site).
    settings: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    # Actions whose requests a (trimmed) spec does not describe, so Prism cannot answer them
    # (OneDrive's createLink and path-addressed uploads): the generic spec test leaves them
    # out and the plugin's own tests run their examples against its documented fake. Say
    # which paths are missing in ``notes``.
    outside_spec: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    slug: str
    display_name: str
    category: str
    description: str
    auth: AuthScheme
    integration: str
    base_url: str | None = None
    docs_url: str = ""
    aliases: tuple[str, ...] = ()
    rate_limit: RateLimit = RateLimit(per_second=10, burst=10)
    settings: type[Schema] | None = None
    actions: tuple[Action, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    webhook: WebhookSpec | None = None
    blueprint: str | None = None
    requires: tuple[str, ...] = ()
    contract: Contract | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)

    def trigger(self, name: str) -> Trigger | None:
        return next((t for t in self.triggers if t.name == name), None)

    def poll_triggers(self) -> tuple[Trigger, ...]:
        return tuple(t for t in self.triggers if isinstance(t.delivery, Poll))

    def secret_fields(self) -> set[str]:
        """Names of credential fields flagged ``metadata={"secret": True}``."""
        return {
            name
            for name, fld in self.auth.fields().fields.items()
            if fld.metadata.get("secret")
        }

    def outbound_secret_fields(self) -> set[str]:
        """Secret credential fields sent to the service: all but the webhook secret, which
        only verifies inbound deliveries."""
        inbound = {self.webhook.secret_field} if self.webhook else set()
        return self.secret_fields() - inbound

    def destination_fields(self, common: type[Schema] | None = None) -> dict[str, set[str]]:
        """Fields that decide where requests go, flagged ``metadata={"destination": True}``:
        ``{"settings": {...}, "credentials": {...}}``.

        :param common: the settings every connection accepts (a plugin's own settings schema
            may redeclare one of them, say ``base_url``, without the flag: it still counts).
        """
        settings: set[str] = set()
        for schema in (common, self.settings):
            if schema is not None:
                settings |= _flagged(schema, "destination")
        return {"settings": settings, "credentials": _flagged(self.auth.fields, "destination")}


def _flagged(schema: type[Schema], flag: str) -> set[str]:
    return {name for name, fld in schema().fields.items() if fld.metadata.get(flag)}
