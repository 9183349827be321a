"""The OAuth2 connect flow against a local authorization server (tests/atom/api/oauth_fakes.py):
OAuth apps, starting an authorisation, the callback, and what is refused (nothing is created)."""
from __future__ import annotations

import hashlib
import logging
import threading
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests

from atom.extensions import db
from atom.models import AuditEvent
from atom.models import CallRecord
from atom.models import Connection
from atom.models import OAuthApp
from atom.models import OAuthState
from atom.models import User
from atom.models.base import utcnow
from atom.state import get_state
from plugins.jira import integration as jira_integration
from tests.atom.api.oauth_fakes import CLIENT_ID
from tests.atom.api.oauth_fakes import CLIENT_SECRET
from tests.atom.api.oauth_fakes import CLOUD_ID
from tests.atom.api.oauth_fakes import PLUGINS
from tests.atom.api.oauth_fakes import WORKSPACE
from tests.atom.api.oauth_fakes import FakeAuthorizationServer
from tests.conftest import make_key
from tests.fakes import FakeServer
from tests.fakes import Reply

PASSWORD = "correct horse battery"
JSON = {"Accept": "application/json"}


@pytest.fixture
def vendor():
    with FakeServer() as server:
        yield FakeAuthorizationServer(server)


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path, vendor):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setattr(jira_integration, "ACCESSIBLE_RESOURCES",
                        vendor.url + "/accessible-resources")
    return app_factory(PLUGINS=[*PLUGINS, "http=plugins.http.manifest:MANIFEST"])


@pytest.fixture
def register(client, keys, vendor):
    """Register the OAuth app of an integration (the fake's client) as an admin."""

    def put(slug: str = "acme", **settings):
        response = client.put(f"/api/v2/oauth-apps/{slug}", headers=keys["admin"], json={
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "settings": {"auth_base": vendor.url, **settings}})
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    return put


@pytest.fixture
def users(app):
    """Dashboard users: ``editor``, ``other`` (editor) and ``viewer``; password PASSWORD."""
    with app.app_context():
        for email, role in (("ed@example.com", "editor"), ("other@example.com", "editor"),
                            ("vi@example.com", "viewer")):
            user = User(email=email, role=role)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
    return {"editor": "ed@example.com", "other": "other@example.com", "viewer": "vi@example.com"}


def login(app, email: str):
    browser = app.test_client()
    response = browser.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.data
    return browser


def start(client, headers, slug: str = "acme", **body):
    if "settings" not in body and slug.startswith("acme"):
        body["settings"] = {"base_url": client.application.config["_VENDOR_URL"]}
    return client.post(f"/api/v2/connections/oauth/{slug}/start", headers=headers, json=body)


@pytest.fixture(autouse=True)
def _vendor_url(app, vendor):
    app.config["_VENDOR_URL"] = vendor.url


def callback(client, headers, query: dict):
    return client.get("/oauth/callback", headers={**JSON, **headers}, query_string=query)


def connect(client, headers, vendor, slug: str = "acme", **body):
    """Start, consent at the fake, and come back: the callback's response."""
    started = start(client, headers, slug, **body)
    assert started.status_code == 200, started.get_json()
    return callback(client, headers, vendor.consent(started.get_json()["authorize_url"]))


def _connections(app) -> list[Connection]:
    with app.app_context():
        return db.session.scalars(db.select(Connection)).all()


def _stored(app, conn_id: int) -> dict:
    with app.app_context():
        row = db.session.get(Connection, conn_id)
        return get_state(app).vault.decrypt(row.credentials_encrypted)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- OAuth apps --------------------------------------------------------------------------------


