"""The production database: migrations and the connections API on a real PostgreSQL."""
from __future__ import annotations

import pytest


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
