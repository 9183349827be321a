"""The runner through the API against a fake service: layers, data between steps, branches,
retries, timeouts, error handling, sub-workflows, cancellation, retry of failed executions."""
from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from atom.models import StepRun
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import rows
from tests.atom.engine.conftest import steps_of
from tests.fakes import reply
from tests.fakes import wait_until


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- parallel layers ----------------------------------------------------------------------------


def test_the_steps_of_one_layer_run_at_the_same_time(api, fake, conn):
    """Three independent steps meet at a barrier in the fake: it only opens if all three
    requests are in flight together, so a sequential runner fails (the barrier times out)."""
    barrier = threading.Barrier(3, timeout=10)
    arrivals: dict[str, float] = {}

    def meet(req):
        arrivals[req.path] = time.monotonic()
        barrier.wait()
        return reply(200, {"ok": req.path}, delay=0.3)

    for path in ("/a", "/b", "/c"):
        fake.always(path, meet)
    fake.always("/join", reply(200, {"joined": True}))
    wf = api.create(manual("fan", [post_step("a", "/a"), post_step("b", "/b"), post_step("c", "/c"),
                                   post_step("join", "/join", deps=["a", "b", "c"])]))
    started = time.monotonic()
    done = api.run(wf["id"])
    wall = time.monotonic() - started
    assert done["status"] == "succeeded", done
    steps = steps_of(done)
    assert all(steps[s]["status"] == "succeeded" for s in "abc")
    # The three calls were in flight together (the barrier), and each step's run overlapped
    # the other two.
    assert max(arrivals.values()) - min(arrivals.values()) < 2.0
    for x in "abc":
        for y in "abc":
            if x != y:
                assert _ts(steps[x]["started_at"]) < _ts(steps[y]["finished_at"])
    # The join started only after the whole layer had finished.
    assert _ts(steps["join"]["started_at"]) >= max(_ts(steps[s]["finished_at"]) for s in "abc")
    assert fake.calls("/join")[0].method == "POST"
    assert wall < 3 * 0.3 + 5  # generous: a sequential run could not even pass the barrier


def test_a_layer_wider_than_the_step_pool_still_finishes(app_factory, monkeypatch, tmp_path, fake):
    """With 2 step threads, 5 parallel steps are served 2 at a time (bounded pool)."""
    from atom.engine import get_engine
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine
    from tests.conftest import make_key

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "inst2"))
    small = app_factory(WORKER_THREADS=2)
    try:
        api = Api(small.test_client(), {"Authorization": f"Bearer {make_key(small, 'editor')}"})
        created = small.test_client().post("/api/v2/connections", headers=api.headers, json={
            "integration": "http", "label": "fake", "settings": {"base_url": fake.url, "max_attempts": 1},
            "credentials": {}})
        assert created.status_code == 201
        inflight = [0]
        peak = [0]
        lock = threading.Lock()

        def slow(req):
            with lock:
                inflight[0] += 1
                peak[0] = max(peak[0], inflight[0])
            time.sleep(0.3)
            with lock:
                inflight[0] -= 1
            return reply(200, {})

        fake.always("/p", slow)
        wf = api.create(manual("wide", [post_step(f"s{i}", "/p") for i in range(5)]))
        done = api.run(wf["id"])
        assert done["status"] == "succeeded"
        assert fake.count("/p") == 5
        assert peak[0] == 2
        assert get_engine(small).executor is not None
    finally:
        close_engine(small)


# -- data between steps ------------------------------------------------------------------------


def test_templates_carry_the_output_of_one_step_into_the_next_request(api, fake, conn):
    fake.always("/items", reply(201, {"id": 4242, "name": "widget"}))
    fake.always("/notes", reply(200, {"ok": True}))
    wf = api.create(manual("chain", [
        post_step("create", "/items", {"name": "{{ trigger.name }}"}),
        post_step("note", "/notes", {"item": "{{ steps.create.output.body.id }}",
                                     "text": "made {{ steps.create.output.body.name }} #{{ steps.create.output.body.id }}",
                                     "status": "{{ steps.create.status }}", "wf": "{{ workflow.name }}"},
                  deps=["create"]),
    ]))
    done = api.run(wf["id"], {"name": "widget"})
    assert done["status"] == "succeeded", done
    assert fake.calls("/items")[0].json() == {"name": "widget"}
    # A whole-value template keeps the type (an int); an embedded one is text.
    assert fake.calls("/notes")[0].json() == {"item": 4242, "text": "made widget #4242",
                                              "status": "succeeded", "wf": "chain"}
    steps = steps_of(done)
    assert steps["note"]["input"]["json"]["item"] == 4242
    assert steps["create"]["output"]["body"] == {"id": 4242, "name": "widget"}