def test_an_admin_registers_an_app_whose_secret_is_encrypted_and_masked_everywhere(
        app, client, keys, vendor, caplog):
    caplog.set_level(logging.DEBUG)
    created = client.put("/api/v2/oauth-apps/acme", headers=keys["admin"], json={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "settings": {"auth_base": vendor.url, "scopes": ["admin"]}})
    assert created.status_code == 201
    body = created.get_json()
    assert body["client_id"] == CLIENT_ID and body["client_secret"] == "********"
    assert body["configured"] is True and body["source"] == "api"
    assert body["redirect_uri"] == "http://localhost/oauth/callback"
    assert body["settings"] == {"auth_base": vendor.url, "scopes": ["admin"]}

    # Sent back masked: the stored secret stays.
    again = client.put("/api/v2/oauth-apps/acme", headers=keys["admin"], json={
        "client_id": CLIENT_ID, "client_secret": "********"})
    assert again.status_code == 200
    one = client.get("/api/v2/oauth-apps/acme", headers=keys["admin"])
    listed = client.get("/api/v2/oauth-apps", headers=keys["admin"])
    audit = client.get("/api/v2/audit?subject=oauth_app:acme", headers=keys["admin"])
    for response in (created, again, one, listed, audit):
        assert CLIENT_SECRET not in response.get_data(as_text=True)
    assert [e["action"] for e in audit.get_json()["events"]] == ["oauth_app.create"]
    with app.app_context():
        row = db.session.execute(db.select(OAuthApp)).scalar_one()
        assert CLIENT_SECRET not in row.client_secret_encrypted
        assert get_state().vault.decrypt_text(row.client_secret_encrypted) == CLIENT_SECRET
        assert get_state().runtime.oauth_client("acme") == {"client_id": CLIENT_ID,
                                                            "client_secret": CLIENT_SECRET}
    apps = {a["integration"]: a for a in listed.get_json()["apps"]}
    assert set(apps) == {"acme", "acme_basic", "jira"}  # http offers no OAuth2
    assert apps["acme"]["configured"] and not apps["jira"]["configured"]
    assert CLIENT_SECRET not in caplog.text


def test_a_changed_app_is_audited_without_its_secret(app, client, keys, register):
    register()
    response = client.put("/api/v2/oauth-apps/acme", headers=keys["admin"], json={
        "client_id": "new-id", "client_secret": "a-new-secret-value"})
    assert response.status_code == 200
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).filter_by(
            subject="oauth_app:acme").order_by(AuditEvent.id)).all()
        assert [(e.action, e.actor) for e in events] == [("oauth_app.create", "key:admin-key"),
                                                        ("oauth_app.update", "key:admin-key")]
        assert events[1].detail == {"client_id": "new-id", "changed": ["client_id", "client_secret"]}
        assert "a-new-secret-value" not in str([e.detail for e in events])
        assert get_state().runtime.oauth_client("acme")["client_secret"] == "a-new-secret-value"


def test_editors_see_only_whether_an_app_is_configured_and_viewers_nothing(
        client, keys, register):
    register()
    listed = client.get("/api/v2/oauth-apps", headers=keys["editor"]).get_json()["apps"]
    assert {"integration": "acme", "display_name": "Acme", "configured": True} in listed
    assert all(set(a) == {"integration", "display_name", "configured"} for a in listed)
    one = client.get("/api/v2/oauth-apps/acme", headers=keys["editor"]).get_json()
    assert one == {"integration": "acme", "display_name": "Acme", "configured": True}
    for method, path in (("get", "/api/v2/oauth-apps"), ("get", "/api/v2/oauth-apps/acme"),
                         ("put", "/api/v2/oauth-apps/acme"), ("delete", "/api/v2/oauth-apps/acme")):
        assert getattr(client, method)(path, headers=keys["viewer"],
                                       json={"client_id": "x"}).status_code == 403
    for method in ("put", "delete"):
        response = getattr(client, method)("/api/v2/oauth-apps/acme", headers=keys["editor"],
                                           json={"client_id": "x", "client_secret": "y"})
        assert response.status_code == 403
        assert "admin" in response.get_json()["message"]
    assert client.get("/api/v2/oauth-apps").status_code == 401


