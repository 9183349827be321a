"""Success and completion-time prediction for a workflow, before it runs.

**Success.** Each step's *attempt* failure probability is a chain of Beta priors, each of
strength ``kappa_step`` (fitted by :func:`train`), from the general to the particular:

    step type's base rate -> the service's health (calls and checks) -> the same service and
    action in other workflows' step runs -> this workflow's own attempts of this step

so a step with no history of its own inherits its service's and action's record, and its own
attempts take over as they accumulate. A step with a retry policy of ``k`` attempts fails only
if every attempt fails (a non-retryable failure ends it at once: ``P(fail) = 1 - (1 - q)
(1 - (q r)^k) / (1 - q r)`` with ``q`` the attempt failure rate and ``r`` the retryable share
of failures). A step behind ``when`` (or after a condition) weighs by how often it ran; a
failure of a step with ``on_error`` other than ``fail`` does not fail the run, its handler's
does. The run succeeds when no step fails fatally (the product over steps), and that
prediction is the Beta prior, of strength ``kappa_wf``, for this version's own outcomes.

**Completion time.** A Monte Carlo over the graph (fixed seed, :data:`SAMPLES` samples,
vectorised): each attempt's duration is drawn from the step's own attempts (else the same
service and action elsewhere, else the service's call latencies), capped at ``timeout_s``;
retries wait ``delay_s * backoff**k``; waits add their ``seconds``; a step starts when its
dependencies have finished plus the engine's measured per-level overhead; the run ends with its
last step. p50 and p90 of that.

Everything handed out cites what it came from (counts, rates, execution ids).
"""
from __future__ import annotations

import graphlib
import logging
import threading
from collections import Counter
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import Iterable

import numpy as np
from flask import Flask
from flask import current_app

from atom.engine.definition import error_policy
from atom.extensions import db
from atom.intelligence import history
from atom.intelligence import models_config
from atom.models import Execution
from atom.models import Workflow
from atom.models.base import isoformat
from atom.models.base import utcnow
from atom.models.intelligence import ModelState

logger = logging.getLogger(__name__)

MODEL = "hierarchical Beta priors over step attempts + Monte Carlo over the critical path"
MODEL_VERSION = "prediction-1"
COMPONENT = "prediction"
EXTENSION = "atom.intelligence.prediction"
SAMPLES = 2000
SEED = 20261202
# Error classes the engine retries (atom.engine.steps.error_of; "upstream" unless permanent).
RETRYABLE = frozenset({"timeout", "upstream", "rate_limited", "circuit_open"})
IO_TYPES = ("action", "notification", "workflow")
# Before any data: an attempt of an I/O step fails 5% of the time, a pure step almost never;
# most failures of a call are transient, of a pure step none. Overridden by train().
BASE_ATTEMPT_FAILURE = {"action": 0.05, "notification": 0.05, "workflow": 0.05,
                        "transform": 0.002, "condition": 0.002, "wait": 0.0}
BASE_RETRYABLE = {"action": 0.8, "notification": 0.8, "workflow": 0.5}
# Attempt duration (ms) assumed when nothing at all is known about a step.
ASSUMED_MS = {"action": 200.0, "notification": 200.0, "workflow": 500.0, "transform": 2.0,
              "condition": 2.0, "wait": 0.0}
DEFAULT_GAP_MS = 10.0
MIN_SAMPLES = 5  # durations before a source is used on its own
GLOBAL_LIMIT = 2000  # newest executions read for the service/action rates
OWN_LIMIT = 500  # newest executions of the workflow read
TRAIN_LIMIT = 20000
HELD_BACK = 0.2
KAPPA_STEP_GRID = (2.0, 5.0, 10.0, 20.0, 50.0)
KAPPA_WF_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)  # times min_history
CHOICE_SKIPS = ("when was false", "was skipped", "was false")
_CACHE_SIZE = 256


# -- evidence -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """Attempts of one step (or of one service and action in one workflow)."""

    attempts: int = 0
    failed: int = 0
    retryable_failed: int = 0
    runs: int = 0
    chosen_skips: int = 0  # skipped by a when / a false condition (not by a failure)
    durations: list[float] = field(default_factory=list)  # attempt durations, ms
    error_classes: Counter = field(default_factory=Counter)
    failed_executions: list[int] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.attempts += other.attempts
        self.failed += other.failed
        self.retryable_failed += other.retryable_failed
        self.runs += other.runs
        self.chosen_skips += other.chosen_skips
        self.durations += other.durations
        self.error_classes.update(other.error_classes)
        self.failed_executions += other.failed_executions


@dataclass
class Aggregate:
    """What a set of executions says, per service/action and workflow, per step, per workflow."""

    by_key: dict[tuple[str, int], Tally] = field(default_factory=dict)  # (key, workflow)
    by_step: dict[tuple[int, str, str], Tally] = field(default_factory=dict)  # (wf, step, key)
    outcomes: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (wf, v): [ok, n]
    executions: dict[int, int] = field(default_factory=dict)  # wf -> finished executions
    gaps: dict[int, list[float]] = field(default_factory=dict)  # wf -> overhead per level, ms
    latest: int = 0  # newest execution id seen

    def key_tally(self, key: str, exclude: int | None) -> tuple[Tally, int]:
        out, workflows = Tally(), 0
        for (k, wf), tally in self.by_key.items():
            if k == key and wf != exclude:
                out.add(tally)
                workflows += 1
        return out, workflows

    def service_tally(self, service: str, exclude_key: str, exclude: int | None) -> Tally:
        out = Tally()
        for (k, wf), tally in self.by_key.items():
            if k.split(".", 1)[0] == service and "." in k and k != exclude_key and wf != exclude:
                out.add(tally)
        return out

    def type_rates(self) -> dict[str, float]:
        """Attempt failure rate per step type over everything (train's base rates)."""
        per: dict[str, list[int]] = {}
        for (key, _wf), tally in self.by_key.items():
            kind = _type_of_key(key)
            acc = per.setdefault(kind, [0, 0])
            acc[0] += tally.failed
            acc[1] += tally.attempts
        return {k: f / n for k, (f, n) in per.items() if n}

    def gap_ms(self, workflow_id: int | None = None) -> float | None:
        values = self.gaps.get(workflow_id, []) if workflow_id is not None else \
            [g for gs in self.gaps.values() for g in gs]
        return float(np.median(values)) if values else None


