"""Authentication through ``IntegrationClient``: static schemes and OAuth2 refresh (proactive,
reactive on 401, rotated refresh tokens persisted, one refresh for concurrent 401s)."""
from __future__ import annotations

import json
import threading

import pytest
import requests

from atom.integrations import auth as auth_mod
from atom.integrations.errors import AuthError
from tests.fakes import Reply
from tests.fakes import reply

TOKEN = "/oauth/token"


def _oauth(server, clock, client, **creds):
    persisted: list[dict] = []
    values = {"access_token": "old-access", "refresh_token": "r1", "client_id": "cid",
              "client_secret": "csecret", "expires_at": clock.time() + 3600}
    values.update(creds)
    auth = auth_mod.OAuth2(values, server.url + TOKEN, client.session, clock,
                           persist=persisted.append, margin_s=120.0)
    client.auth = auth
    return auth, persisted


def _accept(token: str, body=None):
    """A responder that accepts only ``Bearer <token>``."""
    def answer(req):
        if req.headers.get("Authorization") == f"Bearer {token}":
            return Reply(200, body if body is not None else {"ok": True})
        return Reply(401, {"error": "invalid_token"})
    return answer


def _rotated(access="new-access", refresh="r2", expires_in=3600):
    return reply(200, {"access_token": access, "refresh_token": refresh, "expires_in": expires_in,
                       "token_type": "Bearer"})


def test_401_refreshes_once_and_retries_with_the_new_token(server, clock, make_client):
    server.always("/me", _accept("new-access", {"id": "u1"}))
    server.script(TOKEN, _rotated())
    client = make_client()
    auth, persisted = _oauth(server, clock, client)

    assert client.get("/me").json() == {"id": "u1"}

    calls = server.calls("/me")
    assert [c.headers["Authorization"] for c in calls] == ["Bearer old-access", "Bearer new-access"]
    refresh = server.calls(TOKEN)
    assert len(refresh) == 1
    assert refresh[0].method == "POST"
    assert refresh[0].form() == {"grant_type": "refresh_token", "refresh_token": "r1",
                                 "client_id": "cid", "client_secret": "csecret"}
    assert len(persisted) == 1
    assert persisted[0]["refresh_token"] == "r2"
    assert persisted[0]["access_token"] == "new-access"
    assert persisted[0]["expires_at"] == pytest.approx(clock.time() + 3600)
    assert auth.creds["refresh_token"] == "r2"
    assert clock.slept == 0  # a refresh retries at once


def test_refresh_without_rotation_keeps_the_refresh_token(server, clock, make_client):
    server.always("/me", _accept("new-access"))
    server.script(TOKEN, reply(200, {"access_token": "new-access"}))
    client = make_client()
    auth, persisted = _oauth(server, clock, client)

    client.get("/me")

    assert persisted[0]["refresh_token"] == "r1"


def test_second_401_after_refresh_is_an_auth_error(server, clock, make_client, recorder):
    server.always("/me", reply(401, {"error": "revoked"}))
    server.always(TOKEN, _rotated())
    client = make_client()
    _oauth(server, clock, client)

    with pytest.raises(AuthError) as info:
        client.get("/me")

    assert info.value.permanent is True
    assert server.count("/me") == 2
    assert server.count(TOKEN) == 1
    assert recorder.stats[-1].error_class == "auth"


def test_refused_refresh_token_is_an_auth_error(server, clock, make_client):
    server.always("/me", reply(401))
    server.script(TOKEN, reply(400, {"error": "invalid_grant"}))
    client = make_client()
    _, persisted = _oauth(server, clock, client)

    with pytest.raises(AuthError):
        client.get("/me")

    assert server.count("/me") == 1
    assert server.count(TOKEN) == 1
    assert persisted == []


def test_proactive_refresh_when_expiry_is_within_the_margin(server, clock, make_client):
    server.always("/me", _accept("new-access"))
    server.script(TOKEN, _rotated())
    client = make_client()
    _, persisted = _oauth(server, clock, client, expires_at=clock.time() + 60)

    client.get("/me")

    assert [r.path for r in server.requests] == [TOKEN, "/me"]
    assert server.calls("/me")[0].headers["Authorization"] == "Bearer new-access"
    assert persisted[0]["refresh_token"] == "r2"


def test_no_refresh_while_the_token_is_fresh(server, clock, make_client):
    server.always("/me", _accept("old-access"))
    client = make_client()
    _oauth(server, clock, client, expires_at=clock.time() + 121)

    client.get("/me")
    clock.advance(2)  # now within the 120 s margin
    server.script(TOKEN, _rotated())
    server.always("/me", _accept("new-access"))
    client.get("/me")

    assert [r.path for r in server.requests] == ["/me", TOKEN, "/me"]