@pytest.mark.parametrize("path, body, status, field", [
    ("nope", {"client_id": "a", "client_secret": "b"}, 404, None),
    ("http", {"client_id": "a", "client_secret": "b"}, 422, "integration"),
    ("acme", {"client_id": "a"}, 422, "client_secret"),
    ("acme", {"client_secret": "b"}, 422, "client_id"),
    ("acme", {"client_id": "", "client_secret": "b"}, 422, "client_id"),
    ("acme", {"client_id": "a", "client_secret": "b", "settings": {"auth base": "x"}}, 422, "settings"),
    ("acme", {"client_id": "a", "client_secret": "b", "settings": {"scopes": "read"}}, 422, "settings"),
    ("acme", {"client_id": "a", "client_secret": "b", "settings": {"host": 5}}, 422, "settings"),
    ("acme", {"client_id": "a", "client_secret": "********9999"}, 422, "client_secret"),
    ("acme", {"client_id": "a", "client_secret": "b", "surprise": 1}, 422, "surprise"),
])
def test_a_refused_app_names_the_field_and_stores_nothing(app, client, keys, path, body, status,
                                                          field):
    response = client.put(f"/api/v2/oauth-apps/{path}", headers=keys["admin"], json=body)
    assert response.status_code == status, response.get_json()
    if field:
        assert field in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(OAuthApp.id))) == 0


def test_get_of_an_unknown_or_non_oauth_integration_is_a_404(client, keys):
    assert client.get("/api/v2/oauth-apps/nope", headers=keys["admin"]).status_code == 404
    assert client.get("/api/v2/oauth-apps/http", headers=keys["admin"]).status_code == 404
    unconfigured = client.get("/api/v2/oauth-apps/jira", headers=keys["admin"]).get_json()
    assert unconfigured["configured"] is False and unconfigured["client_id"] is None


def test_deleting_an_app_stops_new_connections(app, client, keys, register):
    register()
    assert client.delete("/api/v2/oauth-apps/acme", headers=keys["admin"]).status_code == 204
    assert client.delete("/api/v2/oauth-apps/acme", headers=keys["admin"]).status_code == 404
    refused = start(client, keys["editor"])
    assert refused.status_code == 422
    assert "no OAuth app" in refused.get_json()["errors"]["integration"][0]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(
            action="oauth_app.delete")) == 1


def test_an_app_from_the_configuration_is_the_fallback(app_factory, monkeypatch, tmp_path, vendor):
    monkeypatch.setenv("ATOM_OAUTH_ACME_CLIENT_ID", "12345")  # stays a string, not a number
    monkeypatch.setenv("ATOM_OAUTH_ACME_CLIENT_SECRET", CLIENT_SECRET)
    configured = app_factory(PLUGINS=PLUGINS, OAUTH_ACME_SETTINGS={"auth_base": vendor.url})
    client = configured.test_client()
    admin = {"Authorization": f"Bearer {make_key(configured, 'admin')}"}
    body = client.get("/api/v2/oauth-apps/acme", headers=admin).get_json()
    assert body["source"] == "config" and body["client_id"] == "12345"
    assert body["client_secret"] == "********"
    assert client.delete("/api/v2/oauth-apps/acme", headers=admin).status_code == 409
    started = client.post("/api/v2/connections/oauth/acme/start", headers=admin,
                          json={"settings": {"base_url": vendor.url}})
    assert started.status_code == 200
    assert _query(started.get_json()["authorize_url"])["client_id"] == "12345"
    # An app stored through the API takes over.
    client.put("/api/v2/oauth-apps/acme", headers=admin,
               json={"client_id": "stored", "client_secret": "s", "settings": {}})
    assert client.get("/api/v2/oauth-apps/acme", headers=admin).get_json()["source"] == "api"


# -- start -------------------------------------------------------------------------------------


def test_start_answers_the_authorize_url_with_pkce_and_a_state_stored_hashed(
        app, client, keys, register, vendor):
    register()
    response = start(client, keys["editor"], label="Team Acme")
    assert response.status_code == 200
    body = response.get_json()
    url = body["authorize_url"]
    assert url.startswith(vendor.url + "/authorize?")
    query = _query(url)
    assert query == {
        "audience": "acme-api", "response_type": "code", "client_id": CLIENT_ID,
        "redirect_uri": "http://localhost/oauth/callback", "scope": "read write",
        "state": body["state"], "code_challenge": query["code_challenge"],
        "code_challenge_method": "S256"}
    assert len(body["state"]) >= 43  # 32 random bytes
    assert len(query["code_challenge"]) == 43
    with app.app_context():
        row = db.session.execute(db.select(OAuthState)).scalar_one()
        assert row.state_hash == hashlib.sha256(body["state"].encode()).hexdigest()
        assert body["state"] not in str([row.binding_hash, row.code_verifier_encrypted, row.request])
        assert row.binding_hash and row.user_id is None  # an API key without a user
        assert row.request == {"label": "Team Acme", "settings": {"base_url": vendor.url},
                               "connection_id": None}
        assert abs((row.expires_at - utcnow()).total_seconds() - 600) < 5
        verifier = get_state().vault.decrypt_text(row.code_verifier_encrypted)
        assert 43 <= len(verifier) <= 128
    assert body["expires_at"].endswith("Z")


