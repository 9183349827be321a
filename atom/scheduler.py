"""The in-process scheduler: exactly one process of a deployment runs the jobs.

``start_scheduler(app)`` is called by the process entry points (``wsgi.py``, ``atom
scheduler``), never by ``create_app``. Every process that calls it tries to take one exclusive
lock: a file lock on ``<instance>/scheduler.lock`` when the database is SQLite (one host), a
PostgreSQL advisory lock held on a dedicated connection when it is PostgreSQL. The process
that holds it runs APScheduler; the others retry every ``SCHEDULER_LOCK_RETRY_S`` seconds on a
daemon thread, so a dead holder is replaced.

Jobs come from *providers*: functions ``provider(app) -> list[JobSpec]`` named by dotted path
in ``SCHEDULER_PROVIDERS`` or added with :meth:`Scheduler.add_provider`. The leader reconciles
them at start and every ``SCHEDULER_RECONCILE_S`` seconds: a new or changed job is added
(``replace_existing=True, coalesce=True, max_instances=1``), an unchanged one is left alone (so
its next run time stands), and a job no provider returns any more is removed.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import zlib
from dataclasses import dataclass
from dataclasses import field
from datetime import timezone
from pathlib import Path
from typing import Any
from typing import Callable
from typing import Mapping
from typing import Protocol

import filelock
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Engine
from werkzeug.utils import import_string

logger = logging.getLogger(__name__)

EXTENSION = "atom.scheduler"
LEADER_FILE = "scheduler.leader"
_START_LOCK = threading.Lock()


@dataclass(frozen=True)
class JobSpec:
    """One job: a stable ``id`` (``health:round``, ``workflow:42``), what to call and when.

    :param trigger: an APScheduler trigger alias: ``interval``, ``cron`` or ``date``.
    :param trigger_args: the trigger's arguments (``{"seconds": 60}``, ``{"minute": "*/5"}``).
    :param kwargs: keyword arguments for ``func``.
    """

    id: str
    func: Callable[..., Any]
    trigger: str
    trigger_args: Mapping[str, Any] = field(default_factory=dict)
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> tuple[Any, ...]:
        """What makes two specs the same job; an unchanged job is not re-added."""
        func = f"{getattr(self.func, '__module__', '')}.{getattr(self.func, '__qualname__', '')}"
        return (func, self.trigger, _items(self.trigger_args), _items(self.kwargs))


Provider = Callable[[Flask], list[JobSpec]]


class Lock(Protocol):
    def acquire(self) -> bool:
        """Take the lock without waiting; True if this process holds it now."""

    def healthy(self) -> bool:
        """Whether the lock is still held (a database connection can drop)."""

    def release(self) -> None:
        """Give the lock up (a dead process gives it up by dying)."""


class FileLock:
    """An exclusive ``flock`` on a file: one holder per host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # thread_local=False: acquired on the scheduler thread, released at exit on another.
        self._lock = filelock.FileLock(str(path), thread_local=False)

    def acquire(self) -> bool:
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        return True

    def healthy(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)


