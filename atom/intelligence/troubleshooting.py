"""Troubleshooting: why an execution (or a workflow's recent executions) failed, and what to do.

:func:`analyze` reads every failed attempt of every failed step (:mod:`atom.intelligence.history`),
classifies each failure (``auth``, ``rate_limited``, ``timeout``, ``upstream``, ``validation``,
``expression``, ``circuit_open``, ``blocked``, ``configuration``) from the error class the engine
recorded, relates it to the integration's health at that moment (did the service fail for the
other connections and health checks too, or only here?), states the root cause in one sentence
with the evidence it rests on, and lists fixes. Safe fixes change the workflow's definition in a
bounded way (a timeout raised to the step's p99 x 1.5, a retry with backoff for transient errors,
calls to a rate-limited service chained instead of parallel) or re-run the execution once the
service answers its health check again; the others need a person (a credential to re-connect, a
parameter the service rejected, an expression, a missing connection) and are explained, never
guessed. :func:`resolve` applies the chosen safe fixes as ONE new workflow version and re-runs.

Everything is computed from stored rows; nothing leaves the machine and there is no trained
model: the "model" is the mapping from the engine's error classes and the monitoring figures.
"""
from __future__ import annotations

import copy
import json
import re
from collections import Counter
from datetime import datetime
from typing import Any
from typing import Iterable

from flask import Flask
from flask import current_app

from atom.engine.definition import error_policy
from atom.engine.definition import every_step
from atom.engine.definition import run_path
from atom.extensions import db
from atom.intelligence import history
from atom.models import Connection
from atom.models import Execution
from atom.models import HealthSample
from atom.models import Workflow
from atom.models.base import isoformat
from atom.models.base import utcnow
from atom.models.intelligence import TroubleshootingSession

VERSION = "1"
CLASSES = ("auth", "rate_limited", "timeout", "upstream", "validation", "expression",
           "circuit_open", "blocked", "configuration")
# An exception ATOM did not expect (a bug): reported as such, with no fix to apply.
INTERNAL = "internal"
TRANSIENT = ("timeout", "upstream", "rate_limited", "circuit_open")
# The failures of other connections' calls and of health checks that mean the service itself
# was failing (``unknown``: a health check that failed without a class).
SERVICE_SIDE = (*TRANSIENT, "unknown")
SERVICE_TYPES = ("action", "notification")
# How many failed executions a workflow's session looks at, and how far back the step's
# durations are read for its p99.
WORKFLOW_FAILURES = 10
DURATION_HISTORY = 200
# The others' share of failed calls and checks at or above which the service was down for
# everyone (half: more failed than not).
DOWN_SHARE = 0.5
# The retry a safe fix adds: three attempts (two retries), doubling the delay.
RETRY_ATTEMPTS = 3
RETRY_BACKOFF = 2.0
RETRY_DELAY_S = 1.0
# Bounds of a retry delay a fix writes (a circuit that resets after ten minutes is re-run,
# not waited for inside the execution).
MAX_RETRY_DELAY_S = 60.0
# Without successful runs to take a p99 from, a timed-out step's limit is doubled: its call
# was still running at the limit, so its real duration is unknown and longer; doubling is the
# smallest clear step that still bounds a hung call (and the retry fix covers a one-off).
NO_HISTORY_TIMEOUT_FACTOR = 2.0
P99_FACTOR = 1.5
DEFAULT_WAIT_S = 5.0
# ``status`` counts failure classes over this many recent sessions.
STATUS_SESSIONS = 500

_STATUS = re.compile(r"answered (\d{3})")
_SERVICE_SAYS = re.compile(r"answered \d{3}: (.*?)(?: \(Retry-After: [0-9.e+-]+s\))?$", re.S)
_RETRY_AFTER = re.compile(r"\(Retry-After: ([0-9.e+-]+)s\)")
_STEP_TIMEOUT = re.compile(r"^step timed out after ([0-9.]+)s")
_EXPRESSION = re.compile(r"(?:invalid )?expression '(.+?)'(?: failed)?:")
# What the engine reports for a step whose connection or action is missing
# (atom.engine.steps.resolve_connection / run_action): executions recorded before the engine
# gave these the ``configuration`` class carry ``validation`` with exactly these messages.
_CONFIGURATION = (re.compile(r"^connection \d+ not found for \S+$"),
                  re.compile(r"^no \S+ connection: create one first$"),
                  re.compile(r"^connection \d+ is disabled$"),
                  re.compile(r"^\S+ has no action '.*'$"))


