"""Optimisation findings and their application, through the API, the dashboard and the CLI:
each kind is found from a crafted definition or history, and not found when the data says
otherwise; apply writes a new version with its diff; auto respects the threshold; the
measured effect appears once the new version has run."""
from __future__ import annotations

from datetime import timedelta

import pytest

from atom.engine.diffs import definition_diff
from atom.extensions import db
from atom.models import CallRecord
from atom.models import Execution
from atom.models import StepRun
from atom.models import WorkflowVersion
from atom.models.base import utcnow
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.fakes import reply

BASE = "/api/v2/workflows/enhanced/optimization"


def get_step(sid: str, path: str, deps=(), **extra) -> dict:
    return {"id": sid, "type": "action", "service": "http", "action": "get",
            "depends_on": list(deps), "parameters": {"path": path}, **extra}


def analyze(client, headers, **body) -> dict:
    response = client.post(f"{BASE}/analyze", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def kinds(body: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in body["findings"]:
        out.setdefault(f["kind"], []).append(f)
    return out


def seed(app, wf_id: int, version: int, durations: dict[str, list[float]],
         failures: dict[str, list[str | None]] | None = None) -> list[int]:
    """Crafted history: one finished execution per index, each step with the given duration
    (and error class, None for success)."""
    failures = failures or {}
    runs = len(next(iter(durations.values())))
    ids = []
    with app.app_context():
        now = utcnow()
        for i in range(runs):
            start = now - timedelta(minutes=runs - i)
            longest = max(d[i] for d in durations.values())
            failed = any((failures.get(s) or [None] * runs)[i] for s in durations)
            ex = Execution(workflow_id=wf_id, version=version,
                           status="failed" if failed else "succeeded", trigger_type="manual",
                           created_at=start, started_at=start,
                           finished_at=start + timedelta(milliseconds=longest))
            db.session.add(ex)
            db.session.flush()
            for sid, values in durations.items():
                cls = (failures.get(sid) or [None] * runs)[i]
                db.session.add(StepRun(execution_id=ex.id, step_id=sid, step_type="action",
                                       status="failed" if cls else "succeeded", attempt=1,
                                       started_at=start,
                                       finished_at=start + timedelta(milliseconds=values[i]),
                                       duration_ms=values[i], error_class=cls,
                                       error=f"{cls} error" if cls else None))
            ids.append(ex.id)
        db.session.commit()
    return ids


# -- parallelise -----------------------------------------------------------------------------------


def test_parallelise_drops_only_the_edges_no_data_flows_through(client, keys, conn):
    chain = manual("chain", [get_step("a", "/a"), get_step("b", "/b", ["a"]),
                             get_step("c", "/c", ["b"]),
                             get_step("d", "/d/{{ steps.b.output.status }}", ["c"])])
    body = analyze(client, keys["editor"], workflow=chain)
    (par,) = kinds(body)["parallelise"]
    # b does not read a: that edge goes; d reads b, which it reaches only through c: both stay
    assert par["change"] == {"op": "remove_dependencies",
                             "edges": [{"step": "b", "depends_on": "a"}]}
    assert "d reads" not in par["evidence"]["edges_kept"]["c<-b"]
    assert "d needs b" in par["evidence"]["edges_kept"]["c<-b"]
    assert par["evidence"]["edges_kept"]["d<-c"]
    assert par["safe"] is True and 0 < par["confidence"] < 1
    assert par["effect"].startswith("critical path from 4 to 3 steps")
    assert body["findings"][0]["kind"] == "parallelise"  # the largest effect x confidence


def test_no_parallelise_when_each_step_reads_the_one_before(client, keys, conn):
    shared = manual("shared", [get_step("a", "/a"),
                               get_step("b", "/b/{{ steps.a.output.status }}", ["a"]),
                               get_step("c", "/c", ["b"], when="steps.b.output.status == `200`")])
    assert "parallelise" not in kinds(analyze(client, keys["editor"], workflow=shared))


def test_conditions_and_whens_keep_their_edges(client, keys, conn):
    gated = manual("gated", [
        get_step("a", "/a"),
        {"id": "check", "type": "condition", "expression": "trigger.go", "depends_on": ["a"]},
        get_step("b", "/b", ["check"]),
        get_step("c", "/c", ["b"])])
    body = analyze(client, keys["editor"], workflow=gated)
    (par,) = kinds(body)["parallelise"]
    removed = par["change"]["edges"]
    # check does not read a (removable); b stays after the condition; c needs the gate
    # before it, which it reaches only through b
    assert removed == [{"step": "check", "depends_on": "a"}]
    assert "condition" in par["evidence"]["edges_kept"]["b<-check"]


def test_parallelise_effect_is_the_critical_path_over_the_history(app, client, keys, api, conn):
    wf = api.create(manual("timed", [get_step("a", "/a"), get_step("b", "/b", ["a"])]))
    ids = seed(app, wf["id"], 1, {"a": [300.0, 320, 310], "b": [400.0, 390, 410]})
    body = analyze(client, keys["editor"], workflow_id=wf["id"])
    (par,) = kinds(body)["parallelise"]
    assert par["effect"].startswith("p50 -310 ms (from 710 to 400 ms")
    assert "last 3 runs" in par["effect"]
    assert set(par["evidence"]["execution_ids"]) == set(ids)
    assert body["summary"]["executions_analysed"] == 3 and body["version"] == 1


# -- retries and timeouts ------------------------------------------------------------------------


def test_flaky_step_without_retry_gets_add_retry_citing_the_failed_runs(client, keys, api, conn,
                                                                       fake):
    wf = api.create(manual("flaky", [get_step("read", "/flaky", timeout_s=5)]))
    fake.script("/flaky", reply(503), reply(200, {}), reply(503), reply(200, {}))
    runs = [api.run(wf["id"]) for _ in range(4)]
    failed = [r["id"] for r in runs if r["status"] == "failed"]
    assert len(failed) == 2
    body = analyze(client, keys["editor"], workflow_id=wf["id"])
    (retry,) = kinds(body)["add_retry"]
    assert retry["steps"] == ["read"]
    assert retry["evidence"]["transient"] == {"upstream": 2}
    assert sorted(retry["evidence"]["failed_execution_ids"]) == sorted(failed)
    assert retry["effect"].startswith("success +")
    assert retry["change"]["retry"]["max_attempts"] == 3


def test_no_add_retry_for_permanent_failures_or_a_step_that_retries(app, client, keys, api, conn):
    wf = api.create(manual("perm", [get_step("read", "/x", timeout_s=5),
                                    get_step("again", "/y", timeout_s=5,
                                             retry={"max_attempts": 2})]))
    seed(app, wf["id"], 1, {"read": [10.0, 11, 12], "again": [5.0, 5, 5]},
         {"read": ["validation", "auth", None], "again": ["timeout", "upstream", None]})
    assert "add_retry" not in kinds(analyze(client, keys["editor"], workflow_id=wf["id"]))


def test_timeouts_from_the_p99(app, client, keys, api, conn):
    wf = api.create(manual("slow", [get_step("none", "/n"), get_step("low", "/l", timeout_s=1),
                                    get_step("fine", "/f", timeout_s=10)]))
    durations = [100.0 * i for i in range(1, 21)]  # p99 1981 ms
    seed(app, wf["id"], 1, {"none": durations, "low": durations, "fine": durations})
    found = kinds(analyze(client, keys["editor"], workflow_id=wf["id"]))
    (add,) = [f for f in found["add_timeout"] if f["steps"] == ["none"]]
    assert add["change"]["timeout_s"] == 3.0  # 1981 ms x 1.5 = 2.97 s
    assert add["evidence"]["p99_ms"] == pytest.approx(1981.0)
    (raise_,) = found["raise_timeout"]
    assert raise_["steps"] == ["low"] and raise_["change"]["timeout_s"] == 3.0
    assert raise_["evidence"]["runs_over_timeout"] == 10
    assert {f["steps"][0] for f in found["add_timeout"]} == {"none"}  # low and fine have one


def test_a_step_that_times_out_gets_a_longer_timeout(client, keys, api, conn, fake):
    wf = api.create(manual("late", [get_step("slow", "/slow", timeout_s=0.2)]))
    fake.always("/slow", reply(200, {}, delay=0.5))
    runs = [api.run(wf["id"]) for _ in range(2)]
    assert [r["status"] for r in runs] == ["failed", "failed"]
    found = kinds(analyze(client, keys["editor"], workflow_id=wf["id"]))
    (raise_,) = found["raise_timeout"]
    assert raise_["evidence"]["timeout_attempts"] == 2
    assert sorted(raise_["evidence"]["failed_execution_ids"]) == sorted(r["id"] for r in runs)
    assert raise_["change"]["timeout_s"] >= 0.3  # at least the timeout x 1.5
    assert raise_["safe"] is True and raise_["confidence"] <= 0.8
    # the timeout is also transient: a retry is suggested
    assert found["add_retry"][0]["evidence"]["transient"] == {"timeout": 2}


# -- cache and batch -------------------------------------------------------------------------------


def test_cache_of_identical_reads_and_apply_rewrites_the_references(client, keys, api, conn, fake):
    wf = api.create(manual("reads", [
        get_step("first", "/profile"), get_step("again", "/profile"),
        post_step("use", "/save", {"s": "{{ steps.again.output.status }}"}, ["again"])]))
    found = kinds(analyze(client, keys["editor"], workflow_id=wf["id"]))
    (cache,) = found["cache"]
    assert cache["change"] == {"op": "reuse_output", "keep": "first", "drop": ["again"]}
    assert cache["effect"].startswith("calls -1 per run")
    response = client.post(f"{BASE}/apply", json={"workflow_id": wf["id"],
                                                  "findings": [cache["id"]]},
                           headers=keys["editor"])
    assert response.status_code == 201, response.get_json()
    out = response.get_json()
    new = api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()
    steps = {s["id"]: s for s in new["steps"]}
    assert set(steps) == {"first", "use"}
    assert steps["use"]["depends_on"] == ["first"]
    assert steps["use"]["parameters"]["json"]["s"] == "{{ steps.first.output.status }}"
    assert {"path": "steps.again", "before": out["diff"]["changes"][0]["before"],
            "after": None} in out["diff"]["changes"]
    # and it runs: one GET of /profile instead of two
    fake.always("/profile", reply(200, {"name": "x"}))
    fake.always("/save", reply(200, {}))
    assert api.run(wf["id"])["status"] == "succeeded"
    assert fake.count("/profile") == 1


def test_no_cache_for_different_parameters_or_writes(client, keys, conn):
    defn = manual("distinct", [get_step("a", "/one"), get_step("b", "/two"),
                               post_step("c", "/w", {"x": 1}), post_step("d", "/w", {"x": 1})])
    assert "cache" not in kinds(analyze(client, keys["editor"], workflow=defn))


def test_batch_names_the_writes_and_needs_a_person(client, keys, api, conn):
    wf = api.create(manual("writes", [post_step(f"w{i}", f"/items/{i}", {"n": i})
                                      for i in range(3)]))
    found = kinds(analyze(client, keys["editor"], workflow_id=wf["id"], strategy="cost"))
    (batch,) = found["batch"]
    assert batch["steps"] == ["w0", "w1", "w2"] and batch["safe"] is False
    assert "no batch action" in batch["needs_person"]
    response = client.post(f"{BASE}/apply", json={"workflow_id": wf["id"],
                                                  "findings": [batch["id"]]},
                           headers=keys["editor"])
    assert response.status_code == 422
    assert "findings" in response.get_json()["errors"]
    two = manual("two", [post_step("w0", "/i/0"), post_step("w1", "/i/1")])
    assert "batch" not in kinds(analyze(client, keys["editor"], workflow=two))


# -- event triggers and degrading services --------------------------------------------------------


def test_a_schedule_polling_a_service_with_an_event_suggests_the_event(client, keys, conn):
    polled = {"name": "poll", "trigger": {"type": "schedule", "cron": "*/5 * * * *"},
              "steps": [get_step("look", "/orders")]}
    (event,) = kinds(analyze(client, keys["editor"], workflow=polled))["event_trigger"]
    assert event["evidence"]["runs_per_day"] == 288
    assert event["evidence"]["events"] == ["webhook_received"]
    assert event["safe"] is False and event["needs_person"]
    waited = manual("wait", [{"id": "pause", "type": "wait", "seconds": 30},
                             get_step("look", "/orders", ["pause"])])
    (event,) = kinds(analyze(client, keys["editor"], workflow=waited))["event_trigger"]
    assert event["steps"] == ["look", "pause"] and "30 s" in event["effect"]
    plain = manual("plain", [get_step("look", "/orders")])
    assert "event_trigger" not in kinds(analyze(client, keys["editor"], workflow=plain))


def _calls(app, ok: int, failed: int) -> None:
    with app.app_context():
        now = utcnow()
        for i in range(ok + failed):
            db.session.add(CallRecord(ts=now - timedelta(seconds=i), integration="http",
                                      operation="GET /x", status=200 if i < ok else 503,
                                      ok=i < ok, latency_ms=20.0, attempts=1,
                                      error_class=None if i < ok else "upstream"))
        db.session.commit()


def test_degrading_service_from_its_health(app, client, keys, conn):
    defn = manual("calls", [get_step("look", "/x")])
    assert "degrading_service" not in kinds(analyze(client, keys["editor"], workflow=defn))
    _calls(app, ok=40, failed=0)
    assert "degrading_service" not in kinds(analyze(client, keys["editor"], workflow=defn))
    _calls(app, ok=0, failed=60)
    (deg,) = kinds(analyze(client, keys["editor"], workflow=defn,
                           strategy="reliability"))["degrading_service"]
    assert deg["evidence"]["health"]["calls_failed"] == 60
    assert deg["evidence"]["health"]["status"] in ("degraded", "unhealthy")
    assert deg["safe"] is True  # http.get is idempotent: the retry is safe
    assert deg["change"]["steps"] == ["look"]


# -- strategies, ids ---------------------------------------------------------------------------


def test_ids_are_stable_and_strategies_filter(client, keys, conn):
    defn = manual("mix", [get_step("a", "/a"), get_step("b", "/b", ["a"]),
                          post_step("w0", "/w"), post_step("w1", "/w1"), post_step("w2", "/w2")])
    one = analyze(client, keys["editor"], workflow=defn)
    two = analyze(client, keys["editor"], workflow=defn)
    assert [f["id"] for f in one["findings"]] == [f["id"] for f in two["findings"]]
    perf = kinds(analyze(client, keys["editor"], workflow=defn, strategy="performance"))
    assert set(perf) == {"parallelise"}
    rel = kinds(analyze(client, keys["editor"], workflow=defn, strategy="reliability"))
    assert set(rel) == {"add_retry", "add_timeout"}
    cost = kinds(analyze(client, keys["editor"], workflow=defn, strategy="cost"))
    assert set(cost) == {"batch"}
    scores = [f["score"] for f in one["findings"]]
    assert scores == sorted(scores, reverse=True)


# -- apply ---------------------------------------------------------------------------------------


def test_apply_writes_a_new_version_with_the_diff_and_measures_after(app, client, keys, api, conn,
                                                                     fake):
    fake.always("/a", reply(200, {}))
    fake.always("/b", reply(200, {}))
    wf = api.create(manual("two", [get_step("a", "/a", timeout_s=5),
                                   get_step("b", "/b", ["a"], timeout_s=5)]))
    before = api.run(wf["id"])
    assert before["status"] == "succeeded"
    (par,) = kinds(analyze(client, keys["editor"], workflow_id=wf["id"]))["parallelise"]
    response = client.post(f"{BASE}/apply", json={"workflow_id": wf["id"],
                                                  "findings": [par["id"]]},
                           headers=keys["editor"])
    assert response.status_code == 201, response.get_json()
    out = response.get_json()
    assert (out["from_version"], out["to_version"]) == (1, 2)
    assert out["applied"][0]["id"] == par["id"]
    assert {"path": "steps.b.depends_on", "before": ["a"], "after": []} in out["diff"]["changes"]
    assert '-        "a"' in out["diff"]["unified"]
    assert out["baseline"]["executions"] == 1 and out["baseline"]["success_rate"] == 1.0
    assert out["measured"] is None
    assert "no finished execution of version 2" in out["measured_reason"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(WorkflowVersion)
                                 .filter_by(workflow_id=wf["id"])) == 2
    after = api.run(wf["id"])
    assert after["version"] == 2
    got = client.get(f"{BASE}/apply/{out['id']}", headers=keys["viewer"]).get_json()
    assert got["measured"]["executions"] == 1 and got["measured"]["version"] == 2
    assert got["measured"]["change"]["success_rate"] == 0.0
    assert got["measured"]["execution_ids"] == [after["id"]]
    listed = client.get(f"{BASE}/applications?workflow_id={wf['id']}",
                        headers=keys["viewer"]).get_json()
    assert [a["id"] for a in listed["applications"]] == [out["id"]]
    # the finding is gone from the new version
    assert "parallelise" not in kinds(analyze(client, keys["editor"], workflow_id=wf["id"]))
    # unprefixed path answers too
    assert client.get(f"/workflows/enhanced/optimization/apply/{out['id']}",
                      headers=keys["viewer"]).status_code == 200


def test_apply_keeps_the_webhook_secret(app, client, keys, api, conn):
    from atom.engine.workflows import webhook_secret
    from atom.models import Workflow

    wf = api.create({"name": "hook", "trigger": {"type": "webhook", "secret": "s3cret-value-1"},
                     "steps": [get_step("a", "/a"), get_step("b", "/b", ["a"])]})
    (par,) = kinds(analyze(client, keys["editor"], workflow_id=wf["id"]))["parallelise"]
    out = client.post(f"{BASE}/apply", json={"workflow_id": wf["id"], "findings": [par["id"]]},
                      headers=keys["editor"])
    assert out.status_code == 201, out.get_json()
    assert "s3cret-value-1" not in out.get_data(as_text=True)
    with app.app_context():
        workflow = db.session.get(Workflow, wf["id"])
        assert workflow.version == 2 and webhook_secret(workflow) == "s3cret-value-1"


def test_auto_respects_the_threshold(app, client, keys, api, conn):
    wf = api.create(manual("auto", [get_step("a", "/a"), get_step("b", "/b", ["a"])]))
    # no history: parallelise 0.85, timeouts 0.6, retries 0.7: none reaches 0.90
    response = client.post(f"{BASE}/apply", json={"workflow_id": wf["id"], "findings": "auto"},
                           headers=keys["editor"])
    assert response.status_code == 409, response.get_json()
    assert "0.9" in response.get_json()["message"]
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}",
                          headers=api.headers).get_json()["version"] == 1
    app.config["AI_MODELS_CONFIG"] = {**app.config["AI_MODELS_CONFIG"], "auto_apply_threshold": 0.8}
    response = client.post(f"{BASE}/apply", json={"workflow_id": wf["id"], "findings": "auto"},
                           headers=keys["editor"])
    assert response.status_code == 201, response.get_json()
    assert [f["kind"] for f in response.get_json()["applied"]] == ["parallelise"]


