"""The ``atom`` command: users, keys, encryption-key rotation, plugins."""
from __future__ import annotations

from cryptography.fernet import Fernet

from atom import create_app
from atom.cli import main
from atom.extensions import db
from atom.models import Connection
from atom.models import User
from atom.state import get_state


def test_keys_create_prints_a_working_key_alone_on_the_last_line(app, runner):
    result = runner.invoke(main, args=["keys", "create", "--name", "ci", "--role", "editor"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("atom_") and " " not in key
    client = app.test_client()
    assert client.get("/api/v2/connections", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    listed = runner.invoke(main, args=["keys", "list"]).output
    assert "ci" in listed and key not in listed


def test_keys_create_refuses_an_unknown_role(runner):
    result = runner.invoke(main, args=["keys", "create", "--name", "x", "--role", "root"])
    assert result.exit_code != 0
    assert "root" in result.output


def test_keys_revoke(app, runner):
    key = runner.invoke(main, args=["keys", "create", "--name", "x", "--role", "viewer"]).output.split()[-1]
    assert runner.invoke(main, args=["keys", "revoke", "1"]).exit_code == 0
    client = app.test_client()
    assert client.get("/api/v2/connections", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert runner.invoke(main, args=["keys", "revoke", "99"]).exit_code != 0


def test_users_create_with_a_generated_one_time_password(app, runner):
    result = runner.invoke(main, args=["users", "create", "--email", "Ann@Example.com", "--role", "editor"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1]
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(email="ann@example.com")).scalar_one()
        assert user.check_password(password) and user.must_change_password and user.role == "editor"
    again = runner.invoke(main, args=["users", "create", "--email", "ann@example.com"])
    assert again.exit_code != 0 and "exists" in again.output
    bad = runner.invoke(main, args=["users", "create", "--email", "x@y.z", "--password", "short"])
    assert bad.exit_code != 0


def test_bootstrap_creates_the_first_admin_once(app, runner):
    first = runner.invoke(main, args=["users", "bootstrap"])
    assert "admin@localhost" in first.output and "password:" in first.output
    second = runner.invoke(main, args=["users", "bootstrap"])
    assert "password" not in second.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_rotate_encryption_moves_credentials_to_the_new_key(app_factory, create_connection, tmp_path):
    from tests.conftest import TEST_KEY

    create_connection("http", {"base_url": "http://127.0.0.1:1"}, {"auth": "bearer", "token": "tok-rotate-me"})
    new = Fernet.generate_key().decode()
    rotated = app_factory(ENCRYPTION_KEY=f"{new},{TEST_KEY}")
    result = rotated.test_cli_runner().invoke(main, args=["keys", "rotate-encryption"])
    assert result.exit_code == 0 and "1 connection" in result.output, result.output
    only_new = app_factory(ENCRYPTION_KEY=new)
    with only_new.app_context():
        row = db.session.scalars(db.select(Connection)).one()
        assert get_state(only_new).vault.decrypt(row.credentials_encrypted)["token"] == "tok-rotate-me"


def test_plugins_list_reports_each_plugin(runner):
    result = runner.invoke(main, args=["plugins", "list"])
    assert "http" in result.output and "loaded" in result.output


def test_production_refuses_to_start_without_an_encryption_key(monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("ATOM_ENCRYPTION_KEY", raising=False)
    import pytest

    from atom.settings import ConfigError
    with pytest.raises(ConfigError, match="ATOM_ENCRYPTION_KEY"):
        create_app({"ENV_NAME": "production", "SECRET_KEY": "x" * 32,
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
