"""Settings (admin only): users, API keys, OAuth apps and the audit log.

No rules of its own: every change goes through :mod:`atom.accounts` and
:mod:`atom.api.oauth_flow` (what ``/api/v2/users``, ``/api/v2/keys`` and ``/api/v2/oauth-apps``
call), after the admin API's own schemas (``UserCreate``, ``UserUpdate``, ``KeyCreate``,
``OAuthAppIn``, ``AuditQuery``) loaded the form, so a form is refused exactly as the API
refuses its JSON and the error names the same field.

A secret made here (a new API key, a one-time password) is in the answer to the POST that made
it and nowhere else: not in a redirect, the session cookie (which is only signed), a flash
message, the audit log or any later page. That answer is not cached (``no-store``).
"""
from __future__ import annotations

import json
from typing import Any

from flask import abort
from flask import flash
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from marshmallow import ValidationError

from atom import accounts
from atom.accounts import AccountError
from atom.api.admin import audit_select
from atom.api.admin import present_key
from atom.api.admin_schemas import AuditQuery
from atom.api.admin_schemas import KeyCreate
from atom.api.admin_schemas import UserCreate
from atom.api.admin_schemas import UserUpdate
from atom.api.errors import ApiError
from atom.api.oauth_flow import delete_app
from atom.api.oauth_flow import oauth_slugs
from atom.api.oauth_flow import present_app
from atom.api.oauth_flow import save_app
from atom.api.oauth_schemas import OAuthAppIn
from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import field_errors
from atom.dashboard.base import paginate
from atom.dashboard.base import role_required
from atom.extensions import db
from atom.integrations.errors import IntegrationError
from atom.integrations.registry import UnknownPlugin
from atom.models import ApiKey
from atom.models import AuditEvent
from atom.models import User
from atom.models.user import ROLES
from atom.models.user import role_allows

# (endpoint, label): the tabs of every settings page.
TABS = (("dashboard.settings", "Users"), ("dashboard.settings_keys", "API keys"),
        ("dashboard.settings_oauth_apps", "OAuth apps"), ("dashboard.settings_audit", "Audit log"))
ROLE_OPTIONS = [(role, role) for role in reversed(ROLES)]  # admin, editor, viewer


@bp.app_context_processor
def _settings_context() -> dict[str, Any]:
    return {"settings_tabs": TABS, "role_options": ROLE_OPTIONS}


def _row(model: type, row_id: int) -> Any:
    row = db.session.get(model, row_id)
    if row is None:
        abort(404, f"There is no {model.__name__.lower()} {row_id}.")
    return row


def _shown_once(template: str, status: int, **context: Any) -> Any:
    """The one answer that holds a secret: never cached, never stored."""
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusal(exc: AccountError) -> dict[str, str]:
    return {exc.field or "_form": exc.message}


# -- users -----------------------------------------------------------------------------------


@bp.get("/settings")
@role_required("admin")
def settings():
    """The users: role, active, last sign-in; add one, change a role, deactivate, reset."""
    return _users_page()


def _users_page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                row_error: tuple[int, str] | None = None, status: int = 200) -> Any:
    users = db.session.scalars(db.select(User).order_by(User.id)).all()
    return render_template("dashboard/settings/users.html", users=users, form=form or {},
                           errors=errors or {}, row_error=row_error), status


@bp.post("/settings/users")
@role_required("admin")
def settings_user_create():
    """``POST /api/v2/users`` as a form: without a password, a one-time password shown once."""
    form = {name: request.form.get(name, "") for name in ("email", "role", "password")}
    data: dict[str, Any] = {"email": form["email"].strip(), "role": form["role"] or "viewer"}
    if form["password"]:
        data["password"] = form["password"]
    kept = {"email": form["email"], "role": form["role"]}  # never the password
    try:
        loaded = UserCreate().load(data)
        user, one_time = accounts.create_user(loaded["email"], loaded["role"], actor(),
                                              password=loaded.get("password"))
    except ValidationError as exc:
        return _users_page(kept, field_errors(exc.messages), status=422)
    except AccountError as exc:
        db.session.rollback()
        return _users_page(kept, _refusal(exc), status=exc.status)
    if one_time is None:
        flash(f"Added {user.email} ({user.role}) with the password you chose.", "success")
        return redirect(url_for("dashboard.settings"))
    return _shown_once("dashboard/settings/password_once.html", 201, user=user, one_time=one_time,
                       created=True)