def test_the_redirect_uri_and_the_state_lifetime_come_from_the_configuration(
        app_factory, vendor):
    configured = app_factory(PLUGINS=PLUGINS, PUBLIC_URL="https://atom.example.com/",
                             OAUTH_STATE_TTL_S=60, OAUTH_ACME_CLIENT_ID=CLIENT_ID,
                             OAUTH_ACME_SETTINGS={"auth_base": vendor.url})
    headers = {"Authorization": f"Bearer {make_key(configured, 'editor')}"}
    body = configured.test_client().post("/api/v2/connections/oauth/acme/start",
                                         headers=headers, json={}).get_json()
    assert _query(body["authorize_url"])["redirect_uri"] == "https://atom.example.com/oauth/callback"
    assert body["redirect_uri"] == "https://atom.example.com/oauth/callback"
    with configured.app_context():
        row = db.session.execute(db.select(OAuthState)).scalar_one()
        assert abs((row.expires_at - utcnow()).total_seconds() - 60) < 5


@pytest.mark.parametrize("slug, body, status, field", [
    ("nope", {}, 404, None),
    ("http", {}, 422, "integration"),
    ("jira", {}, 422, "integration"),  # no OAuth app configured for it
    ("acme", {"settings": {"workspace": "Not Valid!"}}, 422, "settings"),
    ("acme", {"settings": {"surprise": 1}}, 422, "settings"),
    ("acme", {"settings": {"max_attempts": 99}}, 422, "settings"),
    ("acme", {"connection_id": 999}, 422, "connection_id"),
    ("acme", {"label": ""}, 422, "label"),
    ("acme", {"extra": True}, 422, "extra"),
])
def test_a_refused_start_names_the_field_and_records_no_state(app, client, keys, register, slug,
                                                              body, status, field):
    register()
    response = client.post(f"/api/v2/connections/oauth/{slug}/start", headers=keys["editor"],
                           json=body)
    assert response.status_code == status, response.get_json()
    if field:
        assert field in response.get_json()["errors"], response.get_json()
    else:
        assert "nope" in response.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(OAuthState.id))) == 0


def test_only_editors_start(client, keys, register):
    register()
    assert start(client, keys["viewer"]).status_code == 403
    assert client.post("/api/v2/connections/oauth/acme/start", json={}).status_code == 401


def test_a_token_url_whose_host_an_editor_would_choose_is_refused(app, client, keys, vendor):
    """The client secret goes to the token URL: its host comes from the OAuth app's settings
    (an admin's), never from a connection's."""
    response = client.put("/api/v2/oauth-apps/acme", headers=keys["admin"], json={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "settings": {}})
    assert response.status_code == 201
    refused = start(client, keys["editor"], settings={"base_url": vendor.url,
                                                      "auth_base": "http://127.0.0.1:9"})
    assert refused.status_code == 422
    assert "auth_base" in refused.get_json()["errors"]["settings"]


# -- the callback ------------------------------------------------------------------------------


