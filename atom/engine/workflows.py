"""Saving workflows (validated, versioned) and presenting workflows and executions.

A webhook trigger's ``secret`` is stored encrypted by the vault: the saved definition holds
``secret_encrypted`` (a Fernet token) and never the value, responses show the mask, and a mask
sent back keeps the stored secret. Only :func:`webhook_secret` decrypts it.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import current_app
from flask import url_for
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select

from atom.engine.approvals import decisions_of
from atom.engine.approvals import present_decision
from atom.engine.chains import run_window_start
from atom.engine.definition import DefinitionError
from atom.engine.definition import every_step
from atom.engine.definition import expand_compact
from atom.engine.definition import is_compact
from atom.engine.definition import validate_definition
from atom.engine.states import ExecutionStatus
from atom.engine.states import StepStatus
from atom.engine.timers import waiting_until
from atom.extensions import db
from atom.integrations.vault import MASK
from atom.integrations.vault import Vault
from atom.models import Connection
from atom.models import Execution
from atom.models import StepRun
from atom.models import Workflow
from atom.models import WorkflowRunCount
from atom.models import WorkflowService
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
    return validate_definition(body, registry, _connection_owner, _workflow_exists,
                               poll_min_interval_s=current_app.config["POLL_MIN_INTERVAL_S"],
                               foreach_max_concurrency=current_app.config["FOREACH_MAX_CONCURRENCY"])


def _connection_owner(conn_id: int) -> str | None:
    if not 0 < conn_id < 2 ** 63:  # beyond any id the database can hold (SQLite overflows)
        return None
    conn = db.session.get(Connection, conn_id)
    return conn.integration if conn else None


SEALED = "secret_encrypted"


def _seal_secret(definition: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Replace the trigger's plain ``secret`` with its encryption, in place.

    The mask keeps the secret of ``previous`` (the version being replaced); a new value
    replaces it; no ``secret`` means an unsigned webhook.
    :raises DefinitionError: a mask with no stored secret to keep, or the mask of another.
    """
    trigger = definition["trigger"]
    value = trigger.pop("secret", None)
    if value is None:
        return
    if value == MASK:
        kept = _sealed(previous["trigger"]) if previous else None
        if kept is None:
            raise DefinitionError({"trigger": {"secret": [
                "the mask of a secret this workflow does not have: send the secret itself"]}})
        trigger[SEALED] = kept
    elif value.startswith(MASK):
        raise DefinitionError({"trigger": {"secret": [
            "send the secret itself, or its mask unchanged"]}})
    else:
        trigger[SEALED] = get_state().vault.encrypt_text(value)


def _sealed(trigger: dict[str, Any]) -> str | None:
    """The stored secret's token; a plain ``secret`` saved before secrets were encrypted is
    sealed now."""
    if trigger.get(SEALED):
        return trigger[SEALED]
    if trigger.get("secret"):
        return get_state().vault.encrypt_text(trigger["secret"])
    return None


def webhook_secret(workflow: Workflow, definition: dict[str, Any] | None = None) -> str | None:
    """The plain secret of the workflow's webhook trigger, or None (an unsigned webhook).

    :param definition: the workflow's current definition, if read already."""
    trigger = (definition or current_definition(workflow))["trigger"]
    if trigger.get(SEALED):
        return get_state().vault.decrypt_text(trigger[SEALED])
    return trigger.get("secret") or None


