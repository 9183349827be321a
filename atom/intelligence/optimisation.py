"""Optimisation findings: what to change in a workflow, read from its graph and its history,
each finding citing the data it came from, and the new version that applies the chosen ones.

:func:`analyze` looks at a definition (and, for a saved workflow, at the recent executions of
its current version and the health of the services it calls) and returns :class:`Finding`s:

* ``parallelise``: ``depends_on`` edges no data flows through (no template, expression or
  ``when`` of the step, nor of a step after it, reads an output only the edge brings in;
  conditions, steps with ``when``, waits and error handlers keep their edges);
* ``add_retry``: steps whose attempts failed with a transient class (timeout, upstream,
  rate_limited) and that have no retry policy; for a definition without history, every action
  without one (lower confidence);
* ``add_timeout`` / ``raise_timeout``: action steps without ``timeout_s``, or whose
  ``timeout_s`` is below their observed p99 (the new one is p99 x 1.5);
* ``cache``: the same read (service, read-only action, connection, parameters) in several
  steps: the first one's output is reused;
* ``batch``: several single writes of the same service and action (needs a person);
* ``event_trigger``: a schedule, or a wait, followed by a read of a service that delivers an
  event for it (needs a person);
* ``degrading_service``: steps calling a service whose health is degraded or unhealthy.

Nothing here is a trained model: the findings are rules over the graph and counted figures,
so each one names the steps, executions and figures it rests on. :func:`apply` writes a new
version with the chosen findings and stores an :class:`OptimisationApplication` whose
baseline is later compared with the executions of the new version (:func:`measured`).
"""
from __future__ import annotations

import copy
import graphlib
import hashlib
import json
import math
import re
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from typing import Any
from typing import Iterable

from flask import Flask
from flask import current_app

from atom.engine.definition import error_policy
from atom.engine.definition import every_step
from atom.engine.definition import run_path
from atom.engine.definition import DefinitionError
from atom.engine.definition import _expressions
from atom.engine.expressions import ExpressionError
from atom.engine.expressions import compile_expression
from atom.engine.references import closure
from atom.engine.references import output_paths
from atom.engine.references import predecessors
from atom.extensions import db
from atom.intelligence import history
from atom.intelligence import models_config
from atom.integrations.registry import UnknownPlugin
from atom.models import Workflow
from atom.models.base import isoformat
from atom.models.intelligence import OptimisationApplication

VERSION = "optimisation-rules-1"
STRATEGIES = ("performance", "cost", "reliability", "hybrid")
TRANSIENT = ("timeout", "upstream", "rate_limited")
# Which strategies each kind serves: performance (latency), cost (fewer calls), reliability.
RELEVANCE = {
    "parallelise": ("performance",),
    "cache": ("cost", "performance"),
    "batch": ("cost",),
    "event_trigger": ("cost", "performance"),
    "add_retry": ("reliability",),
    "add_timeout": ("reliability",),
    "raise_timeout": ("reliability",),
    "degrading_service": ("reliability",),
}
KINDS = tuple(RELEVANCE)
RELIABILITY_KINDS = ("add_retry", "add_timeout", "raise_timeout")
# The retry policy a finding adds: three attempts, 2 s then 4 s apart.
RETRY_POLICY = {"max_attempts": 3, "delay_s": 2.0, "backoff": 2.0}
# A step without history and without timeout_s gets this bound (s): long enough for any
# ordinary call, short enough that a hung connection does not hold the execution for ever.
DEFAULT_TIMEOUT_S = 60.0
TIMEOUT_FACTOR = 1.5  # a timeout is the step's p99 x 1.5
MAX_TIMEOUT_S = 86_400.0  # the most a definition allows
BATCH_MIN = 3  # this many single writes of one service and action make a batch finding
HISTORY_LIMIT = 200  # the most recent executions read
BATCH_WORDS = ("batch", "bulk")


class OptimisationError(Exception):
    """Refused: ``status`` (404, 409, 422), a message and the fields at fault."""

    def __init__(self, status: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}


@dataclass
class Finding:
    id: str
    kind: str
    steps: list[str]
    title: str
    evidence: dict[str, Any]
    effect: str
    confidence: float
    safe: bool
    change: dict[str, Any]
    strategy: list[str] = field(default_factory=list)
    impact: float = 0.0  # 0..1, how much it changes the figure it is about
    needs_person: str | None = None  # why it cannot be applied automatically

    @property
    def score(self) -> float:
        return round(self.impact * self.confidence, 4)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["confidence"] = round(self.confidence, 3)
        out["impact"] = round(self.impact, 4)
        out["score"] = self.score
        return out


def finding_id(kind: str, steps: Iterable[str]) -> str:
    """Stable: the same kind over the same steps has the same id on every analysis."""
    return hashlib.sha1(f"{kind}:{','.join(sorted(steps))}".encode()).hexdigest()[:12]


# -- the data a finding rests on -------------------------------------------------------------------