class AdvisoryLock:
    """A session-level PostgreSQL advisory lock, held on a connection of its own."""

    def __init__(self, engine: Engine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._conn: DbConnection | None = None

    def acquire(self) -> bool:
        conn = self.engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                    {"key": self.key}).scalar())
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def healthy(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:
            logger.warning("the scheduler lock's database connection was lost")
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._conn.commit()
        except Exception:
            logger.warning("could not release the scheduler lock cleanly", exc_info=True)
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                logger.debug("closing a broken scheduler-lock connection failed", exc_info=True)


class Scheduler:
    """The scheduler of one app: lock, providers, and (in the leader) APScheduler."""

    def __init__(self, app: Flask, lock: Lock, *, retry_s: float = 15.0,
                 reconcile_s: float = 30.0) -> None:
        self.app = app
        self.lock = lock
        self.retry_s = retry_s
        self.reconcile_s = reconcile_s
        self.providers: list[Provider] = []
        self._owned: dict[int, set[str]] = {}
        self._fingerprints: dict[str, tuple[Any, ...]] = {}
        self._aps: BackgroundScheduler | None = None
        self._mutex = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._aps is not None

    def add_provider(self, provider: Provider) -> None:
        """Add a job provider (once; adding it again changes nothing); the leader reconciles."""
        with self._mutex:
            if provider in self.providers:
                return
            self.providers.append(provider)
            if self.is_leader:
                self.reconcile()

    def start(self) -> Scheduler:
        """Try for the lock now, and keep trying (or keep reconciling) on a daemon thread."""
        with self._mutex:
            if self._thread is None:
                self._tick()
                self._thread = threading.Thread(target=self._loop, name="atom-scheduler",
                                                daemon=True)
                self._thread.start()
        return self

    def reconcile(self) -> None:
        """Make the running jobs match what the providers return now."""
        with self._mutex:
            if self._aps is None:
                return
            # None: keep the job as it is (its provider failed this time).
            wanted: dict[str, JobSpec | None] = {}
            for index, provider in enumerate(self.providers):
                try:
                    specs = list(provider(self.app))
                except Exception:
                    # Keep the provider's jobs as they are rather than drop them on a bad day.
                    logger.exception("scheduler provider %s failed", _name(provider))
                    for job_id in self._owned.get(index, ()):
                        wanted.setdefault(job_id, None)
                    continue
                self._owned[index] = {spec.id for spec in specs}
                wanted.update({spec.id: spec for spec in specs})
            self._apply(wanted)

    def describe(self) -> dict[str, Any]:
        with self._mutex:
            jobs = self._aps.get_jobs() if self._aps is not None else []
            return {
                "role": "leader" if self.is_leader else "standby",
                "pid": os.getpid(),
                "jobs": [{"id": job.id, "next_run_at": job.next_run_time.isoformat()
                          if job.next_run_time else None} for job in jobs],
            }

    def shutdown(self) -> None:
        """Stop the jobs and the lock thread, and release the lock."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        with self._mutex:
            self._stop_jobs()
            self.lock.release()

    # -- internals ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(self.reconcile_s if self.is_leader else self.retry_s):
            self._tick()

    def _tick(self) -> None:
        try:
            with self._mutex:
                if self._stop.is_set():
                    return
                if not self.is_leader:
                    if self.lock.acquire():
                        self._lead()
                elif not self.lock.healthy():
                    logger.warning("scheduler lock lost (pid %s); standing by", os.getpid())
                    self._stop_jobs()
                else:
                    self.reconcile()
        except Exception:
            logger.exception("scheduler tick failed; retrying")

    def _lead(self) -> None:
        cfg = self.app.config
        self._aps = BackgroundScheduler(
            timezone=timezone.utc,
            executors={"default": ThreadPoolExecutor(int(cfg.get("SCHEDULER_THREADS", 4)))},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": int(cfg.get("SCHEDULER_MISFIRE_GRACE_S", 30))},
        )
        self._aps.start()
        self._fingerprints.clear()
        _write_leader_file(self.app)
        logger.info("this process (pid %s) runs the scheduler", os.getpid())
        self.reconcile()

    def _apply(self, wanted: dict[str, JobSpec | None]) -> None:
        assert self._aps is not None
        for job_id, spec in wanted.items():
            if spec is None or self._fingerprints.get(job_id) == spec.fingerprint():
                continue
            self._aps.add_job(spec.func, spec.trigger, id=job_id, kwargs=dict(spec.kwargs),
                              replace_existing=True, coalesce=True, max_instances=1,
                              **dict(spec.trigger_args))
            self._fingerprints[job_id] = spec.fingerprint()
            logger.info("scheduled job %s (%s %s)", job_id, spec.trigger, dict(spec.trigger_args))
        for job in self._aps.get_jobs():
            if job.id not in wanted:
                job.remove()
                self._fingerprints.pop(job.id, None)
                logger.info("removed job %s", job.id)

    def _stop_jobs(self) -> None:
        aps, self._aps = self._aps, None
        if aps is not None:
            aps.shutdown(wait=False)
        self._fingerprints.clear()


def make_lock(app: Flask) -> Lock:
    """The advisory lock on PostgreSQL, otherwise the file lock in the instance folder."""
    from atom.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        key = app.config.get("SCHEDULER_LOCK_KEY") or zlib.crc32(b"atom.scheduler")
        return AdvisoryLock(engine, int(key))
    path = app.config.get("SCHEDULER_LOCK_PATH") or os.path.join(app.instance_path,
                                                                 "scheduler.lock")
    return FileLock(Path(path))


def start_scheduler(app: Flask, *, force: bool = False) -> Scheduler:
    """Create the app's scheduler once and start competing for the lock.

    Idempotent per app: a second call returns the same scheduler. With
    ``SCHEDULER_ENABLED = False`` the scheduler is created but not started (web workers of a
    deployment that runs ``atom scheduler`` separately), unless ``force`` is set.
    """
    with _START_LOCK:
        existing = app.extensions.get(EXTENSION)
        if existing is not None:
            return existing
        cfg = app.config
        scheduler = Scheduler(app, make_lock(app),
                              retry_s=float(cfg.get("SCHEDULER_LOCK_RETRY_S", 15.0)),
                              reconcile_s=float(cfg.get("SCHEDULER_RECONCILE_S", 30.0)))
        for path in cfg.get("SCHEDULER_PROVIDERS") or ():
            scheduler.providers.append(import_string(path) if isinstance(path, str) else path)
        app.extensions[EXTENSION] = scheduler
        if cfg.get("SCHEDULER_ENABLED", True) or force:
            scheduler.start()
            atexit.register(scheduler.shutdown)
        return scheduler


def get_scheduler(app: Flask) -> Scheduler | None:
    return app.extensions.get(EXTENSION)


def _write_leader_file(app: Flask) -> None:
    """Note the leader's pid beside the lock, for operators (and the system test)."""
    try:
        Path(app.instance_path, LEADER_FILE).write_text(str(os.getpid()))
    except OSError:
        logger.debug("could not write %s", LEADER_FILE, exc_info=True)


def _items(mapping: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, repr(value)) for key, value in mapping.items()))


def _name(provider: Provider) -> str:
    return f"{getattr(provider, '__module__', '?')}.{getattr(provider, '__qualname__', provider)}"