def test_concurrent_401s_cause_one_refresh(server, clock, make_client):
    threads = 4
    barrier = threading.Barrier(threads, timeout=5)

    def api(req):
        if req.headers.get("Authorization") == "Bearer new-access":
            return Reply(200, {"ok": True})
        barrier.wait()  # every thread holds the old token at the same time
        return Reply(401)

    server.always("/me", api)
    server.always(TOKEN, Reply(200, {"access_token": "new-access", "refresh_token": "r2",
                                     "expires_in": 3600}, delay=0.1))
    client = make_client()
    _, persisted = _oauth(server, clock, client)
    results: list[object] = []

    def work():
        try:
            results.append(client.get("/me").status_code)
        except Exception as exc:  # surfaced by the assertion below
            results.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=10)

    assert results == [200] * threads
    assert server.count(TOKEN) == 1
    assert len(persisted) == 1
    assert server.count("/me") == 2 * threads


def test_static_bearer_401_is_permanent(server, clock, make_client):
    server.always("/me", reply(401, {"message": "Bad credentials"}))
    client = make_client(auth=auth_mod.bearer("static-token"))

    with pytest.raises(AuthError) as info:
        client.get("/me")

    assert info.value.status == 401
    assert server.count("/me") == 1
    assert server.calls("/me")[0].headers["Authorization"] == "Bearer static-token"
    assert clock.sleeps == []


def test_403_is_an_auth_error_and_not_retried(server, clock, make_client):
    server.always("/me", reply(403))
    with pytest.raises(AuthError):
        make_client(auth=auth_mod.HeaderAuth("X-Api-Key", "k")).get("/me")
    assert server.count("/me") == 1
    assert server.calls("/me")[0].headers["X-Api-Key"] == "k"


def test_basic_and_query_auth(server, clock, make_client):
    server.always("/me", reply(200))
    make_client(auth=auth_mod.basic("ann", "pw")).get("/me")
    make_client(auth=auth_mod.QueryAuth({"key": "k", "token": "t"})).get("/me", params={"a": "1"})
    first, second = server.calls("/me")
    assert first.headers["Authorization"] == "Basic YW5uOnB3"
    assert second.query == {"a": ["1"], "key": ["k"], "token": ["t"]}


def test_refresh_and_retry_happens_even_with_max_attempts_one(server, clock, make_client):
    """The retry after a refresh belongs to the auth step, not to the retry budget: a connection
    with ``max_attempts=1`` must not be marked for re-authorisation after a good refresh."""
    server.always("/me", _accept("new-access"))
    server.script(TOKEN, _rotated())
    client = make_client(max_attempts=1)
    _oauth(server, clock, client)

    assert client.get("/me").status_code == 200
    assert server.count("/me") == 2
    assert server.count(TOKEN) == 1


def test_a_request_signer_signs_the_prepared_request_and_not_a_hop_to_another_origin():
    """A custom scheme that signs the whole request (as AWS SigV4 does) sees the final method,
    URL and body; a redirect that leaves the origin is sent unsigned."""
    import hashlib

    import responses as responses_lib

    from atom.integrations.auth import Auth
    from atom.integrations.http import ClientSettings
    from atom.integrations.http import IntegrationClient
    from atom.integrations.outbound import OutboundPolicy

    class Signer(Auth):
        def request_signer(self):
            def sign(r):
                digest = hashlib.sha256((r.method + r.url + (r.body or "")).encode()).hexdigest()
                r.headers["X-Signature"] = digest
                return r
            return sign

    settings = ClientSettings(base_url="https://api.example.com", max_attempts=1)
    client = IntegrationClient(integration="probe", settings=settings,
                               policy=OutboundPolicy(allow_private=True))
    client.auth = Signer()
    with responses_lib.RequestsMock() as mocked:
        mocked.add("GET", "https://api.example.com/a", status=302,
                   headers={"Location": "https://elsewhere.example.net/b"})
        mocked.add("GET", "https://elsewhere.example.net/b", json={"ok": True})
        mocked.add("POST", "https://api.example.com/c", json={"ok": True})
        client.get("/a")
        client.post("/c", data="x=1", idempotent=True)
        first, hop, post = (c.request for c in mocked.calls)
    assert first.headers["X-Signature"] == hashlib.sha256(
        b"GEThttps://api.example.com/a").hexdigest()
    assert "X-Signature" not in hop.headers
    assert post.headers["X-Signature"] == hashlib.sha256(
        b"POSThttps://api.example.com/cx=1").hexdigest()


# -- refresh with a shared store (the runtime's database row) ------------------------------------


class MemoryStore:
    """A TokenStore in memory: what another process wrote is what ``creds`` holds."""

    def __init__(self, creds: dict) -> None:
        self.creds = dict(creds)
        self.locks = 0
        self.refusals = 0

    def locked(self):
        store = self

        class Held:
            def __init__(self) -> None:
                self.creds = dict(store.creds)

            def save(self, tokens: dict) -> None:
                store.creds = auth_mod.merge_tokens(store.creds, tokens)

            def refused(self) -> None:
                store.refusals += 1

            def __enter__(self):
                store.locks += 1
                return self

            def __exit__(self, *exc) -> None:
                return None

        return Held()


