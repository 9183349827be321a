"""Signed one-time approval links (``/approvals/<token>``): ``GET`` shows what the link decides
and asks to confirm (nothing changes), the confirm form's ``POST`` decides. A tampered link is
400, an expired one 410, a used one (or a step already decided) 409: an HTML page each time,
and nothing changes. See :mod:`atom.engine.approvals`."""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import make_response
from flask import render_template_string
from flask import request

from atom.extensions import db
from atom.models import Execution

bp = Blueprint("approval_links", __name__, url_prefix="/approvals")

_PAGE = """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block content %}
<section class="card">
  <h2>{{ title }}</h2>
  <p>{{ message }}</p>
  {% if confirm %}
  <form method="post">
    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
    <label for="comment">Comment <span class="muted small">(optional)</span></label>
    <input id="comment" name="comment" maxlength="2000">
    <button type="submit"{% if confirm == 'reject' %} class="btn-danger"{% endif %}>{{ confirm|capitalize }}</button>
  </form>
  {% endif %}
</section>
{% endblock %}"""


def _page(status: int, title: str, message: str, confirm: str | None = None) -> Any:
    return make_response(render_template_string(_PAGE, title=title, message=message, confirm=confirm),
                         status)


@bp.route("/<token>", methods=["GET", "POST"])
def link(token: str):
    from atom.accounts import session_user
    from atom.engine import get_engine
    from atom.engine.approvals import APPROVED
    from atom.engine.approvals import LINK_BY
    from atom.engine.approvals import DecisionError
    from atom.engine.approvals import decide
    from atom.engine.approvals import read_link
    from atom.security import client_address

    try:
        data = read_link(current_app.config["SECRET_KEY"], token, time.time())
    except DecisionError as exc:
        return _page(exc.status, "This link does not work", str(exc))
    verb = "approve" if data["d"] == APPROVED else "reject"
    execution = db.session.get(Execution, data["e"])
    if execution is None:
        return _page(404, "This link does not work", f"there is no execution {data['e']}")
    if request.method == "GET":
        user = session_user()
        who = (f" You are signed in as {user.email}: the decision is recorded as yours." if user is not None
               else " You are not signed in: the decision is recorded as made through this link.")
        return _page(200, f"{verb.capitalize()} step {data['s']}?",
                     f"This decides step {data['s']} of execution #{execution.id}: {verb}.{who}", confirm=verb)
    comment = (request.form.get("comment") or "").strip() or None
    if comment is not None and len(comment) > 2000:
        return _page(422, "Not decided", "the comment is longer than 2000 characters", confirm=verb)
    user = session_user()
    try:
        if user is None:
            decide(execution.id, data["s"], data["d"], LINK_BY, "", "link", comment, get_engine(),
                   by_link=True, address=client_address())
        else:
            decide(execution.id, data["s"], data["d"], user.email, user.role, "link", comment, get_engine(),
                   address=client_address())
    except DecisionError as exc:
        return _page(exc.status, "Not decided", str(exc))
    return _page(200, "Thank you", f"Step {data['s']} of execution #{execution.id}: {data['d']}.")
