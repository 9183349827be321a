"""Connections API: CRUD, masking, validation that changes nothing, test and action runs."""
from __future__ import annotations

import pytest
import requests
import responses

from atom.extensions import db
from atom.models import Connection
from atom.state import get_state

BASE = "http://127.0.0.1:9100"
SECRET = "tok-ABCDEFGHIJKLMNOPQRSTUV-9876"


@pytest.fixture
def conn(create_connection):
    return create_connection("http", {"base_url": BASE, "max_attempts": 2, "health_path": "/ping"},
                             {"auth": "bearer", "token": SECRET})


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(Connection.id)))


def _stored_creds(app, conn_id):
    with app.app_context():
        row = db.session.get(Connection, conn_id)
        return get_state(app).vault.decrypt(row.credentials_encrypted)


def test_create_returns_the_connection_with_secrets_masked(conn):
    assert conn["integration"] == "http"
    assert conn["settings"]["base_url"] == BASE
    assert conn["credentials"] == {"auth": "bearer", "token": "********9876"}
    assert SECRET not in str(conn)


def test_list_get_and_filter(client, keys, conn, create_connection):
    create_connection("http", {"base_url": BASE}, label="second")
    listed = client.get("/api/v2/connections", headers=keys["viewer"]).get_json()["connections"]
    assert [c["label"] for c in listed] == ["http test", "second"]
    one = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert one["id"] == conn["id"]
    assert client.get("/api/v2/connections?integration=slack", headers=keys["viewer"]).get_json() == {
        "connections": [], "next_cursor": None, "total": 0}


def test_a_masked_secret_sent_back_keeps_the_stored_one(app, client, keys, conn):
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "label": "renamed", "credentials": conn["credentials"]})
    assert response.status_code == 200
    assert response.get_json()["label"] == "renamed"
    assert _stored_creds(app, conn["id"])["token"] == SECRET


def test_a_new_secret_replaces_the_stored_one(app, client, keys, conn):
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "credentials": {"auth": "bearer", "token": "brand-new-token-0000"}})
    assert response.status_code == 200
    assert _stored_creds(app, conn["id"])["token"] == "brand-new-token-0000"


@pytest.mark.parametrize("body, field", [
    ({"label": "x"}, "integration"),
    ({"integration": "http"}, "label"),
    ({"integration": "nope", "label": "x"}, "integration"),
    ({"integration": "http", "label": "x", "surprise": 1}, "surprise"),
    ({"integration": "http", "label": "x", "settings": {"base_url": "not a url"}}, "settings"),
    ({"integration": "http", "label": "x", "settings": {"base_url": BASE, "max_attempts": 99}}, "settings"),
    ({"integration": "http", "label": "x", "settings": {"base_url": BASE},
      "credentials": {"auth": "basic", "username": "u"}}, "credentials"),
    ({"integration": "http", "label": "", "settings": {"base_url": BASE}}, "label"),
    ({"integration": "http", "label": "x", "settings": "no"}, "settings"),
])
def test_an_invalid_body_is_422_naming_the_field_and_writes_nothing(app, client, keys, body, field):
    response = client.post("/api/v2/connections", headers=keys["editor"], json=body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] == "validation"
    assert field in payload["errors"]
    assert _count(app) == 0


def test_malformed_json_and_non_objects_are_rejected(app, client, keys):
    bad = client.post("/api/v2/connections", headers=keys["editor"], data="{nope",
                      content_type="application/json")
    assert bad.status_code == 400
    assert bad.get_json()["message"] == "the body is not valid JSON"
    listy = client.post("/api/v2/connections", headers=keys["editor"], json=[1, 2])
    assert listy.status_code == 422
    assert _count(app) == 0


def test_an_oversized_body_is_413(client, keys):
    response = client.post("/api/v2/connections", headers=keys["editor"],
                           data="x" * (2 * 1024 * 1024), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


def test_an_invalid_patch_changes_nothing(app, client, keys, conn):
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "label": "changed", "settings": {"base_url": "ftp://x"}})
    assert response.status_code == 422
    again = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["editor"]).get_json()
    assert again["label"] == "http test"
    assert again["settings"]["base_url"] == BASE


def test_unknown_ids_are_404(client, keys, conn):
    for method, path in [("GET", "/api/v2/connections/999"), ("PATCH", "/api/v2/connections/999"),
                         ("DELETE", "/api/v2/connections/999"),
                         ("POST", "/api/v2/connections/999/test"),
                         ("POST", "/api/v2/connections/999/actions/get"),
                         ("POST", f"/api/v2/connections/{conn['id']}/actions/launch_rocket")]:
        response = client.open(path, method=method, headers=keys["editor"], json={})
        assert response.status_code == 404, (method, path)
        assert response.get_json()["code"] == "not_found"


