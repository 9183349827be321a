"""The "Describe it" box of the new-workflow page: the user writes what the workflow should do,
the page shows what was understood (trigger, actions, entities, questions, confidence) and the
generated definition with the connections still missing, and "Create workflow" saves it.

Reading is a GET (viewers may try it; htmx swaps the partial in, a plain form renders the same
partial in a page); creating is a POST for editors with the CSRF token, which generates again
from the same words and saves as the API's ``save: true`` does."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import field_errors
from atom.dashboard.base import is_htmx
from atom.dashboard.base import role_required
from atom.engine.definition import DefinitionError
from atom.engine.workflows import create_workflow
from atom.extensions import db
from atom.intelligence import enabled
from atom.intelligence import language

TEMPLATE_PAGE = "dashboard/ai/describe.html"
TEMPLATE_PARTIAL = "dashboard/ai/_describe_result.html"


def _read(source) -> tuple[str, str, dict[str, str]]:
    text = (source.get("text") or "").strip()
    timezone = (source.get("timezone") or "").strip()
    errors: dict[str, str] = {}
    if not text:
        errors["text"] = "Describe the workflow in words."
    elif len(text) > language.MAX_INPUT:
        errors["text"] = f"At most {language.MAX_INPUT} characters ({len(text)} given)."
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = f"Unknown time zone {timezone!r}: use an IANA name such as Europe/Paris."
    return text, timezone, errors


def _render(text: str, timezone: str, errors: dict[str, str], result: dict[str, Any] | None,
            status: int = 200):
    context = {"text": text, "timezone": timezone, "errors": errors, "result": result,
               "available": enabled("intelligence")}
    template = TEMPLATE_PARTIAL if is_htmx() else TEMPLATE_PAGE
    return render_template(template, **context), status


@bp.get("/workflows/new/describe")
def workflow_describe():
    """Understand the words and show the workflow they make, without saving."""
    if not request.args.get("text") and not request.args.get("timezone"):
        return _render("", "", {}, None)
    text, timezone, errors = _read(request.args)
    if not enabled("intelligence"):
        errors["_form"] = "Text to workflow is switched off (AI_WORKFLOW_ENABLED=false)."
    if errors:
        return _render(text, timezone, errors, None, 422)
    result = language.generate(text, {"timezone": timezone} if timezone else {})
    return _render(text, timezone, {}, result)


@bp.post("/workflows/new/describe")
@role_required("editor")
def workflow_describe_create():
    """Generate from the same words and create the workflow; on to its page."""
    text, timezone, errors = _read(request.form)
    if not enabled("intelligence"):
        errors["_form"] = "Text to workflow is switched off (AI_WORKFLOW_ENABLED=false)."
    if errors:
        return _render(text, timezone, errors, None, 422)
    result = language.generate(text, {"timezone": timezone} if timezone else {})
    if not result["analysis"]["actions"]:
        return _render(text, timezone, {"_form": "Nothing to create: no action was recognised. "
                                        "Name a service to act on (e.g. post to Slack)."}, result, 422)
    try:
        workflow = create_workflow(result["workflow"], actor())
    except DefinitionError as exc:
        db.session.rollback()
        return _render(text, timezone, {"_form": "The generated workflow is not valid: "
                                        + "; ".join(f"{k}: {v}" for k, v in field_errors(exc.errors).items())},
                       result, 422)
    target = url_for("dashboard.workflow", wf_id=workflow.id)
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target)