def test_refusals_change_nothing(app, client, keys, api, conn):
    wf = api.create(manual("r", [get_step("a", "/a"), get_step("b", "/b", ["a"])]))
    (par,) = kinds(analyze(client, keys["editor"], workflow_id=wf["id"]))["parallelise"]
    viewer = client.post(f"{BASE}/apply", json={"workflow_id": wf["id"], "findings": [par["id"]]},
                         headers=keys["viewer"])
    assert viewer.status_code == 403
    unknown = client.post(f"{BASE}/apply", json={"workflow_id": wf["id"],
                                                 "findings": ["0123456789ab"]},
                          headers=keys["editor"])
    assert unknown.status_code == 422 and "findings" in unknown.get_json()["errors"]
    for bad, field in [({"workflow_id": wf["id"], "findings": "all"}, "findings"),
                       ({"workflow_id": wf["id"], "findings": []}, "findings"),
                       ({"findings": [par["id"]]}, "workflow_id"),
                       ({"workflow_id": 2 ** 64, "findings": "auto"}, "workflow_id")]:
        response = client.post(f"{BASE}/apply", json=bad, headers=keys["editor"])
        assert response.status_code == 422, (bad, response.get_json())
        assert field in response.get_json()["errors"], response.get_json()
    for bad, field in [({"workflow_id": wf["id"], "strategy": "fastest"}, "strategy"),
                       ({}, "workflow"),
                       ({"workflow": {"name": "x", "trigger": {"type": "manual"}, "steps": [
                           {"id": "a", "type": "action", "service": "http", "action": "nope"}]}},
                        "workflow"),
                       ({"workflow_id": 2 ** 64}, "workflow_id")]:
        response = client.post(f"{BASE}/analyze", json=bad, headers=keys["editor"])
        assert response.status_code == 422, (bad, response.get_json())
        assert any(k.startswith(field) for k in response.get_json()["errors"]), response.get_json()
    missing = client.post(f"{BASE}/analyze", json={"workflow_id": 999999}, headers=keys["editor"])
    assert missing.status_code == 404
    assert client.get(f"{BASE}/apply/{2 ** 64}", headers=keys["viewer"]).status_code == 404
    assert client.get(f"{BASE}/apply/12345", headers=keys["viewer"]).status_code == 404
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}",
                          headers=api.headers).get_json()["version"] == 1


