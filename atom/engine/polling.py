"""Polling triggers: the scheduler's poll job, the cursors it keeps, and what it fires.

A workflow asks for a poll trigger as for any event trigger::

    {"type": "event", "service": "gmail", "event": "new_message",
     "connection_id": 3, "params": {"query": "from:billing@example.com"}, "interval_s": 120}

``connection_id``, ``params`` and ``interval_s`` are optional. Without ``connection_id`` every
enabled connection of the service is polled. Workflows that come to the same connection,
trigger and parameters share one :class:`~atom.models.PollCursor` (polled at the shortest of
their intervals), and each of them starts once per new item.

The scheduler (one process of the deployment) runs :func:`run_polls` every ``POLL_TICK_S``
seconds. A tick brings the cursors in line with the enabled workflows (new ones made, unused
ones deleted with the item ids they saw) and polls those that are due. One poll, in order:

1. events an earlier poll of the cursor stored but did not hand to the engine (the process
   died between 3 and 4) are dispatched first;
2. the plugin's ``Poll.method`` is called with the trigger's params and the stored cursor
   (``None`` on the first, priming poll; a :class:`CursorExpired` calls it again with ``None``:
   a full resync);
3. one transaction records each returned item whose id is new as a :class:`PollItem` (unique
   per cursor and item id) with a :class:`WebhookEvent` for it, and stores the new cursor; a
   priming poll records the items as seen and stores no event;
4. the events go to :func:`atom.engine.triggers.dispatch_events`, which starts each matching
   workflow once per event (idempotency key ``event:<id>``).

A crash before 3 leaves the old cursor, so the same items come back and fire then; a crash
between 3 and 4 leaves the events pending for step 1; the unique item id means an item never
fires twice. A failed poll keeps the cursor, records the error on it and is retried after its
interval, doubled after each further failure up to ``POLL_MAX_BACKOFF_S`` (never sooner than a
``Retry-After`` the service sent).

The plugin side (``PollPage`` semantics) is in :func:`Poller.poll` and the README.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Callable
from typing import Iterator

from flask import Flask
from marshmallow import RAISE
from marshmallow import ValidationError
from prometheus_client.core import CounterMetricFamily
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import SQLAlchemyError

from atom.engine.definition import POLL_MAX_INTERVAL_S
from atom.extensions import db
from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import CursorExpired
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.manifest import Poll
from atom.integrations.manifest import Trigger
from atom.integrations.registry import Registry
from atom.integrations.registry import UnknownPlugin
from atom.integrations.runtime import redacting
from atom.models import Connection
from atom.models import PollCursor
from atom.models import PollItem
from atom.models import WebhookEvent
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.base import isoformat
from atom.models.base import utcnow

logger = logging.getLogger(__name__)

EXTENSION = "atom.polling"
DELIVERY_PREFIX = "poll:"
# Column widths: PollItem.item_id and WebhookEvent.delivery_id.
_ITEM_ID_CHARS = 200
_DELIVERY_ID_CHARS = 200
# Characters of the params hash in a delivery id: enough to tell parameter sets apart.
_HASH_CHARS = 16
_IN_CHUNK = 500
OUTCOMES = ("primed", "ok", "resynced", "failed")

Key = tuple[int, str, str]  # connection id, trigger, params hash


# -- identities ----------------------------------------------------------------------------------


def poll_spec(registry: Registry, service: str, event: str) -> Trigger | None:
    """The manifest's trigger ``event`` of ``service`` if it is delivered by polling."""
    try:
        manifest = registry.get(service).manifest
    except UnknownPlugin:
        return None
    spec = manifest.trigger(event) if manifest is not None else None
    return spec if spec is not None and isinstance(spec.delivery, Poll) else None


def load_params(spec: Trigger, params: dict[str, Any] | None) -> dict[str, Any]:
    """The trigger params as the plugin gets them: loaded by the trigger's params schema
    (defaults filled in); ``{}`` for a trigger without params.

    :raises ValidationError: the params no longer fit the schema.
    """
    if spec.params is None:
        return {}
    return spec.params(unknown=RAISE).load(params or {})


