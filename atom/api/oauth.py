"""OAuth2 connect flow views.

* ``/api/v2/oauth-apps``: the OAuth apps (client id and secret per integration). Admins read
  and change them (the secret always masked); editors see only whether one is configured.
* ``POST /api/v2/connections/oauth/<integration>/start`` (editor): the vendor's authorize URL
  with a one-time state bound to the caller.
* ``/oauth/start/<integration>`` (dashboard): a signed-in editor's browser. ``GET`` shows a
  confirmation form, its ``POST`` (CSRF-checked) redirects to the vendor. A ``GET`` that
  redirected would let another site start an authorisation in the user's name (or re-authorise
  a connection with whichever account the vendor has signed in).
* ``GET /oauth/callback``: the redirect URI. Browsers go back to the dashboard with a message;
  API clients (``Accept: application/json`` or an API key) get ``{connection}``.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import flash
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template_string
from flask import request
from flask import url_for
from flask_smorest import Blueprint
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from atom.accounts import session_user
from atom.api.auth import actor
from atom.api.auth import authenticate
from atom.api.auth import require
from atom.api.errors import CODES
from atom.api.errors import ApiError
from atom.api.errors import error_response
from atom.api.oauth_flow import FlowError
from atom.api.oauth_flow import caller
from atom.api.oauth_flow import delete_app
from atom.api.oauth_flow import finish
from atom.api.oauth_flow import oauth_manifest
from atom.api.oauth_flow import oauth_slugs
from atom.api.oauth_flow import present_app
from atom.api.oauth_flow import save_app
from atom.api.oauth_flow import start
from atom.api.oauth_schemas import CallbackQuery
from atom.api.oauth_schemas import ConnectionEnvelope
from atom.api.oauth_schemas import OAuthAppIn
from atom.api.oauth_schemas import OAuthAppList
from atom.api.oauth_schemas import OAuthAppOut
from atom.api.oauth_schemas import OAuthStartIn
from atom.api.oauth_schemas import OAuthStartOut
from atom.api.pagination import PageQuery
from atom.api.pagination import paginate_items
from atom.extensions import db
from atom.integrations.connections import present
from atom.integrations.errors import IntegrationError
from atom.integrations.registry import UnknownPlugin
from atom.models import OAuthApp
from atom.models.user import role_allows
from atom.state import get_state

apps_blp = Blueprint("oauth_apps", __name__, url_prefix="/api/v2/oauth-apps",
                     description="OAuth apps: the client id and secret ATOM authorises with, per "
                                 "integration (admin; editors see whether one is configured)")
apps_blp.before_request(authenticate)
start_blp = Blueprint("oauth_start", __name__, url_prefix="/api/v2/connections/oauth",
                      description="Connect with OAuth2: start an authorisation (editor)")
start_blp.before_request(authenticate)
callback_blp = Blueprint("oauth", __name__, url_prefix="/oauth",
                         description="The OAuth2 redirect URI: the vendor sends the browser back "
                                     "here with a code and the state")
pages_bp = FlaskBlueprint("oauth_pages", __name__, url_prefix="/oauth")


def _is_admin() -> bool:
    principal = g.get("principal")
    return principal is not None and role_allows(principal.role, "admin")


# -- OAuth apps --------------------------------------------------------------------------------


@apps_blp.route("", methods=["GET"])
@apps_blp.arguments(PageQuery, location="query")
@apps_blp.response(200, OAuthAppList)
def list_apps(query):
    """Every integration that offers OAuth2, and whether its app is configured. Admins also
    see the client id (the secret masked), the settings and the redirect URI to register."""
    require("editor")
    full = _is_admin()
    page = paginate_items(oauth_slugs(), query, key=lambda slug: (slug,))
    return page.answer("apps", [present_app(slug, full) for slug in page.rows])


@apps_blp.route("/<integration>", methods=["GET"])
@apps_blp.response(200, OAuthAppOut)
def get_app(integration: str):
    """One integration's OAuth app (``configured: false`` when there is none)."""
    require("editor")
    return present_app(_app_slug(integration), _is_admin())