class TroubleshootingError(Exception):
    """A request that cannot be served: ``status`` (404, 409, 422) and the field it names."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


# -- classification ---------------------------------------------------------------------------


def classify(recorded: str | None, message: str | None) -> str:
    """The troubleshooting class of a failed attempt from the class the engine recorded."""
    text = (message or "").strip()
    if recorded == "validation" and any(p.match(text) for p in _CONFIGURATION):
        return "configuration"
    if recorded == "cursor_expired":  # an UpstreamError: the service no longer knows the cursor
        return "upstream"
    if recorded in CLASSES:
        return recorded
    return INTERNAL


def status_code(message: str | None) -> int | None:
    match = _STATUS.search(message or "")
    return int(match.group(1)) if match else None


def retry_after(message: str | None) -> float | None:
    match = _RETRY_AFTER.search(message or "")
    return float(match.group(1)) if match else None


def _service_message(message: str | None) -> str | None:
    match = _SERVICE_SAYS.search(message or "")
    return match.group(1).strip() if match else None


def _transient(cls: str, message: str | None) -> bool:
    """Whether a retry can help: the engine retries these (a 4xx other than 408/429, or an
    answer without the expected shape, is permanent: the same call gets the same answer)."""
    if cls not in TRANSIENT:
        return False
    if cls == "upstream":
        code = status_code(message)
        if "unexpected answer" in (message or "") or (code is not None and code < 500 and code != 408):
            return False
    return True


# -- reading ----------------------------------------------------------------------------------


def _step_defs(definition: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The definition's steps by id, a foreach's inner steps by their runs' path (``loop[*].call``:
    look a run up with :func:`run_path`); the dicts are the definition's own, so a fix edits it."""
    return dict(every_step((definition or {}).get("steps")))


def _connection_of(step: dict[str, Any]) -> Connection | None:
    """The connection the step used: the one it names, else the first enabled connection of its
    service, as the engine picks it (:func:`atom.engine.steps.resolve_connection`)."""
    if step.get("type") not in SERVICE_TYPES:
        return None
    if step.get("connection") is not None:
        return db.session.get(Connection, step["connection"])
    return db.session.execute(db.select(Connection).filter_by(
        integration=step.get("service"), enabled=True).order_by(Connection.id).limit(1)
    ).scalar_one_or_none()


def _z(value: datetime | None) -> str | None:
    return isoformat(value) if value else None


def _relation(service: str, conn_id: int | None, at: datetime | None) -> dict[str, Any]:
    """The integration's health in the window before ``at``: without this connection's calls
    (the others) and with them."""
    others = history.health(service, at=at, exclude_connection=conn_id)
    overall = history.health(service, at=at)
    # history.health leaves out the connection's calls, not its health checks: those are this
    # connection's too, so they are taken out here.
    own_checks = db.session.execute(
        db.select(HealthSample.ok, HealthSample.error_class).where(
            HealthSample.integration == service, HealthSample.connection_id == conn_id,
            HealthSample.ts >= others.since, HealthSample.ts <= others.until)).all() \
        if conn_id is not None else []
    own_classes = Counter(r.error_class or "unknown" for r in own_checks if not r.ok)
    seen = others.checks + others.calls - len(own_checks)
    # Failures on the service's side count as it being down; another connection's refused
    # credential or rejected input says nothing about the service.
    failed = sum(n - own_classes[cls] for cls, n in others.error_classes.items()
                 if cls in SERVICE_SIDE)
    refused = others.checks_failed + others.calls_failed - sum(own_classes.values()) - failed
    window = round((others.until - others.since).total_seconds())
    when = f"in the {window} s before {_z(others.until)}"
    own_calls = overall.calls - others.calls
    own_failed = overall.calls_failed - others.calls_failed
    own = (f"; this connection's own calls: {own_failed} of {own_calls} failed"
           if conn_id is not None and own_calls else "")
    if not seen:
        relation = "no_other_data"
        summary = (f"no other connection's calls and no health checks of {service} {when}, so "
                   f"it cannot be told whether {service} failed for everyone{own}")
    elif failed / seen >= DOWN_SHARE:
        classes = ", ".join(f"{k} {v - own_classes[k]}" for k, v in sorted(others.error_classes.items())
                            if k in SERVICE_SIDE and v > own_classes[k])
        relation = "down_for_everyone"
        summary = (f"{service} was failing for everyone: {failed} of {seen} other calls and health "
                   f"checks {when} failed on its side ({classes}){own}")
    else:
        relation = "only_this"
        also = f" ({refused} failed for reasons of their own: auth, validation, ...)" if refused else ""
        summary = (f"only this workflow/connection: {seen - failed - refused} of {seen} other calls "
                   f"and health checks of {service} {when} succeeded{also}{own}")
    return {"relation": relation, "summary": summary, "others": others.to_dict(),
            "overall": overall.to_dict()}


def _failures(record: history.ExecutionRecord, definition: dict[str, Any] | None
              ) -> list[dict[str, Any]]:
    steps = _step_defs(definition)
    out = []
    for sid, step in record.steps.items():
        if step.status != "failed":
            continue
        spec = steps.get(run_path(sid), {})
        attempts = [{"attempt": a.attempt, "class": classify(a.error_class, a.error),
                     "recorded_class": a.error_class, "error": a.error,
                     "status_code": status_code(a.error),
                     "duration_ms": None if a.duration_ms is None else round(a.duration_ms, 1)}
                    for a in step.attempts if a.status == "failed"]
        cls = classify(step.error_class, step.error)
        conn = _connection_of(spec)
        conn_id = spec.get("connection") if conn is None else conn.id
        service = spec.get("service") if step.step_type in SERVICE_TYPES else None
        failure = {
            "execution_id": record.id, "version": record.version, "step_id": sid,
            "step_type": step.step_type, "service": service, "action": spec.get("action"),
            "connection_id": conn_id, "connection": conn.label if conn is not None else None,
            "class": cls, "recorded_class": step.error_class, "error": step.error,
            "status_code": status_code(step.error), "retry_after_s": retry_after(step.error),
            "finished_at": _z(step.finished_at), "attempts": attempts,
            # the old form's one value: "fail", "continue", or the handler's step id
            "on_error": error_policy(spec)[1] or error_policy(spec)[0],
        }
        if service:
            failure["health"] = _relation(service, conn_id, step.finished_at)
        else:
            failure["health"] = {"relation": "no_other_data", "summary":
                                 f"step {sid} is a {step.step_type} step: it calls no service",
                                 "others": None, "overall": None}
        out.append(failure)
    out.sort(key=lambda f: (f["finished_at"] or "", f["step_id"]))
    return out