def test_transform_and_aggregate_steps_compute_from_earlier_outputs(api, fake, conn):
    fake.always("/orders", reply(200, {"orders": [
        {"region": "eu", "total": 10}, {"region": "us", "total": 5}, {"region": "eu", "total": 7}]}))
    fake.always("/report", reply(200, {}))
    wf = api.create(manual("report", [
        post_step("fetch", "/orders"),
        {"id": "sum", "type": "transform", "depends_on": ["fetch"],
         "aggregate": {"source": "steps.fetch.output.body.orders", "op": "sum", "field": "total"}},
        {"id": "by_region", "type": "transform", "depends_on": ["fetch"],
         "aggregate": {"source": "steps.fetch.output.body.orders", "op": "count", "group_by": "region"}},
        {"id": "shape", "type": "transform", "depends_on": ["sum", "by_region"],
         "mapping": {"total": "steps.sum.output.value", "eu": "steps.by_region.output.groups.eu"}},
        post_step("post", "/report", {"summary": "{{ steps.shape.output }}"}, deps=["shape"]),
    ]))
    done = api.run(wf["id"])
    assert done["status"] == "succeeded", done
    steps = steps_of(done)
    assert steps["sum"]["output"] == {"value": 22, "count": 3}
    assert steps["by_region"]["output"] == {"groups": {"eu": 2, "us": 1}}
    assert fake.calls("/report")[0].json() == {"summary": {"total": 22, "eu": 2}}


# -- branches -------------------------------------------------------------------------------------


BRANCHES = [
    {"id": "is_big", "type": "condition", "expression": "trigger.amount > `100`"},
    post_step("big", "/big", deps=["is_big"]),
    post_step("after_big", "/after_big", deps=["big"]),
    post_step("always", "/always"),
]


@pytest.mark.parametrize("amount,ran,skipped", [
    (500, {"big", "after_big", "always"}, set()),
    (5, {"always"}, {"big", "after_big"}),
])
def test_a_false_condition_skips_its_branch_and_everything_after_it(api, fake, conn, amount, ran, skipped):
    for path in ("/big", "/after_big", "/always"):
        fake.always(path, reply(200, {}))
    wf = api.create(manual("branches", BRANCHES))
    done = api.run(wf["id"], {"amount": amount})
    assert done["status"] == "succeeded", done
    steps = steps_of(done)
    assert steps["is_big"]["output"]["result"] is (amount > 100)
    assert {s for s in ran} == {s for s in ("big", "after_big", "always") if steps[s]["status"] == "succeeded"}
    for sid in skipped:
        assert steps[sid]["status"] == "skipped"
        assert fake.count(f"/{sid}") == 0
    for sid in ran:
        assert fake.count(f"/{sid}") == 1
    if skipped:
        assert "condition is_big was false" in steps["big"]["error"]["message"]
        assert "big was skipped" in steps["after_big"]["error"]["message"]


def test_when_false_skips_the_step_and_its_dependents(api, fake, conn):
    fake.always("/x", reply(200, {}))
    wf = api.create(manual("when", [
        post_step("maybe", "/x", when="trigger.go"),
        post_step("next", "/x", deps=["maybe"]),
        post_step("other", "/x", when="!(trigger.go)"),
    ]))
    done = api.run(wf["id"], {"go": False})
    steps = steps_of(done)
    assert done["status"] == "succeeded"
    assert (steps["maybe"]["status"], steps["next"]["status"], steps["other"]["status"]) == \
        ("skipped", "skipped", "succeeded")
    assert fake.count("/x") == 1
    done = api.run(wf["id"], {"go": True})
    steps = steps_of(done)
    assert (steps["maybe"]["status"], steps["next"]["status"], steps["other"]["status"]) == \
        ("succeeded", "succeeded", "skipped")
    assert fake.count("/x") == 3


# -- retries ------------------------------------------------------------------------------------


def test_a_step_is_retried_by_its_policy_until_it_succeeds(api, fake, conn):
    fake.script("/flaky", reply(503, {"e": 1}), reply(503, {"e": 2}), reply(200, {"ok": True}))
    wf = api.create(manual("retry", [post_step(
        "flaky", "/flaky", {"n": 1}, retry={"max_attempts": 3, "delay_s": 0.05, "backoff": 1})]))
    done = api.run(wf["id"])
    assert done["status"] == "succeeded", done
    step = steps_of(done)["flaky"]
    assert step["attempt"] == 3
    assert step["output"]["body"] == {"ok": True}
    assert step["error"] is None
    assert fake.count("/flaky") == 3
    # Every attempt carries the same idempotency key: the service does the work once.
    assert {r.headers["Idempotency-Key"] for r in fake.calls("/flaky")} == {f"atom-{done['id']}-flaky-1"}
    # Every attempt is kept, not only the last: the two failures with their class and message.
    attempts = step["attempts"]
    assert [(a["attempt"], a["status"], a["error_class"]) for a in attempts] == [
        (1, "failed", "upstream"), (2, "failed", "upstream"), (3, "succeeded", None)]
    assert all("503" in a["error"] for a in attempts[:2]), attempts
    assert all(a["duration_ms"] is not None and a["started_at"] and a["finished_at"] for a in attempts)


