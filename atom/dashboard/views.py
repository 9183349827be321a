"""Dashboard pages. Session login with CSRF protection; every page but login needs a user."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint
from flask import abort
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for

from atom.extensions import db
from atom.models import Connection
from atom.models import Execution
from atom.models import StepRun
from atom.models import User
from atom.models import Workflow
from atom.models.base import utcnow
from atom.state import get_state

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/atom")

PUBLIC = {"dashboard.login", "dashboard.static"}


@bp.before_app_request
def load_user():
    user_id = session.get("user_id")
    user = db.session.get(User, user_id) if user_id is not None else None
    g.user = user if user is not None and user.active else None


@bp.before_request
def require_login():
    if request.endpoint in PUBLIC:
        return None
    if g.user is None:
        return redirect(url_for("dashboard.login", next=request.full_path))
    if g.user.must_change_password and request.endpoint not in ("dashboard.password", "dashboard.logout"):
        return redirect(url_for("dashboard.password"))
    return None


@bp.get("/")
def home():
    connections = db.session.scalars(db.select(Connection).order_by(Connection.label)).all()
    return render_template("dashboard/home.html", connections=connections,
                           plugins=get_state().registry.all())


@bp.get("/workflows")
def workflows():
    rows = db.session.scalars(db.select(Workflow).filter_by(deleted_at=None).order_by(Workflow.name)).all()
    latest = {}
    for ex in db.session.scalars(db.select(Execution).order_by(Execution.id.desc()).limit(500)):
        latest.setdefault(ex.workflow_id, ex)
    recent = db.session.scalars(db.select(Execution).order_by(Execution.id.desc()).limit(50)).all()
    names = {wf.id: wf.name for wf in rows}
    return render_template("dashboard/workflows.html", workflows=[(wf, latest.get(wf.id)) for wf in rows],
                           executions=recent, names=names)


@bp.get("/executions/<int:ex_id>")
def execution(ex_id: int):
    ex = db.session.get(Execution, ex_id)
    if ex is None:
        abort(404)
    steps = db.session.scalars(db.select(StepRun).filter_by(execution_id=ex_id).order_by(StepRun.id)).all()
    return render_template("dashboard/execution.html", ex=ex, steps=steps,
                           workflow=db.session.get(Workflow, ex.workflow_id))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()
        if user is None or not user.active or not user.check_password(request.form.get("password", "")):
            flash("Wrong email or password.")
            return render_template("dashboard/login.html"), 401
        session.clear()
        session["user_id"] = user.id
        user.last_login_at = utcnow()
        db.session.commit()
        return redirect(_safe_next(request.args.get("next")))
    return render_template("dashboard/login.html")


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("dashboard.login"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    if request.method == "POST":
        new = request.form.get("password", "")
        if len(new) < 12:
            flash("Use at least 12 characters.")
            return render_template("dashboard/password.html"), 422
        g.user.set_password(new)
        g.user.must_change_password = False
        db.session.commit()
        return redirect(url_for("dashboard.home"))
    return render_template("dashboard/password.html")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login form is no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.home")
