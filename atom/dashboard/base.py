"""The dashboard's blueprint and what every page module shares: sign-in, roles, paging,
form errors and htmx partial responses.

Page modules (``connections``, ``workflows``, ``executions``, ``monitoring``, ``settings``) add
their routes to :data:`bp`. They hold no business logic: they call the same functions and
marshmallow schemas the REST API calls, so a form is validated exactly as the API validates
its JSON body, and a refusal names the same field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import wraps
from typing import Any
from typing import Callable
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import request
from flask import url_for

from atom.accounts import session_user
from atom.models.user import role_allows

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/atom")

PUBLIC = {"dashboard.login", "dashboard.static", "dashboard.status_page"}
# All that a session signed in with a one-time password may open.
ONE_TIME_PASSWORD_PAGES = {"dashboard.password", "dashboard.logout"}
# Forms a viewer may send: their view decides who may (an approval step names its approvers).
VIEWER_FORMS = {"dashboard.execution_decide"}


@bp.before_app_request
def load_user():
    g.user = session_user()  # None once the user signed out elsewhere or changed the password


@bp.before_request
def require_login():
    if request.endpoint in PUBLIC:
        return None
    if g.user is None:
        if is_htmx():
            # A polling fragment must not paste the login page into the page: the whole page
            # goes to the login, and back to the page (not the fragment) afterwards.
            page = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = page.path + (f"?{page.query}" if page.query else "") if page.path else "/"
            return "", 204, {"HX-Redirect": url_for("dashboard.login", next=back)}
        return redirect(url_for("dashboard.login", next=request.full_path))
    if g.user.must_change_password and request.endpoint not in ONE_TIME_PASSWORD_PAGES:
        return redirect(url_for("dashboard.password"))
    if (request.method not in ("GET", "HEAD") and request.endpoint not in ONE_TIME_PASSWORD_PAGES
            and request.endpoint not in VIEWER_FORMS and not role_allows(g.user.role, "editor")):
        abort(403, "Viewers can look but not change anything; ask an admin for the editor role.")
    return None


def role_required(role: str) -> Callable:
    """A page (or form) for ``role`` and above; others get the styled 403 page."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.user is None or not role_allows(g.user.role, role):
                abort(403, f"This page needs the {role} role; yours is "
                           f"{g.user.role if g.user else 'none'}.")
            return view(*args, **kwargs)
        return wrapped
    return decorate


def can(role: str) -> bool:
    """For templates: whether the signed-in user has at least ``role``."""
    return g.get("user") is not None and role_allows(g.user.role, role)


def actor() -> str:
    """Who did it, for audit rows and ``acknowledged_by``: the signed-in user's e-mail."""
    return g.user.email if g.get("user") else "system"


def is_htmx() -> bool:
    """The request came from htmx and wants a fragment, not a whole page."""
    return request.headers.get("HX-Request") == "true"


PER_PAGE = 25


@dataclass
class Page:
    """One page of a list, with links that keep the other query arguments (filters, sort)."""
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def url(self, page: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "page" and v != ""}
        args["page"] = page
        return f"{request.path}?{urlencode(args)}"


def page_number() -> int:
    """``?page=`` as a positive int (anything else is page 1)."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**9 else 1


def paginate(select, per_page: int = PER_PAGE) -> Page:
    """Run a SQLAlchemy select one page at a time, with its total."""
    from atom.extensions import db

    number = page_number()
    total = db.session.scalar(db.select(db.func.count()).select_from(select.order_by(None).subquery())) or 0
    items = db.session.scalars(select.limit(per_page).offset((number - 1) * per_page)).all()
    return Page(list(items), number, per_page, total)


def field_errors(errors: Any, prefix: str = "") -> dict[str, str]:
    """Marshmallow's (or an ApiError's) nested errors flattened to ``{"a.b": "message"}``, the
    keys the form macros look up next to each field."""
    flat: dict[str, str] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(field_errors(value, f"{prefix}{key}."))
    elif isinstance(errors, (list, tuple)):
        if all(isinstance(e, str) for e in errors):
            flat[prefix.rstrip(".") or "_form"] = " ".join(errors)
        else:
            for i, value in enumerate(errors):
                flat.update(field_errors(value, f"{prefix}{i}."))
    elif errors is not None:
        flat[prefix.rstrip(".") or "_form"] = str(errors)
    return flat
