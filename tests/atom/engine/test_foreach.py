"""For-each steps through the API: items from an expression, one step or a sub-graph per item,
concurrency (really parallel), outputs in item order, both item failure policies, the limits,
validation at save, and resuming a loop whose orchestrator died."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import rows
from tests.atom.engine.conftest import steps_of
from tests.fakes import reply


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def loop(sid: str = "loop", items: str = "trigger.items", **extra) -> dict:
    return {"id": sid, "type": "foreach", "items": items, **extra}


def double() -> dict:
    return {"id": "twice", "type": "transform", "mapping": {"value": "item.n", "at": "index"}}


# -- outputs ---------------------------------------------------------------------------------------


def test_a_transform_per_item_gives_the_outputs_in_item_order(api):
    wf = api.create(manual("each", [
        loop(step=double()),
        {"id": "after", "type": "transform", "depends_on": ["loop"],
         "mapping": {"values": "steps.loop.output.items[].value"}}]))
    done = api.run(wf["id"], {"items": [{"n": 3}, {"n": 1}, {"n": 2}]})
    assert done["status"] == "succeeded", done
    steps = steps_of(done)
    assert steps["loop"]["output"]["items"] == [{"value": 3, "at": 0}, {"value": 1, "at": 1},
                                                {"value": 2, "at": 2}]
    assert steps["loop"]["output"]["failed"] == []
    assert steps["loop"]["input"] == [{"n": 3}, {"n": 1}, {"n": 2}]
    # every item's run is a step row of its own
    assert [steps[f"loop[{i}]"]["status"] for i in range(3)] == ["succeeded"] * 3
    assert steps["loop[1]"]["output"] == {"value": 1, "at": 1}
    assert steps["after"]["output"] == {"values": [3, 1, 2]}


def test_an_empty_list_runs_nothing_and_succeeds(api):
    wf = api.create(manual("empty", [loop(step=double())]))
    done = api.run(wf["id"], {"items": []})
    assert done["status"] == "succeeded", done
    assert steps_of(done)["loop"]["output"]["items"] == []
    assert set(steps_of(done)) == {"loop"}


def test_items_that_are_not_a_list_fail_the_step_saying_so(api):
    wf = api.create(manual("notalist", [loop(step=double())]))
    done = api.run(wf["id"], {"items": {"n": 1}})
    assert done["status"] == "failed"
    step = steps_of(done)["loop"]
    assert step["error"]["class"] == "expression"
    assert "items gave dict, not a list" in step["error"]["message"]
    done = api.run(wf["id"], {})
    assert "items gave null, not a list" in steps_of(done)["loop"]["error"]["message"]


def test_a_sub_graph_per_item_sees_item_index_and_its_own_steps(api, fake, conn):
    fake.always("/things", lambda req: reply(200, {"got": req.json()}))
    wf = api.create(manual("graph", [
        {"id": "prep", "type": "transform", "mapping": {"prefix": "'n-'"}},
        loop(depends_on=["prep"], steps=[
            post_step("send", "/things", {"name": "{{ steps.prep.output.prefix }}{{ item }}",
                                           "at": "{{ index }}"}),
            {"id": "pick", "type": "transform", "depends_on": ["send"],
             "mapping": {"name": "steps.send.output.body.got.name"}}])]))
    done = api.run(wf["id"], {"items": ["a", "b"]})
    assert done["status"] == "succeeded", done
    steps = steps_of(done)
    assert [i["pick"]["name"] for i in steps["loop"]["output"]["items"]] == ["n-a", "n-b"]
    assert steps["loop[1].send"]["input"]["json"] == {"name": "n-b", "at": 1}
    assert steps["loop[0].pick"]["status"] == "succeeded"
    assert sorted(c.json()["name"] for c in fake.calls("/things")) == ["n-a", "n-b"]
    # each call carries its own idempotency key (the item's step row id)
    keys = {c.headers.get("Idempotency-Key") for c in fake.calls("/things")}
    assert len(keys) == 2


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrency_runs_items_in_parallel_and_keeps_their_order(api, fake, conn):
    fake.always("/slow", lambda req: reply(200, {"n": req.json()["n"]}, delay=0.3))
    wf = api.create(manual("par", [loop(concurrency=4, step=post_step("call", "/slow", {"n": "{{ item }}"}))]))
    started = time.monotonic()
    done = api.run(wf["id"], {"items": list(range(8))})
    wall = time.monotonic() - started
    assert done["status"] == "succeeded", done
    out = steps_of(done)["loop"]["output"]
    assert [o["body"]["n"] for o in out["items"]] == list(range(8))
    # 8 items of 0.3 s, 4 at a time: two rounds (sequentially it would take 2.4 s)
    assert wall < 2.0, wall
    steps = steps_of(done)
    starts = sorted(_ts(steps[f"loop[{i}]"]["started_at"]) for i in range(8))
    # never more than 4 at once: the 5th starts after the first has finished
    first_end = min(_ts(steps[f"loop[{i}]"]["finished_at"]) for i in range(8))
    assert starts[3] < first_end <= starts[4]


def test_concurrency_one_runs_items_one_after_the_other(api, fake, conn):
    fake.always("/slow", lambda req: reply(200, {}, delay=0.05))
    wf = api.create(manual("seq", [loop(step=post_step("call", "/slow", {"n": "{{ item }}"}))]))
    done = api.run(wf["id"], {"items": [1, 2, 3]})
    steps = steps_of(done)
    for i in range(2):
        assert _ts(steps[f"loop[{i}]"]["finished_at"]) <= _ts(steps[f"loop[{i + 1}]"]["started_at"])


# -- item failures ----------------------------------------------------------------------------------


def _flaky(fake):
    fake.always("/item", lambda req: reply(500 if req.json()["n"] == 1 else 200, {"n": req.json()["n"]}))


def test_fail_fast_starts_no_new_item_and_fails_the_step(api, fake, conn):
    _flaky(fake)
    wf = api.create(manual("ff", [loop(step=post_step("call", "/item", {"n": "{{ item }}"})),
                                  {"id": "after", "type": "transform", "depends_on": ["loop"],
                                   "mapping": {"x": "'y'"}}]))
    done = api.run(wf["id"], {"items": [0, 1, 2, 3]})
    assert done["status"] == "failed"
    steps = steps_of(done)
    assert steps["loop"]["error"]["class"] == "item_failed"
    assert "item 1 failed" in steps["loop"]["error"]["message"]
    out = steps["loop"]["output"]
    assert out["failed"] == [1] and out["not_run"] == [2, 3]
    assert out["errors"][0]["step"] == "loop[1]"
    assert "loop[2]" not in steps and fake.count("/item") == 2
    assert steps["after"]["status"] == "skipped"


def test_continue_runs_every_item_and_reports_the_failures(api, fake, conn):
    _flaky(fake)
    wf = api.create(manual("cont", [loop(on_item_error="continue", concurrency=2,
                                         step=post_step("call", "/item", {"n": "{{ item }}"}))]))
    done = api.run(wf["id"], {"items": [0, 1, 2, 3]})
    assert done["status"] == "succeeded", done
    out = steps_of(done)["loop"]["output"]
    assert out["failed"] == [1] and out["succeeded"] == 3
    assert out["items"][1] is None and out["items"][3]["body"] == {"n": 3}
    assert out["errors"][0]["error_class"] == "upstream"
    assert fake.count("/item") == 4


def test_continue_fails_the_step_when_every_item_failed(api, fake, conn):
    fake.always("/item", reply(500, {}))
    wf = api.create(manual("allbad", [loop(on_item_error="continue",
                                           step=post_step("call", "/item", {"n": "{{ item }}"}))]))
    done = api.run(wf["id"], {"items": [0, 1]})
    assert done["status"] == "failed"
    step = steps_of(done)["loop"]
    assert step["error"]["message"].startswith("every item failed")
    assert step["output"]["failed"] == [0, 1]


def test_an_inner_step_with_on_error_continue_does_not_fail_its_item(api, fake, conn):
    fake.always("/item", reply(500, {}))
    wf = api.create(manual("inner", [loop(steps=[
        post_step("call", "/item", {"n": "{{ item }}"}, on_error="continue"),
        {"id": "note", "type": "transform", "depends_on": ["call"],
         "mapping": {"status": "steps.call.status"}}])]))
    done = api.run(wf["id"], {"items": [0]})
    assert done["status"] == "succeeded", done
    assert steps_of(done)["loop"]["output"]["items"][0]["note"] == {"status": "failed"}


def test_cancel_lets_running_items_finish_and_starts_no_new_one(api, fake, conn):
    fake.always("/slow", lambda req: reply(200, {"n": req.json()["n"]}, delay=0.4))
    wf = api.create(manual("cancel", [loop(concurrency=2, step=post_step("call", "/slow", {"n": "{{ item }}"})),
                                      {"id": "after", "type": "transform", "depends_on": ["loop"],
                                       "mapping": {"x": "`1`"}}]))
    response = api.execute(wf["id"], {"items": list(range(6))}, wait=None)
    ex_id = response.get_json()["id"]
    api.wait_for(ex_id, lambda b: fake.count("/slow") >= 2)
    assert api.client.post(f"/api/v2/executions/{ex_id}/cancel", headers=api.headers).status_code in (200, 202)
    done = api.wait_finished(ex_id)
    assert done["status"] == "cancelled"
    steps = steps_of(done)
    assert steps["loop"]["status"] == "cancelled"
    assert fake.count("/slow") <= 4  # at most the round running when the request was read
    assert steps["after"]["status"] in ("cancelled", "skipped")
    assert steps["loop"]["output"]["not_run"]


# -- limits -----------------------------------------------------------------------------------------


def test_more_items_than_the_fan_out_budget_fail_the_step(app, api):
    app.config["FOREACH_MAX_ITEMS"] = 5
    wf = api.create(manual("big", [loop(step=double()), loop("again", depends_on=["loop"], step={
        **double(), "id": "again_twice"})]))
    done = api.run(wf["id"], {"items": [{"n": i} for i in range(6)]})
    step = steps_of(done)["loop"]
    assert done["status"] == "failed" and step["error"]["class"] == "limit"
    assert "FOREACH_MAX_ITEMS=5" in step["error"]["message"]
    assert not any(s.startswith("loop[") for s in steps_of(done))
    # the budget is the execution's: 3 items, then 3 more than the 2 left
    done = api.run(wf["id"], {"items": [{"n": i} for i in range(3)]})
    steps = steps_of(done)
    assert steps["loop"]["status"] == "succeeded" and steps["again"]["error"]["class"] == "limit"


# -- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("step, where, reason", [
    (loop(), "step", "either a step or steps"),
    (loop(step=double(), steps=[double()]), "step", "either a step or steps"),
    ({"id": "loop", "type": "foreach", "step": double()}, "items", "required"),
    (loop(items="trigger.[", step=double()), "items", ""),
    (loop(step=double(), concurrency=0), "concurrency", ""),
    (loop(step=double(), concurrency=500), "concurrency", "FOREACH_MAX_CONCURRENCY"),
    (loop(step=double(), on_item_error="ignore"), "on_item_error", ""),
    (loop(step=double(), retry={"max_attempts": 2}), "retry", "on its inner steps"),
    (loop(step=double(), timeout_s=5), "timeout_s", "on its inner steps"),
    (loop(step={"id": "x", "type": "transform"}), "step.mapping", "either a mapping"),
    (loop(step={**double(), "depends_on": ["a"]}), "step.depends_on", "no depends_on"),
    (loop(step=loop("deeper", step=double())), "step.type", "cannot hold foreach steps"),
    (loop(step={"id": "ok", "type": "approval", "approvers": {"roles": ["admin"]}}), "step.type",
     "cannot hold approval steps"),
    (loop(steps=[double(), {"id": "b", "type": "transform", "depends_on": ["nope"],
                            "mapping": {"x": "item"}}]), "steps.b.depends_on", "unknown step"),
    (loop(steps=[{"id": "b", "type": "transform", "mapping": {"x": "steps.twice.output"}},
                 double()]), "steps.b.mapping.x", "depends_on"),
    (loop(step={"id": "send", "type": "action", "service": "nosuch", "action": "x"}),
     "step.service", "unknown service"),
    ({**double(), "items": "trigger.items"}, "items", "only for a foreach"),
])
def test_a_bad_foreach_is_a_422_naming_the_field(api, step, where, reason):
    response = api.client.post("/api/v2/ai-workflows", json=manual("bad", [step]), headers=api.headers)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    errors = body.get("errors") or body.get("details") or body
    text = str(body)
    sid = step["id"]
    assert f"steps.{sid}" in text and where in text and reason in text, body


def test_an_inner_step_may_not_reuse_a_workflow_step_id(api):
    response = api.client.post("/api/v2/ai-workflows", json=manual("dup", [
        double(), loop(step=double())]), headers=api.headers)
    assert response.status_code == 422
    assert "an id of its own" in str(response.get_json())


# -- resume -----------------------------------------------------------------------------------------


def test_a_resumed_loop_runs_only_the_items_that_had_not_finished(app, api, fake, conn):
    """As a killed process leaves it: item 0 finished, item 1 interrupted, 2 and 3 not begun."""
    from tests.atom.engine.test_recovery import dead_pid
    from tests.atom.engine.test_recovery import recover
    from atom.engine.engine import HOST
    from atom.models.base import utcnow

    fake.always("/item", lambda req: reply(200, {"n": req.json()["n"]}))
    wf = api.create(manual("resume", [
        loop(concurrency=2, step=post_step("call", "/item", {"n": "{{ item }}"})),
        {"id": "after", "type": "transform", "depends_on": ["loop"],
         "mapping": {"ns": "steps.loop.output.items[].body.n"}}]))
    now = utcnow()
    with app.app_context():
        ex = Execution(workflow_id=wf["id"], version=1, status="running", trigger_type="manual",
                       trigger_payload={"items": [10, 11, 12, 13]}, claimed_by=f"{HOST}:{dead_pid()}:x",
                       started_at=now, heartbeat_at=now)
        db.session.add(ex)
        db.session.flush()
        db.session.add_all([
            StepRun(execution_id=ex.id, step_id="loop", step_type="foreach", status="running",
                    attempt=1, started_at=now, input=[10, 11, 12, 13]),
            StepRun(execution_id=ex.id, step_id="loop[0]", step_type="action", status="succeeded",
                    attempt=1, started_at=now, finished_at=now, input={"path": "/item"},
                    output={"status": 200, "headers": {}, "body": {"n": "kept"}}),
            StepRun(execution_id=ex.id, step_id="loop[1]", step_type="action", status="running",
                    attempt=1, started_at=now, input={"path": "/item"})])
        db.session.commit()
        ex_id = ex.id
    assert recover(app) == [ex_id]
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded", done
    steps = steps_of(done)
    # item 0 was not called again; its kept output is the loop's first
    assert sorted(c.json()["n"] for c in fake.calls("/item")) == [11, 12, 13]
    assert steps["after"]["output"] == {"ns": ["kept", 11, 12, 13]}
    # the interrupted item ran again, with the idempotency key of its first run
    again = next(c for c in fake.calls("/item") if c.json()["n"] == 11)
    assert again.headers["Idempotency-Key"] == f"atom-{ex_id}-loop[1]-1"
    assert steps["loop[1]"]["attempt"] == 2 and steps["loop[2]"]["attempt"] == 1


def test_retrying_a_failed_loop_runs_only_the_items_that_did_not_succeed(app, api, fake, conn):
    fake.script("/item", reply(200, {"first": True}), reply(500, {}))
    fake.always("/item", reply(200, {"again": True}))
    wf = api.create(manual("retry", [loop(step=post_step("call", "/item", {"n": "{{ item }}"}))]))
    failed = api.run(wf["id"], {"items": [0, 1, 2]})
    assert failed["status"] == "failed"
    assert fake.count("/item") == 2  # fail_fast: item 2 never started
    response = api.client.post(f"/api/v2/executions/{failed['id']}/retry", headers=api.headers)
    assert response.status_code in (200, 202), response.get_json()
    done = api.wait_finished(failed["id"])
    assert done["status"] == "succeeded", done
    # item 0 kept its output; items 1 and 2 ran
    assert sorted(c.json()["n"] for c in fake.calls("/item")) == [0, 1, 1, 2]
    assert [i["body"] for i in steps_of(done)["loop"]["output"]["items"]] == [
        {"first": True}, {"again": True}, {"again": True}]


# -- PostgreSQL -------------------------------------------------------------------------------------

from tests.atom.engine.test_postgres import pg  # noqa: E402,F401  (fixtures)
from tests.atom.engine.test_postgres import pg_app  # noqa: E402,F401


@pytest.mark.postgres
def test_item_rows_with_the_longest_ids_fit_on_postgresql(pg_app, pg, fake):
    """A foreach id and an inner id of 90 characters together: item rows of 96 characters here,
    99 at the largest index FOREACH_MAX_ITEMS allows (999999), within step_id's 100."""
    fake.always("/item", lambda req: reply(200, {"n": req.json()["n"]}))
    outer, inner = "L" * 45, "i" * 45
    wf = pg.create(manual("pg-each", [loop(outer, concurrency=4, steps=[
        post_step(inner, "/item", {"n": "{{ index }}"}),
        {"id": "k", "type": "transform", "depends_on": [inner], "mapping": {"n": f"steps.{inner}.output.body.n"}}])]))
    done = pg.run(wf["id"], {"items": list(range(200))}, wait=120)
    assert done["status"] == "succeeded", done["error"]
    steps = steps_of(done)
    assert len(steps) == 1 + 2 * 200, len(steps)
    assert steps[f"{outer}[199].{inner}"]["status"] == "succeeded"
    assert [steps[f"{outer}[{n}].k"]["output"]["n"] for n in range(200)] == list(range(200))
    assert [o["k"]["n"] for o in steps[outer]["output"]["items"]] == list(range(200))


def test_an_id_pair_longer_than_item_rows_can_hold_is_a_422(api):
    response = api.client.post("/api/v2/ai-workflows", json=manual("long", [loop("L" * 46, steps=[
        {"id": "i" * 45, "type": "transform", "mapping": {"x": "item"}}])]), headers=api.headers)
    assert response.status_code == 422
    assert "together at most 90 characters" in str(response.get_json())
