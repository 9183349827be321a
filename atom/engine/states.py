"""The named states of executions, steps and attempts, and the one definition of which are final.

The values are the strings stored in ``executions.status``, ``step_runs.status`` and an attempt's
``status`` (a :class:`enum.StrEnum` member is equal to its string, so stored rows, JSON and the
API read the same as before). This module imports nothing of ATOM: models, the engine, the API,
the dashboard and monitoring all take their states from here.
"""
from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    # Parked on a durable timer (a long ``wait``, a long retry backoff): no thread holds it;
    # the scheduler's timer job queues it again when its timer is due.
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in EXECUTION_FINAL


class StepStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in STEP_FINAL


class AttemptStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


# An execution in one of these has ended: nothing runs it any more, it may only be retried
# (failed, cancelled).
EXECUTION_FINAL: frozenset[ExecutionStatus] = frozenset(
    {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})
# An execution in one of these is someone's to run (queued, or claimed and running). A
# ``waiting`` one is neither final nor active: no process owns it (recovery leaves it alone),
# its timers are rows and the scheduler's timer job makes it ``queued`` again.
EXECUTION_ACTIVE: frozenset[ExecutionStatus] = frozenset(
    {ExecutionStatus.QUEUED, ExecutionStatus.RUNNING})
# A step in one of these keeps its outcome when its execution resumes; a ``running`` one (it was
# interrupted) runs again, and a ``cancelled`` one runs again when its execution is retried.
STEP_FINAL: frozenset[StepStatus] = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.FAILED})
# The step rows a retry deletes (the steps run again); succeeded ones keep their outputs.
STEP_RETRIED: frozenset[StepStatus] = frozenset(set(StepStatus) - {StepStatus.SUCCEEDED})
EXECUTION_RETRYABLE: frozenset[ExecutionStatus] = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})

# Ordered lists for the API's enums and the dashboard's filters.
EXECUTION_STATUSES: tuple[str, ...] = tuple(s.value for s in ExecutionStatus)
STEP_STATUSES: tuple[str, ...] = tuple(s.value for s in StepStatus)
FINISHED: tuple[str, ...] = tuple(s.value for s in ExecutionStatus if s in EXECUTION_FINAL)


def is_final(status: str | None) -> bool:
    """Whether an execution status (as stored) has ended."""
    return status in EXECUTION_FINAL
