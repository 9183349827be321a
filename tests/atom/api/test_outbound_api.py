"""The outbound address policy through the API (issue 7, item 3): a known-denied base URL is a
422 at save, and a stored connection run under a stricter policy fails with ``blocked``,
without being retried and without anything reaching the address."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from atom.extensions import db
from atom.models import CallRecord
from atom.models import Connection
from atom.settings import ConfigError
from atom.state import get_state
from tests.conftest import make_key
from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def fake():
    with FakeServer() as server:
        server.always("/ping", reply(200, {"ok": True}))
        server.always("/items", reply(200, {"items": []}))
        yield server


@pytest.fixture
def strict(app_factory, monkeypatch, tmp_path):
    """A production-like app (private and loopback denied) on the test database."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    return app_factory(OUTBOUND_ALLOW_PRIVATE=False)


def _editor(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(app, 'editor')}"}


def _create(client, headers, settings, integration="http", credentials=None):
    return client.post("/api/v2/connections", headers=headers, json={
        "integration": integration, "label": "target", "settings": settings,
        "credentials": credentials if credentials is not None else {"auth": "bearer", "token": "t0k"},
    })


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count(Connection.id)))


# -- at save -------------------------------------------------------------------------------------


def test_creating_a_connection_to_loopback_under_the_strict_policy_is_422(strict, fake):
    client = strict.test_client()
    response = _create(client, _editor(strict), {"base_url": fake.url, "health_path": "/ping"})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    (reason,) = body["errors"]["settings"]["base_url"]
    assert "127.0.0.1 is loopback: denied by the outbound policy" in reason
    assert isinstance(body["code"], str)
    assert _count(strict) == 0
    assert fake.count() == 0


@pytest.mark.parametrize("base_url", ["http://169.254.169.254/latest", "http://[fe80::1]/",
                                      "http://2852039166/",
                                      "http://0.0.0.0:8080/"])
def test_creating_a_connection_to_cloud_metadata_is_422_even_in_testing(client, keys, base_url):
    response = _create(client, keys["editor"], {"base_url": base_url})
    assert response.status_code == 422, response.get_json()
    assert "denied by the outbound policy" in response.get_json()["errors"]["settings"]["base_url"][0]


def test_updating_the_base_url_to_a_denied_address_is_422_and_changes_nothing(
        app, client, keys, create_connection, fake):
    conn = create_connection("http", {"base_url": fake.url}, {"auth": "bearer", "token": "t0k"})
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"], json={
        "settings": {"base_url": "http://169.254.169.254/"},
        "credentials": {"auth": "bearer", "token": "t0k"}})
    assert response.status_code == 422
    assert "base_url" in response.get_json()["errors"]["settings"]
    with app.app_context():
        assert db.session.get(Connection, conn["id"]).settings["base_url"] == fake.url


def test_a_computed_base_url_is_checked_too(client, keys):
    """Jira's URL comes from ``settings.site``; the URL it makes is what is checked."""
    response = _create(client, keys["editor"], {"site": "169.254.169.254"}, integration="jira",
                       credentials={"email": "a@example.com", "api_token": "t"})
    assert response.status_code == 422, response.get_json()
    assert "link-local" in response.get_json()["errors"]["settings"]["base_url"][0]


def test_a_host_that_does_not_resolve_is_allowed_at_save(strict):
    """Unknown is not denied: the check at connect time still applies."""
    response = _create(strict.test_client(), _editor(strict), {"base_url": "http://nowhere.invalid"})
    assert response.status_code == 201, response.get_json()


def test_the_operator_can_allow_an_address(app_factory, monkeypatch, tmp_path, fake):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("ATOM_OUTBOUND_ALLOW", "127.0.0.1/32, localhost")
    app = app_factory(OUTBOUND_ALLOW_PRIVATE=False)
    response = _create(app.test_client(), _editor(app), {"base_url": fake.url})
    assert response.status_code == 201, response.get_json()


