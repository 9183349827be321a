"""The OAuth2 connect flow (RFC 6749 authorization code, RFC 7636 PKCE), behind the views of
:mod:`atom.api.oauth`.

:func:`start` records a one-time ``state`` (only its SHA-256 is stored) bound to the caller:
the API key, or a random value kept in the dashboard session. :func:`finish` takes the state
back exactly once (an ``UPDATE ... WHERE used_at IS NULL`` whose row count decides, so two
concurrent callbacks cannot both pass), exchanges the code at the token URL through an
``IntegrationClient``, lets the plugin add settings (``Integration.oauth_connected``) and
creates the connection, or re-authorises the one the state names. Nothing is created when any
of it fails.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from typing import NoReturn
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from flask import current_app
from flask import request
from flask import session
from flask import url_for
from marshmallow import ValidationError
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from atom.accounts import session_user
from atom.api.errors import ApiError
from atom.extensions import db
from atom.integrations import auth as auth_mod
from atom.integrations.connections import create_connection
from atom.integrations.connections import update_connection
from atom.integrations.errors import ValidationFailed
from atom.integrations.manifest import Manifest
from atom.integrations.oauth_store import OAuthClientApp
from atom.integrations.oauth_store import oauth_url
from atom.integrations.redaction import LIVE
from atom.integrations.runtime import credentials_schema
from atom.integrations.runtime import settings_schema
from atom.integrations.vault import MASK
from atom.models import ApiKey
from atom.models import Connection
from atom.models import OAuthApp
from atom.models import OAuthState
from atom.models.audit import record
from atom.models.base import isoformat
from atom.models.base import utcnow
from atom.models.user import role_allows
from atom.state import get_state

logger = logging.getLogger(__name__)

STATE_BYTES = 32
VERIFIER_BYTES = 48  # 64 characters: RFC 7636 wants 43 to 128
SESSION_KEY = "oauth_binding"
# Used and expired states are kept this long (a late callback gets "expired", not "unknown").
KEPT_FOR = timedelta(days=1)
CALLBACK = "oauth.callback"


class FlowError(Exception):
    """A callback or start refused: ``status`` and ``code`` of the answer, ``errors`` by field."""

    def __init__(self, status: int, code: str, message: str,
                 errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


@dataclass(frozen=True)
class Caller:
    """Who starts or finishes an authorisation: ``binding`` (SHA-256 of the API key's id or of
    the session's random value), the user, the audit name and the role."""

    binding: str
    user_id: int | None
    name: str
    role: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def caller(create_binding: bool = False) -> Caller | None:
    """The request's API key (``Authorization: Bearer``), else its signed-in session.

    :param create_binding: give a session without one its random binding value (start).
    :raises ApiError: 401 for a key that is invalid, revoked or expired.
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        key = None
        if scheme.lower() == "bearer" and token.strip():
            key = db.session.execute(db.select(ApiKey).filter_by(
                key_hash=ApiKey.hash(token.strip()))).scalar_one_or_none()
        if key is None or not key.works_at(utcnow()):
            raise ApiError(401, "invalid, revoked or expired API key")
        return Caller(_sha256(f"key:{key.id}"), key.user_id, f"key:{key.name}", key.role)
    user = session_user()
    if user is None or user.must_change_password:
        return None
    value = session.get(SESSION_KEY)
    if not isinstance(value, str) or len(value) < 32:
        if not create_binding:
            return Caller("", user.id, user.email, user.role)
        value = session[SESSION_KEY] = secrets.token_urlsafe(STATE_BYTES)
    return Caller(_sha256(f"session:{value}"), user.id, user.email, user.role)


def redirect_uri() -> str:
    """``<PUBLIC_URL>/oauth/callback``, else the callback on the request's own host."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base + url_for(CALLBACK)
    return url_for(CALLBACK, _external=True)


# -- OAuth apps --------------------------------------------------------------------------------


def present_app(slug: str, full: bool) -> dict[str, Any]:
    """An integration's OAuth app; only whether one is configured unless ``full`` (admins)."""
    state = get_state()
    display = state.registry.get(slug).manifest.display_name if slug in state.registry else None
    app = state.runtime.oauth_app(slug)
    out: dict[str, Any] = {"integration": slug, "display_name": display,
                           "configured": app is not None}
    if not full:
        return out
    row = _app_row(slug)
    out.update(source=app.source if app else None,
               client_id=app.client_id if app else None,
               client_secret=MASK if app and app.client_secret else None,
               settings=dict(app.settings) if app else None,
               redirect_uri=redirect_uri(),
               created_at=isoformat(row.created_at) if row and app and app.source == "api" else None,
               updated_at=isoformat(row.updated_at) if row and app and app.source == "api" else None)
    return out


def oauth_slugs() -> list[str]:
    """Every loaded integration offering OAuth2, and any other with a stored app."""
    loaded = {p.manifest.slug for p in get_state().registry.loaded()
              if p.manifest.auth.oauth2 is not None}
    stored = set(db.session.scalars(db.select(OAuthApp.integration)))
    return sorted(loaded | stored)


def _app_row(slug: str) -> OAuthApp | None:
    return db.session.execute(db.select(OAuthApp).filter_by(integration=slug)).scalar_one_or_none()


def oauth_manifest(name: str) -> Manifest:
    """The manifest of a loaded integration that offers OAuth2.

    :raises UnknownPlugin: no such integration (404).
    :raises ValidationFailed: it does not offer OAuth2 (422 naming ``integration``).
    """
    manifest = get_state().registry.get(name).manifest
    if manifest.auth.oauth2 is None:
        message = f"{manifest.display_name} does not offer OAuth2 (auth.oauth2)"
        raise ValidationFailed(message, details={"integration": [message]})
    return manifest


def save_app(name: str, data: dict[str, Any], actor: str) -> tuple[str, bool]:
    """Create or change the OAuth app of integration ``name``; return its slug and whether it
    was created. A secret sent back masked (or left out) keeps the stored one.

    :raises ValidationFailed: no secret for a new app, or a mask that is not the stored one.
    """
    slug = oauth_manifest(name).slug
    vault = get_state().vault
    row = _app_row(slug)
    secret = data.get("client_secret")
    if secret == MASK:
        secret = None
    elif secret is not None and secret.startswith(MASK):
        raise ValidationFailed("a masked value that is not the stored secret", details={
            "client_secret": ["send the secret itself, or ******** to keep the stored one"]})
    if row is None and not secret:
        raise ValidationFailed("a new OAuth app needs its client secret",
                               details={"client_secret": ["required when the app is created"]})
    created = row is None
    if row is None:
        row = OAuthApp(integration=slug, settings={})
        db.session.add(row)
    changed = []
    if row.client_id != data["client_id"]:
        changed.append("client_id")
    row.client_id = data["client_id"]
    if secret:
        changed.append("client_secret")
        row.client_secret_encrypted = vault.encrypt_text(secret)
    if "settings" in data and data["settings"] != (row.settings or {}):
        changed.append("settings")
        row.settings = data["settings"]
    if created or changed:
        row.updated_at = utcnow()
        record(actor, "oauth_app.create" if created else "oauth_app.update", f"oauth_app:{slug}",
               client_id=row.client_id, changed=changed)
    try:
        db.session.commit()
    except IntegrityError as exc:  # another request created it meanwhile
        db.session.rollback()
        raise ApiError(409, f"the OAuth app of {slug} was created meanwhile: send it again",
                       errors={"integration": ["changed concurrently"]}) from exc
    get_state().runtime.forget_integration(slug)
    return slug, created


def delete_app(name: str, actor: str) -> None:
    """Delete a stored OAuth app. Connections keep their tokens; their refreshes fail (and the
    connections need re-authorisation) unless a configured app takes over.

    :raises ApiError: 404 without a stored app, 409 when the app comes from configuration.
    """
    slug = get_state().registry.get(name).manifest.slug if name in get_state().registry else name
    row = _app_row(slug)
    if row is None:
        app = get_state().runtime.oauth_app(slug)
        if app is not None:
            raise ApiError(409, f"the OAuth app of {slug} comes from the configuration "
                                f"(ATOM_OAUTH_{slug.upper()}_CLIENT_ID): remove it there",
                           errors={"integration": ["configured, not stored"]})
        raise ApiError(404, f"no OAuth app for {name}")
    db.session.delete(row)
    record(actor, "oauth_app.delete", f"oauth_app:{slug}", client_id=row.client_id)
    db.session.commit()
    get_state().runtime.forget_integration(slug)


# -- start -------------------------------------------------------------------------------------


def start(name: str, data: dict[str, Any], who: Caller) -> dict[str, Any]:
    """Record a one-time state and return the vendor's authorize URL.

    :raises UnknownPlugin: no such integration.
    :raises ValidationFailed: no OAuth2, no OAuth app, settings the integration refuses, or a
        ``connection_id`` of no connection of it (``details`` names the field).
    """
    state = get_state()
    manifest = oauth_manifest(name)
    slug, spec = manifest.slug, manifest.auth.oauth2
    assert spec is not None
    app = state.runtime.oauth_app(slug)
    if app is None:
        message = (f"no OAuth app is configured for {manifest.display_name}: an admin registers "
                   f"one (PUT /api/v2/oauth-apps/{slug})")
        raise ValidationFailed(message, details={"integration": [message]})
    if "access_token" not in credentials_schema(manifest).fields:
        message = f"{manifest.display_name}'s credentials cannot hold OAuth2 tokens"
        raise ValidationFailed(message, details={"integration": [message]})
    conn = None
    if data.get("connection_id") is not None:
        conn = db.session.get(Connection, data["connection_id"])
        if conn is None or conn.integration != slug:
            raise ValidationFailed("no such connection to re-authorise", details={
                "connection_id": [f"no {slug} connection {data['connection_id']}"]})
    settings = {**(conn.settings if conn else {}), **(data.get("settings") or {})}
    _check_settings(manifest, settings)
    values = {**settings, **app.values()}
    authorize = oauth_url(spec.authorize_url, values)
    state.runtime.oauth_token_url(slug, settings, app)  # refused now rather than after consent
    plain = secrets.token_urlsafe(STATE_BYTES)
    verifier = secrets.token_urlsafe(VERIFIER_BYTES) if spec.pkce else None
    now = utcnow()
    expires = now + timedelta(seconds=current_app.config["OAUTH_STATE_TTL_S"])
    callback = redirect_uri()
    db.session.execute(db.delete(OAuthState).where(OAuthState.expires_at < now - KEPT_FOR))
    db.session.add(OAuthState(
        state_hash=_sha256(plain), integration=slug, user_id=who.user_id,
        binding_hash=who.binding,
        code_verifier_encrypted=state.vault.encrypt_text(verifier) if verifier else "",
        redirect_uri=callback, expires_at=expires,
        request={"label": data.get("label"), "settings": settings,
                 "connection_id": conn.id if conn else None}))
    db.session.commit()
    scopes = list(dict.fromkeys([*spec.scopes, *app.scopes()]))
    params = {**spec.authorize_params, "response_type": "code", "client_id": app.client_id,
              "redirect_uri": callback, "state": plain}
    if scopes:
        params["scope"] = spec.scope_separator.join(scopes)
    if verifier:
        params.update(code_challenge=challenge(verifier), code_challenge_method="S256")
    logger.info("%s: OAuth2 authorisation started by %s", slug, who.name)
    return {"authorize_url": _with_query(authorize, params), "state": plain,
            "expires_at": isoformat(expires), "redirect_uri": callback}


def challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _check_settings(manifest: Manifest, settings: dict[str, Any]) -> None:
    """Check each given setting against its field in the integration's settings schema.

    Rules over the whole set wait for the callback: the plugin's hook may add what they ask
    for (Jira's ``cloud_id``), and the connection is validated in full before it is created.
    """
    schema = settings_schema(manifest)
    known = {(f.data_key or n): f for n, f in schema.fields.items() if not f.dump_only}
    errors: dict[str, Any] = {}
    for name, value in settings.items():
        field = known.get(name)
        if field is None:
            errors[name] = ["Unknown field."]
            continue
        try:
            field.deserialize(value, name, settings)
        except ValidationError as exc:
            errors[name] = exc.messages
    if not errors and settings.get("base_url"):
        reason = get_state().outbound.url_denial(str(settings["base_url"]))
        if reason:
            errors["base_url"] = [reason]
    if errors:
        raise ValidationFailed("invalid settings: " + ", ".join(sorted(errors)),
                               details={"settings": errors})


# -- callback ----------------------------------------------------------------------------------


def finish(args: dict[str, Any], who: Caller | None) -> tuple[Connection, bool]:
    """Complete the authorisation the callback's ``state`` names; return the connection and
    whether it was created (else re-authorised).

    :raises FlowError: 401 without a caller; 400 for an unknown, used or expired state, or
        denied consent; 403 for a state another session or user started; 422 for a code the
        token endpoint refuses.
    :raises IntegrationError: the token endpoint or the plugin's hook failed.
    """
    if who is None:
        raise FlowError(401, "unauthorized", "sign in to ATOM (or send the API key that started "
                                             "the authorisation), then connect again")
    row = db.session.execute(db.select(OAuthState).filter_by(
        state_hash=_sha256(args["state"]))).scalar_one_or_none()
    if row is None:
        raise FlowError(400, "invalid_state", "unknown state: start the connection again",
                        errors={"state": ["unknown"]})
    if not (hmac.compare_digest(row.binding_hash, who.binding) and row.user_id == who.user_id):
        logger.warning("%s: OAuth2 callback with the state of another session or user (by %s)",
                       row.integration, who.name)
        raise FlowError(403, "state_mismatch", "this authorisation was started by another "
                                               "session or user", errors={"state": ["not yours"]})
    if not role_allows(who.role, "editor"):
        raise FlowError(403, "forbidden", f"this needs the editor role; yours is {who.role}")
    _take(row)
    display = _display_name(row.integration)
    if args.get("error"):
        return _denied(row, display, args)
    if not args.get("code"):
        raise FlowError(422, "validation", "the callback carries neither code nor error",
                        errors={"code": ["required unless error is given"]})
    asked = row.request or {}
    verifier = get_state().vault.decrypt_text(row.code_verifier_encrypted) or None
    try:
        tokens, answer = exchange_code(row.integration, asked.get("settings") or {},
                                       args["code"], row.redirect_uri, verifier)
    except auth_mod.TokenRefused as exc:
        raise FlowError(422, "token_refused",
                        f"{display} refused the authorization code ({exc.error or 'no reason'}"
                        f"{': ' + exc.description if exc.description else ''}); nothing was "
                        f"created: connect again", errors={"code": [exc.error or "refused"]}
                        ) from exc
    return _store(row, asked, tokens, who, answer)


def _take(row: OAuthState) -> None:
    """Mark the state used, once: the row count of the conditional update decides."""
    now = utcnow()
    taken = db.session.execute(
        update(OAuthState)
        .where(OAuthState.id == row.id, OAuthState.used_at.is_(None), OAuthState.expires_at > now)
        .values(used_at=now)).rowcount
    db.session.commit()
    if taken:
        return
    db.session.refresh(row)
    if row.used_at is not None:
        raise FlowError(400, "state_used", "this authorisation was completed already (a state "
                                           "works once): start again",
                        errors={"state": ["already used"]})
    raise FlowError(400, "state_expired", "this authorisation expired: start again",
                    errors={"state": ["expired"]})


def _denied(row: OAuthState, display: str, args: dict[str, Any]) -> NoReturn:
    error = auth_mod.printable(args["error"])
    reason = auth_mod.printable(args.get("error_description"))
    logger.info("%s: OAuth2 authorisation ended with %s", row.integration, error)
    if error == "access_denied":
        message = f"consent was denied at {display}: no connection was made"
    else:
        message = f"{display} did not authorise ATOM ({error}): no connection was made"
    raise FlowError(400, "access_denied" if error == "access_denied" else "authorization_failed",
                    message + (f" ({reason})" if reason else ""), errors={"error": [error]})


def _display_name(slug: str) -> str:
    registry = get_state().registry
    return registry.get(slug).manifest.display_name if slug in registry else slug


def exchange_code(slug: str, settings: dict[str, Any], code: str, redirect: str,
                  verifier: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Exchange an authorization code at the token URL (RFC 6749 4.1.3) through an
    ``IntegrationClient``; return the token fields to store (``None``: unknown expiry) and
    the answer's other fields (:func:`~atom.integrations.auth.answer_extras`: Salesforce's
    ``instance_url``), for the plugin's ``oauth_connected``.

    :raises TokenRefused: the token endpoint refused the code (expired, used, PKCE mismatch).
    :raises ValidationFailed: no OAuth app any more.
    """
    state = get_state()
    manifest = state.registry.get(slug).manifest
    app: OAuthClientApp | None = state.runtime.oauth_app(slug)
    spec = manifest.auth.oauth2
    if app is None or spec is None:
        raise ValidationFailed(f"no OAuth app is configured for {slug} any more",
                               details={"integration": ["no OAuth app"]})
    url = state.runtime.oauth_token_url(slug, settings, app)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
    if verifier:
        form["code_verifier"] = verifier
    headers = auth_mod.client_credentials(spec.client_auth, app.client(), form)
    client = state.runtime.token_client(slug, url, {
        "client_secret": app.client_secret, "code": code, "code_verifier": verifier or ""})
    try:
        response = client.post(url, data=form, headers=headers, operation="oauth_token")
        try:
            body = response.json()
        except ValueError:
            body = None
        return (auth_mod.token_fields(body, state.runtime.clock.time()),
                auth_mod.answer_extras(body))
    finally:
        LIVE.drop(client)
        client.close()


def _store(row: OAuthState, asked: dict[str, Any], tokens: dict[str, Any],
           who: Caller, answer: dict[str, Any] | None = None) -> tuple[Connection, bool]:
    state = get_state()
    slug = row.integration
    manifest = state.registry.get(slug).manifest
    accepted = set(credentials_schema(manifest).fields)
    creds = {k: v for k, v in tokens.items() if v is not None and k in accepted}
    conn_id = asked.get("connection_id")
    conn = None if conn_id is None else db.session.get(Connection, conn_id)
    if conn_id is not None and (conn is None or conn.integration != slug):
        raise FlowError(409, "conflict", f"connection {conn_id} was deleted meanwhile: nothing "
                                         f"was changed")
    label = asked.get("label") or (conn.label if conn else manifest.display_name)
    settings = dict(asked.get("settings") or {})
    settings.update(state.runtime.connect_hook(slug, label, settings, creds, answer))
    if conn is None:
        conn = create_connection({"integration": slug, "label": label, "settings": settings,
                                  "credentials": creds}, who.name)
        created = True
    else:
        changes = {"credentials": creds, "settings": settings}
        if asked.get("label"):
            changes["label"] = label
        update_connection(conn, changes, who.name)
        created = False
    record(who.name, "connection.oauth", f"connection:{conn.id}", integration=slug,
           reauthorised=not created)
    db.session.commit()
    logger.info("%s: connection %s %s through OAuth2 by %s", slug, conn.id,
                "created" if created else "re-authorised", who.name)
    return conn, created
