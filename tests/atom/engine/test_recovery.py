"""Durability in-process: an execution a dead process left ``running`` is resumed by
``Engine.recover()``: finished steps keep their outputs and are not called again, the
interrupted step runs again with the same idempotency key, and only one engine takes it."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from atom.engine import get_engine
from atom.engine.engine import HOST
from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from atom.models.base import utcnow
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import steps_of
from tests.fakes import reply


def recover(app) -> list[int]:
    """One recovery sweep, as the recovery loop of a starting worker runs it."""
    with app.app_context():
        try:
            return get_engine(app).recover()
        finally:
            db.session.remove()


def dead_pid() -> int:
    """The pid of a process that has exited."""
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


CHAIN = manual("chain", [post_step("a", "/a"),
                         post_step("b", "/b", {"from_a": "{{ steps.a.output.body.id }}"}, deps=["a"]),
                         post_step("c", "/c", {"from_b": "{{ steps.b.output.body.ok }}"}, deps=["b"])])


def crashed_execution(app, wf_id: int, owner: str, *, status: str = "running",
                      heartbeat_age_s: float = 0.0, b_state: str | None = "running") -> int:
    """An execution as a killed process leaves it: ``a`` succeeded, ``b`` interrupted."""
    now = utcnow()
    with app.app_context():
        ex = Execution(workflow_id=wf_id, version=1, status=status, trigger_type="manual",
                       trigger_payload={}, claimed_by=owner, started_at=now - timedelta(seconds=5),
                       heartbeat_at=now - timedelta(seconds=heartbeat_age_s))
        db.session.add(ex)
        db.session.flush()
        db.session.add(StepRun(execution_id=ex.id, step_id="a", step_type="action", status="succeeded",
                               attempt=1, started_at=now - timedelta(seconds=4),
                               finished_at=now - timedelta(seconds=3), duration_ms=1000.0,
                               input={"path": "/a"}, output={"status": 201, "headers": {}, "body": {"id": 55}}))
        if b_state:
            db.session.add(StepRun(execution_id=ex.id, step_id="b", step_type="action", status=b_state,
                                   attempt=1, started_at=now - timedelta(seconds=2), input={"path": "/b"}))
        db.session.commit()
        return ex.id


@pytest.fixture
def chain(api, fake, conn) -> dict:
    fake.always("/a", reply(201, {"id": 1}))
    fake.always("/b", reply(200, {"ok": "b-done"}))
    fake.always("/c", reply(200, {}))
    return api.create(CHAIN)


@pytest.mark.parametrize("owner", [
    lambda: f"{HOST}:{dead_pid()}:x",  # a worker that was killed
    lambda: f"{HOST}:{os.getpid()}:gone",  # an engine of this process that was closed
    lambda: None,  # never claimed
])
def test_recover_resumes_without_repeating_finished_steps(app, api, fake, chain, owner):
    ex_id = crashed_execution(app, chain["id"], owner())
    resumed = recover(app)
    assert resumed == [ex_id]
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded", done
    steps = steps_of(done)
    assert {s: v["status"] for s, v in steps.items()} == {"a": "succeeded", "b": "succeeded", "c": "succeeded"}
    assert fake.count("/a") == 0  # finished before the crash: not called again
    assert fake.count("/b") == 1 and fake.count("/c") == 1
    # The interrupted step ran again with the idempotency key of its first run.
    assert fake.calls("/b")[0].headers["Idempotency-Key"] == f"atom-{ex_id}-b-1"
    assert fake.calls("/b")[0].json() == {"from_a": 55}  # the kept output of a
    assert fake.calls("/c")[0].json() == {"from_b": "b-done"}
    assert steps["a"]["output"]["body"] == {"id": 55}
    assert steps["b"]["attempt"] == 2  # its second start
    assert recover(app) == []  # finished: nothing more to resume


def test_a_queued_execution_of_a_dead_process_is_started(app, api, fake, chain):
    ex_id = crashed_execution(app, chain["id"], f"{HOST}:{dead_pid()}:x", status="queued", b_state=None)
    assert recover(app) == [ex_id]
    assert api.wait_finished(ex_id)["status"] == "succeeded"
    assert (fake.count("/a"), fake.count("/b"), fake.count("/c")) == (0, 1, 1)


def test_executions_of_live_owners_are_left_alone(app, app_factory, api, fake, chain):
    app.config["EXECUTION_STALE_S"] = 30
    other = app_factory()  # another live engine in this process (another worker)
    try:
        mine = crashed_execution(app, chain["id"], get_engine(other).owner)
        remote_fresh = crashed_execution(app, chain["id"], "elsewhere.example:123:x", heartbeat_age_s=1)
        remote_stale = crashed_execution(app, chain["id"], "elsewhere.example:123:y", heartbeat_age_s=120)
        assert recover(app) == [remote_stale]
        assert api.wait_finished(remote_stale)["status"] == "succeeded"
        for ex_id in (mine, remote_fresh):
            assert api.execution(ex_id)["status"] == "running"
        assert fake.count("/b") == 1
    finally:
        close_engine(other)


def test_two_engines_recovering_at_once_resume_each_execution_once(app, app_factory, api, fake, chain):
    """Two apps on one database stand for two gunicorn workers sweeping at the same moment."""
    ids = [crashed_execution(app, chain["id"], f"{HOST}:{dead_pid()}:x") for _ in range(3)]
    other = app_factory()
    try:
        resumed: dict[str, list[int]] = {}
        barrier = threading.Barrier(2)

        def sweep(name, target):
            barrier.wait(10)
            resumed[name] = recover(target)

        threads = [threading.Thread(target=sweep, args=(n, a)) for n, a in (("one", app), ("two", other))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(resumed["one"] + resumed["two"]) == sorted(ids)
        for ex_id in ids:
            assert api.wait_finished(ex_id)["status"] == "succeeded"
        assert fake.count("/a") == 0
        assert fake.count("/b") == 3 and fake.count("/c") == 3
        keys = sorted(r.headers["Idempotency-Key"] for r in fake.calls("/b"))
        assert keys == sorted(f"atom-{i}-b-1" for i in ids)
    finally:
        close_engine(other)


def test_a_resumed_wait_counts_from_when_it_first_started(app, api):
    wf = api.create(manual("nap", [{"id": "nap", "type": "wait", "seconds": 3},
                                   {"id": "t", "type": "transform", "depends_on": ["nap"], "mapping": {"a": "`1`"}}]))
    now = utcnow()
    with app.app_context():
        ex = Execution(workflow_id=wf["id"], version=1, status="running", trigger_payload={},
                       claimed_by=f"{HOST}:{dead_pid()}:x", started_at=now - timedelta(seconds=2.5))
        db.session.add(ex)
        db.session.flush()
        db.session.add(StepRun(execution_id=ex.id, step_id="nap", step_type="wait", status="running",
                               attempt=1, started_at=now - timedelta(seconds=2.5)))
        db.session.commit()
        ex_id = ex.id
    started = time.monotonic()
    assert recover(app) == [ex_id]
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded"
    assert time.monotonic() - started < 2.0  # ~0.5 s left, not 3 s again


def test_a_pid_reused_by_a_newer_process_does_not_keep_an_execution_stranded(app, api, fake, chain):
    """After a container restart the dead worker's pid often belongs to a new process: one that
    started after the execution's last heartbeat cannot be its owner."""
    newcomer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        ex_id = crashed_execution(app, chain["id"], f"{HOST}:{newcomer.pid}:x", heartbeat_age_s=60)
        assert recover(app) == [ex_id]
        assert api.wait_finished(ex_id)["status"] == "succeeded"
        assert (fake.count("/a"), fake.count("/b"), fake.count("/c")) == (0, 1, 1)
    finally:
        newcomer.kill()
        newcomer.wait()


def test_an_owner_that_is_a_zombie_is_dead(app, api, fake, chain):
    import psutil

    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exits; not reaped until wait()
    try:
        deadline = time.monotonic() + 10
        while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.02)
        ex_id = crashed_execution(app, chain["id"], f"{HOST}:{zombie.pid}:x", heartbeat_age_s=60)
        assert recover(app) == [ex_id]
        assert api.wait_finished(ex_id)["status"] == "succeeded"
    finally:
        zombie.wait()


def test_a_live_owner_that_started_before_its_heartbeat_keeps_its_execution(app, api, fake, chain):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(1.5)
        ex_id = crashed_execution(app, chain["id"], f"{HOST}:{alive.pid}:x", heartbeat_age_s=0)
        assert recover(app) == []
        assert api.execution(ex_id)["status"] == "running"
        assert fake.count("/b") == 0
    finally:
        alive.kill()
        alive.wait()