def step_key(step: dict[str, Any]) -> str:
    """What makes two steps comparable across workflows: ``service.action`` for a call,
    ``service.notify`` for a notification, the type for the rest."""
    if step["type"] == "action":
        return f"{step.get('service')}.{step.get('action')}"
    if step["type"] == "notification":
        return f"{step.get('service')}.notify"
    return step["type"]


def _type_of_key(key: str) -> str:
    if key.endswith(".notify"):
        return "notification"
    return "action" if "." in key else key


def _graph(steps: list[dict[str, Any]]) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    """Topological order, predecessors (dependencies and, for a handler, the step it handles)
    and handler -> handled step(s) map."""
    ids = {s["id"] for s in steps}
    preds = {s["id"]: [d for d in s.get("depends_on") or [] if d in ids] for s in steps}
    handled: dict[str, str] = {}
    for s in steps:
        handler = error_policy(s)[1]
        if handler in ids and handler != s["id"]:
            preds[handler].append(s["id"])
            handled[s["id"]] = handler
    order = list(graphlib.TopologicalSorter(preds).static_order())
    return order, preds, handled


def _chosen_skip(step: history.StepRecord) -> bool:
    reason = step.error or ""
    return any(r in reason for r in CHOICE_SKIPS)


def _tally_step(step: history.StepRecord, ex_id: int) -> Tally:
    t = Tally()
    if step.status == "skipped":
        t.chosen_skips = int(_chosen_skip(step))
        return t
    if step.status not in ("succeeded", "failed"):
        return t
    t.runs = 1
    attempts = step.attempts or (history.Attempt(1, step.status, step.duration_ms,
                                                 step.error_class, step.error),)
    for a in attempts:
        t.attempts += 1
        if a.duration_ms is not None:
            t.durations.append(float(a.duration_ms))
        if a.status == "failed":
            t.failed += 1
            cls = a.error_class or "unknown"
            t.error_classes[cls] += 1
            t.retryable_failed += cls in RETRYABLE
    if step.status == "failed":
        t.failed_executions.append(ex_id)
    return t


def _step_time(step: dict[str, Any], rec: history.StepRecord | None) -> float:
    """How long a step took in one execution: its attempts plus the retry delays between."""
    if rec is None or rec.status not in ("succeeded", "failed"):
        return 0.0
    attempts = rec.attempts or ()
    total = sum(a.duration_ms or 0.0 for a in attempts) if attempts else (rec.duration_ms or 0.0)
    policy = step.get("retry") or {}
    for k in range(max(0, len(attempts) - 1)):
        total += float(policy.get("delay_s", 1.0)) * float(policy.get("backoff", 2.0)) ** k * 1000
    return total


def _gap(definition: dict[str, Any], ex: history.ExecutionRecord) -> float | None:
    """The engine's overhead per level of the graph in one execution: its duration minus the
    longest path of its steps' own times, over the path's length."""
    if ex.duration_ms is None or not ex.steps:
        return None
    steps = {s["id"]: s for s in definition.get("steps", [])}
    try:
        order, preds, _ = _graph(list(steps.values()))
    except graphlib.CycleError:
        return None
    finish: dict[str, float] = {}
    depth: dict[str, int] = {}
    for sid in order:
        before = max((finish[p] for p in preds[sid]), default=0.0)
        levels = max((depth[p] for p in preds[sid]), default=0) + 1
        finish[sid] = before + _step_time(steps[sid], ex.steps.get(sid))
        depth[sid] = levels
    last = max(finish, key=finish.get)
    return max(0.0, ex.duration_ms - finish[last]) / depth[last]


class Definitions:
    """Workflow versions are immutable: read each once."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, int], dict[str, Any] | None] = {}
        self._lock = threading.Lock()

    def get(self, workflow_id: int, version: int) -> dict[str, Any] | None:
        key = (workflow_id, version)
        with self._lock:
            if key in self._rows:
                return self._rows[key]
        row = history.definition(workflow_id, version)
        with self._lock:
            self._rows[key] = row
            if len(self._rows) > 4096:
                self._rows.pop(next(iter(self._rows)))
        return row


def add_execution(agg: Aggregate, ex: history.ExecutionRecord, definitions: Definitions,
                  durations_cap: int = 200) -> None:
    """Count one execution into ``agg``."""
    agg.latest = max(agg.latest, ex.id)
    definition = definitions.get(ex.workflow_id, ex.version)
    if definition is None:
        return
    agg.executions[ex.workflow_id] = agg.executions.get(ex.workflow_id, 0) + 1
    if ex.status in ("succeeded", "failed"):
        acc = agg.outcomes.setdefault((ex.workflow_id, ex.version), [0, 0])
        acc[0] += ex.status == "succeeded"
        acc[1] += 1
    for step in definition.get("steps", []):
        rec = ex.steps.get(step["id"])
        if rec is None:
            continue
        key = step_key(step)
        t = _tally_step(rec, ex.id)
        for bucket in (agg.by_key.setdefault((key, ex.workflow_id), Tally()),
                       agg.by_step.setdefault((ex.workflow_id, step["id"], key), Tally())):
            bucket.add(t)
            if len(bucket.durations) > durations_cap:
                del bucket.durations[:len(bucket.durations) - durations_cap]
    gap = _gap(definition, ex)
    if gap is not None:
        agg.gaps.setdefault(ex.workflow_id, []).append(gap)


def aggregate(records: Iterable[history.ExecutionRecord], definitions: Definitions) -> Aggregate:
    agg = Aggregate()
    for ex in sorted(records, key=lambda r: r.id):  # oldest first: newest durations kept
        add_execution(agg, ex, definitions)
    return agg


@dataclass
class ServiceView:
    """A service's health and call latencies (from :mod:`atom.intelligence.history`)."""

    calls: int = 0
    failed: int = 0
    status: str = "unknown"
    score: float | None = None
    success_rate: float | None = None
    p95_ms: float | None = None
    error_classes: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)


