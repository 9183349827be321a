"""Approval steps: an execution waits (parked, no thread held) for people to decide.

An ``approval`` step parks its execution like a durable timer (atom/engine/timers.py): its
timer row (kind ``approval``) is due when ``timeout_s`` ends, or never. A decision
(:func:`decide`, from ``POST /api/v2/executions/{id}/steps/{step}/approve`` or ``/reject``) is
a row of ``approval_decisions`` (who, when, how, comment); the one that settles the step (the
``required``-th approval, or any rejection) takes the execution back to ``queued`` by
compare-and-set on ``waiting`` and enqueues it. The resumed run reads the decisions
(:func:`outcome`): approved, the step succeeds with ``{decision, by, comment}``; rejected, it
fails with the error class ``rejected`` (``on_error`` and ``handler`` apply). Past its timeout
``on_timeout`` decides: ``approve``, ``reject`` (fails ``rejected``) or ``fail`` (fails
``timeout``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from atom.engine.definition import ApprovalStep
from atom.engine.definition import load_definition
from atom.engine.states import ExecutionStatus
from atom.engine.states import StepStatus
from atom.extensions import db
from atom.models import ApprovalDecision
from atom.models import Execution
from atom.models import StepRun
from atom.models import WorkflowVersion
from atom.models.base import isoformat
from atom.models.base import utcnow

APPROVED = "approved"
REJECTED = "rejected"
VIA = ("api", "dashboard", "link")


class DecisionError(Exception):
    """A decision refused: ``status`` is the HTTP answer (404, 409, 403)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: str  # approved | rejected
    by: tuple[str, ...]
    comment: str | None


def decisions_of(execution_id: int, step_id: str | None = None) -> list[ApprovalDecision]:
    stmt = db.select(ApprovalDecision).filter_by(execution_id=execution_id)
    if step_id is not None:
        stmt = stmt.filter_by(step_id=step_id)
    return list(db.session.scalars(stmt.order_by(ApprovalDecision.id)))


def present_decision(row: ApprovalDecision) -> dict[str, Any]:
    return {"decision": row.decision, "by": row.decided_by, "via": row.via, "comment": row.comment,
            "decided_at": isoformat(row.decided_at)}


def outcome(execution_id: int, step: ApprovalStep) -> Outcome | None:
    """What the decisions so far settle (None: not settled yet)."""
    rows = decisions_of(execution_id, step.id)
    for row in rows:
        if row.decision == REJECTED:
            return Outcome(REJECTED, (row.decided_by,), row.comment)
    approved = [row for row in rows if row.decision == APPROVED]
    if len(approved) >= step.required:
        comments = [f"{row.decided_by}: {row.comment}" for row in approved if row.comment]
        return Outcome(APPROVED, tuple(row.decided_by for row in approved),
                       "\n".join(comments) or None)
    return None


def allowed(step: ApprovalStep, name: str, role: str, started_by: str | None) -> str | None:
    """Why ``name`` (with ``role``) may not decide ``step`` (None: it may)."""
    if not step.allow_self and started_by is not None and name == started_by:
        return "the one who started the execution cannot approve it (allow_self is false)"
    roles = step.approvers.get("roles") or ()
    users = step.approvers.get("users") or ()
    if name in users or role in roles:
        return None
    return "you are not one of this step's approvers"


