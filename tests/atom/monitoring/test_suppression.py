"""Dependency-aware suppression: a workflow's alerts while the service its steps use is down,
connections sharing a host that is down, declared dependencies and their API; everything
through the API against local fakes."""
from __future__ import annotations

import pytest

from atom.extensions import db
from atom.models import Alert
from atom.models import Execution
from atom.models.base import utcnow
from atom.monitoring.monitor import get_monitor
from tests.atom.monitoring.conftest import alerts_of
from tests.fakes import FakeServer
from tests.fakes import reply

DEPS = "/api/v2/monitoring/dependencies"


@pytest.fixture
def settings():
    # Every change of an incident is told at once (no group wait or interval), so each round's
    # messages show what was notified.
    return {"ALERT_GROUP_WAIT_S": 0, "ALERT_GROUP_INTERVAL_S": 0}


@pytest.fixture
def other_service():
    """A second local server, on another port (another host); also the notification
    channel's webhook (``/alerts``)."""
    with FakeServer() as fake:
        fake.always("/health", reply(200, {"ok": True}))
        fake.always("/alerts", reply(200, {"received": True}))
        yield fake


@pytest.fixture
def channel(client, keys, create_connection, other_service):
    hook = create_connection("http", {"base_url": other_service.url, "health_path": "/health",
                                      "max_attempts": 1}, label="webhook")
    response = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                           json={"name": "ops", "connection_id": hook["id"], "target": "/alerts"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def sent_events(app, other_service, alert_id: int) -> list[str]:
    """The events of the incident messages the channel received that list the alert as
    firing (after the notifier delivered what was due)."""
    monitor = get_monitor(app)
    assert monitor.notifier.drain(10)
    monitor.notifier.nudge()
    assert monitor.notifier.drain(10)
    out = []
    for call in other_service.calls("/alerts"):
        head, *lines = call.json()["text"].splitlines()
        if any(line.startswith(f"- alert #{alert_id} ") for line in lines):
            out.append(head.split(": ", 1)[0].rsplit(" ", 1)[-1])
    return out


def alert_by_id(client, keys, alert_id: int) -> dict:
    response = client.get(f"/api/v2/monitoring/alerts/{alert_id}", headers=keys["viewer"])
    assert response.status_code == 200
    return response.get_json()


def workflow_using(client, keys, conn_id: int | None, name: str = "sync") -> int:
    step = {"id": "push", "type": "action", "service": "http", "action": "post",
            "parameters": {"path": "/push", "json": {"n": 1}}}
    if conn_id is not None:
        step["connection"] = conn_id
    response = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": name, "trigger": {"type": "manual"}, "steps": [step]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def executions(app, workflow_id: int, *statuses: str) -> None:
    with app.app_context():
        for status in statuses:
            db.session.add(Execution(workflow_id=workflow_id, version=1, status=status,
                                     finished_at=utcnow()))
        db.session.commit()


def connection_alerts(client, keys, conn_id: int) -> list[dict]:
    return alerts_of(client, keys["viewer"], status="active", connection_id=conn_id)


# -- a workflow and the service its steps use -----------------------------------------------


def test_a_workflows_failure_rate_alert_is_suppressed_while_its_service_is_down_then_resumes(
        app, client, keys, connect, service, run, age, channel, other_service):
    conn = connect("/health", label="orders API")
    workflow_id = workflow_using(client, keys, conn["id"])
    executions(app, workflow_id, "failed", "failed", "failed", "succeeded")
    service.always("/health", reply(503, {"error": "down"}))

    result = run()
    parents = connection_alerts(client, keys, conn["id"])
    assert parents and all(a["status"] == "open" and a["suppressed_by"] is None for a in parents)
    [flow] = alerts_of(client, keys["viewer"], rule="workflow_failure_rate")
    assert flow["workflow_id"] == workflow_id and flow["status"] == "suppressed"
    assert flow["suppressed_by"] == min(a["id"] for a in parents if a["severity"] == "critical")
    assert result["alerts"]["suppressed"] == [flow["id"]]
    # Opened in the same round as its parent, and nothing sent for it; the parent was sent.
    assert flow["id"] in result["alerts"]["opened"]
    assert sent_events(app, other_service, flow["id"]) == []
    assert sent_events(app, other_service, parents[0]["id"]) == ["firing"]
    # Still evaluated while suppressed: it counts, and stays suppressed round after round.
    run()
    flow = alert_by_id(client, keys, flow["id"])
    assert flow["status"] == "suppressed" and flow["count"] == 2
    assert alerts_of(client, keys["viewer"], status="suppressed") == [
        {k: v for k, v in flow.items() if k != "notifications"}]
    assert flow["id"] in [a["id"] for a in alerts_of(client, keys["viewer"], status="active")]

    # The service recovers (its failures leave the window); the workflow still fails.
    service.always("/health", reply(200, {"ok": True}))
    age(3600)
    run()
    result = run()
    assert connection_alerts(client, keys, conn["id"]) == []
    flow = alert_by_id(client, keys, flow["id"])
    assert flow["status"] == "open" and flow["suppressed_by"] is None
    assert result["alerts"]["unsuppressed"] == [flow["id"]]
    assert sent_events(app, other_service, flow["id"]) == ["firing"]  # its first message


def test_a_suppressed_alert_whose_condition_cleared_resolves_without_a_word(
        request, app, client, keys, connect, service, run, other_service):
    conn = connect("/health")
    request.getfixturevalue("channel")  # its connection after conn: conn is the default one
    workflow_id = workflow_using(client, keys, None)  # the default http connection
    executions(app, workflow_id, "failed", "failed")
    service.always("/health", reply(503, {}))
    run()
    [flow] = alerts_of(client, keys["viewer"], rule="workflow_failure_rate")
    assert flow["status"] == "suppressed"
    assert flow["suppressed_by"] in [a["id"] for a in connection_alerts(client, keys, conn["id"])]
    executions(app, workflow_id, *["succeeded"] * 30)  # it stops failing; the service is down
    run()
    result = run()
    flow = alert_by_id(client, keys, flow["id"])
    assert flow["status"] == "resolved" and flow["id"] in result["alerts"]["resolved"]
    assert flow["suppressed_by"] is not None  # what was suppressing it when it resolved
    assert sent_events(app, other_service, flow["id"]) == []


@pytest.fixture
def down_workflow(app, client, keys, connect, service, run):
    """A workflow failing through its connection, whose service is down after one round:
    ``(workflow id, its suppressed failure-rate alert)``."""
    conn = connect("/health")
    workflow_id = workflow_using(client, keys, conn["id"])
    executions(app, workflow_id, "failed", "failed")
    service.always("/health", reply(503, {}))
    run()
    [flow] = alerts_of(client, keys["viewer"], rule="workflow_failure_rate")
    assert flow["status"] == "suppressed"
    return workflow_id, flow


def test_an_acknowledged_suppressed_alert_stays_suppressed_and_comes_back_acknowledged(
        app, client, keys, service, run, age, channel, down_workflow, other_service):
    workflow_id, flow = down_workflow
    acked = client.post(f"/api/v2/monitoring/alerts/{flow['id']}/acknowledge",
                        headers=keys["editor"]).get_json()
    assert acked["status"] == "suppressed" and acked["acknowledged_by"] == "key:editor-key"
    service.always("/health", reply(200, {}))
    age(3600)
    run()
    run()
    flow = alert_by_id(client, keys, flow["id"])
    assert flow["status"] == "acknowledged" and flow["suppressed_by"] is None
    assert sent_events(app, other_service, flow["id"]) == []
    # Down again: suppressed again, still acknowledged underneath.
    service.always("/health", reply(503, {}))
    run()
    again = alert_by_id(client, keys, flow["id"])
    assert again["status"] == "suppressed" and again["acknowledged_by"] == "key:editor-key"
    assert sent_events(app, other_service, flow["id"]) == []


def test_a_suppressed_alert_can_be_resolved_by_hand(client, keys, down_workflow):
    _workflow_id, flow = down_workflow
    done = client.post(f"/api/v2/monitoring/alerts/{flow['id']}/resolve", headers=keys["editor"])
    assert done.status_code == 200 and done.get_json()["status"] == "resolved"
    assert client.post(f"/api/v2/monitoring/alerts/{flow['id']}/acknowledge",
                       headers=keys["editor"]).status_code == 409


# -- connections sharing a host -------------------------------------------------------------


def test_three_connections_on_one_failing_host_raise_one_host_alert_that_suppresses_theirs(
        app, client, keys, connect, service, run, age, channel, other_service):
    conns = [connect(path, label=path) for path in ("/a", "/b", "/c")]
    for path in ("/a", "/b", "/c"):
        service.always(path, reply(503, {"error": "down"}))
    result = run()
    [host] = alerts_of(client, keys["viewer"], rule="host_down")
    hostport = service.url.split("://", 1)[1].rstrip("/")
    assert host["subject"] == f"host:{hostport}" and host["status"] == "open"
    with app.app_context():
        assert db.session.get(Alert, host["id"]).host == hostport
    assert host["value"] == 3 and "all 3 connections" in host["message"]
    below = [a for c in conns for a in connection_alerts(client, keys, c["id"])]
    assert len({a["connection_id"] for a in below}) == 3
    assert all(a["status"] == "suppressed" and a["suppressed_by"] == host["id"] for a in below)
    assert sorted(result["alerts"]["suppressed"]) == sorted(a["id"] for a in below)
    assert sent_events(app, other_service, host["id"]) == ["firing"]
    assert all(sent_events(app, other_service, a["id"]) == [] for a in below)
    listed = client.get(DEPS, headers=keys["viewer"], query_string={"source": "host"}).get_json()
    assert {(d["subject"], d["parent"]) for d in listed["dependencies"]} == {
        (f"connection:{c['id']}", f"host:{hostport}") for c in conns}

    # One of them answers again: the host is not down any more; the other two are released.
    service.always("/a", reply(200, {"ok": True}))
    run()
    result = run()
    assert alert_by_id(client, keys, host["id"])["status"] == "resolved"
    released = [a for c in conns[1:] for a in connection_alerts(client, keys, c["id"])]
    assert released and all(a["status"] == "open" and a["suppressed_by"] is None
                            for a in released)
    assert set(result["alerts"]["unsuppressed"]) >= {a["id"] for a in released}
    # One more message for the incident: released, they are firing (none held any more).
    sent_events(app, other_service, host["id"])  # deliver what is due
    texts = [c.json()["text"].splitlines()[0] for c in other_service.calls("/alerts")]
    assert [t.split(": ", 1)[0].rsplit(" ", 1)[-1] for t in texts] == ["firing", "updated"]
    assert "held" not in texts[1] and f"{len(released)} firing" not in texts[0]


def test_a_host_is_not_down_while_one_of_its_connections_answers(client, keys, connect, service,
                                                                 run):
    connect("/health")
    down = connect("/down")
    service.always("/down", reply(503, {}))
    run()
    assert alerts_of(client, keys["viewer"], rule="host_down") == []
    assert all(a["status"] == "open" for a in connection_alerts(client, keys, down["id"]))


def test_a_host_needs_the_configured_number_of_connections(app_factory, monkeypatch, tmp_path,
                                                          create_connection):
    from tests.atom.monitoring.conftest import QUICK
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    other = app_factory(**QUICK, HOST_DOWN_MIN_CONNECTIONS=3)
    try:
        client = other.test_client()
        from tests.conftest import make_key
        editor = {"Authorization": f"Bearer {make_key(other, 'editor')}"}
        with FakeServer() as fake:
            for path in ("/a", "/b"):
                fake.always(path, reply(503, {}))
                response = client.post("/api/v2/connections", headers=editor, json={
                    "integration": "http", "label": path, "credentials": {},
                    "settings": {"base_url": fake.url, "health_path": path, "max_attempts": 1}})
                assert response.status_code == 201
            client.post("/api/v2/monitoring/checks/run", headers=editor)
            found = client.get("/api/v2/monitoring/alerts", headers=editor).get_json()["alerts"]
        assert found and not [a for a in found if a["rule"] == "host_down"]
        assert all(a["status"] == "open" for a in found)
    finally:
        get_monitor(other).notifier.close()


# -- declared dependencies ------------------------------------------------------------------


def declare(client, keys, subject: str, parent: str, role: str = "editor", **extra):
    return client.post(DEPS, headers=keys[role], json={"subject": subject, "parent": parent,
                                                       **extra})


def test_a_declared_dependency_suppresses_the_dependents_alerts(
        app, client, keys, connect, service, other_service, run, channel):
    database = connect("/health", label="database")
    api = connect("/api", label="api", url=other_service.url)
    created = declare(client, keys, f"connection:{api['id']}", f"connection:{database['id']}",
                      note="the API stores everything in it")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["source"] == "declared" and body["created_by"] == "key:editor-key"
    assert body["subject_label"] == "api" and body["parent_label"] == "database"

    service.always("/health", reply(503, {}))
    other_service.always("/api", reply(503, {}))  # its /health (the webhook's) answers
    run()
    parents = connection_alerts(client, keys, database["id"])
    children = connection_alerts(client, keys, api["id"])
    assert parents and all(a["status"] == "open" for a in parents)
    assert children and all(a["status"] == "suppressed" for a in children)
    assert {a["suppressed_by"] for a in children} <= {a["id"] for a in parents}
    assert all(sent_events(app, other_service, a["id"]) == [] for a in children)

    # Removing the declaration releases them at the next evaluation.
    response = client.delete(f"{DEPS}/{body['id']}", headers=keys["editor"])
    assert response.status_code == 204
    result = run()
    children = connection_alerts(client, keys, api["id"])
    assert all(a["status"] == "open" and a["suppressed_by"] is None for a in children)
    assert set(result["alerts"]["unsuppressed"]) == \
        {a["id"] for a in children} - set(result["alerts"]["opened"])
    audit = client.get("/api/v2/audit", headers=keys["admin"]).get_json()
    actions = [e["action"] for e in audit.get("events", audit.get("items", []))]
    assert "dependency.create" in actions and "dependency.delete" in actions


def test_a_chain_is_suppressed_by_its_root_and_an_integration_parent_means_any_connection(
        app, client, keys, connect, service, other_service, run, create_connection):
    a, b = connect("/health", label="a"), connect("/health", label="b")  # one host
    service.always("/health", reply(503, {}))
    edge = connect("/health", label="edge", url=other_service.url)
    other_service.always("/health", reply(503, {}))
    # edge depends on any http connection; a and b depend on their (down) host.
    assert declare(client, keys, f"connection:{edge['id']}", "integration:http").status_code == 201
    run()
    [host] = alerts_of(client, keys["viewer"], rule="host_down")
    for conn in (a, b, edge):
        found = connection_alerts(client, keys, conn["id"])
        assert found and all(x["status"] == "suppressed" and x["suppressed_by"] == host["id"]
                             for x in found), conn["label"]


def test_get_lists_declared_and_derived_dependencies_with_their_source(
        client, keys, connect, service, other_service):
    a, b = connect("/health", label="a"), connect("/health", label="b")
    solo = connect("/health", label="solo", url=other_service.url)
    workflow_id = workflow_using(client, keys, solo["id"], name="report")
    assert declare(client, keys, f"workflow:{workflow_id}", f"connection:{a['id']}").status_code == 201
    found = client.get(DEPS, headers=keys["viewer"]).get_json()
    pairs = {(d["source"], d["subject"], d["parent"]) for d in found["dependencies"]}
    hostport = service.url.split("://", 1)[1].rstrip("/")
    assert pairs == {("declared", f"workflow:{workflow_id}", f"connection:{a['id']}"),
                     ("workflow", f"workflow:{workflow_id}", f"connection:{solo['id']}"),
                     ("host", f"connection:{a['id']}", f"host:{hostport}"),
                     ("host", f"connection:{b['id']}", f"host:{hostport}")}
    assert found["count"] == 4 and found["dependencies"][0]["source"] == "declared"
    derived = [d for d in found["dependencies"] if d["source"] == "workflow"][0]
    assert derived["id"] is None and "step push" in derived["detail"]
    assert derived["subject_label"] == "report" and derived["parent_label"] == "solo"
    mine = client.get(DEPS, headers=keys["viewer"],
                      query_string={"subject": f"connection:{b['id']}"}).get_json()
    assert [d["parent"] for d in mine["dependencies"]] == [f"host:{hostport}"]
    bad = client.get(DEPS, headers=keys["viewer"], query_string={"source": "guess"})
    assert bad.status_code == 422 and "source" in bad.get_json()["errors"]


def test_declarations_are_validated_naming_the_field(client, keys, connect, service):
    a, b = connect("/health", label="a"), connect("/health", label="b")
    ca, cb = f"connection:{a['id']}", f"connection:{b['id']}"
    hostport = service.url.split("://", 1)[1].rstrip("/")

    def refused(subject, parent, field, status=422, **extra):
        response = declare(client, keys, subject, parent, **extra)
        assert response.status_code == status, response.get_json()
        body = response.get_json()
        if field:
            assert field in body["errors"], body
        return body

    refused("connection:9999", ca, "subject")
    refused("workflow:12", ca, "subject")
    refused("server:1", ca, "subject")
    refused("host:example.org", ca, "subject")  # a host is never a dependent
    refused(ca, "connection:9999", "parent")
    refused(ca, "workflow:1", "parent")
    refused(ca, "host:nowhere.invalid", "parent")
    refused(ca, "integration:nonesuch", "parent")
    assert "itself" in refused(ca, ca, "parent")["errors"]["parent"][0]
    refused("integration:http", ca, "subject")
    refused(ca, cb, None, note="x" * 501) and None
    refused(ca, cb, "extra", extra=1)
    missing = client.post(DEPS, headers=keys["editor"], json={"subject": ca})
    assert missing.status_code == 422 and "parent" in missing.get_json()["errors"]
    assert declare(client, keys, ca, cb).status_code == 201
    assert declare(client, keys, ca, f"HOST:{hostport.upper()}").status_code == 201
    body = refused(cb, ca, "parent")
    assert f"{cb} → {ca} → {cb}" in body["errors"]["parent"][0]
    refused(ca, cb, None, status=409)


def test_viewers_cannot_declare_or_remove_and_unknown_ids_are_404(client, keys, connect, service):
    a, b = connect("/health", label="a"), connect("/health", label="b")
    assert declare(client, keys, f"connection:{a['id']}", f"connection:{b['id']}",
                   role="viewer").status_code == 403
    created = declare(client, keys, f"connection:{a['id']}", f"connection:{b['id']}")
    dep_id = created.get_json()["id"]
    assert client.delete(f"{DEPS}/{dep_id}", headers=keys["viewer"]).status_code == 403
    assert client.get(DEPS).status_code == 401
    assert client.delete(f"{DEPS}/999", headers=keys["editor"]).status_code == 404
    assert client.delete(f"{DEPS}/{2 ** 70}", headers=keys["editor"]).status_code == 404
    assert client.delete(f"{DEPS}/{dep_id}", headers=keys["editor"]).status_code == 204
    assert client.delete(f"{DEPS}/{dep_id}", headers=keys["editor"]).status_code == 404


def test_the_dependency_operations_are_documented(client):
    spec = client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v2/monitoring/dependencies"])
    assert "delete" in paths["/api/v2/monitoring/dependencies/{dependency_id}"]
    alert = spec["components"]["schemas"]["AlertOut"]["properties"]
    assert "suppressed_by" in alert