def test_the_operator_can_deny_an_address_that_testing_allows(app_factory, monkeypatch, tmp_path,
                                                              fake):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("ATOM_OUTBOUND_DENY", '["127.0.0.0/8"]')
    app = app_factory()
    response = _create(app.test_client(), _editor(app), {"base_url": fake.url})
    assert response.status_code == 422
    assert "ATOM_OUTBOUND_DENY" in response.get_json()["errors"]["settings"]["base_url"][0]


# -- at run time ---------------------------------------------------------------------------------


def test_a_connection_saved_while_allowed_is_blocked_under_the_strict_policy(
        app, create_connection, fake, strict):
    conn = create_connection("http", {"base_url": fake.url, "health_path": "/ping"},
                             {"auth": "bearer", "token": "t0k"})
    client, headers = strict.test_client(), _editor(strict)

    action = client.post(f"/api/v2/connections/{conn['id']}/actions/get", headers=headers,
                         json={"path": "/items"})
    test = client.post(f"/api/v2/connections/{conn['id']}/test", headers=headers)

    assert action.status_code == 422, action.get_json()
    assert action.get_json()["code"] == "blocked"
    assert "127.0.0.1 is loopback: denied by the outbound policy" in action.get_json()["message"]
    assert test.status_code == 200
    assert (test.get_json()["ok"], test.get_json()["error_class"]) == (False, "blocked")
    assert fake.count() == 0
    get_state(strict).recorder.flush()
    with strict.app_context():
        rows = db.session.scalars(select(CallRecord).order_by(CallRecord.id)).all()
    assert [(r.error_class, r.attempts) for r in rows] == [("blocked", 1), ("blocked", 1)]


def test_the_same_connection_runs_under_the_testing_policy(app, client, keys, create_connection,
                                                           fake):
    conn = create_connection("http", {"base_url": fake.url, "health_path": "/ping"},
                             {"auth": "bearer", "token": "t0k"})
    test = client.post(f"/api/v2/connections/{conn['id']}/test", headers=keys["editor"])
    assert test.get_json()["ok"] is True
    assert fake.count("/ping") == 1


# -- start-up ------------------------------------------------------------------------------------


def test_start_up_warns_when_private_addresses_are_allowed(app_factory, caplog):
    with caplog.at_level(logging.WARNING, logger="atom"):
        app_factory()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and "outbound" in r.getMessage().lower()]
    assert len(warnings) == 1
    assert "ATOM_OUTBOUND_ALLOW_PRIVATE" in warnings[0]
    assert "link-local" in warnings[0]


def test_start_up_is_quiet_under_the_strict_policy(app_factory, caplog):
    with caplog.at_level(logging.WARNING, logger="atom"):
        app_factory(OUTBOUND_ALLOW_PRIVATE=False)
    assert not [r for r in caplog.records if "outbound" in r.getMessage().lower()]


def test_production_denies_private_addresses_by_default(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(ENV_NAME="production", SECRET_KEY="s" * 40)
    assert app.config["OUTBOUND_ALLOW_PRIVATE"] is False
    assert get_state(app).outbound.allow_private is False


def test_a_malformed_outbound_setting_stops_the_start(app_factory, monkeypatch):
    monkeypatch.setenv("ATOM_OUTBOUND_ALLOW", "10.0.0.0/99")
    with pytest.raises(ConfigError, match="OUTBOUND_ALLOW"):
        app_factory()


def test_the_proxy_setting_reaches_every_client(app, create_connection, fake, monkeypatch,
                                                tmp_path, app_factory):
    monkeypatch.setenv("ATOM_HTTP_PROXY", "http://127.0.0.1:3128")
    proxied = app_factory()
    assert get_state(proxied).outbound.proxy == "http://127.0.0.1:3128"
    conn = create_connection("http", {"base_url": fake.url})
    with proxied.app_context():
        row = db.session.get(Connection, conn["id"])
        session = get_state(proxied).runtime.integration(row).http.session
    assert session.proxies == {"http": "http://127.0.0.1:3128", "https": "http://127.0.0.1:3128"}
    assert session.trust_env is False
