"""Settings (users, API keys, OAuth apps, audit log) and the API docs page, through the test
client: admins only, the API's own validation naming the same fields, secrets shown once."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import ApiKey
from atom.models import AuditEvent
from atom.models import User
from atom.models.audit import record
from atom.models.base import utcnow
from atom.state import get_state

SETTINGS_PAGES = ("/settings", "/settings/keys", "/settings/oauth-apps", "/settings/audit",
                  "/settings/oauth-apps/github")
SECRET = re.compile(r'id="secret-once"[^>]*>([^<]+)</code>')


def add_user(app, email: str, role: str, password: str = "a long enough password") -> int:
    with app.app_context():
        user = User(email=email, role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id


def signed_in(app, email: str, password: str = "a long enough password"):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    return client


@pytest.fixture
def admin(client, alice):
    assert client.post("/login", data=alice).status_code == 302
    return client


def user_row(app, email: str) -> User:
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
        db.session.expunge(user)
        return user


def text(response) -> str:
    return response.get_data(as_text=True)


def one_h1(html: str) -> None:
    assert len(re.findall(r"<h1[\s>]", html)) == 1, html


# -- who may open the settings ---------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in SETTINGS_PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_get_the_styled_403(app, role):
    add_user(app, f"{role}@example.com", role)
    client = signed_in(app, f"{role}@example.com")
    for path in SETTINGS_PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "admin role" in text(response), path
    posts = ["/settings/users", "/settings/keys", "/settings/users/1/role",
             "/settings/users/1/deactivate", "/settings/users/1/reset-password",
             "/settings/keys/1/revoke", "/settings/oauth-apps/github",
             "/settings/oauth-apps/github/delete"]
    for path in posts:
        response = client.post(path, data={"email": "x@example.com", "role": "admin", "name": "k",
                                           "client_id": "x", "client_secret": "y"})
        assert response.status_code == 403, path
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ApiKey.id))) == 0
        assert db.session.execute(db.select(User).filter_by(email="x@example.com")).first() is None
    assert "/settings" not in text(client.get("/"))  # no Settings in their navigation


def test_the_navigation_marks_settings_and_every_page_has_one_h1(admin):
    for path in SETTINGS_PAGES:
        response = admin.get(path)
        assert response.status_code == 200, path
        html = text(response)
        one_h1(html)
        assert re.search(r'<a href="/settings" aria-current="page">Settings</a>', html), path
        assert 'class="tabs"' in html and "pages/settings.css" in html


# -- users -----------------------------------------------------------------------------------


def test_the_users_page_lists_role_status_and_last_sign_in(app, admin):
    add_user(app, "bob@example.com", "editor")
    html = text(admin.get("/settings"))
    assert "alice@example.com" in html and "bob@example.com" in html
    bob = re.search(r'<tr id="user-\d+"[^>]*>.*?bob@example\.com.*?</tr>', html, re.S).group(0)
    assert '<option value="editor" selected>' in bob
    assert "never" in bob  # bob has not signed in
    alice = re.search(r'<tr id="user-\d+"[^>]*>.*?alice@example\.com.*?</tr>', html, re.S).group(0)
    assert "<time" in alice.split('data-label="Last sign-in"')[1].split("</td>")[0]


def test_adding_a_user_shows_a_one_time_password_once(app, admin):
    response = admin.post("/settings/users", data={"email": "Carol@Example.com", "role": "editor"})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    html = text(response)
    one_h1(html)
    one_time = SECRET.search(html).group(1)
    assert 'data-copy="#secret-once"' in html
    carol = user_row(app, "carol@example.com")
    assert carol.role == "editor" and carol.must_change_password and carol.check_password(one_time)
    for later in ("/settings", "/settings/audit", "/settings/keys", "/"):
        assert one_time not in text(admin.get(later)), later
    with app.app_context():
        assert db.session.scalars(db.select(AuditEvent.action)).all()[-1] == "user.create"


def test_a_user_with_a_chosen_password_is_added_without_one(app, admin):
    response = admin.post("/settings/users", data={"email": "dan@example.com", "role": "viewer",
                                                   "password": "dan's own long password"})
    assert response.status_code == 302 and response.headers["Location"] == "/settings"
    page = text(admin.get("/settings"))
    assert "Added dan@example.com (viewer)" in page
    assert "dan&#39;s own long password" not in page and "dan's own long password" not in page
    assert user_row(app, "dan@example.com").check_password("dan's own long password")


def test_a_bad_email_is_named_beside_the_field_and_the_typed_values_kept(admin):
    response = admin.post("/settings/users", data={"email": "not-an-email", "role": "admin",
                                                   "password": "typed secret password"})
    assert response.status_code == 422
    html = text(response)
    assert 'id="f-email-error"' in html and "email" in html.split('id="f-email-error">')[1].split("<")[0].lower()
    assert 'value="not-an-email"' in html
    assert '<option value="admin" selected>' in html.split('id="add-user"')[1]
    assert "typed secret password" not in html


def test_a_short_password_and_a_taken_email_name_their_fields(admin, alice):
    short = admin.post("/settings/users", data={"email": "eve@example.com", "role": "viewer",
                                                "password": "short"})
    assert short.status_code == 422
    assert 'id="f-new-password-error"' in text(short)
    assert 'value="eve@example.com"' in text(short)
    taken = admin.post("/settings/users", data={"email": alice["email"], "role": "viewer"})
    assert taken.status_code == 409
    assert "exists already" in text(taken).split('id="f-email-error">')[1].split("<")[0]


def test_changing_a_role_and_a_bad_role(app, admin):
    bob = add_user(app, "bob@example.com", "viewer")
    response = admin.post(f"/settings/users/{bob}/role", data={"role": "editor"})
    assert response.status_code == 302
    assert "bob@example.com is now editor" in text(admin.get("/settings"))
    assert user_row(app, "bob@example.com").role == "editor"
    bad = admin.post(f"/settings/users/{bob}/role", data={"role": "root"})
    assert bad.status_code == 422
    assert f'id="user-{bob}-error"' in text(bad) and "Must be one of" in text(bad)
    assert user_row(app, "bob@example.com").role == "editor"


def test_the_last_admin_cannot_be_deactivated_or_demoted(app, admin, alice):
    me = user_row(app, alice["email"]).id
    for path, data in ((f"/settings/users/{me}/deactivate", {}), (f"/settings/users/{me}/role", {"role": "viewer"})):
        response = admin.post(path, data=data)
        assert response.status_code == 409
        error = text(response).split(f'id="user-{me}-error">')[1].split("<")[0]
        assert "last active admin" in error
    user = user_row(app, alice["email"])
    assert user.active and user.role == "admin"


def test_deactivating_signs_the_user_out_and_reactivating_lets_them_back(app, admin):
    bob = add_user(app, "bob@example.com", "editor")
    bobs = signed_in(app, "bob@example.com")
    assert bobs.get("/").status_code == 200
    assert admin.post(f"/settings/users/{bob}/deactivate").status_code == 302
    assert "Deactivated bob@example.com" in text(admin.get("/settings"))
    assert not user_row(app, "bob@example.com").active
    assert bobs.get("/").status_code == 302  # signed out
    assert admin.post(f"/settings/users/{bob}/activate").status_code == 302
    assert user_row(app, "bob@example.com").active


def test_resetting_a_password_shows_the_new_one_once(app, admin):
    bob = add_user(app, "bob@example.com", "editor")
    response = admin.post(f"/settings/users/{bob}/reset-password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    one_time = SECRET.search(text(response)).group(1)
    user = user_row(app, "bob@example.com")
    assert user.must_change_password and user.check_password(one_time)
    assert not user.check_password("a long enough password")
    assert one_time not in text(admin.get("/settings"))


def test_missing_users_keys_and_apps_are_404(admin):
    for path in ("/settings/users/999/role", "/settings/users/999/deactivate",
                 "/settings/users/999/reset-password", "/settings/users/999/activate",
                 "/settings/keys/999/revoke", "/settings/oauth-apps/nope",
                 "/settings/oauth-apps/http/delete", "/settings/users/99999999999999999999/role"):
        response = admin.post(path, data={"role": "viewer"})
        assert response.status_code == 404, path
        assert "Back to the dashboard" in text(response), path
    assert admin.get("/settings/oauth-apps/nope").status_code == 404
    assert admin.get("/settings/oauth-apps/http").status_code == 404  # no OAuth2


# -- API keys --------------------------------------------------------------------------------


def test_a_key_is_shown_once_works_and_stops_working_when_revoked(app, admin, client):
    response = admin.post("/settings/keys", data={"name": "ci-deploy", "role": "viewer", "expires_at": ""})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    html = text(response)
    plain = SECRET.search(html).group(1)
    assert plain.startswith("atom_") and 'data-copy="#secret-once"' in html
    api = app.test_client()
    auth = {"Authorization": f"Bearer {plain}"}
    assert api.get("/api/v2/connections", headers=auth).status_code == 200
    listing = text(admin.get("/settings/keys"))
    assert plain not in listing
    assert f"<code>{plain[:12]}…</code>" in listing and "ci-deploy" in listing
    for later in ("/settings/audit", "/settings"):
        assert plain not in text(admin.get(later))
    with app.app_context():
        key_id = db.session.execute(db.select(ApiKey.id).filter_by(name="ci-deploy")).scalar_one()
    revoked = admin.post(f"/settings/keys/{key_id}/revoke")
    assert revoked.status_code == 302 and revoked.headers["Location"] == "/settings/keys"
    listing = text(admin.get("/settings/keys"))
    assert "Revoked the key ci-deploy" in listing and "status-revoked" in listing
    assert f'action="/settings/keys/{key_id}/revoke"' not in listing
    assert api.get("/api/v2/connections", headers=auth).status_code == 401


def test_key_errors_name_the_api_fields_and_keep_what_was_typed(admin):
    empty = admin.post("/settings/keys", data={"name": "", "role": "editor", "expires_at": ""})
    assert empty.status_code == 422
    assert 'id="f-name-error"' in text(empty)
    assert '<option value="editor" selected>' in text(empty).split('id="new-key"')[1]
    past = admin.post("/settings/keys", data={"name": "old", "role": "viewer",
                                              "expires_at": "2001-01-01T00:00"})
    assert past.status_code == 422
    assert "must be in the future" in text(past).split('id="f-expires_at-error">')[1]
    assert 'value="2001-01-01T00:00"' in text(past) and 'value="old"' in text(past)
    role = admin.post("/settings/keys", data={"name": "x", "role": "root"})
    assert role.status_code == 422 and 'id="f-role-error"' in text(role)
    with admin.application.app_context():
        assert db.session.scalar(db.select(db.func.count(ApiKey.id))) == 0


def test_a_key_with_an_expiry_is_stored_in_utc(app, admin):
    when = (utcnow() + timedelta(days=30)).replace(second=0, microsecond=0)
    response = admin.post("/settings/keys", data={"name": "temp", "role": "editor",
                                                  "expires_at": when.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 201
    with app.app_context():
        key = db.session.execute(db.select(ApiKey).filter_by(name="temp")).scalar_one()
        assert key.expires_at == when and key.role == "editor"


def test_no_keys_starts_the_job(admin):
    html = text(admin.get("/settings/keys"))
    assert "No API keys yet" in html and 'href="#new-key"' in html


# -- OAuth apps ------------------------------------------------------------------------------


def test_oauth_apps_are_added_kept_masked_and_deleted_as_the_api_does(app, admin, keys):
    listing = text(admin.get("/settings/oauth-apps"))
    assert "GitHub" in listing and 'href="/settings/oauth-apps/github"' in listing
    no_secret = admin.post("/settings/oauth-apps/github", data={"client_id": "gh-client", "client_secret": ""})
    assert no_secret.status_code == 422
    assert "required when the app is created" in text(no_secret).split('id="f-client_secret-error">')[1]
    assert 'value="gh-client"' in text(no_secret)
    saved = admin.post("/settings/oauth-apps/github", data={"client_id": "gh-client",
                                                            "client_secret": "gh-very-secret"})
    assert saved.status_code == 302
    listing = text(admin.get("/settings/oauth-apps"))
    assert "Added the OAuth app of GitHub" in listing and "<code>gh-client</code>" in listing
    edit = text(admin.get("/settings/oauth-apps/github"))
    assert "gh-very-secret" not in edit and "********" in edit and 'value="gh-client"' in edit
    assert "/oauth/callback" in edit and 'data-copy="#redirect-uri"' in edit
    kept = admin.post("/settings/oauth-apps/github", data={"client_id": "gh-client-2", "client_secret": "",
                                                           "settings": '{"scopes": ["repo"]}'})
    assert kept.status_code == 302
    api = app.test_client().get("/api/v2/oauth-apps/github", headers=keys["admin"]).get_json()
    assert api["client_id"] == "gh-client-2" and api["settings"] == {"scopes": ["repo"]}
    with app.test_request_context():
        assert get_state(app).runtime.oauth_app("github").client_secret == "gh-very-secret"
    bad = admin.post("/settings/oauth-apps/github", data={"client_id": "x", "settings": "{nope"})
    assert bad.status_code == 422 and "not valid JSON" in text(bad)
    assert "{nope" in text(bad)
    bad_scopes = admin.post("/settings/oauth-apps/github", data={"client_id": "x", "settings": '{"scopes": "repo"}'})
    assert bad_scopes.status_code == 422
    assert text(bad_scopes).split('id="f-settings-error">')[1].startswith("scopes: a list of")
    deleted = admin.post("/settings/oauth-apps/github/delete")
    assert deleted.status_code == 302
    assert app.test_client().get("/api/v2/oauth-apps/github", headers=keys["admin"]).get_json()["configured"] is False
    again = admin.post("/settings/oauth-apps/github/delete")
    assert again.status_code == 404 and "no OAuth app for github" in text(again)


# -- the audit log ---------------------------------------------------------------------------


def test_the_audit_log_filters_and_pages_keeping_the_filters(app, admin):
    with app.app_context():
        for i in range(30):
            record("script@example.com", "key.create", f"key:{i}", name=f"k{i}")
        record("bob@example.com", "user.update", "user:7", role="editor")
        db.session.commit()
    everything = text(admin.get("/settings/audit"))
    assert "user.update" in everything and "Page 1 of 2" in everything
    only = admin.get("/settings/audit?action=key.create&actor=script@example.com")
    html = text(only)
    assert only.status_code == 200 and "user.update</code>" not in html and "key:29" in html
    assert "Page 1 of 2" in html
    nxt = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "action=key.create" in nxt and "page=2" in nxt
    page2 = text(admin.get(nxt))
    assert "key:0<" in page2 and "key:29<" not in page2
    target = text(admin.get("/settings/audit?subject=user:7"))
    assert "role" in target and "editor" in target and "key:3<" not in target
    none = text(admin.get("/settings/audit?actor=nobody"))
    assert "No audit event matches these filters" in none


def test_a_bad_time_filter_is_named_and_kept(admin):
    response = admin.get("/settings/audit?since=yesterday&actor=alice")
    assert response.status_code == 422
    html = text(response)
    assert 'id="f-since-error"' in html and 'value="yesterday"' in html and 'value="alice"' in html


def test_the_time_range_filters(app, admin):
    with app.app_context():
        db.session.add(AuditEvent(actor="old", action="x.old", subject="s:1", detail={},
                                  ts=utcnow() - timedelta(days=10)))
        db.session.add(AuditEvent(actor="new", action="x.new", subject="s:2", detail={}))
        db.session.commit()
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    html = text(admin.get(f"/settings/audit?since={since}"))
    assert "x.new</code>" in html and "x.old</code>" not in html
    html = text(admin.get(f"/settings/audit?until={since}"))
    assert "x.old</code>" in html and "x.new</code>" not in html


# -- the API docs ----------------------------------------------------------------------------


def test_the_api_docs_need_a_sign_in(client):
    response = client.get("/api/docs")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/api/openapi.json").status_code == 200  # the document stays public


def test_the_api_docs_page_uses_the_vendored_swagger_ui_in_the_layout(app, admin):
    add_user(app, "val@example.com", "viewer")
    for client in (admin, signed_in(app, "val@example.com")):
        response = client.get("/api/docs")
        assert response.status_code == 200
        html = text(response)
        one_h1(html)
        assert '<a href="/api/docs" aria-current="page">API</a>' in html
        assert 'data-spec="/api/openapi.json"' in html and 'name="csrf-token"' in html
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
        assert "/static/atom/vendor/swagger-ui/swagger-ui-bundle.js" in scripts
        assert "/static/atom/apidocs.js" in scripts
        assert not re.search(r"<script(?![^>]*src=)", html)  # no inline script
        for asset in scripts + re.findall(r'<link[^>]+href="([^"]+)"', html):
            assert asset.startswith("/") and client.get(asset).status_code == 200, asset
    js = text(admin.get("/static/atom/apidocs.js"))
    assert "X-CSRFToken" in js and "requestInterceptor" in js


def test_the_openapi_document_declares_path_parameters_and_bodies(client):
    spec = client.get("/api/openapi.json").get_json()
    for path, item in spec["paths"].items():
        wanted = set(re.findall(r"\{([^}]+)\}", path))
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            declared = {p["name"] for p in operation.get("parameters", []) + item.get("parameters", [])
                        if p.get("in") == "path"}
            assert declared == wanted, (method, path)
    for method, path in (("post", "/api/v2/keys"), ("post", "/api/v2/users"),
                         ("patch", "/api/v2/users/{user_id}"), ("put", "/api/v2/oauth-apps/{integration}")):
        body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert body.get("$ref"), (method, path)
