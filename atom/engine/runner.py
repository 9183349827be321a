"""The runner: one orchestrator per execution, steps in dependency order, every step persisted.

The orchestrator (one thread per execution) owns all of its execution's database writes: a step
row when a step starts and when it ends. Ready I/O steps (action, notification, workflow) run
concurrently on the shared, bounded step pool; pure steps run inline; waits are timers. A step
past its ``timeout_s`` is marked ``timeout`` and its late result is ignored. Cancellation is
cooperative: no new step starts once it is requested.

Step rows are committed in batches (see :meth:`ExecutionRun._flush`): the rows written since the
last commit go in one transaction before an I/O step is handed to the pool, before the
orchestrator waits, and at the end. So a step's start is committed before it calls a service,
and its end before any step that depends on it starts: a step seen finished is never run again.
Parameters are rendered and connections looked up here, so a step thread only calls the service.
"""
from __future__ import annotations

import heapq
import json
import logging
import queue
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Callable

from flask import Flask
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update

from atom.engine import approvals
from atom.engine import chains
from atom.engine import expressions
from atom.engine import steps as step_types
from atom.engine import timers
from atom.engine.definition import Definition
from atom.engine.definition import ForEachStep
from atom.engine.definition import ServiceStep
from atom.engine.definition import Step
from atom.engine.definition import load_definition
from atom.engine.expressions import ExpressionError
from atom.engine.expressions import evaluate
from atom.engine.expressions import render
from atom.engine.expressions import truthy
from atom.engine.planner import Plan
from atom.engine.planner import Planner
from atom.engine.planner import StepState
from atom.engine.planner import fails_execution
from atom.engine.states import STEP_FINAL
from atom.engine.states import AttemptStatus
from atom.engine.states import ExecutionStatus
from atom.engine.states import StepStatus
from atom.extensions import db
from atom.integrations.http import execution_chain
from atom.models import Execution
from atom.models import ExecutionTimer
from atom.models import StepRun
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.base import dialect_insert
from atom.models.base import isoformat
from atom.models.base import utcnow

logger = logging.getLogger(__name__)
RUNNING_STATE = StepState(StepStatus.RUNNING)

MAX_PAYLOAD_CHARS = 64_000
HEARTBEAT_S = 5.0
# How long an execution reuses a connection it looked up (an edit applies after this).
CONNECTION_TTL_S = 5.0
CANCEL_POLL_S = 0.5
# The orchestrator keeps its database connection between writes while steps end this quickly;
# when it waits longer, it gives the connection back to the pool.
HOLD_CONNECTION_S = 0.005
# Steps that end within this of each other have their rows committed together.
BATCH_S = 0.002
_SECRET_KEY = re.compile(r"(?i)(token|secret|password|authorization|api[_-]?key|credential)")

# Step rows are written whole, with prebuilt Core statements: a step is addressed by its
# unique (execution, step id). On SQLite and PostgreSQL one upsert writes new and existing rows.
_STEP_TABLE = StepRun.__table__
_ROW_FIELDS = ("step_type", "status", "attempt", "started_at", "finished_at", "duration_ms", "input",
               "output", "error_class", "error", "attempts")
_INSERT_STEP = _STEP_TABLE.insert()
_UPDATE_STEP = _STEP_TABLE.update().where(_STEP_TABLE.c.execution_id == bindparam("x_execution"),
                                          _STEP_TABLE.c.step_id == bindparam("x_step"))
_UPSERTS: dict[str, Any] = {}
# Only steps that declare a ``fallback`` write this column (after their row's upsert).
_FALLBACK_STEP = _STEP_TABLE.update().where(
    _STEP_TABLE.c.execution_id == bindparam("x_execution"),
    _STEP_TABLE.c.step_id == bindparam("x_step")).values(fallback=bindparam("x_fallback"))


# An execution's outcome, committed with its last step rows.
_EXECUTIONS = Execution.__table__
_FINISH_EXECUTION = _EXECUTIONS.update().where(_EXECUTIONS.c.id == bindparam("x_id")).values(
    status=bindparam("x_status"), error=bindparam("x_error"), finished_at=bindparam("x_at"),
    heartbeat_at=bindparam("x_at"))

# What a run started elsewhere (resumed, delivered to a worker) reads back, as plain columns
# (no ORM objects), in statements built once.
_READ_EXECUTION = (
    select(_EXECUTIONS.c.id, _EXECUTIONS.c.workflow_id, _EXECUTIONS.c.version, _EXECUTIONS.c.depth,
           _EXECUTIONS.c.root_id, _EXECUTIONS.c.trigger_payload, _EXECUTIONS.c.started_at,
           _EXECUTIONS.c.parent_id, WorkflowVersion.__table__.c.definition, Workflow.__table__.c.name)
    .select_from(_EXECUTIONS)
    .outerjoin(WorkflowVersion.__table__, (WorkflowVersion.__table__.c.workflow_id == _EXECUTIONS.c.workflow_id)
               & (WorkflowVersion.__table__.c.version == _EXECUTIONS.c.version))
    .join(Workflow.__table__, Workflow.__table__.c.id == _EXECUTIONS.c.workflow_id)
    .where(_EXECUTIONS.c.id == bindparam("x_id")))
_READ_STEPS = select(*[_STEP_TABLE.c[f] for f in ("step_id", *_ROW_FIELDS)]).where(
    _STEP_TABLE.c.execution_id == bindparam("x_id"))

# Durable timers (see atom/engine/timers.py).
_TIMER_TABLE = ExecutionTimer.__table__
_READ_TIMERS = select(_TIMER_TABLE.c.step_id, _TIMER_TABLE.c.due_at, _TIMER_TABLE.c.kind).where(
    _TIMER_TABLE.c.execution_id == bindparam("x_id"))
_INSERT_TIMER = _TIMER_TABLE.insert()
_DELETE_TIMERS = _TIMER_TABLE.delete().where(_TIMER_TABLE.c.execution_id == bindparam("x_execution"))


def _upsert_step(dialect: Any) -> Any:
    """``INSERT ... ON CONFLICT (execution_id, step_id) DO UPDATE`` of whole step rows where the
    dialect has it (SQLite, PostgreSQL), built once per dialect; None elsewhere."""
    name = dialect.name
    if name not in _UPSERTS:
        insert = dialect_insert(dialect)
        if insert is None:
            _UPSERTS[name] = None
            return None
        stmt = insert(_STEP_TABLE)
        _UPSERTS[name] = stmt.on_conflict_do_update(index_elements=["execution_id", "step_id"],
                                                    set_={f: stmt.excluded[f] for f in _ROW_FIELDS})
    return _UPSERTS[name]


