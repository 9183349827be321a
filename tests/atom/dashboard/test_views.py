"""The home page: behind login, listing integrations and connections with their last test."""
from __future__ import annotations

from atom.extensions import db
from atom.models import Connection
from atom.models import User
from atom.models.base import utcnow


def login(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def test_pages_need_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_wrong_password_is_refused(client, alice):
    response = login(client, alice["email"], "wrong password!")
    assert response.status_code == 401
    assert b"Wrong email or password" in response.data
    assert client.get("/").status_code == 302


def test_home_lists_integrations_and_connections_with_their_last_test(app, client, alice, create_connection):
    conn = create_connection("http", {"base_url": "http://127.0.0.1:1"}, label="Billing API")
    with app.app_context():
        row = db.session.get(Connection, conn["id"])
        row.last_test_at, row.last_test_ok, row.last_error_class = utcnow(), False, "timeout"
        row.last_test_latency_ms = 1234.0
        db.session.commit()
    assert login(client, alice["email"], alice["password"]).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Billing API" in page
    assert "timeout" in page and "1234 ms" in page
    assert "HTTP / REST" in page and "loaded" in page


def test_a_one_time_password_must_be_changed_first(app, client):
    with app.app_context():
        user = User(email="new@example.com", role="admin", must_change_password=True)
        user.set_password("one-time-pass")
        db.session.add(user)
        db.session.commit()
    login(client, "new@example.com", "one-time-pass")
    assert client.get("/").headers["Location"].endswith("/password")
    current = {"current_password": "one-time-pass"}
    assert client.post("/password", data={**current, "password": "short"}).status_code == 422
    assert client.post("/password", data={**current, "password": "a much longer password"}).status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert login(client, "new@example.com", "one-time-pass").status_code == 401


def test_login_does_not_redirect_off_site(client, alice):
    response = client.post("/login?next=//evil.example.com/", data=alice)
    assert response.headers["Location"] == "/"


def test_forms_need_a_csrf_token_when_csrf_is_on(app_factory, alice):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login", data={"email": "a@b.c", "password": "x"})
    assert response.status_code == 400


def test_workflow_pages_show_workflows_and_execution_steps(app, client, alice, keys):
    api = app.test_client()
    wf = api.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "Nightly sync", "trigger": {"type": "manual"},
        "steps": [{"id": "shape", "type": "transform", "mapping": {"n": "trigger.n"}},
                  {"id": "check", "type": "condition", "expression": "steps.shape.output.n > `1`",
                   "depends_on": ["shape"]}]}).get_json()
    ex = api.post(f"/api/v2/ai-workflows/{wf['id']}/execute?wait=10", headers=keys["editor"],
                  json={"n": 3}).get_json()
    assert ex["status"] == "succeeded"
    login(client, alice["email"], alice["password"])
    listing = client.get("/workflows").get_data(as_text=True)
    assert "Nightly sync" in listing and f"#{ex['id']} succeeded" in listing
    detail = client.get(f"/executions/{ex['id']}").get_data(as_text=True)
    assert "shape" in detail and "check" in detail and "succeeded" in detail
    assert client.get("/executions/9999").status_code == 404


def test_an_htmx_poll_after_the_session_ended_sends_the_whole_page_to_the_login(client):
    response = client.get("/executions", headers={"HX-Request": "true",
                                                  "HX-Current-URL": "http://localhost/executions/7?x=1"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=/executions/7?x%3D1" or \
        response.headers["HX-Redirect"].startswith("/login?next=%2Fexecutions%2F7")


def test_a_viewer_posting_gets_the_styled_403_page_with_a_way_back(viewer):
    response = viewer.post("/connections/new/http", data={"label": "x"})
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "<h1>403 Not allowed</h1>" in page and "Back to the dashboard" in page
    assert "editor role" in page


def test_an_unexpected_error_gets_the_styled_500_page_and_is_logged(app_factory, alice, caplog):
    app = app_factory(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("the unexpected")

    app.add_url_rule("/boom", "boom", boom)
    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "<h1>500 Something went wrong</h1>" in page and "Back to the dashboard" in page
    assert "the unexpected" not in page  # no internals shown
    assert "unhandled error on GET /boom" in caplog.text
    api = client.get("/api/v2/no-such-thing", headers={"Accept": "application/json"})
    assert api.status_code in (401, 404) and api.is_json  # the API keeps its JSON errors
