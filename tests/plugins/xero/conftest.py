"""Fixtures of the Xero plugin tests: connections, and Xero faked at the HTTP seam
(``responses``: the Accounting API, the tenant list at /connections and the token endpoint)."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
import responses

XERO = "https://api.xero.com/api.xro/2.0"
CONNECTIONS = "https://api.xero.com/connections"
TOKEN_URL = "https://identity.xero.com/connect/token"
TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
ACCESS = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2NzcyRDZEQzAyOEQ2NzI2RkQwMjYxNTgxNTcwRUZDMTkiLCJ0eXAiOiJKV1QifQ.access"
REFRESH = "2d7a9f0e1c3b4a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
WEBHOOK_KEY = "kc2hG8Zr+0nIJrqFqfI5Ps0gkH9kQ4Wv2y1qQ0Y7bZ1sZLkQyM8d2dRHu9Vp7uX1tmX3HnAr3xQjM5fP1T9o0g=="


@pytest.fixture
def fake_xero():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def xero_connection(create_connection):
    def make(settings: dict | None = None, **credentials) -> dict:
        return create_connection("xero", {"tenant_id": TENANT, **(settings or {})},
                                 {"access_token": ACCESS, "webhook_key": WEBHOOK_KEY,
                                  **credentials})

    return make


def xero_signature(body: bytes, key: str = WEBHOOK_KEY) -> str:
    """x-xero-signature = base64(HMAC-SHA256(webhook key, body)), Xero's documented scheme."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
