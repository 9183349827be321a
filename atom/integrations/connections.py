"""Creating, changing and presenting connections (the API and CLI call these).

A connection's secrets are bound to its destination: a change of anything that decides where
requests go (the fields flagged ``destination``) must re-enter, in the same request, every
stored secret that is sent there. A connection that workflows use is deleted only on purpose.
"""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from atom.extensions import db
from atom.integrations.base import ConnectionInfo
from atom.integrations.errors import ValidationFailed
from atom.integrations.manifest import Manifest
from atom.integrations.redaction import OAUTH_SECRETS
from atom.integrations.registry import UnknownPlugin
from atom.integrations.runtime import CommonSettings
from atom.integrations.runtime import credentials_schema
from atom.integrations.runtime import settings_schema
from atom.integrations.vault import mask
from atom.integrations.vault import mask_credentials
from atom.integrations.vault import merge_credentials
from atom.models import Connection
from atom.models import Workflow
from atom.models import WorkflowVersion
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
    integ = integration_class(manifest, info)
    for url in (integ.base_url(), *integ.extra_origins()):
        reason = state.outbound.url_denial(url)
        if reason:
            return {"settings": {"base_url": [reason]}}
    return {}


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
    """Apply a change; a masked secret sent back keeps the stored one.

    :raises ValidationFailed: invalid settings or credentials, or a new destination without
        the secrets re-entered (``details["credentials"]`` names each); nothing is changed.
    """
    state = get_state()
    manifest = state.registry.get(conn.integration).manifest
    stored = state.vault.decrypt(conn.credentials_encrypted)
    incoming = data.get("credentials")
    merged = None
    if incoming is not None:
        merged = merge_credentials(stored, incoming, manifest.secret_fields())
    settings, creds = _validate(manifest, data.get("settings"), merged, partial=False)
    old_settings = dict(conn.settings or {})
    new_settings = old_settings if settings is None else _json_safe(settings)
    new_creds = stored if creds is None else _json_safe(creds)
    moved = _moved(manifest, (old_settings, stored), (new_settings, new_creds))
    detail: dict[str, Any] = {"fields": sorted(data)}
    if moved:
        _require_reentered(manifest, stored, incoming or {}, moved)
        detail["destination"] = {
            "old": state.runtime.destination(conn.integration, old_settings, stored),
            "new": state.runtime.destination(conn.integration, new_settings, new_creds),
            "changed": moved,
        }
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
    record(actor, "connection.update", f"connection:{conn.id}", **detail)
    db.session.commit()
    state.runtime.forget(conn.id)
    return conn


def _moved(manifest: Manifest, old: tuple[dict, dict], new: tuple[dict, dict]) -> list[str]:
    """The destination fields whose value changes (``settings.base_url``, ...)."""
    fields = manifest.destination_fields(CommonSettings)
    changed = []
    for index, kind in enumerate(("settings", "credentials")):
        changed += [f"{kind}.{name}" for name in sorted(fields[kind])
                    if old[index].get(name) != new[index].get(name)]
    return changed


def _outbound_secrets(manifest: Manifest, stored: dict[str, Any]) -> list[str]:
    """The stored secrets that go out with requests (the webhook secret only checks inbound)."""
    inbound = {manifest.webhook.secret_field} if manifest.webhook else set()
    names = manifest.outbound_secret_fields() | (set(OAUTH_SECRETS) - inbound)
    return sorted(name for name in names if stored.get(name))


def _require_reentered(manifest: Manifest, stored: dict[str, Any], incoming: dict[str, Any],
                       moved: list[str]) -> None:
    """Raise unless ``incoming`` re-enters every outbound secret (a mask sent back does not)."""
    missing = [name for name in _outbound_secrets(manifest, stored)
               if incoming.get(name) in (None, "", mask(stored[name]))]
    if missing:
        what = " and ".join(moved)
        raise ValidationFailed(
            f"re-enter the connection's secrets to change {what}",
            details={"credentials": {name: [f"re-enter this secret to change {what}"]
                                     for name in missing}})


class ConnectionInUse(Exception):
    """Workflows use the connection: deleting it would break them (unless forced)."""

    def __init__(self, conn_id: int, workflows: list[Workflow]) -> None:
        super().__init__(f"connection {conn_id} is used by {len(workflows)} workflow(s)")
        self.workflows = [{"id": w.id, "name": w.name} for w in workflows]


def workflows_using(conn_id: int) -> list[Workflow]:
    """Workflows (not deleted) whose current version has a step or its trigger bound to
    ``conn_id``."""
    rows = db.session.execute(
        db.select(Workflow, WorkflowVersion.definition)
        .join(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
              & (WorkflowVersion.version == Workflow.version))
        .where(Workflow.deleted_at.is_(None))
        .order_by(Workflow.id))
    return [workflow for workflow, definition in rows if _uses(definition or {}, conn_id)]


def _uses(definition: dict, conn_id: int) -> bool:
    trigger = definition.get("trigger")
    if isinstance(trigger, dict) and trigger.get("connection_id") == conn_id:
        return True
    return any(isinstance(step, dict) and step.get("connection") == conn_id
               for step in definition.get("steps") or [])


def delete_connection(conn: Connection, actor: str, force: bool = False) -> list[int]:
    """Delete ``conn``; return the ids of the workflows disabled because they used it.

    :param force: disable the workflows that use the connection (audited) instead of refusing.
    :raises ConnectionInUse: workflows use it and ``force`` is false; nothing is changed.
    """
    users = workflows_using(conn.id)
    if users and not force:
        raise ConnectionInUse(conn.id, users)
    disabled = []
    for workflow in users:
        if workflow.enabled:
            workflow.enabled = False
            disabled.append(workflow.id)
            record(actor, "workflow.disable", f"workflow:{workflow.id}",
                   reason=f"connection {conn.id} deleted")
    record(actor, "connection.delete", f"connection:{conn.id}", integration=conn.integration,
           disabled_workflows=disabled)
    get_state().runtime.forget(conn.id)
    db.session.delete(conn)
    db.session.commit()
    return disabled


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