def public_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition as every response shows it: the secret masked, its token absent."""
    trigger = {k: v for k, v in definition["trigger"].items() if k not in (SEALED, "secret")}
    if definition["trigger"].get(SEALED) or definition["trigger"].get("secret"):
        trigger["secret"] = MASK
    return {**definition, "trigger": trigger}


def rotate_webhook_secrets(vault: Vault) -> int:
    """Re-encrypt every stored webhook secret (every version) under ``vault``'s newest key;
    a plain one saved before secrets were encrypted is encrypted. Returns how many."""
    count = 0
    for version in db.session.scalars(db.select(WorkflowVersion)):
        trigger = version.definition.get("trigger") or {}
        if not (trigger.get(SEALED) or trigger.get("secret")):
            continue
        token = (vault.rotate(trigger[SEALED]) if trigger.get(SEALED)
                 else vault.encrypt_text(trigger["secret"]))
        sealed = {k: v for k, v in trigger.items() if k != "secret"} | {SEALED: token}
        # A new object: a JSON column notices assignment, not changes made inside it.
        version.definition = {**version.definition, "trigger": sealed}
        count += 1
    return count


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


def services_of(definition: dict[str, Any]) -> set[str]:
    """The services a definition uses: its trigger's and its steps' (a foreach's inner ones too)."""
    found = {definition["trigger"].get("service")}
    found |= {step.get("service") for _path, step in every_step(definition["steps"])}
    return {s for s in found if s}


def _index_services(workflow: Workflow, definition: dict[str, Any]) -> None:
    """Keep ``workflow_services`` in step with the workflow's current version."""
    db.session.execute(db.delete(WorkflowService).filter_by(workflow_id=workflow.id))
    for service in sorted(services_of(definition)):
        db.session.add(WorkflowService(workflow_id=workflow.id, service=service))


def create_workflow(body: Any, actor: str) -> Workflow:
    definition = normalise(body)
    _seal_secret(definition, None)
    enabled = definition.pop("enabled", True)
    workflow = Workflow(name=definition["name"], description=definition.get("description", ""),
                        enabled=enabled, version=1)
    _apply_trigger(workflow, definition)
    db.session.add(workflow)
    db.session.flush()
    db.session.add(WorkflowVersion(workflow_id=workflow.id, version=1, definition=definition,
                                   created_by=actor))
    _index_services(workflow, definition)
    record(actor, "workflow.create", f"workflow:{workflow.id}", name=workflow.name)
    db.session.commit()
    return workflow


def update_workflow(workflow: Workflow, body: Any, actor: str) -> Workflow:
    """Save a new immutable version; executions keep the version they started with."""
    definition = normalise(body)
    _seal_secret(definition, current_definition(workflow))
    enabled = definition.pop("enabled", workflow.enabled)
    workflow.version += 1
    workflow.name = definition["name"]
    workflow.description = definition.get("description", "")
    workflow.enabled = enabled
    _apply_trigger(workflow, definition)
    db.session.add(WorkflowVersion(workflow_id=workflow.id, version=workflow.version,
                                   definition=definition, created_by=actor))
    _index_services(workflow, definition)
    record(actor, "workflow.update", f"workflow:{workflow.id}", version=workflow.version)
    db.session.commit()
    return workflow


def delete_workflow(workflow: Workflow, actor: str) -> None:
    workflow.deleted_at = utcnow()
    workflow.enabled = False
    workflow.webhook_token = None
    record(actor, "workflow.delete", f"workflow:{workflow.id}")
    db.session.commit()


_WORKFLOWS = Workflow.__table__
_VERSIONS = WorkflowVersion.__table__
# Built once: constructing an ORM select costs several times what SQLite takes to answer it.
_DEFINITION = select(_VERSIONS.c.definition).where(
    _VERSIONS.c.workflow_id == bindparam("w"), _VERSIONS.c.version == bindparam("v"))
_COUNTS = WorkflowRunCount.__table__
_RUNNABLE = (select(_WORKFLOWS.c.id, _WORKFLOWS.c.version, _WORKFLOWS.c.name, _WORKFLOWS.c.enabled,
                    _VERSIONS.c.definition,
                    select(func.coalesce(func.sum(_COUNTS.c.count), 0))
                    .where(_COUNTS.c.workflow_id == _WORKFLOWS.c.id, _COUNTS.c.second > bindparam("since"))
                    .scalar_subquery().label("recent_runs"))
             .join(_VERSIONS, (_VERSIONS.c.workflow_id == _WORKFLOWS.c.id)
                   & (_VERSIONS.c.version == _WORKFLOWS.c.version))
             .where(_WORKFLOWS.c.deleted_at.is_(None)))
_RUNNABLE_BY_ID = _RUNNABLE.where(_WORKFLOWS.c.id == bindparam("id"))
_RUNNABLE_BY_TOKEN = _RUNNABLE.where(_WORKFLOWS.c.webhook_token == bindparam("token"))


def current_definition(workflow: Workflow) -> dict[str, Any]:
    return db.session.execute(_DEFINITION, {"w": workflow.id, "v": workflow.version}).scalar_one()


def runnable(workflow_id: int) -> Any:
    """A live (not deleted) workflow as starting a run needs it, in one read: a row with
    ``id``, ``version``, ``name``, ``enabled``, its current ``definition`` and ``recent_runs``
    (its top-level runs of the last minute, see :func:`atom.engine.chains.check_rate`); or None."""
    return db.session.execute(_RUNNABLE_BY_ID, {"id": workflow_id, "since": run_window_start()}).one_or_none()


def hook_target(token: str) -> Any:
    """The live workflow behind a webhook URL, as :func:`runnable` has it, or None."""
    return db.session.execute(_RUNNABLE_BY_TOKEN, {"token": token, "since": run_window_start()}).one_or_none()


def present(workflow: Workflow, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    """The API view of a workflow (or of a row of its columns); ``definition`` is its current
    version's, when the caller read it already (a list reads them in its one query)."""
    definition = public_definition(current_definition(workflow) if definition is None else definition)
    out = {
        "id": workflow.id,
        "name": workflow.name,
        "description": workflow.description,
        "enabled": workflow.enabled,
        "version": workflow.version,
        "trigger": definition["trigger"],
        "steps": definition["steps"],
        "created_at": isoformat(workflow.created_at),
        "updated_at": isoformat(workflow.updated_at),
    }
    if workflow.webhook_token:
        out["webhook_url"] = url_for("workflow_hooks.receive", token=workflow.webhook_token, _external=True)
    return out


def _attempts_of(row: StepRun) -> list[dict[str, Any]]:
    """Every finished attempt of a step, oldest first: the kept earlier ones, then the row's
    own when it has ended."""
    out = [dict(a) for a in (row.attempts or []) if isinstance(a, dict)]
    if row.status in (StepStatus.SUCCEEDED, StepStatus.FAILED) and row.attempt >= 1 and not (
            out and out[-1].get("attempt") == row.attempt):
        out.append({"attempt": row.attempt, "status": row.status,
                    "started_at": isoformat(row.started_at), "finished_at": isoformat(row.finished_at),
                    "duration_ms": None if row.duration_ms is None else round(row.duration_ms, 3),
                    "error_class": row.error_class, "error": row.error if row.error_class else None})
    return out


def _live_with_steps(execution: Execution) -> tuple[dict[str, Any], list[StepRun]]:
    """The execution's changing fields and its step rows, read in one statement: one snapshot
    on any database. Read one after the other, a poll could see a step that the run recorded
    after the status it had just read (``queued``, with a step running)."""
    live = db.select(Execution.status, Execution.started_at, Execution.finished_at,
                     Execution.error).where(Execution.id == execution.id).cte("live")
    rows = db.session.execute(
        db.select(live, StepRun).select_from(live)
        .outerjoin(StepRun, StepRun.execution_id == execution.id).order_by(StepRun.id)
        .execution_options(populate_existing=True)).all()
    if not rows:  # deleted in the meantime: what the caller read
        return {}, []
    status, started_at, finished_at, error, _ = rows[0]
    return ({"status": status, "started_at": started_at, "finished_at": finished_at, "error": error},
            [row[-1] for row in rows if row[-1] is not None])


def present_execution(execution: Execution, with_steps: bool = True) -> dict[str, Any]:
    live, rows = _live_with_steps(execution) if with_steps else ({}, [])
    status = live.get("status", execution.status)
    out = {
        "id": execution.id,
        "workflow_id": execution.workflow_id,
        "version": execution.version,
        "status": status,
        "trigger_type": execution.trigger_type,
        "parent_id": execution.parent_id,
        "created_at": isoformat(execution.created_at),
        "started_at": isoformat(live.get("started_at", execution.started_at)),
        "finished_at": isoformat(live.get("finished_at", execution.finished_at)),
        "error": live.get("error", execution.error),
    }
    if status == ExecutionStatus.WAITING:
        out["waiting_until"] = isoformat(waiting_until(execution.id))
    if with_steps:
        out["steps"] = [{
            "step_id": r.step_id, "type": r.step_type, "status": r.status, "attempt": r.attempt,
            "started_at": isoformat(r.started_at), "finished_at": isoformat(r.finished_at),
            "duration_ms": None if r.duration_ms is None else round(r.duration_ms, 3),
            "input": r.input, "output": r.output,
            "error": None if r.error is None else {"class": r.error_class, "message": r.error},
            "attempts": _attempts_of(r),
            "fallback": r.fallback,
        } for r in rows]
        if any(r.step_type == "approval" for r in rows):
            by_step: dict[str, list[dict[str, Any]]] = {}
            for decision in decisions_of(execution.id):
                by_step.setdefault(decision.step_id, []).append(present_decision(decision))
            for step in out["steps"]:
                if step["type"] == "approval":
                    step["decisions"] = by_step.get(step["step_id"], [])
    return out
