"""The runner: one orchestrator per execution, steps in dependency order, every step persisted.

The orchestrator (one thread per execution) owns all of its execution's database writes: a step
row when a step starts and when it ends. Ready I/O steps (action, notification, workflow) run
concurrently on the shared, bounded step pool; pure steps run inline; waits are timers. A step
past its ``timeout_s`` is marked ``timeout`` and its late result is ignored. Cancellation is
cooperative: no new step starts once it is requested.
"""
from __future__ import annotations

import graphlib
import heapq
import json
import logging
import re
import time
from concurrent.futures import FIRST_COMPLETED
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import update

from atom.engine import steps as step_types
from atom.engine.expressions import ExpressionError
from atom.engine.expressions import evaluate
from atom.engine.expressions import render
from atom.engine.expressions import truthy
from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.base import isoformat
from atom.models.base import utcnow

logger = logging.getLogger(__name__)

MAX_PAYLOAD_CHARS = 64_000
HEARTBEAT_S = 5.0
CANCEL_POLL_S = 0.5
_SECRET_KEY = re.compile(r"(?i)(token|secret|password|authorization|api[_-]?key|credential)")
FINAL_STATES = ("succeeded", "skipped", "failed")


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


def stored(value: Any) -> Any:
    return cap(redact(value))


class ExecutionRun:
    """Runs one execution to its end. Create it in the orchestrator thread, call :meth:`run`."""

    def __init__(self, engine: Any, execution_id: int) -> None:
        self.engine = engine
        self.app: Flask = engine.app
        self.id = execution_id
        self.results: dict[str, dict[str, Any]] = {}
        self.rows: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self.running: dict[Future, str] = {}
        self.deadlines: dict[str, float] = {}
        self.timers: list[tuple[float, str, str]] = []  # (due, step id, "start" | "wait")
        self.started: dict[str, float] = {}
        self.failure: str | None = None
        self.cancelled = False
        self.wait_began: dict[str, datetime] = {}

    # -- set-up ----------------------------------------------------------------------------------

    def _load(self) -> None:
        execution = db.session.get(Execution, self.id)
        version = db.session.execute(
            db.select(WorkflowVersion).filter_by(workflow_id=execution.workflow_id,
                                                 version=execution.version)).scalar_one()
        workflow = db.session.get(Workflow, execution.workflow_id)
        self.depth = execution.depth
        self.definition = version.definition
        self.steps = {s["id"]: s for s in self.definition["steps"]}
        self.handlers = {s["on_error"]: s["id"] for s in self.definition["steps"]
                         if s.get("on_error") not in (None, "fail", "continue")}
        self.context: dict[str, Any] = {
            "trigger": execution.trigger_payload or {},
            "steps": {},
            "workflow": {"id": workflow.id, "name": workflow.name, "version": execution.version},
            "execution": {"id": execution.id, "started_at": isoformat(execution.started_at)},
        }
        for row in db.session.scalars(db.select(StepRun).filter_by(execution_id=self.id)):
            self.rows[row.step_id] = row.id
            self.attempts[row.step_id] = row.attempt
            if row.step_type == "wait" and row.status == "running" and row.started_at:
                self.wait_began[row.step_id] = row.started_at
            # Finished steps keep their outcome; interrupted ("running") ones run again.
            if row.status in FINAL_STATES and row.step_id in self.steps:
                self._remember(row.step_id, row.status, row.output)
                step = self.steps[row.step_id]
                if row.status == "failed" and step.get("on_error", "fail") == "fail":
                    self.failure = self.failure or f"step {row.step_id} failed ({row.error_class}): {row.error}"

    def _graph(self) -> dict[str, set[str]]:
        graph = {sid: set(step.get("depends_on") or []) for sid, step in self.steps.items()}
        for failing, handler in self.handlers.items():
            graph[handler].add(failing)  # a handler waits for the step it handles
        return graph

    # -- main loop ---------------------------------------------------------------------------------

    def run(self) -> str:
        self._load()
        sorter = graphlib.TopologicalSorter(self._graph())
        sorter.prepare()
        next_beat = next_poll = time.monotonic()
        while sorter.is_active():
            progressed = False
            for sid in sorter.get_ready():
                for finished in self._begin(sid):
                    sorter.done(finished)
                    progressed = True
            now = time.monotonic()
            if now >= next_poll:
                self._check_cancel()
                next_poll = now + CANCEL_POLL_S
            if now >= next_beat:
                self.engine.heartbeat(self.id)
                next_beat = now + HEARTBEAT_S
            # Steps that finished inline may have made others ready: start those first.
            budget = 0.0 if progressed else self._wait_budget(next_poll)
            for sid in self._advance(budget):
                sorter.done(sid)
        return self._finish()

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
        if self.running:
            done, _ = wait_futures(list(self.running), timeout=budget, return_when=FIRST_COMPLETED)
            for future in done:
                sid = self.running.pop(future)
                self.deadlines.pop(sid, None)
                finished += self._settle(sid, future)
        elif budget > 0 and not self.timers:
            time.sleep(min(budget, CANCEL_POLL_S))
        elif budget > 0:
            time.sleep(min(budget, self.timers[0][0] - time.monotonic(), CANCEL_POLL_S))
        finished += self._fire_timers()
        finished += self._expire()
        return finished

    def _fire_timers(self) -> list[str]:
        finished = []
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, sid, kind = heapq.heappop(self.timers)
            if kind == "wait":
                finished += self._succeed(sid, {"waited_s": round(now - self.started[sid], 3)})
            elif self.cancelled:
                finished += self._end(sid, "cancelled", None, None, "cancelled before retry")
            else:
                finished += self._launch(sid)
        return finished

    def _expire(self) -> list[str]:
        finished = []
        now = time.monotonic()
        for future, sid in list(self.running.items()):
            deadline = self.deadlines.get(sid)
            if deadline is not None and now >= deadline:
                del self.running[future]
                del self.deadlines[sid]
                future.cancel()  # a late result is ignored either way
                limit = self.steps[sid]["timeout_s"]
                finished += self._failed(sid, "timeout", f"step timed out after {limit}s", True)
        return finished

    # -- starting a step -------------------------------------------------------------------------

    def _begin(self, sid: str) -> list[str]:
        """Start a ready step; return the steps that are finished now (skipped, resumed, pure)."""
        if sid in self.results:
            return [sid]
        skip = self._skip_reason(sid)
        if skip is not None:
            return self._end(sid, "cancelled" if self.cancelled else "skipped", None, None, skip)
        step = self.steps[sid]
        if step.get("when"):
            try:
                if not truthy(evaluate(step["when"], self.context)):
                    return self._end(sid, "skipped", None, None, "when was false")
            except ExpressionError as exc:
                return self._failed(sid, "expression", str(exc), False)
        return self._launch(sid)

    def _skip_reason(self, sid: str) -> str | None:
        if self.cancelled:
            return "execution cancelled"
        step = self.steps[sid]
        for handled, handler in self.handlers.items():
            if handler == sid and self.results.get(handled, {}).get("status") != "failed":
                return f"{handled} did not fail"
        for dep in step.get("depends_on") or []:
            result = self.results.get(dep, {})
            if result.get("status") == "skipped":
                return f"{dep} was skipped"
            if self.steps[dep]["type"] == "condition" and result.get("output", {}).get("result") is False:
                return f"condition {dep} was false"
            if result.get("status") == "failed" and self.steps[dep].get("on_error") != "continue":
                return f"{dep} failed"
        if self.failure is not None and sid not in self.handlers.values():
            return "an earlier step failed"
        return None

    def _launch(self, sid: str) -> list[str]:
        step = self.steps[sid]
        attempt = self.attempts.get(sid, 0) + 1
        self.attempts[sid] = attempt
        self.started[sid] = time.monotonic()
        kind = step["type"]
        shown_input = self._input(step)
        self._write_start(sid, step, attempt, shown_input)
        if kind in step_types.PURE_TYPES:
            try:
                output = step_types.run_pure(step, self.context)
            except Exception as exc:  # every failure of a step is recorded with its class
                cls, message, retryable = step_types.error_of(exc)
                return self._failed(sid, cls, message, retryable)
            return self._succeed(sid, output)
        if kind == "wait":
            try:
                delay = self._wait_seconds(step)
            except (ExpressionError, ValueError) as exc:
                return self._failed(sid, "expression", f"until: {exc}", False)
            heapq.heappush(self.timers, (time.monotonic() + delay, sid, "wait"))
            return []
        future = self.engine.submit_step(self._run_io, sid, step, dict(self.context))
        self.running[future] = sid
        if step.get("timeout_s"):
            self.deadlines[sid] = time.monotonic() + float(step["timeout_s"])
        return []

    def _input(self, step: dict[str, Any]) -> Any:
        try:
            if step["type"] == "action":
                return render(step.get("parameters") or {}, self.context)
            if step["type"] == "notification":
                return {"channel": render(step.get("channel"), self.context),
                        "message": render(step["message"], self.context)}
            if step["type"] == "workflow":
                return render(step.get("payload") or {}, self.context)
        except ExpressionError:
            return None
        return None

    def _wait_seconds(self, step: dict[str, Any]) -> float:
        """Seconds left to wait; after a restart, a wait counts from when it first started."""
        sid = step["id"]
        if "seconds" in step:
            begun = self.wait_began.get(sid)
            elapsed = (utcnow() - begun).total_seconds() if begun else 0.0
            return max(0.0, float(step["seconds"]) - elapsed)
        until = render(step["until"], self.context)
        when = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
        return max(0.0, (when - utcnow()).total_seconds())

    def _run_io(self, sid: str, step: dict[str, Any], context: dict[str, Any]) -> Any:
        """Runs on the step pool, in its own app context."""
        with self.app.app_context():
            key = f"atom-{self.id}-{sid}"
            if step["type"] == "action":
                return step_types.run_action(step, context, key)
            if step["type"] == "notification":
                return step_types.run_notification(step, context, key)
            return self.engine.run_child(self.id, self.depth, step, context)

    # -- ending a step ------------------------------------------------------------------------------

    def _settle(self, sid: str, future: Future) -> list[str]:
        exc = future.exception()
        if exc is None:
            return self._succeed(sid, future.result())
        cls, message, retryable = step_types.error_of(exc)
        if cls == "internal":
            logger.error("step %s of execution %s raised", sid, self.id, exc_info=exc)
        return self._failed(sid, cls, message, retryable, getattr(exc, "retry_after", None))

    def _succeed(self, sid: str, output: Any) -> list[str]:
        return self._end(sid, "succeeded", output, None, None)

    def _failed(self, sid: str, cls: str, message: str, retryable: bool,
                retry_after: float | None = None) -> list[str]:
        step = self.steps[sid]
        policy = step.get("retry") or {}
        attempt = self.attempts.get(sid, 1)
        if retryable and attempt < policy.get("max_attempts", 1) and not self.cancelled:
            delay = policy.get("delay_s", 1.0) * policy.get("backoff", 2.0) ** (attempt - 1)
            delay = max(delay, retry_after or 0.0)
            self._write_retry(sid, cls, message)
            heapq.heappush(self.timers, (time.monotonic() + delay, sid, "start"))
            return []
        finished = self._end(sid, "failed", None, cls, message)
        if step.get("on_error", "fail") == "fail" and self.failure is None:
            self.failure = f"step {sid} failed ({cls}): {message}"
        elif step.get("on_error") not in ("fail", "continue") and self.failure is None:
            logger.info("step %s of execution %s failed; handler %s runs", sid, self.id, step["on_error"])
        return finished

    def _end(self, sid: str, status: str, output: Any, cls: str | None, message: str | None) -> list[str]:
        duration = (time.monotonic() - self.started[sid]) * 1000.0 if sid in self.started else None
        self._write_end(sid, status, output, cls, message, duration)
        self._remember(sid, status, output)
        return [sid]

    def _remember(self, sid: str, status: str, output: Any) -> None:
        self.results[sid] = {"status": status, "output": output}
        self.context["steps"][sid] = {"status": status, "output": output}

    # -- persistence (the only writes of an execution, all in this thread) -------------------------

    def _write_start(self, sid: str, step: dict[str, Any], attempt: int, shown_input: Any) -> None:
        values = {"status": "running", "attempt": attempt, "started_at": utcnow(), "finished_at": None,
                  "duration_ms": None, "input": stored(shown_input), "output": None,
                  "error_class": None, "error": None}
        if sid in self.rows:
            db.session.execute(update(StepRun).where(StepRun.id == self.rows[sid]).values(**values))
        else:
            result = db.session.execute(StepRun.__table__.insert().values(
                execution_id=self.id, step_id=sid, step_type=step["type"], **values))
            self.rows[sid] = result.inserted_primary_key[0]
        db.session.commit()

    def _write_retry(self, sid: str, cls: str, message: str) -> None:
        if sid in self.rows:
            db.session.execute(update(StepRun).where(StepRun.id == self.rows[sid]).values(
                error_class=cls, error=f"attempt {self.attempts[sid]} failed: {message}"[:4000]))
            db.session.commit()

    def _write_end(self, sid: str, status: str, output: Any, cls: str | None, message: str | None,
                   duration: float | None) -> None:
        values = {"status": status, "finished_at": utcnow(), "duration_ms": duration,
                  "output": stored(output), "error_class": cls,
                  "error": message[:4000] if message else None}
        if sid in self.rows:
            db.session.execute(update(StepRun).where(StepRun.id == self.rows[sid]).values(**values))
        else:
            step = self.steps[sid]
            result = db.session.execute(StepRun.__table__.insert().values(
                execution_id=self.id, step_id=sid, step_type=step["type"],
                attempt=self.attempts.get(sid, 0), started_at=None, input=None, **values))
            self.rows[sid] = result.inserted_primary_key[0]
        db.session.commit()

    def _check_cancel(self) -> None:
        if self.cancelled:
            return
        flag = db.session.execute(db.select(Execution.cancel_requested).filter_by(id=self.id)).scalar()
        db.session.commit()
        if flag:
            self.cancelled = True
            for sid, kind in [(t[1], t[2]) for t in self.timers]:
                if kind == "wait":
                    self._end(sid, "cancelled", None, None, "execution cancelled")
            self.timers = [t for t in self.timers if t[2] != "wait"]

    def _finish(self) -> str:
        # Steps abandoned after a timeout may still be running; their results are ignored.
        for future in list(self.running):
            future.cancel()
        if self.cancelled:
            status, error = "cancelled", "cancelled on request"
        elif self.failure is not None:
            status, error = "failed", self.failure
        else:
            status, error = "succeeded", None
        db.session.execute(update(Execution).where(Execution.id == self.id).values(
            status=status, error=error, finished_at=utcnow(), heartbeat_at=utcnow()))
        db.session.commit()
        return status