def _successful_durations(workflow_id: int, step_id: str) -> tuple[list[float], list[int]]:
    """Durations (ms) of the step's succeeded runs, and the executions they come from."""
    durations, ids = [], []
    for ex in history.executions(workflow_id, limit=DURATION_HISTORY):
        step = ex.steps.get(step_id)
        if step is not None and step.status == "succeeded" and step.duration_ms is not None:
            durations.append(step.duration_ms)
            ids.append(ex.id)
    return durations, ids


# -- fixes ------------------------------------------------------------------------------------


def _leaves(value: Any, prefix: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _leaves(sub, f"{prefix}[{i}]")
    else:
        yield prefix, value


def _expression_field(spec: dict[str, Any], message: str | None) -> tuple[str | None, str | None]:
    """(the step's field holding the failing expression, the expression)."""
    match = _EXPRESSION.search(message or "")
    expression = match.group(1) if match else None
    if (message or "").startswith("until:"):
        return "until", spec.get("until")
    if expression:
        for path, value in _leaves({k: v for k, v in spec.items() if k != "id"}, ""):
            if isinstance(value, str) and expression in value:
                return path, expression
    return None, expression


def _named_parameters(spec: dict[str, Any], said: str) -> list[str]:
    """The step's parameters the service's (or the schema's) message names."""
    names = []
    for path, _ in _leaves(spec.get("parameters") or {}, ""):
        leaf = re.split(r"[.\[]", path)[-1]
        if leaf and re.search(rf"(?<![A-Za-z0-9_]){re.escape(leaf)}(?![A-Za-z0-9_])", said):
            names.append(path)
    return names


def _parallel_peers(definition: dict[str, Any], sid: str) -> list[str]:
    """Action/notification steps calling the same service as ``sid`` (same connection choice)
    that may run at the same time as it: neither depends on the other, directly or not."""
    steps = _step_defs(definition)
    if run_path(sid) != sid:  # a foreach item: its peers are the loop's other items
        return []
    me = steps[sid]

    def ancestors(step_id: str) -> set[str]:
        seen: set[str] = set()
        todo = list(steps.get(step_id, {}).get("depends_on") or [])
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo += steps.get(dep, {}).get("depends_on") or []
        return seen

    mine = ancestors(sid)
    out = []
    for other, spec in steps.items():
        if other == sid or spec.get("type") not in SERVICE_TYPES:
            continue
        if spec.get("service") != me.get("service") or spec.get("connection") != me.get("connection"):
            continue
        if other in mine or sid in ancestors(other):
            continue
        out.append(other)
    return out


def _fixes(session_failures: list[dict[str, Any]], workflow: Workflow,
           definitions: dict[int, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Fixes for the failures; a fix that changes the definition is computed against the
    version that failed and applied to the workflow's current one."""
    fixes: dict[str, dict[str, Any]] = {}
    rerun_needed: list[dict[str, Any]] = []

    def add(fix: dict[str, Any]) -> None:
        fixes.setdefault(fix["id"], fix)

    for f in session_failures:
        definition = definitions.get(f["version"]) or {}
        spec = _step_defs(definition).get(run_path(f["step_id"]), {})
        sid, cls, service = f["step_id"], f["class"], f["service"]
        where = f"step {sid} of execution {f['execution_id']}"
        if cls == "timeout" and _STEP_TIMEOUT.match(f["error"] or "") and spec.get("timeout_s"):
            limit = float(spec["timeout_s"])
            durations, ids = _successful_durations(workflow.id, sid)
            p99 = history.percentile(durations, 99)
            if p99 is not None and p99 * P99_FACTOR / 1000.0 > limit:
                new = round(p99 * P99_FACTOR / 1000.0, 3)
                why = (f"p99 of its {len(durations)} successful runs is {p99:.0f} ms (executions "
                       f"{_ids(ids)}); x {P99_FACTOR} = {new} s")
            elif p99 is None:
                new = round(limit * NO_HISTORY_TIMEOUT_FACTOR, 3)
                why = (f"no successful run to take a p99 from; the call was still running at "
                       f"{limit} s, so the limit is doubled to {new} s")
            else:
                new = None
                why = ""
            if new is not None:
                add({"id": f"timeout:{sid}", "kind": "raise_timeout", "safe": True,
                     "description": f"raise timeout_s of step {sid} from {limit} s to {new} s: {why}",
                     "change": {"step": sid, "timeout_s": new}})
        if _transient(cls, f["error"]):
            retry = spec.get("retry") or {}
            tried = int(retry.get("max_attempts", 1))
            if tried < RETRY_ATTEMPTS:
                delay = float(retry.get("delay_s", RETRY_DELAY_S))  # the step's own, else the engine's
                reason = f"{cls} is transient"
                if cls == "rate_limited" and f["retry_after_s"]:
                    delay = max(delay, f["retry_after_s"])
                    reason += f"; {service} asked to wait {f['retry_after_s']:g} s (Retry-After)"
                if cls == "circuit_open":
                    reset = _circuit_reset(f["connection_id"])
                    delay = max(delay, reset)
                    reason += f"; the circuit of connection {f['connection_id']} resets after {reset:g} s"
                delay = round(min(delay, MAX_RETRY_DELAY_S), 3)
                add({"id": f"retry:{sid}", "kind": "add_retry", "safe": True,
                     "description": (f"retry step {sid} up to {RETRY_ATTEMPTS} attempts, {delay:g} s "
                                     f"then x{RETRY_BACKOFF:g} between them ({reason}; it made "
                                     f"{tried} attempt{'s' if tried != 1 else ''})"),
                     "change": {"step": sid, "retry": {"max_attempts": RETRY_ATTEMPTS,
                                                       "delay_s": delay, "backoff": RETRY_BACKOFF}}})
            if cls == "rate_limited" and definition:
                peers = _parallel_peers(definition, sid)
                if peers:
                    group = [s["id"] for s in definition["steps"] if s["id"] in {sid, *peers}]
                    add({"id": f"space:{sid}", "kind": "space_calls", "safe": True,
                         "description": (f"steps {', '.join(group)} call {service} at the same time; "
                                         "chain them (each depends on the one before) so one "
                                         "request is in flight at a time"),
                         "change": {"chain": group}})
            rerun_needed.append(f)
        elif cls == "auth":
            cid = f["connection_id"]
            add({"id": f"reconnect:{cid}", "kind": "reconnect", "safe": False,
                 "description": (f"{service} refused the credentials of connection {cid} "
                                 f"({f['connection']}) with {f['status_code'] or 'an auth error'} at "
                                 f"{f['finished_at']} ({where}): re-connect it (dashboard: "
                                 f"Connections > {f['connection']} > Edit, or OAuth re-authorise; "
                                 f"API: PATCH /api/v2/connections/{cid} with new credentials), "
                                 "then re-run"),
                 "change": None})
        elif cls == "validation":
            said = _service_message(f["error"]) or (f["error"] or "")
            named = _named_parameters(spec, said)
            if named:
                which = "parameter " + ", ".join(named)
            else:
                sent = ", ".join(p for p, _ in _leaves(spec.get("parameters") or {}, "")) or "none"
                which = f"a parameter (the message names none of the step's: {sent})"
            source = (f"{service} answered {f['status_code']}" if f["status_code"]
                      else f"the {service} {f['action']} action's input schema")
            add({"id": f"parameter:{sid}", "kind": "change_parameter", "safe": False,
                 "description": (f"{source} rejected {which} of step {sid}: {said!r}; change it "
                                 "to a value the service accepts (not guessed here)"),
                 "change": None})
        elif cls == "expression":
            field, expression = _expression_field(spec, f["error"])
            add({"id": f"expression:{sid}", "kind": "fix_expression", "safe": False,
                 "description": (f"fix the expression in step {sid}"
                                 f"{', field ' + field if field else ''}"
                                 f"{' (' + repr(expression) + ')' if expression else ''}: "
                                 f"{f['error']}"),
                 "change": None})
        elif cls == "configuration":
            add({"id": f"configure:{sid}", "kind": "configuration", "safe": False,
                 "description": _configuration_advice(f, spec), "change": None})
        elif cls == "blocked":
            add({"id": f"outbound:{sid}", "kind": "outbound_policy", "safe": False,
                 "description": (f"the outbound address policy denied step {sid}'s destination "
                                 f"({f['error']}): an operator must allow the address "
                                 "(ATOM_OUTBOUND_ALLOW) or connection "
                                 f"{f['connection_id']}'s base URL must change"),
                 "change": None})
        elif cls in ("upstream",):  # permanent: the same call gets the same answer
            add({"id": f"request:{sid}", "kind": "change_request", "safe": False,
                 "description": (f"{service} answered step {sid} with "
                                 f"{f['status_code'] or 'a reply ATOM cannot read'} ({f['error']}): "
                                 "a retry gets the same answer; the request (path, resource, "
                                 "action) must change"),
                 "change": None})
        elif cls == INTERNAL:
            add({"id": f"report:{sid}", "kind": "internal_error", "safe": False,
                 "description": (f"step {sid} raised an error ATOM did not expect "
                                 f"({f['error']}): a bug to report with execution "
                                 f"{f['execution_id']}"),
                 "change": None})
    if rerun_needed:
        newest = max(f["execution_id"] for f in rerun_needed)
        steps = sorted({f["step_id"] for f in rerun_needed if f["execution_id"] == newest})
        services = sorted({f["service"] for f in rerun_needed if f["service"]})
        add({"id": "rerun", "kind": "rerun", "safe": True,
             "description": (f"re-run execution {newest} from step{'s' if len(steps) > 1 else ''} "
                             f"{', '.join(steps)} once {', '.join(services) or 'the service'} "
                             "answers its health check again (checked first)"),
             "change": {"execution_id": newest, "steps": steps}})
    return list(fixes.values())


def _ids(ids: list[int], shown: int = 5) -> str:
    text = ", ".join(str(i) for i in ids[:shown])
    return text + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def _circuit_reset(conn_id: int | None) -> float:
    conn = db.session.get(Connection, conn_id) if conn_id is not None else None
    settings = (conn.settings or {}) if conn is not None else {}
    return float(settings.get("circuit_reset_s", current_app.config["CIRCUIT_RESET_TIMEOUT_S"]))


def _configuration_advice(f: dict[str, Any], spec: dict[str, Any]) -> str:
    error, sid, service = f["error"] or "", f["step_id"], f["service"]
    if "is disabled" in error:
        what = (f"connection {f['connection_id']} ({f['connection']}) is disabled: enable it "
                f"(dashboard: Connections > {f['connection']}; API: PATCH "
                f"/api/v2/connections/{f['connection_id']} {{\"enabled\": true}}) or point step "
                f"{sid} at another {service} connection")
    elif "not found" in error:
        what = (f"step {sid} names connection {spec.get('connection')}, which no longer exists "
                f"(deleted): choose another {service} connection for it")
    elif "create one first" in error:
        what = f"there is no enabled {service} connection: create one (or enable one) for step {sid}"
    elif "has no action" in error:
        what = (f"the {service} plugin has no action {spec.get('action')!r} any more: choose one "
                f"of its actions for step {sid}")
    else:
        what = f"step {sid} is not set up to run"
    return f"{what} ({error})"


# -- root cause -------------------------------------------------------------------------------


def _sentence(f: dict[str, Any], stats: dict[str, Any]) -> str:
    sid, service, cls = f["step_id"], f["service"], f["class"]
    code = f["status_code"]
    at = f["finished_at"]
    attempts = len(f["attempts"]) or 1
    tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
    health = f["health"]["summary"]
    if cls == "auth":
        core = (f"{service} refused connection {f['connection_id']}'s credentials with "
                f"{code or 'an auth error'} at {at} (step {sid}, {tries}), so the credential is "
                "invalid or expired")
    elif cls == "rate_limited":
        wait = f", Retry-After {f['retry_after_s']:g} s" if f["retry_after_s"] else ""
        core = (f"{service} rate-limited step {sid} with {code or 429}{wait} at {at} ({tries}): "
                "the workflow called it faster than it allows")
    elif cls == "timeout":
        p99 = stats.get("p99_ms")
        typical = (f"; its {stats['runs']} successful runs took p99 {p99:.0f} ms" if p99 is not None
                   else "; no successful run of it is on record")
        core = f"step {sid} ran past its limit at {at} ({f['error']}, {tries}){typical}"
    elif cls == "upstream":
        how = f"answered {code}" if code else f"failed ({f['error']})"
        core = f"{service} {how} for step {sid} at {at} ({tries})"
    elif cls == "validation":
        said = _service_message(f["error"]) or f["error"]
        core = (f"{service} rejected step {sid}'s input with {code} at {at}: {said}" if code else
                f"step {sid}'s input failed the {service} {f['action']} schema at {at}: {f['error']}")
    elif cls == "expression":
        core = f"an expression of step {sid} failed at {at}: {f['error']}"
    elif cls == "circuit_open":
        core = (f"the circuit breaker of connection {f['connection_id']} was open at {at} after "
                f"earlier failures, so step {sid} did not call {service} ({tries})")
    elif cls == "blocked":
        core = f"the outbound address policy denied step {sid}'s call at {at}: {f['error']}"
    elif cls == "configuration":
        core = f"step {sid} could not start at {at}: {f['error']}"
    else:
        core = f"step {sid} raised an unexpected error at {at}: {f['error']}"
    if f["service"]:
        core += f"; {health}"
    if not core.startswith(f"{service} "):  # a service's name keeps its spelling
        core = core[0].upper() + core[1:]
    return core + "."


def _root_cause(failures: list[dict[str, Any]], records: list[history.ExecutionRecord]
                ) -> dict[str, Any]:
    # The failure that failed the execution (on_error: fail), earliest; else the earliest.
    failing = [f for f in failures if f["on_error"] == "fail"] or failures
    counts = Counter((f["step_id"], f["class"]) for f in failing)
    (sid, cls), times = counts.most_common(1)[0]
    primary = next(f for f in reversed(failing) if (f["step_id"], f["class"]) == (sid, cls))
    durations, ids = _successful_durations(records[0].workflow_id, sid)
    stats = {"runs": len(durations), "p99_ms": history.percentile(durations, 99)}
    summary = _sentence(primary, stats)
    if len(records) > 1:
        summary = (f"In {times} of the {len(records)} failed executions analysed "
                   f"({_ids([r.id for r in records])}): " + summary[0].lower() + summary[1:])
    evidence = []
    for f in failures:
        for a in f["attempts"]:
            evidence.append({"execution_id": f["execution_id"], "step_id": f["step_id"],
                             "attempt": a["attempt"], "class": a["class"],
                             "status_code": a["status_code"], "at": f["finished_at"],
                             "error": a["error"]})
    health = [{"execution_id": f["execution_id"], "step_id": f["step_id"],
               "relation": f["health"]["relation"], "summary": f["health"]["summary"]}
              for f in failures if f["service"]]
    if stats["p99_ms"] is not None:
        stats["p99_ms"] = round(stats["p99_ms"], 1)
        stats["executions"] = ids[:20]
    return {"summary": summary, "class": cls, "step_id": sid,
            "execution_id": primary["execution_id"], "relation": primary["health"]["relation"],
            "evidence": evidence, "health": health, "step_history": stats}


# -- analyze ----------------------------------------------------------------------------------


def analyze(execution_id: int | None = None, workflow_id: int | None = None,
            actor: str = "system") -> TroubleshootingSession:
    """Analyse one failed execution, or a workflow's recent failed executions; store the session.

    :raises TroubleshootingError: 422 with neither or both ids, 404 for an unknown one, 409
        when nothing failed.
    """
    if (execution_id is None) == (workflow_id is None):
        raise TroubleshootingError(422, "give execution_id or workflow_id (one of them)",
                                   "execution_id")
    from atom.state import get_state

    get_state().recorder.flush()  # the calls made so far count in the health figures
    if execution_id is not None:
        execution = db.session.get(Execution, execution_id) if 0 < execution_id < 2 ** 63 else None
        if execution is None:
            raise TroubleshootingError(404, f"no execution {execution_id}", "execution_id")
        if execution.status not in history.FINISHED:
            raise TroubleshootingError(409, f"nothing failed yet: execution {execution_id} is "
                                            f"{execution.status}", "execution_id")
        if execution.status == "succeeded":
            raise TroubleshootingError(409, f"nothing failed: execution {execution_id} succeeded",
                                       "execution_id")
        records = history.executions(ids=[execution_id], limit=1)
        workflow_id = execution.workflow_id
    else:
        workflow = db.session.get(Workflow, workflow_id) if 0 < workflow_id < 2 ** 63 else None
        if workflow is None or workflow.deleted_at is not None:
            raise TroubleshootingError(404, f"no workflow {workflow_id}", "workflow_id")
        records = [r for r in history.executions(workflow_id, limit=DURATION_HISTORY)
                   if r.status == "failed"][:WORKFLOW_FAILURES]
    workflow = db.session.get(Workflow, workflow_id)
    definitions = {v: history.definition(workflow_id, v) for v in {r.version for r in records}}
    failures = [f for r in records for f in _failures(r, definitions[r.version])]
    if not failures:
        what = (f"execution {execution_id} {records[0].status}" if execution_id is not None
                else f"workflow {workflow_id} has no failed execution among its last "
                     f"{DURATION_HISTORY}")
        raise TroubleshootingError(409, f"nothing failed: {what}",
                                   "execution_id" if execution_id is not None else "workflow_id")
    analysis = {
        "executions": [r.id for r in records],
        "failures": failures,
        "root_cause": _root_cause(failures, records),
        "fixes": _fixes(failures, workflow, definitions),
    }
    session = TroubleshootingSession(workflow_id=workflow_id, execution_id=records[0].id,
                                     status="open", analysis=_jsonable(analysis),
                                     created_by=actor)
    db.session.add(session)
    db.session.commit()
    return session


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# -- resolve ----------------------------------------------------------------------------------


def _apply(definition: dict[str, Any], fixes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply the definition changes in place; return what changed (step, field, from, to)."""
    steps = _step_defs(definition)
    changed = []
    for fix in fixes:
        change = fix["change"]
        if fix["kind"] == "raise_timeout":
            step = _needs_step(steps, change["step"], fix)
            changed.append({"fix": fix["id"], "step": change["step"], "field": "timeout_s",
                            "from": step.get("timeout_s"), "to": change["timeout_s"]})
            step["timeout_s"] = change["timeout_s"]
        elif fix["kind"] == "add_retry":
            step = _needs_step(steps, change["step"], fix)
            changed.append({"fix": fix["id"], "step": change["step"], "field": "retry",
                            "from": step.get("retry"), "to": change["retry"]})
            step["retry"] = dict(change["retry"])
        elif fix["kind"] == "space_calls":
            order = [s["id"] for s in definition["steps"] if s["id"] in set(change["chain"])]
            for before, after in zip(order, order[1:]):
                step = _needs_step(steps, after, fix)
                deps = list(step.get("depends_on") or [])
                if before not in deps:
                    changed.append({"fix": fix["id"], "step": after, "field": "depends_on",
                                    "from": list(deps), "to": [*deps, before]})
                    step["depends_on"] = [*deps, before]
    return changed


def _needs_step(steps: dict[str, dict[str, Any]], sid: str, fix: dict[str, Any]) -> dict[str, Any]:
    sid = run_path(sid)
    if sid not in steps:
        raise TroubleshootingError(409, f"fix {fix['id']} no longer applies: the workflow's "
                                        f"current version has no step {sid}", "fixes")
    return steps[sid]


def _service_healthy(fix: dict[str, Any], analysis: dict[str, Any]) -> tuple[bool, list[dict]]:
    """Run the health check of each connection the re-run needs (real calls, recorded as
    health samples): healthy when every one passes."""
    from atom.state import get_state

    wanted = {(f["service"], f["connection_id"]) for f in analysis["failures"]
              if f["execution_id"] == fix["change"]["execution_id"]
              and f["step_id"] in fix["change"]["steps"] and f["service"]}
    checks = []
    for service, conn_id in sorted(wanted, key=str):
        conn = db.session.get(Connection, conn_id) if conn_id is not None else None
        if conn is None or not conn.enabled:
            checks.append({"service": service, "connection_id": conn_id, "ok": False,
                           "error_class": "configuration", "message": "no enabled connection"})
            continue
        result = get_state().runtime.test(conn)
        checks.append({"service": service, "connection_id": conn_id, "ok": result.ok,
                       "latency_ms": None if result.latency_ms is None else round(result.latency_ms, 1),
                       "error_class": result.error_class, "message": result.message})
    return all(c["ok"] for c in checks), checks


def resolve(session: TroubleshootingSession, fixes: list[str] | str, actor: str = "system",
            wait_s: float = DEFAULT_WAIT_S) -> TroubleshootingSession:
    """Apply safe fixes (``"auto"``: every safe one) as one new version and re-run.

    A session is resolved once: after a re-run (succeeded or not) it answers 409, and the
    re-run's own failure is analysed as a new session. A re-run held back because the service
    is not healthy yet leaves the session open, to be resolved later.

    :raises TroubleshootingError: 422 naming ``fixes`` (unknown ids, fixes that need a person,
        a change the workflow validation refuses), 409 (already resolved, workflow gone or
        disabled, execution not retryable).
    """
    from atom.engine import get_engine
    from atom.engine.definition import DefinitionError
    from atom.engine.executions import ExecutionConflict
    from atom.engine.executions import retry_execution
    from atom.engine.workflows import current_definition
    from atom.engine.workflows import public_definition
    from atom.engine.workflows import update_workflow

    done = (session.resolution or {}).get("rerun_execution_id")
    if session.status == "resolved" or done:
        # One session, one resolution: a re-run that failed is a new failure to analyse.
        raise TroubleshootingError(409, f"session {session.id} is already {session.status} (re-run "
                                        f"execution {done}): analyse again for a new session",
                                   "session_id")
    analysis = session.analysis or {}
    offered = {f["id"]: f for f in analysis.get("fixes", [])}
    person = [f for f in offered.values() if not f["safe"]]
    if fixes == "auto":
        chosen = [f for f in offered.values() if f["safe"]]
    else:
        if not isinstance(fixes, list) or not fixes:
            raise TroubleshootingError(422, 'fixes: give a list of fix ids or "auto"', "fixes")
        unknown = [i for i in fixes if i not in offered]
        if unknown:
            raise TroubleshootingError(422, f"unknown fix {unknown[0]!r}; this session offers "
                                            f"{', '.join(offered) or 'none'}", "fixes")
        needs = [offered[i] for i in dict.fromkeys(fixes) if not offered[i]["safe"]]
        if needs:
            raise TroubleshootingError(422, "needs a person: " + "; ".join(
                f"{f['id']}: {f['description']}" for f in needs), "fixes")
        chosen = [offered[i] for i in dict.fromkeys(fixes)]
    if not chosen:
        session.status = "needs_person"
        session.resolution = {"applied": [], "version": None, "rerun_execution_id": None,
                              "outcome": "needs a person: " + "; ".join(
                                  f"{f['id']}: {f['description']}" for f in person),
                              "at": isoformat(utcnow())}
        db.session.commit()
        return session
    workflow = db.session.get(Workflow, session.workflow_id)
    if workflow is None or workflow.deleted_at is not None:
        raise TroubleshootingError(409, f"workflow {session.workflow_id} was deleted", "session_id")
    if not workflow.enabled:
        raise TroubleshootingError(409, f"workflow {workflow.id} is disabled: enable it first",
                                   "session_id")
    execution = db.session.get(Execution, session.execution_id) if session.execution_id else None
    if execution is None:
        raise TroubleshootingError(409, "the analysed execution no longer exists", "session_id")
    edits = [f for f in chosen if f["kind"] != "rerun"]
    resolution: dict[str, Any] = {"applied": [f["id"] for f in chosen], "version": None,
                                  "rerun_execution_id": None, "changes": [],
                                  "at": isoformat(utcnow())}
    engine = get_engine()
    if edits:
        definition = copy.deepcopy(public_definition(current_definition(workflow)))
        definition["enabled"] = workflow.enabled
        resolution["from_version"] = workflow.version
        resolution["changes"] = _apply(definition, edits)
        try:
            update_workflow(workflow, definition, actor)
        except DefinitionError as exc:
            db.session.rollback()
            first = next(iter(exc.errors))
            raise TroubleshootingError(422, f"the fixed workflow does not validate: {first}: "
                                            f"{exc.errors[first]}", "fixes") from exc
        resolution["version"] = workflow.version
        payload = execution.trigger_payload if isinstance(execution.trigger_payload, dict) else {}
        try:
            rerun, _ = engine.start(workflow, payload, "manual")
        except Exception as exc:  # chains.ExecutionRefused: past the workflow's runs a minute
            resolution["outcome"] = f"version {workflow.version} saved; not re-run: {exc}"
            session.resolution, session.status = resolution, "failed"
            db.session.commit()
            return session
        resolution["rerun_execution_id"] = rerun.id
        resolution["rerun"] = f"a new execution of version {workflow.version} with the same payload"
    else:
        (fix,) = chosen
        healthy, checks = _service_healthy(fix, analysis)
        resolution["health_checks"] = checks
        if not healthy:
            bad = "; ".join(f"connection {c['connection_id']}: {c['error_class']} ({c['message']})"
                            for c in checks if not c["ok"])
            resolution["outcome"] = f"not re-run: the service is not healthy yet ({bad})"
            session.resolution, session.status = resolution, "open"
            db.session.commit()
            return session
        target = db.session.get(Execution, fix["change"]["execution_id"]) or execution
        try:
            retry_execution(target)
        except ExecutionConflict as exc:
            raise TroubleshootingError(409, exc.message, "fixes") from exc
        resolution["rerun_execution_id"] = target.id
        resolution["rerun"] = f"execution {target.id} again from its failed steps"
    resolution["outcome"] = "queued"
    session.resolution = resolution
    db.session.commit()
    if wait_s > 0:
        engine.wait(resolution["rerun_execution_id"], wait_s)
    return refresh(session)


def refresh(session: TroubleshootingSession) -> TroubleshootingSession:
    """Bring a session's re-run outcome up to date (resolved / failed once it has finished)."""
    resolution = session.resolution or {}
    rerun_id = resolution.get("rerun_execution_id")
    if not rerun_id or resolution.get("outcome") not in ("queued", "running"):
        return session
    db.session.expire_all()
    rerun = db.session.get(Execution, rerun_id)
    status = rerun.status if rerun is not None else "missing"
    resolution = {**resolution, "outcome": status}
    if status in history.FINISHED:
        resolution["finished_at"] = isoformat(rerun.finished_at)
        if rerun.error:
            resolution["error"] = rerun.error
    session.resolution = resolution
    session.status = {"succeeded": "resolved", "failed": "failed", "cancelled": "failed",
                      "missing": "failed"}.get(status, "open")
    db.session.commit()
    return session


# -- reading sessions -------------------------------------------------------------------------


def get(session_id: int) -> TroubleshootingSession:
    session = db.session.get(TroubleshootingSession, session_id) if 0 < session_id < 2 ** 63 else None
    if session is None:
        raise TroubleshootingError(404, f"no troubleshooting session {session_id}", "session_id")
    return refresh(session)


def sessions_query(workflow_id: int | None = None, execution_id: int | None = None) -> Any:
    """The sessions of a workflow or an execution (or all of them), newest first."""
    stmt = db.select(TroubleshootingSession).order_by(TroubleshootingSession.id.desc())
    if workflow_id is not None:
        stmt = stmt.where(TroubleshootingSession.workflow_id == workflow_id)
    if execution_id is not None:
        stmt = stmt.where(TroubleshootingSession.execution_id == execution_id)
    return stmt


def sessions(workflow_id: int | None = None, execution_id: int | None = None,
             limit: int = 50) -> list[TroubleshootingSession]:
    stmt = sessions_query(workflow_id, execution_id).limit(limit)
    return [refresh(s) for s in db.session.scalars(stmt).all()]


def latest_for_execution(execution_id: int) -> TroubleshootingSession | None:
    found = sessions(execution_id=execution_id, limit=1)
    return found[0] if found else None


def present(session: TroubleshootingSession) -> dict[str, Any]:
    analysis = session.analysis or {}
    return {"id": session.id, "workflow_id": session.workflow_id,
            "execution_id": session.execution_id, "status": session.status,
            "executions": analysis.get("executions", []),
            "failures": analysis.get("failures", []),
            "root_cause": analysis.get("root_cause"),
            "fixes": analysis.get("fixes", []),
            "resolution": session.resolution,
            "created_at": isoformat(session.created_at), "updated_at": isoformat(session.updated_at),
            "created_by": session.created_by}


def status(app: Flask) -> dict[str, Any]:
    """For ``GET .../status``: what troubleshooting runs on, and what it has done (real counts)."""
    with app.app_context():
        rows = db.session.execute(db.select(TroubleshootingSession.status, db.func.count())
                                  .group_by(TroubleshootingSession.status)).all()
        by_status = {s: n for s, n in rows}
        analysed = db.session.scalars(db.select(TroubleshootingSession.analysis).order_by(
            TroubleshootingSession.id.desc()).limit(STATUS_SESSIONS)).all()
    classes: Counter = Counter()
    executions: set[int] = set()
    for analysis in analysed:
        for f in (analysis or {}).get("failures", []):
            classes[f.get("class")] += 1
            executions.add(f.get("execution_id"))
    return {"model": "rules: the engine's error classes, the steps' duration history and each "
                     "integration's health (monitoring) at the failure; no trained weights",
            "version": VERSION, "trained_at": None,
            "trained_on": {"sessions": sum(by_status.values()),
                           "executions_analysed": len(executions)},  # in the recent sessions
            "details": {"classes": list(CLASSES), "sessions_by_status": by_status,
                        "failures_by_class": dict(classes),
                        "failures_counted_over": f"the last {STATUS_SESSIONS} sessions"}}