def test_delete(app, client, keys, conn):
    assert client.delete(f"/api/v2/connections/{conn['id']}", headers=keys["editor"]).status_code == 204
    assert _count(app) == 0


def test_the_connection_test_runs_the_health_check_and_records_it(client, keys, conn, mocked):
    mocked.get(f"{BASE}/ping", json={"ok": True})
    response = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert response.status_code == 200
    result = response.get_json()
    assert result["ok"] is True and result["error_class"] is None
    assert result["latency_ms"] >= 0
    assert mocked.calls[0].request.headers["Authorization"] == f"Bearer {SECRET}"
    again = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert again["last_test"]["ok"] is True


def test_a_refused_test_marks_the_connection_for_reauthorisation(client, keys, conn, mocked):
    mocked.get(f"{BASE}/ping", status=401)
    result = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()
    assert result == {"ok": False, "error_class": "auth", "latency_ms": result["latency_ms"],
                      "message": result["message"]}
    assert len(mocked.calls) == 1  # a permanent error is not retried
    again = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert again["status"] == "needs_reauth"
    assert again["last_test"]["error_class"] == "auth"


def test_an_action_runs_once_and_reports_output_duration_and_attempts(client, keys, conn, mocked):
    mocked.get(f"{BASE}/items", json={"items": [1, 2]})
    response = client.post(f"/api/v2/connections/{conn['id']}/actions/request", headers=keys["editor"],
                           json={"method": "GET", "path": "/items", "query": {"q": "a"}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["output"]["status"] == 200
    assert body["output"]["body"] == {"items": [1, 2]}
    assert body["attempts"] == 1
    assert body["duration_ms"] >= 0
    assert mocked.calls[0].request.url == f"{BASE}/items?q=a"


def test_an_action_input_that_fails_its_schema_is_422(client, keys, conn, mocked):
    response = client.post(f"/api/v2/connections/{conn['id']}/actions/request", headers=keys["editor"],
                           json={"method": "TELEPORT"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"method", "path"}
    assert len(mocked.calls) == 0


def test_an_action_body_that_is_not_an_object_is_400(client, keys, conn):
    response = client.post(f"/api/v2/connections/{conn['id']}/actions/get", headers=keys["editor"],
                           json=[1])
    assert response.status_code == 400


@pytest.mark.parametrize("setup, code, status", [
    (lambda m: m.get(f"{BASE}/x", status=401), "auth", 502),
    (lambda m: m.get(f"{BASE}/x", status=403), "auth", 502),
    (lambda m: m.get(f"{BASE}/x", status=429, headers={"Retry-After": "3600"}), "rate_limited", 429),
    (lambda m: m.get(f"{BASE}/x", body=requests.ConnectTimeout()), "timeout", 504),
    (lambda m: m.get(f"{BASE}/x", body=requests.ReadTimeout()), "timeout", 504),
    (lambda m: m.get(f"{BASE}/x", status=500), "upstream", 502),
    (lambda m: m.get(f"{BASE}/x", status=404), "upstream", 502),
    (lambda m: m.get(f"{BASE}/x", status=422, json={"error": "bad"}), "validation", 422),
])
def test_action_failures_answer_with_their_error_class(client, keys, conn, mocked, setup, code, status):
    setup(mocked)
    response = client.post(f"/api/v2/connections/{conn['id']}/actions/get", headers=keys["editor"],
                           json={"path": "/x"})
    assert response.status_code == status
    assert response.get_json()["code"] == code
    if code == "rate_limited":
        assert int(response.headers["Retry-After"]) >= 3600


def test_a_dead_service_opens_the_circuit(client, keys, create_connection, mocked):
    conn = create_connection("http", {"base_url": BASE, "max_attempts": 1,
                                      "circuit_failure_threshold": 2, "circuit_reset_s": 600})
    mocked.get(f"{BASE}/x", status=503)
    codes = [client.post(f"/api/v2/connections/{conn['id']}/actions/get", headers=keys["editor"],
                         json={"path": "/x"}).get_json()["code"] for _ in range(3)]
    assert codes == ["upstream", "upstream", "circuit_open"]
    assert len(mocked.calls) == 2


def test_changing_settings_rebuilds_the_client(client, keys, conn, mocked):
    mocked.get("http://127.0.0.1:9200/ping", json={})
    patched = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "settings": {"base_url": "http://127.0.0.1:9200", "health_path": "/ping"},
        "credentials": {"auth": "bearer", "token": SECRET}})  # a new destination: re-entered
    assert patched.status_code == 200, patched.get_json()
    result = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()
    assert result["ok"] is True
    assert mocked.calls[0].request.url == "http://127.0.0.1:9200/ping"


# -- a credential is bound to its destination (issue 7, item 1) -----------------------------------


def _raw_row(app, conn_id):
    """Everything stored about a connection, to compare before and after a refused change."""
    with app.app_context():
        row = db.session.get(Connection, conn_id)
        return (row.label, row.enabled, row.settings, row.credentials_encrypted, row.revision,
                row.status)


def _audits(app, action):
    from atom.models import AuditEvent

    with app.app_context():
        return [(e.subject, e.detail) for e in db.session.scalars(
            db.select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id))]


