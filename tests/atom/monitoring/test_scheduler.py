"""The scheduler: one leader per lock, providers reconciled into jobs, health rounds on time."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from atom.extensions import db
from atom.scheduler import AdvisoryLock
from atom.scheduler import JobSpec
from atom.scheduler import get_scheduler
from atom.scheduler import start_scheduler
from tests.fakes import wait_until

FAST = {"HEALTH_CHECK_INTERVAL_S": 0.5, "HEALTH_CHECK_JITTER_S": 0,
        "SCHEDULER_LOCK_RETRY_S": 0.2, "SCHEDULER_RECONCILE_S": 0.2}


@pytest.fixture
def settings():
    return FAST


@pytest.fixture
def schedulers():
    started = []

    def start(app, **kw):
        scheduler = start_scheduler(app, **kw)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        scheduler.shutdown()


def noop(**kwargs) -> None:
    """A job that does nothing."""


def test_the_leader_runs_health_rounds_on_its_interval(app, connect, service, schedulers):
    connect("/health")
    scheduler = schedulers(app)
    assert scheduler.is_leader
    assert start_scheduler(app) is scheduler, "idempotent per app"
    assert wait_until(lambda: service.count("/health") >= 3, timeout=15)
    jobs = {job["id"] for job in scheduler.describe()["jobs"]}
    assert jobs == {"health:round", "monitoring:maintenance", "monitoring:notify",
                    "intelligence:prediction:retrain"}
    leader = Path(app.instance_path, "scheduler.leader").read_text()
    assert leader == str(scheduler.describe()["pid"])


def test_a_second_app_on_the_same_lock_stands_by_and_takes_over_when_the_leader_stops(
        app, app_factory, schedulers, connect, service):
    from tests.atom.monitoring.conftest import QUICK

    first = schedulers(app)
    other = app_factory(**{**QUICK, **FAST})
    second = schedulers(other)
    assert first.is_leader and not second.is_leader
    assert second.describe()["role"] == "standby" and second.describe()["jobs"] == []

    first.shutdown()
    assert wait_until(lambda: second.is_leader, timeout=10)
    connect("/health")
    assert wait_until(lambda: service.count("/health") >= 2, timeout=15)


def test_a_disabled_scheduler_is_created_but_not_started(app_factory, schedulers):
    from tests.atom.monitoring.conftest import QUICK

    app = app_factory(**{**QUICK, **FAST, "SCHEDULER_ENABLED": False})
    scheduler = schedulers(app)
    assert get_scheduler(app) is scheduler and not scheduler.is_leader
    assert scheduler.describe()["role"] == "standby"


def test_providers_are_reconciled_into_jobs(app, schedulers):
    wanted = {"a": JobSpec("demo:a", noop, "interval", {"hours": 1}),
              "b": JobSpec("demo:b", noop, "cron", {"minute": "*/5"}, {"x": 1})}
    failing = {"now": False}

    def provider(_app):
        if failing["now"]:
            raise RuntimeError("provider broke")
        return list(wanted.values())

    scheduler = schedulers(app)
    scheduler.reconcile_s = 3600  # only the explicit reconciles below
    scheduler.add_provider(provider)
    scheduler.add_provider(provider)  # a second add changes nothing
    aps = scheduler._aps
    assert {"demo:a", "demo:b"} <= {job.id for job in aps.get_jobs()}
    next_a = aps.get_job("demo:a").next_run_time

    scheduler.reconcile()
    assert aps.get_job("demo:a").next_run_time == next_a, "an unchanged job keeps its schedule"

    wanted["a"] = JobSpec("demo:a", noop, "interval", {"hours": 2})
    del wanted["b"]
    scheduler.reconcile()
    assert aps.get_job("demo:a").trigger.interval.total_seconds() == 7200
    assert aps.get_job("demo:b") is None

    failing["now"] = True
    scheduler.reconcile()
    assert aps.get_job("demo:a") is not None, "a failing provider keeps its jobs"
    assert aps.get_job("health:round") is not None


@pytest.mark.postgres
def test_the_postgresql_advisory_lock_has_one_holder_and_is_released(pg_engine):
    key = uuid.uuid4().int % 2**31
    first, second = AdvisoryLock(pg_engine, key), AdvisoryLock(pg_engine, key)
    assert first.acquire()
    assert not second.acquire()
    assert first.healthy()
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.postgres
def test_a_lost_lock_connection_is_noticed(pg_engine):
    from sqlalchemy import text

    key = uuid.uuid4().int % 2**31
    lock = AdvisoryLock(pg_engine, key)
    assert lock.acquire()
    pid = lock._conn.execute(text("SELECT pg_backend_pid()")).scalar()
    lock._conn.commit()
    with pg_engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    assert not lock.healthy()
    other = AdvisoryLock(pg_engine, key)
    assert other.acquire(), "the server released the dead session's lock"
    other.release()


@pytest.fixture
def pg_engine():
    psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 is not installed")
    from sqlalchemy import create_engine

    try:
        psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test",
                         connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    engine = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    yield engine
    engine.dispose()


def test_make_lock_uses_a_file_lock_on_sqlite(app):
    from atom.scheduler import FileLock
    from atom.scheduler import make_lock

    lock = make_lock(app)
    with app.app_context():
        assert db.engine.dialect.name == "sqlite"
    assert isinstance(lock, FileLock) and lock.path.name == "scheduler.lock"
