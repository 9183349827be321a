"""The "Troubleshoot" panel of a failed execution's page: analyse it (or show the latest
session), the failures with their class and the integration's health then, the root cause and
its evidence, the fixes (safe, or needing a person and why), and "Apply safe fixes and re-run"
(editor; CSRF), with the outcome and a link to the re-run. The same calls as
``POST /api/v2/workflows/enhanced/troubleshooting/analyze`` and ``/resolve``.

The execution page loads the panel with htmx (``hx-get`` on load); without JavaScript its link
opens the panel as a page of its own, and the forms post and come back to the execution.
"""
from __future__ import annotations

from typing import Any

from flask import abort
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import is_htmx
from atom.dashboard.base import role_required
from atom.extensions import db
from atom.intelligence import enabled
from atom.intelligence import troubleshooting as ts
from atom.models import Execution

RESOLVE_WAIT_S = 5.0
PANEL = "dashboard/ai/_troubleshoot.html"


def _execution(ex_id: int) -> Execution:
    ex = db.session.get(Execution, ex_id) if 0 < ex_id < 2 ** 63 else None
    if ex is None:
        abort(404, f"No execution #{ex_id}.")
    return ex


def _panel(ex: Execution, session: Any = None, error: str | None = None, status: int = 200):
    if session is None and enabled("troubleshooting"):
        session = ts.latest_for_execution(ex.id)
    context = {"ex": ex, "session": ts.present(session) if session is not None else None,
               "error": error, "available": enabled("troubleshooting")}
    template = PANEL if is_htmx() else "dashboard/ai/troubleshoot.html"
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/executions/<int:ex_id>/troubleshoot")
def ai_troubleshoot_panel(ex_id: int):
    """The panel (htmx) or a page with it: the latest session, or a button to analyse."""
    return _panel(_execution(ex_id))


def _done(ex: Execution, session: Any, error: str | None, status: int, message: str | None):
    if is_htmx():
        return _panel(ex, session, error, status)
    if error:
        flash(error, "error")
    elif message:
        flash(message, "success")
    return redirect(url_for("dashboard.execution", ex_id=ex.id) + "#troubleshoot")


@bp.post("/executions/<int:ex_id>/troubleshoot/analyze")
@role_required("editor")
def ai_troubleshoot_analyze(ex_id: int):
    ex = _execution(ex_id)
    if not enabled("troubleshooting"):
        return _done(ex, None, "Troubleshooting is switched off (WORKFLOW_OPTIMIZATION_ENABLED).",
                     503, None)
    try:
        session = ts.analyze(execution_id=ex.id, actor=actor())
    except ts.TroubleshootingError as exc:
        return _done(ex, None, exc.message, exc.status, None)
    return _done(ex, session, None, 200, f"Troubleshooting session {session.id}: "
                                         f"{session.analysis['root_cause']['summary']}")


@bp.post("/executions/<int:ex_id>/troubleshoot/resolve")
@role_required("editor")
def ai_troubleshoot_resolve(ex_id: int):
    ex = _execution(ex_id)
    if not enabled("troubleshooting"):
        return _done(ex, None, "Troubleshooting is switched off (WORKFLOW_OPTIMIZATION_ENABLED).",
                     503, None)
    raw = request.form.get("session_id", "")
    if not raw.isascii() or not raw.isdigit():
        return _done(ex, None, "session_id: not a session id", 422, None)
    try:
        session = ts.get(int(raw))
        if session.execution_id != ex.id:
            raise ts.TroubleshootingError(404, f"no troubleshooting session {raw} for execution "
                                               f"#{ex.id}", "session_id")
        session = ts.resolve(session, "auto", actor(), wait_s=RESOLVE_WAIT_S)
    except ts.TroubleshootingError as exc:
        return _done(ex, None, exc.message, exc.status, None)
    outcome = (session.resolution or {}).get("outcome")
    return _done(ex, session, None, 200, f"Safe fixes applied: {outcome}.")