def _update_user(user_id: int, body: dict[str, Any], done: str) -> Any:
    """``PATCH /api/v2/users/<id>``: the refusal (the last admin, a bad role) in the user's row."""
    user = _row(User, user_id)
    try:
        changes = UserUpdate().load(body)
        one_time = accounts.update_user(user, changes, actor())
    except ValidationError as exc:
        db.session.rollback()
        return _users_page(row_error=(user.id, " ".join(field_errors(exc.messages).values())),
                           status=422)
    except AccountError as exc:
        db.session.rollback()
        return _users_page(row_error=(user.id, exc.message), status=exc.status)
    if one_time is not None:
        return _shown_once("dashboard/settings/password_once.html", 200, user=user,
                           one_time=one_time, created=False)
    flash(done.format(email=user.email, role=user.role), "success")
    return _after_own_change(user)


def _after_own_change(user: User) -> Any:
    """An admin who demoted or deactivated themselves cannot come back to this page."""
    me = g.user
    if user.id == me.id and (not user.active or not role_allows(user.role, "admin")):
        return redirect(url_for("dashboard.home"))
    return redirect(url_for("dashboard.settings"))


@bp.post("/settings/users/<id:user_id>/role")
@role_required("admin")
def settings_user_role(user_id: int):
    return _update_user(user_id, {"role": request.form.get("role", "")},
                        "{email} is now {role}.")


@bp.post("/settings/users/<id:user_id>/activate")
@role_required("admin")
def settings_user_activate(user_id: int):
    return _update_user(user_id, {"active": True}, "{email} can sign in again.")


@bp.post("/settings/users/<id:user_id>/reset-password")
@role_required("admin")
def settings_user_reset(user_id: int):
    """A new one-time password, shown once; the user's sessions end."""
    return _update_user(user_id, {"reset_password": True}, "")


@bp.post("/settings/users/<id:user_id>/deactivate")
@role_required("admin")
def settings_user_deactivate(user_id: int):
    """``DELETE /api/v2/users/<id>``: the row stays for the audit log; sessions end."""
    user = _row(User, user_id)
    try:
        accounts.deactivate_user(user, actor())
    except AccountError as exc:
        db.session.rollback()
        return _users_page(row_error=(user.id, exc.message), status=exc.status)
    flash(f"Deactivated {user.email}: they are signed out and cannot sign in.", "success")
    return _after_own_change(user)


# -- API keys --------------------------------------------------------------------------------


def _keys_page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               status: int = 200) -> Any:
    # The row for its times, and the API's answer for what the API says of it (active).
    rows = db.session.scalars(db.select(ApiKey).order_by(ApiKey.id.desc()))
    keys = [(k, present_key(k)) for k in rows]
    return render_template("dashboard/settings/keys.html", keys=keys, form=form or {},
                           errors=errors or {}), status


@bp.get("/settings/keys")
@role_required("admin")
def settings_keys():
    """API keys, masked (the prefix only); create one (shown once), revoke."""
    return _keys_page()


@bp.post("/settings/keys")
@role_required("admin")
def settings_key_create():
    """``POST /api/v2/keys`` as a form; ``expires_at`` is UTC, as in the API."""
    form = {name: request.form.get(name, "") for name in ("name", "role", "expires_at")}
    data = {"name": form["name"], "role": form["role"]}
    if form["expires_at"]:
        data["expires_at"] = form["expires_at"]
    try:
        loaded = KeyCreate().load(data)
        row, plain = accounts.create_key(loaded["name"], loaded["role"], actor(),
                                         expires_at=loaded.get("expires_at"))
    except ValidationError as exc:
        return _keys_page(form, field_errors(exc.messages), 422)
    except AccountError as exc:
        db.session.rollback()
        return _keys_page(form, _refusal(exc), exc.status)
    return _shown_once("dashboard/settings/key_once.html", 201, key=row, plain=plain)


@bp.post("/settings/keys/<id:key_id>/revoke")
@role_required("admin")
def settings_key_revoke(key_id: int):
    """``DELETE /api/v2/keys/<id>``: the next request with the key is a 401."""
    key = _row(ApiKey, key_id)
    accounts.revoke_key(key, actor())
    flash(f"Revoked the key {key.name} ({key.prefix}…): it no longer works.", "success")
    return redirect(url_for("dashboard.settings_keys"))


# -- OAuth apps ------------------------------------------------------------------------------


@bp.get("/settings/oauth-apps")
@role_required("admin")
def settings_oauth_apps():
    """Every integration offering OAuth2, with its app (client id; the secret masked)."""
    apps = [present_app(slug, True) for slug in oauth_slugs()]
    return render_template("dashboard/settings/oauth_apps.html", apps=apps)


def _oauth_app(integration: str) -> dict[str, Any]:
    if integration not in oauth_slugs():
        abort(404, f"No integration named {integration!r} offers OAuth2.")
    return present_app(integration, True)