def test_retries_stop_at_max_attempts_and_wait_between_attempts(api, fake, conn):
    fake.always("/down", reply(503, {"down": True}))
    wf = api.create(manual("retry", [post_step(
        "down", "/down", retry={"max_attempts": 3, "delay_s": 0.2, "backoff": 2})]))
    started = time.monotonic()
    done = api.run(wf["id"])
    wall = time.monotonic() - started
    assert done["status"] == "failed"
    step = steps_of(done)["down"]
    assert (step["status"], step["attempt"], step["error"]["class"]) == ("failed", 3, "upstream")
    assert fake.count("/down") == 3
    assert wall >= 0.2 + 0.4 - 0.05  # delay_s * backoff ** (attempt - 1)
    assert "step down failed (upstream)" in done["error"]
    assert [(a["attempt"], a["status"], a["error_class"]) for a in step["attempts"]] == [
        (1, "failed", "upstream"), (2, "failed", "upstream"), (3, "failed", "upstream")]


def test_a_permanent_error_is_not_retried(api, fake, conn):
    fake.always("/bad", reply(422, {"error": "no"}))
    wf = api.create(manual("retry", [post_step("bad", "/bad", retry={"max_attempts": 4, "delay_s": 0})]))
    done = api.run(wf["id"])
    step = steps_of(done)["bad"]
    assert (done["status"], step["attempt"], step["error"]["class"]) == ("failed", 1, "validation")
    assert fake.count("/bad") == 1


# -- timeouts -------------------------------------------------------------------------------------


def test_a_step_past_its_timeout_fails_as_timeout_and_its_late_result_is_ignored(app, api, fake, conn):
    fake.always("/slow", reply(200, {"late": True}, delay=1.5))
    fake.always("/next", reply(200, {}))
    wf = api.create(manual("timeout", [post_step("slow", "/slow", timeout_s=0.3),
                                       post_step("next", "/next", deps=["slow"])]))
    started = time.monotonic()
    done = api.run(wf["id"])
    assert time.monotonic() - started < 1.4  # did not wait for the answer
    assert done["status"] == "failed"
    assert "timed out" in done["error"]
    steps = steps_of(done)
    assert steps["slow"]["status"] == "failed"
    assert steps["slow"]["error"]["class"] == "timeout"
    assert steps["slow"]["output"] is None
    assert steps["next"]["status"] == "skipped"
    # The fake answers later; that answer changes nothing.
    time.sleep(1.6)
    again = api.execution(done["id"])
    assert steps_of(again)["slow"] == steps["slow"]
    assert again["status"] == "failed"
    assert fake.count("/next") == 0


# -- error handling -------------------------------------------------------------------------------


def test_on_error_continue_lets_dependents_run_and_the_execution_succeed(api, fake, conn):
    fake.always("/bad", reply(500, {"boom": 1}))
    fake.always("/next", reply(200, {}))
    wf = api.create(manual("continue", [post_step("bad", "/bad", on_error="continue"),
                                        post_step("next", "/next", {"prev": "{{ steps.bad.status }}"},
                                                  deps=["bad"])]))
    done = api.run(wf["id"])
    steps = steps_of(done)
    assert done["status"] == "succeeded", done
    assert steps["bad"]["status"] == "failed" and steps["bad"]["error"]["class"] == "upstream"
    assert steps["next"]["status"] == "succeeded"
    assert fake.calls("/next")[0].json() == {"prev": "failed"}


def test_on_error_fail_fails_the_execution_and_skips_what_remains(api, fake, conn):
    fake.always("/bad", reply(500, {}))
    fake.always("/ok", reply(200, {}))
    wf = api.create(manual("fail", [post_step("bad", "/bad"), post_step("next", "/ok", deps=["bad"])]))
    done = api.run(wf["id"])
    steps = steps_of(done)
    assert done["status"] == "failed"
    assert steps["next"]["status"] == "skipped"
    assert fake.count("/ok") == 0


def test_a_handler_step_runs_only_when_the_step_it_handles_fails(api, fake, conn):
    fake.always("/ok", reply(200, {}))
    fake.always("/alert", reply(200, {}))
    wf = api.create(manual("handler", [
        post_step("work", "/work", on_error="alert"),
        post_step("after", "/ok", deps=["work"]),
        post_step("alert", "/alert", {"failed": "{{ steps.work.status }}",
                                      "why": "{{ steps.work.output }}"}),
    ]))
    # The step fails: the handler runs (after it), its dependents are skipped.
    fake.script("/work", reply(500, {"down": True}))
    done = api.run(wf["id"])
    steps = steps_of(done)
    assert steps["work"]["status"] == "failed"
    assert steps["alert"]["status"] == "succeeded"
    assert _ts(steps["alert"]["started_at"]) >= _ts(steps["work"]["finished_at"])
    assert fake.calls("/alert")[0].json() == {"failed": "failed", "why": None}
    assert steps["after"]["status"] == "skipped"
    assert done["status"] == "succeeded"  # the failure was handled
    # The step succeeds: the handler is skipped.
    fake.script("/work", reply(200, {"fine": True}))
    done = api.run(wf["id"])
    steps = steps_of(done)
    assert (steps["work"]["status"], steps["after"]["status"], steps["alert"]["status"]) == \
        ("succeeded", "succeeded", "skipped")
    assert fake.count("/alert") == 1