@pytest.fixture
def servers():
    from tests.fakes import FakeServer
    from tests.fakes import reply

    with FakeServer() as home, FakeServer() as elsewhere:
        for server in (home, elsewhere):
            server.always("/ping", reply(200, {"ok": True}))
        yield home, elsewhere


@pytest.fixture
def bound(create_connection, servers):
    home, _ = servers
    return create_connection("http", {"base_url": home.url, "health_path": "/ping",
                                      "max_attempts": 1},
                             {"auth": "bearer", "token": SECRET,
                              "webhook_secret": "whsec-0123456789"})


def test_a_new_base_url_without_the_token_is_422_and_changes_nothing(app, client, keys, servers,
                                                                     bound):
    home, elsewhere = servers
    before = _raw_row(app, bound["id"])
    response = client.patch(f"/api/v2/connections/{bound['id']}", headers=keys["editor"], json={
        "label": "moved", "enabled": False,
        "settings": {"base_url": elsewhere.url, "health_path": "/ping"}})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "validation"
    # Only the secret that goes out is asked for; the webhook secret only checks inbound calls.
    assert body["errors"] == {"credentials": {
        "token": ["re-enter this secret to change settings.base_url"]}}
    assert _raw_row(app, bound["id"]) == before  # not the label, not the enabled flag either
    assert _audits(app, "connection.update") == []
    tested = client.post(f"/api/v2/connections/{bound['id']}/test", headers=keys["editor"])
    assert tested.get_json()["ok"] is True
    assert [r.headers["Authorization"] for r in home.calls("/ping")] == [f"Bearer {SECRET}"]
    assert elsewhere.requests == []  # the token never reached the other server


def test_a_masked_token_sent_back_is_not_re_entering_it(app, client, keys, servers, bound):
    _, elsewhere = servers
    before = _raw_row(app, bound["id"])
    response = client.patch(f"/api/v2/connections/{bound['id']}", headers=keys["editor"], json={
        "settings": {"base_url": elsewhere.url}, "credentials": bound["credentials"]})
    assert response.status_code == 422
    assert "token" in response.get_json()["errors"]["credentials"]
    assert _raw_row(app, bound["id"]) == before
    client.post(f"/api/v2/connections/{bound['id']}/test", headers=keys["editor"])
    assert elsewhere.requests == []


def test_a_new_base_url_with_the_token_re_entered_is_audited_with_both_destinations(
        app, client, keys, servers, bound):
    home, elsewhere = servers
    response = client.patch(f"/api/v2/connections/{bound['id']}", headers=keys["editor"], json={
        "settings": {"base_url": elsewhere.url, "health_path": "/ping"},
        "credentials": {"auth": "bearer", "token": "tok-for-the-new-host-0001"}})
    assert response.status_code == 200, response.get_json()
    [(subject, detail)] = _audits(app, "connection.update")
    assert subject == f"connection:{bound['id']}"
    assert detail["destination"]["old"] == home.url
    assert detail["destination"]["new"] == elsewhere.url
    assert detail["destination"]["changed"] == ["settings.base_url"]
    client.post(f"/api/v2/connections/{bound['id']}/test", headers=keys["editor"])
    assert [r.headers["Authorization"] for r in elsewhere.calls("/ping")] == [
        "Bearer tok-for-the-new-host-0001"]
    assert _stored_creds(app, bound["id"])["webhook_secret"] == "whsec-0123456789"


def test_other_settings_change_without_re_entering(app, client, keys, servers, bound):
    home, _ = servers
    response = client.patch(f"/api/v2/connections/{bound['id']}", headers=keys["editor"], json={
        "label": "renamed", "settings": {"base_url": home.url, "health_path": "/ping",
                                         "max_attempts": 3}})
    assert response.status_code == 200, response.get_json()
    [(_, detail)] = _audits(app, "connection.update")
    assert "destination" not in detail


