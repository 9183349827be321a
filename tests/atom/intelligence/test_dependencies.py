"""Cross-service intelligence: the dependency map (definitions and executions), impact given
each service's health, fallback routing in the engine (validated at save, taken when the
primary's circuit is open or its health critical, recorded on the step run), its routes and
the dashboard page. Everything through the API or the dashboard, against loopback fakes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import HealthSample
from atom.models.base import utcnow
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import steps_of
from tests.fakes import reply

BASE = "/api/v2/workflows/enhanced"


@pytest.fixture
def conns(create_connection, fake) -> dict:
    """Two http connections to the fake: ``a`` opens its circuit after one failed call."""
    return {
        "a": create_connection("http", {"base_url": fake.url, "max_attempts": 1,
                                        "circuit_failure_threshold": 1, "circuit_reset_s": 600},
                               label="primary"),
        "b": create_connection("http", {"base_url": fake.url, "max_attempts": 1}, label="spare"),
    }


def post(sid: str, path: str, conn_id: int, **extra) -> dict:
    return {"id": sid, "type": "action", "service": "http", "action": "post",
            "connection": conn_id, "parameters": {"path": path, "json": {"n": 1}}, **extra}


def manual(name: str, steps: list[dict], **extra) -> dict:
    return {"name": name, "trigger": {"type": "manual"}, "steps": steps, **extra}


def record_health(app, integration: str, ok: bool, n: int = 5, connection_id: int = 999) -> None:
    with app.app_context():
        now = utcnow()
        for i in range(n):
            db.session.add(HealthSample(ts=now - timedelta(seconds=10 * i + 1),
                                        connection_id=connection_id, integration=integration,
                                        ok=ok, latency_ms=50.0,
                                        error_class=None if ok else "upstream"))
        db.session.commit()


# -- fallback routing ------------------------------------------------------------------------


def test_fallback_runs_when_the_primary_circuit_is_open_and_is_recorded(api, fake, conns):
    fake.always("/p", reply(500, {"error": "down"}))
    fake.always("/fb", reply(200, {"ok": True}))
    a, b = conns["a"]["id"], conns["b"]["id"]
    wf = api.create(manual("routed", [post("send", "/p", a, fallback=[
        {"service": "http", "connection": b, "parameters": {"path": "/fb", "json": {"n": 2}}}])]))
    first = api.run(wf["id"])  # the primary fails (500) and its circuit opens
    assert first["status"] == "failed"
    assert steps_of(first)["send"]["fallback"] is None
    assert fake.count("/p") == 1 and fake.count("/fb") == 0
    second = api.run(wf["id"])
    step = steps_of(second)["send"]
    assert second["status"] == "succeeded", second
    assert fake.count("/p") == 1 and fake.count("/fb") == 1  # the open circuit: no call to /p
    assert fake.calls("/fb")[0].json() == {"n": 2}
    fb = step["fallback"]
    assert fb["index"] == 0 and fb["service"] == "http" and fb["connection"] == b
    assert fb["reason"] == "circuit_open"
    assert fb["evidence"]["connection"] == a and fb["evidence"]["consecutive_failures"] == 1
    assert fb["primary"] == {"service": "http", "connection": a}


def test_no_fallback_when_the_primary_is_healthy(api, fake, conns):
    fake.always("/p", reply(200, {"ok": True}))
    fake.always("/fb", reply(200, {"ok": True}))
    wf = api.create(manual("healthy", [post("send", "/p", conns["a"]["id"], fallback=[
        {"service": "http", "connection": conns["b"]["id"], "parameters": {"path": "/fb"}}])]))
    for _ in range(2):
        run = api.run(wf["id"])
        assert run["status"] == "succeeded"
        assert steps_of(run)["send"]["fallback"] is None
    assert fake.count("/p") == 2 and fake.count("/fb") == 0


def test_fallback_when_the_primary_health_is_critical(app, api, fake, conns, create_connection):
    slack = create_connection("slack", {"base_url": fake.url}, {"token": "xoxb-test-token-1"})
    fake.always("/notify", reply(200, {"ok": True}))
    record_health(app, "slack", ok=False, n=5, connection_id=slack["id"])
    wf = api.create(manual("alert", [{
        "id": "tell", "type": "notification", "service": "slack", "connection": slack["id"],
        "channel": "#ops", "message": "build {{ trigger.n }} broke",
        "fallback": [{"service": "http", "connection": conns["b"]["id"], "channel": "/notify"}]}]))
    run = api.run(wf["id"], {"n": 7})
    assert run["status"] == "succeeded", run
    fb = steps_of(run)["tell"]["fallback"]
    assert fb["reason"] == "health_critical" and fb["service"] == "http"
    assert fb["evidence"]["integration"] == "slack" and fb["evidence"]["status"] == "unhealthy"
    assert fb["evidence"]["checks"] == 5 and fb["evidence"]["checks_failed"] == 5
    assert fake.calls("/notify")[0].json() == {"text": "build 7 broke"}
    assert not fake.calls("/chat.postMessage")


def test_primary_answering_circuit_open_reroutes_to_the_next_alternative(app, api, fake, conns,
                                                                        monkeypatch):
    """The breaker opens between the route check and the call (another execution's failure):
    the step's call answers circuit_open and the first usable alternative runs instead."""
    from atom.state import get_state

    fake.always("/p", reply(500, {"error": "down"}))
    fake.always("/fb", reply(200, {"ok": True}))
    a, b = conns["a"]["id"], conns["b"]["id"]
    opener = api.create(manual("opener", [post("send", "/p", a)]))
    assert api.run(opener["id"])["status"] == "failed"  # a's circuit is open now
    runtime = get_state(app).runtime
    monkeypatch.setattr(runtime, "circuit", lambda conn: None)  # the route check saw it closed
    wf = api.create(manual("late", [post("send", "/p", a, fallback=[
        {"service": "http", "connection": b, "parameters": {"path": "/fb"}}])]))
    run = api.run(wf["id"])
    step = steps_of(run)["send"]
    assert run["status"] == "succeeded", run
    assert step["fallback"]["reason"] == "circuit_open" and step["fallback"]["connection"] == b
    assert "circuit open" in step["fallback"]["evidence"]["error"]
    assert [x["error_class"] for x in step["attempts"]] == ["circuit_open", None]
    assert fake.count("/p") == 1 and fake.count("/fb") == 1


@pytest.mark.parametrize("fallback, field, needle", [
    ([{"service": "nosuch"}], "fallback.0.service", "unknown service"),
    ([{"service": "http", "action": "explode"}], "fallback.0.action", "no action"),
    ([{"service": "http"}, {"service": "http", "parameters": {"nope": 1}}],
     "fallback.1.parameters.nope", "Unknown field"),
    ([{"service": "http", "channel": "#x"}], "fallback.0.channel", "not for a fallback"),
    ([{"service": "http", "connection": 999999}], "fallback.0.connection", "no connection"),
    ([{"action": "get"}], "fallback.0.service", "required"),
    ([{"service": "http", "surprise": 1}], "fallback.0.surprise", "Unknown field"),
])
def test_fallback_validated_at_save(api, client, keys, conns, fallback, field, needle):
    body = manual("bad", [post("send", "/p", conns["a"]["id"], fallback=fallback)])
    response = client.post("/api/v2/ai-workflows", json=body, headers=keys["editor"])
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["steps.send"]
    assert field in errors, errors
    assert needle in " ".join(errors[field])
    assert client.get("/api/v2/ai-workflows", headers=keys["editor"]).get_json()["workflows"] == []


def test_fallback_only_on_action_or_notification_steps(client, keys):
    body = manual("bad", [{"id": "w", "type": "wait", "seconds": 0,
                           "fallback": [{"service": "http"}]}])
    response = client.post("/api/v2/ai-workflows", json=body, headers=keys["editor"])
    assert response.status_code == 422
    assert "fallback" in response.get_json()["errors"]["steps.w"]


def test_same_route_as_primary_is_refused(client, keys, conns):
    body = manual("same", [post("send", "/p", conns["a"]["id"], fallback=[
        {"service": "http", "connection": conns["a"]["id"]}])])
    response = client.post("/api/v2/ai-workflows", json=body, headers=keys["editor"])
    assert response.status_code == 422
    assert "fallback.0.service" in response.get_json()["errors"]["steps.send"]


# -- the map and impact ----------------------------------------------------------------------


@pytest.fixture
def estate(app, api, fake, conns, create_connection):
    """A child workflow calling http (connection a); a parent that posts to http (a, with a
    fallback on b), notifies slack and runs the child."""
    slack = create_connection("slack", {"base_url": fake.url}, {"token": "xoxb-test-token-1"})
    fake.always("/p", reply(200, {"ok": True}))
    fake.always("/chat.postMessage", reply(200, {"ok": True, "channel": "C1", "ts": "1.2"}))
    child = api.create(manual("child", [post("get_it", "/p", conns["a"]["id"])]))
    parent = api.create(manual("parent", [
        post("send", "/p", conns["a"]["id"], fallback=[
            {"service": "http", "connection": conns["b"]["id"]}]),
        {"id": "tell", "type": "notification", "service": "slack", "channel": "#ops",
         "message": "done", "depends_on": ["send"]},
        {"id": "sub", "type": "workflow", "workflow_id": child["id"], "depends_on": ["send"]},
    ]))
    return {"child": child, "parent": parent, "slack": slack, **conns}


def _edges(body: dict) -> dict[tuple[str, str, str], dict]:
    return {(e["from"], e["to"], e["kind"]): e for e in body["edges"]}


def test_map_from_definitions(client, keys, estate):
    response = client.get(f"{BASE}/dependencies", headers=keys["viewer"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    p, c = f"workflow:{estate['parent']['id']}", f"workflow:{estate['child']['id']}"
    a, b, s = estate["a"]["id"], estate["b"]["id"], estate["slack"]["id"]
    edges = _edges(body)
    assert edges[(p, "service:http", "action")]["steps"] == ["send"]
    assert edges[(p, f"connection:{a}", "action")]["source"] == ["definition"]
    assert edges[(p, f"connection:{b}", "fallback")]["steps"] == ["send"]
    assert edges[(p, "service:slack", "notification")]["runs"] == 0
    # the notification names no connection: the service's first enabled one is used
    assert edges[(p, f"connection:{s}", "notification")]["via"]
    assert edges[(p, c, "subworkflow")]["steps"] == ["sub"]
    assert (c, "service:slack", "notification") not in edges
    nodes = {n["id"]: n for n in body["nodes"]}
    assert nodes[p]["name"] == "parent" and nodes[p]["enabled"] is True
    assert nodes["service:slack"]["status"] == "unknown"  # no health data yet
    assert nodes[f"connection:{a}"]["name"] == "primary"
    assert body["summary"]["workflows"] == 2 and body["summary"]["executions"] == 0


def test_map_from_executions(api, client, keys, estate):
    run = api.run(estate["parent"]["id"])
    assert run["status"] == "succeeded", run
    p, c = f"workflow:{estate['parent']['id']}", f"workflow:{estate['child']['id']}"
    body = client.get(f"{BASE}/dependencies?window_days=3", headers=keys["viewer"]).get_json()
    edges = _edges(body)
    http = edges[(p, "service:http", "action")]
    assert http["source"] == ["definition", "executions"] and http["runs"] == 1
    assert http["failures"] == 0 and http["last_run_at"]
    assert edges[(p, "service:slack", "notification")]["runs"] == 1
    assert edges[(p, c, "subworkflow")]["runs"] == 1
    assert edges[(c, "service:http", "action")]["runs"] == 1  # the child's own execution
    assert body["window_days"] == 3 and body["summary"]["executions"] == 2
    # a new version no longer notifies slack: the edge stays, learnt from the executions only
    api.put(estate["parent"]["id"], manual("parent", [post("send", "/p", estate["a"]["id"])]))
    edges = _edges(client.get(f"{BASE}/dependencies", headers=keys["viewer"]).get_json())
    assert edges[(p, "service:slack", "notification")]["source"] == ["executions"]
    assert edges[(p, "service:http", "action")]["source"] == ["definition", "executions"]


def test_map_counts_fallbacks_taken(api, client, keys, fake, conns):
    fake.always("/p", reply(500, {"error": "down"}))
    fake.always("/fb", reply(200, {"ok": True}))
    wf = api.create(manual("routed", [post("send", "/p", conns["a"]["id"], fallback=[
        {"service": "http", "connection": conns["b"]["id"], "parameters": {"path": "/fb"}}])]))
    api.run(wf["id"])  # opens a's circuit
    assert api.run(wf["id"])["status"] == "succeeded"
    body = client.get(f"{BASE}/dependencies", headers=keys["viewer"]).get_json()
    w = f"workflow:{wf['id']}"
    edges = _edges(body)
    assert edges[(w, f"connection:{conns['b']['id']}", "fallback")]["runs"] == 1
    assert edges[(w, f"connection:{conns['a']['id']}", "action")]["runs"] == 1
    assert edges[(w, f"connection:{conns['a']['id']}", "action")]["failures"] == 1
    assert body["summary"]["fallback_runs"] == 1
    node = {n["id"]: n for n in body["nodes"]}[f"connection:{conns['a']['id']}"]
    assert node["status"] == "unhealthy" and node["circuit"]["state"] == "open"
    impact = client.get(f"{BASE}/impact?connection_id={conns['a']['id']}",
                        headers=keys["viewer"]).get_json()
    [verdict] = impact["workflows"]
    # a's circuit is open, b (its fallback) is usable: only a fallback is left
    assert verdict["risk"] == "warning", verdict
    dep = verdict["dependencies"][0]
    assert dep["fallback_runs"] == 1 and dep["runs"] == 1 and dep["failures"] == 1
    assert "only fallback 1 of 1 (http, connection" in verdict["why"][0]


def test_impact_when_a_service_is_down_vs_healthy(app, client, keys, estate):
    record_health(app, "slack", ok=True, n=4, connection_id=estate["slack"]["id"])
    healthy = client.get(f"{BASE}/impact?service=slack", headers=keys["viewer"]).get_json()
    assert healthy["service"] == "slack"
    assert [w["workflow_id"] for w in healthy["workflows"]] == [estate["parent"]["id"]]
    assert healthy["workflows"][0]["risk"] == "ok" and healthy["summary"]["ok"] == 1
    assert healthy["services"]["slack"]["status"] == "healthy"
    record_health(app, "slack", ok=False, n=12, connection_id=estate["slack"]["id"])
    down = client.get(f"{BASE}/impact?service=slack", headers=keys["viewer"]).get_json()
    [verdict] = down["workflows"]
    assert verdict["risk"] == "critical", verdict
    tell = next(d for d in verdict["dependencies"] if d["step_id"] == "tell")
    assert tell["status"] == "unhealthy" and tell["required"] is True and tell["risk"] == "critical"
    assert tell["evidence"]["service"]["checks_failed"] == 12
    assert "step tell depends on slack, which is unhealthy (score" in verdict["why"][0]
    assert "no fallback is declared" in verdict["why"][0]
    assert f"/{16}" in verdict["why"][0]  # 12 of 16 checks failed, cited
    # every workflow: the child does not use slack and stays ok; the parent is critical
    everything = client.get(f"{BASE}/impact", headers=keys["viewer"]).get_json()
    risks = {w["workflow_id"]: w["risk"] for w in everything["workflows"]}
    assert risks == {estate["parent"]["id"]: "critical", estate["child"]["id"]: "ok"}
    assert everything["workflows"][0]["risk"] == "critical"  # worst first


def test_impact_through_a_sub_workflow(app, client, keys, estate):
    """The child's http connection a is down: the child is critical, and so is the parent
    (its required sub-workflow step), though the parent's own http step has a fallback."""
    with app.app_context():
        from atom.models import Connection
        db.session.get(Connection, estate["a"]["id"]).enabled = False
        db.session.commit()
    body = client.get(f"{BASE}/impact", headers=keys["viewer"]).get_json()
    verdicts = {w["workflow_id"]: w for w in body["workflows"]}
    child, parent = verdicts[estate["child"]["id"]], verdicts[estate["parent"]["id"]]
    assert child["risk"] == "critical" and "is disabled" in child["why"][0]
    assert parent["risk"] == "critical"
    sub = next(d for d in parent["dependencies"] if d["kind"] == "subworkflow")
    assert sub["risk"] == "critical" and sub["workflow_id"] == estate["child"]["id"]
    send = next(d for d in parent["dependencies"] if d["step_id"] == "send")
    assert send["risk"] == "warning" and send["fallbacks"][0]["connection"] == estate["b"]["id"]


@pytest.mark.parametrize("query, field", [
    ("service=nosuch", "service"),
    ("connection_id=424242", "connection_id"),
    (f"connection_id={2**64}", "connection_id"),
    ("connection_id=abc", "connection_id"),
    ("window_days=0", "window_days"),
    ("window_days=10000", "window_days"),
])
def test_impact_bad_input_names_the_field(client, keys, query, field):
    response = client.get(f"{BASE}/impact?{query}", headers=keys["viewer"])
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert field in errors.get("query", errors), errors  # the query schema's, or the view's


def test_dependencies_bad_window_and_auth(client, keys):
    assert client.get(f"{BASE}/dependencies?window_days=-1", headers=keys["viewer"]).status_code == 422
    assert client.get(f"{BASE}/dependencies").status_code == 401
    assert client.get("/workflows/enhanced/dependencies", headers=keys["viewer"]).status_code == 200


def test_switched_off_is_503(app_factory, monkeypatch, tmp_path):
    from tests.conftest import make_key

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    off = app_factory(CROSS_SERVICE_ORCHESTRATION_ENABLED=False)
    client = off.test_client()
    headers = {"Authorization": f"Bearer {make_key(off, 'viewer')}"}
    for path in ("/dependencies", "/impact?service=slack"):
        response = client.get(f"{BASE}{path}", headers=headers)
        assert response.status_code == 503
        assert "CROSS_SERVICE_ORCHESTRATION_ENABLED" in response.get_json()["message"]
    assert _component_status(off)["available"] is False
    close_engine(off)


def _component_status(app) -> dict:
    """What ``GET .../status`` shows for this component (the endpoint imports every
    component's module; this asks only for this one, as the endpoint does per component)."""
    from atom.api.intelligence.status import component_status

    with app.test_request_context():
        return component_status("cross_service")


def test_status_reports_what_the_map_learnt_from(app, api, estate):
    api.run(estate["parent"]["id"])
    cs = _component_status(app)
    assert cs["available"] is True and cs["version"] == "1"
    assert cs["trained_on"]["workflows"] == 2 and cs["trained_on"]["executions"] == 2
    assert cs["details"]["declared"]["fallback"] == 1


# -- dashboard --------------------------------------------------------------------------------


def _signed_in(app, role: str):
    from atom.models import User

    email = f"{role}-deps@example.com"
    with app.app_context():
        user = User(email=email, role=role)
        user.set_password("a long enough password")
        db.session.add(user)
        db.session.commit()
    browser = app.test_client()
    assert browser.post("/login", data={"email": email, "password": "a long enough password"}
                        ).status_code == 302
    return browser


def test_dashboard_page_draws_the_map_and_the_impact(app, estate):
    import re

    record_health(app, "slack", ok=False, n=8, connection_id=estate["slack"]["id"])
    browser = _signed_in(app, "viewer")
    page = browser.get("/dependencies")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<h1") == 1 and ">Dependencies</h1>" in html
    assert html.count("<svg") >= 1 and 'class="graph deps"' in html
    assert 'href="/dependencies"' in html  # in the navigation
    assert "dep-workflow" in html and "dep-service health-unhealthy" in html
    assert "edge edge-fallback" in html and "edge edge-subworkflow" in html
    assert f'href="/workflows/{estate["parent"]["id"]}"' in html
    assert f'href="/connections/{estate["a"]["id"]}"' in html
    assert "status-critical" in html and "step tell depends on slack, which is unhealthy" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # CSP: no inline scripts
    assert " style=" not in html
    filtered = browser.get("/dependencies?service=http").get_data(as_text=True)
    assert "workflows using http" in filtered
    bad = browser.get("/dependencies?service=nosuch").get_data(as_text=True)
    assert "unknown service" in bad


def test_execution_page_says_which_fallback_ran_and_why(app, api, fake, conns):
    fake.always("/p", reply(500, {"error": "down"}))
    fake.always("/fb", reply(200, {"ok": True}))
    wf = api.create(manual("routed", [post("send", "/p", conns["a"]["id"], fallback=[
        {"service": "http", "connection": conns["b"]["id"], "parameters": {"path": "/fb"}}])]))
    first = api.run(wf["id"])
    second = api.run(wf["id"])
    browser = _signed_in(app, "viewer")
    html = browser.get(f"/executions/{second['id']}").get_data(as_text=True)
    assert "Ran on fallback 1:" in html
    assert f"(connection {conns['b']['id']})" in html and "its circuit was open after 1" in html
    assert "Ran on fallback" not in browser.get(f"/executions/{first['id']}").get_data(as_text=True)


def test_every_alternative_open_runs_the_primary_and_records_no_fallback(api, fake, create_connection):
    """No usable alternative: the primary is called as usual (its open circuit fails it with
    circuit_open, once: no loop between routes) and no fallback is recorded."""
    settings = {"base_url": fake.url, "max_attempts": 1, "circuit_failure_threshold": 1,
                "circuit_reset_s": 600}
    a = create_connection("http", settings, label="a")["id"]
    b = create_connection("http", settings, label="b")["id"]
    fake.always("/p", reply(500, {"error": "down"}))
    fake.always("/q", reply(500, {"error": "down"}))
    assert api.run(api.create(manual("open a", [post("x", "/p", a)]))["id"])["status"] == "failed"
    assert api.run(api.create(manual("open b", [post("x", "/q", b)]))["id"])["status"] == "failed"
    wf = api.create(manual("stuck", [post("send", "/p", a, fallback=[
        {"service": "http", "connection": b, "parameters": {"path": "/q"}}])]))
    run = api.run(wf["id"])
    step = steps_of(run)["send"]
    assert run["status"] == "failed" and step["error"]["class"] == "circuit_open"
    assert step["fallback"] is None and len(step["attempts"]) == 1
    assert fake.count("/p") == 1 and fake.count("/q") == 1  # neither was called again


def test_impact_of_an_unhealthy_trigger_service(app, client, keys, api, conns, create_connection):
    slack = create_connection("slack", {"base_url": "http://127.0.0.1:9"}, {"token": "xoxb-test-token-1"})
    wf = api.create({"name": "on mention", "trigger": {"type": "event", "service": "slack",
                                                       "event": "app_mentioned"},
                     "steps": [post("send", "/p", conns["b"]["id"])]})
    record_health(app, "slack", ok=False, n=6, connection_id=slack["id"])
    [verdict] = client.get(f"{BASE}/impact?service=slack", headers=keys["viewer"]).get_json()["workflows"]
    assert verdict["workflow_id"] == wf["id"] and verdict["risk"] == "critical"
    trigger = next(d for d in verdict["dependencies"] if d["kind"] == "trigger")
    assert trigger["service"] == "slack" and trigger["connection"] == slack["id"]
    assert verdict["why"][0].startswith("the trigger depends on slack, which is unhealthy")


def test_viewer_reads_but_the_routes_take_no_writes(client, keys):
    assert client.get(f"{BASE}/impact", headers=keys["viewer"]).status_code == 200
    assert client.post(f"{BASE}/impact", headers=keys["editor"], json={}).status_code == 405
    assert client.post(f"{BASE}/dependencies", headers=keys["editor"], json={}).status_code == 405