@dataclass
class Context:
    definition: dict[str, Any]
    steps: dict[str, dict[str, Any]]
    records: list[history.ExecutionRecord]
    stats: dict[str, history.StepStats]
    registry: Any
    min_history: int
    workflow_id: int | None = None
    version: int | None = None
    use_health: bool = True

    @property
    def runs(self) -> int:
        return len(self.records)

    def each_step(self) -> list[tuple[str, dict[str, Any]]]:
        """The top-level steps and a foreach's inner ones by path (``loop[*].call``, as their
        stats are keyed): retries and timeouts are offered for a loop's body too."""
        return list(every_step(self.definition["steps"]))

    def action(self, step: dict[str, Any]) -> Any:
        if step.get("type") not in ("action", "notification") or not step.get("service"):
            return None
        try:
            manifest = self.registry.get(step["service"]).manifest
        except UnknownPlugin:
            return None
        return manifest.action(step.get("action") or "") if step["type"] == "action" else None

    def manifest(self, service: str) -> Any:
        try:
            return self.registry.get(service).manifest
        except UnknownPlugin:
            return None

    def history_weight(self, runs: int | None = None) -> float:
        """0..1: how much history there is, against ``min_history``."""
        n = self.runs if runs is None else runs
        return min(1.0, n / max(1, self.min_history))

    def p50(self, sid: str) -> float | None:
        st = self.stats.get(sid)
        return st.p(50) if st and st.durations else None


def _registry(app: Flask) -> Any:
    from atom.state import get_state

    return get_state(app).registry


