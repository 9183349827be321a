"""The planner (atom.engine.planner): pure, so tested on its own, exhaustively on small cases and
with Hypothesis over random graphs of steps, outcomes, error policies and handlers."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from atom.engine.definition import load_definition
from atom.engine.planner import Planner
from atom.engine.planner import StepState
from atom.engine.planner import fails_execution
from atom.engine.states import ExecutionStatus
from atom.engine.states import StepStatus

OK, FAILED, SKIPPED, RUNNING, CANCELLED = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED,
                                          StepStatus.RUNNING, StepStatus.CANCELLED)


def step(sid: str, deps=(), kind: str = "transform", **extra) -> dict:
    raw = {"id": sid, "type": kind, "depends_on": list(deps), **extra}
    if kind == "transform":
        raw["mapping"] = {"x": "`1`"}
    if kind == "condition":
        raw["expression"] = "`true`"
    return raw


def planner(*steps: dict) -> Planner:
    return Planner(load_definition({"name": "t", "steps": list(steps)}))


def s(status: StepStatus, result: bool | None = None) -> StepState:
    return StepState(status, result)


def test_roots_are_ready_and_nothing_else():
    p = planner(step("a"), step("b"), step("c", ["a", "b"]))
    plan = p.initial({})
    assert plan.ready == ("a", "b") and plan.skipped == ()
    assert p.after("a", {"a": s(OK)}).ready == ()  # c still waits for b
    assert p.after("b", {"a": s(OK), "b": s(OK)}).ready == ("c",)


def test_running_and_decided_steps_are_not_ready_again():
    p = planner(step("a"), step("b"))
    assert p.initial({"a": s(RUNNING)}).ready == ("b",)
    assert p.initial({"a": s(OK), "b": s(FAILED)}).ready == ()


@pytest.mark.parametrize("dep_state,on_error,why", [
    (s(SKIPPED), "fail", "a was skipped"),
    (s(FAILED), "fail", "a failed"),
    (s(FAILED), "continue", None),
    (s(OK), "fail", None),
    (s(CANCELLED), "fail", "execution cancelled"),
])
def test_a_dependent_runs_or_is_skipped_by_its_dependency(dep_state, on_error, why):
    p = planner(step("a", on_error=on_error), step("b", ["a"]))
    states = {"a": dep_state}
    plan = p.after("a", states, cancelled=dep_state.status == CANCELLED)
    assert plan.ready == (() if why else ("b",))
    assert plan.skipped == ((("b", why),) if why else ())


def test_a_false_condition_skips_its_dependents_and_a_true_one_runs_them():
    p = planner(step("c", kind="condition"), step("d", ["c"]))
    assert p.after("c", {"c": s(OK, False)}).skipped == (("d", "condition c was false"),)
    assert p.after("c", {"c": s(OK, True)}).ready == ("d",)


@pytest.mark.parametrize("form", [{"on_error": "h"}, {"on_error": "fail", "handler": "h"}])
def test_a_handler_runs_only_after_its_step_fails_and_its_dependents_are_skipped(form):
    p = planner(step("w", **form), step("after", ["w"]), step("h"))
    assert p.initial({}).ready == ("w",)  # the handler waits for the step it handles
    failed = {"w": s(FAILED)}
    plan = p.after("w", failed)
    assert plan.ready == ("h",) and plan.skipped == (("after", "w failed"),)
    assert not p.failing(failed)  # handled: the execution does not fail by it
    assert p.after("w", {"w": s(OK)}).skipped == (("h", "w did not fail"),)
    done = {"w": s(FAILED), "after": s(SKIPPED), "h": s(OK)}
    assert p.outcome(done) == ExecutionStatus.SUCCEEDED
    assert p.outcome({**done, "h": s(FAILED)}) == ExecutionStatus.FAILED


def test_continue_with_a_handler_runs_both():
    p = planner(step("w", on_error="continue", handler="h"), step("after", ["w"]), step("h"))
    assert set(p.after("w", {"w": s(FAILED)}).ready) == {"after", "h"}


def test_a_failure_skips_later_steps_that_are_no_handlers():
    p = planner(step("a"), step("b"), step("c", ["b"]), step("h"), step("x", handler="h"))
    states = {"a": s(FAILED), "b": s(OK)}
    assert p.after("b", states).skipped == (("c", "an earlier step failed"),)
    assert p.outcome({**states, "c": s(SKIPPED), "x": s(FAILED), "h": s(OK)}) == ExecutionStatus.FAILED


def test_the_outcome_waits_for_every_step_and_says_cancelled_first():
    p = planner(step("a"), step("b"))
    assert p.outcome({"a": s(OK)}) is None
    assert p.outcome({"a": s(OK), "b": s(RUNNING)}) is None
    assert p.outcome({"a": s(OK), "b": s(OK)}) == ExecutionStatus.SUCCEEDED
    assert p.outcome({"a": s(FAILED), "b": s(CANCELLED)}, cancelled=True) == ExecutionStatus.CANCELLED


def test_cancelled_skips_every_undecided_step():
    p = planner(step("a"), step("b", ["a"]))
    assert p.initial({}, cancelled=True).skipped == (("a", "execution cancelled"),)


# -- properties over random graphs ----------------------------------------------------------------


@st.composite
def workflows(draw):
    """A random DAG of up to 12 steps (edges go from a lower index to a higher one), with
    conditions, ``on_error`` policies, handlers (later steps) and each step's outcome."""
    n = draw(st.integers(1, 12))
    steps, outcomes = [], {}
    for i in range(n):
        deps = sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else []
        kind = draw(st.sampled_from(["transform", "condition"]))
        raw = step(f"s{i}", [f"s{d}" for d in deps], kind, on_error=draw(st.sampled_from(["fail", "continue"])))
        if i < n - 1 and draw(st.booleans()):
            h = draw(st.integers(i + 1, n - 1))
            if draw(st.booleans()):
                raw["handler"] = f"s{h}"
            else:
                raw["on_error"] = f"s{h}"  # the old form
        steps.append(raw)
        outcomes[f"s{i}"] = (draw(st.booleans()), draw(st.booleans()))  # (succeeds, condition result)
    cancel_after = draw(st.none() | st.integers(0, n))
    return steps, outcomes, cancel_after


