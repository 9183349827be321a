"""``/api/docs``: the API reference and a console to try requests, for signed-in users.

Swagger UI (vendored, ``static/vendor/swagger-ui``) renders ``/api/openapi.json`` inside the
dashboard's layout. "Try it out" runs with the browser's session: the API accepts the session
cookie, and ``static/apidocs.js`` adds the page's CSRF token as ``X-CSRFToken`` to every write
(see :mod:`atom.api.auth`). The machine-readable document itself stays public.
"""
from __future__ import annotations

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

bp = Blueprint("apidocs", __name__)


@bp.get("/api/docs")
def docs():
    user = g.get("user")  # set for every request by the dashboard (atom.dashboard.base)
    if user is None:
        return redirect(url_for("dashboard.login", next=request.full_path))
    if user.must_change_password:
        return redirect(url_for("dashboard.password"))
    return render_template("dashboard/apidocs.html")