def analyze(definition: dict[str, Any], workflow_id: int | None = None, strategy: str = "hybrid",
            *, version: int | None = None, use_history: bool = True,
            app: Flask | None = None) -> list[Finding]:
    """The findings for ``definition`` (normalised, as validation returns it), ranked for
    ``strategy``. With ``workflow_id``, the executions of ``version`` (default: the workflow's
    current version) and the health of its services are read too."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    app = app or current_app
    config = models_config(app)
    records: list[history.ExecutionRecord] = []
    if workflow_id is not None and use_history:
        if version is None:
            workflow = db.session.get(Workflow, workflow_id)
            version = workflow.version if workflow else None
        records = history.executions(workflow_id, version=version, limit=HISTORY_LIMIT)
    ctx = Context(definition, {s["id"]: s for s in definition["steps"]}, records,
                  history.step_stats(records), _registry(app), int(config["min_history"]),
                  workflow_id, version, use_health=use_history)
    found: list[Finding] = []
    for detect in (_parallelise, _retries, _timeouts, _cache, _batch, _event_trigger,
                   _degrading):
        found += detect(ctx)
    found = [f for f in found if _applies_cleanly(f, ctx)]
    return rank(found, strategy)


def rank(findings: list[Finding], strategy: str) -> list[Finding]:
    """``hybrid``: every finding by effect x confidence; another strategy: only the kinds that
    serve it, in the same order."""
    chosen = [f for f in findings if strategy == "hybrid" or strategy in f.strategy]
    return sorted(chosen, key=lambda f: (-f.score, -f.confidence, f.kind, f.id))


def summary(findings: list[Finding], ctx_runs: int | None = None) -> dict[str, Any]:
    by_kind: dict[str, int] = {}
    for f in findings:
        by_kind[f.kind] = by_kind.get(f.kind, 0) + 1
    return {"findings": len(findings), "safe": sum(f.safe for f in findings),
            "auto_applicable": sum(
                f.safe and f.confidence >= models_config()["auto_apply_threshold"]
                for f in findings),
            "by_kind": by_kind, "executions_analysed": ctx_runs or 0,
            "auto_apply_threshold": models_config()["auto_apply_threshold"]}


# -- parallelise -----------------------------------------------------------------------------------


def references(step: dict[str, Any]) -> set[str]:
    """The steps whose output (or status) ``step`` reads in any template or expression."""
    out: set[str] = set()
    for _where, text in _expressions(step):
        try:
            parsed = compile_expression(text).parsed
        except ExpressionError:
            continue
        out.update(sid for sid, _path in output_paths(parsed))
    return out


def _gate(step: dict[str, Any]) -> str | None:
    """Why the steps after ``step`` must stay after it, whatever data they read."""
    if step["type"] == "condition":
        return "a condition: the steps after it run only when it is true"
    if step["type"] == "wait":
        return "a wait: the steps after it are meant to wait"
    if step.get("when"):
        return "it has a when: when it is skipped, the steps after it are skipped too"
    return None


def _critical_path(steps: list[dict[str, Any]], direct: dict[str, set[str]],
                   weight: dict[str, float]) -> tuple[float, list[str]]:
    order = graphlib.TopologicalSorter(direct).static_order()
    best: dict[str, tuple[float, list[str]]] = {}
    for sid in order:
        prev = max((best[d] for d in direct.get(sid, ()) if d in best),
                   key=lambda x: x[0], default=(0.0, []))
        best[sid] = (prev[0] + weight.get(sid, 0.0), [*prev[1], sid])
    return max(best.values(), key=lambda x: x[0], default=(0.0, []))


def _weights(ctx: Context) -> dict[str, float]:
    """A step's typical time on the critical path: its p50 over the history, a wait's
    seconds, 0 where nothing is known (and for handlers, which run only on a failure)."""
    out: dict[str, float] = {}
    for sid, step in ctx.steps.items():
        p50 = ctx.p50(sid)
        if p50 is not None:
            out[sid] = p50
        elif step["type"] == "wait" and step.get("seconds") is not None:
            out[sid] = float(step["seconds"]) * 1000.0
    return out


def _parallelise(ctx: Context) -> list[Finding]:
    steps = ctx.definition["steps"]
    handlers = {error_policy(s)[1] for s in steps if error_policy(s)[1] in ctx.steps}
    direct = predecessors(steps)
    before = closure(direct)
    reads = {sid: references(s) for sid, s in ctx.steps.items()}
    gates = {sid: _gate(s) for sid, s in ctx.steps.items()}
    # What each step must keep running after: the steps it reads and every gate before it.
    required = {sid: ({r for r in reads[sid] if r in ctx.steps}
                      | {a for a in before[sid] if gates[a]})
                for sid in ctx.steps}
    removed: list[tuple[str, str]] = []
    kept: dict[str, str] = {}
    current = {sid: set(d) for sid, d in direct.items()}
    # Ancestor sets as bits over one topological order (still one after removing edges), so
    # trying each edge costs one pass over the graph.
    order = list(graphlib.TopologicalSorter(direct).static_order())
    bit = {sid: 1 << i for i, sid in enumerate(order)}
    need = {sid: sum(bit[r] for r in required[sid]) for sid in order}

    def missing(preds: dict[str, set[str]]) -> tuple[str, list[str]] | None:
        anc: dict[str, int] = {}
        for sid in order:
            bits = 0
            for p in preds[sid]:
                bits |= anc[p] | bit[p]
            anc[sid] = bits
            if need[sid] & ~bits:
                return sid, sorted(r for r in required[sid] if not bit[r] & bits)
        return None

    for step in steps:
        sid = step["id"]
        if sid in handlers:
            for dep in step.get("depends_on") or ():
                kept[f"{sid}<-{dep}"] = "an error handler keeps its edges"
            continue
        for dep in list(step.get("depends_on") or ()):
            if dep in reads[sid]:
                kept[f"{sid}<-{dep}"] = f"{sid} reads steps.{dep}"
                continue
            if gates.get(dep):
                kept[f"{sid}<-{dep}"] = f"{dep} is {gates[dep]}"
                continue
            current[sid].discard(dep)
            broken = missing(current)
            if broken:
                current[sid].add(dep)
                who, what = broken
                kept[f"{sid}<-{dep}"] = (f"{who} needs {', '.join(what)} to run before it, "
                                         f"through this edge")
                continue
            removed.append((sid, dep))
    if not removed:
        return []
    weights = _weights(ctx)
    # without history, each step counts one (the critical path in steps)
    timing = weights or {sid: 1.0 for sid in ctx.steps}
    before_ms, path_before = _critical_path(steps, direct, timing)
    after_ms, path_after = _critical_path(steps, current, timing)
    involved = sorted({s for edge in removed for s in edge})
    measured = [r.duration_ms for r in ctx.records if r.duration_ms is not None]
    evidence: dict[str, Any] = {
        "edges_removed": [{"step": s, "depends_on": d} for s, d in removed],
        "edges_kept": kept,
        "reads": {sid: sorted(r) for sid, r in reads.items() if r},
        "critical_path_before": path_before, "critical_path_after": path_after,
        "step_p50_ms": {sid: round(w, 1) for sid, w in weights.items()},
        "executions": len(ctx.records),
        "execution_ids": [r.id for r in ctx.records[:20]],
    }
    if measured:
        evidence["measured_p50_ms"] = round(history.percentile(measured, 50), 1)
    if weights and before_ms > 0:
        effect = (f"p50 -{before_ms - after_ms:.0f} ms (from {before_ms:.0f} to {after_ms:.0f} "
                  f"ms: the critical path over the last {len(ctx.records)} runs)")
        impact = (before_ms - after_ms) / before_ms
    else:
        effect = (f"critical path from {len(path_before)} to {len(path_after)} steps "
                  f"(no history yet to time it)")
        impact = 1 - len(path_after) / max(1, len(path_before))
    # Two writes to the same service that now overlap may depend on their order in a way
    # no template shows (create, then update by a known key): a person decides those.
    writes = [(s, d) for s, d in removed
              if _is_write(ctx, ctx.steps[s]) and _is_write(ctx, ctx.steps[d])
              and ctx.steps[s].get("service") == ctx.steps[d].get("service")]
    safe = not writes
    confidence = min(0.95, 0.85 + 0.10 * ctx.history_weight()) if safe else 0.6
    return [Finding(
        finding_id("parallelise", involved), "parallelise", involved,
        f"Run {len(removed)} dependent step pair(s) in parallel: no data flows through "
        + ", ".join(f"{s} -> {d}" for s, d in removed),
        evidence, effect, confidence, safe,
        {"op": "remove_dependencies", "edges": [{"step": s, "depends_on": d} for s, d in removed]},
        list(RELEVANCE["parallelise"]), max(0.0, min(1.0, impact)),
        None if safe else ("writes to the same service would overlap: "
                           + ", ".join(f"{s} and {d}" for s, d in writes)
                           + "; their order may matter in a way no template shows"))]


def _is_write(ctx: Context, step: dict[str, Any]) -> bool:
    if step["type"] == "notification":
        return True
    if step["type"] != "action":
        return False
    action = ctx.action(step)
    return not (action is not None and action.read_only)


# -- retries and timeouts --------------------------------------------------------------------------


def _has_retry(step: dict[str, Any]) -> bool:
    return int((step.get("retry") or {}).get("max_attempts", 1)) > 1


def _failing_executions(ctx: Context, sid: str, classes: Iterable[str]) -> list[int]:
    wanted = set(classes)
    return [r.id for r in ctx.records if any(
        run_path(run_id) == sid and a.status == "failed" and (a.error_class or "unknown") in wanted
        for run_id, step in r.steps.items() for a in step.attempts)]


def _retries(ctx: Context) -> list[Finding]:
    out = []
    for sid, step in ctx.each_step():
        if step["type"] not in ("action", "notification") or _has_retry(step):
            continue
        action = ctx.action(step)
        idempotent = action is not None and (action.idempotent or action.read_only)
        st = ctx.stats.get(sid)
        transient = {c: n for c, n in (st.error_classes if st else {}).items() if c in TRANSIENT}
        if st and st.runs and transient:
            failed_attempts = sum(transient.values())
            rate = failed_attempts / max(1, st.attempts)
            all_failed = sum(st.error_classes.values())
            clarity = failed_attempts / max(1, all_failed)
            n = RETRY_POLICY["max_attempts"]
            # a run fails now when its one attempt fails transiently; with n attempts, when all do
            gain = (rate - rate ** n) * 100
            ids = _failing_executions(ctx, sid, transient)
            confidence = min(0.95, 0.45 + 0.5 * ctx.history_weight(st.runs) * clarity)
            if not idempotent:
                confidence = min(confidence, 0.8)
            evidence = {"runs": st.runs, "attempts": st.attempts,
                        "failed_attempts": st.failed_attempts, "transient": transient,
                        "error_classes": dict(st.error_classes),
                        "transient_attempt_failure_rate": round(rate, 4),
                        "failed_execution_ids": ids[:20], "retry": step.get("retry"),
                        "idempotent": idempotent}
            effect = (f"success +{gain:.1f} pp (a run fails transiently {rate:.1%} of the time "
                      f"over {st.runs} runs; with {n} attempts about {rate ** n:.2%}, if "
                      f"failures are independent)")
            impact = min(1.0, gain / 100 * 5)
            title = (f"Retry {sid} with backoff: {failed_attempts} of its {st.attempts} attempts "
                     f"failed with {', '.join(sorted(transient))}")
        elif step["type"] == "action" and not ctx.records:
            evidence = {"runs": 0, "retry": step.get("retry"), "idempotent": idempotent,
                        "service": step.get("service"), "action": step.get("action")}
            effect = ("success: transient failures (timeout, upstream, rate_limited) are retried "
                      "up to 3 times; no history yet to measure how often they happen")
            confidence = 0.7 if idempotent else 0.55
            impact = 0.05
            title = f"Give {sid} a retry policy with backoff (it has none)"
        else:
            continue
        if not idempotent:
            evidence["note"] = (f"{step.get('service')}.{step.get('action')} is not idempotent: "
                                "a timed-out attempt may have been applied before it is retried")
        out.append(Finding(finding_id("add_retry", [sid]), "add_retry", [sid], title, evidence,
                           effect, confidence, True,
                           {"op": "set_retry", "step": sid, "retry": dict(RETRY_POLICY)},
                           list(RELEVANCE["add_retry"]), impact))
    return out


def _timeout_from(p99_ms: float) -> float:
    seconds = min(p99_ms * TIMEOUT_FACTOR / 1000.0, MAX_TIMEOUT_S)
    return round(max(seconds, 0.1), 1) if seconds < 10 else float(math.ceil(seconds))


def _timeouts(ctx: Context) -> list[Finding]:
    out = []
    for sid, step in ctx.each_step():
        if step["type"] != "action":
            continue
        st = ctx.stats.get(sid)
        p99 = st.p(99) if st and st.durations else None
        current = step.get("timeout_s")
        timed_out = (st.error_classes.get("timeout", 0) if st else 0)
        if current is None:
            if p99 is not None:
                new = _timeout_from(p99)
                evidence = {"runs": st.runs, "p99_ms": round(p99, 1), "p50_ms": round(st.p(50), 1),
                            "max_ms": round(max(st.durations), 1), "timeout_s": None,
                            "execution_ids": st.execution_ids[:20]}
                effect = (f"a hung call ends after {new:g} s instead of holding the execution "
                          f"(p99 {p99:.0f} ms x {TIMEOUT_FACTOR} over {st.runs} runs)")
                confidence = min(0.95, 0.6 + 0.35 * ctx.history_weight(st.runs))
            else:
                new = DEFAULT_TIMEOUT_S
                evidence = {"runs": 0, "timeout_s": None, "service": step.get("service"),
                            "action": step.get("action")}
                effect = (f"a hung call ends after {new:g} s (no history yet for a p99; the "
                          f"default bound)")
                confidence = 0.6
            out.append(Finding(finding_id("add_timeout", [sid]), "add_timeout", [sid],
                               f"Give {sid} a timeout of {new:g} s (it has none)", evidence,
                               effect, confidence, True,
                               {"op": "set_timeout", "step": sid, "timeout_s": new},
                               list(RELEVANCE["add_timeout"]), 0.1))
        elif p99 is not None and (float(current) * 1000.0 < p99 or timed_out):
            limit_ms = float(current) * 1000.0
            # A timed-out attempt lasted at least the timeout: the durations are cut off there,
            # so the p99 the step needs is at least the timeout itself.
            censored = bool(timed_out) and p99 <= limit_ms * 1.05
            basis = max(p99, limit_ms) if timed_out else p99
            new = _timeout_from(basis)
            if new <= float(current):
                continue
            over = sum(1 for d in st.durations if d > limit_ms)
            evidence = {"runs": st.runs, "timeout_s": current, "p99_ms": round(p99, 1),
                        "p50_ms": round(st.p(50), 1), "runs_over_timeout": over,
                        "timeout_attempts": timed_out, "censored_at_timeout": censored,
                        "failed_execution_ids": _failing_executions(ctx, sid, ["timeout"])[:20]}
            share = (timed_out + over) / max(1, st.attempts)
            why = (f"{timed_out} of its {st.attempts} attempts timed out at {current:g} s, so "
                   f"its durations stop there (p99 {p99:.0f} ms)" if censored else
                   f"timeout {current:g} s is below the p99 of {p99:.0f} ms; {timed_out} "
                   f"attempt(s) timed out over {st.runs} runs")
            effect = (f"success +{min(share, 1) * 100:.1f} pp ({why}; new timeout {new:g} s = "
                      f"{'the timeout' if censored else 'p99'} x {TIMEOUT_FACTOR})")
            confidence = min(0.95, 0.6 + 0.35 * ctx.history_weight(st.runs))
            if censored:
                confidence = min(confidence, 0.8)  # how long the calls really take is unknown
            out.append(Finding(finding_id("raise_timeout", [sid]), "raise_timeout", [sid],
                               f"Raise {sid}'s timeout from {current:g} s to {new:g} s",
                               evidence, effect, confidence, True,
                               {"op": "set_timeout", "step": sid, "timeout_s": new},
                               list(RELEVANCE["raise_timeout"]), min(1.0, share * 5)))
    return out


# -- cache and batch -------------------------------------------------------------------------------


def _signature(step: dict[str, Any]) -> str:
    return json.dumps([step.get("service"), step.get("action"), step.get("connection"),
                       step.get("parameters") or {}], sort_keys=True, default=str)


def _topological(steps: list[dict[str, Any]]) -> list[str]:
    return list(graphlib.TopologicalSorter(predecessors(steps)).static_order())


def _cache(ctx: Context) -> list[Finding]:
    groups: dict[str, list[str]] = {}
    for sid in _topological(ctx.definition["steps"]):
        step = ctx.steps[sid]
        action = ctx.action(step)
        if step["type"] != "action" or action is None or not action.read_only:
            continue
        if step.get("when") or error_policy(step) != ("fail", None):
            continue  # a read that runs only sometimes, or hands its failure on, is not the same
        groups.setdefault(_signature(step), []).append(sid)
    out = []
    for signature, sids in groups.items():
        if len(sids) < 2:
            continue
        first, dups = sids[0], sids[1:]
        step = ctx.steps[first]
        saved = [ctx.p50(d) for d in dups]
        known = [s for s in saved if s is not None]
        evidence = {"service": step["service"], "action": step["action"],
                    "connection": step.get("connection"), "parameters": step.get("parameters"),
                    "steps": sids, "executions": len(ctx.records),
                    "duplicate_p50_ms": {d: round(s, 1) for d, s in zip(dups, saved)
                                         if s is not None}}
        effect = (f"calls -{len(dups)} per run (from {len(sids)} to 1 {step['service']}."
                  f"{step['action']} call with the same parameters)")
        if known:
            effect += f"; up to -{sum(known):.0f} ms of call time per run"
        steps_ = sorted(sids)
        out.append(Finding(finding_id("cache", steps_), "cache", steps_,
                           f"Reuse {first}'s output instead of reading it again in "
                           f"{', '.join(dups)}", evidence, effect, 0.9, True,
                           {"op": "reuse_output", "keep": first, "drop": dups},
                           list(RELEVANCE["cache"]), len(dups) / len(sids)))
    return out


def _batch(ctx: Context) -> list[Finding]:
    groups: dict[tuple[str, str], list[str]] = {}
    for sid in _topological(ctx.definition["steps"]):
        step = ctx.steps[sid]
        if step["type"] == "action" and _is_write(ctx, step):
            groups.setdefault((step["service"], step["action"]), []).append(sid)
    out = []
    for (service, action_name), sids in groups.items():
        if len(sids) < BATCH_MIN:
            continue
        manifest = ctx.manifest(service)
        batch_actions = [a.name for a in (manifest.actions if manifest else ())
                         if any(w in a.name.lower() for w in BATCH_WORDS)]
        evidence = {"service": service, "action": action_name, "steps": sids,
                    "batch_actions": batch_actions, "executions": len(ctx.records)}
        need = (f"{service} has a batch action ({', '.join(batch_actions)}): a person maps the "
                f"{len(sids)} writes' parameters onto its input" if batch_actions else
                f"{service} has no batch action in its manifest: a person decides whether the "
                f"{len(sids)} writes can become one (a list in one message, another endpoint)")
        steps_ = sorted(sids)
        out.append(Finding(finding_id("batch", steps_), "batch", steps_,
                           f"{len(sids)} single {service}.{action_name} writes in one run: "
                           "batch them", evidence,
                           f"calls -{len(sids) - 1} per run (from {len(sids)} to 1) if batched",
                           0.7 if batch_actions else 0.5, False,
                           {"op": "batch", "service": service, "action": action_name,
                            "steps": sids, "batch_actions": batch_actions},
                           list(RELEVANCE["batch"]), (len(sids) - 1) / len(sids), need))
    return out


# -- event triggers --------------------------------------------------------------------------------


def _events(manifest: Any) -> dict[str, str]:
    """The service's trigger events and how each is delivered (webhook, or a poll ATOM runs
    with a cursor: either beats a schedule or a wait that reads the service)."""
    return {t.name: t.kind for t in manifest.triggers} if manifest else {}


def _runs_per_day(cron: str, timezone: str) -> int | None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from croniter import croniter

    try:
        start = datetime.now(ZoneInfo(timezone))
        it = croniter(cron, start)
        end = start + timedelta(days=7)
        count = 0
        while it.get_next(datetime) <= end and count < 7 * 24 * 60:
            count += 1
        return round(count / 7)
    except (ValueError, KeyError):
        return None


def _event_trigger(ctx: Context) -> list[Finding]:
    out = []
    trigger = ctx.definition["trigger"]
    for sid in _topological(ctx.definition["steps"]):
        step = ctx.steps[sid]
        action = ctx.action(step)
        if action is None or not action.read_only:
            continue
        delivery = _events(ctx.manifest(step["service"]))
        events = list(delivery)
        if not events:
            continue
        waits = [ctx.steps[d] for d in step.get("depends_on") or ()
                 if ctx.steps[d]["type"] == "wait"]
        if trigger.get("type") == "schedule" and not step.get("depends_on"):
            per_day = _runs_per_day(trigger["cron"], trigger.get("timezone") or "UTC")
            evidence = {"trigger": {"type": "schedule", "cron": trigger["cron"],
                                    "timezone": trigger.get("timezone")},
                        "step": sid, "service": step["service"], "action": step["action"],
                        "events": events, "delivery": delivery, "runs_per_day": per_day}
            effect = (f"calls -{per_day} per day at most (the schedule runs {per_day} times a day "
                      f"to read {step['service']}); runs start when the event happens, not at "
                      "the next tick" if per_day is not None else
                      "runs start when the event happens instead of at the next tick")
            title = (f"Start on a {step['service']} event ({', '.join(events)}) instead of "
                     f"polling it on a schedule ({trigger['cron']})")
            impact = 0.5
        elif waits:
            wait = waits[0]
            seconds = wait.get("seconds")
            evidence = {"wait": wait["id"], "seconds": seconds, "until": wait.get("until"),
                        "step": sid, "service": step["service"], "action": step["action"],
                        "events": events, "delivery": delivery}
            effect = (f"p50 -{seconds * 1000:.0f} ms (the wait of {seconds:g} s) when the "
                      "workflow starts on the event instead" if seconds is not None else
                      "no fixed wait: the run starts when the event happens")
            title = (f"Wait {wait['id']} then read {step['service']} in {sid}: start on a "
                     f"{step['service']} event ({', '.join(events)}) instead")
            impact = 0.4
        else:
            continue
        steps_ = sorted({sid, *(w["id"] for w in waits)})
        out.append(Finding(finding_id("event_trigger", steps_), "event_trigger", steps_, title,
                           evidence, effect, 0.6, False,
                           {"op": "suggest_trigger", "service": step["service"],
                            "events": events, "step": sid},
                           list(RELEVANCE["event_trigger"]), impact,
                           "a person chooses the event and its conditions, and what the "
                           "steps read from its payload instead of the read"))
    return out


# -- degrading services ----------------------------------------------------------------------------


def _degrading(ctx: Context) -> list[Finding]:
    if not ctx.use_health:
        return []
    by_service: dict[str, list[str]] = {}
    for sid, step in ctx.steps.items():
        if step["type"] in ("action", "notification") and step.get("service"):
            by_service.setdefault(step["service"], []).append(sid)
    out = []
    for service, sids in sorted(by_service.items()):
        h = history.health(service)
        if h.status not in ("degraded", "unhealthy"):
            continue
        samples = h.checks + h.calls
        bare = [s for s in sids if not _has_retry(ctx.steps[s])]
        retryable = [s for s in bare if ctx.action(ctx.steps[s]) is not None and (
            ctx.action(ctx.steps[s]).idempotent or ctx.action(ctx.steps[s]).read_only)]
        safe = bool(bare) and retryable == bare
        rate = "unknown" if h.success_rate is None else f"{h.success_rate:.1%}"
        steps_ = sorted(sids)
        out.append(Finding(
            finding_id("degrading_service", steps_), "degrading_service", steps_,
            f"{service} is {h.status} (success {rate} over {samples} checks and calls): "
            f"{', '.join(steps_)} call it",
            {"health": h.to_dict(), "steps": steps_, "without_retry": bare},
            (f"success: retries ride out {service}'s transient failures (now {rate} of its "
             f"calls succeed, p95 {h.p95_ms or 0:.0f} ms)"),
            min(0.95, 0.5 + samples / 100), safe,
            {"op": "set_retry_many", "steps": bare, "retry": dict(RETRY_POLICY)},
            list(RELEVANCE["degrading_service"]),
            min(1.0, 1 - (h.success_rate if h.success_rate is not None else 0.5)),
            None if safe else (
                "add a fallback step or another connection, or wait for the service: "
                + ("its steps already retry" if not bare else
                   "retrying " + ", ".join(s for s in bare if s not in retryable)
                   + " (not idempotent) could apply a write twice"))))
    return out


# -- applying --------------------------------------------------------------------------------------

APPLICABLE = ("remove_dependencies", "set_retry", "set_timeout", "reuse_output", "set_retry_many")


def _rewrite(value: Any, old: str, new: str) -> Any:
    pattern = re.compile(rf'(?<![\w.])steps\.(?:{re.escape(old)}|"{re.escape(old)}")(?![\w-])')
    if isinstance(value, str):
        return pattern.sub(f"steps.{new}" if re.fullmatch(r"[A-Za-z_]\w*", new)
                           else f'steps."{new}"', value)
    if isinstance(value, dict):
        return {k: _rewrite(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, old, new) for v in value]
    return value


def apply_change(definition: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``definition`` with ``change`` (a finding's) made."""
    out = copy.deepcopy(definition)
    by_id = dict(every_step(out["steps"]))  # a foreach's inner steps by path: the copy's own dicts
    op = change["op"]
    if op == "remove_dependencies":
        for edge in change["edges"]:
            step = by_id.get(edge["step"])
            if step is not None:
                step["depends_on"] = [d for d in step.get("depends_on") or ()
                                      if d != edge["depends_on"]]
    elif op == "set_retry":
        if change["step"] in by_id:
            by_id[change["step"]]["retry"] = dict(change["retry"])
    elif op == "set_retry_many":
        for sid in change["steps"]:
            if sid in by_id:
                by_id[sid]["retry"] = dict(change["retry"])
    elif op == "set_timeout":
        if change["step"] in by_id:
            by_id[change["step"]]["timeout_s"] = change["timeout_s"]
    elif op == "reuse_output":
        keep, drop = change["keep"], [d for d in change["drop"] if d in by_id]
        if keep not in by_id:
            return out
        for dup in drop:
            inherited = [d for d in by_id[dup].get("depends_on") or () if d != keep]
            out["steps"] = [s for s in out["steps"] if s["id"] != dup]
            for step in out["steps"]:
                deps = step.get("depends_on") or []
                if dup in deps:
                    deps = [keep if d == dup else d for d in deps]
                    step["depends_on"] = list(dict.fromkeys(d for d in deps if d != step["id"]))
                if step.get("on_error") == dup:
                    step["on_error"] = "fail"
                if step.get("handler") == dup:
                    del step["handler"]
                for key in [k for k in step if k not in ("id", "type", "depends_on", "on_error")]:
                    step[key] = _rewrite(step[key], dup, keep)
            # what the dropped step waited for, the kept one now waits for too (no earlier data
            # is lost to the steps that depended on it)
            kept = next(s for s in out["steps"] if s["id"] == keep)
            for dep in inherited:
                if dep not in kept["depends_on"] and dep != keep:
                    kept["depends_on"].append(dep)
            by_id = {s["id"]: s for s in out["steps"]}
    else:
        raise ValueError(f"{op} is not applied automatically")
    return out