def service_view(service: str, at: datetime | None = None, window_s: float = 3600) -> ServiceView:
    h = history.health(service, at=at, window_s=window_s)
    since = h.since
    calls = history.call_latencies(service, since=since, until=h.until)
    return ServiceView(calls=h.checks + h.calls, failed=h.checks_failed + h.calls_failed,
                       status=h.status, score=h.score, success_rate=h.success_rate,
                       p95_ms=h.p95_ms, error_classes=h.error_classes,
                       latencies=[ms for ok, ms in calls if ok])


# -- the model --------------------------------------------------------------------------------


@dataclass
class Params:
    kappa_step: float
    kappa_wf: float
    gap_ms: float
    base: dict[str, float]

    @classmethod
    def of(cls, stored: dict[str, Any] | None, min_history: int) -> Params:
        stored = stored or {}
        return cls(float(stored.get("kappa_step", 10.0)),
                   float(stored.get("kappa_wf", max(1, min_history))),
                   float(stored.get("gap_ms", DEFAULT_GAP_MS)),
                   {**BASE_ATTEMPT_FAILURE, **(stored.get("base") or {})})


def _blend(failed: float, n: float, prior: float, kappa: float) -> float:
    return (failed + kappa * prior) / (n + kappa)


def step_failure(q: float, r: float, attempts: int) -> float:
    """P(a step fails) with attempt failure rate ``q``, retryable share ``r`` of failures
    and ``attempts`` allowed: it fails only if every attempt fails (a non-retryable failure
    ends it)."""
    qr = q * r
    if attempts <= 1:
        return q
    succeed = (1 - q) * (attempts if abs(1 - qr) < 1e-12 else (1 - qr ** attempts) / (1 - qr))
    return float(min(1.0, max(0.0, 1 - succeed)))


@dataclass
class StepModel:
    id: str
    type: str
    key: str
    service: str | None
    attempts: int  # allowed by the retry policy
    delay_s: float
    backoff: float
    timeout_ms: float | None
    fatal: bool
    goes_on: bool  # on_error: continue (its dependants run even when it failed)
    handles: list[str]  # steps whose failure runs this one
    q: float  # attempt failure probability
    r: float  # retryable share of failures
    run_p: float  # P(it runs | its dependencies succeeded), from when/condition history
    conditional: bool
    p_fail: float  # P(it fails | it runs)
    durations: np.ndarray  # attempt durations to draw from, ms
    duration_source: str
    wait_ms: float
    sources: dict[str, Any]  # the cited figures


def _step_model(step: dict[str, Any], workflow_id: int | None, agg: Aggregate,
                services: dict[str, ServiceView], params: Params, handles: list[str],
                conditional_by_graph: bool) -> StepModel:
    kind = step["type"]
    key = step_key(step)
    service = step.get("service") if kind in ("action", "notification") else None
    base = params.base.get(kind, BASE_ATTEMPT_FAILURE.get(kind, 0.01))
    k = params.kappa_step
    sources: dict[str, Any] = {"base_rate": round(base, 4)}
    prior, failed_n, total_n = base, 0, 0
    retry_failed, retry_total = 0.0, 0.0
    pools: list[tuple[str, list[float]]] = []
    view = services.get(service) if service else None
    if view is not None and view.calls:
        prior = _blend(view.failed, view.calls, prior, k)
        sources["service_health"] = {"service": service, "observations": view.calls,
                                     "failed": view.failed, "status": view.status,
                                     "success_rate": None if view.success_rate is None
                                     else round(view.success_rate, 4)}
    if service:
        other = agg.service_tally(service, key, workflow_id)
        if other.attempts:
            prior = _blend(other.failed, other.attempts, prior, k)
            sources["service_steps"] = {"attempts": other.attempts, "failed": other.failed}
            retry_failed += other.retryable_failed
            retry_total += other.failed
    same, workflows = agg.key_tally(key, workflow_id)
    if same.attempts:
        prior = _blend(same.failed, same.attempts, prior, k)
        sources["same_action"] = {"key": key, "workflows": workflows, "attempts": same.attempts,
                                  "failed": same.failed,
                                  "attempt_failure_rate": round(same.failed / same.attempts, 4)}
        retry_failed += same.retryable_failed
        retry_total += same.failed
        pools.append((f"{key} in {workflows} other workflow(s)", same.durations))
    own = agg.by_step.get((workflow_id, step["id"], key)) if workflow_id is not None else None
    own = own or Tally()
    q = _blend(own.failed, own.attempts, prior, k) if kind != "wait" else 0.0
    failed_n, total_n = own.failed, own.attempts
    if own.attempts or own.chosen_skips:
        sources["own"] = {"runs": own.runs, "attempts": own.attempts, "failed_attempts": own.failed,
                          "error_classes": dict(own.error_classes),
                          "failed_executions": own.failed_executions[-5:]}
    retry_failed += own.retryable_failed
    retry_total += own.failed
    r0 = BASE_RETRYABLE.get(kind, 0.0)
    r = (retry_failed + r0) / (retry_total + 1.0)
    if own.durations:
        pools.insert(0, ("own attempts", own.durations))
    if view is not None and view.latencies:
        pools.append((f"{service} call latencies", view.latencies))
    conditional = bool(step.get("when")) or conditional_by_graph
    run_p = 1.0
    if conditional:
        run_p = (own.runs + 1.0) / (own.runs + own.chosen_skips + 2.0)
    policy = step.get("retry") or {}
    attempts = int(policy.get("max_attempts", 1))
    p_fail = step_failure(q, r, attempts)
    chosen = next(((name, vals) for name, vals in pools if len(vals) >= MIN_SAMPLES), None)
    if chosen is None and any(vals for _, vals in pools):
        name = " + ".join(n for n, v in pools if v)
        chosen = (name, [v for _, vals in pools for v in vals])
    wait_ms = 0.0
    if kind == "wait":
        if step.get("seconds") is not None:
            wait_ms = float(step["seconds"]) * 1000.0
            chosen = ("the wait's seconds", [0.0])
        elif chosen is None:
            chosen = ("unknown (a wait until a time, never run)", [0.0])
    if chosen is None:
        chosen = (f"assumed {ASSUMED_MS.get(kind, 100.0):g} ms (no history)",
                  [ASSUMED_MS.get(kind, 100.0)])
    durations = np.asarray(chosen[1], dtype=float)
    timeout = step.get("timeout_s")
    return StepModel(step["id"], kind, key, service, attempts, float(policy.get("delay_s", 1.0)),
                     float(policy.get("backoff", 2.0)), float(timeout) * 1000 if timeout else None,
                     error_policy(step) == ("fail", None),
                     error_policy(step)[0] == "continue", handles, q, r, run_p, conditional,
                     p_fail, durations, chosen[0], wait_ms, sources)