@apps_blp.route("/<integration>", methods=["PUT"])
@apps_blp.arguments(OAuthAppIn)
@apps_blp.response(200, OAuthAppOut)
@apps_blp.alt_response(201, schema=OAuthAppOut, description="the app was created")
def put_app(data, integration: str):
    """Create or change the OAuth app (admin). The secret is stored encrypted and never shown
    again; omitted or sent back masked, the stored one is kept."""
    require("admin")
    slug, created = save_app(integration, data, actor())
    return present_app(slug, True), 201 if created else 200


@apps_blp.route("/<integration>", methods=["DELETE"])
@apps_blp.response(204)
def remove_app(integration: str):
    """Delete the stored OAuth app (admin); 409 when it comes from the configuration."""
    require("admin")
    delete_app(integration, actor())
    return ""


def _app_slug(name: str) -> str:
    """The slug of an integration offering OAuth2, or of a stored app; else a 404."""
    registry = get_state().registry
    if name in registry:
        manifest = registry.get(name).manifest
        if manifest.auth.oauth2 is None:
            raise ApiError(404, f"{manifest.display_name} does not offer OAuth2")
        return manifest.slug
    if db.session.execute(db.select(OAuthApp.id).filter_by(integration=name)).first():
        return name
    raise ApiError(404, f"no integration named {name!r}")


# -- start -------------------------------------------------------------------------------------


@start_blp.route("/<integration>/start", methods=["POST"])
@start_blp.arguments(OAuthStartIn)
@start_blp.response(200, OAuthStartOut)
def start_authorisation(data, integration: str):
    """Start connecting ``integration`` with OAuth2: send the user's browser to
    ``authorize_url``. The state works once, for the caller that started it (this API key or
    session), until ``expires_at``; the vendor sends the browser back to ``/oauth/callback``."""
    who = caller(create_binding=True)
    if who is None:  # authenticate() let the request in: a session signed out meanwhile
        raise ApiError(401, "authentication required")
    return start(integration, data, who)


# -- the callback ------------------------------------------------------------------------------


@callback_blp.route("/callback", methods=["GET"])
@callback_blp.arguments(CallbackQuery, location="query")
@callback_blp.response(201, ConnectionEnvelope)
@callback_blp.alt_response(200, schema=ConnectionEnvelope,
                           description="an existing connection was re-authorised")
@callback_blp.alt_response(302, description="browsers: back to the dashboard, with a message")
def callback(args):
    """The vendor's redirect back (``code`` and ``state``, or ``error=access_denied``). Send the
    session or API key that started the authorisation. Unknown, used or expired states and
    denied consent are 400, another caller's state 403, a refused code 422 (naming ``code``);
    nothing is created then."""
    try:
        conn, created = finish(args, caller())
    except FlowError as exc:
        return _failed(exc.status, exc.code, exc.message, exc.errors)
    except ApiError as exc:
        return _failed(exc.status, exc.code, exc.message, exc.errors)
    except UnknownPlugin as exc:
        return _failed(400, "not_installed", f"{exc}: it is not installed any more")
    except IntegrationError as exc:
        db.session.rollback()
        return _failed(exc.http_status, exc.code, exc.message, exc.details or None,
                       upstream_status=exc.status)
    if _wants_json():
        return {"connection": present(conn)}, 201 if created else 200
    flash(f"Connected {conn.label} ({conn.integration}, connection {conn.id}).")
    return redirect(url_for("dashboard.home"))


@callback_blp.errorhandler(HTTPException)
def _callback_http_error(exc: HTTPException) -> Any:
    """A malformed callback (``state`` missing, a field too long): JSON for API clients, a
    page for browsers (the app's handler decides by path, and this path is not /api)."""
    status = exc.code or 400
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data.get("messages"), dict) else {}
    fields = messages.get("query") if isinstance(messages.get("query"), dict) else None
    message = ("invalid input: " + ", ".join(sorted(fields)) if fields
               else exc.description or "bad request")
    return _failed(status, CODES.get(status, "error"), message, fields)