def decide(execution_id: int, step_id: str, decision: str, name: str, role: str, via: str,
           comment: str | None, engine: Any, by_link: bool = False,
           address: str | None = None) -> dict[str, Any]:
    """Record ``name``'s decision (and an audit event ``execution.step.approved|rejected`` with
    the step, the channel and the client ``address``); wake the execution when it settles the step.

    :raises DecisionError: 404 no such execution or approval step, 409 not waiting for this
        decision or already decided by ``name``, 403 not an allowed approver (``by_link``: a
        signed link stands for an approver, see :func:`link_token`).
    """
    execution = db.session.get(Execution, execution_id)
    if execution is None:
        raise DecisionError(404, f"no execution {execution_id}")
    raw = db.session.scalar(db.select(WorkflowVersion.definition).filter_by(
        workflow_id=execution.workflow_id, version=execution.version))
    step = load_definition(raw).by_id.get(step_id) if raw is not None else None
    if not isinstance(step, ApprovalStep):
        raise DecisionError(404, f"execution {execution_id} has no approval step {step_id!r}", "step_id")
    row = db.session.scalar(db.select(StepRun).filter_by(execution_id=execution_id, step_id=step_id))
    if (execution.status != ExecutionStatus.WAITING or row is None
            or row.status != StepStatus.RUNNING):
        raise DecisionError(409, f"execution {execution_id} is not waiting for a decision on "
                                 f"{step_id} (it is {execution.status})")
    why = None if by_link else allowed(step, name, role, execution.started_by)
    if why is not None:
        raise DecisionError(403, why)
    if outcome(execution_id, step) is not None:
        raise DecisionError(409, f"{step_id} has already been decided")
    from atom.models.audit import record

    db.session.add(ApprovalDecision(execution_id=execution_id, step_id=step_id, decision=decision,
                                    decided_by=name, via=via, comment=comment))
    record(name, f"execution.step.{decision}", f"execution:{execution_id}", step=step_id, via=via,
           **({"address": address} if address else {}))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DecisionError(409, f"{name} has already decided {step_id}") from None
    settled = outcome(execution_id, step)
    woken = False
    if settled is not None:
        table = Execution.__table__
        woken = db.session.execute(
            update(table).where(table.c.id == execution_id, table.c.status == ExecutionStatus.WAITING)
            .values(status=ExecutionStatus.QUEUED, claimed_by=engine.owner, heartbeat_at=utcnow())
        ).rowcount == 1
        db.session.commit()
        if woken:
            engine.enqueue(execution_id)
    return {"execution_id": execution_id, "step_id": step_id, "decision": decision, "by": name,
            "settled": settled.decision if settled is not None else None,
            "decisions": [present_decision(d) for d in decisions_of(execution_id, step_id)]}


# -- signed one-time links ------------------------------------------------------------------------

LINK_SALT = "atom.approval-link"
# An anonymous visitor's link decision is recorded as by "link" (one per step, so the step's links
# work once; the audit event keeps the address). A visitor signed in to the dashboard decides as
# themselves, and the step's rules (approvers, self-approval, once each) apply to them.
LINK_BY = "link"


def link_token(secret: str, execution_id: int, step_id: str, decision: str,
               expires_at: float | None) -> str:
    """A signed token bound to one execution, step and decision (``approved``/``rejected``),
    good until ``expires_at`` (epoch seconds; None: until the step is decided)."""
    return URLSafeSerializer(secret, salt=LINK_SALT).dumps(
        {"e": execution_id, "s": step_id, "d": decision, "x": expires_at})


def read_link(secret: str, token: str, now: float) -> dict[str, Any]:
    """The link's ``{e, s, d, x}``; :class:`DecisionError` 400 tampered, 410 expired."""
    try:
        data = URLSafeSerializer(secret, salt=LINK_SALT).loads(token)
    except BadSignature:
        raise DecisionError(400, "this approval link is not valid") from None
    if (not isinstance(data, dict) or data.get("d") not in (APPROVED, REJECTED)
            or not isinstance(data.get("e"), int) or not isinstance(data.get("s"), str)):
        raise DecisionError(400, "this approval link is not valid")
    if data.get("x") is not None and now > data["x"]:
        raise DecisionError(410, "this approval link has expired")
    return data


def links(secret: str, base_url: str, execution_id: int, steps: Any, now: float) -> dict[str, Any]:
    """``{step_id: {approve_url, reject_url}}`` for the approval steps among ``steps``: what a
    notification step templates as ``{{ approvals.<step>.approve_url }}`` (and, with one
    approval step, ``{{ approval.approve_url }}``). A link expires ``timeout_s`` after the run
    started (or when its step is decided)."""
    out = {}
    for step in steps:
        if isinstance(step, ApprovalStep):
            expires = now + step.timeout_s if step.timeout_s else None
            out[step.id] = {
                f"{verb}_url": f"{base_url}/approvals/{link_token(secret, execution_id, step.id, decision, expires)}"
                for verb, decision in (("approve", APPROVED), ("reject", REJECTED))}
    return out
