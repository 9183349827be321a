"""Workflow pages."""
from __future__ import annotations

from flask import render_template

from atom.dashboard.base import bp
from atom.extensions import db
from atom.models import Execution
from atom.models import Workflow


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