def _applies_cleanly(finding: Finding, ctx: Context) -> bool:
    """A finding whose change would not validate (a cycle, say) is left out, not offered."""
    if finding.change["op"] not in ("remove_dependencies", "reuse_output"):
        return True  # a retry policy or a timeout in range cannot make a definition invalid
    try:
        changed = apply_change(ctx.definition, finding.change)
        _check_graph_only(changed, ctx.registry)
    except (DefinitionError, ValueError, graphlib.CycleError):
        return False
    return True


def _check_graph_only(definition: dict[str, Any], registry: Any) -> None:
    from atom.engine.definition import validate_definition

    body = copy.deepcopy(definition)
    trigger = {k: v for k, v in body["trigger"].items() if k != "secret_encrypted"}
    validate_definition({**body, "trigger": trigger}, registry)


def figures(workflow_id: int, version: int) -> dict[str, Any]:
    """A version's executions: how many, success rate, p50/p95 duration (ms), with their ids."""
    records = history.executions(workflow_id, version=version, limit=HISTORY_LIMIT)
    durations = [r.duration_ms for r in records if r.duration_ms is not None]
    ok = sum(r.status == "succeeded" for r in records)
    return {"version": version, "executions": len(records),
            "success_rate": round(ok / len(records), 4) if records else None,
            "p50_ms": _round(history.percentile(durations, 50)),
            "p95_ms": _round(history.percentile(durations, 95)),
            "execution_ids": [r.id for r in records[:20]]}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def select(findings: list[Finding], chosen: list[str] | str) -> list[Finding]:
    """The findings ``chosen`` names (``"auto"``: the safe ones at or above the auto-apply
    threshold). :raises OptimisationError: 422 for an unknown id or one that needs a person,
    409 when nothing is left to apply."""
    by_id = {f.id: f for f in findings}
    if chosen == "auto":
        threshold = float(models_config()["auto_apply_threshold"])
        picked = [f for f in findings if f.safe and f.confidence >= threshold]
        if not picked:
            best = max((f.confidence for f in findings if f.safe), default=None)
            raise OptimisationError(409, (
                f"nothing to apply automatically: no safe finding reaches the auto-apply "
                f"threshold {threshold:g}" + (f" (the best safe one has {best:.2f})"
                                               if best is not None else
                                               f" ({len(findings)} finding(s), none safe)")),
                {"findings": ["no finding qualifies for auto"]})
        return picked
    unknown = [i for i in chosen if i not in by_id]
    if unknown:
        known = ", ".join(by_id) or "none"
        raise OptimisationError(422, f"unknown finding(s) {', '.join(unknown)}: the current "
                                     f"version's findings are {known}",
                                {"findings": [f"unknown finding {i!r}" for i in unknown]})
    picked = [by_id[i] for i in dict.fromkeys(chosen)]
    manual = [f for f in picked if f.change["op"] not in APPLICABLE or not f.safe]
    if manual:
        raise OptimisationError(422, "these findings need a person: " + "; ".join(
            f"{f.id} ({f.kind}): {f.needs_person or 'not safe to apply automatically'}"
            for f in manual), {"findings": [f"{f.id} needs a person" for f in manual]})
    if not picked:
        raise OptimisationError(422, "name at least one finding, or \"auto\"",
                                {"findings": ["empty"]})
    return picked


