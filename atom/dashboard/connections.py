"""Connection pages: the list, the catalogue of installed integrations, the add/edit forms
generated from a plugin's credential and settings schemas, and one connection's page (test,
run an action, health, uptime, charts, alerts, maintenance windows, delete).

Nothing here decides what is valid: the forms are loaded by the API's own schemas
(``ConnectionCreate``/``ConnectionUpdate``) and saved by ``create_connection`` /
``update_connection``, so a refusal names the same field as the REST API's 422.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from marshmallow import ValidationError
from marshmallow import fields as mfields
from marshmallow import validate as mvalidate
from werkzeug.routing import BuildError

from atom.api.errors import ApiError
from atom.api.oauth_flow import delete_app
from atom.api.oauth_flow import present_app
from atom.api.oauth_flow import save_app
from atom.api.oauth_schemas import OAuthAppIn
from atom.api.schemas import ConnectionCreate
from atom.api.schemas import ConnectionUpdate
from atom.dashboard.base import Page
from atom.dashboard.base import PER_PAGE
from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import can
from atom.dashboard.base import field_errors
from atom.dashboard.base import is_htmx
from atom.dashboard.base import page_number
from atom.dashboard.base import role_required
from atom.dashboard.charts import trend_series
from atom.extensions import db
from atom.integrations.catalogue import describe
from atom.integrations.connections import ConnectionInUse
from atom.integrations.connections import create_connection
from atom.integrations.connections import delete_connection
from atom.integrations.connections import present
from atom.integrations.connections import update_connection
from atom.integrations.connections import workflows_using
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import ValidationFailed
from atom.integrations.manifest import CATEGORIES
from atom.integrations.manifest import Manifest
from atom.integrations.registry import UnknownPlugin
from atom.integrations.runtime import CommonSettings
from atom.integrations.runtime import credentials_schema
from atom.integrations.runtime import settings_schema
from atom.models import Alert
from atom.models import Connection
from atom.models import MaintenanceWindow
from atom.models.audit import record
from atom.monitoring import rollup
from atom.monitoring.monitor import get_monitor
from atom.monitoring.uptime import STATUSES
from atom.monitoring.uptime import connection_status
from atom.monitoring.uptime import uptimes
from atom.state import get_state

# The tokens the OAuth2 connect flow stores: pasted by hand only as a last resort.
OAUTH_TOKEN_FIELDS = ("access_token", "refresh_token", "expires_at", "token_type", "scope")
# Chart ranges of a connection's page: ?range= -> hours.
RANGES = {"24h": 24, "7d": 24 * 7, "30d": 24 * 30}
STATUS_LABELS = {"needs_reauth": "needs re-authorisation", "unknown": "no data yet",
                 "maintenance": "in maintenance"}
_WORDS = {"url": "URL", "id": "ID", "ids": "IDs", "api": "API", "arns": "ARNs", "sns": "SNS",
          "kib": "KiB", "mb": "MB", "oauth": "OAuth", "s": "(seconds)", "ms": "(ms)"}


# -- forms generated from a plugin's schemas ---------------------------------------------------


@dataclass
class FormField:
    """One input of a generated form: ``name`` is ``settings.<key>`` or ``credentials.<key>``,
    the key its error is reported under (the API's own field path)."""

    name: str
    group: str
    key: str
    label: str
    kind: str = "text"
    required: bool = False
    secret: bool = False
    help: str | None = None
    options: list[tuple[str, str]] | None = None
    default: Any = None
    advanced: bool = False
    attrs: dict[str, str] = dc_field(default_factory=dict)


def humanize(name: str) -> str:
    words = [_WORDS.get(w, w) for w in name.split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _describe_validators(fld: mfields.Field) -> tuple[list[tuple[str, str]] | None, list[str]]:
    options, notes = None, []
    for v in fld.validators:
        if isinstance(v, mvalidate.OneOf):
            options = [(str(c), str(c).replace("_", " ")) for c in v.choices]
        elif isinstance(v, mvalidate.Range):
            if v.min is not None and v.max is not None:
                notes.append(f"from {v.min:g} to {v.max:g}")
            elif v.min is not None:
                notes.append(f"at least {v.min:g}")
            elif v.max is not None:
                notes.append(f"at most {v.max:g}")
        elif isinstance(v, mvalidate.Length) and v.max is not None:
            notes.append(f"at most {v.max} characters")
    return options, notes


def _form_field(group: str, key: str, fld: mfields.Field, advanced: bool) -> FormField:
    options, notes = _describe_validators(fld)
    secret = bool(fld.metadata.get("secret"))
    default = fld.load_default if fld.load_default is not mfields.missing_ else None
    if callable(default):
        default = None
    kind = "text"
    attrs: dict[str, str] = {}
    if isinstance(fld, mfields.Boolean):
        kind = "checkbox"
    elif isinstance(fld, (mfields.Integer,)):
        kind, attrs = "number", {"step": "1"}
    elif isinstance(fld, (mfields.Float, mfields.Number)):
        kind, attrs = "number", {"step": "any"}
    elif isinstance(fld, mfields.Email):
        kind = "email"
    elif isinstance(fld, mfields.Url):
        kind = "url"
    elif isinstance(fld, (mfields.Dict, mfields.List, mfields.Nested, mfields.Raw)) \
            and not isinstance(fld, mfields.String):
        kind = "json"
        notes.append("JSON")
    elif options:
        kind = "select"
    elif secret and key.endswith("private_key"):
        kind = "textarea"  # a PEM key has line breaks a password input would drop
    elif secret:
        kind = "password"
    if options and not fld.required and default is None:
        options = [("", "—"), *options]
    description = fld.metadata.get("description")
    help_text = " · ".join(p for p in [description, *notes] if p) or None
    return FormField(name=f"{group}.{key}", group=group, key=key, label=humanize(key),
                     kind=kind, required=bool(fld.required), secret=secret, help=help_text,
                     options=options, default=default, advanced=advanced, attrs=attrs)


def form_fields(manifest: Manifest) -> list[FormField]:
    """The credential and settings inputs of ``manifest``: its own fields first (required
    ones first), then the advanced ones (the settings every connection accepts, and the
    OAuth2 tokens the connect flow fills in)."""
    own_settings = set(manifest.settings().fields) if manifest.settings else set()
    common = set(CommonSettings().fields)
    out: list[FormField] = []
    for key, fld in credentials_schema(manifest).fields.items():
        # Tokens are what an OAuth2-only integration's hand-made connection is; for the
        # others they are a rarely needed alternative.
        out.append(_form_field("credentials", key, fld, advanced=key in OAUTH_TOKEN_FIELDS
                               and manifest.auth.kind != "oauth2"))
    for key, fld in settings_schema(manifest).fields.items():
        out.append(_form_field("settings", key, fld,
                               advanced=key in common and key not in own_settings))
    order = {"credentials": 1, "settings": 0}
    return sorted(out, key=lambda f: (f.advanced, order[f.group], not f.required))


def _parse(fields_: list[FormField], form: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The form as the API's ``settings`` and ``credentials`` objects; blank inputs are left
    out (a blank secret of an edit keeps the stored one). JSON inputs that do not parse are
    named in the errors."""
    out: dict[str, dict[str, Any]] = {"settings": {}, "credentials": {}}
    errors: dict[str, str] = {}
    for f in fields_:
        if f.kind == "checkbox":
            out[f.group][f.key] = f.name in form
            continue
        raw = form.get(f.name, "")
        value = raw if f.secret else raw.strip()
        if value == "":
            continue
        if f.kind == "json":
            try:
                value = json.loads(value)
            except ValueError as exc:
                errors[f.name] = f"not valid JSON: {exc}"
                continue
        out[f.group][f.key] = value
    return out["settings"], out["credentials"], errors


def _typed(fields_: list[FormField], form: Any) -> dict[str, Any]:
    """What the user typed, to show again (never a secret)."""
    values: dict[str, Any] = {"label": form.get("label", ""), "enabled": "enabled" in form}
    for f in fields_:
        if f.secret:
            continue
        values[f.name] = (f.name in form) if f.kind == "checkbox" else form.get(f.name, "")
    return values


def _initial(fields_: list[FormField], conn: Connection | None = None,
             manifest: Manifest | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"label": conn.label if conn else (manifest.display_name if manifest else ""),
                              "enabled": True if conn is None else conn.enabled}
    shown = present(conn) if conn else None
    for f in fields_:
        if f.secret:
            continue
        if shown is not None:
            source = shown["settings"] if f.group == "settings" else shown["credentials"]
            value = source.get(f.key)
        else:
            value = f.default if f.kind in ("select", "checkbox") else None
        if f.kind == "json" and value is not None:
            value = json.dumps(value)
        values[f.name] = value
    return values


def _errors_for(fields_: list[FormField], errors: dict[str, str]) -> dict[str, str]:
    """Field errors; anything not next to a rendered input goes to the top of the form."""
    names = {f.name for f in fields_} | {"label", "enabled"}
    out = {k: v for k, v in errors.items() if k in names}
    rest = [f"{k}: {v}" if k not in ("_form", "_schema") else v
            for k, v in errors.items() if k not in names]
    if rest or out:
        out["_form"] = " · ".join(rest) if rest else "Some fields need a change: see below."
    return out


# -- shared look-ups ---------------------------------------------------------------------------


def _connection(conn_id: int) -> Connection:
    conn = db.session.get(Connection, conn_id)
    if conn is None:
        abort(404, f"There is no connection {conn_id}. It may have been deleted.")
    return conn


def _manifest(slug: str) -> Manifest:
    try:
        plugin = get_state().registry.get(slug)
    except UnknownPlugin:
        abort(404, f"No integration named {slug!r} is installed.")
    if not plugin.loaded or plugin.manifest is None:
        abort(404, f"The {slug} integration did not load: {plugin.reason}")
    return plugin.manifest


def _manifest_or_none(slug: str) -> Manifest | None:
    try:
        plugin = get_state().registry.get(slug)
    except UnknownPlugin:
        return None
    return plugin.manifest if plugin.loaded else None


def endpoint_url(endpoint: str, value: Any = None) -> str | None:
    """A link to another area's page if it exists (its one URL argument filled with
    ``value``), else None: page modules are written separately and some may be missing."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        if value is None:
            return url_for(endpoint)
        rule = next(r for r in current_app.url_map.iter_rules() if r.endpoint == endpoint)
        args = sorted(rule.arguments)
        return url_for(endpoint, **{args[0]: value}) if len(args) == 1 else None
    except (BuildError, StopIteration):
        return None


# The workflow page's endpoint, whichever name the workflows module gives it.
WORKFLOW_ENDPOINTS = ("dashboard.workflow", "dashboard.workflow_detail", "dashboard.workflow_page")


def workflow_url(workflow_id: int) -> str | None:
    return next((url for url in (endpoint_url(e, workflow_id) for e in WORKFLOW_ENDPOINTS) if url),
                None)


def statuses() -> dict[int, dict[str, Any]]:
    """Each connection's health now: ``{id: {"status", "score", "metrics"}}`` (one snapshot)."""
    snap = get_monitor().snapshot()
    out = {}
    for conn in db.session.scalars(db.select(Connection)):
        m = snap.connections.get(conn.id)
        out[conn.id] = {"status": connection_status(conn.enabled, conn.status, m, snap.thresholds,
                                                    conn.last_test_ok),
                        "score": m.score if m else None, "metrics": m}
    return out


def health_of(conn: Connection) -> dict[str, Any]:
    """One connection's health now (a snapshot of its integration only)."""
    snap = get_monitor().snapshot(conn.integration)
    m = snap.connections.get(conn.id)
    return {"status": connection_status(conn.enabled, conn.status, m, snap.thresholds,
                                        conn.last_test_ok),
            "score": m.score if m else None, "metrics": m}


def _oauth_configured(manifest: Manifest) -> bool:
    return manifest.auth.oauth2 is not None and get_state().runtime.oauth_app(manifest.slug) is not None


# -- the list ----------------------------------------------------------------------------------


@bp.get("/connections")
def connections():
    """The user's connections, with their health; search, filter by integration and status."""
    q = request.args.get("q", "").strip()
    integration = request.args.get("integration", "")
    status = request.args.get("status", "")
    stmt = db.select(Connection).order_by(Connection.label, Connection.id)
    if integration:
        stmt = stmt.where(Connection.integration == integration)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(db.or_(db.func.lower(Connection.label).like(like),
                                 db.func.lower(Connection.integration).like(like)))
    rows = db.session.scalars(stmt).all()
    health = statuses()
    if status:
        rows = [c for c in rows if health[c.id]["status"] == status]
    number, total = page_number(), len(rows)
    page = Page(rows[(number - 1) * PER_PAGE:number * PER_PAGE], number, PER_PAGE, total)
    registry = get_state().registry
    names = {p.manifest.slug: p.manifest.display_name for p in registry.loaded() if p.manifest}
    used = sorted(set(db.session.scalars(db.select(Connection.integration).distinct())))
    any_at_all = db.session.scalar(db.select(db.func.count(Connection.id))) or 0
    template = "dashboard/connections/_rows.html" if is_htmx() else "dashboard/connections/list.html"
    return render_template(template, page=page, health=health, names=names, q=q,
                           integration=integration, status=status,
                           status_options=[(s, STATUS_LABELS.get(s, s.replace("_", " ")))
                                           for s in STATUSES],
                           integrations=[(s, names.get(s, s)) for s in used],
                           any_at_all=any_at_all)


# -- the catalogue -----------------------------------------------------------------------------


@bp.get("/connections/catalogue")
def catalogue():
    """Installed integrations to choose from: search and category filter."""
    q = request.args.get("q", "").strip().lower()
    category = request.args.get("category", "")
    registry = get_state().registry
    counts = dict(db.session.execute(db.select(Connection.integration, db.func.count(Connection.id))
                                     .group_by(Connection.integration)).all())
    items = []
    for plugin in registry.loaded():
        m = plugin.manifest
        if m is None:
            continue
        if category and m.category != category:
            continue
        haystack = " ".join([m.slug, m.display_name, m.description, *m.aliases,
                             *(a.name for a in m.actions), *(a.title for a in m.actions),
                             *(t.name for t in m.triggers)]).lower()
        if q and q not in haystack:
            continue
        items.append(m)
    items.sort(key=lambda m: m.display_name.lower())
    present_categories = sorted({p.manifest.category for p in registry.loaded() if p.manifest},
                                key=CATEGORIES.index)
    broken = [p for p in registry.all() if not p.loaded]
    return render_template("dashboard/connections/catalogue.html", items=items, q=q,
                           category=category, counts=counts,
                           category_options=[(c, c.replace("-", " ")) for c in present_categories],
                           broken=broken, oauth_ready={m.slug: _oauth_configured(m) for m in items})


@bp.get("/connections/catalogue/<slug>")
def integration(slug: str):
    """One integration: what it does (actions, triggers), how it authenticates, its
    connections, and the ways to add one."""
    return _integration_page(_manifest(slug))


def _integration_page(manifest: Manifest, app_errors: dict[str, str] | None = None,
                      app_values: dict[str, Any] | None = None, status: int = 200) -> Any:
    info = describe(manifest, detail=True)
    conns = db.session.scalars(db.select(Connection).filter_by(integration=manifest.slug)
                               .order_by(Connection.label)).all()
    oauth_app = present_app(manifest.slug, can("admin")) if manifest.auth.oauth2 else None
    body = render_template("dashboard/connections/integration.html", m=manifest, info=info,
                           conns=conns, health=statuses() if conns else {},
                           oauth_app=oauth_app, oauth_ready=_oauth_configured(manifest),
                           app_errors=app_errors or {}, app_values=app_values or {})
    return body, status


@bp.post("/connections/catalogue/<slug>/oauth-app")
@role_required("admin")
def oauth_app(slug: str):
    """Register the OAuth app (client id and secret) that "Connect with ..." authorises with
    (PUT /api/v2/oauth-apps/<slug>); a blank secret keeps the stored one."""
    manifest = _manifest(slug)
    if manifest.auth.oauth2 is None:
        abort(404, f"{manifest.display_name} does not offer OAuth2.")
    data: dict[str, Any] = {"client_id": request.form.get("client_id", "").strip()}
    if request.form.get("client_secret"):
        data["client_secret"] = request.form["client_secret"]
    typed = {"client_id": data["client_id"], "settings": request.form.get("settings", "")}
    raw_settings = request.form.get("settings", "").strip()
    try:
        if raw_settings:
            try:
                data["settings"] = json.loads(raw_settings)
            except ValueError as exc:
                raise ValidationError({"settings": [f"not valid JSON: {exc}"]}) from exc
        save_app(slug, OAuthAppIn().load(data), actor())
    except ValidationError as exc:
        return _integration_page(manifest, field_errors(exc.messages), typed, 422)
    except ValidationFailed as exc:
        return _integration_page(manifest, field_errors(exc.details) or {"_form": exc.message},
                                 typed, 422)
    flash(f"Saved the OAuth app of {manifest.display_name}.", "success")
    return redirect(url_for("dashboard.integration", slug=slug))


@bp.post("/connections/catalogue/<slug>/oauth-app/delete")
@role_required("admin")
def oauth_app_delete(slug: str):
    """Remove the stored OAuth app (DELETE /api/v2/oauth-apps/<slug>); connections keep their
    tokens until a refresh needs the app."""
    manifest = _manifest(slug)
    try:
        delete_app(manifest.slug, actor())
    except ApiError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Removed the OAuth app of {manifest.display_name}.", "success")
    return redirect(url_for("dashboard.integration", slug=manifest.slug))


# -- add ---------------------------------------------------------------------------------------


@bp.route("/connections/new/<slug>", methods=["GET", "POST"])
def connection_new(slug: str):
    """Add a connection: a form generated from the integration's credential and settings
    schemas, saved exactly as ``POST /api/v2/connections``; or Connect with OAuth2."""
    manifest = _manifest(slug)
    fields_ = form_fields(manifest)
    if request.method == "GET":
        return _render_form(manifest, fields_, _initial(fields_, manifest=manifest), {})
    settings, creds, errors = _parse(fields_, request.form)
    data = {"integration": manifest.slug, "label": request.form.get("label", "").strip(),
            "settings": settings, "credentials": creds, "enabled": "enabled" in request.form}
    if not errors:
        conn, errors = _saved(lambda: create_connection(ConnectionCreate().load(data), actor()))
        if not errors:
            flash(f"Saved {conn.label}. Test it to see that it works.", "success")
            return redirect(url_for("dashboard.connection", conn_id=conn.id))
    return _render_form(manifest, fields_, _typed(fields_, request.form),
                        _errors_for(fields_, errors), status=422)


def _saved(save: Any) -> tuple[Any, dict[str, str]]:
    """Run ``save`` (the API's create or update of a connection): its result and no errors, or
    None and the form's errors (the schema's by field, the service's refusal of the settings by
    field or for the form)."""
    try:
        return save(), {}
    except ValidationError as exc:
        return None, field_errors(exc.messages)
    except ValidationFailed as exc:
        db.session.rollback()
        return None, field_errors(exc.details) or {"_form": exc.message}


def _render_form(manifest: Manifest, fields_: list[FormField], values: dict[str, Any],
                 errors: dict[str, str], conn: Connection | None = None, status: int = 200) -> Any:
    oauth_fields = [f for f in fields_ if f.group == "settings" and not f.advanced]
    body = render_template("dashboard/connections/form.html", m=manifest, conn=conn,
                           shown=present(conn) if conn else None,
                           fields=fields_, values=values, errors=errors,
                           oauth_ready=_oauth_configured(manifest), oauth_fields=oauth_fields,
                           manual_first=manifest.auth.kind != "oauth2")
    return body, status


# -- one connection ----------------------------------------------------------------------------


@bp.get("/connections/<int:conn_id>")
def connection(conn_id: int):
    return render_template("dashboard/connections/detail.html", **_detail(_connection(conn_id)))


def _charts(conn: Connection, now: datetime) -> dict[str, Any]:
    """The response-time and success-rate charts of the period asked for (``?range=``)."""
    range_ = request.args.get("range", "24h")
    if range_ not in RANGES:
        range_ = "24h"
    buckets = rollup.trends(now, RANGES[range_], connection_id=conn.id)
    return {"range": range_, "ranges": RANGES, **trend_series(buckets)}


def _detail(conn: Connection, **extra: Any) -> dict[str, Any]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    manifest = _manifest_or_none(conn.integration)
    snap = get_monitor(app).snapshot(conn.integration)
    metrics = snap.connections.get(conn.id)
    now = get_monitor(app).now()
    charts = _charts(conn, now)
    alerts = db.session.scalars(db.select(Alert).where(Alert.connection_id == conn.id)
                                .order_by(Alert.id.desc()).limit(20)).all()
    windows = db.session.scalars(
        db.select(MaintenanceWindow).where(MaintenanceWindow.connection_id == conn.id,
                                           MaintenanceWindow.ends_at > now - timedelta(days=30))
        .order_by(MaintenanceWindow.starts_at.desc()).limit(20)).all()
    users = workflows_using(conn.id)
    shown = present(conn)
    secret = manifest.secret_fields() if manifest else set(shown["credentials"])
    webhook = manifest.webhook if manifest else None
    return {
        "conn": conn, "m": manifest, "shown": shown, "secret_fields": secret,
        "metrics": metrics, "thresholds": snap.thresholds, "window_s": snap.window_s,
        "status": connection_status(conn.enabled, conn.status, metrics, snap.thresholds,
                                    conn.last_test_ok),
        "uptimes": uptimes(now, conn.id), **charts, "alerts": alerts,
        "windows": [(w, w.starts_at <= now < w.ends_at) for w in windows],
        "action_options": [(a.name, f"{a.title} ({a.name})") for a in manifest.actions] if manifest else [],
        "last_result": {"ok": conn.last_test_ok, "latency_ms": conn.last_test_latency_ms,
                        "error_class": conn.last_error_class, "message": conn.last_error_message},
        "users": [(w, workflow_url(w.id)) for w in users],
        "webhook": webhook,
        "hook_url": url_for("hooks.receive", integration=conn.integration, connection_id=conn.id,
                            _external=True) if webhook else None,
        "alerts_url": endpoint_url("dashboard.alerts"),
        "maintenance_url": endpoint_url("dashboard.maintenance") or endpoint_url("dashboard.monitoring"),
        "oauth_ready": bool(manifest and _oauth_configured(manifest)),
        "action_result": None, "action_errors": {}, "action_values": {},
        **extra,
    }


@bp.route("/connections/<int:conn_id>/edit", methods=["GET", "POST"])
def connection_edit(conn_id: int):
    """Change label, settings and credentials (``PATCH /api/v2/connections/<id>``); a secret
    left blank keeps the stored one."""
    conn = _connection(conn_id)
    manifest = _manifest(conn.integration)
    fields_ = form_fields(manifest)
    if request.method == "GET":
        return _render_form(manifest, fields_, _initial(fields_, conn), {}, conn=conn)
    settings, creds, errors = _parse(fields_, request.form)
    data: dict[str, Any] = {"label": request.form.get("label", "").strip(), "settings": settings}
    stored = present(conn)["credentials"]
    if any(f.key in creds and (f.secret or creds[f.key] != stored.get(f.key))
           for f in fields_ if f.group == "credentials"):
        data["credentials"] = creds  # only when something changed: a save keeps needs_reauth
    if not errors:
        _, errors = _saved(lambda: update_connection(conn, ConnectionUpdate().load(data), actor()))
        if not errors:
            flash(f"Saved {conn.label}.", "success")
            return redirect(url_for("dashboard.connection", conn_id=conn.id))
    return _render_form(manifest, fields_, _typed(fields_, request.form),
                        _errors_for(fields_, errors), conn=conn, status=422)


@bp.post("/connections/<int:conn_id>/enabled")
def connection_enabled(conn_id: int):
    """Enable or disable (``PATCH {"enabled": ...}``)."""
    conn = _connection(conn_id)
    wanted = request.form.get("enabled") in ("1", "true", "on")
    update_connection(conn, {"enabled": wanted}, actor())
    flash(f"{conn.label} is {'enabled' if wanted else 'disabled'}.", "success")
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/connections")
                    else url_for("dashboard.connection", conn_id=conn.id))


@bp.post("/connections/<int:conn_id>/test")
def connection_test(conn_id: int):
    """Run the health check now (``POST /api/v2/connections/<id>/test``). htmx gets the result
    as a fragment (``?row=1``: the list's row, with the new status) with the page's figures
    (status, score, uptime, the details and the charts) swapped out of band."""
    conn = _connection(conn_id)
    if not conn.enabled:
        result = {"ok": False, "latency_ms": None, "error_class": "disabled",
                  "message": "The connection is disabled: enable it first."}
    else:
        result = get_state().runtime.test(conn).to_dict()
    if is_htmx():
        if request.args.get("row") == "1":
            names = {p.manifest.slug: p.manifest.display_name
                     for p in get_state().registry.loaded() if p.manifest}
            body = render_template("dashboard/connections/_row.html", c=conn, result=result,
                                   health={conn.id: health_of(conn)}, names=names)
        else:
            # The page's figures, details and charts come along, swapped out of band (the
            # snapshot writes the check's buffered call first, so the charts include it).
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            snap = get_monitor(app).snapshot(conn.integration)
            now = get_monitor(app).now()
            metrics = snap.connections.get(conn.id)
            status = connection_status(conn.enabled, conn.status, metrics, snap.thresholds,
                                       conn.last_test_ok)
            body = "".join((
                render_template("dashboard/connections/_test_result.html", result=result, conn=conn),
                render_template("dashboard/connections/_summary.html", conn=conn, oob=True,
                                status=status, metrics=metrics, uptimes=uptimes(now, conn.id)),
                render_template("dashboard/connections/_details.html", conn=conn, oob=True,
                                m=_manifest_or_none(conn.integration), metrics=metrics,
                                window_s=snap.window_s),
                render_template("dashboard/connections/_charts.html", conn=conn, oob=True,
                                **_charts(conn, now))))
        return body
    if result["ok"]:
        flash(f"Test passed in {result['latency_ms']:.0f} ms.", "success")
    else:
        flash(f"Test failed: {result['error_class']}: {result['message']}", "error")
    return redirect(url_for("dashboard.connection", conn_id=conn.id))


@bp.post("/connections/<int:conn_id>/actions")
def connection_action(conn_id: int):
    """Run one action once with a JSON input (``POST /api/v2/connections/<id>/actions/<a>``)."""
    conn = _connection(conn_id)
    manifest = _manifest(conn.integration)
    name = request.form.get("action", "")
    raw = request.form.get("input", "").strip()
    key = request.form.get("idempotency_key", "").strip() or None
    values = {"action": name, "input": raw, "idempotency_key": key or ""}
    errors: dict[str, str] = {}
    result: dict[str, Any] | None = None
    body: Any = {}
    if manifest.action(name) is None:
        errors["action"] = f"{manifest.display_name} has no action {name!r}"
    if raw:
        try:
            body = json.loads(raw)
        except ValueError as exc:
            errors["input"] = f"not valid JSON: {exc}"
        else:
            if not isinstance(body, dict):
                errors["input"] = "the input must be a JSON object"
    if not conn.enabled:
        errors["_form"] = "The connection is disabled: enable it first."
    if not errors:
        try:
            out = get_state().runtime.run_action(conn, name, body, idempotency_key=key)
        except ValidationFailed as exc:
            details = field_errors(exc.details)
            errors["input"] = "; ".join(f"{k}: {v}" for k, v in details.items()) or exc.message
            result = {"ok": False, "error_class": exc.code, "message": exc.message,
                      "errors": details}
        except IntegrationError as exc:
            result = {"ok": False, "error_class": exc.code, "message": exc.message,
                      "upstream_status": exc.status, "errors": field_errors(exc.details)}
        else:
            result = {"ok": True, "output": out.output, "duration_ms": round(out.duration_ms, 2),
                      "attempts": out.attempts}
    if is_htmx():
        return render_template("dashboard/connections/_action_result.html", result=result,
                               errors=errors)
    ctx = _detail(conn, action_result=result, action_errors=errors, action_values=values)
    return render_template("dashboard/connections/detail.html", **ctx), 422 if errors else 200


@bp.get("/connections/<int:conn_id>/actions/example")
def connection_action_example(conn_id: int):
    """The input textarea pre-filled with the chosen action's example (htmx)."""
    conn = _connection(conn_id)
    manifest = _manifest(conn.integration)
    action = manifest.action(request.args.get("action", ""))
    example = json.dumps(dict(action.example), indent=2) if action else "{}"
    return render_template("dashboard/connections/_action_input.html", value=example,
                           action=action, errors={})


@bp.post("/connections/<int:conn_id>/webhook-secret")
@role_required("admin")
def connection_webhook_secret(conn_id: int):
    """Reveal (admin, audited) a webhook secret the vendor handed over
    (``POST /api/v2/connections/<id>/webhook-secret/reveal``)."""
    conn = _connection(conn_id)
    manifest = _manifest(conn.integration)
    spec = manifest.webhook
    value = message = None
    if spec is None or not spec.handed_over:
        message = (f"{manifest.display_name} connections have no handed-over webhook secret: "
                   "it is never shown.")
    else:
        value = get_state().vault.decrypt(conn.credentials_encrypted).get(spec.secret_field)
        if not value:
            message = ("The service has not handed the secret over yet: subscribe the hook URL "
                       "at the service first.")
        else:
            record(actor(), "connection.webhook_secret_revealed", f"connection:{conn.id}",
                   field=spec.secret_field)
            db.session.commit()
    response = make_response(render_template("dashboard/connections/_secret.html", value=value,
                                             message=message, field=spec.secret_field if spec else None))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/connections/<int:conn_id>/delete", methods=["GET", "POST"])
def connection_delete(conn_id: int):
    """Delete, after showing the workflows that use the connection (``DELETE
    /api/v2/connections/<id>``; with workflows, ``?force=true`` disables them)."""
    conn = _connection(conn_id)
    users = workflows_using(conn.id)
    error = None
    if request.method == "POST":
        try:
            disabled = delete_connection(conn, actor(), force="force" in request.form)
        except ConnectionInUse as exc:
            error = (f"{exc}. Tick the box to delete it anyway and disable them, "
                     "or change those workflows first.")
        else:
            extra = f" Disabled {len(disabled)} workflow(s) that used it." if disabled else ""
            flash(f"Deleted {conn.label}.{extra}", "success")
            return redirect(url_for("dashboard.connections"))
    body = render_template("dashboard/connections/delete.html", conn=conn, error=error,
                           users=[(w, workflow_url(w.id)) for w in users])
    return body, 409 if error else 200
