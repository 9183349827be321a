"""Admins manage API keys and users through the API, and read the audit log (issue 7, item 13)."""
from __future__ import annotations

import pytest

from atom.cli import main
from atom.extensions import db
from atom.models import AuditEvent
from atom.models import User

ADMIN_ROUTES = [
    ("GET", "/api/v2/keys"), ("POST", "/api/v2/keys"), ("GET", "/api/v2/keys/1"),
    ("DELETE", "/api/v2/keys/1"),
    ("GET", "/api/v2/users"), ("POST", "/api/v2/users"), ("GET", "/api/v2/users/1"),
    ("PATCH", "/api/v2/users/1"), ("DELETE", "/api/v2/users/1"),
    ("GET", "/api/v2/audit"),
]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def actions(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(e.actor, e.action, e.subject) for e in
                db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


@pytest.mark.parametrize("method,path", ADMIN_ROUTES)
def test_only_admins_manage_keys_users_and_the_audit_log(client, keys, method, path):
    assert client.open(path, method=method, json={}).status_code == 401
    for role in ("editor", "viewer"):
        response = client.open(path, method=method, headers=keys[role], json={})
        assert response.status_code == 403, (role, response.get_json())
        assert response.get_json()["code"] == "forbidden"


# -- keys ------------------------------------------------------------------------------------


def test_a_created_key_is_shown_once_works_and_is_listed_masked(app, client, keys):
    created = client.post("/api/v2/keys", headers=keys["admin"], json={"name": "ci", "role": "editor"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    plain = body["key"]
    assert plain.startswith("atom_") and body["prefix"] == plain[:12]
    assert client.get("/api/v2/connections", headers=bearer(plain)).status_code == 200
    listing = client.get("/api/v2/keys", headers=keys["admin"])
    assert listing.status_code == 200
    assert plain not in listing.get_data(as_text=True)
    row = next(k for k in listing.get_json()["keys"] if k["name"] == "ci")
    assert set(row) == {"id", "name", "role", "prefix", "created_at", "last_used_at", "revoked_at",
                        "expires_at", "active"}
    assert row["role"] == "editor" and row["last_used_at"] is not None
    assert row["revoked_at"] is None and row["expires_at"] is None and row["active"] is True
    assert plain not in client.get(f"/api/v2/keys/{row['id']}", headers=keys["admin"]).get_data(as_text=True)
    assert ("key:admin-key", "key.create", f"key:{body['id']}") in actions(app)


def test_a_revoked_key_stops_working_at_once(app, client, keys):
    body = client.post("/api/v2/keys", headers=keys["admin"], json={"name": "tmp", "role": "viewer"}).get_json()
    assert client.get("/api/v2/connections", headers=bearer(body["key"])).status_code == 200
    revoked = client.delete(f"/api/v2/keys/{body['id']}", headers=keys["admin"])
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"] is not None and revoked.get_json()["active"] is False
    assert client.get("/api/v2/connections", headers=bearer(body["key"])).status_code == 401
    assert ("key:admin-key", "key.revoke", f"key:{body['id']}") in actions(app)
    assert client.delete("/api/v2/keys/999", headers=keys["admin"]).status_code == 404


def test_a_key_with_an_expiry_stops_working_then(app, client, keys):
    from datetime import timedelta

    from atom.models import ApiKey
    from atom.models.base import utcnow

    soon = (utcnow() + timedelta(hours=1)).isoformat() + "Z"
    body = client.post("/api/v2/keys", headers=keys["admin"],
                       json={"name": "temp", "role": "viewer", "expires_at": soon}).get_json()
    assert body["expires_at"].startswith(soon[:19]) and body["revoked_at"] is None
    assert client.get("/api/v2/connections", headers=bearer(body["key"])).status_code == 200
    with app.app_context():  # an hour later
        db.session.get(ApiKey, body["id"]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/v2/connections", headers=bearer(body["key"])).status_code == 401
    shown = client.get(f"/api/v2/keys/{body['id']}", headers=keys["admin"]).get_json()
    assert shown["revoked_at"] is None and shown["expires_at"] is not None and shown["active"] is False
    past = client.post("/api/v2/keys", headers=keys["admin"], json={
        "name": "old", "role": "viewer", "expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422 and "expires_at" in past.get_json()["errors"]


def test_revoking_a_key_with_a_later_expiry_ends_it_now(client, keys):
    body = client.post("/api/v2/keys", headers=keys["admin"], json={
        "name": "t", "role": "viewer", "expires_at": "2999-01-01T00:00:00+00:00"}).get_json()
    revoked = client.delete(f"/api/v2/keys/{body['id']}", headers=keys["admin"]).get_json()
    assert revoked["revoked_at"] is not None and revoked["expires_at"].startswith("2999")
    assert revoked["active"] is False
    assert client.get("/api/v2/connections", headers=bearer(body["key"])).status_code == 401


def _expected(payload: dict) -> int:
    """NUL and lone surrogates are refused for every route before its schema: a 400."""
    text = "".join(str(value) for value in payload.values())
    return 400 if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in text) else 422


@pytest.mark.parametrize("payload,field", [
    ({"name": "x", "role": "viewer", "expires_at": "9999-12-31T23:59:59-12:00"}, "expires_at"),
    ({"name": "x", "role": "viewer", "expires_at": "tomorrow"}, "expires_at"),
    ({"name": "", "role": "editor"}, "name"),
    ({"name": "x", "role": "root"}, "role"),
    ({"name": "x"}, "role"),
    ({"name": "x", "role": "viewer", "owner": "me"}, "owner"),
    ({"name": "x" * 121, "role": "viewer"}, "name"),
    ({"name": "a\x00b", "role": "viewer"}, "name"),
    ({"name": "\ud800", "role": "viewer"}, "name"),
])
def test_a_bad_key_request_is_422_naming_the_field(app, client, keys, payload, field):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/api/v2/keys", headers=keys["admin"], json=payload)
    assert response.status_code == _expected(payload)
    assert field in response.get_json()["errors"]


def test_huge_ids_are_404_not_500(client, keys):
    for path in ("/api/v2/keys/99999999999999999999999", "/api/v2/users/99999999999999999999999"):
        assert client.get(path, headers=keys["admin"]).status_code == 404


def test_the_cli_and_the_api_create_keys_the_same_way(app, client, keys, runner):
    result = runner.invoke(main, args=["keys", "create", "--name", "from-cli", "--role", "viewer"])
    assert result.exit_code == 0, result.output
    listed = client.get("/api/v2/keys", headers=keys["admin"]).get_json()["keys"]
    assert any(k["name"] == "from-cli" and k["role"] == "viewer" for k in listed)
    assert ("cli", "key.create") in [(a, b) for a, b, _ in actions(app)]


# -- users -----------------------------------------------------------------------------------


def test_a_user_created_without_a_password_gets_a_one_time_password_shown_once(app, client, keys):
    created = client.post("/api/v2/users", headers=keys["admin"],
                          json={"email": "Dana@Example.com", "role": "editor"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["email"] == "dana@example.com" and body["must_change_password"]
    assert body["password_expires_at"] is not None
    one_time = body["one_time_password"]
    assert client.post("/login", data={"email": "dana@example.com", "password": one_time}).status_code == 302
    listing = client.get("/api/v2/users", headers=keys["admin"])
    assert one_time not in listing.get_data(as_text=True)
    assert "password_hash" not in listing.get_data(as_text=True)
    assert [u["email"] for u in listing.get_json()["users"]] == ["dana@example.com"]
    assert ("key:admin-key", "user.create", f"user:{body['id']}") in actions(app)


def test_a_user_created_with_a_password_needs_no_change(client, keys):
    body = client.post("/api/v2/users", headers=keys["admin"], json={
        "email": "eve@example.com", "role": "viewer", "password": "a chosen password"}).get_json()
    assert body["one_time_password"] is None and not body["must_change_password"]
    assert client.post("/login", data={"email": "eve@example.com",
                                       "password": "a chosen password"}).status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("payload,field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b.example", "role": "owner"}, "role"),
    ({"email": "a@b.example", "password": "short"}, "password"),
    ({"email": "a@b.example", "is_admin": True}, "is_admin"),
    ({"email": "a\ud800@b.example"}, "email"),
    ({"email": "a@b.example", "password": "\ud800" * 12}, "password"),
])
def test_a_bad_user_request_is_422_naming_the_field(app, client, keys, payload, field):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/api/v2/users", headers=keys["admin"], json=payload)
    assert response.status_code == _expected(payload)
    assert field in response.get_json()["errors"]


def test_a_second_user_with_the_same_email_is_409(client, keys, alice):
    response = client.post("/api/v2/users", headers=keys["admin"], json={"email": "ALICE@example.com"})
    assert response.status_code == 409
    assert "email" in response.get_json()["errors"]


def _user_id(app, email):
    with app.app_context():
        return db.session.execute(db.select(User.id).filter_by(email=email)).scalar_one()


def test_patch_changes_the_role_and_deactivation_ends_the_sessions(app, client, keys, alice):
    bob = client.post("/api/v2/users", headers=keys["admin"], json={
        "email": "bob@example.com", "role": "viewer", "password": "bob's long password"}).get_json()
    browser = app.test_client()
    browser.post("/login", data={"email": "bob@example.com", "password": "bob's long password"})
    assert browser.get("/api/v2/connections").status_code == 200
    promoted = client.patch(f"/api/v2/users/{bob['id']}", headers=keys["admin"], json={"role": "editor"})
    assert promoted.status_code == 200 and promoted.get_json()["role"] == "editor"
    assert browser.get("/").status_code == 200  # a role change keeps the session
    off = client.patch(f"/api/v2/users/{bob['id']}", headers=keys["admin"], json={"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert browser.get("/").status_code == 302
    assert browser.post("/login", data={"email": "bob@example.com",
                                        "password": "bob's long password"}).status_code == 401
    assert [a for _, a, s in actions(app) if s == f"user:{bob['id']}"] == [
        "user.create", "user.update", "user.update"]


def test_a_password_reset_issues_a_new_one_time_password_and_ends_the_sessions(app, client, keys, alice):
    browser = app.test_client()
    browser.post("/login", data=alice)
    uid = _user_id(app, alice["email"])
    client.post("/api/v2/users", headers=keys["admin"], json={"email": "other@example.com", "role": "admin",
                                                              "password": "another long password"})
    reset = client.patch(f"/api/v2/users/{uid}", headers=keys["admin"], json={"reset_password": True})
    assert reset.status_code == 200
    one_time = reset.get_json()["one_time_password"]
    assert one_time and reset.get_json()["must_change_password"]
    assert browser.get("/").status_code == 302
    assert browser.post("/login", data=alice).status_code == 401
    assert browser.post("/login", data={"email": alice["email"], "password": one_time}).status_code == 302
    assert browser.get("/").headers["Location"].endswith("/password")


def test_delete_deactivates_the_user(app, client, keys, alice):
    uid = client.post("/api/v2/users", headers=keys["admin"], json={"email": "fay@example.com"}).get_json()["id"]
    response = client.delete(f"/api/v2/users/{uid}", headers=keys["admin"])
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert client.get(f"/api/v2/users/{uid}", headers=keys["admin"]).get_json()["active"] is False
    assert ("key:admin-key", "user.deactivate", f"user:{uid}") in actions(app)
    assert client.delete("/api/v2/users/999", headers=keys["admin"]).status_code == 404


@pytest.mark.parametrize("change", [{"role": "editor"}, {"active": False}, "delete"])
def test_the_last_active_admin_cannot_be_demoted_deactivated_or_deleted(app, client, keys, alice, change):
    uid = _user_id(app, alice["email"])
    if change == "delete":
        response = client.delete(f"/api/v2/users/{uid}", headers=keys["admin"])
    else:
        response = client.patch(f"/api/v2/users/{uid}", headers=keys["admin"], json=change)
    assert response.status_code == 409
    assert response.get_json()["code"] == "last_admin"
    row = client.get(f"/api/v2/users/{uid}", headers=keys["admin"]).get_json()
    assert row["role"] == "admin" and row["active"] is True
    # with a second active admin the same change is allowed
    client.post("/api/v2/users", headers=keys["admin"], json={"email": "root2@example.com", "role": "admin"})
    if change == "delete":
        assert client.delete(f"/api/v2/users/{uid}", headers=keys["admin"]).status_code == 200
    else:
        assert client.patch(f"/api/v2/users/{uid}", headers=keys["admin"], json=change).status_code == 200


def test_the_cli_and_the_api_create_users_the_same_way(app, client, keys, runner):
    assert runner.invoke(main, args=["users", "create", "--email", "cli@example.com"]).exit_code == 0
    duplicate = client.post("/api/v2/users", headers=keys["admin"], json={"email": "cli@example.com"})
    assert duplicate.status_code == 409
    row = next(u for u in client.get("/api/v2/users", headers=keys["admin"]).get_json()["users"])
    assert row["must_change_password"] and row["password_expires_at"]


# -- audit -----------------------------------------------------------------------------------


def _audit(client, keys, **query):
    response = client.get("/api/v2/audit", headers=keys["admin"], query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_audit_log_lists_newest_first_with_filters_and_paging(client, keys):
    for name in ("k1", "k2", "k3"):
        client.post("/api/v2/keys", headers=keys["admin"], json={"name": name, "role": "viewer"})
    client.post("/api/v2/users", headers=keys["admin"], json={"email": "gil@example.com"})
    client.post("/login", data={"email": "ghost@example.com", "password": "whatever it is"})
    everything = _audit(client, keys)
    assert [e["action"] for e in everything["events"]] == [
        "auth.login_failed", "user.create", "key.create", "key.create", "key.create"]
    assert everything["total"] == 5
    event = everything["events"][0]
    assert set(event) == {"id", "ts", "actor", "action", "subject", "detail"}
    assert event["detail"]["email"] == "ghost@example.com"
    keys_only = _audit(client, keys, action="key.create", limit=2, offset=1)
    assert [e["detail"]["name"] for e in keys_only["events"]] == ["k2", "k1"]
    assert keys_only["total"] == 3
    assert _audit(client, keys, actor="key:admin-key")["total"] == 4
    subject = everything["events"][1]["subject"]
    assert [e["action"] for e in _audit(client, keys, subject=subject)["events"]] == ["user.create"]
    assert _audit(client, keys, since="2999-01-01T00:00:00Z")["events"] == []
    assert _audit(client, keys, until="2000-01-01T00:00:00Z")["events"] == []
    assert _audit(client, keys, since="2000-01-01T00:00:00+02:00")["total"] == 5


@pytest.mark.parametrize("query,field", [
    ({"limit": 0}, "limit"), ({"limit": 100000}, "limit"), ({"offset": -1}, "offset"),
    ({"offset": 2 ** 70}, "offset"), ({"since": "yesterday"}, "since"),
    ({"until": "9999-12-31T23:59:59-12:00"}, "until"), ({"colour": "red"}, "colour"),
])
def test_a_bad_audit_query_is_422(client, keys, query, field):
    response = client.get("/api/v2/audit", headers=keys["admin"], query_string=query)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_the_admin_operations_are_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["paths"]["/api/v2/keys"]["post"]["requestBody"]
    assert "201" in spec["paths"]["/api/v2/keys"]["post"]["responses"]
    assert "201" in spec["paths"]["/api/v2/users"]["post"]["responses"]
    assert spec["paths"]["/api/v2/users/{user_id}"]["patch"]["requestBody"]
    params = {p["name"] for p in spec["paths"]["/api/v2/audit"]["get"]["parameters"]}
    assert {"actor", "action", "subject", "since", "until", "limit", "offset"} <= params
