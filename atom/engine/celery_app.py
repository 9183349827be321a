"""The scale-out executor: executions run on Celery workers (``ATOM_EXECUTOR=celery``).

Every process of the deployment builds the same engine; only where an execution runs changes.
:meth:`Engine.enqueue` hands the execution to :class:`CeleryExecutor`, which sends one task
(``atom.run_execution``: the execution's id and the owner id of the engine that queued it) to
``ATOM_BROKER_URL`` and returns at once. Web processes therefore only enqueue. An ``atom worker``
process (:func:`run_worker`) receives the task and runs the whole execution in it: its
orchestrator on one of the worker's Celery threads, its I/O steps on the worker's step pool
(``WORKER_THREADS``), its sub-workflows inline.

Delivery is at least once and the database decides who runs: tasks are acknowledged late
(``acks_late``, ``reject_on_worker_lost``, prefetch 1), and a worker runs a delivered
execution only after taking it over by compare-and-set on ``claimed_by``
(:meth:`Engine.run_delivered`). A redelivered task whose execution another live worker runs,
or that has finished, is a no-op; one whose worker died is taken over, and the run continues
from its step rows: finished steps keep their outputs, the interrupted one runs again with the
same idempotency key (``atom-<execution>-<step>``). When a worker is killed, the recovery loop of
any other process (web or worker) sees its owner gone and sends the execution to the broker
again (RabbitMQ also redelivers the unacknowledged task itself; Redis does after its
``visibility_timeout``).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from typing import Callable

from celery import Celery
from flask import Flask

logger = logging.getLogger(__name__)

TASK = "atom.run_execution"
EXTENSION = "atom_celery"
WAIT_POLL_S = 0.02

# Executions a task of this process is running: a task redelivered to the process that runs
# it (another of its threads) must not run it a second time.
_RUNNING: set[int] = set()
_RUNNING_LOCK = threading.Lock()


def get_celery(app: Flask) -> Celery:
    """The Celery application of ``app`` (built once, from its settings)."""
    celery = app.extensions.get(EXTENSION)
    if celery is None:
        celery = app.extensions[EXTENSION] = _build(app)
    return celery


def _build(app: Flask) -> Celery:
    cfg = app.config
    celery = Celery("atom", broker=cfg["BROKER_URL"], set_as_current=False)
    celery.conf.update(
        task_default_queue=cfg["CELERY_QUEUE"],
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # At least once: a task is acknowledged when its execution has ended, so a worker
        # that dies leaves it to be delivered again; each worker thread holds one task.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )

    @celery.task(name=TASK, ignore_result=True)
    def run_execution(execution_id: int, enqueued_by: str | None) -> None:
        deliver(app, execution_id, enqueued_by)

    return celery


def deliver(app: Flask, execution_id: int, enqueued_by: str | None) -> bool:
    """Run a delivered execution here, unless this process or another live one runs it or it
    has finished; return whether it ran here."""
    from atom.engine import get_engine

    with _RUNNING_LOCK:
        if execution_id in _RUNNING:
            logger.info("execution %s is running in this worker: redelivery ignored", execution_id)
            return False
        _RUNNING.add(execution_id)
    try:
        ran = get_engine(app).run_delivered(execution_id, enqueued_by)
        if not ran:
            logger.info("execution %s is finished or runs elsewhere: delivery ignored",
                        execution_id)
        return ran
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(execution_id)


def connect_producer(app: Flask) -> None:
    """Open a broker connection for this process's first sends, and declare the queue.

    Done when a serving process starts (``atom.background.start``): the first send of a process
    otherwise imports the broker's transport and connects (about 150 ms of CPU), inside the
    request that sent it. A broker that is down is logged, not fatal: sends retry as usual.
    """
    celery = get_celery(app)
    try:
        with celery.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            producer.maybe_declare(celery.amqp.queues[app.config["CELERY_QUEUE"]])
    except Exception as error:  # noqa: BLE001 - any broker failure: the first send will retry
        logger.warning("the broker is not reachable yet (%s): sends will connect when it is",
                       type(error).__name__)


class CeleryExecutor:
    """The :class:`~atom.engine.engine.Executor` of ``ATOM_EXECUTOR=celery``.

    An execution is sent to the broker by id (``fn`` is not shipped: the worker runs it with its
    own engine, see :meth:`Engine.run_delivered`); steps run on this process's step pool, which
    only workers use (its threads start on first use, so web processes start none).
    """

    def __init__(self, app: Flask, owner: str) -> None:
        self.app = app
        self.owner = owner
        self._steps = ThreadPoolExecutor(app.config["WORKER_THREADS"],
                                         thread_name_prefix="atom-step")

    def submit_execution(self, fn: Callable[..., Any], execution_id: int) -> Future:
        get_celery(self.app).send_task(TASK, args=[execution_id, self.owner],
                                       queue=self.app.config["CELERY_QUEUE"])
        future: Future = Future()
        future.set_result(None)  # sent: the broker has it
        return future

    def submit_step(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._steps.submit(fn, *args)

    def wait(self, execution_id: int, timeout: float) -> bool:
        """Wait until the execution has finished (in whichever worker); return whether it has."""
        from atom.extensions import db
        from atom.models import Execution
        from atom.engine.states import EXECUTION_FINAL

        deadline = time.monotonic() + timeout
        with self.app.app_context():
            try:
                while True:
                    status = db.session.execute(db.select(Execution.status).where(
                        Execution.id == execution_id)).scalar()
                    db.session.commit()
                    if status in EXECUTION_FINAL or status is None:
                        return status is not None
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    time.sleep(min(WAIT_POLL_S, left))
            finally:
                db.session.remove()

    def shutdown(self) -> None:
        self._steps.shutdown(wait=False, cancel_futures=True)


def worker_argv(concurrency: int, queues: list[str], loglevel: str) -> list[str]:
    """The ``celery worker`` arguments of ``atom worker``.

    A thread pool, so the worker's orchestrators share one engine and one step pool; no
    gossip, mingle or event heartbeats (ATOM's workers coordinate through the database).
    """
    return ["worker", "--pool=threads", f"--concurrency={concurrency}",
            f"--queues={','.join(queues)}", f"--loglevel={loglevel}",
            f"--hostname=atom-{os.getpid()}@{socket.gethostname()}",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]


def run_worker(app: Flask, concurrency: int, queues: list[str], loglevel: str,
               recovery: bool = True) -> None:
    """Serve executions from the broker until stopped (``atom worker``).

    :param recovery: also run the recovery loop here (executions whose process died are sent
        to the broker again), so a deployment without web processes still recovers.
    """
    from atom.engine import get_engine

    engine = get_engine(app)
    if recovery:
        engine.start_recovery_loop(app.config.get("EXECUTION_RECOVERY_INTERVAL_S", 15.0))
    try:
        get_celery(app).worker_main(argv=worker_argv(concurrency, queues, loglevel))
    finally:
        engine.close()
