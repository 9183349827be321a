"""``atom workflows run`` (summary, --json, a --wait that times out cancels the run and every
step row ends final) and ``atom executions list|show|retry|cancel``."""
from __future__ import annotations

import json
from datetime import timedelta

from atom.engine import get_engine
from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from atom.models.base import utcnow
from tests.atom.cli.conftest import assert_one_line_error
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.atom.engine.conftest import rows
from tests.fakes import reply
from tests.fakes import wait_until

FINAL = {"succeeded", "failed", "skipped", "cancelled"}


def _two_steps(api, fake, path="/ok"):
    return api.create(manual("orders", [post_step("fetch", path),
                                        {"id": "shape", "type": "transform",
                                         "mapping": {"n": "steps.fetch.output.status"},
                                         "depends_on": ["fetch"]}]))


def test_run_prints_a_readable_summary(atom, api, conn, fake):
    fake.always("/ok", reply(200, {"fine": True}))
    wf = _two_steps(api, fake)
    result = atom("workflows", "run", wf["id"], "--summary")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Execution ") and ": succeeded in " in lines[0]
    assert f"workflow  {wf['id']} 'orders', version 1, trigger manual" in result.stdout
    header = next(line for line in lines if "STEP" in line)
    assert header.split() == ["STEP", "TYPE", "STATUS", "ATTEMPTS", "TIME", "ERROR", "/", "NOTE"]
    fetch = next(line for line in lines if line.strip().startswith("fetch"))
    assert fetch.split()[:4] == ["fetch", "action", "succeeded", "1"] and " ms" in fetch
    assert any(line.strip().startswith("shape") and "succeeded" in line for line in lines)
    assert "error" not in result.stdout.lower().replace("error / note", "")


def test_a_failed_run_shows_the_step_error_and_exits_1(atom, api, conn, fake):
    fake.always("/bad", reply(500, {"oops": 1}))
    wf = _two_steps(api, fake, "/bad")
    result = atom("workflows", "run", wf["id"], "--summary")
    assert result.exit_code == 1
    assert ": failed in " in result.stdout.splitlines()[0]
    fetch = next(line for line in result.stdout.splitlines() if line.strip().startswith("fetch"))
    assert "failed" in fetch and "upstream:" in fetch and "500" in fetch
    shape = next(line for line in result.stdout.splitlines() if line.strip().startswith("shape"))
    assert "skipped" in shape and "fetch failed" in shape
    assert "  error     step fetch failed (upstream)" in result.stdout
    assert result.stderr == ""


def test_run_prints_a_summary_and_json_with_json(atom, api, conn, fake, client, keys):
    fake.always("/ok", reply(200, {}))
    wf = _two_steps(api, fake)
    result = atom("workflows", "run", wf["id"], "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body == client.get(f"/api/v2/executions/{body['id']}", headers=keys["viewer"]).get_json()
    assert [s["status"] for s in body["steps"]] == ["succeeded", "succeeded"]
    summary = atom("workflows", "run", wf["id"])  # piped too: the summary unless --json
    assert summary.exit_code == 0 and summary.stdout.startswith("Execution ")
    assert "succeeded" in summary.stdout and "{" not in summary.stdout.splitlines()[0]


def test_run_takes_its_payload_inline_or_from_a_file(atom, api, conn, fake, tmp_path):
    fake.always("/echo", reply(200, {}))
    wf = api.create(manual("echo", [post_step("send", "/echo", {"who": "{{ trigger.who }}"})]))
    assert atom("workflows", "run", wf["id"], "--data", '{"who": "inline"}').exit_code == 0
    payload = tmp_path / "p.json"
    payload.write_text('{"who": "file"}')
    assert atom("workflows", "run", wf["id"], "--payload", payload).exit_code == 0
    assert [c.json() for c in fake.calls("/echo")] == [{"who": "inline"}, {"who": "file"}]


def test_a_wait_that_times_out_cancels_the_run_and_leaves_no_step_running(app, atom, api):
    wf = api.create(manual("slow", [{"id": "first", "type": "transform", "mapping": {"a": "trigger.a"}},
                                    {"id": "nap", "type": "wait", "seconds": 60, "depends_on": ["first"]},
                                    {"id": "after", "type": "transform", "mapping": {"b": "trigger.b"},
                                     "depends_on": ["nap"]}]))
    result = atom("workflows", "run", wf["id"], "--wait", "1.5", "--json")
    line = assert_one_line_error(result, "did not finish within 1.5s", "cancelled it", exit_code=1)
    assert "1 step succeeded, 2 steps cancelled" in line
    body = json.loads(result.stdout)
    assert body["status"] == "cancelled"
    assert {s["step_id"]: s["status"] for s in body["steps"]} == {
        "first": "succeeded", "nap": "cancelled", "after": "cancelled"}
    (execution,) = rows(app, Execution)
    assert execution.status == "cancelled" and execution.finished_at is not None
    assert {r.status for r in rows(app, StepRun)} <= FINAL


def test_a_timeout_lets_a_running_call_end_and_records_it(app, atom, api, conn, fake):
    fake.always("/slow", reply(200, {"late": True}, delay=4.0))
    fake.always("/never", reply(200, {}))
    wf = api.create(manual("slow call", [post_step("call", "/slow"),
                                         post_step("next", "/never", deps=["call"])]))
    result = atom("workflows", "run", wf["id"], "--wait", "1.5", "--summary")
    assert_one_line_error(result, "did not finish within 1.5s", "cancelled it",
                          "1 step succeeded, 1 step cancelled")
    assert "Execution" in result.stdout and ": cancelled in " in result.stdout
    steps = {r.step_id: r for r in rows(app, StepRun)}
    assert steps["call"].status == "succeeded" and steps["call"].output["body"] == {"late": True}
    assert steps["next"].status == "cancelled"
    assert fake.count("/never") == 0


def test_a_step_still_running_after_the_grace_is_named_and_ends_final_later(app, atom, api, conn,
                                                                            fake):
    fake.always("/slow", reply(200, {}, delay=4.0))
    wf = api.create(manual("slower", [post_step("call", "/slow")]))
    result = atom("workflows", "run", wf["id"], "--wait", "1.5", "--grace", "0.3", "--json")
    assert_one_line_error(result, "did not finish within 1.5s", "step(s) call still run",
                          f"atom executions show {json.loads(result.stdout)['id']}")
    assert wait_until(lambda: rows(app, Execution)[0].status == "cancelled", 10)
    assert [r.status for r in rows(app, StepRun)] == ["succeeded"]


def test_a_run_on_a_terminal_shows_a_live_line_on_stderr(atom, api, tty):
    tty("stderr")
    wf = api.create(manual("nap", [{"id": "nap", "type": "wait", "seconds": 0.8}]))
    result = atom("workflows", "run", wf["id"], "--json")
    assert result.exit_code == 0, result.output
    assert "\r" in result.stderr and "running" in result.stderr and "0/1 steps done" in result.stderr
    assert json.loads(result.stdout)["status"] == "succeeded"


def test_a_disabled_workflow_is_refused(atom, api, client, keys):
    wf = api.create(manual("off", [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}]))
    client.post(f"/api/v2/ai-workflows/{wf['id']}/disable", headers=keys["editor"])
    assert_one_line_error(atom("workflows", "run", wf["id"]), f"workflow {wf['id']} is disabled")


