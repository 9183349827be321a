"""Execution pages."""
from __future__ import annotations

from flask import abort
from flask import render_template

from atom.dashboard.base import bp
from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from atom.models import Workflow


@bp.get("/executions/<int:ex_id>")
def execution(ex_id: int):
    ex = db.session.get(Execution, ex_id)
    if ex is None:
        abort(404)
    steps = db.session.scalars(db.select(StepRun).filter_by(execution_id=ex_id).order_by(StepRun.id)).all()
    return render_template("dashboard/execution.html", ex=ex, steps=steps,
                           workflow=db.session.get(Workflow, ex.workflow_id))
