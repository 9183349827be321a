"""Saving workflows (validated, versioned) and presenting workflows and executions."""
from __future__ import annotations

import secrets
from typing import Any

from flask import url_for

from atom.engine.definition import expand_compact
from atom.engine.definition import is_compact
from atom.engine.definition import validate_definition
from atom.extensions import db
from atom.models import Connection
from atom.models import Execution
from atom.models import StepRun
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.audit import record
from atom.models.base import isoformat
from atom.models.base import utcnow
from atom.state import get_state


def normalise(body: Any) -> dict[str, Any]:
    """Validate a full or compact definition; return the full, normalised definition."""
    registry = get_state().registry
    if is_compact(body):
        body = expand_compact(body, registry)
    return validate_definition(body, registry, _connection_owner, _workflow_exists)


def _connection_owner(conn_id: int) -> str | None:
    conn = db.session.get(Connection, conn_id)
    return conn.integration if conn else None


def _workflow_exists(wf_id: int) -> bool:
    """Whether a workflow step's workflow exists (deleted ones do not; disabled ones do)."""
    if not 0 < wf_id < 2 ** 63:  # beyond any id the database can hold
        return False
    workflow = db.session.get(Workflow, wf_id)
    return workflow is not None and workflow.deleted_at is None


def _apply_trigger(workflow: Workflow, definition: dict[str, Any]) -> None:
    trigger = definition["trigger"]
    workflow.trigger_type = trigger["type"]
    workflow.trigger_service = trigger.get("service")
    workflow.trigger_event = trigger.get("event")
    if trigger["type"] == "webhook" and not workflow.webhook_token:
        workflow.webhook_token = secrets.token_urlsafe(24)


def create_workflow(body: Any, actor: str) -> Workflow:
    definition = normalise(body)
    enabled = definition.pop("enabled", True)
    workflow = Workflow(name=definition["name"], description=definition.get("description", ""),
                        enabled=enabled, version=1)
    _apply_trigger(workflow, definition)
    db.session.add(workflow)
    db.session.flush()
    db.session.add(WorkflowVersion(workflow_id=workflow.id, version=1, definition=definition,
                                   created_by=actor))
    record(actor, "workflow.create", f"workflow:{workflow.id}", name=workflow.name)
    db.session.commit()
    return workflow


def update_workflow(workflow: Workflow, body: Any, actor: str) -> Workflow:
    """Save a new immutable version; executions keep the version they started with."""
    definition = normalise(body)
    enabled = definition.pop("enabled", workflow.enabled)
    workflow.version += 1
    workflow.name = definition["name"]
    workflow.description = definition.get("description", "")
    workflow.enabled = enabled
    _apply_trigger(workflow, definition)
    db.session.add(WorkflowVersion(workflow_id=workflow.id, version=workflow.version,
                                   definition=definition, created_by=actor))
    record(actor, "workflow.update", f"workflow:{workflow.id}", version=workflow.version)
    db.session.commit()
    return workflow


def delete_workflow(workflow: Workflow, actor: str) -> None:
    workflow.deleted_at = utcnow()
    workflow.enabled = False
    workflow.webhook_token = None
    record(actor, "workflow.delete", f"workflow:{workflow.id}")
    db.session.commit()


def current_definition(workflow: Workflow) -> dict[str, Any]:
    return db.session.execute(db.select(WorkflowVersion.definition).filter_by(
        workflow_id=workflow.id, version=workflow.version)).scalar_one()


def present(workflow: Workflow) -> dict[str, Any]:
    definition = current_definition(workflow)
    trigger = dict(definition["trigger"])
    if trigger.get("secret"):
        trigger["secret"] = "********"
    out = {
        "id": workflow.id,
        "name": workflow.name,
        "description": workflow.description,
        "enabled": workflow.enabled,
        "version": workflow.version,
        "trigger": trigger,
        "steps": definition["steps"],
        "created_at": isoformat(workflow.created_at),
        "updated_at": isoformat(workflow.updated_at),
    }
    if workflow.webhook_token:
        out["webhook_url"] = url_for("workflow_hooks.receive", token=workflow.webhook_token, _external=True)
    return out


def present_execution(execution: Execution, with_steps: bool = True) -> dict[str, Any]:
    out = {
        "id": execution.id,
        "workflow_id": execution.workflow_id,
        "version": execution.version,
        "status": execution.status,
        "trigger_type": execution.trigger_type,
        "parent_id": execution.parent_id,
        "created_at": isoformat(execution.created_at),
        "started_at": isoformat(execution.started_at),
        "finished_at": isoformat(execution.finished_at),
        "error": execution.error,
    }
    if with_steps:
        rows = db.session.scalars(db.select(StepRun).filter_by(execution_id=execution.id)
                                  .order_by(StepRun.id)).all()
        out["steps"] = [{
            "step_id": r.step_id, "type": r.step_type, "status": r.status, "attempt": r.attempt,
            "started_at": isoformat(r.started_at), "finished_at": isoformat(r.finished_at),
            "duration_ms": None if r.duration_ms is None else round(r.duration_ms, 3),
            "input": r.input, "output": r.output,
            "error": None if r.error is None else {"class": r.error_class, "message": r.error},
        } for r in rows]
    return out