@pytest.mark.parametrize("credentials", [
    {"auth": "none"},
    {"auth": "none", "webhook_secret": "whsec-only-inbound-42"},
])
def test_a_connection_without_outbound_secrets_may_move_freely(app, client, keys, servers,
                                                               create_connection, credentials):
    home, elsewhere = servers
    conn = create_connection("http", {"base_url": home.url, "health_path": "/ping"}, credentials)
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "settings": {"base_url": elsewhere.url, "health_path": "/ping"}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["settings"]["base_url"] == elsewhere.url
    [(_, detail)] = _audits(app, "connection.update")
    assert detail["destination"] == {"old": home.url, "new": elsewhere.url,
                                     "changed": ["settings.base_url"]}


def test_a_new_jira_site_without_the_api_token_is_422(app, client, keys, create_connection):
    conn = create_connection("jira", {"site": "acme"}, {
        "email": "bot@example.com", "api_token": "jira-token-ABCDEFGHIJKL",
        "webhook_secret": "jira-whsec-123456"})
    before = _raw_row(app, conn["id"])
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "settings": {"site": "attacker"}})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"credentials": {
        "api_token": ["re-enter this secret to change settings.site"]}}
    assert _raw_row(app, conn["id"]) == before
    # A base_url on a Jira connection is a destination too.
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "settings": {"site": "acme", "base_url": "http://127.0.0.1:9/"}})
    assert response.status_code == 422
    assert _raw_row(app, conn["id"]) == before
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "settings": {"site": "acme2"}, "credentials": {"email": "bot@example.com",
                                                        "api_token": "jira-token-NEW-0000"}})
    assert response.status_code == 200, response.get_json()
    [(_, detail)] = _audits(app, "connection.update")
    assert detail["destination"]["old"] == "https://acme.atlassian.net"
    assert detail["destination"]["new"] == "https://acme2.atlassian.net"


def test_destination_fields_are_declared_as_data(app):
    with app.app_context():
        registry = get_state(app).registry
        from atom.integrations.runtime import CommonSettings

        jira = registry.get("jira").manifest
        http = registry.get("http").manifest
        assert jira.destination_fields(CommonSettings) == {"settings": {"base_url", "site",
                                                                        "cloud_id"},
                                                           "credentials": set()}
        assert http.destination_fields(CommonSettings)["settings"] == {"base_url"}
        assert jira.outbound_secret_fields() == {"api_token", "access_token", "refresh_token"}


# -- ids are never reused; connections in use are not deleted by accident (item 11) -------------


def _workflow(conn_id, name="uses it"):
    return {"name": name, "trigger": {"type": "manual"}, "steps": [
        {"id": "call", "type": "action", "service": "http", "action": "get",
         "connection": conn_id, "parameters": {"path": "/ping"}}]}


def test_a_deleted_connections_id_is_never_handed_out_again(client, keys, create_connection):
    first = create_connection("http", {"base_url": BASE})
    last = create_connection("http", {"base_url": BASE})
    deleted = client.delete(f"/api/v2/connections/{last['id']}", headers=keys["editor"])
    assert deleted.status_code == 204
    again = create_connection("http", {"base_url": BASE})
    assert again["id"] not in (first["id"], last["id"])
    assert again["id"] > last["id"]


