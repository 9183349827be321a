"""Rotating refresh tokens across processes: two apps (two "processes", each with its own
ConnectionRuntime) share one database, and the local authorization server of
tests/atom/api/oauth_fakes.py rotates refresh tokens and refuses a reused one.

Without the lock and the re-read, the second process would send the refresh token the first one
had just used, be refused, and mark a healthy connection for re-authorisation.
"""
from __future__ import annotations

import threading
import time

import pytest
import requests

from atom.extensions import db
from atom.models import Connection
from atom.state import get_state
from tests.atom.api.oauth_fakes import CLIENT_ID
from tests.atom.api.oauth_fakes import CLIENT_SECRET
from tests.atom.api.oauth_fakes import PLUGINS
from tests.atom.api.oauth_fakes import FakeAuthorizationServer
from tests.conftest import make_key
from tests.fakes import FakeClock
from tests.fakes import FakeServer


@pytest.fixture
def vendor():
    with FakeServer() as server:
        yield FakeAuthorizationServer(server, rotating=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def processes(request, monkeypatch, tmp_path, vendor, clock):
    """Two apps on one database with the fake's OAuth app configured: ``(a, b)``. Their
    runtimes share one clock, so tokens expire in both at once."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    config = {"PLUGINS": PLUGINS, "OAUTH_ACME_CLIENT_ID": CLIENT_ID,
              "OAUTH_ACME_CLIENT_SECRET": CLIENT_SECRET,
              "OAUTH_ACME_SETTINGS": {"auth_base": vendor.url}}
    if request.param == "postgresql":
        # First, so the database is dropped after the apps are done with it.
        config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("pg_url")
    app_factory = request.getfixturevalue("app_factory")
    apps = app_factory(**config), app_factory(**config)
    for app in apps:
        get_state(app).runtime.clock = clock
    return apps


def _connection(app, vendor, **overrides) -> int:
    """A connection whose access token has expired (refresh due) and refresh token is fresh."""
    tokens = vendor.issue()
    clock = get_state(app).runtime.clock
    creds = {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
             "expires_at": clock.time() - 10, **overrides}
    response = app.test_client().post("/api/v2/connections", headers={
        "Authorization": f"Bearer {make_key(app, 'editor')}"}, json={
        "integration": "acme", "label": "acme", "settings": {"base_url": vendor.url},
        "credentials": creds})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _run(app, conn_id: int):
    """Run the action in ``app``'s process; return its output or the error raised."""
    with app.app_context():
        conn = db.session.get(Connection, conn_id)
        try:
            return get_state(app).runtime.run_action(conn, "whoami", {}).output
        except Exception as exc:  # returned for the assertion
            return exc


def _build(app, conn_id: int) -> None:
    with app.app_context():
        get_state(app).runtime.integration(db.session.get(Connection, conn_id))


def _row(app, conn_id: int) -> tuple[dict, str]:
    with app.app_context():
        row = db.session.get(Connection, conn_id)
        return get_state(app).vault.decrypt(row.credentials_encrypted), row.status


def test_a_rotation_by_one_process_is_adopted_by_the_other(processes, vendor):
    a, b = processes
    conn_id = _connection(a, vendor)
    first, _ = _row(a, conn_id)
    _build(b, conn_id)  # b holds the first refresh token in memory

    assert _run(a, conn_id)["user"] == "mia"  # a refreshes: a new pair is stored
    rotated, status = _row(a, conn_id)
    assert rotated["refresh_token"] != first["refresh_token"] and status == "active"
    assert _run(b, conn_id)["user"] == "mia"  # b adopts it: no second exchange

    assert len(vendor.token_requests("refresh_token")) == 1
    stored, status = _row(b, conn_id)
    assert stored["refresh_token"] == rotated["refresh_token"] and status == "active"
    assert set(stored) == {"access_token", "refresh_token", "expires_at", "token_type", "scope"}
    # The old refresh token works no more at the vendor.
    reused = requests.post(vendor.url + "/token", timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_concurrent_refreshes_in_two_processes_exchange_once(processes, vendor):
    a, b = processes
    conn_id = _connection(a, vendor)
    _build(a, conn_id)
    _build(b, conn_id)
    vendor.delay = 0.3  # the first exchange is still running when the second process wants one
    barrier = threading.Barrier(2, timeout=5)
    results: list = []

    def work(app):
        barrier.wait()
        results.append(_run(app, conn_id))

    threads = [threading.Thread(target=work, args=(app,)) for app in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    assert [r["user"] for r in results] == ["mia", "mia"], results
    assert len(vendor.token_requests("refresh_token")) == 1
    stored, status = _row(a, conn_id)
    assert vendor.refresh_tokens[stored["refresh_token"]] is True and status == "active"


def test_each_rotation_is_stored_with_its_access_token(processes, vendor, clock):
    a, b = processes
    conn_id = _connection(a, vendor)
    seen = []
    for app in (a, b, a, b):
        assert _run(app, conn_id)["user"] == "mia"
        clock.advance(3600)  # every token held anywhere is due again
        stored, _ = _row(app, conn_id)
        assert vendor.access_tokens[stored["access_token"]] > time.time()
        seen.append(stored["refresh_token"])
    assert len(set(seen)) == 4  # every refresh rotated, and each new pair was stored
    assert len(vendor.token_requests("refresh_token")) == 4


def test_a_refused_refresh_marks_the_connection_for_reauthorisation(processes, vendor):
    a, _ = processes
    conn_id = _connection(a, vendor)
    stored, _ = _row(a, conn_id)
    vendor.refresh_tokens[stored["refresh_token"]] = False  # revoked at the vendor

    error = _run(a, conn_id)

    assert getattr(error, "code", None) == "auth"
    assert "re-authorise" in error.message
    assert _row(a, conn_id)[1] == "needs_reauth"


def test_the_oauth_apps_secret_is_never_stored_with_the_tokens(processes, vendor):
    a, _ = processes
    conn_id = _connection(a, vendor)
    assert _run(a, conn_id)["user"] == "mia"
    form = vendor.token_requests("refresh_token")[0].form()
    assert form["client_secret"] == CLIENT_SECRET  # sent to the token URL ...
    stored, _ = _row(a, conn_id)
    assert "client_secret" not in stored and "client_id" not in stored  # ... never stored
    with a.app_context():
        row = db.session.get(Connection, conn_id)
        assert CLIENT_SECRET not in get_state(a).vault.decrypt_text(row.credentials_encrypted)


def test_a_reauthorisation_during_a_refresh_is_kept(processes, vendor, clock):
    """A change made while a refresh runs (a user re-authorised) is not overwritten."""
    a, _ = processes
    conn_id = _connection(a, vendor)
    replacement = vendor.issue()
    vendor.delay = 0.3
    worker = threading.Thread(target=lambda: _run(a, conn_id))
    worker.start()
    time.sleep(0.1)
    with a.app_context():
        row = db.session.get(Connection, conn_id)
        row.credentials_encrypted = get_state(a).vault.encrypt(
            {"access_token": replacement["access_token"],
             "refresh_token": replacement["refresh_token"], "expires_at": clock.time() + 3600})
        db.session.commit()
    worker.join(timeout=10)
    stored, _ = _row(a, conn_id)
    assert stored["refresh_token"] == replacement["refresh_token"]
