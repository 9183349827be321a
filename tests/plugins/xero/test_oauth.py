"""Xero's OAuth2: after the code exchange the connection's organisation comes from
``GET /connections`` (one: taken; several: the one settings name, else a clear error listing
them); refresh tokens rotate, and the new one is stored at every refresh."""
from __future__ import annotations

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from atom.extensions import db
from atom.integrations.errors import ValidationFailed
from atom.models import Connection
from atom.state import get_state
from tests.plugins.xero.conftest import ACCESS
from tests.plugins.xero.conftest import CONNECTIONS
from tests.plugins.xero.conftest import REFRESH
from tests.plugins.xero.conftest import TENANT
from tests.plugins.xero.conftest import TOKEN_URL
from tests.plugins.xero.conftest import XERO

OTHER = "4e0b9b9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"


def tenant(tid: str, name: str, kind: str = "ORGANISATION") -> dict:
    return {"id": f"e1eede29-f875-4a5d-8470-{tid[-12:]}", "authEventId": "d99ecdfe-0000-0000",
            "tenantId": tid, "tenantType": kind, "tenantName": name,
            "createdDateUtc": "2019-07-09T23:40:30.1833130", "updatedDateUtc": "2020-05-15T01:35:13.8491980"}


def connected(app, fake_xero, tenants: list[dict], settings: dict | None = None):
    fake_xero.get(CONNECTIONS, json=tenants)
    with app.app_context():
        return get_state(app).runtime.connect_hook("xero", "books", settings or {},
                                                   {"access_token": ACCESS})


def test_the_only_organisation_is_taken(app, fake_xero):
    extra = connected(app, fake_xero, [tenant(TENANT, "Demo Company (NZ)")])
    assert extra == {"tenant_id": TENANT, "tenant_name": "Demo Company (NZ)"}
    assert fake_xero.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS}"


def test_other_kinds_of_tenant_are_not_organisations(app, fake_xero):
    extra = connected(app, fake_xero, [tenant(TENANT, "Demo"),
                                       tenant(OTHER, "Practice", "PRACTICEMANAGER")])
    assert extra["tenant_id"] == TENANT


def test_several_organisations_need_one_named_and_the_error_lists_them(app, fake_xero):
    tenants = [tenant(TENANT, "Demo Company (NZ)"), tenant(OTHER, "Acme Ltd")]
    with pytest.raises(ValidationFailed) as info:
        connected(app, fake_xero, tenants)
    reason = info.value.details["settings"]["tenant_id"][0]
    assert "Demo Company (NZ)" in reason and OTHER in reason and TENANT in reason
    assert connected(app, fake_xero, tenants, {"tenant_name": "acme ltd"})["tenant_id"] == OTHER
    assert connected(app, fake_xero, tenants, {"tenant_id": TENANT.upper()})["tenant_id"] == TENANT


def test_an_organisation_the_user_did_not_authorise_is_refused(app, fake_xero):
    with pytest.raises(ValidationFailed) as info:
        connected(app, fake_xero, [tenant(TENANT, "Demo")], {"tenant_id": OTHER})
    assert "did not authorise" in info.value.details["settings"]["tenant_id"][0]
    with pytest.raises(ValidationFailed):
        connected(app, fake_xero, [])


def test_the_connect_flow_stores_the_tenant(app, client, keys, fake_xero):
    """The whole flow through the API: start, Xero's redirect back with a code, the code
    exchange (PKCE, HTTP Basic client auth), then /connections."""
    r = client.put("/api/v2/oauth-apps/xero", headers=keys["admin"], json={
        "client_id": "91E5715B1199038080D6D0296EBC1648", "client_secret": "xero-client-secret"})
    assert r.status_code in (200, 201), r.get_json()
    started = client.post("/api/v2/connections/oauth/xero/start", headers=keys["editor"],
                          json={"settings": {}})
    assert started.status_code == 200, started.get_json()
    url = started.get_json()["authorize_url"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://login.xero.com/identity/connect/authorize?")
    assert {"offline_access", "accounting.transactions", "accounting.contacts"} <= set(
        query["scope"].split(" "))
    assert query["code_challenge_method"] == "S256"
    fake_xero.post(TOKEN_URL, json={"access_token": ACCESS, "refresh_token": REFRESH,
                                    "expires_in": 1800, "token_type": "Bearer"})
    fake_xero.get(CONNECTIONS, json=[tenant(TENANT, "Demo Company (NZ)")])
    back = client.get("/oauth/callback", headers={**keys["editor"], "Accept": "application/json"},
                      query_string={"code": "xero-code-123", "state": query["state"]})
    assert back.status_code == 201, back.get_json()
    assert back.get_json()["connection"]["settings"]["tenant_id"] == TENANT
    exchange = fake_xero.calls[0].request
    assert exchange.headers["Authorization"].startswith("Basic ")
    assert "code_verifier=" in exchange.body


def test_a_rotated_refresh_token_is_stored_at_each_refresh(app, fake_xero, xero_connection,
                                                           run_action):
    conn = xero_connection(refresh_token=REFRESH, expires_at=1.0)  # long expired
    fake_xero.post(TOKEN_URL, json={"access_token": "access-2", "refresh_token": "refresh-2",
                                    "expires_in": 1800})
    fake_xero.post(TOKEN_URL, json={"access_token": "access-3", "refresh_token": "refresh-3",
                                    "expires_in": 1800})
    fake_xero.get(f"{XERO}/Organisation", json={"Organisations": [{"Name": "Demo"}]})
    fake_xero.get(f"{XERO}/Invoices/d4956132-ed94-4dd7-9eaa-aa22dfdf06f2", status=401,
                  json={"Title": "Unauthorized", "Detail": "TokenExpired"})
    fake_xero.get(f"{XERO}/Invoices/d4956132-ed94-4dd7-9eaa-aa22dfdf06f2", json={"Invoices": [
        {"InvoiceID": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2", "Type": "ACCREC"}]})

    def stored() -> dict:
        with app.app_context():
            row = db.session.get(Connection, conn["id"])
            return get_state(app).vault.decrypt(row.credentials_encrypted)

    r = run_action(conn, "get_invoice", {"invoice_id": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2"})
    assert r.status_code == 200, r.get_json()
    refreshes = [c for c in fake_xero.calls if c.request.url == TOKEN_URL]
    # Before the call (expired), then once on the 401: each with the refresh token last issued.
    assert [parse_qs(c.request.body)["refresh_token"][0] for c in refreshes] == [REFRESH,
                                                                                  "refresh-2"]
    creds = stored()
    assert (creds["access_token"], creds["refresh_token"]) == ("access-3", "refresh-3")
    invoice_call = [c for c in fake_xero.calls if "/Invoices/" in c.request.url][-1]
    assert invoice_call.request.headers["Authorization"] == "Bearer access-3"
    assert json.loads(r.get_data())["output"]["invoice_id"]
