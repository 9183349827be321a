"""What the Okta actions send and return, and how errors and rate limits reach users, against
Okta faked at the HTTP seam (Link paging, error bodies, X-Rate-Limit-* headers), plus the
service app's private_key_jwt token flow."""
from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.plugins.okta.conftest import OKTA
from tests.plugins.okta.conftest import TOKEN
from tests.plugins.okta.conftest import okta_error
from tests.plugins.okta.conftest import user


def test_create_user_sends_the_profile_groups_and_activation(fake_okta, okta_connection,
                                                             run_action):
    fake_okta.post(f"{OKTA}/users", json=user(status="PROVISIONED"))
    r = run_action(okta_connection(), "create_user", {
        "profile": {"firstName": "Isaac", "lastName": "Brock",
                    "email": "isaac.brock@example.com", "costCenter": "R&D"},
        "group_ids": ["00g1emaKYZTWRYYRRTSK"]})
    assert r.status_code == 200, r.get_json()
    request = fake_okta.calls[0].request
    assert request.headers["Authorization"] == f"SSWS {TOKEN}"
    assert request.url.endswith("/users?activate=true")
    assert json.loads(request.body) == {
        "profile": {"firstName": "Isaac", "lastName": "Brock", "email": "isaac.brock@example.com",
                    "login": "isaac.brock@example.com", "costCenter": "R&D"},
        "groupIds": ["00g1emaKYZTWRYYRRTSK"]}
    out = r.get_json()["output"]
    assert (out["id"], out["status"], out["login"]) == ("00ub0oNGTSWTBKOLGLNR", "PROVISIONED",
                                                        "isaac.brock@example.com")


def test_a_taken_login_names_profile_login(fake_okta, okta_connection, run_action):
    fake_okta.post(f"{OKTA}/users", status=400, json=okta_error(
        "E0000001", "Api validation failed: login",
        "login: An object with this field already exists in the current organization"))
    r = run_action(okta_connection(), "create_user", {
        "profile": {"firstName": "A", "lastName": "B", "email": "a@example.com"}})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"profile.login": [
        "login: An object with this field already exists in the current organization"]}
    assert len(fake_okta.calls) == 1


def test_deactivate_and_membership_calls(fake_okta, okta_connection, run_action):
    conn = okta_connection()
    fake_okta.post(f"{OKTA}/users/00u1/lifecycle/deactivate", body="")
    fake_okta.put(f"{OKTA}/groups/00g1/users/00u1", status=204)
    fake_okta.delete(f"{OKTA}/groups/00g1/users/00u1", status=204)
    assert run_action(conn, "deactivate_user", {"user_id": "00u1"}).get_json()["output"] == {
        "id": "00u1", "status": "DEPROVISIONED"}
    assert fake_okta.calls[0].request.url.endswith("deactivate?sendEmail=false")
    pair = {"group_id": "00g1", "user_id": "00u1"}
    assert run_action(conn, "add_user_to_group", pair).get_json()["output"]["member"] is True
    assert run_action(conn, "remove_user_from_group", pair).get_json()["output"]["member"] is False
    assert [c.request.method for c in fake_okta.calls] == ["POST", "PUT", "DELETE"]


@pytest.mark.parametrize("bad", ["..", ".", "../groups", "a/b", "x" * 201])
def test_a_user_id_cannot_leave_its_path(fake_okta, okta_connection, run_action, bad):
    r = run_action(okta_connection(), "get_user", {"user_id": bad})
    assert r.status_code == 422 and "user_id" in r.get_json()["errors"]
    assert not fake_okta.calls


def test_list_users_follows_link_next_up_to_max_items(fake_okta, okta_connection, run_action):
    page2 = f"{OKTA}/users?after=00u2&limit=3&search=profile.department+eq+%22Eng%22"
    fake_okta.get(f"{OKTA}/users", match=[__import__("responses").matchers.query_param_matcher(
        {"limit": "3", "search": 'profile.department eq "Eng"'})],
        json=[user("00u1"), user("00u2")], headers={"Link": f'<{page2}>; rel="next"'})
    fake_okta.get(page2, json=[user("00u3"), user("00u4")],
                  headers={"Link": f'<{OKTA}/users?after=00u4&limit=3>; rel="next"'})
    r = run_action(okta_connection(), "list_users",
                   {"search": 'profile.department eq "Eng"', "max_items": 3})
    out = r.get_json()["output"]
    assert [u["id"] for u in out["users"]] == ["00u1", "00u2", "00u3"] and out["count"] == 3
    assert len(fake_okta.calls) == 2  # the third page is not fetched


def test_a_next_link_to_another_host_is_not_followed(fake_okta, okta_connection, run_action):
    fake_okta.get(f"{OKTA}/groups", json=[{"id": "00g1", "profile": {"name": "Eng"}}],
                  headers={"Link": '<https://evil.example.com/api/v1/groups?after=x>; rel="next"'})
    r = run_action(okta_connection(), "list_groups", {"max_items": 50})
    assert r.status_code == 502 and "another host" in r.get_json()["message"]
    assert len(fake_okta.calls) == 1