def _wants_json() -> bool:
    return bool(request.headers.get("Authorization")) or \
        request.accept_mimetypes.best == "application/json"


def _failed(status: int, code: str, message: str, errors: dict[str, Any] | None = None,
            upstream_status: int | None = None) -> Any:
    if _wants_json():
        extra = {"upstream_status": upstream_status} if upstream_status is not None else {}
        return error_response(status, message, code=code, errors=errors, **extra)
    return _page(status, "Connecting did not work", message, errors=errors)


# -- dashboard pages ---------------------------------------------------------------------------

_PAGE = """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block content %}
<section class="card">
  <h2>{{ title }}</h2>
  <p>{{ message }}</p>
  {% if errors %}<ul>{% for name, reasons in errors.items() %}
    <li><code>{{ name }}</code>: {{ reasons }}</li>{% endfor %}</ul>{% endif %}
  {% if form %}
  <form method="post" action="{{ form.action }}">
    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
    {% for name, value in form.fields.items() %}
    <input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
    <button>Continue to {{ form.service }}</button>
  </form>
  {% endif %}
  <p><a href="{{ url_for('dashboard.home') }}">Back to ATOM</a></p>
</section>
{% endblock %}"""


def _page(status: int, title: str, message: str, errors: Any = None, form: Any = None) -> Any:
    # A response object: flask-smorest passes it through (a tuple would be dumped as JSON).
    return make_response(render_template_string(_PAGE, title=title, message=message,
                                                errors=errors, form=form), status)


@pages_bp.route("/start/<integration>", methods=["GET", "POST"])
def start_page(integration: str):
    """Connect ``integration`` from the dashboard: ``GET`` asks to confirm, the form's ``POST``
    redirects (302) to the vendor. Fields: ``label``, ``connection_id`` (re-authorise) and
    ``settings.<name>``."""
    user = session_user()
    if user is None:
        return redirect(url_for("dashboard.login", next=request.full_path
                                if request.method == "GET" else url_for("dashboard.home")))
    if user.must_change_password:
        return redirect(url_for("dashboard.password"))
    if not role_allows(user.role, "editor"):
        return _page(403, "Not allowed", f"Connecting needs the editor role; yours is {user.role}.")
    form = request.form if request.method == "POST" else request.args
    try:
        manifest = oauth_manifest(integration)
        data = OAuthStartIn().load(_form_data(form))
        if request.method == "GET":
            fields = {k: v for k, v in form.items() if k == "label" or k == "connection_id"
                      or k.startswith("settings.")}
            return _page(200, f"Connect {manifest.display_name}",
                         f"ATOM will send you to {manifest.display_name} to authorise it.",
                         form={"action": url_for(".start_page", integration=manifest.slug),
                               "fields": fields, "service": manifest.display_name})
        out = start(manifest.slug, data, caller(create_binding=True))
    except UnknownPlugin as exc:
        return _page(404, "Unknown integration", str(exc))
    except ValidationError as exc:
        return _page(422, "Cannot connect", "The request is not valid.",
                     errors=exc.normalized_messages())
    except IntegrationError as exc:
        return _page(exc.http_status, "Cannot connect", exc.message, errors=exc.details or None)
    return redirect(out["authorize_url"])


def _form_data(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"settings": {k[len("settings."):]: v for k, v in form.items()
                                         if k.startswith("settings.") and v != ""}}
    if form.get("label"):
        data["label"] = form["label"]
    if form.get("connection_id"):
        data["connection_id"] = form["connection_id"]
    return data


@pages_bp.app_context_processor
def _oauth_targets() -> dict[str, Any]:
    def oauth_targets() -> list[dict[str, str]]:
        """The integrations the signed-in user can connect with OAuth2 now (the dashboard)."""
        user = g.get("user")
        if user is None or not role_allows(user.role, "editor"):
            return []
        state = get_state()
        return [{"slug": p.manifest.slug, "display_name": p.manifest.display_name}
                for p in state.registry.loaded()
                if p.manifest.auth.oauth2 is not None and state.runtime.oauth_app(p.manifest.slug)]

    return {"oauth_targets": oauth_targets}
