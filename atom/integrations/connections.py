"""Creating, changing and presenting connections (the API and CLI call these)."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from atom.extensions import db
from atom.integrations.base import ConnectionInfo
from atom.integrations.errors import ValidationFailed
from atom.integrations.registry import UnknownPlugin
from atom.integrations.runtime import credentials_schema
from atom.integrations.runtime import settings_schema
from atom.integrations.vault import mask_credentials
from atom.integrations.vault import merge_credentials
from atom.models import Connection
from atom.models.audit import record
from atom.models.base import isoformat
from atom.state import get_state


def _validate(manifest: Any, settings: dict | None, credentials: dict | None,
              partial: bool) -> tuple[dict | None, dict | None]:
    errors: dict[str, Any] = {}
    loaded_settings = loaded_creds = None
    if settings is not None:
        try:
            loaded_settings = settings_schema(manifest).load(settings)
        except ValidationError as exc:
            errors["settings"] = exc.normalized_messages()
        else:
            errors.update(_destination_errors(manifest, loaded_settings))
    if credentials is not None:
        try:
            loaded_creds = credentials_schema(manifest, partial=partial).load(credentials)
        except ValidationError as exc:
            errors["credentials"] = exc.normalized_messages()
    if errors:
        raise ValidationFailed("invalid connection: " + ", ".join(sorted(errors)), details=errors)
    return loaded_settings, loaded_creds


def _destination_errors(manifest: Any, settings: dict) -> dict[str, Any]:
    """A base URL the outbound policy is known to deny is refused at save (issue 7, item 3).

    The URL checked is the one the integration will call (Jira makes it from ``site``); a host
    that does not resolve is not known to be denied, and is checked again on every connection.
    """
    state = get_state()
    integration_class = state.registry.get(manifest.slug).integration_class
    info = ConnectionInfo(None, "", dict(settings), {})
    reason = state.outbound.url_denial(integration_class(manifest, info).base_url())
    return {"settings": {"base_url": [reason]}} if reason else {}


def create_connection(data: dict[str, Any], actor: str) -> Connection:
    state = get_state()
    try:
        plugin = state.registry.get(data["integration"])
    except UnknownPlugin as exc:
        raise ValidationFailed(str(exc), details={"integration": [str(exc)]}) from exc
    manifest = plugin.manifest
    settings, creds = _validate(manifest, data.get("settings", {}), data.get("credentials", {}),
                                partial=False)
    conn = Connection(
        integration=manifest.slug,
        label=data["label"],
        settings=_json_safe(settings or {}),
        credentials_encrypted=state.vault.encrypt(_json_safe(creds or {})),
        enabled=data.get("enabled", True),
    )
    db.session.add(conn)
    db.session.flush()
    record(actor, "connection.create", f"connection:{conn.id}", integration=manifest.slug)
    db.session.commit()
    return conn


def update_connection(conn: Connection, data: dict[str, Any], actor: str) -> Connection:
    state = get_state()
    manifest = state.registry.get(conn.integration).manifest
    stored = state.vault.decrypt(conn.credentials_encrypted)
    incoming = data.get("credentials")
    merged = None
    if incoming is not None:
        merged = merge_credentials(stored, incoming, manifest.secret_fields())
    settings, creds = _validate(manifest, data.get("settings"), merged, partial=False)
    if "label" in data:
        conn.label = data["label"]
    if "enabled" in data:
        conn.enabled = data["enabled"]
    if settings is not None:
        conn.settings = _json_safe(settings)
    if creds is not None:
        conn.credentials_encrypted = state.vault.encrypt(_json_safe(creds))
        conn.status = "active"
    conn.revision += 1
    record(actor, "connection.update", f"connection:{conn.id}", fields=sorted(data))
    db.session.commit()
    state.runtime.forget(conn.id)
    return conn


def delete_connection(conn: Connection, actor: str) -> None:
    record(actor, "connection.delete", f"connection:{conn.id}", integration=conn.integration)
    get_state().runtime.forget(conn.id)
    db.session.delete(conn)
    db.session.commit()


def present(conn: Connection) -> dict[str, Any]:
    """The API view of a connection: credentials masked, never whole."""
    state = get_state()
    try:
        secret = state.registry.get(conn.integration).manifest.secret_fields()
    except UnknownPlugin:
        secret = None
    creds = state.vault.decrypt(conn.credentials_encrypted)
    masked = mask_credentials(creds, secret) if secret is not None else {k: "********" for k in creds}
    return {
        "id": conn.id,
        "integration": conn.integration,
        "label": conn.label,
        "settings": conn.settings or {},
        "credentials": masked,
        "enabled": conn.enabled,
        "status": conn.status,
        "created_at": isoformat(conn.created_at),
        "updated_at": isoformat(conn.updated_at),
        "last_test": {
            "at": isoformat(conn.last_test_at),
            "ok": conn.last_test_ok,
            "latency_ms": conn.last_test_latency_ms,
            "error_class": conn.last_error_class,
            "message": conn.last_error_message,
        },
    }


def _json_safe(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if not isinstance(v, (str, int, float, bool, list, dict, type(None))) else v)
            for k, v in values.items()}
