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
        "connections": []}


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
    client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"],
                 json={"settings": {"base_url": "http://127.0.0.1:9200", "health_path": "/ping"}})
    result = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"]).get_json()
    assert result["ok"] is True
    assert mocked.calls[0].request.url == "http://127.0.0.1:9200/ping"