def test_the_happy_path_with_pkce_creates_a_working_connection(app, client, keys, register,
                                                               vendor, caplog):
    caplog.set_level(logging.DEBUG)
    register()
    response = connect(client, keys["editor"], vendor)

    assert response.status_code == 201, response.get_json()
    conn = response.get_json()["connection"]
    assert conn["integration"] == "acme" and conn["label"] == "Acme"
    assert conn["status"] == "active"
    assert conn["settings"] == {"base_url": vendor.url, "workspace": WORKSPACE}  # from the hook
    assert set(conn["credentials"]) == {"access_token", "refresh_token", "expires_at",
                                        "token_type", "scope"}
    assert conn["credentials"]["access_token"].startswith("********")
    # The fake verified the verifier against the challenge, and the client in the body.
    exchange = vendor.token_requests("authorization_code")
    assert len(exchange) == 1
    form = exchange[0].form()
    assert form["client_secret"] == CLIENT_SECRET and len(form["code_verifier"]) >= 43
    stored = _stored(app, conn["id"])
    assert stored["access_token"] in vendor.access_tokens
    assert stored["refresh_token"] in vendor.refresh_tokens
    assert "client_secret" not in stored and "client_id" not in stored
    for secret in (stored["access_token"], stored["refresh_token"], CLIENT_SECRET,
                   form["code"], form["code_verifier"]):
        assert secret not in response.get_data(as_text=True)
        assert secret not in caplog.text
    ran = client.post(f"/api/v2/connections/{conn['id']}/actions/whoami", headers=keys["editor"])
    assert ran.status_code == 200 and ran.get_json()["output"]["user"] == "mia"
    with app.app_context():
        assert db.session.execute(db.select(OAuthState.used_at)).scalar_one() is not None
        actions = db.session.scalars(db.select(AuditEvent.action).filter_by(
            subject=f"connection:{conn['id']}")).all()
        assert actions == ["connection.create", "connection.oauth"]


def test_http_basic_client_authentication_without_pkce(app, client, keys, register, vendor):
    register("acme_basic")
    vendor.client_auth = "basic"
    started = start(client, keys["editor"], "acme_basic").get_json()
    query = _query(started["authorize_url"])
    assert query["scope"] == "read,write" and "code_challenge" not in query
    response = callback(client, keys["editor"], vendor.consent(started["authorize_url"]))
    assert response.status_code == 201, response.get_json()
    form = vendor.token_requests()[0].form()
    assert "client_secret" not in form and "code_verifier" not in form
    assert vendor.token_requests()[0].headers["Authorization"].startswith("Basic ")


def test_the_browser_flow_goes_to_the_vendor_and_back_to_the_dashboard(app, register, users,
                                                                       vendor):
    register()
    browser = login(app, users["editor"])
    home = browser.get("/").get_data(as_text=True)
    assert "Connect with Acme" in home and "Connect with Jira" not in home  # no app for Jira
    confirm = browser.get("/oauth/start/acme?settings.base_url=" + vendor.url)
    assert confirm.status_code == 200 and b"Continue to Acme" in confirm.data
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(OAuthState.id))) == 0  # GET: nothing
    sent = browser.post("/oauth/start/acme", data={"settings.base_url": vendor.url,
                                                   "label": "From the browser"})
    assert sent.status_code == 302
    assert sent.headers["Location"].startswith(vendor.url + "/authorize?")
    back = browser.get("/oauth/callback", query_string=vendor.consent(sent.headers["Location"]))
    assert back.status_code == 302 and back.headers["Location"] == "/"
    assert "Connected From the browser" in browser.get("/").get_data(as_text=True)
    with app.app_context():
        row = db.session.execute(db.select(OAuthState)).scalar_one()
        editor = db.session.execute(db.select(User).filter_by(email=users["editor"])).scalar_one()
        assert row.user_id == editor.id
    assert [c.label for c in _connections(app)] == ["From the browser"]


def test_the_browser_start_needs_a_signed_in_editor_and_a_csrf_token(app_factory, app, register,
                                                                      users, vendor):
    register()
    assert app.test_client().post("/oauth/start/acme").headers["Location"].startswith("/login")
    viewer = login(app, users["viewer"])
    assert viewer.post("/oauth/start/acme").status_code == 403
    assert b"Connect with" not in viewer.get("/").data
    protected = app_factory(PLUGINS=PLUGINS, WTF_CSRF_ENABLED=True)  # the same database
    browser = protected.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    browser.post("/login", data={"email": users["editor"], "password": PASSWORD,
                                 "csrf_token": token})
    assert browser.post("/oauth/start/acme").status_code == 400  # no CSRF token
    confirm = browser.get("/oauth/start/acme").get_data(as_text=True)
    token = confirm.split('name="csrf_token" value="')[1].split('"')[0]
    sent = browser.post("/oauth/start/acme", data={"csrf_token": token,
                                                   "settings.base_url": vendor.url})
    assert sent.status_code == 302 and sent.headers["Location"].startswith(vendor.url)