@pytest.mark.parametrize("policy", [{"on_error": "alert"}, {"on_error": "fail", "handler": "alert"}])
def test_the_old_and_the_new_handler_forms_run_the_same(api, fake, conn, policy):
    """``on_error: <step id>`` (the old form) is read as ``on_error: fail, handler: <step id>``."""
    fake.always("/bad", reply(500, {}))
    fake.always("/ok", reply(200, {}))
    wf = api.create(manual("forms", [post_step("work", "/bad", **policy),
                                     post_step("after", "/ok", deps=["work"]),
                                     post_step("alert", "/ok")]))
    steps = steps_of(done := api.run(wf["id"]))
    assert (done["status"], steps["work"]["status"], steps["after"]["status"], steps["alert"]["status"]) \
        == ("succeeded", "failed", "skipped", "succeeded")
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()[
        "steps"][0] | {} == wf["steps"][0]  # returned as stored


def test_on_error_continue_with_a_handler_runs_both_the_handler_and_the_dependents(api, fake, conn):
    fake.always("/bad", reply(500, {}))
    fake.always("/ok", reply(200, {}))
    wf = api.create(manual("both", [post_step("work", "/bad", on_error="continue", handler="alert"),
                                    post_step("after", "/ok", deps=["work"]),
                                    post_step("alert", "/ok")]))
    steps = steps_of(done := api.run(wf["id"]))
    assert (done["status"], steps["work"]["status"], steps["after"]["status"], steps["alert"]["status"]) \
        == ("succeeded", "failed", "succeeded", "succeeded")
    assert _ts(steps["alert"]["started_at"]) >= _ts(steps["work"]["finished_at"])


def test_one_handler_for_two_steps_runs_when_either_fails(api, fake, conn):
    fake.always("/ok", reply(200, {}))
    fake.always("/bad", reply(500, {}))
    fake.always("/alert", reply(200, {}))
    wf = api.create(manual("handler2", [
        post_step("one", "/ok", on_error="alert"),
        post_step("two", "/bad", on_error="alert"),
        post_step("alert", "/alert"),
    ]))
    done = api.run(wf["id"])
    steps = steps_of(done)
    assert (steps["one"]["status"], steps["two"]["status"], steps["alert"]["status"]) == \
        ("succeeded", "failed", "succeeded")
    assert fake.count("/alert") == 1


def test_a_step_without_a_connection_fails_with_its_error_class(api, fake):
    wf = api.create(manual("noconn", [post_step("x", "/x")]))
    done = api.run(wf["id"])
    step = steps_of(done)["x"]
    assert done["status"] == "failed"
    assert step["error"]["class"] == "configuration"
    assert "no http connection" in step["error"]["message"]


def test_a_service_that_is_down_fails_the_step_as_upstream(api, create_connection):
    from tests.fakes import free_port

    create_connection("http", {"base_url": f"http://127.0.0.1:{free_port()}", "max_attempts": 1})
    wf = api.create(manual("down", [post_step("x", "/x")]))
    done = api.run(wf["id"])
    step = steps_of(done)["x"]
    assert done["status"] == "failed"
    assert step["error"]["class"] in ("upstream", "timeout")


# -- sub-workflows ----------------------------------------------------------------------------------


def test_a_workflow_step_runs_the_child_and_returns_its_outputs(api, fake, conn):
    fake.always("/child", lambda req: reply(200, {"echo": req.json()}))
    fake.always("/parent", reply(200, {}))
    child = api.create(manual("child", [
        post_step("call", "/child", {"x": "{{ trigger.x }}"}),
        {"id": "double", "type": "transform", "depends_on": ["call"],
         "mapping": {"x": "steps.call.output.body.echo.x", "depth": "execution.id"}}]))
    parent = api.create(manual("parent", [
        {"id": "sub", "type": "workflow", "workflow_id": child["id"], "payload": {"x": "{{ trigger.x }}"}},
        post_step("use", "/parent", {"got": "{{ steps.sub.output.steps.double.x }}"}, deps=["sub"]),
    ]))
    done = api.run(parent["id"], {"x": 7})
    assert done["status"] == "succeeded", done
    sub = steps_of(done)["sub"]["output"]
    assert sub["status"] == "succeeded"
    assert sub["steps"]["call"]["body"] == {"echo": {"x": 7}}
    assert fake.calls("/parent")[0].json() == {"got": 7}
    child_ex = api.execution(sub["execution_id"])
    assert child_ex["parent_id"] == done["id"] and child_ex["workflow_id"] == child["id"]
    assert child_ex["status"] == "succeeded"