def _models(definition: dict[str, Any], workflow_id: int | None, agg: Aggregate,
            services: dict[str, ServiceView], params: Params
            ) -> tuple[list[str], dict[str, list[str]], dict[str, StepModel]]:
    steps = {s["id"]: s for s in definition["steps"]}
    order, preds, handled = _graph(list(steps.values()))
    handles: dict[str, list[str]] = {}
    for failing, handler in handled.items():
        handles.setdefault(handler, []).append(failing)
    after_condition = {sid for sid, s in steps.items()
                       if any(steps[d]["type"] == "condition" for d in s.get("depends_on") or []
                              if d in steps)}
    models = {sid: _step_model(steps[sid], workflow_id, agg, services, params,
                               handles.get(sid, []), sid in after_condition) for sid in order}
    return order, preds, models


def _success(order: list[str], models: dict[str, StepModel]) -> tuple[float, dict[str, float]]:
    """P(no step fails fatally), and each step's P(it fails the run)."""
    reach: dict[str, float] = {}
    fails_run: dict[str, float] = {}
    p_ok = 1.0
    for sid in order:
        m = models[sid]
        if m.handles:  # runs only when a step it handles failed
            reach[sid] = min(1.0, sum(reach[h] * models[h].p_fail for h in m.handles)) * m.run_p
        else:
            reach[sid] = m.run_p
        fails_run[sid] = reach[sid] * m.p_fail if m.fatal else 0.0
        p_ok *= 1.0 - fails_run[sid]
    return p_ok, fails_run


def _simulate(order: list[str], preds: dict[str, list[str]], models: dict[str, StepModel],
              gap_ms: float, samples: int = SAMPLES, seed: int = SEED) -> np.ndarray:
    """Completion times (ms) of ``samples`` simulated runs."""
    rng = np.random.default_rng(seed)
    n = samples
    finish: dict[str, np.ndarray] = {}
    failed: dict[str, np.ndarray] = {}
    skipped: dict[str, np.ndarray] = {}
    first_fatal = np.full(n, np.inf)
    for sid in order:
        m = models[sid]
        start = np.zeros(n)
        for p in preds[sid]:
            start = np.maximum(start, finish[p])
        start = start + gap_ms
        skip = np.zeros(n, dtype=bool)
        for p in preds[sid]:
            if p in m.handles:
                continue
            skip |= skipped[p] | (failed[p] & ~np.bool_(models[p].goes_on))
        if m.handles:
            skip |= ~np.logical_or.reduce([failed[h] for h in m.handles])
        if m.run_p < 1.0:
            skip |= rng.random(n) >= m.run_p
        skip |= first_fatal < start
        total = np.zeros(n)
        alive = ~skip
        fail = np.zeros(n, dtype=bool)
        for k in range(m.attempts):
            d = rng.choice(m.durations, n) if len(m.durations) > 1 else np.full(n, m.durations[0])
            if m.timeout_ms is not None:
                d = np.minimum(d, m.timeout_ms)
            total += np.where(alive, d, 0.0)
            attempt_fails = alive & (rng.random(n) < m.q)
            if k < m.attempts - 1:
                retry = attempt_fails & (rng.random(n) < m.r)
                total += np.where(retry, m.delay_s * m.backoff ** k * 1000.0, 0.0)
                fail |= attempt_fails & ~retry
                alive = retry
            else:
                fail |= attempt_fails
        total += np.where(skip, 0.0, m.wait_ms)
        finish[sid] = start + total
        failed[sid] = fail
        skipped[sid] = skip
        if m.fatal:
            first_fatal = np.where(fail, np.minimum(first_fatal, finish[sid]), first_fatal)
    out = np.zeros(n)
    for sid in order:
        out = np.maximum(out, finish[sid])
    return out


def _critical_path(order: list[str], preds: dict[str, list[str]],
                   models: dict[str, StepModel]) -> list[str]:
    """The longest path by expected step time (attempts, retry delays, waits)."""
    finish: dict[str, float] = {}
    came: dict[str, str | None] = {}
    for sid in order:
        m = models[sid]
        mean = float(np.mean(m.durations)) if len(m.durations) else 0.0
        qr = m.q * m.r
        expected = m.wait_ms + mean * sum(qr ** k for k in range(m.attempts)) + sum(
            qr ** (k + 1) * m.delay_s * m.backoff ** k * 1000 for k in range(m.attempts - 1))
        best = max(preds[sid], key=lambda p: finish[p], default=None)
        came[sid] = best
        finish[sid] = (finish[best] if best else 0.0) + expected * m.run_p
    node: str | None = max(finish, key=finish.get) if finish else None
    path = []
    while node is not None:
        path.append(node)
        node = came[node]
    return path[::-1]


