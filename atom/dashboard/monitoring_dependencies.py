"""The monitoring dependencies page: what depends on what (declared, and derived from the
workflows' steps and shared hosts), the form that declares one and the button that removes
it; the same code and validation as ``/api/v2/monitoring/dependencies``."""
from __future__ import annotations

from typing import Any

from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from marshmallow import ValidationError

from atom.api.monitoring_dependencies import MonitoringDependencyCreate
from atom.dashboard.base import actor
from atom.dashboard.base import bp
from atom.dashboard.base import can
from atom.dashboard.base import field_errors
from atom.dashboard.monitoring import _display_names
from atom.dashboard.monitoring import _render
from atom.extensions import db
from atom.models import MonitoringDependency
from atom.monitoring import suppression

FIELDS = ("subject", "parent", "note")


def _options(graph: suppression.Graph) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The form's choices: connections and workflows as subjects; connections, hosts and
    integrations as parents."""
    nodes = sorted(graph.labels.items(), key=lambda kv: kv[1].lower())
    connections = [(key, f"{label} (connection)") for key, label in nodes
                   if key.startswith("connection:")]
    workflows = [(key, f"{label} (workflow)") for key, label in nodes
                 if key.startswith("workflow:")]
    hosts = [(key, f"{label} (host)") for key, label in nodes if key.startswith("host:")]
    integrations = [(f"integration:{slug}", f"any {name} connection (integration)")
                    for slug, name in sorted(_display_names().items(),
                                             key=lambda kv: kv[1].lower())]
    return ([("", "Choose what depends…")] + connections + workflows,
            [("", "Choose what it depends on…")] + connections + hosts + integrations)


def _page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200):
    graph = suppression.build()
    subjects, parents = _options(graph)
    source = request.args.get("source", "")
    rows = suppression.listing(source=source if source in suppression.SOURCES else None,
                               graph=graph)
    return _render("dashboard/monitoring/dependencies.html", status, rows=rows, source=source,
                   sources=suppression.SOURCES, subject_options=subjects,
                   parent_options=parents, form=form or {}, errors=errors or {},
                   min_connections=suppression.min_connections(_app()))


def _app() -> Any:
    from flask import current_app

    return current_app._get_current_object()  # type: ignore[attr-defined]


@bp.route("/monitoring/dependencies", methods=["GET", "POST"])
def monitoring_dependencies():
    """Every dependency with its source; editors declare one (POST
    /api/v2/monitoring/dependencies's validation: 422 beside the field, 409 a duplicate)."""
    if request.method == "GET":
        return _page()
    if not can("editor"):
        abort(403, "Declaring dependencies needs the editor role.")
    form = {k: request.form.get(k, "").strip() for k in FIELDS}
    try:
        data = MonitoringDependencyCreate().load({k: v for k, v in form.items()
                                                  if v or k == "note"})
        edge = suppression.declare(data, actor())
    except ValidationError as exc:
        return _page(form, field_errors(exc.messages), 422)
    except suppression.DependencyError as exc:
        errors = field_errors(exc.errors) if exc.errors else {"_form": exc.message}
        return _page(form, errors, exc.status)
    flash(f"{edge.subject} now depends on {edge.parent}: while it is down, the alerts of "
          f"{edge.subject} are suppressed.", "success")
    return redirect(url_for("dashboard.monitoring_dependencies"))


@bp.post("/monitoring/dependencies/<int:dependency_id>/delete")
def monitoring_dependency_delete(dependency_id: int):
    """Remove a declared dependency (DELETE /api/v2/monitoring/dependencies/<id>)."""
    if not can("editor"):
        abort(403, "Removing dependencies needs the editor role.")
    row = db.session.get(MonitoringDependency, dependency_id)
    if row is None:
        abort(404, f"There is no declared dependency {dependency_id}.")
    what = f"{row.subject} → {row.parent}"
    suppression.remove(row, actor())
    flash(f"Dependency {what} removed.", "success")
    return redirect(url_for("dashboard.monitoring_dependencies"))
