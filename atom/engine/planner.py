"""The planner: what an execution does next, from its definition and the states of its steps.

Pure: no I/O, no database, no Flask, no clock. Given a typed :class:`Definition` and the
states of the steps that have one (:class:`StepState`, absent: not started), it says which
steps are ready to start, which are skipped and why, and whether the execution has finished
and with what status. The runner asks it after every step that ends (:meth:`Planner.after`,
which looks only at the steps that waited for that one) and once at the start
(:meth:`Planner.initial`, which also accounts for the steps a resumed execution kept).

The rules:

* a step is decided once every step before it (its ``depends_on``, and for a handler the steps
  it handles) has a final state;
* it is skipped when the execution is cancelled (``execution cancelled``), when it is a handler
  and none of the steps it handles failed, when a dependency was skipped, was a false
  condition, or failed without ``on_error: continue`` (unless this step is its handler), and,
  for a step that is no handler, when an earlier step failed the execution;
* a failure fails the execution when the step has ``on_error: fail`` and no handler;
* the execution has finished when every step has a final state: ``cancelled`` if it was
  cancelled, ``failed`` if a step failed it, else ``succeeded``.

A step's own ``when`` is an expression on the run's data: the runner evaluates it when the
planner says the step is ready.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from atom.engine.definition import Definition
from atom.engine.definition import Step
from atom.engine.states import STEP_FINAL
from atom.engine.states import ExecutionStatus
from atom.engine.states import StepStatus

# A cancelled step is final for planning (nothing waits on it any longer).
_DECIDED = STEP_FINAL | {StepStatus.CANCELLED}


@dataclass(frozen=True, slots=True)
class StepState:
    status: StepStatus
    # A condition step's result (None for every other step, or a condition not yet run).
    result: bool | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    ready: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (step id, why)


def fails_execution(step: Step) -> bool:
    """Whether a failure of ``step`` fails its execution: ``on_error: fail`` and no handler."""
    return step.on_error == "fail" and step.handler is None


class Planner:
    def __init__(self, definition: Definition) -> None:
        self.steps = definition.by_id
        handles: dict[str, list[str]] = {}
        for step in definition.steps:
            if step.handler is not None:
                handles.setdefault(step.handler, []).append(step.id)
        self.handles = {sid: tuple(ids) for sid, ids in handles.items()}  # handler -> handled
        self.before = {s.id: (*s.depends_on, *self.handles.get(s.id, ())) for s in definition.steps}
        after: dict[str, list[str]] = {sid: [] for sid in self.steps}
        for sid, preds in self.before.items():
            for pred in dict.fromkeys(preds):
                after[pred].append(sid)
        self.after_of = {sid: tuple(ids) for sid, ids in after.items()}

    # -- what runs next ----------------------------------------------------------------------------

    def initial(self, states: Mapping[str, StepState], cancelled: bool = False) -> Plan:
        """Every undecided step that can be decided now (at the start, or on a resume)."""
        return self._plan(self.steps, states, cancelled, self.failing(states))

    def after(self, sid: str, states: Mapping[str, StepState], cancelled: bool = False,
              failing: bool | None = None) -> Plan:
        """The steps decided now that ``sid`` has a final state (only the steps after it).

        :param failing: whether a step failed the execution (computed from ``states`` if None).
        """
        if failing is None:
            failing = self.failing(states)
        return self._plan(self.after_of[sid], states, cancelled, failing)

    def _plan(self, candidates: Mapping[str, object] | tuple[str, ...], states: Mapping[str, StepState],
              cancelled: bool, failing: bool) -> Plan:
        ready: list[str] = []
        skipped: list[tuple[str, str]] = []
        for sid in candidates:
            if sid in states or not self.decidable(sid, states):
                continue
            why = self.skip_reason(sid, states, cancelled, failing)
            if why is None:
                ready.append(sid)
            else:
                skipped.append((sid, why))
        return Plan(tuple(ready), tuple(skipped))

    def decidable(self, sid: str, states: Mapping[str, StepState]) -> bool:
        for pred in self.before[sid]:
            state = states.get(pred)
            if state is None or state.status not in _DECIDED:
                return False
        return True

    def skip_reason(self, sid: str, states: Mapping[str, StepState], cancelled: bool,
                    failing: bool) -> str | None:
        """Why a decidable step does not run (None: it runs)."""
        if cancelled:
            return "execution cancelled"
        handled = self.handles.get(sid)
        if handled and not any(states[h].status == StepStatus.FAILED for h in handled):
            return f"{', '.join(handled)} did not fail"
        for dep in self.steps[sid].depends_on:
            state = states[dep]
            if state.status == StepStatus.SKIPPED:
                return f"{dep} was skipped"
            if state.result is False and self.steps[dep].type == "condition":
                return f"condition {dep} was false"
            dep_step = self.steps[dep]
            if (state.status == StepStatus.FAILED and dep_step.on_error != "continue"
                    and dep_step.handler != sid):
                return f"{dep} failed"
        if failing and not handled:
            return "an earlier step failed"
        return None

    # -- the end -------------------------------------------------------------------------------------

    def failing(self, states: Mapping[str, StepState]) -> bool:
        """Whether a step failed the execution."""
        return any(state.status == StepStatus.FAILED and fails_execution(self.steps[sid])
                   for sid, state in states.items() if sid in self.steps)

    def finished(self, states: Mapping[str, StepState]) -> bool:
        return all(sid in states and states[sid].status in _DECIDED for sid in self.steps)

    def outcome(self, states: Mapping[str, StepState], cancelled: bool = False) -> ExecutionStatus | None:
        """The execution's final status once every step is decided, else None."""
        if not self.finished(states):
            return None
        if cancelled:
            return ExecutionStatus.CANCELLED
        return ExecutionStatus.FAILED if self.failing(states) else ExecutionStatus.SUCCEEDED
