"""Enhanced monitoring through the API: start (idempotent), health, metrics, and a failing
monitored workflow raising an alert in the monitoring round."""
from __future__ import annotations


from atom.monitoring.checks import run_round
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.fakes import reply

PREFIX = "/api/v2/workflows/enhanced/monitoring"


def test_start_is_idempotent_and_checks_its_input(client, keys, api):
    wf = api.create(manual("w", [{"id": "t", "type": "transform", "mapping": {"x": "'1'"}}]))
    first = client.post(f"{PREFIX}/start", json={"workflow_id": wf["id"]}, headers=keys["editor"])
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["monitoring"] is True and body["workflow_id"] == wf["id"]
    assert body["status"] == "unknown" and body["score"] is None  # no executions yet
    again = client.post(f"{PREFIX}/start", json={"workflow_id": wf["id"]}, headers=keys["editor"])
    assert again.status_code == 200
    assert again.get_json()["monitored_since"] == body["monitored_since"]
    # Attackers and mistakes change nothing.
    assert client.post(f"{PREFIX}/start", json={"workflow_id": wf["id"]},
                       headers=keys["viewer"]).status_code == 403
    assert client.post(f"{PREFIX}/stop", json={"workflow_id": wf["id"]},
                       headers=keys["viewer"]).status_code == 403
    missing = client.post(f"{PREFIX}/start", json={"workflow_id": 999}, headers=keys["editor"])
    assert missing.status_code == 404 and "workflow_id" in missing.get_json()["errors"]
    huge = client.post(f"{PREFIX}/start", json={"workflow_id": 2**70}, headers=keys["editor"])
    assert huge.status_code == 422 and "workflow_id" in huge.get_json()["errors"]
    bad = client.post(f"{PREFIX}/start", json={"workflow_id": "one"}, headers=keys["editor"])
    assert bad.status_code == 422 and "workflow_id" in bad.get_json()["errors"]
    extra = client.post(f"{PREFIX}/start", json={"workflow_id": wf["id"], "x": 1},
                        headers=keys["editor"])
    assert extra.status_code == 422 and "x" in extra.get_json()["errors"]
    health = client.get(f"{PREFIX}/health", headers=keys["viewer"]).get_json()
    assert [w["workflow_id"] for w in health["workflows"]] == [wf["id"]]
    assert client.get(f"{PREFIX}/health?window_s=-5",
                      headers=keys["viewer"]).status_code == 422
    stopped = client.post(f"{PREFIX}/stop", json={"workflow_id": wf["id"]}, headers=keys["editor"])
    assert stopped.status_code == 200 and stopped.get_json()["stopped"] is True
    assert client.get(f"{PREFIX}/health", headers=keys["viewer"]).get_json()["workflows"] == []


def test_failing_monitored_workflow_raises_an_alert_and_shows_its_health(
        app, client, keys, api, conn, fake, create_connection):
    # Its own connection for the good one: five failures open the bad one's circuit.
    other = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, label="other")
    bad = api.create(manual("bad", [post_step("call", "/bad", conn_id=conn["id"])]))
    good = api.create(manual("good", [post_step("call", "/good", conn_id=other["id"])]))
    fake.always("/bad", reply(500, {"error": "down"}))
    fake.always("/good", reply(200, {"ok": True}))
    for _ in range(5):
        assert api.run(bad["id"])["status"] == "failed"
    for _ in range(3):
        assert api.run(good["id"])["status"] == "succeeded"
    assert client.post(f"{PREFIX}/start", json={"workflow_id": bad["id"]},
                       headers=keys["editor"]).status_code == 201
    assert client.post(f"{PREFIX}/start", json={"workflow_id": good["id"]},
                       headers=keys["editor"]).status_code == 201
    assert not run_round(app).events, "one bad evaluation is not enough (ALERT_OPEN_AFTER 2)"
    events = run_round(app).events
    assert events, "the second round should open an alert"
    alerts = client.get("/api/v2/monitoring/alerts?status=active&rule=health_score",
                        headers=keys["viewer"]).get_json()
    items = alerts.get("alerts", alerts.get("items"))
    mine = [a for a in items if a["subject"] == f"workflow:{bad['id']}"]
    assert len(mine) == 1 and mine[0]["severity"] == "critical"
    assert "0 of 5 executions succeeded" in mine[0]["message"]
    # good has 3 executions, below ALERT_MIN_OBSERVATIONS: no alert
    assert not [a for a in items if a["subject"] == f"workflow:{good['id']}"]
    health = {w["workflow_id"]: w for w in
              client.get(f"{PREFIX}/health", headers=keys["viewer"]).get_json()["workflows"]}
    h = health[bad["id"]]
    assert h["executions"] == 5 and h["failed"] == 5 and h["success_rate"] == 0
    assert h["failure_classes"] == {"upstream": 5}
    assert h["consecutive_failures"] == 5 and h["status"] == "unhealthy" and h["score"] < 60
    assert h["duration_ms"]["p50"] is not None
    assert [a["rule"] for a in h["alerts"] if a["rule"] == "health_score"] == ["health_score"]
    assert health[good["id"]]["status"] == "healthy" and health[good["id"]]["score"] == 100
    metrics = client.get(f"{PREFIX}/metrics?window_s=3600", headers=keys["viewer"]).get_json()
    assert metrics["total"]["executions"] == 8 and metrics["total"]["failed"] == 5
    assert metrics["total"]["failure_classes"] == {"upstream": 5}
    per = {w["workflow_id"]: w for w in metrics["workflows"]}
    assert per[good["id"]]["succeeded"] == 3 and per[good["id"]]["monitored"] is True
    assert metrics["total"]["duration_ms"]["p95"] >= metrics["total"]["duration_ms"]["p50"]
    # Stopping resolves its health alert.
    stopped = client.post(f"{PREFIX}/stop", json={"workflow_id": bad["id"]},
                          headers=keys["editor"]).get_json()
    assert stopped["resolved_alerts"] == [mine[0]["id"]]


def test_switched_off_answers_503(app_factory, app, keys):
    off = app_factory(ENHANCED_MONITORING_ENABLED=False)
    try:
        c = off.test_client()
        for method, path in (("post", f"{PREFIX}/start"), ("post", f"{PREFIX}/stop"),
                             ("get", f"{PREFIX}/health"), ("get", f"{PREFIX}/metrics")):
            response = getattr(c, method)(path, json={"workflow_id": 1}, headers=keys["editor"]) \
                if method == "post" else c.get(path, headers=keys["editor"])
            assert response.status_code == 503, (path, response.get_json())
            assert "ENHANCED_MONITORING_ENABLED" in response.get_json()["message"]
    finally:
        close_engine(off)
