"""The public status page (``/status``, ``/status.json``) and its admin form
(``/monitoring/status-page``).

The public page needs no login and sets no cookie: its template stands alone (no CSRF token,
no flashed messages, no navigation), and it shows only what
:func:`atom.monitoring.status_page.public_status` returns. Off (``STATUS_PAGE_ENABLED``
false) it is a 404, as if absent. The form is loaded with the API's ``StatusPageIn`` and saved
with the API's function, so it is refused as ``PUT /api/v2/monitoring/status-page`` is.
"""
from __future__ import annotations

from typing import Any

from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from marshmallow import ValidationError

from atom.api.status_page import load_items
from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import field_errors
from atom.dashboard.base import role_required
from atom.dashboard.monitoring import _render
from atom.extensions import db
from atom.models import Connection
from atom.monitoring import status_page


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.2f} %"


def _day_class(value: float | None) -> str:
    if value is None:
        return "none"
    return "up" if value >= 0.999 else "partial" if value >= 0.95 else "low"


# One endpoint for both (the dashboard lets ``dashboard.status_page`` in without a login).
@bp.get("/status.json", endpoint="status_page")
@bp.get("/status", endpoint="status_page")  # first: url_for builds this one
def status_page_view():
    """The public status page, or its JSON twin; 404 while the page is off."""
    app = _app()
    if not status_page.enabled(app):
        abort(404)
    body = status_page.public_status(app)
    if request.path.endswith(".json"):
        response = jsonify(body)
    else:
        refresh = max(30, int(app.config.get("STATUS_PAGE_CACHE_S") or 0))
        response = make_response(render_template(
            "dashboard/status.html", page=body, refresh=refresh, percent=_percent,
            day_class=_day_class))
    ttl = int(app.config.get("STATUS_PAGE_CACHE_S") or 0)
    response.headers["Cache-Control"] = f"public, max-age={ttl}" if ttl > 0 else "no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


# -- the admin form -------------------------------------------------------------------------------


def _form_items() -> tuple[list[dict[str, Any]], list[int]]:
    """The checked connections of the form as API items, ordered by their position field
    (then as listed), and the connection id of each item."""
    chosen = []
    for index, raw_id in enumerate(request.form.getlist("connection_id")):
        if not raw_id.isdigit() or request.form.get(f"show-{raw_id}") != "on":
            continue
        raw_position = request.form.get(f"position-{raw_id}", "").strip()
        position = int(raw_position) if raw_position.lstrip("-").isdigit() else 10**6
        chosen.append((position, index, int(raw_id), request.form.get(f"name-{raw_id}", "")))
    chosen.sort()
    return ([{"connection_id": cid, "name": name} for _p, _i, cid, name in chosen],
            [cid for _p, _i, cid, _n in chosen])


def _errors_by_field(errors: Any, ids: list[int]) -> dict[str, str]:
    """``items.<i>.<field>`` errors as the form's ``<field>-<connection id>`` keys."""
    out = {}
    for key, message in field_errors(errors).items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "items" and parts[1].isdigit() \
                and int(parts[1]) < len(ids):
            out[f"{parts[2]}-{ids[int(parts[1])]}"] = message
        else:
            out["_form"] = message
    return out


@bp.route("/monitoring/status-page", methods=["GET", "POST"])
@role_required("admin")
def monitoring_status_page():
    """Choose the public page's connections, their public names and order (admin)."""
    app = _app()
    errors: dict[str, str] = {}
    config = status_page.present_config(app)
    current = {item["connection_id"]: item for item in config["items"]}
    typed: dict[int, dict[str, Any]] = {
        cid: {"show": True, "name": item["name"], "position": item["position"] + 1}
        for cid, item in current.items()}
    if request.method == "POST":
        items, ids = _form_items()
        typed = {int(raw): {"show": request.form.get(f"show-{raw}") == "on",
                            "name": request.form.get(f"name-{raw}", ""),
                            "position": request.form.get(f"position-{raw}", "")}
                 for raw in request.form.getlist("connection_id") if raw.isdigit()}
        try:
            status_page.replace(app, load_items({"items": items}), actor())
        except ValidationError as exc:
            errors = _errors_by_field(exc.messages, ids)
        except status_page.StatusPageError as exc:
            errors = _errors_by_field(exc.errors, ids)
        if not errors:
            flash(f"The status page shows {len(items)} item{'s' if len(items) != 1 else ''}.",
                  "success")
            return redirect(url_for("dashboard.monitoring_status_page"))
    conns = db.session.scalars(db.select(Connection).order_by(Connection.integration,
                                                              Connection.label)).all()
    return _render("dashboard/status_admin.html", 422 if errors else 200, config=config,
                   conns=conns, typed=typed, errors=errors,
                   public_url=url_for("dashboard.status_page"))
