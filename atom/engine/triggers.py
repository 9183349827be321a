"""Triggers: events from verified webhooks, per-workflow webhook URLs, and cron schedules;
the receipts that make a signed delivery count once."""
from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from flask import Flask
from sqlalchemy.exc import IntegrityError

from atom.engine import get_engine
from atom.engine.chains import Chain
from atom.engine.chains import WINDOW_S
from atom.engine.chains import ExecutionRefused
from atom.engine.chains import prune_run_counts
from atom.engine.polling import prune_poll_items
from atom.engine.polling import run_polls
from atom.engine.states import EXECUTION_FINAL
from atom.extensions import db
from atom.models import ScheduleFire
from atom.models import WebhookEvent
from atom.models import WebhookReceipt
from atom.models import Workflow
from atom.models.base import utcnow

logger = logging.getLogger(__name__)


def _lookup(payload: Any, path: str) -> Any:
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def conditions_match(conditions: dict[str, Any], payload: Any) -> bool:
    """Equality on dotted paths of the payload; a list of values means "any of these"."""
    for path, expected in (conditions or {}).items():
        actual = _lookup(payload, path)
        if isinstance(expected, list) and not isinstance(actual, list):
            if actual not in expected:
                return False
        elif actual != expected:
            return False
    return True


def bound_to(trigger: dict[str, Any], connection_id: int) -> bool:
    """Whether an event of ``connection_id`` may start a workflow with this trigger: one bound
    to a connection (``connection_id``) hears that connection only."""
    bound = trigger.get("connection_id")
    return bound is None or bound == connection_id


def dispatch_events(event_ids: list[int], chain: Chain | None = None) -> list[int]:
    """Start every enabled workflow whose event trigger matches; return execution ids.

    A workflow matches an event of its service and event name when its trigger is bound to
    no connection or to the event's, its ``conditions`` match the payload, and, for an event a
    poll stored, its ``params`` are the poll's. Each workflow starts at most once per event
    (idempotency key ``event:<id>``), so dispatching an event again starts nothing new.

    :param chain: the execution chain the delivery came from (``X-Atom-Execution``), if any;
        a workflow past its limits (chain, runs a minute) is not started, and that is logged.
    """
    from atom.engine.polling import event_filter
    from atom.engine.workflows import current_definition
    from atom.state import get_state

    engine = get_engine()
    registry = get_state().registry
    started = []
    for event in db.session.scalars(db.select(WebhookEvent).where(WebhookEvent.id.in_(event_ids))
                                    .order_by(WebhookEvent.id)):
        workflows = db.session.scalars(db.select(Workflow).filter_by(
            trigger_type="event", trigger_service=event.integration, trigger_event=event.event,
            enabled=True, deleted_at=None).order_by(Workflow.id)).all()
        polled = event_filter(event, registry)
        for workflow in workflows:
            trigger = current_definition(workflow)["trigger"]
            if not bound_to(trigger, event.connection_id):
                continue
            if polled is not None and not polled(trigger):
                continue
            if not conditions_match(trigger.get("conditions") or {}, event.payload):
                continue
            try:
                execution, created = engine.start(workflow, event.payload, "event",
                                                  idempotency_key=f"event:{event.id}", chain=chain)
            except ExecutionRefused as exc:
                logger.warning("event %s did not start workflow %s: %s", event.id, workflow.id, exc)
                continue
            if created:
                started.append(execution.id)
        event.status = "processed"
    db.session.commit()
    return started


def claim_receipt(scope: str, digest: str | None) -> bool:
    """Record a signed delivery's replay digest in the current transaction.

    :param scope: whose deliveries these are (``workflow:3``, ``connection:7``).
    :param digest: from :func:`atom.integrations.webhooks.verify`; None (a scheme without a
        timestamp, an unsigned workflow hook) records nothing.
    :return: False when this scope has accepted the digest already: the delivery is a replay.
        The caller commits the receipt with the work it admits, so a failed request leaves
        nothing behind; a concurrent twin waits on the unique key and then sees the receipt.
    """
    if digest is None:
        return True
    try:
        with db.session.begin_nested():
            db.session.add(WebhookReceipt(scope=scope, digest=digest))
    except IntegrityError:
        return False
    return True


def prune_receipts(app: Flask) -> int:
    """Delete receipts no replay can match any more.

    A timestamp may be up to ``WEBHOOK_TOLERANCE_S`` in the future, so a delivery stays
    acceptable until twice the tolerance after its receipt; older receipts are dead weight.
    """
    with app.app_context():
        cutoff = utcnow() - timedelta(seconds=2 * app.config["WEBHOOK_TOLERANCE_S"])
        result = db.session.execute(WebhookReceipt.__table__.delete()
                                    .where(WebhookReceipt.received_at < cutoff))
        db.session.commit()
        return result.rowcount or 0


def last_fire_time(cron: str, timezone: str, now: datetime | None = None) -> datetime:
    """The most recent fire time at or before ``now`` (naive UTC), the key of a fire."""
    tz = ZoneInfo(timezone)
    local_now = (now or datetime.now(UTC)).astimezone(tz)
    it = croniter(cron, local_now + _EPSILON)
    return it.get_prev(datetime).astimezone(UTC).replace(tzinfo=None)


_EPSILON = timedelta(seconds=1)


