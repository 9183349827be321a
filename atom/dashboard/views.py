"""Dashboard pages. Session login with CSRF protection; every page but login needs a user."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_limiter import RateLimitExceeded

from atom import accounts
from atom.accounts import AccountError
from atom.accounts import LoginRefused
from atom.accounts import change_password
from atom.accounts import check_login
from atom.accounts import start_session
from atom.api.errors import error_response
from atom.dashboard.base import bp
from atom.extensions import db
from atom.models import Connection
from atom.security import retry_after
from atom.state import get_state

@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(exc: RateLimitExceeded):
    """Sign-in attempts beyond a limit: the login page says when to try again (JSON clients get
    the API's error body)."""
    wait = retry_after()
    message = f"Too many sign-in attempts; try again in {wait} seconds."
    if request.is_json or request.accept_mimetypes.best == "application/json":
        response = error_response(429, message, code="rate_limited")
    else:
        flash(message)
        response = make_response(render_template("dashboard/login.html"), 429)
    response.headers["Retry-After"] = str(wait)
    return response


HOME_CONNECTIONS = 8
HOME_WORKFLOWS = 5


@bp.get("/")
def home():
    """The overview: connections with their health, workflows, open alerts, and the installed
    integrations (with the plugins that did not load, and why). Empty lists start the job."""
    from flask import current_app

    from atom.dashboard.connections import endpoint_url
    from atom.dashboard.connections import statuses
    from atom.dashboard.connections import workflow_url
    from atom.models import Workflow

    connections = db.session.scalars(db.select(Connection).order_by(Connection.label)).all()
    health = statuses() if connections else {}
    attention = [c for c in connections
                 if health[c.id]["status"] in ("down", "unhealthy", "degraded", "needs_reauth")]
    workflows = db.session.scalars(db.select(Workflow).filter_by(deleted_at=None)
                                   .order_by(Workflow.updated_at.desc(), Workflow.id.desc())).all()
    views = current_app.view_functions
    new_workflow = ("dashboard.workflow_new" if "dashboard.workflow_new" in views
                    else "dashboard.workflows" if "dashboard.workflows" in views else None)
    plugins = get_state().registry.all()
    return render_template(
        "dashboard/home.html", connections=connections[:HOME_CONNECTIONS],
        connection_count=len(connections), health=health, attention=attention,
        workflows=workflows[:HOME_WORKFLOWS], workflow_count=len(workflows),
        enabled_workflows=sum(1 for w in workflows if w.enabled),
        new_workflow_url=url_for(new_workflow) if new_workflow else None,
        workflows_url=endpoint_url("dashboard.workflows"),
        workflow_url=workflow_url,
        alerts_url=endpoint_url("dashboard.alerts"),
        names={p.manifest.slug: p.manifest.display_name for p in plugins if p.manifest},
        plugins=plugins, broken=[p for p in plugins if not p.loaded])


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; rate limited per account and per address (atom.security)."""
    if request.method == "POST":
        try:
            user = check_login(request.form.get("email"), request.form.get("password"),
                               request.remote_addr)
        except LoginRefused as exc:
            flash(exc.message)
            return render_template("dashboard/login.html"), 401
        start_session(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("dashboard/login.html")


@bp.post("/logout")
def logout():
    """Sign out of every browser this user is signed in on."""
    accounts.logout(g.user)
    return redirect(url_for("dashboard.login"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change the password: asks for the current one; other sessions end, this one stays."""
    if request.method == "POST":
        try:
            change_password(g.user, request.form.get("current_password"),
                            request.form.get("password"))
        except AccountError as exc:
            return render_template("dashboard/password.html",
                                   errors={exc.field or "_form": exc.message}), 422
        return redirect(url_for("dashboard.home"))
    return render_template("dashboard/password.html")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login form is no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.home")