def test_browser_errors_are_pages(app, register, users, vendor):
    browser = login(app, users["editor"])
    missing = browser.post("/oauth/start/nope")
    assert missing.status_code == 404 and b"nope" in missing.data
    no_app = browser.post("/oauth/start/acme")
    assert no_app.status_code == 422 and b"no OAuth app" in no_app.data
    register()
    vendor.deny = True
    sent = browser.post("/oauth/start/acme", data={"settings.base_url": vendor.url})
    denied = browser.get("/oauth/callback", query_string=vendor.consent(sent.headers["Location"]))
    assert denied.status_code == 400
    assert b"consent was denied at Acme" in denied.data and b"<html" in denied.data


def test_an_unknown_or_missing_state_is_refused(app, client, keys, register, vendor):
    register()
    started = start(client, keys["editor"]).get_json()
    answer = vendor.consent(started["authorize_url"])
    wrong = callback(client, keys["editor"], {**answer, "state": "x" * 43})
    assert wrong.status_code == 400 and wrong.get_json()["code"] == "invalid_state"
    missing = callback(client, keys["editor"], {"code": answer["code"]})
    assert missing.status_code == 422 and "state" in missing.get_json()["errors"]
    no_code = callback(client, keys["editor"], {"state": answer["state"]})
    assert no_code.status_code == 422 and "code" in no_code.get_json()["errors"]
    assert _connections(app) == []
    assert vendor.token_requests() == []


def test_a_replayed_state_is_refused(app, client, keys, register, vendor):
    register()
    started = start(client, keys["editor"]).get_json()
    answer = vendor.consent(started["authorize_url"])
    assert callback(client, keys["editor"], answer).status_code == 201
    replay = callback(client, keys["editor"], answer)
    assert replay.status_code == 400 and replay.get_json()["code"] == "state_used"
    assert len(_connections(app)) == 1
    assert len(vendor.token_requests()) == 1


def test_two_concurrent_callbacks_with_one_state_make_one_connection(app, keys, register, vendor):
    register()
    client = app.test_client()
    answer = vendor.consent(start(client, keys["editor"]).get_json()["authorize_url"])
    vendor.delay = 0.2
    barrier = threading.Barrier(2, timeout=5)
    statuses: list[int] = []

    def run():
        own = app.test_client()
        barrier.wait()
        statuses.append(callback(own, keys["editor"], answer).status_code)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(statuses) == [201, 400]
    assert len(_connections(app)) == 1
    assert len(vendor.token_requests()) == 1


def test_a_state_started_by_another_key_user_or_session_is_forbidden(app, client, keys, register,
                                                                     users, vendor):
    register()
    started = start(client, keys["editor"]).get_json()
    answer = vendor.consent(started["authorize_url"])
    other_key = {"Authorization": f"Bearer {make_key(app, 'editor')}"}
    refused = callback(client, other_key, answer)
    assert refused.status_code == 403 and refused.get_json()["code"] == "state_mismatch"
    as_session = login(app, users["editor"]).get("/oauth/callback", headers=JSON,
                                                 query_string=answer)
    assert as_session.status_code == 403
    assert _connections(app) == []
    # The state was not used up: its own caller still completes it.
    assert callback(client, keys["editor"], answer).status_code == 201

    # Sessions: another user, and the same user in another browser.
    first = login(app, users["editor"])
    sent = first.post("/oauth/start/acme", data={"settings.base_url": vendor.url})
    answer = vendor.consent(sent.headers["Location"])
    for intruder in (login(app, users["other"]), login(app, users["editor"])):
        assert intruder.get("/oauth/callback", headers=JSON,
                            query_string=answer).status_code == 403
    assert first.get("/oauth/callback", query_string=answer).status_code == 302
    assert len(_connections(app)) == 2
    assert app.test_client().get("/oauth/callback", headers=JSON,
                                 query_string=answer).status_code == 401


