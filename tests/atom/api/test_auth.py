"""Every /api/v2 route needs a key; roles gate writes and admin work."""
from __future__ import annotations

import re

import pytest

from atom.extensions import db
from atom.models import ApiKey
from atom.models.base import utcnow


def _api_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v2", "/api/enhanced")):
            path = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, path


def test_every_api_route_refuses_a_request_without_a_key(app, client):
    routes = list(_api_routes(app))
    assert len(routes) >= 8
    for method, path in routes:
        response = client.open(path, method=method, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        body = response.get_json()
        assert body["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer ", "atom_xyz"])
def test_a_wrong_or_malformed_key_is_401(client, header):
    response = client.get("/api/v2/connections", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_a_revoked_key_is_401(app, client, keys):
    with app.app_context():
        for key in db.session.scalars(db.select(ApiKey)):
            key.revoked_at = utcnow()
        db.session.commit()
    assert client.get("/api/v2/connections", headers=keys["admin"]).status_code == 401


def test_a_viewer_reads_but_may_not_write(client, keys):
    assert client.get("/api/v2/connections", headers=keys["viewer"]).status_code == 200
    response = client.post("/api/v2/connections", headers=keys["viewer"],
                           json={"integration": "http", "label": "x"})
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert client.get("/api/v2/connections", headers=keys["viewer"]).get_json()["connections"] == []


def test_an_editor_writes(client, keys):
    response = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "http", "label": "x", "settings": {"base_url": "http://127.0.0.1:1"}})
    assert response.status_code == 201


def test_a_logged_in_session_reads_the_api_and_writes_only_with_a_csrf_token(app_factory, alice):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        from atom.models import User
        user = User(email="bob@example.com", role="editor")
        user.set_password("a long enough pw")
        db.session.add(user)
        db.session.commit()
        uid = user.id
    with client.session_transaction() as session:
        session["user_id"] = uid
        session["session_version"] = 0
    assert client.get("/api/v2/connections").status_code == 200
    response = client.post("/api/v2/connections", json={
        "integration": "http", "label": "x", "settings": {"base_url": "http://127.0.0.1:1"}})
    assert response.status_code == 403
    assert "CSRF" in response.get_json()["message"]


def test_a_session_signed_before_a_logout_elsewhere_is_401(app, client, alice):
    assert client.post("/login", data=alice).status_code == 302
    assert client.get("/api/v2/connections").status_code == 200
    other = app.test_client()
    other.post("/login", data=alice)
    other.post("/logout")
    response = client.get("/api/v2/connections")
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_a_one_time_password_session_is_403_until_the_password_changes(app, client):
    from atom.models import User

    with app.app_context():
        user = User(email="otp@example.com", role="admin", must_change_password=True)
        user.set_password("one-time-pass")
        db.session.add(user)
        db.session.commit()
    client.post("/login", data={"email": "otp@example.com", "password": "one-time-pass"})
    for method, path in (("GET", "/api/v2/connections"), ("GET", "/api/v2/users"),
                         ("POST", "/api/v2/keys")):
        response = client.open(path, method=method, json={"name": "x", "role": "admin"})
        assert response.status_code == 403, (method, path)
        assert response.get_json()["code"] == "password_change_required"
