"""Listing, cancelling and retrying executions: what ``/api/v2/executions`` and the dashboard's
execution pages both call, so a filter means the same and a refusal says the same in both."""
from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from atom.engine import get_engine
from atom.engine.definition import TRIGGER_TYPES
from atom.extensions import db
from atom.models import Execution
from atom.engine.states import EXECUTION_FINAL
from atom.engine.states import EXECUTION_RETRYABLE

# What starts an execution: a workflow's trigger, or a parent execution's ``workflow`` step.
EXECUTION_TRIGGERS = (*TRIGGER_TYPES, "workflow")


class ExecutionConflict(Exception):
    """The execution's status does not allow this (the API answers 409)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def select_executions(workflow_id: int | None = None, status: str | None = None,
                      trigger_type: str | None = None, since: datetime | None = None,
                      until: datetime | None = None) -> Any:
    """Executions newest first, filtered by workflow, status, trigger and creation time
    (``since`` and ``until`` inclusive; aware values are compared in UTC)."""
    stmt = db.select(Execution).order_by(Execution.id.desc())
    if workflow_id is not None:
        stmt = stmt.filter_by(workflow_id=workflow_id)
    if status is not None:
        stmt = stmt.filter_by(status=status)
    if trigger_type is not None:
        stmt = stmt.filter_by(trigger_type=trigger_type)
    if since is not None:
        stmt = stmt.where(Execution.created_at >= _naive(since))
    if until is not None:
        stmt = stmt.where(Execution.created_at <= _naive(until))
    return stmt


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def cancel_execution(execution: Execution) -> None:
    """Cancel cooperatively: running steps finish, no new step starts (a queued execution is
    cancelled at once).

    :raises ExecutionConflict: it has already finished.
    """
    if execution.status in EXECUTION_FINAL:
        raise ExecutionConflict(f"execution {execution.id} has already {execution.status}")
    get_engine().cancel(execution)


def retry_execution(execution: Execution) -> None:
    """Run a failed or cancelled execution again from its failed steps, reusing the outputs of
    the steps that succeeded.

    :raises ExecutionConflict: it is neither failed nor cancelled.
    """
    if execution.status not in EXECUTION_RETRYABLE:
        raise ExecutionConflict(f"only failed or cancelled executions can be retried; this one is "
                                f"{execution.status}")
    get_engine().retry(execution)
