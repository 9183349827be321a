"""Fixtures of the page tests: signed-in test clients of each role."""
from __future__ import annotations

import pytest

from atom.extensions import db
from atom.models import User
from tests.atom.engine.conftest import close_engine

PASSWORD = "a long enough password"


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    """An app per test whose engine is stopped (its threads joined) at the end: pages start
    executions."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    yield app
    close_engine(app)


@pytest.fixture
def signed_in(client, alice):
    """The test client, signed in as alice (an admin)."""
    assert client.post("/login", data=alice).status_code == 302
    return client


@pytest.fixture
def user_client(app):
    """``user_client(role)``: a new test client signed in as a new user with ``role``."""
    def make(role: str):
        email = f"{role}@example.com"
        with app.app_context():
            user = User(email=email, role=role)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
        other = app.test_client()
        assert other.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        return other
    return make


@pytest.fixture
def viewer(user_client):
    """A test client signed in as a viewer."""
    return user_client("viewer")
