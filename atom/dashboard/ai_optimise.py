"""Optimisation on the dashboard: the findings panel of a workflow page (strategy, evidence,
effect, confidence, safe or needing a person), Apply per finding and "Apply all safe"
(editor, CSRF), and an application's page with its diff and measured effect.

No logic of its own: the same :mod:`atom.intelligence.optimisation` calls as the API.
"""
from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import is_htmx
from atom.dashboard.base import role_required
from atom.engine.diffs import line_kinds
from atom.extensions import db
from atom.intelligence import enabled
from atom.intelligence import models_config
from atom.intelligence import optimisation as opt
from atom.models import Workflow
from atom.models.intelligence import OptimisationApplication

MAX_ID = 2 ** 63 - 1


def _workflow(wf_id: int) -> Workflow:
    if not 0 < wf_id <= MAX_ID:
        abort(404)
    workflow = db.session.get(Workflow, wf_id)
    if workflow is None or workflow.deleted_at is not None:
        abort(404)
    return workflow


def _strategy() -> str:
    value = request.values.get("strategy", "hybrid")
    return value if value in opt.STRATEGIES else "hybrid"


def _panel(workflow: Workflow, strategy: str, error: str | None = None, status: int = 200):
    from atom.engine.workflows import current_definition

    if not enabled("optimization"):
        return render_template("dashboard/ai/_optimise.html", wf=workflow, off=True,
                               strategy=strategy, findings=[], strategies=opt.STRATEGIES), status
    findings = opt.analyze(current_definition(workflow), workflow.id, strategy,
                           version=workflow.version)
    template = "dashboard/ai/_optimise.html" if is_htmx() else "dashboard/ai/optimise.html"
    return render_template(template, wf=workflow, findings=findings, strategy=strategy,
                           strategies=opt.STRATEGIES, off=False, error=error,
                           summary=opt.summary(findings),
                           threshold=models_config()["auto_apply_threshold"],
                           applications=opt.applications(workflow.id, limit=5)), status


@bp.get("/workflows/<int:wf_id>/optimise")
def ai_optimise_panel(wf_id: int):
    """The findings of the workflow's current version (a partial for htmx, else a page)."""
    return _panel(_workflow(wf_id), _strategy())


@bp.post("/workflows/<int:wf_id>/optimise")
@role_required("editor")
def ai_optimise_apply(wf_id: int):
    """Apply one finding (``finding``) or every safe one (``all_safe``) as a new version."""
    workflow = _workflow(wf_id)
    strategy = _strategy()
    if not enabled("optimization"):
        abort(503)
    if request.form.get("all_safe"):
        findings = opt.analyze(_current(workflow), workflow.id, "hybrid", version=workflow.version)
        chosen = [f.id for f in findings if f.safe]
        if not chosen:
            return _panel(workflow, strategy, "No safe finding to apply.", 409)
    else:
        chosen = [request.form.get("finding", "")]
    try:
        row = opt.apply(workflow, chosen, actor(), strategy)
    except opt.OptimisationError as exc:
        db.session.rollback()
        return _panel(workflow, strategy, exc.message, exc.status)
    flash(f"Applied {len(row.findings)} finding(s): version {row.to_version} saved.", "success")
    return redirect(url_for("dashboard.ai_optimise_application", app_id=row.id))


def _current(workflow: Workflow):
    from atom.engine.workflows import current_definition

    return current_definition(workflow)


@bp.get("/optimisations/<int:app_id>")
def ai_optimise_application(app_id: int):
    """An application: the findings applied, the diff, the baseline and the measured effect."""
    if not 0 < app_id <= MAX_ID:
        abort(404)
    row = db.session.get(OptimisationApplication, app_id)
    if row is None:
        abort(404)
    workflow = db.session.get(Workflow, row.workflow_id)
    data = opt.present_application(row)
    template = ("dashboard/ai/_optimise_measured.html" if is_htmx()
                else "dashboard/ai/optimise_application.html")
    return render_template(template, app=data, wf=workflow,
                           lines=line_kinds(data["diff"]["unified"]))