# Changes are made in this order: a dropped duplicate first (its edges move), then the rest.
ORDER = {"reuse_output": 0, "set_retry": 1, "set_retry_many": 1, "set_timeout": 2,
         "remove_dependencies": 3}


def apply(workflow: Workflow, chosen: list[str] | str, actor: str,
          strategy: str = "hybrid") -> OptimisationApplication:
    """Recompute the findings of ``workflow``'s current version, make the chosen ones, save
    the result as a new version and record the application (with the baseline figures)."""
    from atom.engine.workflows import current_definition
    from atom.engine.workflows import update_workflow

    definition = current_definition(workflow)
    from_version = workflow.version
    findings = analyze(definition, workflow.id, "hybrid", version=from_version)
    picked = select(findings, chosen)
    changed = definition
    for f in sorted(picked, key=lambda f: ORDER[f.change["op"]]):
        changed = apply_change(changed, f.change)
    try:
        from atom.engine.workflows import public_definition

        update_workflow(workflow, public_definition(changed), actor)
    except DefinitionError as exc:
        db.session.rollback()
        raise OptimisationError(422, "the findings together give an invalid workflow: "
                                     f"{exc.errors}", {"findings": [str(exc.errors)]}) from exc
    row = OptimisationApplication(workflow_id=workflow.id, from_version=from_version,
                                  to_version=workflow.version, strategy=strategy,
                                  findings=[f.to_dict() for f in picked],
                                  baseline=figures(workflow.id, from_version), created_by=actor)
    db.session.add(row)
    db.session.commit()
    return row


