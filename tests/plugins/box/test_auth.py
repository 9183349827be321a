"""Box authentication: OAuth2 with single-use refresh tokens (each refresh's new one kept), and
server authentication without a user (Client Credentials Grant, JWT) minted at the fake's
/oauth2/token through the connection's own client (outbound policy, timeouts)."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest
import responses

from tests.plugins.box.fake_box import CLIENT_ID
from tests.plugins.box.fake_box import CLIENT_SECRET
from tests.plugins.box.fake_box import ENTERPRISE


def test_the_catalogue_shows_oauth2_with_rotating_refresh_and_server_auth(client, keys):
    info = client.get("/api/v2/integrations/box", headers=keys["viewer"]).get_json()
    assert info["auth"]["kind"] == "custom"
    oauth = info["auth"]["oauth2"]
    assert (oauth["authorize_url"], oauth["token_url"], oauth["rotating_refresh"]) == (
        "https://account.box.com/api/oauth2/authorize", "https://api.box.com/oauth2/token", True)
    assert {"client_secret", "private_key", "private_key_passphrase", "webhook_primary_key",
            "webhook_secondary_key", "access_token", "refresh_token"} <= set(
        info["auth"]["secret_fields"])
    assert info["webhook"] == {"scheme": "box_v2"}


def test_an_expired_token_is_refreshed_and_each_new_refresh_token_is_kept(app, box, box_connection,
                                                                         run_action, live):
    app.config.update(OAUTH_BOX_CLIENT_ID=CLIENT_ID, OAUTH_BOX_CLIENT_SECRET=CLIENT_SECRET)
    box.refresh_tokens["box-refresh-first"] = True
    fid = box.add_file("a.txt", b"x")
    conn = box_connection(access_token="expired-access-token", refresh_token="box-refresh-first",
                          expires_at=time.time() + 3600)
    used: list[str] = []

    def token(request):  # Box's token URL, answered from the fake's state
        form = {k: v[0] for k, v in parse_qs(request.body).items()}
        used.append(form["refresh_token"])
        assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
        if not box.refresh_tokens.get(form["refresh_token"]):
            return 400, {}, json.dumps({"error": "invalid_grant"})
        box.refresh_tokens[form["refresh_token"]] = False
        return 200, {}, json.dumps(box.issue())

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        rsps.add_callback(responses.POST, "https://api.box.com/oauth2/token", callback=token)
        assert run_action(conn, "get_file", {"file_id": fid}).status_code == 200
        second = live(conn).http.auth.creds["refresh_token"]
        assert second != "box-refresh-first" and box.refresh_tokens[second] is True
        box.tokens.discard(live(conn).http.auth.creds["access_token"])  # it expires too
        assert run_action(conn, "get_file", {"file_id": fid}).status_code == 200

    assert used == ["box-refresh-first", second]  # never the spent one twice


def test_client_credentials_grant_mints_a_token_once_and_reuses_it(box, box_connection,
                                                                   ccg_credentials, run_action):
    conn = box_connection(**ccg_credentials)
    fid = box.add_file("a.txt", b"x")
    for _ in range(2):
        assert run_action(conn, "get_file", {"file_id": fid}).status_code == 200
    (form,) = box.token_requests
    assert form == {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET, "box_subject_type": "enterprise",
                    "box_subject_id": ENTERPRISE}


def test_a_minted_token_box_refuses_is_minted_again_once(box, box_connection, ccg_credentials,
                                                         run_action):
    conn = box_connection(**ccg_credentials)
    fid = box.add_file("a.txt", b"x")
    run_action(conn, "get_file", {"file_id": fid})
    box.tokens.clear()  # revoked
    assert run_action(conn, "get_file", {"file_id": fid}).status_code == 200
    assert len(box.token_requests) == 2


def test_a_minted_token_box_echoes_is_redacted(box, box_connection, ccg_credentials,
                                               run_action):
    from tests.plugins.box.fake_box import error

    conn = box_connection(**ccg_credentials)
    fid = box.add_file("a.txt", b"x")
    run_action(conn, "get_file", {"file_id": fid})
    (minted,) = [t for t in box.tokens if t.startswith("box-minted-")]
    box.fail.append((r"api:GET /2.0/files/", error(400, "bad_request", f"bad token {minted}")))
    r = run_action(conn, "get_file", {"file_id": fid})
    assert r.status_code == 422 and minted not in r.get_data(as_text=True)
    assert CLIENT_SECRET not in r.get_data(as_text=True)


def test_wrong_app_credentials_fail_the_health_check_as_auth(box, box_connection, ccg_credentials,
                                                            check_connection):
    conn = box_connection(**{**ccg_credentials, "client_secret": "not-the-secret"})
    result = check_connection(conn).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "invalid_client" in result["message"] and "not-the-secret" not in result["message"]


@pytest.fixture(scope="module")
def rsa_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # Encrypted with a passphrase (traditional OpenSSL PEM: its key derivation is fast, where
    # PKCS#8's here is slow; the plugin reads both through cryptography).
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.BestAvailableEncryption(b"box-passphrase")).decode()
    return key, pem


def test_a_jwt_assertion_signed_with_the_app_key_gets_a_token(box, box_connection, ccg_credentials,
                                                              run_action, rsa_key):
    key, pem = rsa_key
    box.public_keys["kid-4f2e"] = key.public_key()
    conn = box_connection(**{**ccg_credentials, "auth_mode": "jwt", "public_key_id": "kid-4f2e",
                             "private_key": pem, "private_key_passphrase": "box-passphrase"})
    r = run_action(conn, "get_file", {"file_id": box.add_file("a.txt", b"x")})
    assert r.status_code == 200, r.get_json()
    (form,) = box.token_requests
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert "box_subject_id" not in form and form["assertion"].count(".") == 2


def test_a_jwt_with_an_unknown_key_id_is_refused(box, box_connection, ccg_credentials,
                                                 check_connection, rsa_key):
    _, pem = rsa_key
    conn = box_connection(**{**ccg_credentials, "auth_mode": "jwt", "public_key_id": "unknown",
                             "private_key": pem, "private_key_passphrase": "box-passphrase"})
    assert check_connection(conn).get_json()["error_class"] == "auth"


def test_a_wrong_passphrase_says_so_without_the_key(box, box_connection, ccg_credentials,
                                                    check_connection, rsa_key):
    _, pem = rsa_key
    conn = box_connection(**{**ccg_credentials, "auth_mode": "jwt", "public_key_id": "k",
                             "private_key": pem, "private_key_passphrase": "wrong"})
    result = check_connection(conn).get_json()
    assert result["error_class"] == "auth" and "passphrase" in result["message"]
    assert not box.token_requests


@pytest.mark.parametrize("creds, field", [
    ({"client_id": CLIENT_ID}, "auth_mode"),
    ({"auth_mode": "client_credentials", "client_id": CLIENT_ID}, "client_secret"),
    ({"auth_mode": "jwt", "client_id": CLIENT_ID, "client_secret": "s", "subject_id": "1"},
     "private_key"),
    ({"auth_mode": "jwt", "client_id": CLIENT_ID, "client_secret": "s", "subject_id": "1",
      "public_key_id": "k", "private_key": "not a key"}, "private_key"),
])
def test_incomplete_server_credentials_are_refused_naming_the_field(client, keys, creds, field):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "box", "label": "x", "credentials": creds})
    assert r.status_code == 422
    assert field in json.dumps(r.get_json()["errors"])
