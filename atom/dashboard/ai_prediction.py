"""The prediction panel of every workflow page (loaded by htmx from a hook in
``workflows/detail.html``): the predicted success rate, p50/p90 completion time, the risk
factors with their evidence, the confidence and the history it rests on; and the workflow's
health under enhanced monitoring, with Start/Stop monitoring (editor). The same functions as
``GET /workflows/enhanced/prediction/{id}`` and ``/monitoring/start|stop``."""
from __future__ import annotations

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for

from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import is_htmx
from atom.dashboard.base import role_required
from atom.extensions import db
from atom.intelligence import COMPONENTS
from atom.intelligence import enabled
from atom.intelligence import prediction
from atom.intelligence import workflow_health
from atom.models import Workflow
from atom.monitoring import thresholds
from atom.monitoring.monitor import get_monitor


def _workflow(wf_id: int) -> Workflow:
    workflow = db.session.get(Workflow, wf_id)
    if workflow is None or workflow.deleted_at is not None:
        abort(404)
    return workflow


@bp.get("/workflows/<int:wf_id>/ai/prediction")
def ai_prediction(wf_id: int):
    """The panel (a fragment for htmx, else a page around it)."""
    workflow = _workflow(wf_id)
    context = {"wf": workflow, "predicted": None, "health": None, "monitored": False,
               "prediction_on": enabled("prediction"), "monitoring_on": enabled("monitoring"),
               "settings": COMPONENTS}
    if context["prediction_on"]:
        context["predicted"] = prediction.safe_predict(workflow.id)
    if context["monitoring_on"]:
        monitor = workflow_health.monitor_of(workflow.id)
        if monitor is not None:
            app = current_app._get_current_object()
            context["monitored"] = True
            context["health"] = workflow_health.present_monitor(
                monitor, workflow, get_monitor(app).now(), workflow_health.DEFAULT_WINDOW_S,
                thresholds.current(app))
    template = "dashboard/ai/_prediction.html" if is_htmx() else "dashboard/ai/prediction.html"
    return render_template(template, **context)


@bp.post("/workflows/<int:wf_id>/ai/monitoring/start")
@role_required("editor")
def ai_monitoring_start(wf_id: int):
    workflow = _workflow(wf_id)
    if not enabled("monitoring"):
        abort(503, f"Enhanced monitoring is switched off ({COMPONENTS['monitoring']}=false).")
    _, created = workflow_health.start(workflow.id, actor())
    flash(f"“{workflow.name}” is {'now' if created else 'already'} monitored.", "success")
    return redirect(url_for("dashboard.workflow", wf_id=wf_id))


@bp.post("/workflows/<int:wf_id>/ai/monitoring/stop")
@role_required("editor")
def ai_monitoring_stop(wf_id: int):
    workflow = _workflow(wf_id)
    if not enabled("monitoring"):
        abort(503, f"Enhanced monitoring is switched off ({COMPONENTS['monitoring']}=false).")
    stopped, resolved = workflow_health.stop(workflow.id, actor(), get_monitor(current_app).now())
    note = f"; alert {', '.join(map(str, resolved))} resolved" if resolved else ""
    flash(f"“{workflow.name}” is {'no longer' if stopped else 'not'} monitored{note}.", "success")
    return redirect(url_for("dashboard.workflow", wf_id=wf_id))
