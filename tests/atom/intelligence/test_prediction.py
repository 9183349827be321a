"""Prediction through the API: calibrated on a workflow's own outcomes, on its services' before
it has any, retries and the graph's shape reflected, training stored and scheduled."""
from __future__ import annotations

import pytest

from atom.extensions import db
from atom.intelligence import prediction
from atom.models.intelligence import ModelState
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.fakes import FakeServer
from tests.fakes import reply

PREFIX = "/api/v2/workflows/enhanced"


def pattern(fake: FakeServer, path: str, outcomes: str) -> None:
    """Script ``path``: one reply per character, ``o`` 200 and ``x`` 500."""
    fake.script(path, *[reply(200, {"ok": True}) if c == "o" else reply(500, {"error": "down"})
                        for c in outcomes])


def run_many(api: Api, wf_id: int, n: int) -> list[str]:
    return [api.run(wf_id)["status"] for _ in range(n)]


def get_prediction(client, keys, wf_id: int) -> dict:
    response = client.get(f"{PREFIX}/prediction/{wf_id}", headers=keys["viewer"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_own_history_predicts_near_the_observed_rate(client, keys, api, conn, fake):
    wf = api.create(manual("flaky", [post_step("a", "/a", conn_id=conn["id"])]))
    pattern(fake, "/a", "ooooxoooxooooxoooooxooooxooox" + "o" * 11)  # 40 runs, 6 failures
    statuses = run_many(api, wf["id"], 40)
    observed = statuses.count("succeeded") / 40
    assert observed == pytest.approx(34 / 40)
    body = get_prediction(client, keys, wf["id"])
    assert abs(body["success_rate"] - observed) < 0.05, body
    assert body["based_on"]["executions"] == 40
    assert body["confidence"] > 0.5
    risk = next(r for r in body["risk_factors"] if r["kind"] == "step_failures")
    assert risk["step"] == "a" and risk["evidence"]["own"]["failed_attempts"] == 6
    # The same figure on the workflow itself.
    got = client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=keys["viewer"]).get_json()
    assert got["prediction"]["success_rate"] == body["success_rate"]


def test_before_any_history_it_uses_its_services_rates(client, keys, api, conn, fake):
    other = api.create(manual("other", [post_step("call", "/svc", conn_id=conn["id"])]))
    pattern(fake, "/svc", "ox" * 10)  # 20 runs, every other one fails
    run_many(api, other["id"], 20)
    fresh_same = api.create(manual("same service", [post_step("x", "/new", conn_id=conn["id"])]))
    body = get_prediction(client, keys, fresh_same["id"])
    assert body["based_on"]["executions"] == 0
    assert body["based_on"]["service_history"] >= 20
    step = next(r for r in body["risk_factors"] if r["kind"] == "step_failures")
    assert step["evidence"]["same_action"]["attempts"] == 20
    assert step["evidence"]["same_action"]["failed"] == 10
    assert body["success_rate"] < 0.75  # far below the 95% of an unknown service
    # A service nothing is known about: the default prior only.
    unknown = client.post(f"{PREFIX}/models/retrain", headers=keys["viewer"])
    assert unknown.status_code == 403
    # Retries raise the prediction: every attempt must fail for the step to fail.
    retried = api.create(manual("retried", [post_step("x", "/new", conn_id=conn["id"],
                                                      retry={"max_attempts": 3, "delay_s": 0.01})]))
    with_retry = get_prediction(client, keys, retried["id"])
    assert with_retry["success_rate"] > body["success_rate"] + 0.15
    assert any(r["kind"] == "no_retry" for r in body["risk_factors"])
    assert not any(r["kind"] == "no_retry" for r in with_retry["risk_factors"])


def _wait(sid: str, seconds: float, deps=()) -> dict:
    return {"id": sid, "type": "wait", "seconds": seconds, "depends_on": list(deps)}


def test_duration_is_the_critical_path_parallel_takes_the_max_waits_add(client, keys, api):
    parallel = api.create(manual("parallel", [_wait("a", 0.3), _wait("b", 0.5),
                                              _wait("c", 0.2, ["a", "b"])]))
    chain = api.create(manual("chain", [_wait("a", 0.3), _wait("b", 0.5, ["a"]),
                                        _wait("c", 0.2, ["b"])]))
    p = get_prediction(client, keys, parallel["id"])["duration_ms"]
    c = get_prediction(client, keys, chain["id"])["duration_ms"]
    assert 700 <= p["p50"] <= 760, p  # max(300, 500) + 200, plus the engine's overhead
    assert p["critical_path"] == ["b", "c"]
    assert 1000 <= c["p50"] <= 1060, c  # 300 + 500 + 200
    assert c["critical_path"] == ["a", "b", "c"]


def test_unknown_workflow_is_404(client, keys):
    assert client.get(f"{PREFIX}/prediction/999", headers=keys["viewer"]).status_code == 404
    assert client.get(f"{PREFIX}/prediction/{2**70}", headers=keys["viewer"]).status_code == 404
    assert client.get(f"/workflows/enhanced/prediction/999",
                      headers=keys["viewer"]).status_code == 404


def test_retrain_stores_metrics_and_status_reports_them(app, client, keys, api, conn, fake):
    # (GET .../status calls this; the other components' modules are not on this branch)
    assert prediction.status(app)["trained_at"] is None
    assert prediction.status(app)["details"]["state"].startswith("not trained yet")
    good = api.create(manual("good", [post_step("a", "/good", conn_id=conn["id"])]))
    bad = api.create(manual("bad", [post_step("a", "/bad", conn_id=conn["id"])]))
    pattern(fake, "/good", "o" * 12)
    pattern(fake, "/bad", "oxxoxxoxxoxx")
    for _ in range(12):
        api.run(good["id"])
        api.run(bad["id"])
    assert client.post(f"{PREFIX}/models/retrain", headers=keys["viewer"]).status_code == 403
    response = client.post(f"{PREFIX}/models/retrain", headers=keys["editor"])
    assert response.status_code == 200, response.get_json()
    state = response.get_json()
    assert state["samples"] + state["held_back"] == 24 and state["held_back"] == 5
    m = state["metrics"]
    for name in ("brier", "base_rate_brier", "calibration_error",
                 "duration_median_relative_error"):
        assert m[name] is not None and m[name] >= 0, name
    assert m["brier"] < m["base_rate_brier"]  # the two workflows differ; the base rate cannot
    with app.app_context():
        rows = db.session.scalars(db.select(ModelState).filter_by(component="prediction")).all()
        assert [r.id for r in rows] == [state["id"]]
    component = prediction.status(app)
    assert component["version"] == state["version"]
    assert component["evaluation"]["brier"] == m["brier"]
    assert component["trained_on"]["executions"] == state["samples"]
    # The next prediction uses the trained state.
    body = get_prediction(client, keys, bad["id"])
    assert body["model"]["model_state_id"] == state["id"]


def test_retraining_is_scheduled(app):
    from werkzeug.utils import import_string

    specs = [spec for path in app.config["SCHEDULER_PROVIDERS"]
             for spec in import_string(path)(app)]
    job = next(s for s in specs if s.id == "intelligence:prediction:retrain")
    assert job.trigger == "interval"
    assert job.trigger_args == {"seconds": app.config["AI_MODELS_CONFIG"]["retrain_interval_s"]}
    with app.app_context():
        job.func(**job.kwargs)  # runs a training on the (empty) history
        state = prediction.latest_model()
        assert state is not None and state.samples == 0 and "note" in state.metrics


def test_switched_off_answers_503(app_factory, app, client, keys):
    off = app_factory(AI_WORKFLOW_ENABLED=False)
    try:
        c = off.test_client()
        for method, path in (("get", f"{PREFIX}/prediction/1"),
                             ("post", f"{PREFIX}/models/retrain")):
            response = getattr(c, method)(path, headers=keys["editor"])
            assert response.status_code == 503, (path, response.get_json())
            assert "AI_WORKFLOW_ENABLED" in response.get_json()["message"]
    finally:
        close_engine(off)


def test_a_step_behind_when_weighs_by_how_often_it_ran(client, keys, api, conn, fake):
    wf = api.create(manual("sometimes", [post_step("x", "/w", conn_id=conn["id"],
                                                   when="trigger.go")]))
    fake.always("/w", reply(500, {"error": "down"}))
    outcomes = [api.run(wf["id"], {"go": go})["status"] for go in [True, False, False, False,
                                                                   True, False, False, False]]
    assert outcomes.count("failed") == 2
    body = get_prediction(client, keys, wf["id"])
    risk = next(r for r in body["risk_factors"] if r["kind"] == "step_failures")
    assert risk["evidence"]["runs_share"] == pytest.approx((2 + 1) / (8 + 2))  # ran 2 of 8
    assert risk["evidence"]["own"]["failed_attempts"] == 2
    assert body["success_rate"] > 0.7  # it fails whenever it runs, but it seldom runs


def test_a_step_that_goes_on_does_not_lower_the_prediction(client, keys, api, conn, fake):
    wf = api.create(manual("goes on", [post_step("x", "/c", conn_id=conn["id"],
                                                 on_error="continue"),
                                       {"id": "t", "type": "transform", "depends_on": ["x"],
                                        "mapping": {"done": "`true`"}}]))
    fake.always("/c", reply(500, {"error": "down"}))
    assert [api.run(wf["id"])["status"] for _ in range(4)] == ["succeeded"] * 4
    body = get_prediction(client, keys, wf["id"])
    assert body["success_rate"] > 0.95
    assert not [r for r in body["risk_factors"] if r["kind"] == "step_failures"]