def _risks(models: dict[str, StepModel], fails_run: dict[str, float], p_ok: float,
           services: dict[str, ServiceView], path: list[str]) -> list[dict[str, Any]]:
    risks: list[dict[str, Any]] = []
    for sid, m in models.items():
        share = fails_run[sid]
        if share >= 0.005:
            without = p_ok / (1 - share) if share < 1 else 1.0
            risks.append({"kind": "step_failures", "step": sid, "service": m.service,
                          "evidence": {"attempt_failure_rate": round(m.q, 4),
                                       "attempts_allowed": m.attempts,
                                       "step_failure_rate": round(m.p_fail, 4),
                                       "runs_share": round(m.run_p, 4), **m.sources},
                          "impact": round(p_ok - without, 4),
                          "effect": f"{sid} fails {m.p_fail:.1%} of its runs "
                                    f"(attempts fail {m.q:.1%}, {m.attempts} allowed); "
                                    f"without that the run would succeed {without:.1%} "
                                    f"instead of {p_ok:.1%}"})
        if m.attempts == 1 and m.type in IO_TYPES and m.q >= 0.02 and m.r >= 0.5 and m.fatal:
            with_retry = step_failure(m.q, m.r, 3)
            gain = share - m.run_p * with_retry
            if gain >= 0.005:
                risks.append({"kind": "no_retry", "step": sid, "service": m.service,
                              "evidence": {"attempt_failure_rate": round(m.q, 4),
                                           "retryable_share": round(m.r, 4), **m.sources},
                              "impact": round(-gain, 4),
                              "effect": f"{sid} has no retry policy; 3 attempts would cut its "
                                        f"failures from {m.p_fail:.1%} to {with_retry:.1%} "
                                        f"(+{gain:.1%} success)"})
        if m.timeout_ms is not None and len(m.durations) >= MIN_SAMPLES:
            p90 = float(np.percentile(m.durations, 90))
            if p90 >= 0.8 * m.timeout_ms:
                risks.append({"kind": "timeout", "step": sid, "service": m.service,
                              "evidence": {"timeout_ms": m.timeout_ms, "p90_ms": round(p90, 1),
                                           "samples": len(m.durations),
                                           "source": m.duration_source},
                              "impact": 0.0,
                              "effect": f"{sid}'s p90 attempt time {p90:.0f} ms is within 20% "
                                        f"of its {m.timeout_ms:.0f} ms timeout"})
    for service, view in services.items():
        if view.status in ("degraded", "unhealthy"):
            steps = [sid for sid, m in models.items() if m.service == service]
            risks.append({"kind": "service_health", "step": None, "service": service,
                          "evidence": {"status": view.status, "score": view.score,
                                       "observations": view.calls, "failed": view.failed,
                                       "success_rate": view.success_rate, "p95_ms": view.p95_ms,
                                       "error_classes": view.error_classes, "steps": steps},
                          "impact": 0.0,
                          "effect": f"{service} is {view.status} (score {view.score}) over the "
                                    f"last hour; steps {', '.join(steps)} call it"})
    if path:
        slowest = max(path, key=lambda s: models[s].wait_ms + (
            float(np.median(models[s].durations)) if len(models[s].durations) else 0.0))
        m = models[slowest]
        med = float(np.median(m.durations)) if len(m.durations) else 0.0
        risks.append({"kind": "critical_path", "step": slowest, "service": m.service,
                      "evidence": {"path": path, "median_attempt_ms": round(med, 1),
                                   "wait_ms": m.wait_ms, "samples": len(m.durations),
                                   "source": m.duration_source},
                      "impact": 0.0,
                      "effect": f"{slowest} is the slowest step on the critical path "
                                f"{' -> '.join(path)}"})
    risks.sort(key=lambda r: r["impact"])
    return risks


def _evidence_count(models: dict[str, StepModel]) -> tuple[int, float]:
    """Observations from other workflows and services used, and the share of I/O steps
    that had any."""
    count, covered, io = 0, 0, 0
    for m in models.values():
        used = sum(int(m.sources.get(name, {}).get(field_name, 0))
                   for name, field_name in (("service_health", "observations"),
                                            ("service_steps", "attempts"),
                                            ("same_action", "attempts")))
        count += used
        if m.type in IO_TYPES:
            io += 1
            covered += used > 0 or bool(m.sources.get("own"))
    return count, (covered / io if io else 1.0)


def compute(definition: dict[str, Any], workflow_id: int | None, version: int | None,
            agg: Aggregate, services: dict[str, ServiceView], params: Params,
            min_history: int, durations: bool = True) -> dict[str, Any]:
    """The prediction from evidence already gathered (no database access)."""
    order, preds, models = _models(definition, workflow_id, agg, services, params)
    p_model, fails_run = _success(order, models)
    ok, n = agg.outcomes.get((workflow_id, version), [0, 0]) if workflow_id is not None else (0, 0)
    kw = params.kappa_wf
    p = (ok + kw * p_model) / (n + kw)
    service_n, coverage = _evidence_count(models)
    evidence = n + kw * coverage
    confidence = evidence / (evidence + max(1, min_history))
    out: dict[str, Any] = {
        "workflow_id": workflow_id, "version": version,
        "success_rate": round(float(p), 4),
        "confidence": round(float(confidence), 3),
        "based_on": {"executions": int(agg.executions.get(workflow_id, 0))
                     if workflow_id is not None else 0,
                     "executions_this_version": int(n), "succeeded_this_version": int(ok),
                     "service_history": int(service_n)},
        "model_version": MODEL_VERSION,
        "model": {"steps_success_rate": round(float(p_model), 4),
                  "kappa_step": params.kappa_step, "kappa_wf": kw,
                  "gap_ms_per_level": None, "samples": SAMPLES},
    }
    if durations:
        gap = agg.gap_ms(workflow_id) if workflow_id is not None and \
            len(agg.gaps.get(workflow_id, [])) >= 3 else params.gap_ms
        sims = _simulate(order, preds, models, gap)
        path = _critical_path(order, preds, models)
        out["duration_ms"] = {"p50": round(float(np.percentile(sims, 50)), 1),
                              "p90": round(float(np.percentile(sims, 90)), 1),
                              "critical_path": path,
                              "sources": {sid: m.duration_source for sid, m in models.items()}}
        out["model"]["gap_ms_per_level"] = round(float(gap), 2)
        out["risk_factors"] = _risks(models, fails_run, p_model, services, path)
    return out