def measured(row: OptimisationApplication) -> tuple[dict[str, Any] | None, str | None]:
    """The executions of the new version against the baseline, or None and why not yet."""
    now = figures(row.workflow_id, row.to_version)
    if not now["executions"]:
        return None, (f"no finished execution of version {row.to_version} yet; the baseline is "
                      f"{row.baseline.get('executions', 0)} execution(s) of version "
                      f"{row.from_version}")
    base = row.baseline or {}
    change: dict[str, Any] = {}
    for key in ("success_rate", "p50_ms", "p95_ms"):
        a, b = base.get(key), now[key]
        digits = 4 if key == "success_rate" else 1
        change[key] = None if a is None or b is None else round(b - a, digits)
        if key != "success_rate" and a and b is not None:
            change[f"{key}_relative"] = round((b - a) / a, 4)
    return {**now, "change": change}, None


def present_application(row: OptimisationApplication) -> dict[str, Any]:
    from atom.engine.diffs import definition_diff
    from atom.engine.workflows import public_definition

    a = history.definition(row.workflow_id, row.from_version) or {}
    b = history.definition(row.workflow_id, row.to_version) or {}
    result, reason = measured(row)
    return {"id": row.id, "workflow_id": row.workflow_id, "from_version": row.from_version,
            "to_version": row.to_version, "strategy": row.strategy,
            "applied": row.findings,
            "diff": definition_diff(public_definition(a) if a else {},
                                    public_definition(b) if b else {},
                                    f"version {row.from_version}", f"version {row.to_version}"),
            "baseline": row.baseline, "measured": result, "measured_reason": reason,
            "created_at": isoformat(row.created_at), "created_by": row.created_by}