def params_hash(spec: Trigger, params: dict[str, Any] | None) -> str:
    """Which cursor a workflow's params belong to: equal once loaded means equal.

    :raises ValidationError: the params no longer fit the trigger's schema.
    """
    loaded = load_params(spec, params)
    canonical = json.dumps(loaded, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def item_key(raw: Any) -> str:
    """An item's id as stored: its text, or a hash of it when it is too long for the column."""
    text = str(raw)
    if len(text) <= _ITEM_ID_CHARS:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def delivery_prefix(trigger: str, phash: str) -> str:
    return f"{DELIVERY_PREFIX}{trigger}:{phash[:_HASH_CHARS]}:"


def delivery_id(trigger: str, phash: str, key: str) -> str:
    """``poll:<trigger>:<params hash, 16 hex>:<item id>``: unique per connection (the
    webhook events' key) because two cursors of one connection and trigger differ in their
    params, and may both see one item."""
    did = delivery_prefix(trigger, phash) + key
    if len(did) <= _DELIVERY_ID_CHARS:
        return did
    return delivery_prefix(trigger[:100], phash) + "#" + hashlib.sha256(key.encode()).hexdigest()


def delivery_params(did: str) -> str | None:
    """The params hash (16 hex) of a poll delivery id, None for any other delivery id."""
    if not did.startswith(DELIVERY_PREFIX):
        return None
    parts = did.split(":", 3)
    return parts[2] if len(parts) == 4 and len(parts[2]) == _HASH_CHARS else None


def event_filter(event: WebhookEvent, registry: Registry) -> Callable[[dict[str, Any]], bool] | None:
    """For an event a poll stored: whether a workflow trigger asks for the event's params
    (``dispatch_events`` starts only those). None for any other event."""
    wanted = delivery_params(event.delivery_id)
    spec = poll_spec(registry, event.integration, event.event) if wanted else None
    if spec is None:
        return None

    def matches(trigger: dict[str, Any]) -> bool:
        try:
            return params_hash(spec, trigger.get("params"))[:_HASH_CHARS] == wanted
        except ValidationError:
            return False

    return matches


def interval_of(spec: Trigger, asked: Any, minimum: float) -> float:
    """A trigger's poll interval: the workflow's ``interval_s`` or the trigger's default,
    within ``POLL_MIN_INTERVAL_S`` and a day."""
    assert isinstance(spec.delivery, Poll)
    value = float(asked) if asked is not None else float(spec.delivery.interval_s)
    return min(max(value, float(minimum)), float(POLL_MAX_INTERVAL_S))


def backoff_s(interval: float, failures: int, retry_after: float | None, cap: float) -> float:
    """Seconds to the next poll after ``failures`` failures in a row: the interval, doubled
    after each further failure up to ``cap`` (or the interval, when longer), and never less
    than the service's ``Retry-After`` (up to a day)."""
    delay = min(interval * 2 ** min(max(failures, 1) - 1, 30), max(interval, cap))
    if retry_after:
        delay = max(delay, min(float(retry_after), float(POLL_MAX_INTERVAL_S)))
    return delay


# -- who polls what -------------------------------------------------------------------------------


@dataclass
class Subscription:
    """What the enabled workflows ask of one cursor."""

    connection_id: int
    integration: str
    trigger: str
    params_hash: str
    params: dict[str, Any]
    interval_s: float
    workflows: list[int] = field(default_factory=list)
    cursor_id: int | None = None

    @property
    def key(self) -> Key:
        return (self.connection_id, self.trigger, self.params_hash)


def subscriptions(app: Flask, warned: set | None = None) -> dict[Key, Subscription]:
    """The cursors the enabled workflows need now (read only; :func:`sync_cursors` writes).

    :param warned: (workflow, version) pairs already logged as unusable, to log each once.
    """
    from atom.state import get_state

    registry = get_state(app).registry
    minimum = float(app.config["POLL_MIN_INTERVAL_S"])
    specs = {(p.name, t.name): t for p in registry.loaded() if p.manifest is not None
             for t in p.manifest.poll_triggers()}
    services = sorted({service for service, _ in specs})
    if not services:
        return {}
    enabled: dict[str, list[int]] = {}
    for conn_id, integration in db.session.execute(
            db.select(Connection.id, Connection.integration)
            .where(Connection.integration.in_(services), Connection.enabled.is_(True))
            .order_by(Connection.id)):
        enabled.setdefault(integration, []).append(conn_id)
    rows = db.session.execute(
        db.select(Workflow.id, Workflow.version, Workflow.trigger_service, Workflow.trigger_event,
                  WorkflowVersion.definition)
        .join(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
              & (WorkflowVersion.version == Workflow.version))
        .where(Workflow.trigger_type == "event", Workflow.enabled.is_(True),
               Workflow.deleted_at.is_(None), Workflow.trigger_service.in_(services))
        .order_by(Workflow.id))
    subs: dict[Key, Subscription] = {}
    for wf_id, version, service, event, definition in rows:
        spec = specs.get((service, event))
        if spec is None:
            continue
        trigger = (definition or {}).get("trigger") or {}
        try:
            phash = params_hash(spec, trigger.get("params"))
        except ValidationError as exc:
            if warned is None or (wf_id, version) not in warned:
                logger.warning("workflow %s: its %s %s params no longer fit the trigger (%s); "
                               "not polling for it", wf_id, service, event,
                               exc.normalized_messages())
                if warned is not None:
                    warned.add((wf_id, version))
            continue
        interval = interval_of(spec, trigger.get("interval_s"), minimum)
        bound = trigger.get("connection_id")
        targets = enabled.get(service, [])
        if bound is not None:
            targets = [bound] if bound in targets else []
        for conn_id in targets:
            key = (conn_id, event, phash)
            sub = subs.get(key)
            if sub is None:
                sub = subs[key] = Subscription(conn_id, service, event, phash,
                                               dict(trigger.get("params") or {}), interval)
            sub.interval_s = min(sub.interval_s, interval)
            sub.workflows.append(wf_id)
    return subs


def sync_cursors(app: Flask, now: datetime, warned: set | None = None) -> dict[Key, Subscription]:
    """Make the cursors match the enabled workflows: create the missing ones (due now: their
    first poll primes), bring a shortened interval forward, delete those nobody uses (with the
    item ids they saw). Returns the subscriptions, each with its ``cursor_id``.

    Cursors of an integration whose plugin did not load are kept, unpolled: a missing
    dependency after an upgrade must not make all of them prime again (and miss what came
    meanwhile)."""
    from atom.state import get_state

    subs = subscriptions(app, warned)
    registry = get_state(app).registry
    existing = db.session.execute(
        db.select(PollCursor, Connection.integration)
        .join(Connection, Connection.id == PollCursor.connection_id)).all()
    unused = []
    for cursor, integration in existing:
        sub = subs.get((cursor.connection_id, cursor.trigger, cursor.params_hash))
        if sub is None:
            if integration in registry:
                unused.append(cursor.id)
            continue
        sub.cursor_id = cursor.id
        if cursor.consecutive_failures == 0:
            soonest = (cursor.last_poll_at or now) + timedelta(seconds=sub.interval_s)
            if cursor.next_poll_at is None or cursor.next_poll_at > soonest:
                cursor.next_poll_at = soonest
    if unused:
        db.session.execute(PollItem.__table__.delete().where(PollItem.cursor_id.in_(unused)))
        db.session.execute(PollCursor.__table__.delete().where(PollCursor.id.in_(unused)))
        logger.info("removed %d poll cursor(s) no enabled workflow uses", len(unused))
    for sub in subs.values():
        if sub.cursor_id is not None:
            continue
        cursor = PollCursor(connection_id=sub.connection_id, trigger=sub.trigger,
                            params_hash=sub.params_hash, params=sub.params, next_poll_at=now,
                            consecutive_failures=0, items_fired=0, created_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(cursor)
        except IntegrityError:  # made concurrently (a second scheduler during a hand-over)
            sub.cursor_id = db.session.scalar(db.select(PollCursor.id).filter_by(
                connection_id=sub.connection_id, trigger=sub.trigger,
                params_hash=sub.params_hash))
            continue
        sub.cursor_id = cursor.id
    db.session.commit()
    return subs


# -- metrics -----------------------------------------------------------------------------------------


class PollStats:
    """Polls of this process by outcome, errors by class and items fired: counted where the
    polls run (the scheduler's process), like ``atom_api_calls_total``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.polls: dict[tuple[str, str, str], int] = {}
        self.errors: dict[tuple[str, str, str], int] = {}
        self.items: dict[tuple[str, str], int] = {}
        self.seconds: dict[tuple[str, str], float] = {}

    def add(self, integration: str, trigger: str, outcome: str, seconds: float,
            fired: int = 0, error_class: str | None = None) -> None:
        with self._lock:
            key = (integration, trigger, outcome)
            self.polls[key] = self.polls.get(key, 0) + 1
            pair = (integration, trigger)
            self.seconds[pair] = self.seconds.get(pair, 0.0) + seconds
            if fired:
                self.items[pair] = self.items.get(pair, 0) + fired
            if error_class:
                ekey = (integration, trigger, error_class)
                self.errors[ekey] = self.errors.get(ekey, 0) + 1

    def snapshot(self) -> tuple[dict, dict, dict, dict]:
        with self._lock:
            return dict(self.polls), dict(self.errors), dict(self.items), dict(self.seconds)


class PollCollector(Collector):
    """``atom_polls_total{integration,trigger,outcome}``, ``atom_poll_errors_total``,
    ``atom_poll_items_fired_total`` and ``atom_poll_seconds_total`` from this process, and
    per-cursor state read from the database at scrape time (the same in every worker):
    ``atom_poll_cursors{state}``, ``atom_poll_consecutive_failures`` and
    ``atom_poll_last_poll_timestamp_seconds``."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Any]:
        polls, errors, items, seconds = get_poller(self.app).stats.snapshot()
        total = CounterMetricFamily("atom_polls", "Polls run in this process, by outcome "
                                    "(primed, ok, resynced, failed)",
                                    labels=["integration", "trigger", "outcome"])
        for labels, count in sorted(polls.items()):
            total.add_metric(list(labels), count)
        yield total
        failed = CounterMetricFamily("atom_poll_errors", "Failed polls in this process, by "
                                     "error class", labels=["integration", "trigger", "error_class"])
        for labels, count in sorted(errors.items()):
            failed.add_metric(list(labels), count)
        yield failed
        fired = CounterMetricFamily("atom_poll_items_fired", "New items polls in this process "
                                    "handed to workflows", labels=["integration", "trigger"])
        for labels, count in sorted(items.items()):
            fired.add_metric(list(labels), count)
        yield fired
        spent = CounterMetricFamily("atom_poll_seconds", "Seconds spent polling in this process",
                                    labels=["integration", "trigger"])
        for labels, value in sorted(seconds.items()):
            spent.add_metric(list(labels), value)
        yield spent
        yield from self._cursors()

    def _cursors(self) -> Iterator[Any]:
        with self.app.app_context():
            rows = db.session.execute(
                db.select(PollCursor, Connection.integration)
                .join(Connection, Connection.id == PollCursor.connection_id)
                .order_by(PollCursor.id)).all()
        states = GaugeMetricFamily("atom_poll_cursors", "Poll cursors by state (unprimed: never "
                                   "polled successfully; failing: the last poll failed)",
                                   labels=["integration", "trigger", "state"])
        failures = GaugeMetricFamily("atom_poll_consecutive_failures",
                                     "Failed polls in a row, per cursor",
                                     labels=["integration", "trigger", "connection_id", "cursor_id"])
        last = GaugeMetricFamily("atom_poll_last_poll_timestamp_seconds",
                                 "When the cursor was last polled (Unix time)",
                                 labels=["integration", "trigger", "connection_id", "cursor_id"])
        counts: dict[tuple[str, str, str], int] = {}
        for cursor, integration in rows:
            state = ("failing" if cursor.last_ok is False
                     else "unprimed" if cursor.primed_at is None else "ok")
            for name in ("ok", "failing", "unprimed"):
                key = (integration, cursor.trigger, name)
                counts[key] = counts.get(key, 0) + (name == state)
            labels = [integration, cursor.trigger, str(cursor.connection_id), str(cursor.id)]
            failures.add_metric(labels, cursor.consecutive_failures or 0)
            if cursor.last_poll_at is not None:
                last.add_metric(labels, (cursor.last_poll_at - datetime(1970, 1, 1)).total_seconds())
        for labels, count in sorted(counts.items()):
            states.add_metric(list(labels), count)
        yield from (states, failures, last)


# -- the poller ------------------------------------------------------------------------------------


@dataclass
class PollResult:
    cursor_id: int
    outcome: str  # primed | ok | resynced | failed | skipped
    fired: int = 0
    events: list[int] = field(default_factory=list)
    executions: list[int] = field(default_factory=list)
    error_class: str | None = None


class Poller:
    """The polling state of one app in one process.

    :ivar clock: the current naive-UTC time; tests replace it to let time pass.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.clock: Callable[[], datetime] = utcnow
        self.stats = PollStats()
        self._tick_lock = threading.Lock()
        self._warned: set[tuple[int, int]] = set()

    def now(self) -> datetime:
        return self.clock()

    # -- the job -----------------------------------------------------------------------------

    def tick(self) -> list[PollResult]:
        """Sync the cursors with the workflows and poll every due one (the scheduler's job).

        One tick at a time in this process; a tick already running makes this a no-op.
        """
        if not self._tick_lock.acquire(blocking=False):
            return []
        try:
            with self.app.app_context():
                now = self.now()
                subs = sync_cursors(self.app, now, self._warned)
                due = self._due(subs, now)
            if not due:
                return []
            workers = min(int(self.app.config["POLL_CONCURRENCY"]), len(due))
            if workers <= 1:
                return [self._guarded(sub) for sub in due]
            with ThreadPoolExecutor(workers, thread_name_prefix="atom-poll") as pool:
                return list(pool.map(self._guarded, due))
        finally:
            self._tick_lock.release()

    def _due(self, subs: dict[Key, Subscription], now: datetime) -> list[Subscription]:
        by_cursor = {s.cursor_id: s for s in subs.values() if s.cursor_id is not None}
        limit = int(self.app.config["POLL_MAX_PER_TICK"])
        due = []
        for cursor_id in db.session.scalars(
                db.select(PollCursor.id).where(PollCursor.next_poll_at <= now)
                .order_by(PollCursor.next_poll_at, PollCursor.id)):
            sub = by_cursor.get(cursor_id)
            if sub is not None:
                due.append(sub)
                if len(due) == limit:
                    break
        return due

    def _guarded(self, sub: Subscription) -> PollResult:
        try:
            return self.poll(sub)
        except Exception:  # one bad poll must not end the tick (nor the others on the pool)
            logger.exception("poll of cursor %s failed unexpectedly", sub.cursor_id)
            return PollResult(sub.cursor_id or 0, "failed", error_class="internal")

    # -- one poll ------------------------------------------------------------------------------

    def poll(self, sub: Subscription) -> PollResult:
        """Poll one cursor now (if no other poll claimed it) and fire its new items.

        The plugin's method gets ``(params, cursor)`` and returns ``PollPage(items, cursor)``:

        * ``params``: the workflow trigger's ``params`` loaded by the trigger's params schema
          (defaults filled in), ``{}`` for a trigger without params;
        * ``cursor``: ``None`` on the first poll (prime: the items returned are recorded as
          seen and fire nothing; return the current cursor) and on a resync after the plugin
          raised :class:`CursorExpired`; otherwise the last cursor a page returned;
        * ``items``: dicts, oldest first, each with the trigger's ``item_id`` field (a dotted
          path; a string or a number); each new one is a workflow's ``trigger`` payload;
        * the page's ``cursor``: the cursor for next time (text; ``None`` keeps the stored
          one, so a plugin without cursors returns ``None`` and de-duplication on item ids
          does the rest).
        """
        assert sub.cursor_id is not None
        started = time.perf_counter()
        with self.app.app_context():
            now = self.now()
            cursor = db.session.get(PollCursor, sub.cursor_id)
            conn = db.session.get(Connection, sub.connection_id)
            if cursor is None or conn is None or not conn.enabled:
                return PollResult(sub.cursor_id, "skipped")
            if not self._claim(cursor, now, sub.interval_s):
                return PollResult(sub.cursor_id, "skipped")
            executions = self._dispatch_pending(sub)
            try:
                page, resynced, integ = self._fetch(conn, cursor, sub)
                items, next_cursor = _page_items(page, self._spec(conn, sub), integ)
            except IntegrationError as exc:
                return self._failed(sub, exc, now, started)
            except Exception as exc:  # a plugin bug: recorded like a failed call, not raised
                logger.exception("poll of %s %s (connection %s) raised", sub.integration,
                                 sub.trigger, sub.connection_id)
                return self._failed(sub, UpstreamError(f"plugin error: {type(exc).__name__}"),
                                    now, started)
            try:
                outcome, event_ids = self._record(sub, next_cursor, items, resynced, now)
            except SQLAlchemyError as exc:
                db.session.rollback()
                logger.exception("storing the poll of cursor %s failed", sub.cursor_id)
                error = IntegrationError(f"storing the poll's items failed: {type(exc).__name__}")
                error.code = "internal"
                return self._failed(sub, error, now, started)
            executions += self._dispatch(event_ids)
            self.stats.add(sub.integration, sub.trigger, outcome, time.perf_counter() - started,
                           fired=len(event_ids))
            if event_ids or outcome != "ok":
                logger.info("poll of %s %s (connection %s, cursor %s): %s, %d new item(s)",
                            sub.integration, sub.trigger, sub.connection_id, sub.cursor_id,
                            outcome, len(event_ids))
            return PollResult(sub.cursor_id, outcome, len(event_ids), event_ids, executions)

    def _spec(self, conn: Connection, sub: Subscription) -> Trigger:
        from atom.state import get_state

        spec = poll_spec(get_state(self.app).registry, conn.integration, sub.trigger)
        if spec is None:
            raise ValidationFailed(f"{conn.integration} has no poll trigger {sub.trigger!r}")
        return spec

    def _claim(self, cursor: PollCursor, now: datetime, interval: float) -> bool:
        """Take the poll: move ``next_poll_at`` on by an interval, if no one moved it since we
        read it (a process that dies mid-poll leaves it there: polled again an interval on)."""
        seen = cursor.next_poll_at
        condition = (PollCursor.next_poll_at.is_(None) if seen is None
                     else PollCursor.next_poll_at == seen)
        result = db.session.execute(
            db.update(PollCursor).where(PollCursor.id == cursor.id, condition)
            .values(next_poll_at=now + timedelta(seconds=interval)))
        db.session.commit()
        return bool(result.rowcount)

    def _fetch(self, conn: Connection, cursor: PollCursor, sub: Subscription
               ) -> tuple[Any, bool, Integration]:
        from atom.state import get_state

        spec = self._spec(conn, sub)
        assert isinstance(spec.delivery, Poll)
        try:
            params = load_params(spec, cursor.params)
        except ValidationError as exc:
            raise ValidationFailed("the trigger's params no longer fit its schema",
                                   details=exc.normalized_messages()) from exc
        integ = get_state(self.app).runtime.integration(conn)
        method = getattr(integ, spec.delivery.method)
        primed = cursor.primed_at is not None
        with redacting(integ):
            try:
                try:
                    return method(params, cursor.cursor if primed else None), False, integ
                except CursorExpired as exc:
                    if not primed:
                        raise
                    logger.info("%s %s (connection %s): the cursor expired (%s); resyncing",
                                sub.integration, sub.trigger, sub.connection_id, exc.message)
                    return method(params, None), True, integ
            except (KeyError, TypeError, ValueError) as exc:
                # A response without the fields the plugin expects: the service's answer.
                raise UpstreamError(f"unexpected answer from {conn.integration}: "
                                    f"{type(exc).__name__}: {exc}") from exc

    def _record(self, sub: Subscription, next_cursor: str | None,
                items: list[tuple[str, dict[str, Any]]], resynced: bool, now: datetime
                ) -> tuple[str, list[int]]:
        """One transaction: the new items (with their events) and the new cursor."""
        cursor = db.session.get(PollCursor, sub.cursor_id)
        assert cursor is not None
        keys = list(dict.fromkeys(key for key, _ in items))
        seen = _seen(cursor.id, keys)
        events: list[WebhookEvent] = []
        if cursor.primed_at is None:
            outcome = "primed"
            db.session.add_all(PollItem(cursor_id=cursor.id, item_id=key, seen_at=now)
                               for key in keys if key not in seen)
            cursor.primed_at = now
        else:
            outcome = "resynced" if resynced else "ok"
            new: dict[str, dict[str, Any]] = {}
            for key, payload in items:
                if key not in seen:
                    new.setdefault(key, payload)
            for key, payload in new.items():
                event = WebhookEvent(integration=sub.integration, connection_id=sub.connection_id,
                                     delivery_id=delivery_id(sub.trigger, sub.params_hash, key),
                                     event=sub.trigger, payload=payload, received_at=now)
                try:
                    with db.session.begin_nested():
                        db.session.add(PollItem(cursor_id=cursor.id, item_id=key, seen_at=now))
                        db.session.add(event)
                except IntegrityError:
                    # Seen by a concurrent poll, or fired before its item id was pruned: it
                    # stays seen and does not fire again.
                    _mark_seen(cursor.id, key, now)
                    continue
                events.append(event)
        if next_cursor is not None:
            cursor.cursor = next_cursor
        cursor.last_poll_at = now
        cursor.last_ok = True
        cursor.last_error_class = None
        cursor.last_error_message = None
        cursor.consecutive_failures = 0
        cursor.items_fired = (cursor.items_fired or 0) + len(events)
        cursor.next_poll_at = now + timedelta(seconds=sub.interval_s)
        db.session.flush()
        event_ids = [e.id for e in events]
        db.session.commit()
        return outcome, event_ids

    def _dispatch(self, event_ids: list[int]) -> list[int]:
        """Hand events to the engine; on failure they stay pending for the next poll."""
        from atom.engine.triggers import dispatch_events

        if not event_ids:
            return []
        try:
            return dispatch_events(event_ids)
        except Exception:
            db.session.rollback()
            logger.exception("dispatching poll events %s failed; the next poll retries", event_ids)
            return []

    def _dispatch_pending(self, sub: Subscription) -> list[int]:
        """Events an earlier poll stored but never dispatched (the process died in between)."""
        pending = list(db.session.scalars(
            db.select(WebhookEvent.id)
            .where(WebhookEvent.connection_id == sub.connection_id,
                   WebhookEvent.event == sub.trigger, WebhookEvent.status == "pending",
                   WebhookEvent.delivery_id.startswith(delivery_prefix(sub.trigger, sub.params_hash),
                                                       autoescape=True))
            .order_by(WebhookEvent.id)))
        if pending:
            logger.info("cursor %s: dispatching %d event(s) an earlier poll left pending",
                        sub.cursor_id, len(pending))
        return self._dispatch(pending)

    def _failed(self, sub: Subscription, exc: IntegrationError, now: datetime,
                started: float) -> PollResult:
        db.session.rollback()
        cursor = db.session.get(PollCursor, sub.cursor_id)
        if cursor is None:
            return PollResult(sub.cursor_id or 0, "skipped")
        failures = (cursor.consecutive_failures or 0) + 1
        cap = float(self.app.config["POLL_MAX_BACKOFF_S"])
        delay = backoff_s(sub.interval_s, failures, exc.retry_after, cap)
        cursor.last_poll_at = now
        cursor.last_ok = False
        cursor.last_error_class = exc.code[:32]
        cursor.last_error_message = exc.message[:500]
        cursor.consecutive_failures = failures
        cursor.next_poll_at = now + timedelta(seconds=delay)
        db.session.commit()
        self.stats.add(sub.integration, sub.trigger, "failed", time.perf_counter() - started,
                       error_class=exc.code)
        logger.warning("poll of %s %s (connection %s, cursor %s) failed (%d in a row): %s: %s; "
                       "next in %.0f s", sub.integration, sub.trigger, sub.connection_id,
                       sub.cursor_id, failures, exc.code, exc.message, delay)
        return PollResult(sub.cursor_id or 0, "failed", error_class=exc.code)


def _page_items(page: Any, spec: Trigger, integ: Integration
                ) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """The page's items as (item key, payload) and its cursor; a page that breaks the contract
    fails the poll (nothing is stored, the cursor stays)."""
    assert isinstance(spec.delivery, Poll)
    name = spec.delivery.method
    if not isinstance(page, PollPage):
        raise UpstreamError(f"{name} returned {type(page).__name__}, not a PollPage")
    if not isinstance(page.items, (list, tuple)):
        raise UpstreamError(f"{name} returned items that are not a list")
    redactor = integ.http.redactor
    out = []
    for item in page.items:
        if not isinstance(item, dict):
            raise UpstreamError(f"{name} returned an item that is not an object")
        raw = _lookup(item, spec.delivery.item_id)
        if raw is None or raw == "" or isinstance(raw, (dict, list, bool)):
            raise UpstreamError(f"{name} returned an item without its {spec.delivery.item_id!r}")
        payload = json.loads(json.dumps(item, default=str))
        if redactor is not None:
            payload = redactor.value(payload)
        out.append((item_key(raw), payload))
    cursor = page.cursor
    return out, (None if cursor is None else str(cursor))


def _lookup(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _seen(cursor_id: int, keys: list[str]) -> set[str]:
    seen: set[str] = set()
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start:start + _IN_CHUNK]
        seen.update(db.session.scalars(db.select(PollItem.item_id).where(
            PollItem.cursor_id == cursor_id, PollItem.item_id.in_(chunk))))
    return seen


def _mark_seen(cursor_id: int, key: str, now: datetime) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(PollItem(cursor_id=cursor_id, item_id=key, seen_at=now))
    except IntegrityError:
        pass


# -- entry points ---------------------------------------------------------------------------------


def init_app(app: Flask) -> Poller:
    poller = Poller(app)
    app.extensions[EXTENSION] = poller
    return poller


def get_poller(app: Flask) -> Poller:
    return app.extensions[EXTENSION]


def run_polls(app: Flask) -> list[PollResult]:
    """The scheduler's poll job (``engine:poll``, every ``POLL_TICK_S``)."""
    try:
        return get_poller(app).tick()
    except Exception:  # never let one bad tick take the job down
        logger.exception("poll tick failed")
        return []


def prune_poll_items(app: Flask, now: datetime | None = None) -> int:
    """Forget item ids, and the events polls stored, older than ``POLL_ITEM_RETENTION_DAYS``;
    returns how many item ids. Run by the daily ``engine:prune``.

    A pending poll event is dispatched by its cursor's next poll (within a day); one that old
    belongs to a cursor nobody polls any more."""
    with app.app_context():
        cutoff = (now or get_poller(app).now()) - timedelta(days=app.config["POLL_ITEM_RETENTION_DAYS"])
        result = db.session.execute(PollItem.__table__.delete().where(PollItem.seen_at < cutoff))
        db.session.execute(WebhookEvent.__table__.delete().where(
            WebhookEvent.delivery_id.startswith(DELIVERY_PREFIX, autoescape=True),
            WebhookEvent.received_at < cutoff))
        db.session.commit()
        return result.rowcount or 0


def present(cursor: PollCursor, conn: Connection | None, sub: Subscription | None) -> dict[str, Any]:
    """A cursor as ``GET /api/v2/triggers/polls`` shows it (never the vendor's cursor)."""
    return {
        "id": cursor.id,
        "connection_id": cursor.connection_id,
        "connection": conn.label if conn else None,
        "integration": conn.integration if conn else None,
        "trigger": cursor.trigger,
        "params": cursor.params or {},
        "interval_s": sub.interval_s if sub else None,
        "workflows": list(sub.workflows) if sub else [],
        "primed": cursor.primed_at is not None,
        "primed_at": isoformat(cursor.primed_at),
        "last_poll_at": isoformat(cursor.last_poll_at),
        "next_poll_at": isoformat(cursor.next_poll_at),
        "last_ok": cursor.last_ok,
        "last_error": (None if cursor.last_ok is not False else
                       {"class": cursor.last_error_class, "message": cursor.last_error_message}),
        "consecutive_failures": cursor.consecutive_failures or 0,
        "items_fired": cursor.items_fired or 0,
        "created_at": isoformat(cursor.created_at),
    }


def poll_states(app: Any, integration: str | None = None, connection_id: int | None = None,
                failing: bool | None = None) -> list[dict[str, Any]]:
    """Every poll cursor as :func:`present` shows it, filtered (the API's
    ``GET /api/v2/triggers/polls`` and the dashboard's polls page)."""
    stmt = (db.select(PollCursor, Connection)
            .join(Connection, Connection.id == PollCursor.connection_id)
            .order_by(PollCursor.id))
    if integration:
        stmt = stmt.where(Connection.integration == integration)
    if connection_id is not None:
        stmt = stmt.where(PollCursor.connection_id == connection_id)
    if failing is not None:
        stmt = stmt.where(PollCursor.last_ok.is_(False) if failing
                          else PollCursor.last_ok.is_not(False))
    subs = {s.key: s for s in subscriptions(app).values()}
    return [present(cursor, conn, subs.get((cursor.connection_id, cursor.trigger, cursor.params_hash)))
            for cursor, conn in db.session.execute(stmt)]


def poll_soon(connection_id: int, triggers: tuple[str, ...] = ()) -> int:
    """Make a connection's poll cursors (of ``triggers``, or all) due now: a verified push
    notification (Google Calendar's) says something changed and carries no data. A cursor
    backing off after failures keeps its wait. Returns how many were moved."""
    stmt = (db.update(PollCursor)
            .where(PollCursor.connection_id == connection_id,
                   PollCursor.consecutive_failures == 0,
                   PollCursor.primed_at.is_not(None)))
    if triggers:
        stmt = stmt.where(PollCursor.trigger.in_(triggers))
    moved = db.session.execute(stmt.values(next_poll_at=utcnow())).rowcount
    db.session.commit()
    return moved