def _oauth_page(app: dict[str, Any], form: dict[str, str] | None = None,
                errors: dict[str, str] | None = None, status: int = 200) -> Any:
    if form is None:
        settings = app.get("settings")
        form = {"client_id": app.get("client_id") or "",
                "settings": json.dumps(settings, indent=2) if settings else ""}
    return render_template("dashboard/settings/oauth_app.html", app=app, form=form,
                           errors=errors or {}), status


@bp.get("/settings/oauth-apps/<integration>")
@role_required("admin")
def settings_oauth_app(integration: str):
    return _oauth_page(_oauth_app(integration))


@bp.post("/settings/oauth-apps/<integration>")
@role_required("admin")
def settings_oauth_app_save(integration: str):
    """``PUT /api/v2/oauth-apps/<integration>``: an empty secret keeps the stored one."""
    app = _oauth_app(integration)
    form = {name: request.form.get(name, "") for name in ("client_id", "client_secret", "settings")}
    kept = {"client_id": form["client_id"], "settings": form["settings"]}  # never the secret
    data: dict[str, Any] = {"client_id": form["client_id"]}
    if form["client_secret"]:
        data["client_secret"] = form["client_secret"]
    if form["settings"].strip():
        try:
            data["settings"] = json.loads(form["settings"])
        except ValueError as exc:
            return _oauth_page(app, kept, {"settings": f"not valid JSON: {exc}"}, 422)
    try:
        slug, created = save_app(integration, OAuthAppIn().load(data), actor())
    except ValidationError as exc:
        return _oauth_page(app, kept, _one_settings_error(field_errors(exc.messages)), 422)
    except (IntegrationError, ApiError) as exc:
        db.session.rollback()
        details = exc.details if isinstance(exc, IntegrationError) else exc.errors
        errors = field_errors(details) if details else {"_form": exc.message}
        errors.setdefault("_form", exc.message)
        status = exc.http_status if isinstance(exc, IntegrationError) else exc.status
        return _oauth_page(app, kept, errors, status)
    flash(f"{'Added' if created else 'Saved'} the OAuth app of {app['display_name'] or slug}.",
          "success")
    return redirect(url_for("dashboard.settings_oauth_apps"))


def _one_settings_error(errors: dict[str, str]) -> dict[str, str]:
    """``settings.scopes`` and the like belong to the one settings field of the form."""
    # (marshmallow puts a validator's own dict in a list: settings.0.scopes)
    nested = []
    for key, message in errors.items():
        if key.startswith("settings."):
            name = ".".join(part for part in key.split(".")[1:] if not part.isdigit())
            nested.append(f"{name}: {message}" if name else message)
    out = {key: message for key, message in errors.items() if not key.startswith("settings.")}
    if nested:
        out["settings"] = "; ".join(([out["settings"]] if "settings" in out else []) + nested)
    return out


@bp.post("/settings/oauth-apps/<integration>/delete")
@role_required("admin")
def settings_oauth_app_delete(integration: str):
    """``DELETE /api/v2/oauth-apps/<integration>``; one from the configuration is refused (409)."""
    app = _oauth_app(integration)
    try:
        delete_app(integration, actor())
    except (ApiError, UnknownPlugin) as exc:
        db.session.rollback()
        status = exc.status if isinstance(exc, ApiError) else 404
        return _oauth_page(app, errors={"_form": getattr(exc, "message", str(exc))}, status=status)
    flash(f"Deleted the OAuth app of {app['display_name'] or integration}.", "success")
    return redirect(url_for("dashboard.settings_oauth_apps"))


# -- the audit log ---------------------------------------------------------------------------

AUDIT_FILTERS = ("actor", "action", "subject", "since", "until")


@bp.get("/settings/audit")
@role_required("admin")
def settings_audit():
    """``GET /api/v2/audit`` with its filters (exact actor, action and target; a time range in
    UTC), newest first, one page at a time."""
    form = {name: request.args.get(name, "") for name in AUDIT_FILTERS}
    errors: dict[str, str] = {}
    try:
        query = AuditQuery().load({k: v for k, v in form.items() if v != ""})
    except ValidationError as exc:
        errors, query = field_errors(exc.messages), None
    actions = list(db.session.scalars(db.select(AuditEvent.action).distinct()
                                      .order_by(AuditEvent.action)))
    actors = db.session.scalars(db.select(AuditEvent.actor).distinct().order_by(AuditEvent.actor)
                                .limit(200)).all()
    if form["action"] and form["action"] not in actions:
        actions.append(form["action"])  # kept as typed (a link, an old bookmark)
    page = None
    if query is not None:
        page = paginate(audit_select(query).order_by(AuditEvent.id.desc()))
    return render_template("dashboard/settings/audit.html", form=form, errors=errors, page=page,
                           action_options=[("", "Any action")] + [(a, a) for a in actions],
                           actors=actors, keep={k: v for k, v in form.items() if v},
                           filtered=any(form.values())), 422 if errors else 200