# -- gathering evidence and caching -------------------------------------------------------------


class _Live:
    """The aggregate of the newest executions, kept up to date by reading only new ones."""

    def __init__(self, agg: Aggregate, seen: set[int], floor: int, truncated: bool) -> None:
        self.agg, self.seen, self.floor, self.truncated = agg, seen, floor, truncated
        self.added = 0
        self.revision = 0


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # the caches
        self.compute_lock = threading.Lock()  # the live aggregate: one reader/writer at a time
        self.definitions = Definitions()
        self.live: _Live | None = None
        self.services: dict[str, tuple[Any, ServiceView]] = {}
        self.predictions: OrderedDict[Any, dict[str, Any]] = OrderedDict()


def _state(app: Flask) -> _State:
    state = app.extensions.get(EXTENSION)
    if state is None:
        state = app.extensions.setdefault(EXTENSION, _State())
    return state


def latest_model() -> ModelState | None:
    return db.session.scalars(db.select(ModelState).filter_by(component=COMPONENT)
                              .order_by(ModelState.trained_at.desc(), ModelState.id.desc())
                              .limit(1)).first()


def _refresh(state: _State) -> _Live:
    """The live aggregate (call with ``compute_lock`` held): built from the newest
    :data:`GLOBAL_LIMIT` finished executions, then only executions finished since are read
    (rebuilt after as many new ones, so old history ages out; a rebuild costs about a
    second per 2,000 executions, paid once per 2,000)."""
    live = state.live
    if live is None or live.added > GLOBAL_LIMIT:
        records = history.executions(None, limit=GLOBAL_LIMIT)
        revision = live.revision + 1 if live else 0
        live = _Live(aggregate(records, state.definitions), {r.id for r in records},
                     min((r.id for r in records), default=0), len(records) >= GLOBAL_LIMIT)
        live.revision = revision
        state.live = live
        return live
    ids = db.session.scalars(db.select(Execution.id).where(
        Execution.status.in_(history.FINISHED), Execution.id >= live.floor)).all()
    new = [i for i in ids if i not in live.seen]
    if new:
        for ex in sorted(history.executions(ids=new, limit=len(new)), key=lambda r: r.id):
            add_execution(live.agg, ex, state.definitions)
        live.seen.update(new)
        live.added += len(new)
        live.revision += 1
    return live


def _live_services(app: Flask, names: set[str]) -> dict[str, ServiceView]:
    """Each service's view over the last hour, re-read at most once a minute."""
    state = _state(app)
    minute = utcnow().replace(second=0, microsecond=0)
    out = {}
    for name in sorted(names):
        with state.lock:
            cached = state.services.get(name)
        if cached is not None and cached[0] == minute:
            out[name] = cached[1]
            continue
        view = service_view(name)
        with state.lock:
            state.services[name] = (minute, view)
        out[name] = view
    return out


def predict(target: int | dict[str, Any], app: Flask | None = None) -> dict[str, Any]:
    """The prediction for a workflow (its id) or an unsaved, validated definition."""
    app = app or current_app
    cfg = models_config(app)
    min_history = int(cfg["min_history"])
    model = latest_model()
    params = Params.of(model.params if model else None, min_history)
    if isinstance(target, dict):
        definition, workflow_id, version = target, None, None
    else:
        workflow = db.session.get(Workflow, target)
        if workflow is None or workflow.deleted_at is not None:
            raise LookupError(f"no workflow {target}")
        workflow_id, version = workflow.id, workflow.version
        definition = _state(app).definitions.get(workflow_id, version)
    names = {s["service"] for s in definition["steps"]
             if s["type"] in ("action", "notification") and s.get("service")}
    services = _live_services(app, names)
    state = _state(app)
    with state.compute_lock:
        live = _refresh(state)
        minute = utcnow().replace(second=0, microsecond=0)
        cache_key = (workflow_id, version, live.revision, id(live), minute,
                     model.id if model else None) if workflow_id is not None else None
        if cache_key is not None:
            with state.lock:
                hit = state.predictions.get(cache_key)
            if hit is not None:
                return hit
        agg = live.agg
        if workflow_id is not None and live.truncated and \
                agg.executions.get(workflow_id, 0) < OWN_LIMIT:
            agg = _with_own(agg, workflow_id, state.definitions)
        out = compute(definition, workflow_id, version, agg, services, params, min_history)
    out["model"]["trained_at"] = isoformat(model.trained_at) if model else None
    out["model"]["model_state_id"] = model.id if model else None
    if cache_key is not None:
        with state.lock:
            state.predictions[cache_key] = out
            while len(state.predictions) > _CACHE_SIZE:
                state.predictions.popitem(last=False)
    return out


def _with_own(agg: Aggregate, workflow_id: int, definitions: Definitions) -> Aggregate:
    """The live aggregate holds the newest executions of all workflows; a workflow with runs
    older than those gets its own newest :data:`OWN_LIMIT` instead."""
    own = aggregate(history.executions(workflow_id, limit=OWN_LIMIT), definitions)
    merged = Aggregate({k: v for k, v in agg.by_key.items() if k[1] != workflow_id},
                       {k: v for k, v in agg.by_step.items() if k[0] != workflow_id},
                       dict(agg.outcomes), dict(agg.executions), dict(agg.gaps), agg.latest)
    merged.by_key.update(own.by_key)
    merged.by_step.update(own.by_step)
    merged.outcomes.update(own.outcomes)
    merged.executions[workflow_id] = own.executions.get(workflow_id, 0)
    merged.gaps[workflow_id] = own.gaps.get(workflow_id, [])
    return merged