def test_denied_consent_says_so_and_creates_nothing(app, client, keys, register, vendor):
    register()
    vendor.deny = True
    answer = vendor.consent(start(client, keys["editor"]).get_json()["authorize_url"])
    assert answer["error"] == "access_denied" and "code" not in answer
    response = callback(client, keys["editor"], answer)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "access_denied"
    assert "consent was denied at Acme" in body["message"]
    assert _connections(app) == [] and vendor.token_requests() == []
    assert callback(client, keys["editor"], answer).get_json()["code"] == "state_used"


def test_an_expired_code_is_refused_with_a_clear_message(app, client, keys, register, vendor):
    register()
    answer = vendor.consent(start(client, keys["editor"]).get_json()["authorize_url"])
    vendor.expire_codes()
    response = callback(client, keys["editor"], answer)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "token_refused" and body["errors"] == {"code": ["invalid_grant"]}
    assert "Acme refused the authorization code (invalid_grant" in body["message"]
    assert "nothing was created" in body["message"]
    assert _connections(app) == []


def test_a_wrong_verifier_fails_pkce_at_the_vendor(app, client, keys, register, vendor):
    register()
    answer = vendor.consent(start(client, keys["editor"]).get_json()["authorize_url"])
    with app.app_context():
        row = db.session.execute(db.select(OAuthState)).scalar_one()
        row.code_verifier_encrypted = get_state().vault.encrypt_text("w" * 64)
        db.session.commit()
    response = callback(client, keys["editor"], answer)
    assert response.status_code == 422
    assert "PKCE verification failed" in response.get_json()["message"]
    assert _connections(app) == []


def test_an_expired_state_is_refused(app, client, keys, register, vendor):
    register()
    answer = vendor.consent(start(client, keys["editor"]).get_json()["authorize_url"])
    with app.app_context():
        row = db.session.execute(db.select(OAuthState)).scalar_one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = callback(client, keys["editor"], answer)
    assert response.status_code == 400 and response.get_json()["code"] == "state_expired"
    assert _connections(app) == [] and vendor.token_requests() == []


def test_the_code_exchange_goes_through_the_outbound_policy(app_factory, vendor):
    strict = app_factory(PLUGINS=PLUGINS, OUTBOUND_ALLOW_PRIVATE=False,
                         OAUTH_ACME_CLIENT_ID=CLIENT_ID, OAUTH_ACME_CLIENT_SECRET=CLIENT_SECRET,
                         OAUTH_ACME_SETTINGS={"auth_base": vendor.url})
    headers = {"Authorization": f"Bearer {make_key(strict, 'editor')}"}
    client = strict.test_client()
    url = client.post("/api/v2/connections/oauth/acme/start", headers=headers,
                      json={}).get_json()["authorize_url"]
    response = callback(client, headers, vendor.consent(url))
    assert response.status_code == 422 and response.get_json()["code"] == "blocked"
    assert vendor.token_requests() == [] and _connections(strict) == []


def test_reauthorising_updates_the_connection_and_bumps_its_revision(app, client, keys, register,
                                                                     vendor):
    register()
    conn = connect(client, keys["editor"], vendor).get_json()["connection"]
    before = _stored(app, conn["id"])
    with app.app_context():
        row = db.session.get(Connection, conn["id"])
        row.status = "needs_reauth"
        revision = row.revision
        db.session.commit()
    response = connect(client, keys["editor"], vendor, connection_id=conn["id"])
    assert response.status_code == 200, response.get_json()
    again = response.get_json()["connection"]
    assert again["id"] == conn["id"] and again["status"] == "active"
    after = _stored(app, conn["id"])
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    with app.app_context():
        assert db.session.get(Connection, conn["id"]).revision == revision + 1
    assert len(_connections(app)) == 1


