"""Connection pages: the list, the catalogue, the generated add/edit forms, a connection's page
(test, actions, webhook secret, uptime, charts, alerts, maintenance), delete, and the home
page's overview and empty states."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from atom.extensions import db
from atom.models import Alert
from atom.models import AuditEvent
from atom.models import CallRecord
from atom.models import Connection
from atom.models import HealthSample
from atom.models import MaintenanceWindow
from atom.models import User
from atom.models import Workflow
from atom.models import WorkflowVersion
from atom.models.base import utcnow
from tests.fakes import FakeServer
from tests.fakes import reply

SECRET = "tok-very-secret-value-1234567890"


@pytest.fixture
def fake():
    with FakeServer() as server:
        server.always("/health", reply(200, {"ok": True}))
        yield server


def html(response) -> str:
    return response.get_data(as_text=True)


def add_http(client, base_url, label="Billing API", **extra):
    data = {"label": label, "settings.base_url": base_url, "settings.health_path": "/health",
            "settings.max_attempts": "1", "credentials.auth": "bearer", "credentials.token": SECRET,
            "enabled": "on", **extra}
    return client.post("/connections/new/http", data=data)


def add_workflow(name: str, conn_id: int, enabled: bool = True) -> Workflow:
    """A workflow whose step uses the connection (inside an app context)."""
    wf = Workflow(name=name, enabled=enabled, trigger_type="manual")
    db.session.add(wf)
    db.session.flush()
    db.session.add(WorkflowVersion(workflow_id=wf.id, version=1, definition={
        "name": name, "trigger": {"type": "manual"},
        "steps": [{"id": "a", "type": "action", "connection": conn_id, "action": "get"}]}))
    db.session.commit()
    return wf


def conn_id_of(response) -> int:
    return int(re.search(r"/connections/(\d+)$", response.headers["Location"]).group(1))


# -- list -------------------------------------------------------------------------------------


def test_the_list_starts_empty_with_a_button_to_the_catalogue(signed_in):
    page = html(signed_in.get("/connections"))
    assert "No connections yet" in page
    assert 'href="/connections/catalogue"' in page and "Add a connection" in page
    assert "curl" not in page


def test_the_list_shows_health_and_filters_by_search_integration_and_status(app, signed_in,
                                                                            create_connection):
    a = create_connection("http", {"base_url": "http://127.0.0.1:1"}, label="Billing API")
    create_connection("http", {"base_url": "http://127.0.0.1:2"}, label="Orders API")
    with app.app_context():
        row = db.session.get(Connection, a["id"])
        row.last_test_at, row.last_test_ok, row.last_error_class = utcnow(), False, "timeout"
        row.last_test_latency_ms = 1234.0
        db.session.commit()
    page = html(signed_in.get("/connections"))
    assert "Billing API" in page and "Orders API" in page
    assert "timeout" in page and "1234 ms" in page
    assert html(signed_in.get("/connections?q=orders")).count("/connections/") >= 1
    assert "Billing API" not in html(signed_in.get("/connections?q=orders"))
    assert "No connection matches" in html(signed_in.get("/connections?integration=slack"))
    # The last test failed and nothing newer is known: down, not "active".
    down = html(signed_in.get("/connections?status=down"))
    assert "Billing API" in down and "Orders API" not in down
    fragment = html(signed_in.get("/connections?q=billing", headers={"HX-Request": "true"}))
    assert "<html" not in fragment and "Billing API" in fragment


def test_a_connection_with_a_health_score_of_zero_is_down_not_active(app, signed_in,
                                                                     create_connection):
    conn = create_connection("http", {"base_url": "http://127.0.0.1:1"}, label="Dead API")
    with app.app_context():
        now = utcnow()
        for i in range(6):
            ts = now - timedelta(seconds=10 * (i + 1))
            db.session.add(HealthSample(ts=ts, connection_id=conn["id"], integration="http",
                                        ok=False, latency_ms=50.0, error_class="upstream"))
            db.session.add(CallRecord(ts=ts, integration="http", connection_id=conn["id"],
                                      operation="health", status=500, ok=False, latency_ms=50.0,
                                      attempts=1, error_class="upstream"))
        db.session.commit()
        assert db.session.get(Connection, conn["id"]).status == "active"  # the stored word
    for path in ("/connections", f"/connections/{conn['id']}", "/"):
        page = html(signed_in.get(path))
        assert 'status-down">down' in page, path
        assert 'status-active' not in page, path
    detail = html(signed_in.get(f"/connections/{conn['id']}"))
    assert re.search(r'score-bad">0<', detail)


# -- catalogue --------------------------------------------------------------------------------


def test_the_catalogue_searches_and_filters_by_category(signed_in):
    page = html(signed_in.get("/connections/catalogue"))
    assert "HTTP / REST" in page and "Slack" in page
    generic = html(signed_in.get("/connections/catalogue?category=generic"))
    assert "HTTP / REST" in generic and "Slack" not in generic
    found = html(signed_in.get("/connections/catalogue?q=webhook"))
    assert "HTTP / REST" in found
    assert "No installed integration matches" in html(signed_in.get("/connections/catalogue?q=zzzz-nothing"))


def test_an_integration_page_lists_its_actions_and_triggers_from_the_manifest(signed_in):
    page = html(signed_in.get("/connections/catalogue/http"))
    assert "Send a request" in page and "POST/PATCH are retried only with an idempotency key" in page
    assert "webhook_received" in page and "X-Signature-256" in page
    assert 'href="/connections/new/http"' in page
    assert signed_in.get("/connections/catalogue/nope").status_code == 404


# -- add --------------------------------------------------------------------------------------


def test_the_add_form_is_generated_from_the_schemas(signed_in):
    page = html(signed_in.get("/connections/new/http"))
    assert 'name="settings.base_url"' in page and 'type="url"' in page
    assert 'name="credentials.token"' in page
    assert re.search(r'type="password"[^>]*name="credentials.token"|name="credentials.token"[^>]*type="password"',
                     page) or 'type="password" id="f-credentials-token"' in page
    assert '<select id="f-credentials-auth" name="credentials.auth"' in page
    assert 'value="bearer"' in page and 'value="none" selected' in page
    assert 'name="settings.connect_timeout_s"' in page  # the advanced, common settings
    assert '<label for="f-settings-base_url">' in page


def test_adding_saves_through_the_api_code_path_and_masks_the_secret(app, signed_in, fake):
    response = add_http(signed_in, fake.url)
    assert response.status_code == 302
    conn_id = conn_id_of(response)
    with app.app_context():
        row = db.session.get(Connection, conn_id)
        assert row.settings == {"base_url": fake.url, "health_path": "/health", "max_attempts": 1}
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
        assert "connection.create" in actions
    page = html(signed_in.get(f"/connections/{conn_id}"))
    assert "Billing API" in page and SECRET not in page and "********" in page
    assert "7890" in page  # the mask keeps the last four characters of long secrets


def test_a_validation_error_names_the_field_and_keeps_what_was_typed(signed_in):
    response = signed_in.post("/connections/new/http", data={
        "label": "Typed label", "settings.base_url": "not a url", "settings.health_path": "/ping",
        "credentials.auth": "bearer", "credentials.token": "", "credentials.username": "kept-user"})
    assert response.status_code == 422
    page = html(response)
    assert 'id="f-settings-base_url-error"' in page and "Not a valid URL" in page
    assert 'id="f-credentials-token-error"' in page and "required when auth is bearer" in page
    assert 'value="Typed label"' in page and 'value="/ping"' in page and 'value="kept-user"' in page
    assert 'value="not a url"' in page
    assert 'value="bearer" selected' in page


def test_a_secret_typed_into_a_refused_form_is_not_sent_back(signed_in):
    response = signed_in.post("/connections/new/http", data={
        "label": "", "settings.base_url": "http://127.0.0.1:9", "credentials.auth": "bearer",
        "credentials.token": SECRET})
    assert response.status_code == 422
    assert SECRET not in html(response)
    assert 'id="f-label-error"' in html(response)


def test_invalid_json_and_unknown_integrations(signed_in):
    assert signed_in.get("/connections/new/nope").status_code == 404
    # Every validation message names a field of the form (no 500 for odd input).
    response = signed_in.post("/connections/new/http", data={
        "label": "x", "settings.base_url": "http://127.0.0.1:9", "settings.max_attempts": "lots"})
    assert response.status_code == 422 and 'id="f-settings-max_attempts-error"' in html(response)


def test_oauth2_integrations_offer_connect_or_say_what_is_missing(app, signed_in):
    page = html(signed_in.get("/connections/new/gmail"))
    assert "Connect with Gmail" in page
    assert "OAuth app is not set up yet" in page and "#oauth-app" in page
    # An admin registers the app on the integration page; then the button posts to the flow.
    response = signed_in.post("/connections/catalogue/gmail/oauth-app",
                              data={"client_id": "cid-123", "client_secret": "csecret-xyz"})
    assert response.status_code == 302
    page = html(signed_in.get("/connections/new/gmail"))
    assert 'action="/oauth/start/gmail"' in page and "<button>Connect with Gmail</button>" in page
    integration = html(signed_in.get("/connections/catalogue/gmail"))
    assert "configured" in integration and "csecret-xyz" not in integration and "cid-123" in integration


def test_an_admin_removes_a_stored_oauth_app(app, signed_in, user_client):
    signed_in.post("/connections/catalogue/gmail/oauth-app",
                   data={"client_id": "cid-123", "client_secret": "csecret-xyz"})
    assert "Remove the OAuth app" in html(signed_in.get("/connections/catalogue/gmail"))
    editor = user_client("editor")
    assert "Remove the OAuth app" not in html(editor.get("/connections/catalogue/gmail"))
    assert editor.post("/connections/catalogue/gmail/oauth-app/delete").status_code == 403
    done = signed_in.post("/connections/catalogue/gmail/oauth-app/delete")
    assert done.status_code == 302
    page = html(signed_in.get("/connections/catalogue/gmail"))
    assert "Removed the OAuth app" in page and "not configured" in page
    again = signed_in.post("/connections/catalogue/gmail/oauth-app/delete")
    assert "no OAuth app for gmail" in html(signed_in.get(again.headers["Location"]))


def test_the_oauth_app_form_validates_like_the_api(signed_in):
    response = signed_in.post("/connections/catalogue/gmail/oauth-app",
                              data={"client_id": "cid", "client_secret": ""})
    assert response.status_code == 422
    assert 'id="app-client_secret-error"' in html(response) and 'value="cid"' in html(response)
    bad = signed_in.post("/connections/catalogue/gmail/oauth-app",
                         data={"client_id": "cid", "client_secret": "s", "settings": "{nope"})
    assert bad.status_code == 422 and 'id="app-settings-error"' in html(bad)


# -- one connection ---------------------------------------------------------------------------


def test_test_shows_ok_and_latency_inline_then_the_error_class(app, signed_in, fake):
    conn_id = conn_id_of(add_http(signed_in, fake.url))
    ok = signed_in.post(f"/connections/{conn_id}/test", headers={"HX-Request": "true"})
    assert ok.status_code == 200
    fragment = html(ok)
    assert "<html" not in fragment and "Test passed" in fragment and " ms" in fragment
    fake.script("/health", reply(500, {"error": "boom"}))
    bad = html(signed_in.post(f"/connections/{conn_id}/test", headers={"HX-Request": "true"}))
    assert "Test failed" in bad and 'class="error-class">upstream<' in bad
    row = signed_in.post(f"/connections/{conn_id}/test?row=1", headers={"HX-Request": "true"})
    assert html(row).startswith("\n<tr") or html(row).lstrip().startswith("<tr")
    # The row is fresh: the last test passed, but one of the three checks failed.
    assert "✓ ok" in html(row) and "status-unhealthy" in html(row)
    # The page's figures come along, swapped out of band: 4 checks, 3 passed.
    again = html(signed_in.post(f"/connections/{conn_id}/test", headers={"HX-Request": "true"}))
    assert 'id="conn-summary" hx-swap-oob="true"' in again and "75%" in again and "4 checks" in again
    # So do the details' figures and the charts, with this test's call in them (a page loaded
    # before the first test said "No calls in this period yet").
    assert 'id="conn-details" hx-swap-oob="true"' in again
    assert re.search(r"Success rate</dt><dd>75\.0% of 4 in the last \d+ min", again), again
    assert 'id="conn-charts" hx-swap-oob="true"' in again and "No calls in this period" not in again
    charts = re.findall(r"data-chart='([^']*)'", again)
    assert len(charts) == 2
    import json
    success = json.loads(charts[1].replace("&#34;", '"'))["series"][0]["values"]
    assert [v for v in success if v is not None]  # this hour's (and, past an hour, the last one's)
    week = html(signed_in.post(f"/connections/{conn_id}/test?range=7d", headers={"HX-Request": "true"}))
    assert len(json.loads(re.findall(r"data-chart='([^']*)'", week)[0].replace("&#34;", '"'))["x"]) == 24 * 7
    # Without htmx: back to the page with a message.
    plain = signed_in.post(f"/connections/{conn_id}/test")
    assert plain.status_code == 302 and "Test passed" in html(signed_in.get(plain.headers["Location"]))


def test_the_page_shows_uptime_charts_alerts_maintenance_and_users(app, signed_in, fake):
    conn_id = conn_id_of(add_http(signed_in, fake.url))
    with app.app_context():
        now = utcnow()
        for i, ok in enumerate((True, True, True, False)):
            db.session.add(HealthSample(ts=now - timedelta(minutes=i + 1), connection_id=conn_id,
                                        integration="http", ok=ok, latency_ms=20.0))
            db.session.add(CallRecord(ts=now - timedelta(minutes=i + 1), integration="http",
                                      connection_id=conn_id, operation="health",
                                      status=200 if ok else 500, ok=ok, latency_ms=20.0 + i,
                                      attempts=1))
        db.session.add(Alert(rule="success_rate", subject=f"connection:{conn_id}",
                             integration="http", connection_id=conn_id, severity="warning",
                             message="success rate 75% below 95%"))
        db.session.add(MaintenanceWindow(connection_id=conn_id, starts_at=now - timedelta(hours=1),
                                         ends_at=now + timedelta(hours=1), reason="vendor upgrade"))
        db.session.commit()
        add_workflow("Uses billing", conn_id)
    page = html(signed_in.get(f"/connections/{conn_id}"))
    assert "Uptime 24 h" in page and "Uptime 7 d" in page and "Uptime 30 d" in page
    assert "75%" in page and "4 checks" in page
    assert page.count("data-chart=") == 2 and "uPlot.iife.min.js" in page
    assert "success rate 75% below 95%" in page and "vendor upgrade" in page
    assert "Uses billing" in page
    assert f"/hooks/http/{conn_id}" in page
    week = html(signed_in.get(f"/connections/{conn_id}?range=7d"))
    assert week.count("data-chart=") == 2


def test_edit_keeps_a_blank_secret_and_a_new_destination_needs_it_again(app, signed_in, fake):
    conn_id = conn_id_of(add_http(signed_in, fake.url))
    form = html(signed_in.get(f"/connections/{conn_id}/edit"))
    assert SECRET not in form and "Leave blank to keep it" in form
    assert f'value="{fake.url}"' in form
    data = {"label": "Renamed", "settings.base_url": fake.url, "settings.health_path": "/health",
            "settings.max_attempts": "1", "credentials.auth": "bearer", "credentials.token": ""}
    assert signed_in.post(f"/connections/{conn_id}/edit", data=data).status_code == 302
    with app.app_context():
        from atom.state import get_state

        row = db.session.get(Connection, conn_id)
        assert row.label == "Renamed"
        assert get_state().vault.decrypt(row.credentials_encrypted)["token"] == SECRET
    moved = signed_in.post(f"/connections/{conn_id}/edit",
                           data={**data, "settings.base_url": "http://127.0.0.1:9"})
    assert moved.status_code == 422
    assert 'id="f-credentials-token-error"' in html(moved) and "re-enter this secret" in html(moved)
    assert 'value="http://127.0.0.1:9"' in html(moved)


def test_enable_and_disable(app, signed_in, fake):
    conn_id = conn_id_of(add_http(signed_in, fake.url))
    assert signed_in.post(f"/connections/{conn_id}/enabled", data={"enabled": "0"}).status_code == 302
    with app.app_context():
        assert db.session.get(Connection, conn_id).enabled is False
    page = html(signed_in.get(f"/connections/{conn_id}"))
    assert "status-disabled" in page and ">Enable<" in page
    refused = html(signed_in.post(f"/connections/{conn_id}/test", headers={"HX-Request": "true"}))
    assert "disabled" in refused and "enable it first" in refused
    signed_in.post(f"/connections/{conn_id}/enabled", data={"enabled": "1"})
    with app.app_context():
        assert db.session.get(Connection, conn_id).enabled is True


def test_running_an_action_shows_the_output_or_the_error(app, signed_in, fake):
    conn_id = conn_id_of(add_http(signed_in, fake.url))
    fake.always("/status", reply(200, {"state": "green"}))
    hx = {"HX-Request": "true"}
    out = html(signed_in.post(f"/connections/{conn_id}/actions", headers=hx,
                              data={"action": "get", "input": '{"path": "/status"}'}))
    assert "Done" in out and "green" in out
    invalid = html(signed_in.post(f"/connections/{conn_id}/actions", headers=hx,
                                  data={"action": "get", "input": '{"nope": 1}'}))
    assert "validation" in invalid and "path" in invalid
    broken_json = html(signed_in.post(f"/connections/{conn_id}/actions", headers=hx,
                                      data={"action": "get", "input": "{"}))
    assert "not valid JSON" in broken_json
    fake.always("/down", reply(503, {"error": "maintenance"}))
    upstream = html(signed_in.post(f"/connections/{conn_id}/actions", headers=hx,
                                   data={"action": "get", "input": '{"path": "/down"}'}))
    assert 'class="error-class">upstream<' in upstream and "503" in upstream
    # Without htmx the whole page comes back, the typed input kept and the field named.
    page = signed_in.post(f"/connections/{conn_id}/actions", data={"action": "get", "input": "[1]"})
    assert page.status_code == 422 and "must be a JSON object" in html(page) and "[1]" in html(page)
    example = html(signed_in.get(f"/connections/{conn_id}/actions/example?action=post"))
    assert "deploy.finished" in example
    # An idempotency key reaches the service, as the API's Idempotency-Key header does.
    fake.always("/events", reply(201, {"id": 1}))
    signed_in.post(f"/connections/{conn_id}/actions", headers=hx, data={
        "action": "post", "input": '{"path": "/events", "json": {"a": 1}}', "idempotency_key": "run-42"})
    assert fake.calls("/events")[-1].headers["Idempotency-Key"] == "run-42-1"


def test_the_webhook_secret_is_revealed_only_where_the_api_allows_it(app, signed_in, user_client,
                                                                     fake):
    conn_id = conn_id_of(add_http(signed_in, fake.url))
    page = html(signed_in.get(f"/connections/{conn_id}"))
    assert "Reveal the webhook secret" not in page  # http does not hand its secret over
    refused = html(signed_in.post(f"/connections/{conn_id}/webhook-secret"))
    assert "never shown" in refused
    editor = user_client("editor")
    assert editor.post(f"/connections/{conn_id}/webhook-secret").status_code == 403


def test_the_notion_secret_handed_over_is_revealed_to_admins_and_audited(app, signed_in,
                                                                         create_connection):
    conn = create_connection("notion", {}, {"token": "secret_abcdefghijklmnopqrstuvwxyz"})
    with app.app_context():
        from atom.state import get_state

        row = db.session.get(Connection, conn["id"])
        vault = get_state().vault
        creds = vault.decrypt(row.credentials_encrypted)
        row.credentials_encrypted = vault.encrypt({**creds, "webhook_secret": "handed-over-9876"})
        db.session.commit()
    page = html(signed_in.get(f"/connections/{conn['id']}"))
    assert "Reveal the webhook secret" in page and "handed-over-9876" not in page
    shown = signed_in.post(f"/connections/{conn['id']}/webhook-secret",
                           headers={"HX-Request": "true"})
    assert "handed-over-9876" in html(shown) and shown.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(
            action="connection.webhook_secret_revealed")) == 1


def test_delete_lists_the_workflows_first_and_needs_the_box_ticked(app, signed_in, fake):
    conn_id = conn_id_of(add_http(signed_in, fake.url))
    with app.app_context():
        add_workflow("Nightly billing", conn_id)
    confirm = html(signed_in.get(f"/connections/{conn_id}/delete"))
    assert "Nightly billing" in confirm and 'name="force"' in confirm
    refused = signed_in.post(f"/connections/{conn_id}/delete")
    assert refused.status_code == 409 and "Tick the box" in html(refused)
    done = signed_in.post(f"/connections/{conn_id}/delete", data={"force": "on"})
    assert done.status_code == 302 and done.headers["Location"] == "/connections"
    assert "Disabled 1 workflow" in html(signed_in.get("/connections"))
    with app.app_context():
        assert db.session.get(Connection, conn_id) is None
        assert db.session.scalar(db.select(Workflow.enabled)) is False


def test_a_connection_of_an_integration_no_longer_installed_still_shows(app, signed_in):
    with app.app_context():
        from atom.state import get_state

        row = Connection(integration="gone", label="Old CRM", settings={},
                         credentials_encrypted=get_state().vault.encrypt({"api_key": "k" * 20}))
        db.session.add(row)
        db.session.commit()
        conn_id = row.id
    page = signed_in.get(f"/connections/{conn_id}")
    assert page.status_code == 200
    assert "is not installed" in html(page) and "k" * 20 not in html(page)
    assert signed_in.get(f"/connections/{conn_id}/edit").status_code == 404
    assert "Old CRM" in html(signed_in.get("/connections")) and "Old CRM" in html(signed_in.get("/"))
    assert signed_in.post(f"/connections/{conn_id}/delete").status_code == 302


def test_missing_connections_are_404(signed_in):
    for path in ("/connections/999", "/connections/999/edit", "/connections/999/delete"):
        assert signed_in.get(path).status_code == 404, path
    assert signed_in.post("/connections/999/test").status_code == 404
    assert "Not found" in html(signed_in.get("/connections/999"))


def test_viewers_see_everything_but_cannot_change_anything(app, signed_in, user_client, fake):
    conn_id = conn_id_of(add_http(signed_in, fake.url))
    viewer = user_client("viewer")
    for path in ("/connections", "/connections/catalogue", "/connections/catalogue/http",
                 f"/connections/{conn_id}", "/"):
        page = html(viewer.get(path))
        assert "Billing API" in page or path.startswith("/connections/catalogue"), path
        assert "Add connection" not in page and ">Test" not in page and "Delete" not in page, path
        assert SECRET not in page
    for path, data in ((f"/connections/{conn_id}/test", {}), (f"/connections/{conn_id}/enabled", {"enabled": "0"}),
                       (f"/connections/{conn_id}/delete", {"force": "on"}),
                       ("/connections/new/http", {"label": "x"}),
                       (f"/connections/{conn_id}/actions", {"action": "get", "input": "{}"})):
        assert viewer.post(path, data=data).status_code == 403, path
    with app.app_context():
        assert db.session.get(Connection, conn_id).enabled is True


def test_pages_need_a_sign_in(client):
    for path in ("/connections", "/connections/catalogue", "/connections/new/http"):
        assert client.get(path).headers["Location"].startswith("/login"), path


# -- home -------------------------------------------------------------------------------------


def test_home_with_nothing_offers_a_connection_and_a_template(signed_in):
    page = html(signed_in.get("/"))
    assert "No connections yet" in page and 'href="/connections/catalogue"' in page
    assert "No workflows yet" in page and "Start from a template" in page
    assert "curl" not in page and "POST /api" not in page
    assert "Installed integrations" in page and "HTTP / REST" in page


def test_home_shows_broken_plugins_with_their_reason(app_factory, alice, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "other"))
    app = app_factory(PLUGINS=["http=plugins.http.manifest:MANIFEST",
                               "ghost=plugins.no_such_module.manifest:MANIFEST"],
                      PLUGINS_ENABLED=None, PLUGINS_STRICT=False)
    with app.app_context():
        user = User(email="bob@example.com", role="admin")
        user.set_password("correct horse battery")
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "bob@example.com", "password": "correct horse battery"})
    page = html(client.get("/"))
    assert "ghost" in page and "status-broken" in page
    assert "no_such_module" in page
    assert "ghost" in html(client.get("/connections/catalogue"))
