"""``atom keys rotate-encryption`` while a server runs: app A is built and used before the
rotation, app B (the CLI) rotates on the same instance folder and database, and A keeps
reading connections and verifying webhook signatures, because its vault re-reads the key file
or ``ATOM_ENCRYPTION_KEY`` when a token does not decrypt."""
from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from atom import create_app
from atom.cli import main
from atom.extensions import db
from atom.integrations.vault import Vault
from atom.integrations.webhooks import sign_atom
from atom.models import Connection
from atom.models import WorkflowVersion
from atom.state import get_state
from tests.atom.engine.conftest import close_engine
from tests.conftest import make_key
from tests.fakes import FakeServer
from tests.fakes import reply

TOKEN = "tok-rotation-0123456789abcdef"
HOOK_SECRET = "hook-secret-rotation-42"


@pytest.fixture
def fake():
    with FakeServer() as server:
        server.always("/health", reply(200, {"ok": True}))
        yield server


@pytest.fixture
def instance(monkeypatch, tmp_path):
    path = tmp_path / "instance"
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(path))
    monkeypatch.delenv("ATOM_ENCRYPTION_KEY", raising=False)
    return path


@pytest.fixture
def env_app(tmp_path, instance):
    """Apps whose encryption keys come from the environment only (no key in the test config)."""
    apps = []

    def make():
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'atom.db'}",
                          "SECRET_KEY": "test-secret"})
        with app.app_context():
            upgrade()
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_engine(app)
        get_state(app).recorder.close()
        with app.app_context():
            db.engine.dispose()


class Server:
    """App A as its users see it: the REST API and the workflow hook, with an admin key."""

    def __init__(self, app) -> None:
        self.app, self.client = app, app.test_client()
        self.deliveries = 0
        self.headers = {"Authorization": f"Bearer {make_key(app, 'admin')}"}

    def set_up(self, fake) -> tuple[dict, dict]:
        conn = self.client.post("/api/v2/connections", headers=self.headers, json={
            "integration": "http", "label": "api", "settings": {"base_url": fake.url, "health_path": "/health"},
            "credentials": {"auth": "bearer", "token": TOKEN}})
        assert conn.status_code == 201, conn.get_json()
        wf = self.client.post("/api/v2/ai-workflows", headers=self.headers, json={
            "name": "hook", "trigger": {"type": "webhook", "secret": HOOK_SECRET},
            "steps": [{"id": "t", "type": "transform", "mapping": {"v": "trigger.v"}}]})
        assert wf.status_code == 201, wf.get_json()
        return conn.get_json(), wf.get_json()

    def check(self, fake, conn: dict, wf: dict) -> None:
        """Read the connection, test it (its token reaches the service), verify a signed hook."""
        got = self.client.get(f"/api/v2/connections/{conn['id']}", headers=self.headers)
        assert got.status_code == 200, got.get_json()
        assert got.get_json()["credentials"]["token"].startswith("********")
        before = fake.count("/health")
        tested = self.client.post(f"/api/v2/connections/{conn['id']}/test", headers=self.headers)
        assert tested.status_code == 200 and tested.get_json()["ok"] is True, tested.get_json()
        assert fake.count("/health") == before + 1
        assert fake.calls("/health")[-1].headers["Authorization"] == f"Bearer {TOKEN}"
        self.deliveries += 1  # a new body each time: the same signed bytes again would be a replay
        body = json.dumps({"v": self.deliveries}).encode()
        hook = "/hooks/" + wf["webhook_url"].split("/hooks/", 1)[1]
        response = self.client.post(hook, data=body, headers={"Content-Type": "application/json",
                                                              **sign_atom(HOOK_SECRET, body)})
        assert response.status_code == 202, response.get_json()


def _under_only(app, key: str) -> None:
    """Every stored secret decrypts with ``key`` alone: the rotation moved them all."""
    vault = Vault([key])
    with app.app_context():
        for row in db.session.scalars(db.select(Connection)):
            assert vault.decrypt(row.credentials_encrypted)["token"] == TOKEN
        for version in db.session.scalars(db.select(WorkflowVersion)):
            assert vault.decrypt_text(version.definition["trigger"]["secret_encrypted"]) == HOOK_SECRET


def _rotate(app) -> str:
    result = app.test_cli_runner().invoke(main, args=["keys", "rotate-encryption"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_running_server_survives_a_rotation_of_the_generated_key(app_factory, instance, fake):
    a = app_factory(ENCRYPTION_KEY=None)
    try:
        server = Server(a)
        conn, wf = server.set_up(fake)
        server.check(fake, conn, wf)
        old = (instance / "encryption.key").read_text().strip()

        b = app_factory(ENCRYPTION_KEY=None)
        output = _rotate(b)
        assert "1 connection(s) and 1 workflow webhook secret(s)" in output
        new, kept = (instance / "encryption.key").read_text().split(",")
        assert kept == old and new != old  # newest first, the old key still there
        _under_only(b, new)

        server.check(fake, conn, wf)  # A has not been restarted
        later = server.client.post("/api/v2/connections", headers=server.headers, json={
            "integration": "http", "label": "later", "settings": {"base_url": fake.url},
            "credentials": {"auth": "bearer", "token": TOKEN}})
        assert later.status_code == 201
        _under_only(b, new)  # what A writes after re-reading is under the new key too
        # A second rotation keeps only the previous key beside the new one.
        _rotate(b)
        newer, previous = (instance / "encryption.key").read_text().split(",")
        assert previous == new and newer not in (new, old)
        server.check(fake, conn, wf)
    finally:
        close_engine(a)


def test_a_running_server_survives_a_rotation_through_the_environment(env_app, monkeypatch, fake):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("ATOM_ENCRYPTION_KEY", old)
    a = env_app()
    server = Server(a)
    conn, wf = server.set_up(fake)
    server.check(fake, conn, wf)

    monkeypatch.setenv("ATOM_ENCRYPTION_KEY", f"{new},{old}")
    output = _rotate(env_app())
    assert "1 connection(s) and 1 workflow webhook secret(s)" in output
    _under_only(a, new)
    server.check(fake, conn, wf)  # A still started with the old key alone

    monkeypatch.setenv("ATOM_ENCRYPTION_KEY", new)  # the last step: the old key is gone
    restarted = Server(env_app())
    restarted.deliveries = 100
    restarted.check(fake, conn, wf)
    server.check(fake, conn, wf)