def _stored_oauth(server, clock, client, store, **creds):
    values = {"access_token": "old-access", "refresh_token": "r1",
              "expires_at": clock.time() - 1, **creds}
    auth = auth_mod.OAuth2(values, server.url + TOKEN, client.session, clock, store=store,
                           client={"client_id": "cid", "client_secret": "csecret"})
    client.auth = auth
    return auth


def test_a_token_another_process_refreshed_is_adopted_without_an_exchange(server, clock,
                                                                          make_client):
    server.always("/me", _accept("their-access"))
    store = MemoryStore({"access_token": "their-access", "refresh_token": "r2",
                         "expires_at": clock.time() + 3600})
    client = make_client()
    auth = _stored_oauth(server, clock, client, store)

    assert client.get("/me").status_code == 200
    assert server.count(TOKEN) == 0 and store.locks == 1
    assert auth.creds["refresh_token"] == "r2"


def test_an_expired_token_another_process_stored_is_refreshed_with_its_refresh_token(
        server, clock, make_client):
    server.always("/me", _accept("new-access"))
    server.script(TOKEN, _rotated(refresh="r3"))
    store = MemoryStore({"access_token": "their-access", "refresh_token": "r2",
                         "expires_at": clock.time() - 5})
    client = make_client()
    _stored_oauth(server, clock, client, store)

    client.get("/me")

    assert server.calls(TOKEN)[0].form()["refresh_token"] == "r2"
    assert store.creds["refresh_token"] == "r3" and store.creds["access_token"] == "new-access"
    assert "client_secret" not in store.creds  # the app's client is never stored


def test_an_unchanged_store_means_our_own_refresh_token_is_used(server, clock, make_client):
    server.always("/me", _accept("new-access"))
    server.script(TOKEN, _rotated())
    store = MemoryStore({"access_token": "old-access", "refresh_token": "r1",
                         "expires_at": clock.time() - 1})
    client = make_client()
    _stored_oauth(server, clock, client, store)

    client.get("/me")

    assert server.calls(TOKEN)[0].form()["refresh_token"] == "r1"
    assert store.creds["refresh_token"] == "r2"


def test_a_refused_refresh_is_reported_to_the_store(server, clock, make_client):
    server.always("/me", reply(401))
    server.script(TOKEN, reply(400, {"error": "invalid_grant", "error_description": "reused"}))
    store = MemoryStore({"access_token": "old-access", "refresh_token": "r1"})
    client = make_client()
    _stored_oauth(server, clock, client, store, expires_at=clock.time() + 3600)

    with pytest.raises(auth_mod.TokenRefused) as info:
        client.get("/me")

    assert info.value.error == "invalid_grant" and "re-authorise" in info.value.message
    assert store.refusals == 1


def test_an_error_in_a_200_answer_is_a_refusal(server, clock, make_client):
    """GitHub and Slack answer a refused grant with 200 and an ``error`` field."""
    server.always("/me", reply(401))
    server.script(TOKEN, reply(200, {"ok": False, "error": "invalid_refresh_token"}))
    client = make_client()
    _oauth(server, clock, client)
    with pytest.raises(auth_mod.TokenRefused) as info:
        client.get("/me")
    assert info.value.error == "invalid_refresh_token"


def test_an_answer_without_expiry_forgets_the_old_one(server, clock, make_client):
    server.always("/me", _accept("new-access"))
    server.script(TOKEN, reply(200, {"access_token": "new-access"}))
    client = make_client()
    auth, persisted = _oauth(server, clock, client, expires_at=clock.time() - 1)
    client.get("/me")
    client.get("/me")
    assert "expires_at" not in auth.creds and "expires_at" not in persisted[0]
    assert server.count(TOKEN) == 1  # not refreshed again on every call


def test_http_basic_client_authentication_of_a_refresh(server, clock, make_client):
    server.always("/me", _accept("new-access"))
    server.script(TOKEN, _rotated())
    client = make_client()
    client.auth = auth_mod.OAuth2({"access_token": "old-access", "refresh_token": "r1",
                                   "expires_at": clock.time() - 1}, server.url + TOKEN,
                                  client.session, clock, client_auth="basic",
                                  client=lambda: {"client_id": "cid", "client_secret": "cs"})
    client.get("/me")
    sent = server.calls(TOKEN)[0]
    assert sent.headers["Authorization"] == "Basic Y2lkOmNz"
    assert sent.form() == {"grant_type": "refresh_token", "refresh_token": "r1"}


@pytest.mark.parametrize("status, body, error", [
    (400, {"error": "invalid_grant"}, auth_mod.TokenRefused),
    (401, {"error": "invalid_client"}, auth_mod.TokenRefused),
    (200, {"error": "bad_verification_code"}, auth_mod.TokenRefused),
    (302, b"", "upstream"),
    (429, b"", "rate_limited"),
    (503, b"", "upstream"),
    (404, b"", "upstream"),
])
def test_token_endpoint_answers_are_classified(status, body, error):
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(Exception) as info:
        auth_mod.raise_for_token_response(response)
    if isinstance(error, str):
        assert info.value.code == error
    else:
        assert isinstance(info.value, error)