def test_a_failing_child_fails_the_workflow_step(api, fake, conn):
    fake.always("/child", reply(500, {}))
    child = api.create(manual("child", [post_step("call", "/child")]))
    parent = api.create(manual("parent", [{"id": "sub", "type": "workflow", "workflow_id": child["id"]}]))
    done = api.run(parent["id"])
    step = steps_of(done)["sub"]
    assert done["status"] == "failed"
    assert step["error"]["class"] == "workflow"
    assert "failed" in step["error"]["message"]


def test_sub_workflows_stop_at_the_depth_limit(app, api, fake, conn):
    app.config["MAX_WORKFLOW_DEPTH"] = 3
    wf = api.create(manual("recursive", [{"id": "noop", "type": "transform", "mapping": {"a": "`1`"}}]))
    # A workflow that runs itself: only the depth limit ends it.
    api.put(wf["id"], manual("recursive", [
        {"id": "again", "type": "workflow", "workflow_id": wf["id"],
         "payload": {"level": "{{ execution.id }}"}}]))
    done = api.run(wf["id"], wait=30)
    assert done["status"] == "failed"
    step = steps_of(done)["again"]
    assert step["error"]["class"] == "workflow"
    # Depth 0 (this one) ran children at depths 1, 2 and 3; depth 3 could not start a 4th.
    executions = api.client.get(f"/api/v2/executions?workflow_id={wf['id']}", headers=api.headers).get_json()
    assert len(executions["executions"]) == 4
    deepest = min(executions["executions"], key=lambda e: -e["id"])
    deepest = api.execution(deepest["id"])
    assert "depth limit (3)" in deepest["steps"][0]["error"]["message"]


# -- cancellation -----------------------------------------------------------------------------------


def test_cancel_lets_the_running_step_finish_and_starts_nothing_after_it(api, fake, conn):
    fake.always("/first", reply(200, {"done": True}, delay=2.0))
    fake.always("/second", reply(200, {}))
    wf = api.create(manual("cancel", [post_step("first", "/first"),
                                      post_step("second", "/second", deps=["first"]),
                                      post_step("third", "/second", deps=["second"])]))
    started = api.execute(wf["id"], wait=None)
    assert started.status_code == 202
    ex_id = started.get_json()["id"]
    assert wait_until(lambda: fake.count("/first") == 1, 10)
    response = api.client.post(f"/api/v2/executions/{ex_id}/cancel", headers=api.headers)
    assert response.status_code == 200
    done = api.wait_finished(ex_id)
    assert done["status"] == "cancelled"
    steps = steps_of(done)
    assert steps["first"]["status"] == "succeeded"  # the running step finished
    assert steps["first"]["output"]["body"] == {"done": True}
    assert steps["second"]["status"] in ("cancelled", "skipped")
    assert steps["third"]["status"] in ("cancelled", "skipped")
    assert fake.count("/second") == 0
    # A finished execution cannot be cancelled again.
    again = api.client.post(f"/api/v2/executions/{ex_id}/cancel", headers=api.headers)
    assert again.status_code == 409


def test_cancel_ends_a_wait_step(api):
    wf = api.create(manual("wait", [{"id": "nap", "type": "wait", "seconds": 30},
                                    {"id": "after", "type": "transform", "depends_on": ["nap"],
                                     "mapping": {"a": "`1`"}}]))
    ex_id = api.execute(wf["id"], wait=None).get_json()["id"]
    api.wait_for(ex_id, lambda b: any(s["step_id"] == "nap" and s["status"] == "running" for s in b["steps"]))
    assert api.client.post(f"/api/v2/executions/{ex_id}/cancel", headers=api.headers).status_code == 200
    done = api.wait_finished(ex_id, timeout=10)
    assert done["status"] == "cancelled"
    assert steps_of(done)["nap"]["status"] == "cancelled"
    assert steps_of(done)["after"]["status"] == "cancelled"


# -- retry of a failed execution --------------------------------------------------------------------


def test_retry_runs_the_failed_steps_again_and_reuses_the_succeeded_outputs(api, fake, conn):
    fake.always("/a", reply(201, {"id": 99}))
    fake.script("/b", reply(500, {"down": True}))
    fake.always("/c", reply(200, {}))
    wf = api.create(manual("retry", [post_step("a", "/a"),
                                     post_step("b", "/b", {"id": "{{ steps.a.output.body.id }}"}, deps=["a"]),
                                     post_step("c", "/c", {"from_b": "{{ steps.b.output.body.ok }}"}, deps=["b"])]))
    failed = api.run(wf["id"])
    assert failed["status"] == "failed"
    assert {s: v["status"] for s, v in steps_of(failed).items()} == \
        {"a": "succeeded", "b": "failed", "c": "skipped"}
    # A running or succeeded execution cannot be retried.
    fake.always("/b", reply(200, {"ok": "yes"}))
    response = api.client.post(f"/api/v2/executions/{failed['id']}/retry?wait=20", headers=api.headers)
    assert response.status_code == 200, response.get_json()
    done = response.get_json()
    assert done["id"] == failed["id"]
    assert done["status"] == "succeeded", done
    assert fake.count("/a") == 1  # not called again
    assert fake.count("/b") == 2 and fake.count("/c") == 1
    assert fake.calls("/b")[1].json() == {"id": 99}  # the reused output of a
    assert fake.calls("/c")[0].json() == {"from_b": "yes"}
    steps = steps_of(done)
    assert steps["a"]["output"]["body"] == {"id": 99}
    assert all(s["status"] == "succeeded" for s in steps.values())
    assert api.client.post(f"/api/v2/executions/{failed['id']}/retry",
                           headers=api.headers).status_code == 409


