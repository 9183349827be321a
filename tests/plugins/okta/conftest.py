"""Fixtures of the Okta plugin tests: connections, and Okta faked at the HTTP seam
(``responses``) for what Prism cannot give (Link pages, errors, rate-limit headers, tokens)."""
from __future__ import annotations

import pytest
import responses

OKTA = "https://acme.okta.com/api/v1"
TOKEN = "00QCjAl4MlV-WPXM-test-0123456789abcdef"
HOOK_SECRET = "Basic c2VjcmV0LWZvci1va3RhLWhvb2tz"


def user(uid: str = "00ub0oNGTSWTBKOLGLNR", login: str = "isaac.brock@example.com",
         status: str = "ACTIVE") -> dict:
    return {"id": uid, "status": status, "created": "2013-07-02T21:36:25.344Z",
            "activated": None, "lastLogin": None, "lastUpdated": "2013-07-02T21:36:25.344Z",
            "profile": {"firstName": "Isaac", "lastName": "Brock", "email": login,
                        "login": login}}


def okta_error(code: str, summary: str, *causes: str) -> dict:
    return {"errorCode": code, "errorSummary": summary, "errorLink": code,
            "errorId": "oaeXYZ123", "errorCauses": [{"errorSummary": c} for c in causes]}


@pytest.fixture
def fake_okta():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def okta_connection(create_connection):
    def make(settings: dict | None = None, **credentials: str) -> dict:
        creds = credentials or {"api_token": TOKEN}
        return create_connection("okta", {"domain": "acme.okta.com", "max_attempts": 3,
                                          **(settings or {})}, creds)

    return make