def test_q_search_and_filter_are_exclusive(okta_connection, run_action):
    r = run_action(okta_connection(), "list_users", {"q": "Isa", "filter": "status eq \"ACTIVE\""})
    assert r.status_code == 422 and "filter" in r.get_json()["errors"]


def test_429_waits_until_x_rate_limit_reset(fake_okta, okta_connection, run_action, sleeps):
    reset = int(time.time()) + 3
    fake_okta.get(f"{OKTA}/users/00u1", status=429, json=okta_error(
        "E0000047", "API call exceeded rate limit due to too many requests."),
        headers={"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0",
                 "X-Rate-Limit-Reset": str(reset)})
    fake_okta.get(f"{OKTA}/users/00u1", json=user("00u1"))
    r = run_action(okta_connection(), "get_user", {"user_id": "00u1"})
    assert r.status_code == 200
    assert any(1.5 <= s <= 3.5 for s in sleeps), sleeps


def test_rate_limit_headers_feed_the_bucket(fake_okta, okta_connection, live):
    fake_okta.get(f"{OKTA}/users", json=[], headers={
        "X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "598",
        "X-Rate-Limit-Reset": str(int(time.time()) + 40)})
    integ = live(okta_connection())
    left, reset = integ.parse_rate_limit(integ.http.get("users"))
    assert left == 598 and 38 <= reset <= 40


@pytest.mark.parametrize("status, code, klass", [
    (401, "E0000011", "auth"), (403, "E0000006", "auth"), (404, "E0000007", "validation"),
    (500, "E0000009", "upstream")])
def test_errors_by_status(fake_okta, okta_connection, run_action, status, code, klass):
    fake_okta.get(f"{OKTA}/users/00u1", status=status, json=okta_error(code, "no"))
    r = run_action(okta_connection(), "get_user", {"user_id": "00u1"})
    assert r.get_json()["code"] == klass


def test_a_create_is_not_retried_after_a_5xx(fake_okta, okta_connection, run_action):
    fake_okta.post(f"{OKTA}/users", status=500, json=okta_error("E0000009", "Internal error"))
    run_action(okta_connection(), "create_user", {
        "profile": {"firstName": "A", "lastName": "B", "email": "a@example.com"}})
    assert len(fake_okta.calls) == 1


@pytest.mark.parametrize("domain", ["https://acme.okta.com", "acme.okta.com/x", "acme", "a b.com"])
def test_the_domain_must_be_a_host_name(create_connection, client, keys, domain):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "okta", "label": "x", "settings": {"domain": domain},
        "credentials": {"api_token": TOKEN}})
    assert r.status_code == 422 and "domain" in json.dumps(r.get_json())


# -- the service app: client credentials with private_key_jwt --------------------------------


@pytest.fixture(scope="module")
def key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


def test_a_service_app_mints_a_token_with_a_signed_assertion(fake_okta, okta_connection,
                                                              run_action, key_pair):
    pem, public = key_pair
    fake_okta.post("https://acme.okta.com/oauth2/v1/token", json={
        "token_type": "Bearer", "expires_in": 3600, "access_token": "eyJ.minted.token",
        "scope": "okta.users.manage okta.groups.manage"})
    fake_okta.get(f"{OKTA}/users/00u1", json=user("00u1"))
    conn = okta_connection(client_id="0oa1service", private_key=pem, key_id="kid-1")
    assert run_action(conn, "get_user", {"user_id": "00u1"}).status_code == 200
    assert run_action(conn, "get_user", {"user_id": "00u1"}).status_code == 200

    token_calls = [c for c in fake_okta.calls if c.request.url.endswith("/oauth2/v1/token")]
    assert len(token_calls) == 1  # reused until it nears expiry
    from urllib.parse import parse_qs
    form = {k: v[0] for k, v in parse_qs(token_calls[0].request.body).items()}
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "okta.users.manage okta.groups.manage"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    claims = jwt.decode(form["client_assertion"], public, algorithms=["RS256"],
                        audience="https://acme.okta.com/oauth2/v1/token")
    assert claims["iss"] == claims["sub"] == "0oa1service"
    assert claims["exp"] - claims["iat"] <= 3600 and claims["jti"]
    assert jwt.get_unverified_header(form["client_assertion"])["kid"] == "kid-1"
    assert fake_okta.calls[-1].request.headers["Authorization"] == "Bearer eyJ.minted.token"


def test_a_refused_service_app_is_an_auth_error(fake_okta, okta_connection, check_connection,
                                                key_pair):
    fake_okta.post("https://acme.okta.com/oauth2/v1/token", status=401, json={
        "error": "invalid_client", "error_description": "The client_assertion signature is "
                                                        "invalid."})
    conn = okta_connection(client_id="0oa1service", private_key=key_pair[0])
    result = check_connection(conn).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "invalid_client" in result["message"]


def test_credentials_need_a_token_or_a_service_app(create_connection, client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "okta", "label": "x", "settings": {"domain": "acme.okta.com"},
        "credentials": {"client_id": "0oa1"}})
    assert r.status_code == 422