def test_workflows_list_as_a_table_and_as_json(atom, api, client, keys, tty):
    wf = api.create({"name": "hooked", "trigger": {"type": "webhook"},
                     "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}]})
    assert atom("workflows", "list").stdout == f"{wf['id']}\thooked\tv1\twebhook\tenabled\n"
    body = json.loads(atom("workflows", "list", "--json").stdout)
    api_body = client.get("/api/v2/ai-workflows", headers=keys["viewer"]).get_json()
    assert [w["id"] for w in body["workflows"]] == [w["id"] for w in api_body["workflows"]]
    # The webhook URL names the server's address, not the test client's.
    assert body["workflows"][0]["webhook_url"].startswith("http://127.0.0.1:5058/hooks/workflows/")
    tty("stdout")
    lines = atom("workflows", "list").stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "VERSION", "TRIGGER", "STATE"]


# -- executions -------------------------------------------------------------------------------------


def _runs(api, fake, conn):
    fake.always("/ok", reply(200, {}))
    fake.always("/bad", reply(500, {}))
    good = api.create(manual("good", [post_step("call", "/ok")]))
    bad = api.create(manual("bad", [post_step("call", "/bad")]))
    ids = [api.run(good["id"])["id"], api.run(bad["id"])["id"], api.run(good["id"])["id"]]
    return good, bad, ids


def test_executions_list_filters_as_the_api_does(atom, api, conn, fake, client, keys, tty):
    good, bad, ids = _runs(api, fake, conn)
    listed = atom("executions", "list").stdout.splitlines()
    assert [int(line.split("\t")[0]) for line in listed] == ids[::-1]
    failed = atom("executions", "list", "--status", "failed").stdout.splitlines()
    assert len(failed) == 1 and failed[0].split("\t")[:3] == [str(ids[1]), f"{bad['id']} bad", "failed"]
    assert "step call failed (upstream)" in failed[0]
    mine = atom("executions", "list", "--workflow", good["id"], "--limit", 1).stdout.splitlines()
    assert [int(line.split("\t")[0]) for line in mine] == [ids[2]]
    assert len(atom("executions", "list", "--since", "1h").stdout.splitlines()) == 3
    assert atom("executions", "list", "--until", "2000-01-01T00:00:00Z").stdout == ""
    for args, query in ((["--status", "failed"], "status=failed"),
                        (["--workflow", good["id"], "--offset", 1], f"workflow_id={good['id']}&offset=1")):
        cli = json.loads(atom("executions", "list", *args, "--json").stdout)
        assert cli == client.get(f"/api/v2/executions?{query}", headers=keys["viewer"]).get_json()
    tty("stdout")
    table = atom("executions", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "WORKFLOW", "STATUS", "TRIGGER", "CREATED", "DURATION", "ERROR"]


def test_executions_show_prints_steps_with_attempts_errors_and_durations(atom, api, conn, fake,
                                                                         client, keys):
    fake.script("/flaky", reply(503, {}), reply(503, {}))
    fake.always("/flaky", reply(500, {"no": "way"}))
    wf = api.create(manual("retrying", [post_step("call", "/flaky",
                                                  retry={"max_attempts": 3, "delay_s": 0.01})]))
    ex = api.run(wf["id"])
    result = atom("executions", "show", ex["id"], "--summary")
    assert result.exit_code == 0, result.output
    call = next(line for line in result.stdout.splitlines() if line.strip().startswith("call"))
    cells = call.split()
    assert cells[:4] == ["call", "action", "failed", "3"] and "upstream:" in call
    assert ": failed in " in result.stdout.splitlines()[0]
    shown = json.loads(atom("executions", "show", ex["id"], "--json").stdout)
    assert shown == client.get(f"/api/v2/executions/{ex['id']}", headers=keys["viewer"]).get_json()


def test_executions_retry_runs_the_failed_steps_again(atom, api, conn, fake, app):
    fake.script("/once", reply(500, {}))
    fake.always("/once", reply(200, {"second": True}))
    fake.always("/ok", reply(200, {}))
    wf = api.create(manual("again", [post_step("first", "/ok"), post_step("then", "/once", deps=["first"])]))
    ex = api.run(wf["id"])
    assert ex["status"] == "failed"
    result = atom("executions", "retry", ex["id"], "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["id"] == ex["id"] and body["status"] == "succeeded"
    assert fake.count("/ok") == 1  # the step that succeeded was not run again
    assert_one_line_error(atom("executions", "retry", ex["id"]),
                          "only failed or cancelled executions can be retried", "succeeded")


def test_executions_cancel_refuses_a_finished_one(atom, api, conn, fake):
    _, _, ids = _runs(api, fake, conn)
    assert_one_line_error(atom("executions", "cancel", ids[0]),
                          f"execution {ids[0]} has already succeeded")


def _stored_execution(app, wf_id: int, status: str, owner: str, step_status: str | None = None,
                      heartbeat_age_s: float = 0.0) -> int:
    with app.app_context():
        execution = Execution(workflow_id=wf_id, version=1, status=status, trigger_type="manual",
                              trigger_payload={}, claimed_by=owner, started_at=utcnow(),
                              heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age_s))
        db.session.add(execution)
        db.session.flush()
        if step_status:
            db.session.add(StepRun(execution_id=execution.id, step_id="nap", step_type="wait",
                                   status=step_status, attempt=1, started_at=utcnow()))
        db.session.commit()
        return execution.id


def test_cancelling_the_run_of_a_process_that_is_gone_ends_it_and_its_running_step(app, atom, api):
    wf = api.create(manual("orphan", [{"id": "nap", "type": "wait", "seconds": 60}]))
    # What a killed `atom workflows run` left: running, a step running, its process gone.
    ex_id = _stored_execution(app, wf["id"], "running", f"{_host()}:999999:gone", "running")
    result = atom("executions", "cancel", ex_id)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"execution {ex_id} cancelled (it was running)"
    (step,) = rows(app, StepRun)
    assert step.status == "cancelled" and step.finished_at is not None
    assert rows(app, Execution)[0].status == "cancelled"


def test_cancelling_a_run_another_live_process_owns_requests_it(app, atom, api):
    wf = api.create(manual("elsewhere", [{"id": "nap", "type": "wait", "seconds": 60}]))
    running = _stored_execution(app, wf["id"], "running", "other-host:42:abc", "running")
    result = atom("executions", "cancel", running, "--wait", "0.3")
    assert result.exit_code == 0, result.output
    assert "cancel requested" in result.stdout and "ends as cancelled" in result.stdout
    assert rows(app, Execution, id=running)[0].cancel_requested
    queued = _stored_execution(app, wf["id"], "queued", "other-host:42:abc")
    assert atom("executions", "cancel", queued).stdout.strip() == \
        f"execution {queued} cancelled (it was queued)"


def test_an_execution_cancelled_while_its_process_was_gone_ends_its_steps_on_recovery(app, api):
    wf = api.create(manual("recovered", [{"id": "nap", "type": "wait", "seconds": 60}]))
    ex_id = _stored_execution(app, wf["id"], "running", f"{_host()}:999999:gone", "running")
    with app.app_context():
        db.session.get(Execution, ex_id).cancel_requested = True
        db.session.commit()
        assert get_engine().recover() == [ex_id]
    assert wait_until(lambda: rows(app, Execution)[0].status == "cancelled", 10)
    (step,) = rows(app, StepRun)
    assert step.status == "cancelled" and step.error.startswith("interrupted")


def _host() -> str:
    from atom.engine.engine import HOST

    return HOST