def applications_query(workflow_id: int | None = None) -> Any:
    """The applications (of one workflow, or all), newest first."""
    stmt = db.select(OptimisationApplication).order_by(OptimisationApplication.id.desc())
    if workflow_id is not None:
        stmt = stmt.where(OptimisationApplication.workflow_id == workflow_id)
    return stmt


def applications(workflow_id: int | None = None, limit: int = 100) -> list[OptimisationApplication]:
    return list(db.session.scalars(applications_query(workflow_id).limit(limit)))


# -- the compact form's ai_optimized ---------------------------------------------------------------


def optimise_new(definition: dict[str, Any], registry: Any = None,
                 app: Flask | None = None) -> dict[str, Any]:
    """``ai_optimized: true`` on create: the safe reliability findings of the graph (no history
    yet) applied to ``definition`` (a retry on each action, a timeout where there is none)."""
    app = app or current_app
    ctx = Context(definition, {s["id"]: s for s in definition["steps"]}, [], {},
                  registry or _registry(app), int(models_config(app)["min_history"]),
                  use_health=False)
    out = definition
    for f in [*_retries(ctx), *_timeouts(ctx)]:
        if f.safe and f.kind in RELIABILITY_KINDS:
            out = apply_change(out, f.change)
    return out


def optimise_draft(definition: dict[str, Any], strategy: str,
                   app: Flask | None = None) -> tuple[dict[str, Any], list[Finding], list[Finding]]:
    """A generated, not yet saved definition with the safe findings of ``strategy`` applied
    (the user sees them before saving; nothing has run, so there is no history and no
    threshold). Returns the definition, the findings applied and those left (needing a
    person). A change that would make the definition invalid is left out."""
    from atom.engine.definition import validate_definition

    app = app or current_app
    registry = _registry(app)
    findings = analyze(definition, None, strategy, use_history=False, app=app)
    out, applied, left = definition, [], []
    for finding in findings:
        if not finding.safe:
            left.append(finding)
            continue
        candidate = apply_change(out, finding.change)
        try:
            candidate = validate_definition(candidate, registry)
        except DefinitionError:
            left.append(finding)
            continue
        out = candidate
        applied.append(finding)
    return out, applied, left


# -- status ------------------------------------------------------------------------------------


def status(app: Flask) -> dict[str, Any]:
    rows = db.session.execute(db.select(OptimisationApplication.workflow_id,
                                        OptimisationApplication.created_at)).all()
    return {"model": "rules over the workflow graph (data references between steps, critical "
                     "path) and its execution history (per-step attempts, p50/p99, error "
                     "classes) and each service's health; no trained weights",
            "version": VERSION, "trained_at": None,
            "trained_on": {"applications": len(rows),
                           "workflows_optimised": len({r.workflow_id for r in rows}),
                           "history_limit": HISTORY_LIMIT},
            "details": {"kinds": list(KINDS), "strategies": list(STRATEGIES),
                        "auto_apply_threshold": models_config(app)["auto_apply_threshold"],
                        "last_applied_at": isoformat(max((r.created_at for r in rows),
                                                         default=None))}}


__all__ = ["Finding", "OptimisationError", "analyze", "apply", "apply_change", "figures",
           "measured", "optimise_draft", "optimise_new", "present_application", "rank", "status", "summary"]
