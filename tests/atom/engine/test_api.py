"""The workflow and execution API: idempotency keys, 409/404/400, analytics, service status,
execution listing filters, roles."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import Execution
from atom.models import StepRun
from atom.models.base import isoformat
from atom.models.base import utcnow
from tests.atom.engine.conftest import count
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.fakes import free_port
from tests.fakes import reply

NOOP = manual("noop", [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}])


# -- idempotency ---------------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_same_execution(app, api):
    wf = api.create(NOOP)
    first = api.execute(wf["id"], {"x": 1}, **{"Idempotency-Key": "order-17"})
    assert first.status_code == 200  # ?wait: finished within the wait
    again = api.execute(wf["id"], {"x": 2}, **{"Idempotency-Key": "order-17"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["steps"][0]["output"] == {"x": 1}  # the first payload ran, once
    other = api.execute(wf["id"], {"x": 3}, **{"Idempotency-Key": "order-18"})
    assert other.get_json()["id"] != first.get_json()["id"]
    # A key is per workflow.
    wf2 = api.create(NOOP)
    elsewhere = api.execute(wf2["id"], {"x": 4}, **{"Idempotency-Key": "order-17"})
    assert elsewhere.get_json()["id"] not in (first.get_json()["id"], other.get_json()["id"])
    assert count(app, Execution) == 3
    too_long = api.execute(wf["id"], {}, **{"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 400
    assert count(app, Execution) == 3


def test_concurrent_requests_with_one_key_start_one_execution(app, api, keys):
    wf = api.create(NOOP)
    ids, statuses = [], []
    barrier = threading.Barrier(4)

    def call():
        client = app.test_client()
        barrier.wait(5)
        response = client.post(f"/api/v2/ai-workflows/{wf['id']}/execute", json={"x": 1},
                               headers={**keys["editor"], "Idempotency-Key": "same"})
        statuses.append(response.status_code)
        ids.append(response.get_json()["id"])

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ids) == 4 and len(set(ids)) == 1, (ids, statuses)
    assert count(app, Execution) == 1
    assert api.wait_finished(ids[0])["status"] == "succeeded"


def test_without_wait_execute_answers_202_with_the_id(api):
    wf = api.create(NOOP)
    response = api.execute(wf["id"], {"x": 1}, wait=None)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] in ("queued", "running", "succeeded") and body["workflow_id"] == wf["id"]
    assert api.wait_finished(body["id"])["status"] == "succeeded"


# -- bad input ------------------------------------------------------------------------------------


def test_executing_a_disabled_workflow_is_409(app, api):
    wf = api.create(NOOP)
    assert api.client.post(f"/api/v2/ai-workflows/{wf['id']}/disable", headers=api.headers).get_json()["enabled"] is False
    response = api.execute(wf["id"], {})
    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert count(app, Execution) == 0
    assert api.client.post(f"/api/v2/ai-workflows/{wf['id']}/enable", headers=api.headers).get_json()["enabled"] is True
    assert api.execute(wf["id"], {}).status_code == 200
    # Created disabled: the same.
    off = api.create({**NOOP, "enabled": False})
    assert off["enabled"] is False
    assert api.execute(off["id"], {}).status_code == 409


@pytest.mark.parametrize("method,path", [
    ("get", "/api/v2/ai-workflows/999"),
    ("put", "/api/v2/ai-workflows/999"),
    ("delete", "/api/v2/ai-workflows/999"),
    ("post", "/api/v2/ai-workflows/999/execute"),
    ("post", "/api/v2/ai-workflows/999/enable"),
    ("post", "/api/v2/ai-workflows/999/disable"),
    ("get", "/api/v2/ai-workflows/999/versions"),
    ("get", "/api/v2/executions/999"),
    ("post", "/api/v2/executions/999/cancel"),
    ("post", "/api/v2/executions/999/retry"),
    ("post", "/hooks/workflows/no-such-token"),
])
def test_unknown_ids_are_404(api, method, path):
    kwargs = {"json": NOOP} if method == "put" else {"json": {}} if method == "post" else {}
    response = getattr(api.client, method)(path, headers=api.headers, **kwargs)
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["code"] == "not_found"


def test_a_deleted_workflow_is_404_and_keeps_its_executions(app, api):
    wf = api.create(NOOP)
    ex = api.run(wf["id"], {"x": 1})
    assert api.client.delete(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).status_code == 204
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).status_code == 404
    assert api.execute(wf["id"], {}).status_code == 404
    assert wf["id"] not in [w["id"] for w in api.client.get("/api/v2/ai-workflows", headers=api.headers).get_json()["workflows"]]
    assert api.execution(ex["id"])["status"] == "succeeded"


@pytest.mark.parametrize("body", [[1, 2], "text", 42, None])
def test_a_trigger_payload_that_is_not_an_object_is_400_and_starts_nothing(app, api, body):
    wf = api.create(NOOP)
    if body is None:
        response = api.client.post(f"/api/v2/ai-workflows/{wf['id']}/execute", data="{oops",
                                   headers={**api.headers, "Content-Type": "application/json"})
    else:
        response = api.client.post(f"/api/v2/ai-workflows/{wf['id']}/execute", json=body, headers=api.headers)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["code"] == "bad_request"
    assert count(app, Execution) == 0


def test_roles_reading_is_for_viewers_running_for_editors(api, keys):
    wf = api.create(NOOP)
    viewer = keys["viewer"]
    assert api.client.get("/api/v2/ai-workflows", headers=viewer).status_code == 200
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=viewer).status_code == 200
    assert api.client.post(f"/api/v2/ai-workflows/{wf['id']}/execute", json={}, headers=viewer).status_code == 403
    assert api.client.post("/api/v2/ai-workflows", json=NOOP, headers=viewer).status_code == 403
    assert api.client.get("/api/v2/executions").status_code == 401
    assert api.client.post(f"/api/v2/ai-workflows/{wf['id']}/execute", json={}).status_code == 401


# -- listing executions -------------------------------------------------------------------------------


def _set_created(app, ex_id: int, when) -> None:
    with app.app_context():
        db.session.execute(db.update(Execution).where(Execution.id == ex_id).values(created_at=when))
        db.session.commit()


def test_executions_are_listed_by_workflow_status_and_time(app, api):
    wf1 = api.create(manual("one", [{"id": "c", "type": "condition", "expression": "to_number(trigger.n) > `0`"},
                                    {"id": "t", "type": "transform", "depends_on": ["c"],
                                     "mapping": {"n": "length(trigger.s)"}}]))
    wf2 = api.create(NOOP)
    ok = api.run(wf1["id"], {"n": 1, "s": "abc"})
    bad = api.run(wf1["id"], {"n": 1, "s": 5})  # length() of a number: the step fails
    other = api.run(wf2["id"], {"x": 1})
    assert (ok["status"], bad["status"], other["status"]) == ("succeeded", "failed", "succeeded")
    now = utcnow()
    _set_created(app, ok["id"], now - timedelta(days=3))
    _set_created(app, bad["id"], now - timedelta(days=1))

    def listed(query: str) -> list[int]:
        response = api.client.get(f"/api/v2/executions{query}", headers=api.headers)
        assert response.status_code == 200, response.get_json()
        return [e["id"] for e in response.get_json()["executions"]]

    assert listed("") == [other["id"], bad["id"], ok["id"]]  # newest first
    assert listed(f"?workflow_id={wf1['id']}") == [bad["id"], ok["id"]]
    assert listed("?status=failed") == [bad["id"]]
    assert listed(f"?status=succeeded&workflow_id={wf1['id']}") == [ok["id"]]
    since = isoformat(now - timedelta(days=2))
    until = isoformat(now - timedelta(hours=12))
    assert listed(f"?since={since}") == [other["id"], bad["id"]]
    assert listed(f"?until={until}") == [bad["id"], ok["id"]]
    assert listed(f"?since={since}&until={until}") == [bad["id"]]
    assert listed("?limit=1") == [other["id"]]
    assert listed("?limit=1&offset=1") == [bad["id"]]
    summary = api.client.get("/api/v2/executions", headers=api.headers).get_json()["executions"][0]
    assert {"id", "workflow_id", "version", "status", "started_at", "finished_at", "error"} <= set(summary)
    assert api.client.get("/api/v2/executions?status=exploded", headers=api.headers).status_code in (400, 422)


def test_an_execution_reads_as_the_issue_describes(api):
    wf = api.create(NOOP)
    ex = api.run(wf["id"], {"x": 5})
    assert {"id", "workflow_id", "version", "status", "started_at", "finished_at", "error", "steps"} <= set(ex)
    step = ex["steps"][0]
    assert {"step_id", "status", "attempt", "started_at", "finished_at", "duration_ms", "input", "output",
            "error"} <= set(step)
    assert (step["step_id"], step["status"], step["attempt"], step["output"]) == ("t", "succeeded", 1, {"x": 5})
    assert ex["started_at"] <= ex["finished_at"]


# -- analytics --------------------------------------------------------------------------------------


def _insert(app, wf_id: int, durations_ms: list[tuple[str, float, str | None]]) -> None:
    """Finished executions with exact durations, each with one step ``s`` of the same length."""
    base = utcnow() - timedelta(hours=1)
    with app.app_context():
        for status, ms, error_class in durations_ms:
            ex = Execution(workflow_id=wf_id, version=1, status=status, created_at=base, started_at=base,
                           finished_at=base + timedelta(milliseconds=ms))
            db.session.add(ex)
            db.session.flush()
            db.session.add(StepRun(execution_id=ex.id, step_id="s", step_type="action",
                                   status="failed" if error_class else "succeeded", duration_ms=ms,
                                   error_class=error_class, error="x" if error_class else None))
        db.session.commit()


def test_analytics_report_counts_success_rate_percentiles_and_failures_by_class(app, api):
    wf = api.create(NOOP)
    other = api.create(NOOP)
    _insert(app, wf["id"], [("succeeded", 100, None), ("succeeded", 200, None), ("succeeded", 300, None),
                            ("succeeded", 400, None), ("failed", 1000, "timeout")])
    _insert(app, other["id"], [("failed", 50, "timeout"), ("failed", 70, "upstream"), ("succeeded", 10, None)])
    body = api.client.get("/api/v2/ai-workflows/analytics", headers=api.headers).get_json()
    assert body["executions"] == 8
    assert body["success_rate"] == round(5 / 8, 4)
    assert body["failures_by_error_class"] == {"timeout": 2, "upstream": 1}
    per = {w["workflow_id"]: w for w in body["workflows"]}
    first = per[wf["id"]]
    assert first["executions"] == 5 and first["success_rate"] == 0.8
    assert first["by_status"] == {"succeeded": 4, "failed": 1}
    assert first["p50_ms"] == pytest.approx(300, abs=1)
    assert first["p95_ms"] == pytest.approx(880, abs=1)  # 400 + 0.8 * (1000 - 400)
    step = first["steps"][0]
    assert (step["step_id"], step["runs"], step["failed"]) == ("s", 5, 1)
    assert step["p50_ms"] == pytest.approx(300) and step["p95_ms"] == pytest.approx(880)
    assert per[other["id"]]["success_rate"] == round(1 / 3, 4)
    # Outside the window nothing counts; a bad window is 400.
    with app.app_context():
        db.session.execute(db.update(Execution).values(created_at=utcnow() - timedelta(days=40)))
        db.session.commit()
    assert api.client.get("/api/v2/ai-workflows/analytics?days=30", headers=api.headers).get_json()["executions"] == 0
    assert api.client.get("/api/v2/ai-workflows/analytics?days=60", headers=api.headers).get_json()["executions"] == 8
    assert api.client.get("/api/v2/ai-workflows/analytics?days=0", headers=api.headers).status_code == 400


def test_analytics_count_the_error_classes_of_real_runs(api, fake, conn):
    fake.always("/down", reply(503, {}))
    fake.always("/slow", reply(200, {}, delay=1.0))
    wf = api.create(manual("faults", [post_step("down", "/down", on_error="continue"),
                                      post_step("slow", "/slow", timeout_s=0.2, on_error="continue")]))
    assert api.run(wf["id"])["status"] == "succeeded"
    body = api.client.get("/api/v2/ai-workflows/analytics", headers=api.headers).get_json()
    assert body["failures_by_error_class"] == {"upstream": 1, "timeout": 1}
    steps = {s["step_id"]: s for s in body["workflows"][0]["steps"]}
    assert steps["down"]["failed"] == 1 and steps["slow"]["failed"] == 1


# -- services status ----------------------------------------------------------------------------------


def test_services_status_reports_the_services_workflows_use_and_their_health(api, fake, create_connection):
    wf = api.create(manual("uses http", [post_step("a", "/a")]))

    def status() -> dict:
        return api.client.get("/api/v2/ai-workflows/services/status", headers=api.headers).get_json()["services"]

    assert status()["http"]["status"] == "no_connection"
    assert status()["http"]["workflows"] == [wf["id"]]
    good = create_connection("http", {"base_url": fake.url, "max_attempts": 1})
    assert status()["http"]["status"] == "unknown"  # never tested
    fake.always("/", reply(200, {}))
    assert api.client.post(f"/api/v2/connections/{good['id']}/test", headers=api.headers).get_json()["ok"] is True
    assert status()["http"]["status"] == "healthy"
    bad = create_connection("http", {"base_url": f"http://127.0.0.1:{free_port()}", "max_attempts": 1})
    assert api.client.post(f"/api/v2/connections/{bad['id']}/test", headers=api.headers).get_json()["ok"] is False
    http = status()["http"]
    assert http["status"] == "degraded"
    by_id = {c["id"]: c for c in http["connections"]}
    assert by_id[good["id"]]["last_test_ok"] is True and by_id[bad["id"]]["last_test_ok"] is False
    assert by_id[bad["id"]]["last_error_class"] in ("upstream", "timeout")
    assert set(status()) == {"http"}


def test_an_execution_and_its_steps_are_read_as_of_one_moment(app, api):
    """A run that records its claim and a step while a poll is reading must not show up half
    in the answer (``queued``, with a step running): the run here writes just before the
    poll's first statement that reads step rows."""
    from sqlalchemy import event

    wf = api.create(manual("snapshot", [{"id": "t", "type": "transform", "mapping": {"x": "`1`"}}]))
    with app.app_context():
        ex = Execution(workflow_id=wf["id"], version=1, status="queued", trigger_type="manual",
                       trigger_payload={})
        db.session.add(ex)
        db.session.commit()
        ex_id, target = ex.id, db.engine
    wrote = []

    def the_run_moves_on(conn, cursor, statement, parameters, context, executemany):
        if "step_runs" in statement and not wrote:
            wrote.append(True)
            with target.connect() as other:  # the run's own connection
                other.execute(Execution.__table__.update().where(Execution.id == ex_id)
                              .values(status="running", started_at=utcnow()))
                other.execute(StepRun.__table__.insert().values(
                    execution_id=ex_id, step_id="t", step_type="transform", status="running",
                    attempt=1, started_at=utcnow()))
                other.commit()

    event.listen(target, "before_cursor_execute", the_run_moves_on)
    try:
        body = api.execution(ex_id)
    finally:
        event.remove(target, "before_cursor_execute", the_run_moves_on)
    assert wrote
    assert (body["status"], [s["step_id"] for s in body["steps"]]) == ("running", ["t"])