def test_jira_stores_the_cloud_id_of_the_authorised_site(app, client, keys, register, vendor):
    register("jira")
    response = connect(client, keys["editor"], vendor, "jira", settings={})
    assert response.status_code == 201, response.get_json()
    conn = response.get_json()["connection"]
    assert conn["settings"] == {"cloud_id": CLOUD_ID}
    assert vendor.server.calls("/accessible-resources")[0].headers["Authorization"] == \
        f"Bearer {_stored(app, conn['id'])['access_token']}"
    with app.app_context():
        row = db.session.get(Connection, conn["id"])
        integ = get_state().runtime.integration(row)
        assert integ.http.settings.base_url == f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
    # The scopes and Atlassian's audience went to the authorize URL.
    url = start(client, keys["editor"], "jira", settings={}).get_json()["authorize_url"]
    assert _query(url)["audience"] == "api.atlassian.com"
    assert "offline_access" in _query(url)["scope"].split(" ")


def test_jira_with_several_sites_needs_the_site_named(app, client, keys, register, vendor):
    register("jira")
    vendor.sites.append({"id": "99999999-0000-0000-0000-000000000000",
                         "url": "https://beta.atlassian.net", "name": "beta", "scopes": []})
    refused = connect(client, keys["editor"], vendor, "jira", settings={})
    assert refused.status_code == 422
    assert "site" in refused.get_json()["errors"]["settings"]
    assert _connections(app) == []
    chosen = connect(client, keys["editor"], vendor, "jira", settings={"site": "beta"})
    assert chosen.status_code == 201
    assert chosen.get_json()["connection"]["settings"]["cloud_id"].startswith("99999999")


def test_a_failing_hook_creates_nothing(app, client, keys, register, vendor):
    register("jira")
    vendor.server.script("/accessible-resources", Reply(404, {"message": "gone"}))
    response = connect(client, keys["editor"], vendor, "jira", settings={})
    assert response.status_code == 502
    assert response.get_json()["code"] == "upstream"
    assert _connections(app) == []


def test_the_token_exchange_is_recorded_as_a_call(app, client, keys, register, vendor):
    register()
    connect(client, keys["editor"], vendor)
    with app.app_context():
        get_state().recorder.flush()
        ops = db.session.scalars(db.select(CallRecord.operation).filter_by(integration="acme")).all()
    assert "oauth_token" in ops


def test_a_refused_refresh_reaches_the_client_of_the_oauth_app(app, client, keys, register,
                                                              vendor):
    """Refreshes use the OAuth app's client (ConnectionRuntime.oauth_client)."""
    register()
    conn = connect(client, keys["editor"], vendor).get_json()["connection"]
    with app.app_context():
        row = db.session.get(Connection, conn["id"])
        creds = get_state().vault.decrypt(row.credentials_encrypted)
        creds["expires_at"] = 1.0
        row.credentials_encrypted = get_state().vault.encrypt(creds)
        row.revision += 1
        db.session.commit()
    ran = client.post(f"/api/v2/connections/{conn['id']}/actions/whoami", headers=keys["editor"])
    assert ran.status_code == 200
    refresh = vendor.token_requests("refresh_token")
    assert len(refresh) == 1 and refresh[0].form()["client_id"] == CLIENT_ID
    assert "client_secret" not in _stored(app, conn["id"])
    assert requests.post(vendor.url + "/token", data={
        "grant_type": "refresh_token", "refresh_token": creds["refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, timeout=5).status_code == 400


@pytest.mark.parametrize("config, name", [
    ({"PUBLIC_URL": "atom.example.com"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "https://atom.example.com/?x=1"}, "PUBLIC_URL"),
    ({"OAUTH_STATE_TTL_S": 0}, "OAUTH_STATE_TTL_S"),
    ({"OAUTH_STATE_TTL_S": "600"}, "OAUTH_STATE_TTL_S"),
])
def test_bad_oauth_settings_are_refused_at_start_up_naming_the_key(app_factory, config, name):
    from atom.settings import ConfigError

    with pytest.raises(ConfigError, match=name):
        app_factory(**config)


def test_a_label_given_when_reauthorising_renames_the_connection(app, client, keys, register,
                                                                 vendor):
    register()
    conn = connect(client, keys["editor"], vendor).get_json()["connection"]
    kept = connect(client, keys["editor"], vendor, connection_id=conn["id"]).get_json()
    assert kept["connection"]["label"] == "Acme"
    renamed = connect(client, keys["editor"], vendor, connection_id=conn["id"], label="Renamed")
    assert renamed.get_json()["connection"]["label"] == "Renamed"
