"""Shared fixtures: an app per test built by the factory on a fresh SQLite file, API keys for
the three roles, and helpers to create connections."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask_migrate import upgrade
from werkzeug.routing import rules as _werkzeug_rules

from atom import create_app
from atom.extensions import db
from atom.models import ApiKey
from atom.models import User
from atom.state import get_state

TEST_KEY = Fernet.generate_key().decode()


# Each test builds an app, and werkzeug compiles two URL-builder functions (an AST, then
# compile()) for each of its ~200 routes: half of create_app's time. The function depends only
# on the rule's parsed parts and its converters' types (it reads the converters from the rule
# it is bound to when it runs), so the tests' apps share one per distinct rule; a rule with
# defaults (folded into the function as constants) is compiled as usual. A server builds its app
# once per process, so this is for the tests only.
_compile_builder = _werkzeug_rules.Rule._compile_builder
_BUILDERS: dict[tuple, Any] = {}


def _shared_builder(self, append_unknown: bool = True):
    if self.defaults:
        return _compile_builder(self, append_unknown)
    key = (self.rule, tuple(self._trace), append_unknown,
           tuple(sorted((name, type(conv)) for name, conv in self._converters.items())))
    builder = _BUILDERS.get(key)
    if builder is None:
        builder = _BUILDERS[key] = _compile_builder(self, append_unknown)
    return builder


_werkzeug_rules.Rule._compile_builder = _shared_builder


BASE_SETTINGS = {"ENCRYPTION_KEY": TEST_KEY, "SECRET_KEY": "test-secret-long-enough-for-production-32"}


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """A SQLite database migrated to head once per test process; each test gets a copy (the
    migrations take a third of a second, a copy a few milliseconds)."""
    path = tmp_path_factory.mktemp("template") / "atom.db"
    app = create_app({**BASE_SETTINGS, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    get_state(app).recorder.close()
    return path


@pytest.fixture
def app_factory(tmp_path, migrated_db):
    """Build apps on a fresh database (a copy of the migrated template; a second app of the
    same test opens the same database, as a restarted process would); keyword arguments
    become config."""
    apps = []
    default_db = tmp_path / "atom.db"

    def make(**config: Any):
        settings = {**BASE_SETTINGS, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{default_db}"}
        settings.update(config)
        fresh = (settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{default_db}"
                 and not default_db.exists())
        if fresh:
            shutil.copyfile(migrated_db, default_db)
        app = create_app(settings)
        if not fresh:
            with app.app_context():
                upgrade()
        apps.append(app)
        return app

    yield make
    for app in apps:
        get_state(app).recorder.close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def make_key(app, role: str) -> str:
    with app.app_context():
        row, plain = ApiKey.generate(f"{role}-key", role)
        db.session.add(row)
        db.session.commit()
    return plain


@pytest.fixture
def keys(app) -> dict[str, dict[str, str]]:
    """Authorization headers for each role: ``keys["admin"]``, ``keys["editor"]``, ``keys["viewer"]``."""
    return {role: {"Authorization": f"Bearer {make_key(app, role)}"}
            for role in ("admin", "editor", "viewer")}


@pytest.fixture
def alice(app):
    """An admin dashboard user with a known password."""
    with app.app_context():
        user = User(email="alice@example.com", role="admin")
        user.set_password("correct horse battery")
        db.session.add(user)
        db.session.commit()
    return {"email": "alice@example.com", "password": "correct horse battery"}


@pytest.fixture
def create_connection(client, keys):
    def create(integration: str, settings: dict | None = None, credentials: dict | None = None,
               label: str | None = None) -> dict:
        response = client.post("/api/v2/connections", headers=keys["editor"], json={
            "integration": integration,
            "label": label or f"{integration} test",
            "settings": settings or {},
            "credentials": credentials or {},
        })
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return create


PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


@pytest.fixture
def pg_url():
    """A throwaway database on the local PostgreSQL (skipped, saying why, when it is absent)."""
    import uuid

    psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 is not installed")
    try:
        admin = psycopg2.connect(connect_timeout=3, **PG)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    admin.autocommit = True
    name = f"atom_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``), keep every Prism test
    of one plugin on one worker, so each vendor spec's Prism server starts once, not per worker."""
    for item in items:
        # Real processes (gunicorn) are a heavy suite: `make test-heavy`, run by CI too.
        if item.get_closest_marker("system") is not None:
            item.add_marker(pytest.mark.heavy)
        if item.get_closest_marker("prism") is None:
            continue
        parts = item.path.parts
        slug = None
        if "plugins" in parts and parts.index("plugins") + 2 < len(parts):
            slug = parts[parts.index("plugins") + 1]
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "manifest" in callspec.params:
            slug = callspec.params["manifest"].slug
        if slug:
            item.add_marker(pytest.mark.xdist_group(f"prism-{slug}"))