def safe_predict(workflow_id: int) -> dict[str, Any] | None:
    """For ``GET /api/v2/ai-workflows/{id}``: the prediction, or None (logged) if it cannot be
    made, so the workflow itself is always served."""
    try:
        return predict(workflow_id)
    except Exception:
        logger.exception("prediction for workflow %s failed", workflow_id)
        return None


# -- training and evaluation --------------------------------------------------------------------


def _brier(pairs: list[tuple[float, int]]) -> float | None:
    return float(np.mean([(p - y) ** 2 for p, y in pairs])) if pairs else None


def calibration_error(pairs: list[tuple[float, int]], bins: int = 10) -> float | None:
    """Expected calibration error: per bin of predicted probability, |mean prediction -
    observed rate|, weighted by the bin's share."""
    if not pairs:
        return None
    p = np.asarray([a for a, _ in pairs])
    y = np.asarray([b for _, b in pairs], dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    err = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            err += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(err)


def _split(records: list[history.ExecutionRecord], share: float
           ) -> tuple[list[history.ExecutionRecord], list[history.ExecutionRecord]]:
    ordered = sorted(records, key=lambda r: (r.created_at, r.id))
    cut = int(round(len(ordered) * (1 - share)))
    return ordered[:cut], ordered[cut:]


def _services_at(records: list[history.ExecutionRecord], definitions: Definitions,
                 at: datetime | None) -> dict[str, ServiceView]:
    names = set()
    for wf, v in {(r.workflow_id, r.version) for r in records}:
        d = definitions.get(wf, v) or {"steps": []}
        names |= {s["service"] for s in d["steps"]
                  if s["type"] in ("action", "notification") and s.get("service")}
    return {n: service_view(n, at=at) for n in sorted(names)}


def _score(train_part: list[history.ExecutionRecord], test_part: list[history.ExecutionRecord],
           definitions: Definitions, params: Params, min_history: int,
           services: dict[str, ServiceView], durations: bool = False,
           agg: Aggregate | None = None) -> dict[str, Any]:
    """Predict each held-back execution from the earlier part only, and score it."""
    agg = agg or aggregate(train_part, definitions)
    base = [1 if r.status == "succeeded" else 0 for r in train_part if r.status != "cancelled"]
    base_rate = float(np.mean(base)) if base else 0.5
    by_wf: dict[tuple[int, int], list[history.ExecutionRecord]] = {}
    for r in test_part:
        if r.status in ("succeeded", "failed"):
            by_wf.setdefault((r.workflow_id, r.version), []).append(r)
    trained_durations: dict[tuple[int, int], list[float]] = {}
    for r in train_part:
        if r.duration_ms is not None and r.status in ("succeeded", "failed"):
            trained_durations.setdefault((r.workflow_id, r.version), []).append(r.duration_ms)
    pairs, base_pairs, own_pairs = [], [], []
    per_workflow = []
    rel_errors = []
    for (wf, v), rows in sorted(by_wf.items()):
        definition = definitions.get(wf, v)
        if definition is None:
            continue
        pred = compute(definition, wf, v, agg, services, params, min_history, durations)
        ok, n = agg.outcomes.get((wf, v), [0, 0])
        own_rate = ok / n if n else base_rate
        ys = [1 if r.status == "succeeded" else 0 for r in rows]
        mine = [(pred["success_rate"], y) for y in ys]
        pairs += mine
        base_pairs += [(base_rate, y) for y in ys]
        own_pairs += [(own_rate, y) for y in ys]
        item = {"workflow_id": wf, "version": v, "held_back": len(rows), "trained_on": n,
                "observed_success_rate": round(float(np.mean(ys)), 4),
                "predicted_success_rate": pred["success_rate"],
                "brier": round(_brier(mine), 5),
                "base_rate_brier": round(_brier([(base_rate, y) for y in ys]), 5),
                "own_rate_brier": round(_brier([(own_rate, y) for y in ys]), 5)}
        if durations:
            actual = [r.duration_ms for r in rows if r.duration_ms is not None]
            if actual:
                observed = float(np.median(actual))
                predicted = pred["duration_ms"]["p50"]
                err = abs(predicted - observed) / observed if observed > 0 else 0.0
                rel_errors.append(err)
                item.update({"predicted_p50_ms": predicted,
                             "predicted_p90_ms": pred["duration_ms"]["p90"],
                             "observed_median_ms": round(observed, 1),
                             "observed_p90_ms": round(float(np.percentile(actual, 90)), 1),
                             "trained_median_ms": round(float(np.median(
                                 trained_durations[(wf, v)])), 1)
                             if trained_durations.get((wf, v)) else None,
                             "p50_relative_error": round(err, 4)})
        per_workflow.append(item)
    out = {"brier": _brier(pairs), "base_rate_brier": _brier(base_pairs),
           "own_rate_brier": _brier(own_pairs), "calibration_error": calibration_error(pairs),
           "base_rate": base_rate, "scored": len(pairs), "per_workflow": per_workflow}
    if durations:
        out["duration_median_relative_error"] = float(np.median(rel_errors)) if rel_errors else None
    return out


def fit(records: list[history.ExecutionRecord], definitions: Definitions, min_history: int,
        services: dict[str, ServiceView]) -> Params:
    """Fit the prior strengths on ``records`` alone (its older 80% predicts its newer 20%),
    and the base rates and engine overhead on all of it."""
    agg = aggregate(records, definitions)
    base = {**BASE_ATTEMPT_FAILURE, **agg.type_rates()}
    gap = agg.gap_ms()
    best = (None, 10.0, float(max(1, min_history)))
    inner_train, inner_test = _split(records, HELD_BACK)
    if inner_train and inner_test:
        inner_agg = aggregate(inner_train, definitions)
        for ks in KAPPA_STEP_GRID:
            for factor in KAPPA_WF_FACTORS:
                kw = max(1.0, factor * min_history)
                params = Params(ks, kw, gap or DEFAULT_GAP_MS, base)
                score = _score(inner_train, inner_test, definitions, params, min_history,
                               services, agg=inner_agg)["brier"]
                if score is not None and (best[0] is None or score < best[0] - 1e-12):
                    best = (score, ks, kw)
    return Params(best[1], best[2], gap if gap is not None else DEFAULT_GAP_MS, base)


def train(app: Flask | None = None) -> ModelState:
    """Fit the model on history with the newest 20% (by time) held back, score it on that part,
    and store the result as the live :class:`ModelState`."""
    app = app or current_app
    min_history = int(models_config(app)["min_history"])
    definitions = _state(app).definitions
    records = [r for r in history.executions(None, limit=TRAIN_LIMIT)
               if r.status in ("succeeded", "failed")]
    train_part, held = _split(records, HELD_BACK)
    split_at = held[0].created_at if held else None
    services = _services_at(records, definitions, split_at)
    params = fit(train_part, definitions, min_history, services)
    metrics: dict[str, Any] = {"brier": None, "base_rate_brier": None, "own_rate_brier": None,
                               "calibration_error": None, "duration_median_relative_error": None}
    if train_part and held:
        scored = _score(train_part, held, definitions, params, min_history, services,
                        durations=True)
        metrics.update({k: scored[k] for k in metrics})
        metrics.update({"base_rate": scored["base_rate"], "scored": scored["scored"],
                        "per_workflow": scored["per_workflow"][:50],
                        "split_at": isoformat(split_at)})
    else:
        metrics["note"] = (f"{len(records)} finished executions: too few to hold any back "
                           "for evaluation")
    # The live parameters: strengths fitted above; base rates and overhead from all history.
    full = aggregate(records, definitions)
    base = {**BASE_ATTEMPT_FAILURE, **full.type_rates()}
    rates = {}
    for (key, _wf), tally in full.by_key.items():
        acc = rates.setdefault(key, {"attempts": 0, "failed": 0})
        acc["attempts"] += tally.attempts
        acc["failed"] += tally.failed
    for acc in rates.values():
        acc["rate"] = round(acc["failed"] / acc["attempts"], 4) if acc["attempts"] else None
    state = ModelState(
        component=COMPONENT, version=f"{MODEL_VERSION}+{utcnow():%Y%m%d%H%M%S}",
        samples=len(train_part), held_back=len(held), metrics=_round(metrics),
        params={"kappa_step": params.kappa_step, "kappa_wf": params.kappa_wf,
                "gap_ms": full.gap_ms() if full.gap_ms() is not None else params.gap_ms,
                "base": base, "rates": dict(list(sorted(rates.items()))[:500]),
                "workflows": len(full.executions), "executions": len(records)})
    db.session.add(state)
    db.session.commit()
    logger.info("prediction model trained on %s executions (%s held back): brier %s vs %s",
                len(train_part), len(held), metrics.get("brier"), metrics.get("base_rate_brier"))
    return state


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def present_state(state: ModelState) -> dict[str, Any]:
    return {"id": state.id, "component": state.component, "version": state.version,
            "trained_at": isoformat(state.trained_at), "samples": state.samples,
            "held_back": state.held_back, "metrics": state.metrics,
            "params": {k: v for k, v in (state.params or {}).items() if k != "rates"},
            "rates": (state.params or {}).get("rates", {})}


def status(app: Flask) -> dict[str, Any]:
    """For ``GET /workflows/enhanced/status``."""
    with app.app_context():
        state = latest_model()
        if state is None:
            executions = db.session.scalar(db.select(db.func.count()).select_from(Execution)
                                           .where(Execution.status.in_(("succeeded", "failed"))))
            return {"model": MODEL, "version": MODEL_VERSION, "trained_at": None,
                    "trained_on": {"executions": 0}, "evaluation": None,
                    "details": {"state": "not trained yet: predictions use the default prior "
                                         "strengths until the first training",
                                "finished_executions_available": executions,
                                "retrain_interval_s": models_config(app)["retrain_interval_s"]}}
        m = state.metrics or {}
        return {"model": MODEL, "version": state.version,
                "trained_at": isoformat(state.trained_at),
                "trained_on": {"executions": state.samples, "held_back": state.held_back,
                               "workflows": (state.params or {}).get("workflows")},
                "evaluation": {k: m.get(k) for k in
                               ("brier", "base_rate_brier", "own_rate_brier",
                                "calibration_error", "duration_median_relative_error",
                                "scored", "note") if k in m},
                "details": {"kappa_step": state.params.get("kappa_step"),
                            "kappa_wf": state.params.get("kappa_wf"),
                            "gap_ms": state.params.get("gap_ms"),
                            "retrain_interval_s": models_config(app)["retrain_interval_s"]}}


# -- the schedule -------------------------------------------------------------------------------


def prediction_jobs(app: Flask) -> list[Any]:
    """A scheduler provider (``SCHEDULER_PROVIDERS``): retrain every ``retrain_interval_s``."""
    from atom.scheduler import JobSpec

    interval = float(models_config(app)["retrain_interval_s"])
    if interval <= 0:
        return []
    return [JobSpec("intelligence:prediction:retrain", scheduled_train, "interval",
                    {"seconds": interval}, {"app": app})]


def scheduled_train(app: Flask) -> None:
    from atom.intelligence import enabled

    try:
        with app.app_context():
            if enabled(COMPONENT, app):
                train(app)
    except Exception:  # never let one bad training take the job down
        logger.exception("scheduled training of the prediction model failed")