# -- persistence ---------------------------------------------------------------------------------


def test_a_step_row_is_written_when_the_step_starts(api, fake, conn):
    release = threading.Event()

    def held(req):
        release.wait(10)
        return reply(200, {"x": 1})

    fake.always("/held", held)
    wf = api.create(manual("rows", [{"id": "nap", "type": "wait", "seconds": 2},
                                    post_step("call", "/held", {"a": 1}, deps=["nap"])]))
    ex_id = api.execute(wf["id"], wait=None).get_json()["id"]
    running = api.wait_for(ex_id, lambda b: bool(b["steps"]))
    nap = steps_of(running)["nap"]
    assert running["status"] == "running"
    assert nap["status"] == "running" and nap["started_at"] and nap["finished_at"] is None
    assert nap["attempt"] == 1
    running = api.wait_for(ex_id, lambda b: "call" in steps_of(b))
    call = steps_of(running)["call"]
    assert call["status"] == "running" and call["input"] == {"path": "/held", "json": {"a": 1}}
    assert steps_of(running)["nap"]["status"] == "succeeded"
    release.set()
    done = api.wait_finished(ex_id)
    assert done["status"] == "succeeded"
    assert steps_of(done)["nap"]["output"]["waited_s"] >= 1.95
    assert steps_of(done)["call"]["duration_ms"] > 0


def test_secrets_are_redacted_in_stored_step_input_and_output(app, api, fake, conn):
    fake.always("/login", reply(200, {"access_token": "tok-123456", "user": "bob",
                                      "nested": {"password": "hunter2-secret"}}))
    fake.always("/use", reply(200, {}))
    wf = api.create(manual("secrets", [
        post_step("login", "/login", {"username": "bob", "password": "pw-very-secret"}),
        {"id": "use", "type": "action", "service": "http", "action": "post", "depends_on": ["login"],
         "parameters": {"path": "/use", "headers": {"Authorization": "Bearer {{ steps.login.output.body.access_token }}"},
                        "json": {"api_key": "k-987654"}}},
    ]))
    done = api.run(wf["id"])
    assert done["status"] == "succeeded"
    # The service got the real values...
    assert fake.calls("/login")[0].json()["password"] == "pw-very-secret"
    assert fake.calls("/use")[0].headers["Authorization"] == "Bearer tok-123456"
    assert fake.calls("/use")[0].json() == {"api_key": "k-987654"}
    # ...the database and the API did not.
    stored = str([(r.input, r.output) for r in rows(app, StepRun)])
    for secret in ("pw-very-secret", "tok-123456", "hunter2-secret", "k-987654"):
        assert secret not in stored
    steps = steps_of(done)
    assert steps["login"]["input"]["json"]["password"] == "[REDACTED]"
    assert steps["login"]["output"]["body"]["access_token"] == "[REDACTED]"
    assert steps["login"]["output"]["body"]["user"] == "bob"
    assert steps["use"]["input"]["headers"]["Authorization"] == "[REDACTED]"


def test_large_payloads_are_capped_in_storage_but_passed_whole_to_later_steps(api, fake, conn):
    big = {"items": ["x" * 100] * 2000}  # ~200 KB of JSON
    fake.always("/big", reply(200, big))
    fake.always("/count", reply(200, {}))
    wf = api.create(manual("big", [
        post_step("big", "/big"),
        post_step("count", "/count", {"n": "{{ length(steps.big.output.body.items) }}"}, deps=["big"]),
    ]))
    done = api.run(wf["id"])
    assert done["status"] == "succeeded"
    output = steps_of(done)["big"]["output"]
    assert output["_truncated"] is True and output["size"] > 200_000
    assert len(output["preview"]) <= 2000
    assert fake.calls("/count")[0].json() == {"n": 2000}


def test_executions_beyond_the_limit_wait_in_the_queue(app_factory, monkeypatch, tmp_path, fake):
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine
    from tests.conftest import make_key

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "inst3"))
    one = app_factory(MAX_CONCURRENT_EXECUTIONS=1)
    try:
        api = Api(one.test_client(), {"Authorization": f"Bearer {make_key(one, 'editor')}"})
        wf = api.create(manual("q", [{"id": "nap", "type": "wait", "seconds": 2}]))
        first = api.execute(wf["id"], wait=None).get_json()["id"]
        second = api.execute(wf["id"], wait=None).get_json()["id"]
        api.wait_for(first, lambda b: b["status"] == "running")
        assert api.execution(second)["status"] == "queued"
        assert api.wait_finished(first)["status"] == "succeeded"
        assert api.wait_finished(second)["status"] == "succeeded"
        a, b = api.execution(first), api.execution(second)
        assert _ts(b["started_at"]) >= _ts(a["finished_at"])
    finally:
        close_engine(one)


