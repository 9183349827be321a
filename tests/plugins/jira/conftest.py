from __future__ import annotations

import pytest

EMAIL = "mia@example.com"
API_TOKEN = "ATATT3xFfGF0-test-token"
WEBHOOK_SECRET = "jira-webhook-secret-7d1c"


@pytest.fixture
def connect(create_connection):
    """Create a Jira connection; keyword arguments become settings."""

    def make(**settings):
        return create_connection(
            "jira",
            settings={"max_attempts": 1, **settings},
            credentials={"email": EMAIL, "api_token": API_TOKEN, "webhook_secret": WEBHOOK_SECRET},
        )

    return make


@pytest.fixture
def run(client, keys):
    """POST an action through the API; return (status code, JSON body)."""

    def call(conn: dict, action: str, body: dict | None = None):
        response = client.post(f"/api/v2/connections/{conn['id']}/actions/{action}",
                               headers=keys["editor"], json=body or {})
        return response.status_code, response.get_json()

    return call
