"""The engine: queues executions, claims them in the database, runs them, and resumes the ones
a dead process left behind.

Executions wait in a queue for one of ``MAX_CONCURRENT_EXECUTIONS`` orchestrator slots; their
steps share a pool of ``WORKER_THREADS``. Both sit behind :class:`Executor`, so a distributed
backend can replace the thread pools. An execution belongs to the process named in
``claimed_by`` (``host:pid:instance``); a process resumes an execution only by
compare-and-set on that column, so under several gunicorn workers each interrupted execution
is resumed exactly once.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Callable
from typing import Protocol

import psutil
from flask import Flask
from sqlalchemy import bindparam
from sqlalchemy import or_
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from atom.engine import chains
from atom.engine import timers
from atom.engine.definition import WorkflowStep
from atom.engine.definition import is_pure
from atom.engine.expressions import render
from atom.engine.runner import Definitions
from atom.engine.runner import ExecutionRun
from atom.engine.runner import Fresh
from atom.engine.runner import RunServices
from atom.engine.runner import read_first_run
from atom.engine.states import EXECUTION_ACTIVE
from atom.engine.states import EXECUTION_FINAL
from atom.engine.states import STEP_RETRIED
from atom.engine.states import ExecutionStatus
from atom.engine.states import StepStatus
from atom.engine.steps import StepFailure
from atom.extensions import db
from atom.models import ApprovalDecision
from atom.models import Execution
from atom.models import StepRun
from atom.models import Workflow
from atom.models.base import utcnow
from atom.settings import uses_sqlite

logger = logging.getLogger(__name__)

HOST = socket.gethostname()
STALE_AFTER_S = 30.0
MAX_DEPTH = 5
# Engines alive in this process: an owner id of this pid that is not here died with its app.
_LIVE_OWNERS: set[str] = set()


# Core statements built once (an ORM or freshly built statement costs more than SQLite's work).
_EXECUTIONS = Execution.__table__
_INSERT_EXECUTION = _EXECUTIONS.insert()
# A queued (or resumed) execution of ours, not cancelled, moves to running.
_CLAIM = (update(_EXECUTIONS)
          .where(_EXECUTIONS.c.id == bindparam("x_id"), _EXECUTIONS.c.claimed_by == bindparam("x_owner"),
                 _EXECUTIONS.c.status.in_(EXECUTION_ACTIVE), _EXECUTIONS.c.cancel_requested.is_(False))
          .values(status=ExecutionStatus.RUNNING, heartbeat_at=bindparam("x_now"),
                  started_at=db.func.coalesce(_EXECUTIONS.c.started_at, bindparam("x_now"))))

# A delivered execution that has never run, still held by the engine that queued it and not
# cancelled, taken by this one and moved to running in one statement. Never run (no
# ``started_at``): it has no step rows and no timers to read back.
_TAKE_FIRST_RUN = (update(_EXECUTIONS)
                   .where(_EXECUTIONS.c.id == bindparam("x_id"),
                          _EXECUTIONS.c.claimed_by == bindparam("x_from"),
                          _EXECUTIONS.c.status == ExecutionStatus.QUEUED, _EXECUTIONS.c.started_at.is_(None),
                          _EXECUTIONS.c.cancel_requested.is_(False))
                   .values(claimed_by=bindparam("x_owner"), status=ExecutionStatus.RUNNING,
                           heartbeat_at=bindparam("x_now"), started_at=bindparam("x_now")))


class Executor(Protocol):
    """Where orchestrators and steps run. The thread pools are the embedded default."""

    def submit_execution(self, fn: Callable[..., Any], *args: Any) -> Future: ...

    def submit_step(self, fn: Callable[..., Any], *args: Any) -> Future: ...

    def shutdown(self) -> None: ...


class ThreadExecutor:
    def __init__(self, executions: int, steps: int) -> None:
        self._executions = ThreadPoolExecutor(executions, thread_name_prefix="atom-exec")
        self._steps = ThreadPoolExecutor(steps, thread_name_prefix="atom-step")

    def submit_execution(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._executions.submit(fn, *args)

    def submit_step(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._steps.submit(fn, *args)

    def shutdown(self) -> None:
        self._executions.shutdown(wait=False, cancel_futures=True)
        self._steps.shutdown(wait=False, cancel_futures=True)


class Engine:
    def __init__(self, app: Flask, executor: Executor | None = None) -> None:
        self.app = app
        self.owner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        _LIVE_OWNERS.add(self.owner)
        self._executor = executor
        # Pure executions may run in the thread that starts them (see start): embedded on
        # SQLite only (ATOM_EXECUTOR=celery needs PostgreSQL, so it never does).
        self._inline = uses_sqlite(app.config)
        self._lock = threading.Lock()
        # Executions queued or running in this process, and the events of the callers waiting
        # for one of them (made on demand): both are emptied as executions end, so the
        # engine's bookkeeping does not grow with the work it has done.
        self._active: set[int] = set()
        self._waiters: dict[int, threading.Event] = {}
        # What start() knew of the executions it has just queued (taken when they run).
        self._fresh: dict[int, Fresh] = {}
        self._services: RunServices | None = None

    @property
    def executor(self) -> Executor:
        with self._lock:
            if self._executor is None:
                self._executor = self._select_executor()
            return self._executor

    def close(self) -> None:
        _LIVE_OWNERS.discard(self.owner)
        if self._executor is not None:
            self._executor.shutdown()

    # -- starting ---------------------------------------------------------------------------------

    def start(self, workflow: Any, payload: dict[str, Any], trigger_type: str = "manual",
              idempotency_key: str | None = None,
              chain: chains.Chain | None = None,
              definition: dict[str, Any] | None = None,
              started_by: str | None = None,
              inline: bool = False) -> tuple[Execution, bool]:
        """Create and queue an execution; with a known idempotency key return the existing one.

        :param chain: the execution chain the request came from (``X-Atom-Execution``), if any.
        :param workflow: a :class:`Workflow`, or a row with its ``id``, ``version`` and ``name``
            (and ``recent_runs``: :func:`atom.engine.workflows.runnable`'s rows have them).
        :param definition: the workflow's current definition, when the caller has read it: the
            run then reads neither its execution row nor its definition back.
        :param started_by: who started it (an approval step may refuse them as approver).
        :param inline: the caller's thread may run it: embedded on SQLite, an
            execution whose steps are all pure (:func:`~atom.engine.definition.is_pure`) then
            runs here and has ended when this returns (a webhook's, before its 202). Handing a
            run that light to the pool cost more than the run: two threads taking turns on
            the GIL and the database, 2.4-2.5 ms of CPU an execution against 1.5 ms here. On
            PostgreSQL each statement is a round trip, which the pool overlaps with the next
            request (inline, one sender's rate fell by a quarter), so it keeps the pool.
        :return: the execution and whether it was created now (as it was created: queued).
        :raises chains.ExecutionRefused: past a chain's limits or the workflow's runs a minute.
        """
        # Read before the commit expires an ORM workflow (reading them after it would reload it).
        workflow_id, version, name = workflow.id, workflow.version, workflow.name
        if idempotency_key:
            existing = self._by_key(workflow_id, idempotency_key)
            if existing is not None:
                return existing, False
        place = chains.admit(workflow_id, chain, getattr(workflow, "recent_runs", None))
        now = utcnow()
        row = dict(workflow_id=workflow_id, version=version, status=ExecutionStatus.QUEUED,
                   trigger_type=trigger_type, trigger_payload=payload, idempotency_key=idempotency_key,
                   claimed_by=self.owner, heartbeat_at=now, created_at=now, started_by=started_by,
                   cancel_requested=False, parent_id=None, error=None, started_at=None,
                   finished_at=None, **place)
        try:
            # A Core insert (the ORM's unit of work costs several times SQLite's work).
            execution_id = db.session.execute(_INSERT_EXECUTION, row).inserted_primary_key[0]
            chains.count_run(workflow_id)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # the same key raced in from another request
            return self._by_key(workflow_id, idempotency_key), False
        # The row as inserted, a persistent instance of the session without a read: the
        # execution as it was created (expire it, or start a new session, to see it run).
        execution = Execution(id=execution_id, **row)
        make_transient_to_detached(execution)
        db.session.add(execution)
        if definition is not None:
            with self._lock:
                self._fresh[execution_id] = Fresh(execution_id, workflow_id, version, place["depth"],
                                                  place["root_id"], payload, definition, name)
        self.enqueue(execution_id, here=inline and self._inline and definition is not None
                     and is_pure(definition))
        return execution, True

    def _by_key(self, workflow_id: int, key: str | None) -> Execution | None:
        return db.session.execute(db.select(Execution).filter_by(
            workflow_id=workflow_id, idempotency_key=key)).scalar_one_or_none()

    def enqueue(self, execution_id: int, here: bool = False) -> None:
        """Run a queued execution of ours on the executor, or (``here``) in this thread: it
        has ended, failed or not, when this returns."""
        with self._lock:
            self._active.add(execution_id)
        if here:
            self._run_claimed(execution_id)  # raises nothing; ends its bookkeeping itself
            return
        try:
            self.executor.submit_execution(self._run_claimed, execution_id)
        except BaseException:
            self._ended(execution_id)
            raise
        if self.app.config.get("EXECUTOR") == "celery":
            self._ended(execution_id)  # it runs in a worker: nothing of it is kept here

    def submit_step(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self.executor.submit_step(fn, *args)

    def submit_child(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run a sub-workflow step on a thread of its own: it orchestrates its child, whose steps
        need the step pool, so holding a step-pool thread while it waits could leave no thread
        for them (parallel sub-workflows would deadlock the pool). Nesting is bounded by the
        depth limit, breadth by the definitions."""
        future: Future = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # delivered to the orchestrator like a step's error
                future.set_exception(exc)

        threading.Thread(target=run, name="atom-subworkflow", daemon=True).start()
        return future

    # -- running ------------------------------------------------------------------------------------

    def _run_claimed(self, execution_id: int, claimed: tuple[Any, datetime] | None = None) -> None:
        """Claim a queued execution of ours and run it; ``claimed``: the connection a first run
        was claimed on already and when (a delivered one, see run_delivered). A failure here,
        reading it included, fails the execution rather than leaving it claimed and idle."""
        with self.app.app_context():
            conn = None
            try:
                if claimed is not None:
                    conn, started_at = claimed
                    fresh = read_first_run(conn, execution_id, started_at)
                else:
                    conn = db.engine.connect()  # the claim's, then (fresh) the run's step rows'
                    if not self._claim(execution_id, conn):
                        return
                    with self._lock:
                        fresh = self._fresh.pop(execution_id, None)
                if fresh is None:
                    conn.close()
                    self.run(execution_id)
                else:
                    ExecutionRun(self.app, execution_id, self.services, fresh, conn=conn).run()
            except Exception:
                logger.exception("execution %s crashed in its orchestrator", execution_id)
                self._fail(execution_id, "internal error in the engine; see the log")
            finally:
                if conn is not None:
                    conn.close()  # a no-op when the run gave it back already
                db.session.remove()
                self._ended(execution_id)

    def _claim(self, execution_id: int, conn: Any) -> bool:
        """Move a queued (or resumed) execution of ours to running (committed on ``conn``)."""
        now = utcnow()
        result = conn.execute(_CLAIM, {"x_id": execution_id, "x_owner": self.owner, "x_now": now})
        conn.commit()
        if result.rowcount == 1:
            fresh = self._fresh.get(execution_id)
            if fresh is not None:
                fresh.started_at = now  # as the row has it now (it had none)
            return True
        table = _EXECUTIONS
        ours = (table.c.id == execution_id, table.c.claimed_by == self.owner,
                table.c.status.in_(EXECUTION_ACTIVE))
        cancelled = db.session.execute(db.select(Execution.cancel_requested).where(*ours)).scalar()
        if cancelled:  # cancelled while queued, or before a resume
            self._set_final(execution_id, ExecutionStatus.CANCELLED, "cancelled on request")
        return False

    def run(self, execution_id: int) -> str:
        """Run a claimed execution to its end in this thread; return its final status."""
        return ExecutionRun(self.app, execution_id, self.services).run()

    @property
    def services(self) -> RunServices:
        """What this engine's runs use: its pools, its sub-workflow runner, the app's runtime
        and monitoring's integration health."""
        if self._services is None:
            from atom.intelligence import history
            from atom.state import get_state

            app = self.app
            self._services = RunServices(
                submit_step=self.submit_step, submit_child=self.submit_child, run_child=self.run_child,
                runtime=get_state(app).runtime,
                health=lambda service, exclude: history.health(service, app=app, exclude_connection=exclude),
                definitions=Definitions())
        return self._services

    def run_child(self, parent_id: int, depth: int, step: WorkflowStep, context: dict[str, Any],
                  root_id: int | None = None) -> Any:
        """A ``workflow`` step: run another workflow inline and return its outcome.

        :param root_id: the root of the parent's execution chain (default: the parent).
        """
        limit = self.app.config.get("MAX_WORKFLOW_DEPTH", MAX_DEPTH)
        if depth + 1 > limit:
            raise StepFailure(f"sub-workflow depth limit ({limit}) reached", "validation")
        workflow = db.session.get(Workflow, step.workflow_id)
        if workflow is None or workflow.deleted_at is not None:
            raise StepFailure(f"no workflow {step.workflow_id}", "validation")
        if not workflow.enabled:
            raise StepFailure(f"workflow {workflow.id} is disabled", "validation")
        payload = render(step.payload, context)
        key = f"parent:{parent_id}:{step.id}"
        child = self._by_key(workflow.id, key)  # a resumed parent continues the child it started
        if child is None:
            child = self._new_child(workflow, payload, parent_id, depth, root_id or parent_id, key)
        elif child.status not in EXECUTION_FINAL:
            self._take_over(child.id)
        status = child.status if child.status in EXECUTION_FINAL else self.run(child.id)
        outputs = {r.step_id: r.output for r in db.session.scalars(
            db.select(StepRun).filter_by(execution_id=child.id))}
        if status != ExecutionStatus.SUCCEEDED:
            error = db.session.get(Execution, child.id).error
            raise StepFailure(f"sub-workflow execution {child.id} {status}: {error}", "workflow")
        return {"execution_id": child.id, "status": status, "steps": outputs}

    def _new_child(self, workflow: Workflow, payload: Any, parent_id: int, depth: int, root_id: int,
                   key: str) -> Execution:
        """Create a sub-workflow execution, within its chain's cap (counted and added under one
        lock, so parallel sub-workflow steps cannot overshoot it)."""
        with chains.CHAIN_LOCK:
            try:
                chains.check_descendants(root_id)
            except chains.ChainLimit as exc:
                db.session.rollback()
                raise StepFailure(f"sub-workflow not started: {exc}", "validation") from exc
            child = Execution(workflow_id=workflow.id, version=workflow.version, status=ExecutionStatus.RUNNING,
                              trigger_type="workflow", trigger_payload=payload, parent_id=parent_id,
                              depth=depth + 1, root_id=root_id, claimed_by=self.owner,
                              heartbeat_at=utcnow(), started_at=utcnow(), idempotency_key=key)
            db.session.add(child)
            try:
                db.session.commit()
            except IntegrityError:  # the same child raced in: continue that one
                db.session.rollback()
                child = self._by_key(workflow.id, key)
                if child.status not in EXECUTION_FINAL:
                    self._take_over(child.id)
        return child

    def heartbeat(self, execution_id: int) -> None:
        db.session.execute(update(Execution).where(Execution.id == execution_id)
                           .values(heartbeat_at=utcnow()))
        db.session.commit()

    def wait(self, execution_id: int, timeout: float) -> bool:
        """Wait until an execution this process runs has finished; return whether it did.
        One that is not queued or running here is not waited for: the answer is whether it
        has finished (read from the database). With Celery the executor watches the database
        (the execution runs in a worker)."""
        if self.app.config.get("EXECUTOR") == "celery":
            return self.executor.wait(execution_id, timeout)
        with self._lock:
            if execution_id in self._active:
                event = self._waiters.get(execution_id)
                if event is None:
                    event = self._waiters[execution_id] = threading.Event()
            else:
                event = None
        if event is not None:
            return event.wait(timeout)
        with self.app.app_context():
            status = db.session.execute(db.select(Execution.status).where(Execution.id == execution_id)).scalar()
            db.session.rollback()
        return status in EXECUTION_FINAL

    def _ended(self, execution_id: int) -> None:
        """An execution of this process has ended here: wake its waiters, forget it."""
        with self._lock:
            self._active.discard(execution_id)
            self._fresh.pop(execution_id, None)
            event = self._waiters.pop(execution_id, None)
        if event is not None:
            event.set()

    def _fail(self, execution_id: int, error: str) -> None:
        try:
            self._set_final(execution_id, ExecutionStatus.FAILED, error)
        except Exception:
            logger.exception("could not record the failure of execution %s", execution_id)

    def _set_final(self, execution_id: int, status: str, error: str | None) -> None:
        """End an execution no orchestrator runs (cancelled before it was resumed, or its
        orchestrator crashed): a step it left ``running`` ends too, so no row stays running."""
        db.session.rollback()
        now = utcnow()
        db.session.execute(update(StepRun).where(StepRun.execution_id == execution_id,
                                                 StepRun.status == StepStatus.RUNNING)
                           .values(status=StepStatus.CANCELLED if status == ExecutionStatus.CANCELLED
                                   else StepStatus.FAILED,
                                   finished_at=now, error_class=None if status == ExecutionStatus.CANCELLED
                                   else "internal", error=f"interrupted: {error}"[:4000]))
        db.session.execute(update(Execution).where(Execution.id == execution_id)
                           .values(status=status, error=error, finished_at=now))
        db.session.commit()

    # -- control ----------------------------------------------------------------------------------

    def cancel(self, execution: Execution) -> None:
        """Request cancellation; a queued or waiting execution is cancelled at once."""
        execution_id = execution.id
        execution.cancel_requested = True
        if execution.status == ExecutionStatus.QUEUED:
            execution.status, execution.finished_at = ExecutionStatus.CANCELLED, utcnow()
            execution.error = "cancelled on request"
        db.session.commit()
        # Parked on a durable timer (perhaps since it was read): no orchestrator sees the flag.
        timers.cancel_waiting(execution_id)

    def cancel_tree(self, execution: Execution) -> None:
        """Cancel ``execution`` and the sub-workflow executions of its chain that have not
        finished (its parent would otherwise wait for a child that goes on running)."""
        children = db.session.scalars(db.select(Execution).where(
            Execution.root_id == execution.id, Execution.id != execution.id,
            Execution.status.not_in(EXECUTION_FINAL))).all()
        for child in children:
            self.cancel(child)
        self.cancel(execution)

    def retry(self, execution: Execution) -> None:
        """Run a failed execution again from its failed steps, keeping the successful outputs."""
        # The decisions of approval steps that run again go with their rows (asked anew).
        kept = db.select(StepRun.step_id).where(StepRun.execution_id == execution.id,
                                                StepRun.status.not_in(STEP_RETRIED))
        db.session.execute(ApprovalDecision.__table__.delete().where(
            ApprovalDecision.execution_id == execution.id, ApprovalDecision.step_id.not_in(kept)))
        db.session.execute(StepRun.__table__.delete().where(
            StepRun.execution_id == execution.id,
            StepRun.status.in_(STEP_RETRIED)))
        execution.status, execution.error, execution.finished_at = ExecutionStatus.QUEUED, None, None
        execution.cancel_requested = False
        execution.claimed_by, execution.heartbeat_at = self.owner, utcnow()
        db.session.commit()
        self.enqueue(execution.id)

    # -- scale-out: executor selection and the claim of a delivered task (atom.engine.celery_app)

    def _select_executor(self) -> Executor:
        cfg = self.app.config
        if cfg.get("EXECUTOR") == "celery":
            from atom.engine.celery_app import CeleryExecutor

            return CeleryExecutor(self.app, self.owner)
        return ThreadExecutor(cfg["MAX_CONCURRENT_EXECUTIONS"], cfg["WORKER_THREADS"])

    def run_delivered(self, execution_id: int, enqueued_by: str | None) -> bool:
        """Run an execution a broker delivered, in this thread, if this engine can take it;
        return whether it ran here.

        It is taken (compare-and-set on ``claimed_by``) from the engine that queued it, or from
        an owner that is gone (as :meth:`recover` judges it). A task delivered again for an
        execution that has finished, or that another live engine runs, is a no-op.
        """
        with self.app.app_context():
            if enqueued_by not in (None, self.owner):
                # The common case: a new execution the engine that queued it still holds. Take
                # and claim it in one statement, read what its run needs in one more.
                conn = db.engine.connect()
                try:
                    now = utcnow()
                    taken = conn.execute(_TAKE_FIRST_RUN, {"x_id": execution_id, "x_from": enqueued_by,
                                                           "x_owner": self.owner, "x_now": now}).rowcount
                    conn.commit()
                except BaseException:
                    conn.close()
                    raise
                if taken == 1:
                    self._run_claimed(execution_id, claimed=(conn, now))
                    return True
                conn.close()
            try:
                taken = self._take_delivered(execution_id, enqueued_by)
            finally:
                db.session.remove()
        if taken:
            self._run_claimed(execution_id)
        return taken

    def _take_delivered(self, execution_id: int, enqueued_by: str | None) -> bool:
        # Still held by the engine that queued it, but running or cancelled (run_delivered took
        # the plain queued case already): take it, and the claim decides.
        if enqueued_by not in (None, self.owner) and self._take_from(execution_id, enqueued_by):
            return True
        row = db.session.execute(
            db.select(Execution.claimed_by, Execution.heartbeat_at, Execution.status)
            .where(Execution.id == execution_id)).one_or_none()
        db.session.commit()
        if row is None or row.status not in EXECUTION_ACTIVE:
            return False
        if row.claimed_by == self.owner:
            return row.claimed_by == enqueued_by  # this engine queued it (its recovery did)
        stale_s = self.app.config.get("EXECUTION_STALE_S", STALE_AFTER_S)
        stale = utcnow() - timedelta(seconds=stale_s)
        if row.claimed_by != enqueued_by and not _orphaned(row.claimed_by, row.heartbeat_at, stale):
            return False
        if not self._take_from(execution_id, row.claimed_by):
            return False  # another engine took it first
        if row.claimed_by != enqueued_by:
            logger.warning("resuming execution %s left by %s", execution_id, row.claimed_by)
        return True

    def _take_from(self, execution_id: int, owner: str | None) -> bool:
        """Compare-and-set a queued or running execution's owner from ``owner`` to this engine."""
        table = Execution.__table__
        held = table.c.claimed_by.is_(None) if owner is None else table.c.claimed_by == owner
        taken = db.session.execute(update(table).where(
            table.c.id == execution_id, held, table.c.status.in_(EXECUTION_ACTIVE))
            .values(claimed_by=self.owner, heartbeat_at=utcnow()))
        db.session.commit()
        return taken.rowcount == 1

    # -- durability ---------------------------------------------------------------------------------

    def recover(self) -> list[int]:
        """Resume every queued or running execution whose process is gone; return their ids."""
        stale = utcnow() - timedelta(seconds=self.app.config.get("EXECUTION_STALE_S", STALE_AFTER_S))
        candidates = db.session.execute(
            db.select(Execution.id, Execution.claimed_by, Execution.heartbeat_at)
            .where(Execution.status.in_(EXECUTION_ACTIVE), Execution.parent_id.is_(None),
                   or_(Execution.claimed_by.is_(None), Execution.claimed_by != self.owner))
        ).all()
        resumed = []
        for execution_id, owner, beat in candidates:
            if not _orphaned(owner, beat, stale):
                continue
            if self._take_over(execution_id, owner):
                logger.warning("resuming execution %s left by %s", execution_id, owner)
                self.enqueue(execution_id)
                resumed.append(execution_id)
        return resumed

    def adopt(self, execution_id: int) -> bool:
        """Resume one queued or running execution here if its process is gone (as
        :meth:`recover` does for every such execution); return whether this process took it.
        A cancelled one then ends at once, its interrupted steps with it."""
        stale_s = self.app.config.get("EXECUTION_STALE_S", STALE_AFTER_S)
        stale = utcnow() - timedelta(seconds=stale_s)
        row = db.session.execute(
            db.select(Execution.claimed_by, Execution.heartbeat_at, Execution.status)
            .where(Execution.id == execution_id)).one_or_none()
        db.session.commit()
        if row is None or row.status not in EXECUTION_ACTIVE or row.claimed_by == self.owner:
            return False
        if not _orphaned(row.claimed_by, row.heartbeat_at, stale):
            return False
        if not self._take_over(execution_id, row.claimed_by):
            return False
        logger.warning("resuming execution %s left by %s", execution_id, row.claimed_by)
        self.enqueue(execution_id)
        return True

    def _take_over(self, execution_id: int, owner: str | None = None) -> bool:
        query = update(Execution).where(Execution.id == execution_id)
        if owner is not None:
            query = query.where(Execution.claimed_by == owner)
        result = db.session.execute(query.values(claimed_by=self.owner, heartbeat_at=utcnow()))
        db.session.commit()
        return result.rowcount == 1

    def start_recovery_loop(self, interval: float = 15.0) -> threading.Thread:
        """Resume orphaned executions now and every ``interval`` seconds (a daemon thread)."""
        def loop() -> None:
            stop = threading.Event()
            while True:
                with self.app.app_context():
                    try:
                        self.recover()
                    except Exception:
                        logger.exception("execution recovery sweep failed")
                    finally:
                        db.session.remove()
                if stop.wait(interval):
                    return

        thread = threading.Thread(target=loop, name="atom-recovery", daemon=True)
        thread.start()
        return thread


def _orphaned(owner: str | None, beat: Any, stale: Any) -> bool:
    """A process on this host is judged by whether it lives; one elsewhere by its heartbeat."""
    if owner and owner.partition(":")[0] != HOST:
        return beat is None or beat < stale
    return not _owner_alive(owner, beat)


def _owner_alive(owner: str | None, beat: Any = None) -> bool:
    """Whether the process named by ``host:pid:instance`` still runs (judged on this host only).

    A pid is only the owner's if that process is not a zombie and started before the
    execution's last heartbeat: after a restart (a container's especially) pids are reused.
    """
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != HOST:
        return True  # another machine: only its heartbeat can tell
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return owner in _LIVE_OWNERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not _pid_reused(pid, beat)


def _pid_reused(pid: int, beat: Any) -> bool:
    """Whether ``pid`` now names a zombie, or a process younger than the owner's heartbeat."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return True
        started = datetime.fromtimestamp(proc.create_time(), UTC).replace(tzinfo=None)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
    return beat is not None and started > beat + timedelta(seconds=1)