def test_a_condition_that_fails_at_run_time_fails_cleanly_and_skips_its_branch(api, fake, conn):
    fake.always("/x", reply(200, {}))
    wf = api.create(manual("badcond", [
        {"id": "check", "type": "condition", "expression": "length(trigger.n) > `1`"},
        post_step("then", "/x", deps=["check"]),
    ]))
    done = api.run(wf["id"], {"n": 5})  # length() of a number fails when evaluated
    steps = steps_of(done)
    assert done["status"] == "failed"
    assert steps["check"]["status"] == "failed" and steps["check"]["error"]["class"] == "expression"
    assert steps["then"]["status"] == "skipped"
    assert "internal error" not in done["error"]
    assert fake.count("/x") == 0
    # With on_error continue the dependent still runs (the condition gave no verdict).
    api.put(wf["id"], manual("badcond", [
        {"id": "check", "type": "condition", "expression": "length(trigger.n) > `1`", "on_error": "continue"},
        post_step("then", "/x", deps=["check"]),
    ]))
    done = api.run(wf["id"], {"n": 5})
    assert done["status"] == "succeeded", done
    assert steps_of(done)["then"]["status"] == "succeeded"


# -- notifications and outputs that are not plain JSON ---------------------------------------------


def test_a_notification_step_posts_the_rendered_message_to_the_chat_connection(api, fake, conn):
    fake.always("/chat", reply(200, {"ok": True}))
    wf = api.create(manual("notify", [
        {"id": "say", "type": "notification", "service": "http", "channel": "/chat",
         "message": "Order {{ trigger.id }} for {{ trigger.customer.name }} is {{ trigger.state }}"}]))
    done = api.run(wf["id"], {"id": 12, "customer": {"name": "Ada"}, "state": "paid"})
    assert done["status"] == "succeeded", done
    assert fake.calls("/chat")[0].json() == {"text": "Order 12 for Ada is paid"}
    assert fake.calls("/chat")[0].headers["Idempotency-Key"] == f"atom-{done['id']}-say-1"
    step = steps_of(done)["say"]
    assert step["input"] == {"channel": "/chat", "message": "Order 12 for Ada is paid"}


def test_an_unexpected_slack_reply_fails_the_notification_as_upstream_naming_the_field(
        api, fake, create_connection):
    """Issue 10: Slack answering ``ok: true`` without ``channel`` and ``ts`` showed as
    ``internal: KeyError``; it is the service's answer, and posting again would post twice."""
    fake.always("/api/chat.postMessage", reply(200, {"ok": True, "message": {}}))
    create_connection("slack", {"base_url": fake.url + "/api/"}, {"token": "xoxb-test-token"})
    wf = api.create(manual("tell slack", [
        {"id": "say", "type": "notification", "service": "slack", "channel": "#ops",
         "message": "deployed", "retry": {"max_attempts": 3, "delay_s": 0.01}}]))
    done = api.run(wf["id"])
    assert done["status"] == "failed", done
    step = steps_of(done)["say"]
    assert step["error"]["class"] == "upstream", step
    assert "unexpected answer from slack: the reply has no field 'channel'" in step["error"]["message"]
    assert fake.count("/api/chat.postMessage") == 1  # not retried: the message went out


def test_an_output_that_is_not_plain_json_is_stored_as_text(app_factory, monkeypatch, tmp_path):
    """A plugin may return datetimes, decimals or bytes: the step still succeeds, its stored
    output has them as text, and later steps can use them."""
    from plugins.http.manifest import MANIFEST as HTTP
    from tests.atom.engine import probe_plugin
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine
    from tests.conftest import make_key

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "inst4"))
    probe_app = app_factory(PLUGINS=[HTTP, probe_plugin.MANIFEST])
    try:
        api = Api(probe_app.test_client(), {"Authorization": f"Bearer {make_key(probe_app, 'editor')}"})
        created = api.client.post("/api/v2/connections", headers=api.headers, json={
            "integration": "probe", "label": "probe", "settings": {}, "credentials": {}})
        assert created.status_code == 201, created.get_json()
        wf = api.create(manual("odd output", [
            {"id": "stamp", "type": "action", "service": "probe", "action": "stamp"},
            {"id": "tell", "type": "notification", "service": "probe", "depends_on": ["stamp"],
             "message": "at {{ steps.stamp.output.at }}"}]))
        done = api.run(wf["id"])
        assert done["status"] == "succeeded", done
        output = steps_of(done)["stamp"]["output"]
        assert output["at"] == "2026-01-02 03:04:05" and output["amount"] == "1.50"
        assert isinstance(output["raw"], str)
        assert probe_plugin.SENT[-1] == (None, "at 2026-01-02 03:04:05")
    finally:
        close_engine(probe_app)


