"""What a plugin declares about itself, as plain frozen data.

A plugin's ``manifest.py`` builds one :class:`Manifest` named ``MANIFEST`` and exposes it
under the ``atom.integrations`` entry-point group. Nothing here imports a vendor SDK.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

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
    "generic",
)
AUTH_KINDS = ("none", "api_key", "basic", "bearer", "oauth2", "custom")


@dataclass(frozen=True)
class AuthScheme:
    """How a connection authenticates; ``fields`` validates its credentials."""

    kind: str
    fields: type[Schema]
    token_url: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RateLimit:
    """A published limit: ``per_second`` sustained, ``burst`` at once."""

    per_second: float
    burst: int = 1


@dataclass(frozen=True)
class Action:
    """One thing a connection can do.

    ``name`` maps to the integration method of the same name. ``idempotent`` says whether a
    retry of the whole action is safe; ``read_only`` marks actions the test report may run.
    """

    name: str
    title: str
    input: type[Schema]
    output: str
    idempotent: bool = False
    read_only: bool = False
    description: str = ""


@dataclass(frozen=True)
class Trigger:
    """An event a connection emits, from a verified webhook or from polling."""

    name: str
    title: str
    sample: dict[str, Any]
    kind: str = "webhook"
    description: str = ""


@dataclass(frozen=True)
class WebhookSpec:
    """How the service signs deliveries: a scheme from ``atom.integrations.webhooks``."""

    scheme: str
    secret_field: str
    delivery_header: str | None = None


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
    extra: dict[str, Any] = field(default_factory=dict)

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)

    def trigger(self, name: str) -> Trigger | None:
        return next((t for t in self.triggers if t.name == name), None)

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
