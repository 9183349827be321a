"""The base class every plugin's integration class extends.

A plugin implements ``health_check`` and one method per declared action; it may override the
hooks below. It never sleeps, retries or builds HTTP sessions: ``self.http`` does that.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests

from atom.integrations import auth as auth_mod
from atom.integrations import files
from atom.integrations.errors import ValidationFailed
from atom.integrations.http import IntegrationClient
from atom.integrations.http import default_raise_for_response
from atom.integrations.http import parse_rate_limit_headers
from atom.integrations.manifest import Manifest
from atom.integrations.webhooks import WebhookRequest


@dataclass
class ConnectionInfo:
    """A connection as a plugin sees it: decrypted, read-only by convention."""

    id: int | None
    label: str
    settings: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)


@dataclass
class PollPage:
    """What a poll returns: the items found since ``cursor`` (oldest first) and the cursor to
    send next time. On the first poll (no cursor) the items are the current state: recorded as
    seen, not fired."""

    items: list[dict[str, Any]]
    cursor: str | None


@dataclass
class Handshake:
    """An answer to a vendor's subscription handshake, sent before any signature check (the
    vendor signs nothing yet): echo a challenge, or adopt the secret it hands over.

    ``secret`` is stored as the connection's webhook secret only while it has none (Asana's
    ``X-Hook-Secret``). ``poll_now`` names poll triggers of the connection to poll at once: a
    verified push that carries no data (Google Calendar's ``exists``) says something changed."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    secret: str | None = None
    poll_now: tuple[str, ...] = ()


@dataclass
class InboundEvent:
    """One event parsed from a verified webhook delivery."""

    event: str
    delivery_id: str
    payload: dict[str, Any]


class Integration:
    """Hooks a plugin may override; ``self.http``, ``self.connection``, ``self.log`` are set."""

    manifest: Manifest
    http: IntegrationClient
    # In oauth_connected only: the token answer's fields besides the tokens (Salesforce's
    # instance_url and id), from atom.integrations.auth.answer_extras.
    token_response: dict[str, Any] = {}

    def __init__(self, manifest: Manifest, connection: ConnectionInfo) -> None:
        self.manifest = manifest
        self.connection = connection
        self.log = logging.getLogger(type(self).__module__)

    # -- client wiring ----------------------------------------------------------------

    def base_url(self) -> str:
        """The service's base URL: the connection's ``base_url`` setting, else the manifest's."""
        return self.connection.settings.get("base_url") or self.manifest.base_url or ""

    def extra_origins(self) -> list[str]:
        """More base URLs this connection's credentials may be sent to, besides ``base_url``
        (Dropbox's content host, Box's upload host). Each should come from a settings field
        flagged ``destination``, so that moving it needs the secrets re-entered."""
        return []

    def default_headers(self) -> dict[str, str]:
        return {}

    def idempotency_header(self) -> str | None:
        """The header carrying an idempotency key, or None when the service has none."""
        return None

    def auth(self) -> auth_mod.Auth:
        """Request authentication, built from the manifest's :class:`AuthScheme` declaration
        (not overridden by plugins: declare a ``custom`` signer instead)."""
        return auth_mod.from_scheme(self.manifest.auth, self.connection.credentials,
                                    self.connection.settings)

    def raise_for_response(self, response: requests.Response) -> None:
        """Raise the right :class:`IntegrationError` for an error response; return if fine.

        Called for every response. Override for services that report errors in the body
        (Slack's HTTP 200 ``ok: false``) or use 403 for rate limits (GitHub).
        """
        default_raise_for_response(response)

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """Return (remaining calls, seconds until reset) from response headers, if present."""
        return parse_rate_limit_headers(response)

    # -- behaviour ----------------------------------------------------------------------

    def health_check(self) -> None:
        """Make one cheap authenticated read; return quietly or raise IntegrationError."""
        raise NotImplementedError

    def run(self, action: str, data: dict[str, Any]) -> Any:
        """Call the action method with already-validated input and return its output."""
        if self.manifest.action(action) is None:
            raise ValidationFailed(f"{self.manifest.slug} has no action {action!r}")
        return getattr(self, action)(data)

    # -- files (atom.integrations.files) ---------------------------------------------------

    def open_file(self, file_id: str) -> files.FileStream:
        """Open a file of this service for reading in chunks (a streamed download)."""
        raise ValidationFailed(f"{self.manifest.display_name} cannot read files",
                               details={"source_file_id": ["this service has no files to read"]})

    def save_file(self, stream: files.FileStream, folder_id: str | None, name: str) -> Any:
        """Write ``stream`` as a new file named ``name`` in ``folder_id`` (None: the root),
        reading it chunk by chunk, and return the new file as the manifest describes files."""
        raise ValidationFailed(f"{self.manifest.display_name} cannot save files")

    def copy_file(self, data: dict[str, Any]) -> Any:
        """The ``copy_file`` action (:func:`atom.integrations.files.copy_action`)."""
        with files.open_source(data) as stream:
            return self.save_file(stream, data.get("folder_id"), data.get("name") or stream.name)

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        """Post ``message`` (to ``channel`` where the service has channels); return the result.

        Chat-like plugins override this; workflow notification steps and alert channels call it.
        """
        raise ValidationFailed(f"{self.manifest.display_name} cannot post messages")

    @classmethod
    def can_notify(cls) -> bool:
        return cls.notify is not Integration.notify

    def oauth_connected(self) -> dict[str, Any]:
        """Return settings to store with a connection the OAuth2 connect flow just authorised
        (Jira's ``cloud_id``); ``{}`` by default.

        Called once, after the code exchange and before the connection is created (or
        re-authorised), with the new tokens in ``self.connection.credentials`` and the
        settings the flow was started with, and the token answer's other fields in
        ``self.token_response`` (Salesforce's ``instance_url``). ``self.http`` has no base URL here (the
        connection's destination may be what this hook finds out): call absolute URLs. Raise
        :class:`IntegrationError` to refuse the connection; nothing is created then.
        """
        return {}

    # -- webhooks -------------------------------------------------------------------------

    def webhook_secret(self) -> str | None:
        spec = self.manifest.webhook
        return self.connection.credentials.get(spec.secret_field) if spec else None

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Answer an unsigned subscription handshake (Asana ``X-Hook-Secret``, Graph's
        ``validationToken``, Dropbox's ``challenge``) or return None to verify the delivery.
        It must store nothing and echo only what the vendor's protocol says."""
        return None

    def webhook_challenge(self, req: WebhookRequest, payload: Any) -> Any | None:
        """Answer a verified handshake (Slack ``url_verification``) or return None."""
        return None

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """Turn a verified delivery into events named after the manifest's triggers."""
        raise NotImplementedError

    def webhook_answer(self, payload: Any, events: list[InboundEvent]) -> Any | None:
        """The body the vendor's protocol expects once a verified delivery is stored (Discord's
        deferred interaction response), or None for ATOM's receipt
        (``{"accepted", "duplicates", "executions"}``). Also sent for a duplicate delivery."""
        return None
