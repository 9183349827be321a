"""The Intelligence page: each intelligence component (available or switched off and by which
setting, its model, version, the history it learnt from and its evaluation), **Retrain the
prediction model** (editor), and the troubleshooting sessions and optimisation applications
across workflows. The same functions as ``GET /workflows/enhanced/status``,
``POST /workflows/enhanced/models/retrain``, ``GET .../troubleshooting/sessions`` and
``GET .../optimization/applications``."""
from __future__ import annotations

from typing import Any

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from atom.api.intelligence.status import component_status
from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import role_required
from atom.extensions import db
from atom.intelligence import COMPONENTS
from atom.intelligence import enabled
from atom.intelligence import optimisation as opt
from atom.intelligence import prediction
from atom.intelligence import troubleshooting as ts
from atom.models import Workflow
from atom.models.audit import record

# What each component is, for a reader who has not read the API reference.
TITLES = {
    "intelligence": ("Describe it", "turns a sentence into a workflow (the new-workflow page)"),
    "prediction": ("Prediction", "each workflow's chance of success and duration of its next run"),
    "optimization": ("Optimisation", "findings on a workflow's graph and history, applied as a new version"),
    "troubleshooting": ("Troubleshooting", "a failed execution's root cause and fixes"),
    "monitoring": ("Workflow monitoring", "scores a monitored workflow's runs every monitoring round"),
    "cross_service": ("Dependencies", "which workflows use which services, and which are at risk"),
}
RECENT = 20


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(db.select(Workflow.id, Workflow.name).where(Workflow.id.in_(ids)))
    return {wf_id: name for wf_id, name in rows}


def _context() -> dict[str, Any]:
    components = [(name, *TITLES.get(name, (name, "")), component_status(name)) for name in COMPONENTS]
    sessions = ts.sessions(limit=RECENT) if enabled("troubleshooting") else []
    applications = opt.applications(limit=RECENT) if enabled("optimization") else []
    names = _names({s.workflow_id for s in sessions if s.workflow_id}
                   | {a.workflow_id for a in applications})
    return {"components": components, "sessions": [ts.present(s) for s in sessions],
            "applications": applications, "names": names, "settings": COMPONENTS,
            "prediction_on": enabled("prediction"),
            "troubleshooting_on": enabled("troubleshooting"),
            "optimization_on": enabled("optimization")}


@bp.get("/intelligence")
def intelligence():
    return render_template("dashboard/ai/status.html", **_context())


@bp.post("/intelligence/retrain")
@role_required("editor")
def intelligence_retrain():
    """Retrain the prediction model now (``POST /workflows/enhanced/models/retrain``)."""
    if not enabled("prediction"):
        abort(503, f"Prediction is switched off ({COMPONENTS['prediction']}=false).")
    state = prediction.train()
    record(actor(), "intelligence.retrain", f"model:{state.id}", version=state.version)
    db.session.commit()
    metrics = state.metrics or {}
    if metrics.get("brier") is not None:
        scored = (f"scored on the {state.held_back} newest held back: Brier score "
                  f"{metrics['brier']:.3f}")
        if metrics.get("base_rate_brier") is not None:
            scored += f" (the base rate's {metrics['base_rate_brier']:.3f})"
    else:
        scored = metrics.get("note", "nothing held back to score it")
    flash(f"Retrained the prediction model: {state.version}, fitted on {state.samples} "
          f"execution{'' if state.samples == 1 else 's'}; {scored}.", "success")
    return redirect(url_for("dashboard.intelligence"))
