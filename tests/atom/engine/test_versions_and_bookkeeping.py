"""Runs are pinned to their version (edited or resumed, an execution finishes on the version it
started on, and one whose version row is missing ends failed rather than stranded), and the
engine's bookkeeping does not grow with finished executions."""
from __future__ import annotations

import gc
import threading

from atom.engine import get_engine
from atom.extensions import db
from atom.models import Execution
from atom.models import WorkflowVersion
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import steps_of
from tests.atom.engine.test_recovery import crashed_execution
from tests.atom.engine.test_recovery import dead_pid
from tests.atom.engine.test_recovery import recover
from tests.fakes import reply


def _versioned(tag: str, wait_s: float = 0.0) -> dict:
    steps = [post_step("a", f"/{tag}/a"), post_step("b", f"/{tag}/b", deps=["a"]),
             post_step("c", f"/{tag}/c", deps=["b"])]
    if wait_s:
        steps[1:1] = [{"id": "pause", "type": "wait", "seconds": wait_s, "depends_on": ["a"]}]
        steps[2]["depends_on"] = ["pause"]
    return manual(f"pinned-{tag}", steps)


def test_an_execution_started_on_a_version_finishes_on_it_after_an_edit(api, fake, conn):
    for path in ("/v1/a", "/v1/b", "/v1/c", "/v2/a", "/v2/b", "/v2/c"):
        fake.always(path, reply(200, {}))
    wf = api.create(_versioned("v1", wait_s=0.6))
    started = api.execute(wf["id"], wait=None)
    assert started.status_code == 202
    ex_id = started.get_json()["id"]
    api.wait_for(ex_id, lambda b: "pause" in steps_of(b))  # it is in its long step
    edited = api.put(wf["id"], _versioned("v2"))
    assert edited["version"] == 2
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded" and done["version"] == 1
    assert set(steps_of(done)) == {"a", "pause", "b", "c"}
    assert [fake.count(p) for p in ("/v1/a", "/v1/b", "/v1/c")] == [1, 1, 1]
    assert [fake.count(p) for p in ("/v2/a", "/v2/b", "/v2/c")] == [0, 0, 0]
    # The next run is on the new version.
    again = api.run(wf["id"])
    assert again["version"] == 2 and set(steps_of(again)) == {"a", "b", "c"}
    assert fake.count("/v2/c") == 1


def test_a_resumed_execution_runs_its_pinned_version(app, api, fake, conn):
    """A process died mid-run on version 1; the workflow is at version 2 when another
    process resumes it: it goes on with version 1's steps."""
    v1 = manual("resume", [post_step("a", "/a"), post_step("b", "/b", deps=["a"]),
                           post_step("c", "/c", deps=["b"])])
    wf = api.create(v1)
    api.put(wf["id"], manual("resume", [post_step("a", "/a"), post_step("z", "/z", deps=["a"])]))
    for path in ("/a", "/b", "/c", "/z"):
        fake.always(path, reply(200, {"ok": "b-done"}))
    ex_id = crashed_execution(app, wf["id"], f"host-gone-{dead_pid()}:1:x", heartbeat_age_s=3600)
    assert recover(app) == [ex_id]
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded" and done["version"] == 1
    assert set(steps_of(done)) == {"a", "b", "c"}
    assert (fake.count("/a"), fake.count("/b"), fake.count("/c"), fake.count("/z")) == (0, 1, 1, 0)


def test_an_execution_whose_version_is_missing_ends_failed_not_stranded(app, api, fake, conn):
    wf = api.create(manual("gone", [post_step("a", "/a")]))
    fake.always("/a", reply(200, {}))
    ex_id = crashed_execution(app, wf["id"], f"host-gone-{dead_pid()}:1:x", heartbeat_age_s=3600,
                              b_state=None)
    with app.app_context():
        db.session.execute(db.delete(WorkflowVersion).where(WorkflowVersion.workflow_id == wf["id"]))
        db.session.commit()
    assert recover(app) == [ex_id]
    done = api.wait_finished(ex_id)
    assert done["status"] == "failed"
    assert "version 1 of workflow" in done["error"] and "missing" in done["error"]
    assert fake.count("/a") == 0
    assert recover(app) == []


def _events() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, threading.Event))


def test_the_engine_keeps_nothing_per_finished_execution(app, api, fake, conn):
    wf = api.create(manual("many", [{"id": "t", "type": "transform", "mapping": {"n": "trigger.n"}}]))
    engine = get_engine(app)
    for n in range(10):  # warm-up: pools, caches
        assert api.run(wf["id"], {"n": n})["status"] == "succeeded"
    before = _events()
    for n in range(60):
        response = api.execute(wf["id"], {"n": n}, wait=None)  # some waited for, some not
        if n % 2:
            assert engine.wait(response.get_json()["id"], 20)
    with app.app_context():
        ids = [e.id for e in db.session.scalars(db.select(Execution).order_by(Execution.id.desc()).limit(60))]
    for ex_id in ids:
        assert engine.wait(ex_id, 20)  # a finished one answers at once, from the database
    assert engine._active == set() and engine._waiters == {}
    assert _events() <= before + 2  # nothing kept per execution (a pool thread may start)