def test_a_deleted_workflows_id_is_never_handed_out_again(app, client, keys):
    from atom.models import Workflow
    from atom.models import WorkflowVersion

    noop = {"name": "noop", "trigger": {"type": "manual"},
            "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}]}
    created = client.post("/api/v2/ai-workflows", headers=keys["editor"], json=noop).get_json()
    assert client.delete(f"/api/v2/ai-workflows/{created['id']}",
                         headers=keys["editor"]).status_code in (200, 204)
    with app.app_context():  # an operator purges deleted workflows for good
        db.session.execute(db.delete(WorkflowVersion).filter_by(workflow_id=created["id"]))
        db.session.execute(db.delete(Workflow).filter_by(id=created["id"]))
        db.session.commit()
    again = client.post("/api/v2/ai-workflows", headers=keys["editor"], json=noop).get_json()
    assert again["id"] > created["id"]


def test_a_pruned_executions_id_is_never_handed_out_again(app, client, keys):
    from datetime import timedelta

    from atom.engine import get_engine
    from atom.engine.triggers import prune_executions
    from atom.models import Execution
    from atom.models.base import utcnow

    noop = {"name": "noop", "trigger": {"type": "manual"},
            "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}]}
    wf = client.post("/api/v2/ai-workflows", headers=keys["editor"], json=noop).get_json()
    try:
        url = f"/api/v2/ai-workflows/{wf['id']}/execute?wait=20"
        first = client.post(url, headers=keys["editor"], json={"x": 1}).get_json()
        assert first["status"] == "succeeded"
        with app.app_context():
            db.session.execute(db.update(Execution).values(
                finished_at=utcnow() - timedelta(days=999)))
            db.session.commit()
        assert prune_executions(app) == 1
        gone = client.get(f"/api/v2/executions/{first['id']}", headers=keys["viewer"])
        assert gone.status_code == 404
        second = client.post(url, headers=keys["editor"], json={"x": 2}).get_json()
        assert second["id"] > first["id"]
        gone = client.get(f"/api/v2/executions/{first['id']}", headers=keys["viewer"])
        assert gone.status_code == 404
    finally:
        get_engine(app).close()


def test_deleting_a_connection_that_workflows_use_is_409_listing_them(app, client, keys, conn):
    used = client.post("/api/v2/ai-workflows", headers=keys["editor"],
                       json=_workflow(conn["id"])).get_json()
    gone = client.post("/api/v2/ai-workflows", headers=keys["editor"],
                       json=_workflow(conn["id"], "deleted")).get_json()
    client.delete(f"/api/v2/ai-workflows/{gone['id']}", headers=keys["editor"])
    moved = client.post("/api/v2/ai-workflows", headers=keys["editor"],
                        json=_workflow(conn["id"], "moved on")).get_json()
    other = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "http", "label": "other", "settings": {"base_url": BASE}}).get_json()
    assert other["id"] != conn["id"]
    client.put(f"/api/v2/ai-workflows/{moved['id']}", headers=keys["editor"],
               json=_workflow(other["id"], "moved on"))  # its current version uses another one
    response = client.delete(f"/api/v2/connections/{conn['id']}", headers=keys["editor"])
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "conflict"
    assert body["workflows"] == [{"id": used["id"], "name": "uses it"}]
    assert body["errors"]["workflows"] == [f"uses it (workflow {used['id']})"]
    assert _count(app) == 2
    shown = client.get(f"/api/v2/ai-workflows/{used['id']}", headers=keys["viewer"]).get_json()
    assert shown["enabled"] is True


def test_a_forced_delete_disables_the_workflows_that_use_the_connection(app, client, keys, conn):
    used = client.post("/api/v2/ai-workflows", headers=keys["editor"],
                       json=_workflow(conn["id"])).get_json()
    response = client.delete(f"/api/v2/connections/{conn['id']}?force=true", headers=keys["editor"])
    assert response.status_code == 204
    assert _count(app) == 0
    shown = client.get(f"/api/v2/ai-workflows/{used['id']}", headers=keys["viewer"]).get_json()
    assert shown["enabled"] is False
    assert _audits(app, "workflow.disable") == [
        (f"workflow:{used['id']}", {"reason": f"connection {conn['id']} deleted"})]
    [(_, detail)] = _audits(app, "connection.delete")
    assert detail["disabled_workflows"] == [used["id"]]


def test_actions_and_tests_on_a_disabled_connection_are_409(client, keys, conn, mocked):
    mocked.get(f"{BASE}/ping", json={})
    mocked.get(f"{BASE}/x", json={})
    off = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"],
                       json={"enabled": False})
    assert off.status_code == 200
    tested = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    acted = client.post(f"/api/v2/connections/{conn['id']}/actions/get", headers=keys["editor"],
                        json={"path": "/x"})
    for response in (tested, acted):
        assert response.status_code == 409
        assert response.get_json()["code"] == "conflict"
        assert "disabled" in response.get_json()["message"]
    assert len(mocked.calls) == 0


def test_a_workflow_whose_trigger_is_bound_to_the_connection_uses_it(app, client, keys, conn):
    """An event trigger's ``connection_id`` counts as a use: deleting is a 409 naming it."""
    bound = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "bound trigger",
        "trigger": {"type": "event", "service": "http", "event": "webhook_received",
                    "connection_id": conn["id"]},
        "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.id"}}]})
    assert bound.status_code == 201, bound.get_json()
    response = client.delete(f"/api/v2/connections/{conn['id']}", headers=keys["editor"])
    assert response.status_code == 409
    assert response.get_json()["workflows"] == [{"id": bound.get_json()["id"],
                                                 "name": "bound trigger"}]