def test_many_executions_at_once_share_a_small_connection_pool(app_factory, monkeypatch, tmp_path, fake):
    """Orchestrators hold at most one pooled connection each (they give it back before they
    wait or use their session): 4 at once on a pool of 2 connections, polling for cancel
    requests and beating their hearts all the time, still all finish."""
    import atom.engine.runner as runner_module
    from atom.models import Execution
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine
    from tests.conftest import make_key

    monkeypatch.setattr(runner_module, "CANCEL_POLL_S", 0.002)
    monkeypatch.setattr(runner_module, "HEARTBEAT_S", 0.01)
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "inst5"))
    small = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2, "max_overflow": 0, "pool_timeout": 15,
                                                   "pool_pre_ping": True},
                        MAX_CONCURRENT_EXECUTIONS=4, WORKER_THREADS=4)
    try:
        api = Api(small.test_client(), {"Authorization": f"Bearer {make_key(small, 'editor')}"})
        created = api.client.post("/api/v2/connections", headers=api.headers, json={
            "integration": "http", "label": "fake", "settings": {"base_url": fake.url, "max_attempts": 1},
            "credentials": {}})
        assert created.status_code == 201
        fake.always("/x", reply(200, {"n": 1}))
        steps = [post_step("s0", "/x")]
        for i in range(1, 25):
            steps.append(post_step(f"s{i}", "/x", deps=[f"s{i - 1}"]))
            steps.append({"id": f"t{i}", "type": "transform", "depends_on": [f"s{i - 1}"],
                          "mapping": {"n": f"steps.s{i - 1}.output.body.n"}})
        wf = api.create(manual("busy", steps))
        ids = []
        for _ in range(6):
            response = api.execute(wf["id"], wait=None)
            assert response.status_code == 202, response.get_json()
            ids.append(response.get_json()["id"])
        for ex_id in ids:
            done = api.wait_finished(ex_id, timeout=90)
            assert done["status"] == "succeeded", done["error"]
        assert fake.count("/x") == 6 * 25
        assert count_rows(small, Execution) == 6
    finally:
        close_engine(small)


def count_rows(app, model) -> int:
    from tests.atom.engine.conftest import count

    return count(app, model)


def test_step_rows_are_written_the_same_without_an_upsert(monkeypatch, app, api, fake, conn):
    """Databases without ``ON CONFLICT`` get an update and an insert instead of the upsert."""
    import atom.engine.runner as runner_module

    monkeypatch.setitem(runner_module._UPSERTS, "sqlite", None)
    fake.script("/flaky", reply(503, {}), reply(200, {"id": 3}))
    fake.always("/next", reply(200, {}))
    fake.script("/last", reply(500, {}))
    wf = api.create(manual("plain", [
        post_step("flaky", "/flaky", retry={"max_attempts": 2, "delay_s": 0.01}),
        {"id": "t", "type": "transform", "depends_on": ["flaky"], "mapping": {"id": "steps.flaky.output.body.id"}},
        post_step("next", "/next", {"id": "{{ steps.t.output.id }}"}, deps=["t"]),
        post_step("last", "/last", deps=["next"]),
        post_step("skipped", "/next", deps=["last"])]))
    failed = api.run(wf["id"])
    steps = steps_of(failed)
    assert {s: v["status"] for s, v in steps.items()} == {
        "flaky": "succeeded", "t": "succeeded", "next": "succeeded", "last": "failed", "skipped": "skipped"}
    assert steps["flaky"]["attempt"] == 2 and steps["t"]["output"] == {"id": 3}
    assert fake.calls("/next")[0].json() == {"id": 3}
    fake.always("/last", reply(200, {}))
    retried = api.client.post(f"/api/v2/executions/{failed['id']}/retry?wait=20", headers=api.headers).get_json()
    assert retried["status"] == "succeeded"
    assert [s["step_id"] for s in retried["steps"]].count("last") == 1


def test_parallel_sub_workflows_do_not_starve_the_step_pool(app_factory, monkeypatch, tmp_path, fake):
    """Sub-workflow steps wait for their children, whose steps need the step pool: with as
    many parallel sub-workflows as step threads, the children must still get threads."""
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine
    from tests.conftest import make_key

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "inst6"))
    small = app_factory(WORKER_THREADS=2)
    try:
        api = Api(small.test_client(), {"Authorization": f"Bearer {make_key(small, 'editor')}"})
        created = api.client.post("/api/v2/connections", headers=api.headers, json={
            "integration": "http", "label": "fake", "settings": {"base_url": fake.url, "max_attempts": 1},
            "credentials": {}})
        assert created.status_code == 201
        fake.always("/c", reply(200, {}))
        child = api.create(manual("child", [post_step("call", "/c")]))
        parent = api.create(manual("parent", [
            {"id": f"sub{i}", "type": "workflow", "workflow_id": child["id"]} for i in range(4)]))
        done = api.run(parent["id"], wait=15)
        assert done["status"] == "succeeded", done
        assert fake.count("/c") == 4
    finally:
        close_engine(small)
