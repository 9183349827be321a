"""``atom users reset-password|list``, ``atom keys list|revoke`` (masked, as the admin API shows
them) and the first-admin banner, which names the address the server really binds."""
from __future__ import annotations

import json

import pytest

from atom.cli import main
from atom.cli.accounts import base_url_of
from atom.extensions import db
from atom.models import AuditEvent
from atom.models import User
from tests.atom.cli.conftest import assert_one_line_error


def _user(app, email):
    with app.app_context():
        return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


def test_reset_password_prints_a_one_time_password_once_and_ends_sessions(app, atom, alice):
    before = _user(app, "alice@example.com").session_version
    result = atom("users", "reset-password", "Alice@Example.com")
    assert result.exit_code == 0, result.output
    *said, password = result.stdout.strip().splitlines()
    assert " " not in password and len(password) >= 12
    assert "one-time password" in said[-1] and "expires in 24 hours" in said[-1]
    user = _user(app, "alice@example.com")
    assert user.check_password(password) and user.must_change_password
    assert not user.check_password(alice["password"])
    assert user.session_version > before
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).filter_by(action="user.update")).one()
        assert event.actor == "cli" and event.detail == {"reset_password": True}
    # Printed once: nothing else shows it again.
    assert password not in atom("users", "list").output
    assert password not in atom("users", "list", "--json").output


def test_reset_password_of_a_deactivated_user_says_so(app, atom, alice, client, keys):
    atom("users", "create", "--email", "bo@example.com")
    bo = _user(app, "bo@example.com")
    client.delete(f"/api/v2/users/{bo.id}", headers=keys["admin"])
    result = atom("users", "reset-password", "bo@example.com")
    assert result.exit_code == 0 and "deactivated" in result.stderr


def test_users_list_as_a_table_and_as_json(atom, alice, client, keys, tty):
    row = atom("users", "list").stdout.strip().split("\t")
    assert row[:4] == ["1", "alice@example.com", "admin", "active"]
    assert json.loads(atom("users", "list", "--json").stdout) == \
        client.get("/api/v2/users", headers=keys["admin"]).get_json()
    tty("stdout")
    assert atom("users", "list").stdout.splitlines()[0].split() == \
        ["ID", "EMAIL", "ROLE", "STATE", "LAST", "SIGN-IN"]


def test_keys_list_is_masked_and_matches_the_api(atom, client, keys, tty):
    created = atom("keys", "create", "--name", "deploy", "--role", "editor")
    plain = created.stdout.strip().splitlines()[-1]
    key_id = json.loads(atom("keys", "list", "--json").stdout)["keys"][-1]["id"]
    listed = atom("keys", "list").stdout
    assert plain not in listed and plain[:12] not in listed.replace(plain[:8], "")
    row = next(line.split("\t") for line in listed.splitlines() if line.startswith(f"{key_id}\t"))
    assert row[1:5] == ["deploy", "editor", f"{plain[:len(row[3]) - 1]}…", "active"]
    api = client.get("/api/v2/keys", headers=keys["admin"]).get_json()
    cli = json.loads(atom("keys", "list", "--json").stdout)
    for body in (api, cli):  # the API's own request uses the admin key
        body["keys"][0].pop("last_used_at")
    assert cli == api
    assert plain not in atom("keys", "list", "--json").stdout
    tty("stdout")
    assert atom("keys", "list").stdout.splitlines()[0].split()[:5] == ["ID", "NAME", "ROLE", "KEY", "STATE"]


def test_keys_revoke_once_then_says_so(app, atom, client):
    plain = atom("keys", "create", "--name", "ci", "--role", "viewer").stdout.split()[-1]
    result = atom("keys", "revoke", "1")
    assert result.stdout.strip() == "revoked key 1 ('ci')"
    assert client.get("/api/v2/connections", headers={"Authorization": f"Bearer {plain}"}).status_code == 401
    assert atom("keys", "list").stdout.split("\t")[4] == "revoked"
    again = atom("keys", "revoke", "1")
    assert again.exit_code == 0 and "revoked already" in again.stdout
    assert_one_line_error(atom("keys", "revoke", "2"), "no API key 2")


# -- the first-admin banner ---------------------------------------------------------------------


@pytest.mark.parametrize("env, url", [
    ({}, "http://127.0.0.1:5058/login"),
    ({"ATOM_BIND": "127.0.0.1:8080"}, "http://127.0.0.1:8080/login"),
    ({"ATOM_BIND": "0.0.0.0:9000"}, "http://127.0.0.1:9000/login (the server listens on every "
                                    "address: 0.0.0.0:9000)"),
    ({"ATOM_BIND": "[::1]:7000"}, "http://[::1]:7000/login"),
    ({"ATOM_BIND": "atom.internal"}, "http://atom.internal:8000/login"),
    ({"ATOM_BIND": "127.0.0.1:8080", "GUNICORN_CMD_ARGS": "--workers 3 --bind 10.0.0.5:6000"},
     "http://10.0.0.5:6000/login"),
    ({"GUNICORN_CMD_ARGS": "-b 10.0.0.5:443 --certfile /etc/atom.pem"}, "https://10.0.0.5/login"),
    ({"ATOM_BIND": "unix:/run/atom.sock"}, "/login on the proxy in front of unix:/run/atom.sock"),
])
def test_the_first_admin_banner_names_the_real_bind(app_factory, monkeypatch, tmp_path, env, url):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("ATOM_BIND", "GUNICORN_CMD_ARGS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = app_factory().test_cli_runner().invoke(main, ["users", "bootstrap"])
    assert result.exit_code == 0, result.output
    assert f"Created the first admin user. Sign in at {url}\n" in result.stdout
    assert "5058" not in result.stdout or "5058" in url


def test_the_banner_prefers_the_public_url(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("ATOM_BIND", "127.0.0.1:8080")
    app = app_factory(PUBLIC_URL="https://atom.example.com")
    result = app.test_cli_runner().invoke(main, ["users", "bootstrap"])
    assert "Sign in at https://atom.example.com/login\n" in result.stdout


def test_base_urls_of_binds():
    assert base_url_of("127.0.0.1:80") == "http://127.0.0.1"
    assert base_url_of(":8080") == "http://127.0.0.1:8080"
    assert base_url_of("[::]:8080") == "http://[::1]:8080"
    assert base_url_of("fd://3") is None