def test_switched_off_answers_503(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(WORKFLOW_OPTIMIZATION_ENABLED=False)
    from tests.conftest import make_key

    headers = {"Authorization": f"Bearer {make_key(app, 'editor')}"}
    client = app.test_client()
    response = client.post(f"{BASE}/analyze", json={"workflow_id": 1}, headers=headers)
    assert response.status_code == 503
    assert "WORKFLOW_OPTIMIZATION_ENABLED" in response.get_json()["message"]
    assert client.get(f"{BASE}/applications", headers=headers).status_code == 503
    from atom.api.intelligence.status import component_status

    with app.app_context():  # what GET .../status shows for this component
        shown = component_status("optimization")
    assert shown["available"] is False
    assert shown["reason"] == "WORKFLOW_OPTIMIZATION_ENABLED is false"
    close_engine(app)


def test_status_describes_the_rules_and_the_applications(app):
    from atom.api.intelligence.status import component_status

    with app.app_context():  # what GET .../status shows for this component
        opt = component_status("optimization")
    assert opt["available"] is True and opt["version"] == "optimisation-rules-1"
    assert opt["trained_on"]["applications"] == 0
    assert "parallelise" in opt["details"]["kinds"]


# -- ai_optimized, the diff, the dashboard, the CLI --------------------------------------------


def test_ai_optimized_applies_the_safe_reliability_findings(client, keys, conn):
    compact = {"name": "c", "action_services": ["http"], "ai_optimized": True}
    wf = client.post("/api/v2/ai-workflows", json=compact, headers=keys["editor"]).get_json()
    (step,) = wf["steps"]
    assert step["retry"] == {"max_attempts": 3, "delay_s": 2.0, "backoff": 2.0}
    assert step["timeout_s"] == 60
    plain = client.post("/api/v2/ai-workflows", json={**compact, "ai_optimized": False},
                        headers=keys["editor"]).get_json()
    assert "retry" not in plain["steps"][0] and "timeout_s" not in plain["steps"][0]


def test_definition_diff_names_steps_by_id():
    a = {"name": "x", "steps": [{"id": "a", "depends_on": []}, {"id": "b", "depends_on": ["a"]}]}
    b = {"name": "y", "steps": [{"id": "a", "depends_on": []}, {"id": "b", "depends_on": []},
                                {"id": "c"}]}
    diff = definition_diff(a, b)
    assert diff["changes"] == [{"path": "name", "before": "x", "after": "y"},
                               {"path": "steps.b.depends_on", "before": ["a"], "after": []},
                               {"path": "steps.c", "before": None, "after": {"id": "c"}}]
    assert diff["unified"].startswith("--- before\n+++ after")
    assert definition_diff(a, a) == {"unified": "", "changes": []}


def _user(app, role: str):
    from atom.models import User

    with app.app_context():
        user = User(email=f"{role}@example.com", role=role)
        user.set_password("a long enough password")
        db.session.add(user)
        db.session.commit()
    other = app.test_client()
    assert other.post("/login", data={"email": f"{role}@example.com",
                                      "password": "a long enough password"}).status_code == 302
    return other


def test_dashboard_panel_apply_and_application_page(app, api, conn):
    wf = api.create(manual("dash", [get_step("a", "/a"), get_step("b", "/b", ["a"])]))
    editor, viewer = _user(app, "editor"), _user(app, "viewer")
    page = editor.get(f"/workflows/{wf['id']}").get_data(as_text=True)
    assert f"/workflows/{wf['id']}/optimise" in page
    panel = editor.get(f"/workflows/{wf['id']}/optimise", headers={"HX-Request": "true"})
    text = panel.get_data(as_text=True)
    assert panel.status_code == 200 and "parallelise" in text and "Apply all safe" in text
    assert "needs a person" not in text or "safe" in text
    seen = viewer.get(f"/workflows/{wf['id']}/optimise", headers={"HX-Request": "true"})
    assert seen.status_code == 200 and "Apply all safe" not in seen.get_data(as_text=True)
    assert viewer.post(f"/workflows/{wf['id']}/optimise",
                       data={"all_safe": "1"}).status_code == 403
    bad = editor.post(f"/workflows/{wf['id']}/optimise", data={"finding": "nope"})
    assert bad.status_code == 422 and "unknown finding" in bad.get_data(as_text=True)
    done = editor.post(f"/workflows/{wf['id']}/optimise", data={"all_safe": "1"})
    assert done.status_code == 302
    shown = editor.get(done.headers["Location"]).get_data(as_text=True)
    assert "v1 → v2" in shown and "no finished execution of version 2" in shown
    assert 'class="del">-        &#34;a&#34;' in shown  # the diff: b no longer after a
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}",
                          headers=api.headers).get_json()["version"] == 2
    assert editor.get(f"/optimisations/{2 ** 64}").status_code == 404
    assert editor.get(f"/workflows/{2 ** 64}/optimise").status_code == 404


