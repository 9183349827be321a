"""A foreach's inner steps are seen by what reads definitions and step runs: the services
index (services/status, dependency suppression), the dependency map, analytics
(one entry per inner step, not one per item) and troubleshooting (the failed item's step)."""
from __future__ import annotations

from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import steps_of
from tests.fakes import reply

BASE = "/api/v2/workflows/enhanced"


def looped(conn_id: int, slack_id: int) -> dict:
    return manual("looped", [{
        "id": "loop", "type": "foreach", "items": "trigger.items", "on_item_error": "continue",
        "steps": [
            {"id": "call", "type": "action", "service": "http", "action": "post", "connection": conn_id,
             "parameters": {"path": "/item", "json": {"n": "{{ item }}"}}},
            {"id": "tell", "type": "notification", "service": "slack", "connection": slack_id,
             "channel": "#ops", "message": "item {{ item }}", "depends_on": ["call"]}]}])


def _setup(api, fake, conn, create_connection):
    slack = create_connection("slack", {"base_url": fake.url}, {"token": "xoxb-test-token-1"})
    fake.always("/item", lambda req: reply(500 if req.json()["n"] == 2 else 200, {"n": req.json()["n"]}))
    fake.always("/chat.postMessage", reply(200, {"ok": True, "channel": "C1", "ts": "1.2"}))
    wf = api.create(looped(conn["id"], slack["id"]))
    done = api.run(wf["id"], {"items": [0, 1, 2, 3]})
    assert done["status"] == "succeeded", done  # continue: item 2 failed, reported
    assert steps_of(done)["loop[2].call"]["status"] == "failed"
    return wf, done, slack


def test_the_services_index_and_status_know_the_loops_services(api, client, keys, fake, conn,
                                                              create_connection):
    wf, _, _ = _setup(api, fake, conn, create_connection)
    services = client.get("/api/v2/ai-workflows/services/status", headers=keys["viewer"]).get_json()["services"]
    assert services["slack"]["workflows"] == [wf["id"]] and services["http"]["workflows"] == [wf["id"]]


def test_the_dependency_map_names_the_inner_steps(api, client, keys, fake, conn, create_connection):
    wf, _, slack = _setup(api, fake, conn, create_connection)
    body = client.get(f"{BASE}/dependencies?window_days=1", headers=keys["viewer"]).get_json()
    edges = {(e["from"], e["to"], e["kind"]): e for e in body["edges"]}
    p = f"workflow:{wf['id']}"
    http = edges[(p, "service:http", "action")]
    assert http["steps"] == ["loop[*].call"]
    assert http["runs"] == 4 and http["failures"] == 1  # each item's run counts
    assert edges[(p, f"connection:{conn['id']}", "action")]["runs"] == 4
    tell = edges[(p, "service:slack", "notification")]
    assert tell["steps"] == ["loop[*].tell"] and tell["runs"] == 3  # item 2's was skipped
    assert edges[(p, f"connection:{slack['id']}", "notification")]


def test_analytics_give_one_entry_per_inner_step(api, client, keys, fake, conn, create_connection):
    wf, _, _ = _setup(api, fake, conn, create_connection)
    body = client.get("/api/v2/ai-workflows/analytics?days=1", headers=keys["viewer"]).get_json()
    [mine] = [w for w in body["workflows"] if w["workflow_id"] == wf["id"]]
    steps = {s["step_id"]: s for s in mine["steps"]}
    assert set(steps) == {"loop", "loop[*].call", "loop[*].tell"}
    assert (steps["loop[*].call"]["runs"], steps["loop[*].call"]["failed"]) == (4, 1)
    assert steps["loop[*].tell"]["runs"] == 4  # three sent, one skipped


def test_troubleshooting_finds_the_failed_item(api, client, keys, fake, conn, create_connection):
    fake.always("/item", lambda req: reply(401, {"error": "invalid_token"}))
    slack = create_connection("slack", {"base_url": fake.url}, {"token": "xoxb-test-token-1"})
    wf = api.create(looped(conn["id"], slack["id"]) | {"name": "all fail"})
    done = api.run(wf["id"], {"items": [0]})
    assert done["status"] == "failed", done
    response = client.post(f"{BASE}/troubleshooting/analyze", json={"execution_id": done["id"]},
                           headers=keys["editor"])
    assert response.status_code == 201, response.get_json()
    session = response.get_json()
    [failure] = [f for f in session["failures"] if f["class"] == "auth"]
    assert failure["step_id"] == "loop[0].call" and failure["connection_id"] == conn["id"], failure


def test_the_upgrade_indexes_the_inner_services_of_stored_workflows(app, api, conn, create_connection, fake):
    """0012 indexed top-level services only; 0014 adds a stored foreach's inner ones."""
    from flask_migrate import downgrade
    from flask_migrate import upgrade

    from atom.extensions import db
    from atom.models import WorkflowService

    slack = create_connection("slack", {"base_url": fake.url}, {"token": "xoxb-test-token-1"})
    wf = api.create(looped(conn["id"], slack["id"]))
    with app.app_context():
        db.session.execute(db.delete(WorkflowService))  # the index as 0012 left it: nothing
        db.session.commit()
        downgrade(revision="0013_waiting")
        upgrade()
        rows = db.session.execute(db.select(WorkflowService.workflow_id, WorkflowService.service))
        assert sorted(tuple(r) for r in rows) == [(wf["id"], "http"), (wf["id"], "slack")]


def test_optimisation_offers_and_applies_a_retry_to_a_flaky_inner_step(api, client, keys, fake, conn):
    """The loop's inner call fails transiently on some items: the analysis names the inner step
    by its path and its item runs, and applying it gives the loop's body the retry policy."""
    fake.script("/item", *[reply(503) if n % 3 == 1 else reply(200, {"ok": True}) for n in range(12)])
    wf = api.create(manual("flaky loop", [{
        "id": "loop", "type": "foreach", "items": "trigger.items", "on_item_error": "continue",
        "step": {"id": "call", "type": "action", "service": "http", "action": "post",
                 "connection": conn["id"], "timeout_s": 5,
                 "parameters": {"path": "/item", "json": {"n": "{{ item }}"}}}}]))
    for _ in range(4):
        assert api.run(wf["id"], {"items": [0, 1, 2]})["status"] == "succeeded"
    body = client.post(f"{BASE}/optimization/analyze", json={"workflow_id": wf["id"]},
                       headers=keys["editor"]).get_json()
    [retry] = [f for f in body["findings"] if f["kind"] == "add_retry"]
    assert retry["steps"] == ["loop[*]"]
    assert retry["evidence"]["runs"] == 12 and retry["evidence"]["transient"] == {"upstream": 4}
    assert len(retry["evidence"]["failed_execution_ids"]) == 4
    applied = client.post(f"{BASE}/optimization/apply", json={"workflow_id": wf["id"],
                                                               "findings": [retry["id"]]},
                          headers=keys["editor"])
    assert applied.status_code == 201, applied.get_json()
    definition = client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=keys["viewer"]).get_json()
    inner = definition["steps"][0]["step"]
    assert inner["retry"]["max_attempts"] == 3 and definition["version"] == 2
