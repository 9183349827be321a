"""The production database: migrations and the connections API on a real PostgreSQL."""
from __future__ import annotations

import uuid

import pytest

psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 is not installed")

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


def _admin():
    try:
        conn = psycopg2.connect(connect_timeout=3, **PG)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    conn.autocommit = True
    return conn


@pytest.fixture
def pg_url():
    admin = _admin()
    name = f"atom_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.mark.postgres
def test_migrations_and_the_api_work_on_postgresql(app_factory, pg_url):
    from tests.conftest import make_key

    app = app_factory(SQLALCHEMY_DATABASE_URI=pg_url)
    headers = {"Authorization": f"Bearer {make_key(app, 'editor')}"}
    client = app.test_client()
    created = client.post("/api/v2/connections", headers=headers, json={
        "integration": "http", "label": "pg", "settings": {"base_url": "http://127.0.0.1:1"},
        "credentials": {"auth": "bearer", "token": "pg-secret-token-123456"}})
    assert created.status_code == 201, created.get_json()
    listed = client.get("/api/v2/connections", headers=headers).get_json()["connections"]
    assert [c["label"] for c in listed] == ["pg"]
    assert listed[0]["credentials"]["token"] != "pg-secret-token-123456"
    bad = client.post("/api/v2/connections", headers=headers, json={"integration": "http"})
    assert bad.status_code == 422