def test_cli_lists_and_applies(app, api, conn):
    wf = api.create(manual("cli", [get_step("a", "/a"), get_step("b", "/b", ["a"])]))
    from atom.cli import main

    cli = app.test_cli_runner()

    class runner:  # noqa: N801 - the atom command, as the CLI tests run it
        invoke = staticmethod(lambda args: cli.invoke(main, args))

    listed = runner.invoke(args=["optimise", str(wf["id"]), "--json"])
    assert listed.exit_code == 0, listed.output
    import json

    body = json.loads(listed.output)
    par = next(f for f in body["findings"] if f["kind"] == "parallelise")
    bad = runner.invoke(args=["optimise", str(wf["id"]), "--apply", "feedfacefeed"])
    assert bad.exit_code != 0 and "unknown finding" in bad.output
    applied = runner.invoke(args=["optimise", str(wf["id"]), "--apply", par["id"]])
    assert applied.exit_code == 0, applied.output
    assert "version 1 -> 2" in applied.output
    missing = runner.invoke(args=["optimise", "424242"])
    assert missing.exit_code != 0 and "no workflow 424242" in missing.output


def test_a_viewer_may_analyze_but_not_apply(client, keys):
    """Analysing changes nothing, so a viewer key may ask for findings (as the page shows them)."""
    body = {"workflow": {"name": "w", "trigger": {"type": "manual"}, "steps": [
        {"id": "a", "type": "transform", "mapping": {"x": "trigger.x"}}]}}
    response = client.post(f"{BASE}/analyze", json=body, headers=keys["viewer"])
    assert response.status_code == 200, response.get_json()
    assert "findings" in response.get_json()