def redact(value: Any) -> Any:
    """Replace values under secret-looking keys, recursively."""
    if isinstance(value, dict):
        return {k: ("[REDACTED]" if isinstance(k, str) and _SECRET_KEY.search(k) else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def cap(value: Any) -> Any:
    """Keep stored payloads bounded: oversized ones become a truncated preview."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = json.dumps(value, default=str)
    if len(text) <= MAX_PAYLOAD_CHARS:
        return json.loads(text) if not isinstance(value, (str, dict, list)) else value
    return {"_truncated": True, "size": len(text), "preview": text[:2000]}


def jsonable(value: Any) -> Any:
    """``value`` if JSON can carry it as it is; else its JSON rendering, where datetimes,
    decimals, bytes and the like have become text. Step outputs are kept this way, so what
    later steps see is what is stored and what a resumed execution reads back."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))
    return value


def stored(value: Any, redactor: Any = None) -> Any:
    """``value`` as a step row keeps it: without secrets (the values ``redactor`` knows, and
    anything under a secret-looking key), capped in size."""
    if not value:  # None, {}, [], "": nothing to redact or cap
        return value
    if redactor is not None:
        value = redactor.value(value)
    return cap(redact(value))


class Definitions:
    """Typed definitions and their planners by (workflow id, version), the most recently used
    ``size`` of them: a version never changes, so its typed form is built once, not per run."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, int], tuple[Definition, Planner]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, workflow_id: int, version: int, raw: dict[str, Any]) -> tuple[Definition, Planner]:
        key = (workflow_id, version)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        definition = load_definition(raw)
        found = (definition, Planner(definition))
        with self._lock:
            self._items[key] = found
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return found


@dataclass(slots=True)
class Fresh:
    """What the engine knows of an execution it has just created (so the runner reads none
    of it back): its row's columns and the pinned version's definition."""

    id: int
    workflow_id: int
    version: int
    depth: int
    root_id: int | None
    trigger_payload: Any
    definition: dict[str, Any]
    name: str
    started_at: datetime | None = None  # set by the claim


def read_first_run(conn: Any, execution_id: int, started_at: datetime) -> Fresh:
    """What a run needs of an execution that has never run (no step rows, no timers yet), read
    on ``conn`` in one statement: its row, its pinned version's definition (None when that
    version is missing) and the workflow's name."""
    row = conn.execute(_READ_EXECUTION, {"x_id": execution_id}).one()
    return Fresh(row.id, row.workflow_id, row.version, row.depth or 0, row.root_id, row.trigger_payload,
                 row.definition, row.name, started_at=started_at)


class VersionMissing(Exception):
    """The version an execution is pinned to has no row (it ends failed, not stranded)."""


@dataclass(frozen=True, slots=True)
class RunServices:
    """What a run needs from outside it, passed in by whoever starts it (the engine): the
    runner calls no one back and looks nothing up globally.

    :ivar submit_step: runs an I/O step's callable on the step pool (a Future).
    :ivar submit_child: runs a sub-workflow step's callable where it cannot starve the pool.
    :ivar run_child: ``(parent_id, depth, step, context, root_id) -> outcome``: runs a
        sub-workflow execution to its end.
    :ivar runtime: the integrations runtime (connections' circuits and redactors).
    :ivar health: ``(service, exclude_connection) -> health``: monitoring's view of an
        integration (:func:`atom.intelligence.history.health`), for fallback routing.
    """

    submit_step: Callable[..., Future]
    submit_child: Callable[..., Future]
    run_child: Callable[..., Any]
    runtime: Any
    health: Callable[[str, int | None], Any]
    definitions: Definitions


@dataclass(slots=True)
class LoopRun:
    """A foreach step while it runs: its items, the next to start, those running, the outputs
    and failures of those that ended (by index)."""

    step: ForEachStep
    planner: Planner  # of the body (ids local to the loop)
    items: list[Any]
    concurrency: int
    next: int = 0
    active: set[int] = field(default_factory=set)
    contexts: dict[int, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[int, Any] = field(default_factory=dict)
    failed: dict[int, dict[str, Any]] = field(default_factory=dict)
    stopped: bool = False  # fail_fast after an item failed: no new item starts
    filling: bool = False


class ExecutionRun:
    """Runs one execution to its end. Create it in the orchestrator thread, call :meth:`run`."""

    def __init__(self, app: Flask, execution_id: int, services: RunServices,
                 fresh: Fresh | None = None, conn: Any = None) -> None:
        """:param conn: a pooled connection the caller holds already (the engine's claim's):
        the run writes its step rows on it and gives it back when it waits or ends."""
        self.services = services
        self.fresh = fresh
        self.app = app
        self.id = execution_id
        self.results: dict[str, dict[str, Any]] = {}
        self.states: dict[str, StepState] = {}  # what the planner plans from
        self.rows: dict[str, dict[str, Any]] = {}  # step id -> its row as last written
        self.attempts: dict[str, int] = {}
        self.running: dict[Future, str] = {}
        self.completed: queue.SimpleQueue[Future] = queue.SimpleQueue()
        self.completed_early: list[Future] = []
        self.to_submit: list[tuple[str, Step, Any, Any]] = []
        self.connections: dict[tuple[str, Any], tuple[float, Any]] = {}
        self.dirty: set[str] = set()  # steps whose row changed since the last flush
        self.conn: Any = conn  # the database connection step rows are written on, while busy
        self.stored: set[str] = set()  # steps whose row is in the database
        self.deadlines: dict[str, float] = {}
        self.timers: list[tuple[float, str, str]] = []  # (due, step id, "start" | "wait")
        self.started: dict[str, float] = {}
        self.failure: str | None = None
        self.cancelled = False
        self.wait_began: dict[str, datetime] = {}
        # Redactors of the connections' secrets (None: nothing to redact), by step id and by
        # (connection id, revision).
        self.redactors: dict[str, Any] = {}
        self.conn_redactors: dict[tuple[int, int], Any] = {}
        # Steps that declare a ``fallback``: the alternative each attempt runs on (-1: the
        # primary), the ``StepRun.fallback`` record to write, integrations' health seen.
        self.route_index: dict[str, int] = {}
        self.fallback_rows: dict[str, Any] = {}
        self.health_seen: dict[tuple[str, Any], tuple[float, Any]] = {}
        # foreach steps running now, by step id; each item step's (loop id, index, local id).
        self.loops: dict[str, LoopRun] = {}
        self.item_of: dict[str, tuple[str, int, str]] = {}
        # Durable timers (atom/engine/timers.py): the waits and retry backoffs longer than
        # DURABLE_WAIT_S (step id -> (due_at, "wait" | "retry")), parked once nothing else
        # runs; the timer rows a resumed run found (it deletes them when it parks or ends).
        self.durable_s: float | None = None
        self.parked: dict[str, tuple[datetime | None, str]] = {}  # None: no due time
        self.found_timers: dict[str, tuple[datetime, str]] = {}
        self.had_timers = False

    # -- set-up ----------------------------------------------------------------------------------

    def _read_execution(self) -> Any:
        return db.session.execute(_READ_EXECUTION, {"x_id": self.id}).one()

    def _load(self) -> None:
        fresh = self.fresh
        if fresh is not None:  # started here a moment ago: nothing to read back
            execution = fresh
        else:
            execution = self._read_execution()
        definition, name = execution.definition, execution.name
        if definition is None:  # runs are pinned to their version: never another one
            db.session.commit()
            raise VersionMissing(f"version {execution.version} of workflow {execution.workflow_id} "
                                 f"is missing: the execution cannot go on")
        self.depth = execution.depth
        self.root_id = execution.root_id or execution.id
        # A sub-workflow runs inline in its parent's step: it waits in memory, never parks.
        if getattr(execution, "parent_id", None) is None:
            self.durable_s = float(self.app.config.get("DURABLE_WAIT_S", 5.0))
        # What this execution's service calls send as X-Atom-Execution.
        self.chain = chains.outbound_value(self.app, self.root_id, self.depth)
        self.definition, self.planner = self.services.definitions.get(
            execution.workflow_id, execution.version, definition)
        self.steps = self.definition.by_id
        if any(isinstance(s, ForEachStep) for s in self.definition.steps):
            # item steps are added as their items start: to this run's own copy
            self.steps = dict(self.steps)
            self.item_budget = int(self.app.config["FOREACH_MAX_ITEMS"])
        self.open = set(self.steps)  # the steps without a final state yet
        self.context: dict[str, Any] = {
            "trigger": execution.trigger_payload or {},
            "steps": {},
            "workflow": {"id": execution.workflow_id, "name": name, "version": execution.version},
            "execution": {"id": execution.id, "started_at": isoformat(execution.started_at)},
        }
        if any(step.type == "approval" for step in self.definition.steps):
            self._approval_links()
        if fresh is not None:
            return  # a new execution has no step rows yet
        for row in db.session.execute(_READ_STEPS, {"x_id": self.id}):
            self.rows[row.step_id] = {f: row._mapping[f] for f in _ROW_FIELDS}
            self.stored.add(row.step_id)
            self.attempts[row.step_id] = row.attempt
            if row.step_type in ("wait", "approval") and row.status == StepStatus.RUNNING and row.started_at:
                self.wait_began[row.step_id] = row.started_at
            # Finished steps keep their outcome; interrupted ("running") ones run again.
            if row.status in STEP_FINAL and row.step_id in self.steps:
                self._remember(row.step_id, row.status, row.output)
                step = self.steps[row.step_id]
                if row.status == StepStatus.FAILED and fails_execution(step):
                    self.failure = self.failure or f"step {row.step_id} failed ({row.error_class}): {row.error}"
        if self.durable_s is not None:
            self._load_timers()
        db.session.commit()  # end the read transaction: step rows are written on other connections

    # -- main loop ---------------------------------------------------------------------------------

    def run(self) -> str:
        # Expressions of this run are held to the limits configured when it starts.
        limits = expressions.limits_scope.set(expressions.limits_from(self.app.config))
        try:
            return self._run()
        finally:
            self._release()
            expressions.limits_scope.reset(limits)

    def _run(self) -> str:
        try:
            self._load()
        except VersionMissing as exc:
            logger.error("execution %s: %s", self.id, exc)
            self._flush(update(Execution.__table__).where(Execution.__table__.c.id == self.id).values(
                status=ExecutionStatus.FAILED, error=str(exc), finished_at=utcnow(), heartbeat_at=utcnow()))
            return ExecutionStatus.FAILED
        # The claim has just set the heartbeat and checked for a cancel request.
        next_poll = time.monotonic() + CANCEL_POLL_S
        next_beat = time.monotonic() + HEARTBEAT_S
        self._ended(self._apply(self.planner.initial(self.states, self.cancelled)))
        while self.open:
            self._dispatch()
            if self.parked and not (self.running or self.to_submit or self.timers):
                return self._park()
            now = time.monotonic()
            if now >= next_poll:
                self._ended(self._check_cancel())
                next_poll = now + CANCEL_POLL_S
            if now >= next_beat:
                self._flush()
                self._release()  # never two pooled connections at once (see _release)
                self._heartbeat()
                next_beat = now + HEARTBEAT_S
            if not self.open:
                break
            self._ended(self._advance(self._wait_budget(next_poll)))
        return self._finish()

    def _ended(self, sids: list[str]) -> None:
        """Plan after each step that has ended: start what is ready now, end what is skipped
        (steps that end inline, pure or skipped, are planned after in turn)."""
        todo = list(sids)
        while todo:
            sid = todo.pop()
            if sid in self.item_of:
                todo += self._item_ended(sid)
                continue
            todo += self._apply(self.planner.after(sid, self.states, self.cancelled,
                                                   self.failure is not None))

    def _apply(self, plan: Plan) -> list[str]:
        """Carry out a plan; return the steps it ended (to plan after)."""
        finished: list[str] = []
        for sid, why in plan.skipped:
            if sid not in self.states:
                status = StepStatus.CANCELLED if self.cancelled else StepStatus.SKIPPED
                finished += self._end(sid, status, None, None, why)
        for sid in plan.ready:
            if sid not in self.states:
                finished += self._begin(sid)
        return finished

    def _heartbeat(self) -> None:
        db.session.execute(update(Execution).where(Execution.id == self.id).values(heartbeat_at=utcnow()))
        db.session.commit()

    def _wait_budget(self, next_poll: float) -> float:
        now = time.monotonic()
        wake = [next_poll]
        if self.timers:
            wake.append(self.timers[0][0])
        wake += list(self.deadlines.values())
        return max(0.0, min(wake) - now)

    def _advance(self, budget: float) -> list[str]:
        """Wait up to ``budget`` for a step to end or a timer to fire; return finished steps."""
        finished: list[str] = []
        if budget > 0 and self.dirty and self.running:
            # Steps of one layer tend to end together: a moment's wait lets their rows go in
            # one commit (nothing new starts before they are committed: see _dispatch).
            early = self._completed(min(budget, BATCH_S), hold=True)
            if early:
                budget = 0.0
                self.completed_early = early
        if budget > 0:
            self._flush()  # nothing stays uncommitted while the orchestrator waits
        if self.running:
            early, self.completed_early = self.completed_early, []
            for future in early or self._completed(budget):
                sid = self.running.pop(future, None)
                if sid is None:
                    continue  # abandoned after its timeout: the late result is ignored
                self.deadlines.pop(sid, None)
                finished += self._settle(sid, future)
        elif budget > 0 and not self.timers:
            self._release()
            time.sleep(min(budget, CANCEL_POLL_S))
        elif budget > 0:
            self._release()
            time.sleep(max(0.0, min(budget, self.timers[0][0] - time.monotonic(), CANCEL_POLL_S)))
        finished += self._fire_timers()
        finished += self._expire()
        return finished

    def _completed(self, budget: float, hold: bool = False) -> list[Future]:
        """Futures that finished: wait up to ``budget`` for the first, then take all that are.
        A longer wait gives the database connection back, unless ``hold``."""
        done: list[Future] = []
        try:
            if budget <= 0:
                done.append(self.completed.get_nowait())
            elif self.conn is None or hold:
                done.append(self.completed.get(timeout=budget))
            else:
                try:
                    done.append(self.completed.get(timeout=min(budget, HOLD_CONNECTION_S)))
                except queue.Empty:
                    self._release()  # a longer wait: the pool gets the connection back meanwhile
                    if budget <= HOLD_CONNECTION_S:
                        raise
                    done.append(self.completed.get(timeout=budget - HOLD_CONNECTION_S))
            while True:
                done.append(self.completed.get_nowait())
        except queue.Empty:
            pass
        return done

    def _fire_timers(self) -> list[str]:
        finished = []
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, sid, kind = heapq.heappop(self.timers)
            if kind == "wait":
                began = self.wait_began.get(sid)
                waited = (utcnow() - began).total_seconds() if began else now - self.started[sid]
                finished += self._succeed(sid, {"waited_s": round(waited, 3)})
            elif self.cancelled:
                finished += self._end(sid, StepStatus.CANCELLED, None, None, "cancelled before retry")
            else:
                finished += self._launch(sid)
        return finished

    def _expire(self) -> list[str]:
        finished: list[str] = []
        if not self.deadlines:
            return finished
        now = time.monotonic()
        for future, sid in list(self.running.items()):
            deadline = self.deadlines.get(sid)
            if deadline is not None and now >= deadline:
                del self.running[future]
                del self.deadlines[sid]
                future.cancel()  # a late result is ignored either way
                limit = self.steps[sid].timeout_s
                finished += self._failed(sid, "timeout", f"step timed out after {limit}s", True)
        return finished

    # -- starting a step -------------------------------------------------------------------------

    def _begin(self, sid: str) -> list[str]:
        """Start a ready step; return the steps that are finished now (``when`` false, pure)."""
        step = self.steps[sid]
        found = self.found_timers.get(sid)
        if found is not None and found[1] == "retry":  # a resumed run's backoff not over yet
            del self.found_timers[sid]
            delay = (found[0] - utcnow()).total_seconds()
            if delay > 0:
                self.states[sid] = RUNNING_STATE
                return self._hold(sid, delay, "start")
        if step.when:
            try:
                if not truthy(evaluate(step.when, self._context(sid))):
                    return self._end(sid, StepStatus.SKIPPED, None, None, "when was false")
            except ExpressionError as exc:
                self.states[sid] = RUNNING_STATE
                return self._failed(sid, "expression", str(exc), False)
        if isinstance(step, ForEachStep):
            return self._start_loop(sid, step)
        return self._launch(sid)

    def _launch(self, sid: str, reroute: tuple[tuple[int, ServiceStep] | None, dict[str, Any]] | None = None) -> list[str]:
        step = self.steps[sid]
        if getattr(step, "fallback", ()):  # the primary, or the alternative to run this attempt on
            step = self._route(sid, step, reroute)
        attempt = self.attempts.get(sid, 0) + 1
        self.attempts[sid] = attempt
        self.states[sid] = RUNNING_STATE
        self.started[sid] = time.monotonic()
        kind = step.type
        try:
            shown_input = self._input(step)
        except ExpressionError as exc:
            self._write_start(sid, step, attempt, None)
            return self._failed(sid, "expression", str(exc), False)
        self._write_start(sid, step, attempt, shown_input)
        conn = None
        if kind in ("action", "notification"):
            try:
                conn = self._connection(step)
            except step_types.StepFailure as exc:
                return self._failed(sid, exc.error_class, str(exc), exc.retryable)
        if step.pure:
            try:
                output = step_types.run_pure(step, self._context(sid))
            except Exception as exc:  # every failure of a step is recorded with its class
                cls, message, retryable = step_types.error_of(exc)
                return self._failed(sid, cls, message, retryable)
            return self._succeed(sid, output)
        if kind == "wait":
            try:
                delay = self._wait_seconds(step)
            except (ExpressionError, ValueError) as exc:
                return self._failed(sid, "expression", f"until: {exc}", False)
            if sid in self.wait_began:  # resumed: the same attempt, begun when it first started
                self._resumed(sid, attempt, self.wait_began[sid])
            return self._hold(sid, delay, "wait")
        if kind == "approval":
            return self._approval(sid, step, attempt)
        self.to_submit.append((sid, step, shown_input, conn))
        return []

    def _connection(self, step: ServiceStep) -> Any:
        """The step's connection, looked up here (not on the step thread) and reused by the
        steps of this execution for ``CONNECTION_TTL_S``; detached, so any thread can read it."""
        key = (step.service, step.connection)
        now = time.monotonic()
        cached = self.connections.get(key)
        if cached is not None and now - cached[0] < CONNECTION_TTL_S:
            return cached[1]
        self._release()
        try:
            conn = step_types.resolve_connection(step)
            db.session.expunge(conn)
        finally:
            db.session.commit()
        self.connections[key] = (now, conn)
        return conn

    def _dispatch(self) -> None:
        """Submit the I/O steps started since the last call, once their rows are committed."""
        if not self.to_submit:
            return
        self._flush()
        batch, self.to_submit = self.to_submit, []
        for sid, step, rendered, conn in batch:
            # A sub-workflow renders its payload itself, on its thread: from a copy, as the
            # orchestrator goes on adding step results to its own context meanwhile.
            own = self._context(sid)
            context = {**own, "steps": dict(own["steps"])} if step.type == "workflow" else None
            submit = self.services.submit_child if step.type == "workflow" else self.services.submit_step
            future = submit(self._run_io, sid, step, rendered, conn, context)
            self.running[future] = sid
            if step.timeout_s:
                self.deadlines[sid] = time.monotonic() + step.timeout_s
            future.add_done_callback(self.completed.put)

    def _input(self, step: Step) -> Any:
        """The step's input, rendered once here (raises :class:`ExpressionError`)."""
        context = self._context(step.id)
        if step.type == "action":
            return render(step.parameters, context)
        if step.type == "notification":
            return {"channel": render(step.channel, context),
                    "message": render(step.message, context)}
        if step.type == "workflow":
            return render(step.payload, context)
        if step.type == "approval":
            return {"message": render(step.message, context) if step.message else None,
                    "approvers": step.approvers, "required": step.required}
        return None

    def _wait_seconds(self, step: Any) -> float:
        """Seconds left to wait; after a restart, a wait counts from when it first started."""
        sid = step.id
        if step.seconds is not None:
            begun = self.wait_began.get(sid)
            elapsed = (utcnow() - begun).total_seconds() if begun else 0.0
            return max(0.0, float(step.seconds) - elapsed)
        until = render(step.until, self._context(sid))
        when = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
        return max(0.0, (when - utcnow()).total_seconds())

    def _run_io(self, sid: str, step: Step, rendered: Any, conn: Any,
                context: dict[str, Any] | None) -> Any:
        """Runs on the step pool, in its own app context."""
        with self.app.app_context():
            if step.type == "workflow":
                return self.services.run_child(self.id, self.depth, step, context, self.root_id)
            key = f"atom-{self.id}-{sid}"
            token = execution_chain.set(self.chain)  # the service calls say which chain they are
            try:
                if step.type == "action":
                    return jsonable(step_types.run_action(step, None, key, params=rendered, conn=conn))
                return jsonable(step_types.run_notification(step, None, key, rendered=rendered, conn=conn))
            finally:
                execution_chain.reset(token)

    # -- foreach steps --------------------------------------------------------------------------------
    #
    # A foreach step runs its body once per item, ``concurrency`` items at a time. Each item's
    # inner steps are steps of this run like any other (started, retried, timed out, recorded
    # under ``<loop>[<n>]`` or ``<loop>[<n>].<inner>``), planned by the body's own planner and
    # rendered in the item's context (``item``, ``index``, and the item's own steps). On a resume
    # the rows of an item's finished inner steps are taken as they are: only the rest runs
    # (again, with the same idempotency key ``atom-<execution>-<step row id>``).

    def _context(self, sid: str) -> dict[str, Any]:
        """The context ``sid``'s expressions are evaluated in (its item's, in a loop)."""
        item = self.item_of.get(sid) if self.item_of else None
        return self.context if item is None else self.loops[item[0]].contexts[item[1]]

    def _start_loop(self, sid: str, step: ForEachStep) -> list[str]:
        self.attempts[sid] = self.attempts.get(sid, 0) + 1
        self.states[sid] = RUNNING_STATE
        self.started[sid] = time.monotonic()
        try:
            items = evaluate(step.items, self.context)
        except ExpressionError as exc:
            self._write_start(sid, step, self.attempts[sid], None)
            return self._failed(sid, "expression", f"items: {exc}", False)
        self._write_start(sid, step, self.attempts[sid], items)
        if not isinstance(items, list):
            kind = "null" if items is None else type(items).__name__
            return self._failed(sid, "expression", f"items gave {kind}, not a list", False)
        if len(items) > self.item_budget:
            limit = self.app.config["FOREACH_MAX_ITEMS"]
            return self._failed(sid, "limit", f"items gave {len(items)} items; this execution may "
                                f"run {self.item_budget} more (FOREACH_MAX_ITEMS={limit})", False)
        self.item_budget -= len(items)
        concurrency = min(step.concurrency, int(self.app.config["FOREACH_MAX_CONCURRENCY"]))
        loop = self.loops[sid] = LoopRun(step, Planner(step.inner), items, max(1, concurrency))
        return self._fill(loop)

    def _fill(self, loop: LoopRun) -> list[str]:
        """Start items while fewer than ``concurrency`` run; end the loop when none is left.
        (Items that end at once, pure or resumed, come back here through the loop below.)"""
        if loop.filling:
            return []
        loop.filling = True
        finished: list[str] = []
        try:
            while (len(loop.active) < loop.concurrency and loop.next < len(loop.items)
                   and not loop.stopped and not self.cancelled):
                index = loop.next
                loop.next += 1
                finished += self._start_item(loop, index)
        finally:
            loop.filling = False
        if not loop.active and self.loops.get(loop.step.id) is loop:
            finished += self._end_loop(loop)
        return finished

    def _start_item(self, loop: LoopRun, index: int) -> list[str]:
        step = loop.step
        loop.active.add(index)
        loop.contexts[index] = {**self.context, "steps": dict(self.context["steps"]),
                                "item": loop.items[index], "index": index}
        for inner in step.body:
            sid = step.item_id(index, inner.id)
            self.steps[sid] = replace(inner, id=sid)
            self.item_of[sid] = (step.id, index, inner.id)
            row = self.rows.get(sid)
            if row is not None and row["status"] in STEP_FINAL:  # done before a restart
                self._remember(sid, row["status"], row["output"])
        states = self._item_states(loop, index)
        finished = self._apply_item(loop, index, loop.planner.initial(states, self.cancelled))
        if loop.planner.finished(self._item_states(loop, index)):
            finished += self._item_done(loop, index)
        return finished

    def _item_states(self, loop: LoopRun, index: int) -> dict[str, StepState]:
        states = {}
        for inner in loop.step.body:
            state = self.states.get(loop.step.item_id(index, inner.id))
            if state is not None:
                states[inner.id] = state
        return states

    def _apply_item(self, loop: LoopRun, index: int, plan: Plan) -> list[str]:
        finished: list[str] = []
        for local, why in plan.skipped:
            sid = loop.step.item_id(index, local)
            if sid not in self.states:
                status = StepStatus.CANCELLED if self.cancelled else StepStatus.SKIPPED
                finished += self._end(sid, status, None, None, why)
        for local in plan.ready:
            sid = loop.step.item_id(index, local)
            if sid not in self.states:
                finished += self._begin(sid)
        return finished

    def _item_ended(self, sid: str) -> list[str]:
        """An item's inner step has ended: plan its item on; end the item when it is done."""
        loop_id, index, local = self.item_of[sid]
        loop = self.loops.get(loop_id)
        if loop is None or index not in loop.active:
            return []  # its item has already been concluded
        planner = loop.planner
        states = self._item_states(loop, index)
        finished = self._apply_item(loop, index, planner.after(local, states, self.cancelled,
                                                               planner.failing(states)))
        if planner.finished(self._item_states(loop, index)):
            finished += self._item_done(loop, index)
        return finished

    def _item_done(self, loop: LoopRun, index: int) -> list[str]:
        step = loop.step
        loop.active.discard(index)
        del loop.contexts[index]
        states = self._item_states(loop, index)
        # as the rows keep them (redacted, capped): the same in a run and in a resumed one
        outputs = {inner.id: self.rows[step.item_id(index, inner.id)]["output"]
                   for inner in step.body}
        failed = next((inner.id for inner in step.body
                       if states[inner.id].status == StepStatus.FAILED
                       and fails_execution(inner)), None)
        if failed is not None:
            row = self.rows.get(step.item_id(index, failed)) or {}
            loop.failed[index] = {"index": index, "step": step.item_id(index, failed),
                                  "error_class": row.get("error_class"), "error": row.get("error")}
            loop.stopped = loop.stopped or step.on_item_error == "fail_fast"
        else:
            loop.outputs[index] = outputs[step.body[0].id] if step.single else outputs
        for inner in step.body:  # the item's steps are done with: only their rows remain
            self.steps.pop(step.item_id(index, inner.id), None)
        return self._fill(loop)

    def _end_loop(self, loop: LoopRun) -> list[str]:
        """All started items have ended: the foreach step's outcome and output."""
        step, total = loop.step, len(loop.items)
        del self.loops[step.id]
        output = {"items": [loop.outputs.get(i) for i in range(total)],
                  "failed": sorted(loop.failed), "errors": [loop.failed[i] for i in sorted(loop.failed)],
                  "count": total, "succeeded": len(loop.outputs),
                  "not_run": list(range(loop.next, total))}
        if self.cancelled:
            return self._end(step.id, StepStatus.CANCELLED, output, None, "execution cancelled")
        if loop.failed and (step.on_item_error == "fail_fast" or not loop.outputs):
            first = loop.failed[min(loop.failed)]
            why = ("every item failed" if step.on_item_error == "continue"
                   else f"item {first['index']} failed")
            return self._failed(step.id, "item_failed", f"{why}: step {first['step']} "
                                f"({first['error_class']}): {first['error']}", False, output=output)
        return self._succeed(step.id, output)

    # -- fallback routing -----------------------------------------------------------------------------

    def _route(self, sid: str, step: ServiceStep,
               reroute: tuple[tuple[int, ServiceStep] | None, dict[str, Any]] | None) -> ServiceStep:
        """The step as this attempt runs it: the primary, unless its circuit is open or its
        integration's health is critical and an alternative is not (``reroute``: the
        alternative already chosen after the primary answered ``circuit_open``)."""
        if reroute is None:
            reason = self._unavailable(step, primary=True)
            picked = self._pick(step, 0) if reason is not None else None
        else:
            picked, reason = reroute
        if picked is None:
            self.route_index[sid] = -1
            if self.fallback_rows.get(sid) is not None:  # an earlier attempt ran on a fallback
                self.fallback_rows[sid] = None
                self.dirty.add(sid)
            return step
        index, chosen = picked
        self.route_index[sid] = index
        self.fallback_rows[sid] = {
            "index": index, "service": chosen.service, "connection": self._connection(chosen).id,
            "action": chosen.action if step.type == "action" else None,
            "reason": reason["reason"], "evidence": reason["evidence"],
            "primary": {"service": step.service, "connection": reason.get("connection")}}
        self.dirty.add(sid)
        return chosen

    def _alternative(self, step: ServiceStep, index: int) -> ServiceStep:
        return step.on(step.fallback[index])

    def _pick(self, step: ServiceStep, start: int) -> tuple[int, ServiceStep] | None:
        """The first alternative from ``start`` whose connection exists and whose circuit is
        not open nor its health critical."""
        for index in range(start, len(step.fallback)):
            alt = self._alternative(step, index)
            try:
                if self._unavailable(alt, primary=False, beside=step) is None:
                    return index, alt
            except step_types.StepFailure:
                continue  # no usable connection: not an alternative
        return None

    def _unavailable(self, step: ServiceStep, primary: bool,
                     beside: ServiceStep | None = None) -> dict[str, Any] | None:
        """Why ``step``'s route cannot be used now (``{"reason", "evidence", "connection"}``),
        or None. The primary's own lookup failure is left to the step (it fails as usual)."""
        try:
            conn = self._connection(step)
        except step_types.StepFailure:
            if primary:
                return None
            raise
        circuit = self.services.runtime.circuit(conn)
        if circuit is not None and circuit["state"] == "open":
            return {"reason": "circuit_open", "connection": conn.id,
                    "evidence": {"connection": conn.id, "circuit": circuit["state"],
                                 "consecutive_failures": circuit["failures"],
                                 "retry_in_s": circuit["retry_in_s"]}}
        # An alternative on the primary's own service is judged without the primary
        # connection's calls: was the service down for everyone, or only for that connection?
        exclude = None
        if beside is not None and beside.service == step.service:
            try:
                exclude = self._connection(beside).id
            except step_types.StepFailure:
                exclude = None
        health = self._health(step.service, exclude)
        if health.status == "unhealthy":
            return {"reason": "health_critical", "connection": conn.id,
                    "evidence": {"integration": health.integration, "status": health.status,
                                 "score": health.score,
                                 "success_rate": None if health.success_rate is None
                                 else round(health.success_rate, 4),
                                 "checks": health.checks, "checks_failed": health.checks_failed,
                                 "calls": health.calls, "calls_failed": health.calls_failed,
                                 "since": isoformat(health.since), "until": isoformat(health.until)}}
        return None

    def _health(self, service: str, exclude: int | None) -> Any:
        """The integration's health (as monitoring scores it), reused for ``CONNECTION_TTL_S``."""
        key = (service, exclude)
        now = time.monotonic()
        cached = self.health_seen.get(key)
        if cached is not None and now - cached[0] < CONNECTION_TTL_S:
            return cached[1]
        self._release()
        try:
            health = self.services.health(service, exclude)
        finally:
            db.session.commit()
        self.health_seen[key] = (now, health)
        return health

    def _reroute(self, sid: str, message: str) -> list[str] | None:
        """The attempt's service answered ``circuit_open``: run the next usable alternative
        now (the failed attempt is kept in the row's attempts); None if there is none."""
        step = self.steps[sid]
        picked = self._pick(step, self.route_index.get(sid, -1) + 1)
        if picked is None:
            return None
        current = self.route_index.get(sid, -1)
        on = step if current < 0 else self._alternative(step, current)
        try:
            conn_id = self._connection(on).id
        except step_types.StepFailure:
            conn_id = None
        self._write_retry(sid, "circuit_open", message)
        reason = {"reason": "circuit_open", "connection": conn_id,
                  "evidence": {"connection": conn_id, "circuit": "open", "error": message,
                               "attempt": self.attempts.get(sid, 1)}}
        return self._launch(sid, (picked, reason))

    # -- ending a step ------------------------------------------------------------------------------

    def _settle(self, sid: str, future: Future) -> list[str]:
        exc = future.exception()
        if exc is None:
            return self._succeed(sid, future.result())
        cls, message, retryable = step_types.error_of(exc)
        if cls == "circuit_open" and getattr(self.steps[sid], "fallback", ()) and not self.cancelled:
            rerouted = self._reroute(sid, message)
            if rerouted is not None:
                return rerouted
        if cls == "internal":
            logger.error("step %s of execution %s raised", sid, self.id, exc_info=exc)
        return self._failed(sid, cls, message, retryable, getattr(exc, "retry_after", None))

    def _succeed(self, sid: str, output: Any) -> list[str]:
        return self._end(sid, StepStatus.SUCCEEDED, output, None, None)

    def _failed(self, sid: str, cls: str, message: str, retryable: bool,
                retry_after: float | None = None, output: Any = None) -> list[str]:
        message = self._redact_text(sid, message)  # also kept in the execution's error
        step = self.steps[sid]
        attempt = self.attempts.get(sid, 1)
        if retryable and attempt < step.retry.max_attempts and not self.cancelled:
            delay = max(step.retry.delay(attempt), retry_after or 0.0)
            self._write_retry(sid, cls, message)
            return self._hold(sid, delay, "start")
        finished = self._end(sid, StepStatus.FAILED, output, cls, message)
        if sid in self.item_of:  # an item's failure is its foreach step's to judge
            return finished
        if fails_execution(step) and self.failure is None:
            self.failure = f"step {sid} failed ({cls}): {message}"
        elif step.handler is not None and self.failure is None:
            logger.info("step %s of execution %s failed; handler %s runs", sid, self.id, step.handler)
        return finished

    def _end(self, sid: str, status: str, output: Any, cls: str | None, message: str | None) -> list[str]:
        duration = (time.monotonic() - self.started[sid]) * 1000.0 if sid in self.started else None
        self._write_end(sid, status, output, cls, message, duration)
        self._remember(sid, status, output)
        return [sid]

    def _remember(self, sid: str, status: str, output: Any) -> None:
        self.results[sid] = {"status": status, "output": output}
        result = output.get("result") if self.steps[sid].type == "condition" and isinstance(output, dict) else None
        self.states[sid] = StepState(StepStatus(status), result if isinstance(result, bool) else None)
        self.open.discard(sid)
        item = self.item_of.get(sid) if self.item_of else None
        if item is None:
            self.context["steps"][sid] = {"status": status, "output": output}
        elif item[1] in self.loops[item[0]].contexts:
            self.loops[item[0]].contexts[item[1]]["steps"][item[2]] = {"status": status, "output": output}

    # -- durable timers (atom/engine/timers.py) ---------------------------------------------------

    def _hold(self, sid: str, delay: float, kind: str) -> list[str]:
        """Start ``sid`` again (``start``) or end its wait (``wait``) in ``delay`` seconds: on an
        in-memory timer, or past ``DURABLE_WAIT_S`` on a durable one (the execution parks once
        nothing else of it runs)."""
        if self.durable_s is not None and delay > self.durable_s:
            self.parked[sid] = (utcnow() + timedelta(seconds=delay), "wait" if kind == "wait" else "retry")
        else:
            heapq.heappush(self.timers, (time.monotonic() + delay, sid, kind))
        return []

    def _resumed(self, sid: str, attempt: int, began: datetime) -> None:
        """A parked wait or approval taken up again (by a later runner): the same attempt, its
        start the first one, and its duration counted from then (the whole wait, not the
        moments since the resume)."""
        self.attempts[sid] = max(1, attempt - 1)
        self._write(sid, {"attempt": self.attempts[sid], "started_at": began})
        self.started[sid] = time.monotonic() - max(0.0, (utcnow() - began).total_seconds())

    def _approval(self, sid: str, step: Any, attempt: int) -> list[str]:
        """An approval step (atom/engine/approvals.py): settled by its decisions or its
        timeout, else it parks until a decision or the timeout wakes the execution."""
        if self.durable_s is None:
            return self._failed(sid, "validation", "an approval step cannot run in a sub-workflow", False)
        began = self.wait_began.get(sid)
        if began is not None:  # resumed: the same attempt, begun when it first started
            self._resumed(sid, attempt, began)
        else:
            began = self.wait_began[sid] = self.rows[sid]["started_at"]
        self._release()
        try:
            settled = approvals.outcome(self.id, step) if sid in self.stored else None
        finally:
            db.session.commit()
        if settled is not None:
            if settled.decision == approvals.APPROVED:
                return self._succeed(sid, {"decision": settled.decision, "by": list(settled.by),
                                           "comment": settled.comment})
            return self._failed(sid, "rejected", f"rejected by {', '.join(settled.by)}"
                                + (f": {settled.comment}" if settled.comment else ""), False)
        due = began + timedelta(seconds=step.timeout_s) if step.timeout_s else None
        if due is not None and utcnow() >= due:
            if step.on_timeout == "approve":
                return self._succeed(sid, {"decision": approvals.APPROVED, "by": [],
                                           "comment": f"approved on timeout after {step.timeout_s}s"})
            if step.on_timeout == "fail":
                return self._failed(sid, "timeout", f"no decision within {step.timeout_s}s", False)
            return self._failed(sid, "rejected", f"rejected on timeout: no decision within {step.timeout_s}s",
                                False)
        self.parked[sid] = (due, "approval")
        return []

    def _approval_links(self) -> None:
        """Signed one-time links of the approval steps, for notification steps to send."""
        cfg = self.app.config
        found = approvals.links(cfg["SECRET_KEY"], (cfg.get("PUBLIC_URL") or "").rstrip("/"), self.id,
                                self.definition.steps, time.time())
        self.context["approvals"] = found
        if len(found) == 1:
            self.context["approval"] = next(iter(found.values()))

    def _load_timers(self) -> None:
        """The timer rows of a resumed execution: a retry backoff not over yet is held again."""
        for row in db.session.execute(_READ_TIMERS, {"x_id": self.id}):
            self.found_timers[row.step_id] = (row.due_at, row.kind)
            self.had_timers = True

    def _park(self) -> str:
        """Nothing runs and only durable timers are pending: commit the step rows, the timers and
        the status ``waiting`` (no owner) together, and give the thread back."""
        conn = self.conn
        if conn is None:
            conn = self.conn = db.engine.connect()
        if self.had_timers:
            conn.execute(_DELETE_TIMERS, {"x_execution": self.id})
        conn.execute(_INSERT_TIMER, [{"execution_id": self.id, "step_id": sid, "due_at": due, "kind": kind}
                                     for sid, (due, kind) in self.parked.items()])
        table = Execution.__table__
        self._flush(update(table).where(table.c.id == self.id).values(
            status=ExecutionStatus.WAITING, claimed_by=None, heartbeat_at=utcnow()))
        self._release()
        # A cancel requested since the last look ends it now (Engine.cancel does the same for
        # an execution it sees waiting).
        flag = db.session.execute(db.select(Execution.cancel_requested).filter_by(id=self.id)).scalar()
        db.session.commit()
        if flag:
            timers.cancel_waiting(self.id)
            return ExecutionStatus.CANCELLED
        return ExecutionStatus.WAITING

    # -- persistence (the only writes of an execution, all in this thread) -------------------------

    def _write(self, sid: str, values: dict[str, Any]) -> None:
        """Change a step's row in memory; it is committed by the next :meth:`_flush`."""
        row = self.rows.get(sid)
        if row is None:
            row = self.rows[sid] = {"step_type": self.steps[sid].type, "attempt": 0, "started_at": None,
                                    "finished_at": None, "duration_ms": None, "input": None,
                                    "output": None, "error_class": None, "error": None,
                                    "attempts": None}
        row.update(values)
        self.dirty.add(sid)

    def _flush(self, final: Any = None) -> None:
        """Commit the step rows changed since the last flush (and ``final``, a statement or a
        statement and its parameters) in one transaction: one upsert (executemany), or an
        update and an insert.

        Called before a step's service call is made, before the orchestrator blocks, and at
        the end: a step's row is committed before anything that depends on it happens.
        """
        if not self.dirty and final is None:
            return
        dirty, self.dirty = self.dirty, set()
        if self.conn is None:
            self.conn = db.engine.connect()
        conn = self.conn
        try:
            upsert = _upsert_step(conn.dialect)
            if upsert is not None and dirty:
                conn.execute(upsert, [{"execution_id": self.id, "step_id": sid, **self.rows[sid]}
                                      for sid in dirty])
            elif dirty:
                new = [sid for sid in dirty if sid not in self.stored]
                old = [sid for sid in dirty if sid in self.stored]
                if old:
                    conn.execute(_UPDATE_STEP, [{"x_execution": self.id, "x_step": sid, **self.rows[sid]}
                                                for sid in old])
                if new:
                    conn.execute(_INSERT_STEP, [{"execution_id": self.id, "step_id": sid, **self.rows[sid]}
                                                for sid in new])
            routed = [sid for sid in dirty if sid in self.fallback_rows] if self.fallback_rows else ()
            if routed:
                conn.execute(_FALLBACK_STEP, [{"x_execution": self.id, "x_step": sid,
                                               "x_fallback": self.fallback_rows[sid]} for sid in routed])
            if isinstance(final, tuple):
                conn.execute(*final)
            elif final is not None:
                conn.execute(final)
            if conn.in_transaction():
                conn.commit()
        except BaseException:
            self._release()
            raise
        self.stored |= dirty

    def _release(self) -> None:
        """Give the connection back to the pool (rolling back anything uncommitted).

        Called before the orchestrator waits, and before it uses its session: an orchestrator
        never holds two pooled connections, so busy orchestrators cannot exhaust the pool
        waiting for each other.
        """
        if self.conn is not None:
            conn, self.conn = self.conn, None
            conn.close()

    def _write_start(self, sid: str, step: Step, attempt: int, shown_input: Any) -> None:
        redactor = self.redactors[sid] = self._redactor(step)
        self._write(sid, {"status": StepStatus.RUNNING, "attempt": attempt, "started_at": utcnow(),
                          "finished_at": None, "duration_ms": None,
                          "input": stored(shown_input, redactor),
                          "output": None, "error_class": None, "error": None})

    def _write_retry(self, sid: str, cls: str, message: str) -> None:
        """A failed attempt that will be retried: kept in the row's ``attempts`` list (the row
        itself goes on to hold the next attempt)."""
        message = self._redact_text(sid, message)
        row = self.rows.get(sid) or {}
        now = utcnow()
        began = row.get("started_at")
        earlier = list(row.get("attempts") or [])
        earlier.append({"attempt": self.attempts[sid], "status": AttemptStatus.FAILED,
                        "started_at": isoformat(began) if began else None,
                        "finished_at": isoformat(now),
                        "duration_ms": (time.monotonic() - self.started[sid]) * 1000.0
                        if sid in self.started else None,
                        "error_class": cls, "error": message[:4000] if message else None})
        self._write(sid, {"error_class": cls, "attempts": earlier,
                          "error": f"attempt {self.attempts[sid]} failed: {message}"[:4000]})

    def _write_end(self, sid: str, status: str, output: Any, cls: str | None, message: str | None,
                   duration: float | None) -> None:
        message = self._redact_text(sid, message)  # before it is cut
        values = {"status": status, "finished_at": utcnow(), "duration_ms": duration,
                  "output": stored(output, self.redactors.get(sid)), "error_class": cls,
                  "error": message[:4000] if message else None}
        if sid not in self.rows:  # ended without starting (skipped, cancelled)
            values["attempt"] = self.attempts.get(sid, 0)
        self._write(sid, values)

    def _redactor(self, step: Step) -> Any:
        """The redactor of the step's connection (None for steps without secrets)."""
        if not isinstance(step, ServiceStep):
            return None
        try:
            conn = self._connection(step)  # cached: the step's own lookup reuses it
            key = (conn.id, conn.revision)
            if key not in self.conn_redactors:
                self.conn_redactors[key] = self.services.runtime.redactor(conn) or None
            return self.conn_redactors[key]
        except Exception:  # no usable connection: the step fails on its own, calling no one
            return None

    def _redact_text(self, sid: str, message: str | None) -> str | None:
        redactor = self.redactors.get(sid)
        return redactor.text(message) if redactor is not None and message else message

    def _check_cancel(self) -> list[str]:
        """Read the cancel flag; on a request, end the pending waits and return them."""
        if self.cancelled:
            return []
        self._release()
        flag = db.session.execute(db.select(Execution.cancel_requested).filter_by(id=self.id)).scalar()
        db.session.commit()
        finished: list[str] = []
        if flag:
            self.cancelled = True
            for sid, kind in [(t[1], t[2]) for t in self.timers]:
                if kind == "wait":
                    finished += self._end(sid, StepStatus.CANCELLED, None, None, "execution cancelled")
            self.timers = [t for t in self.timers if t[2] != "wait"]
            for sid, (_, kind) in list(self.parked.items()):
                del self.parked[sid]
                finished += self._end(sid, StepStatus.CANCELLED, None, None,
                                      "cancelled before retry" if kind == "retry" else "execution cancelled")
        return finished

    def _finish(self) -> str:
        # Steps abandoned after a timeout may still be running; their results are ignored.
        for future in list(self.running):
            future.cancel()
        status = self.planner.outcome(self.states, self.cancelled)
        error = {ExecutionStatus.CANCELLED: "cancelled on request",
                 ExecutionStatus.FAILED: self.failure}.get(status)
        # The last step rows and the execution's outcome are committed together.
        if self.had_timers:
            if self.conn is None:
                self.conn = db.engine.connect()
            self.conn.execute(_DELETE_TIMERS, {"x_execution": self.id})
        self._flush((_FINISH_EXECUTION, {"x_id": self.id, "x_status": status, "x_error": error,
                                         "x_at": utcnow()}))
        return status