def simulate(p: Planner, outcomes, cancel_after, incremental: bool):
    """Run the plan to its end as the runner does: ready steps start in order and end by
    their drawn outcome; every step that ends (run or skipped) is planned after; after
    ``cancel_after`` steps ran, the execution is cancelled."""
    states: dict[str, StepState] = {}
    order: list[str] = []
    pending: list[str] = []
    ended: list[str] = []
    cancelled = False

    def apply(plan) -> None:
        for sid, _ in plan.skipped:
            if sid not in states and sid not in pending:  # a ready step starts as it was decided
                states[sid] = s(CANCELLED if cancelled else SKIPPED)
                ended.append(sid)
        pending.extend(r for r in plan.ready if r not in pending and r not in states)

    apply(p.initial(states))
    while pending or ended:
        if ended:
            sid = ended.pop(0)
            apply(p.after(sid, states, cancelled) if incremental else p.initial(states, cancelled))
            continue
        sid = pending.pop(0)
        assert sid not in states, f"{sid} started twice"
        assert p.decidable(sid, states)
        if cancelled:
            states[sid] = s(CANCELLED)
            ended.append(sid)
            continue
        succeeds, result = outcomes[sid]
        is_condition = p.steps[sid].type == "condition"
        states[sid] = s(OK if succeeds else FAILED, result if succeeds and is_condition else None)
        order.append(sid)
        ended.append(sid)
        if cancel_after is not None and len(order) >= cancel_after:
            cancelled = True
    return states, order, cancelled


@settings(max_examples=300, deadline=None)
@given(workflows())
def test_random_graphs_always_finish_and_obey_the_rules(case):
    raw_steps, outcomes, cancel_after = case
    p = planner(*raw_steps)
    states, order, cancelled = simulate(p, outcomes, cancel_after, incremental=True)
    # Never stranded: every step ends decided, and the outcome is known.
    assert p.finished(states), (raw_steps, states)
    status = p.outcome(states, cancelled)
    assert status is not None
    position = {sid: i for i, sid in enumerate(order)}
    for sid in order:
        spec = p.steps[sid]
        for dep in spec.depends_on:  # a step runs after its dependencies, which let it
            assert dep in position and position[dep] < position[sid]
            dep_state, dep_step = states[dep], p.steps[dep]
            assert dep_state.status == OK or dep_step.on_error == "continue" or dep_step.handler == sid
            assert not (dep_step.type == "condition" and dep_state.result is False)
        handled = p.handles.get(sid)
        if handled:  # a handler ran: a step it handles failed before it
            assert any(states[h].status == FAILED and position[h] < position[sid] for h in handled)
    # The status: cancelled, else failed exactly when an unhandled fail-step failed.
    failing = any(states[sid].status == FAILED and fails_execution(p.steps[sid]) for sid in order)
    expected = (ExecutionStatus.CANCELLED if cancelled else
                ExecutionStatus.FAILED if failing else ExecutionStatus.SUCCEEDED)
    assert status == expected


@settings(max_examples=200, deadline=None)
@given(workflows())
def test_incremental_and_full_replanning_decide_the_same(case):
    """``after`` (only the successors of the step that ended) decides as ``initial`` (every
    step) does: a resumed execution, planned from scratch, goes on as an uninterrupted one."""
    raw_steps, outcomes, cancel_after = case
    p = planner(*raw_steps)
    inc_states, inc_order, _ = simulate(p, outcomes, cancel_after, incremental=True)
    full_states, full_order, _ = simulate(p, outcomes, cancel_after, incremental=False)
    assert {k: v.status for k, v in inc_states.items()} == {k: v.status for k, v in full_states.items()}
    assert set(inc_order) == set(full_order)
