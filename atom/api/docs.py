"""An API reference page rendered in the browser from ``/api/openapi.json``, with no CDN."""
from __future__ import annotations

from flask import Blueprint
from flask import render_template

bp = Blueprint("apidocs", __name__)


@bp.get("/api/docs")
def docs():
    return render_template("dashboard/apidocs.html")