def fire_schedule(app: Flask, workflow_id: int) -> int | None:
    """Run by the scheduler at each cron fire: start one execution per fire time, at most."""
    from atom.engine.workflows import current_definition

    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        if workflow is None or not workflow.enabled or workflow.trigger_type != "schedule":
            return None
        trigger = current_definition(workflow)["trigger"]
        fire_time = last_fire_time(trigger["cron"], trigger.get("timezone", "UTC"))
        claim = ScheduleFire(workflow_id=workflow_id, fire_time=fire_time)
        db.session.add(claim)
        try:
            db.session.commit()
        except Exception:  # the unique key: another process fired this time already
            db.session.rollback()
            return None
        try:
            execution, _ = get_engine(app).start(
                workflow, {"fired_at": fire_time.isoformat() + "Z", "cron": trigger["cron"]},
                "schedule", idempotency_key=f"schedule:{fire_time.isoformat()}")
        except ExecutionRefused as exc:
            logger.warning("schedule did not start workflow %s at %s: %s", workflow_id, fire_time, exc)
            return None
        claim.execution_id = execution.id
        db.session.commit()
        logger.info("schedule fired workflow %s (execution %s)", workflow_id, execution.id)
        return execution.id


def schedule_jobs(app: Flask) -> list[Any]:
    """Scheduler provider: one cron job per enabled schedule-triggered workflow."""
    from atom.engine.workflows import current_definition
    from atom.scheduler import JobSpec

    with app.app_context():
        jobs = []
        for workflow in db.session.scalars(db.select(Workflow).filter_by(
                trigger_type="schedule", enabled=True, deleted_at=None)):
            trigger = current_definition(workflow)["trigger"]
            jobs.append(JobSpec(
                id=f"workflow:{workflow.id}:v{workflow.version}", func=fire_schedule,
                trigger="cron",
                trigger_args={**cron_trigger_args(trigger["cron"]),
                              "timezone": trigger.get("timezone", "UTC")},
                kwargs={"app": app, "workflow_id": workflow.id}))
        return jobs


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th"}


def cron_trigger_args(cron: str) -> dict[str, str]:
    """A (valid, five-field) cron expression as APScheduler 3's cron trigger arguments.

    APScheduler 3 numbers weekdays from Monday (0 = Monday), cron from Sunday (0 and 7 =
    Sunday): passed through, ``1-5`` fired Tuesday to Saturday and the Saturday fire found
    Friday's already taken, so Monday never ran. The weekdays go by name instead, and cron's
    ``5#2`` (the second Friday) becomes APScheduler's ``2nd fri``.
    """
    minute, hour, day, month, dow = cron.split()
    if dow == "*":
        return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": "*"}
    expanded, nth = croniter.expand(cron)
    if nth and day == "*":
        day = ",".join(f"{_ORDINALS[n]} {_WEEKDAYS[d % 7]}" for d, ns in sorted(nth.items())
                       for n in sorted(ns))
        return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": "*"}
    days = sorted({d % 7 for d in expanded[4] if d != "*"})
    names = ",".join(_WEEKDAYS[d] for d in days) if days else "*"
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": names}


def prune_executions(app: Flask) -> int:
    """Delete finished executions older than ``EXECUTION_RETENTION_DAYS``, and the item ids
    polls saw longer ago than ``POLL_ITEM_RETENTION_DAYS``."""
    from atom.models import Execution
    from atom.models import StepRun

    with app.app_context():
        cutoff = utcnow() - timedelta(days=app.config["EXECUTION_RETENTION_DAYS"])
        old = db.select(Execution.id).where(Execution.finished_at < cutoff,
                                            Execution.status.in_(EXECUTION_FINAL))
        ids = list(db.session.scalars(old))
        if ids:
            db.session.execute(StepRun.__table__.delete().where(StepRun.execution_id.in_(ids)))
            db.session.execute(db.update(Execution).where(Execution.parent_id.in_(ids)).values(parent_id=None))
            db.session.execute(Execution.__table__.delete().where(Execution.id.in_(ids)))
            db.session.execute(ScheduleFire.__table__.delete().where(ScheduleFire.fire_time < cutoff))
        db.session.commit()
    prune_poll_items(app)
    return len(ids)


def maintenance_jobs(app: Flask) -> list[Any]:
    """Scheduler provider: the engine's periodic jobs. Prune old executions (and old poll item
    ids) once a day, run counters past the per-minute window every minute, expired webhook
    receipts once per tolerance window, and poll the due poll
    triggers every ``POLL_TICK_S`` (in the one scheduler process, like health checks), and wake
    the executions whose durable timer is due every ``TIMER_TICK_S`` (atom/engine/timers.py)."""
    from atom.engine.timers import timer_jobs
    from atom.scheduler import JobSpec

    return [*timer_jobs(app),
            JobSpec(id="engine:poll", func=run_polls, trigger="interval",
                    trigger_args={"seconds": float(app.config["POLL_TICK_S"])},
                    kwargs={"app": app}),
            JobSpec(id="engine:prune", func=prune_executions, trigger="interval",
                    trigger_args={"hours": 24}, kwargs={"app": app}),
            JobSpec(id="engine:prune-run-counts", func=prune_run_counts, trigger="interval",
                    trigger_args={"seconds": WINDOW_S}, kwargs={"app": app}),
            JobSpec(id="engine:prune-receipts", func=prune_receipts, trigger="interval",
                    trigger_args={"seconds": max(60, int(app.config["WEBHOOK_TOLERANCE_S"]))},
                    kwargs={"app": app})]
