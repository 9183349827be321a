"""monday.com board webhooks at ``POST /hooks/monday/<connection id>``: the unsigned challenge
handshake, JWT-signed deliveries, trigger mapping, de-duplication and replays.

The JWTs are built here by hand from RFC 7519/7515 (HS256 over ``base64url(header) + "." +
base64url(claims)`` with the app's Signing Secret), as monday documents them at
https://developer.monday.com/apps/docs/integration-authorization: not with the verifier's
library.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time

import pytest

from atom.extensions import db
from atom.models import Execution
from atom.models import WebhookEvent
from atom.models import WebhookReceipt
from plugins.monday import samples
from plugins.monday.manifest import MANIFEST
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.plugins.monday.conftest import SIGNING_SECRET


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def monday_jwt(claims: dict | None = None, secret: str = SIGNING_SECRET, alg: str = "HS256",
               **overrides) -> str:
    now = int(time.time())
    body = {"accountId": 1825528, "userId": 4012689, "aud": "", "iat": now, "exp": now + 300,
            "shortLivedToken": "short-lived-api-token-0123456789", **(claims or {})}
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    signing_input = (b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "."
                     + b64url(json.dumps(body).encode()))
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    yield app
    close_engine(app)  # deliveries may start executions


@pytest.fixture
def conn(monday_connection):
    return monday_connection()


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict | None = None, token: str | None = "sign", body: bytes | None = None,
             **headers):
        raw = body if body is not None else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", **headers}
        if token == "sign":
            sent["Authorization"] = monday_jwt()
        elif token is not None:
            sent["Authorization"] = token
        return client.post(f"/hooks/monday/{conn['id']}", data=raw, headers=sent)

    return send


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def receipts(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(WebhookReceipt))


def delivery(sample: dict, uuid: str) -> dict:
    payload = copy.deepcopy(sample)
    payload["event"]["triggerUuid"] = uuid
    return payload


# -- the challenge -------------------------------------------------------------------------


def test_the_challenge_is_echoed_without_a_signature_and_nothing_is_stored(app, deliver, conn):
    r = deliver({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}, token=None)
    assert r.status_code == 200
    assert r.get_json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert stored(app) == [] and receipts(app) == 0


@pytest.mark.parametrize("payload", [
    {"challenge": "abc", "event": {"type": "create_pulse"}},
    {"challenge": 12345},
    {"challenge": ""},
])
def test_only_a_bare_challenge_is_a_handshake(app, deliver, payload):
    """Anything else is a delivery: without a JWT it is refused."""
    r = deliver(payload, token=None)
    assert r.status_code == 401
    assert stored(app) == []


# -- deliveries ----------------------------------------------------------------------------

TRIGGER_SAMPLES = {"item_created": samples.ITEM_CREATED,
                   "column_value_changed": samples.COLUMN_VALUE_CHANGED,
                   "update_created": samples.UPDATE_CREATED}


@pytest.mark.parametrize("trigger", sorted(TRIGGER_SAMPLES))
def test_each_trigger_sample_is_stored_under_its_trigger(app, deliver, conn, trigger):
    sample = TRIGGER_SAMPLES[trigger]
    r = deliver(sample)

    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["accepted"], r.get_json()["duplicates"]) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("monday", conn["id"], trigger)
    assert row.delivery_id == sample["event"]["triggerUuid"]
    assert row.payload == sample


def test_a_status_change_is_also_a_column_change(app, deliver):
    r = deliver(samples.STATUS_CHANGED)
    assert r.get_json()["accepted"] == 2
    uuid = samples.STATUS_CHANGED["event"]["triggerUuid"]
    assert [(row.event, row.delivery_id) for row in stored(app)] == [
        ("column_value_changed", uuid), ("status_changed", f"{uuid}:status")]


def test_every_trigger_is_covered():
    assert {*TRIGGER_SAMPLES, "status_changed"} == {t.name for t in MANIFEST.triggers}


def test_a_bearer_prefix_is_accepted(app, deliver):
    r = deliver(samples.ITEM_CREATED, token=f"Bearer {monday_jwt()}")
    assert r.get_json()["accepted"] == 1


def test_events_no_trigger_covers_are_acknowledged_not_stored(app, deliver):
    payload = delivery(samples.ITEM_CREATED, "7b0f9ad1e0c2")
    payload["event"]["type"] = "delete_pulse"
    r = deliver(payload)
    assert r.status_code == 200
    assert (r.get_json()["accepted"], r.get_json()["duplicates"]) == (0, 0)


def test_a_retried_delivery_is_counted_once(app, deliver):
    """monday retries a failed delivery (once a minute for 30 minutes) with a fresh JWT and
    the same event: the triggerUuid de-duplicates it."""
    first = deliver(samples.ITEM_CREATED)
    retry = deliver(samples.ITEM_CREATED, token=monday_jwt(iat=int(time.time()) + 1))
    assert first.get_json()["accepted"] == 1
    assert (retry.get_json()["accepted"], retry.get_json()["duplicates"]) == (0, 1)
    assert len(stored(app)) == 1


def test_a_replayed_request_is_a_duplicate(app, client, conn):
    """The same token with the same body again is a replay, even for an event no trigger
    stores (no triggerUuid could catch that)."""
    payload = delivery(samples.ITEM_CREATED, "9a1c")
    payload["event"]["type"] = "item_archived"
    raw, token = json.dumps(payload).encode(), monday_jwt()
    headers = {"Authorization": token, "Content-Type": "application/json"}
    first = client.post(f"/hooks/monday/{conn['id']}", data=raw, headers=headers)
    replay = client.post(f"/hooks/monday/{conn['id']}", data=raw, headers=headers)
    assert first.get_json()["duplicate"] is False
    assert replay.status_code == 200 and replay.get_json()["duplicate"] is True
    assert receipts(app) == 1


def test_two_events_under_one_token_are_both_kept(app, client, conn):
    """Two changes in the same second get identical JWTs; their bodies differ, so the second
    is not taken for a replay of the first."""
    token = monday_jwt()
    for uuid in ("aaaa1111", "bbbb2222"):
        raw = json.dumps(delivery(samples.ITEM_CREATED, uuid)).encode()
        r = client.post(f"/hooks/monday/{conn['id']}", data=raw,
                        headers={"Authorization": token, "Content-Type": "application/json"})
        assert r.get_json()["accepted"] == 1
    assert [row.delivery_id for row in stored(app)] == ["aaaa1111", "bbbb2222"]


@pytest.mark.parametrize("token, why", [
    (lambda: monday_jwt(secret="not-the-signing-secret-0123456789abc"), "rejected"),
    (lambda: monday_jwt(exp=int(time.time()) - 120), "expired"),
    (lambda: monday_jwt(iat=int(time.time()) - 900, exp=int(time.time()) + 60), "tolerance"),
    (lambda: monday_jwt(iat=int(time.time()) + 900, exp=int(time.time()) + 1200), "tolerance"),
    (lambda: monday_jwt(nbf=int(time.time()) + 600), "not valid yet"),
    (lambda: monday_jwt(exp="tomorrow"), "not a finite number"),
    (lambda: monday_jwt(alg="HS512"), "rejected"),
    (lambda: monday_jwt(aud="https://atom.example.com/hooks/monday/999"), "another endpoint"),
    (lambda: "not-a-jwt", "rejected"),
    (lambda: b64url(b'{"alg":"none"}') + "." + b64url(b'{"userId":1}') + ".", "rejected"),
])
def test_a_bad_token_is_refused_and_nothing_is_stored(app, deliver, token, why):
    r = deliver(samples.ITEM_CREATED, token=token())
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert why in r.get_json()["message"]
    assert stored(app) == [] and receipts(app) == 0


def test_a_missing_authorization_header_is_refused(app, deliver):
    """Webhooks made with a personal token are unsigned: nothing tells them from a forgery."""
    r = deliver(samples.ITEM_CREATED, token=None)
    assert r.status_code == 401
    assert "Authorization" in r.get_json()["message"]


def test_an_audience_naming_this_endpoint_is_accepted(app, deliver, conn):
    token = monday_jwt(aud=f"https://atom.example.com/hooks/monday/{conn['id']}")
    assert deliver(samples.ITEM_CREATED, token=token).get_json()["accepted"] == 1


def test_a_token_without_time_claims_is_accepted_without_a_replay_receipt(app, deliver):
    token = monday_jwt(iat=None, exp=None)
    r = deliver(samples.ITEM_CREATED, token=token)
    assert r.get_json()["accepted"] == 1
    assert receipts(app) == 0  # unbounded: de-duplicated by triggerUuid alone


def test_the_short_lived_token_is_never_stored(app, deliver):
    deliver(samples.ITEM_CREATED)
    (row,) = stored(app)
    assert "short-lived-api-token" not in json.dumps(row.payload)


def test_a_connection_without_a_signing_secret_accepts_nothing(app, client, create_connection):
    from tests.plugins.monday.conftest import TOKEN

    conn = create_connection("monday", {}, {"token": TOKEN})
    raw = json.dumps(samples.ITEM_CREATED).encode()
    r = client.post(f"/hooks/monday/{conn['id']}", data=raw,
                    headers={"Authorization": monday_jwt(), "Content-Type": "application/json"})
    assert r.status_code == 401
    assert stored(app) == []


def test_a_delivery_starts_the_workflow_listening_for_it(app, client, keys, deliver):
    api = Api(client, keys["editor"])
    wf = api.create({"name": "on new item", "trigger": {"type": "event", "service": "monday",
                                                        "event": "item_created"},
                     "steps": [{"id": "t", "type": "transform",
                                "mapping": {"item": "trigger.event.pulseName"}}]})
    api.create({"name": "on update", "trigger": {"type": "event", "service": "monday",
                                                 "event": "update_created"},
                "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}]})
    r = deliver(samples.ITEM_CREATED)

    (execution_id,) = r.get_json()["executions"]
    finished = api.wait_finished(execution_id)
    assert finished["workflow_id"] == wf["id"]
    assert finished["status"] == "succeeded", finished
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 1


# -- the monday_jwt scheme itself (the shared battery cannot express a JWT that does not sign
# -- the body: tests/atom/integrations/test_webhooks.py leaves it to these) --------------------

NOW = 1_700_000_000
URL = "https://atom.example.com/hooks/monday/7"
BODY = json.dumps(samples.ITEM_CREATED).encode()


def check(token: str | None, body: bytes = BODY, secret: str | None = SIGNING_SECRET,
          now: float = NOW, tolerance: float = 300):
    from atom.integrations.webhooks import WebhookRequest
    from atom.integrations.webhooks import verify

    headers = {} if token is None else {"Authorization": token}
    return verify("monday_jwt", WebhookRequest("POST", URL, headers, body), secret,
                  tolerance=tolerance, now=now)


def at(offset: float = 0, **claims) -> str:
    return monday_jwt(iat=int(NOW + offset), exp=int(NOW + offset + 300), **claims)


def test_scheme_accepts_a_valid_token_and_digests_token_and_body():
    digest = check(at())
    assert isinstance(digest, str) and len(digest) == 64
    assert check(at(), now=NOW + 10) == digest  # the same delivery again: a replay
    assert check(at(1), now=NOW + 1) != digest  # a new token is a new delivery
    other = json.dumps(delivery(samples.ITEM_CREATED, "ffff")).encode()
    assert check(at(), body=other) != digest  # another event under the same token


@pytest.mark.parametrize("secret", [None, ""])
def test_scheme_refuses_without_a_configured_secret(secret):
    from atom.integrations.webhooks import SignatureError

    with pytest.raises(SignatureError):
        check(at(), secret=secret)


@pytest.mark.parametrize("token", [
    None, "", "Bearer ", "a.b", at(secret="another-signing-secret-0123456789"),
    at()[:-3] + ("AAA" if not at().endswith("AAA") else "BBB"),   # signature changed
    at().split(".")[0] + "." + b64url(b'{"userId":1,"iat":1700000000}') + "."
    + at().split(".")[2],                                          # claims changed
])
def test_scheme_refuses_a_missing_or_forged_token(token):
    from atom.integrations.webhooks import SignatureError

    with pytest.raises(SignatureError):
        check(token)


@pytest.mark.parametrize("age", [301, -301, 3600, -3600])
def test_scheme_refuses_a_token_issued_outside_the_window(age):
    from atom.integrations.webhooks import SignatureError

    with pytest.raises(SignatureError, match="tolerance"):
        check(monday_jwt(iat=NOW - age, exp=NOW + 300), tolerance=300)


@pytest.mark.parametrize("age", [299, -299, 0])
def test_scheme_accepts_a_token_issued_within_the_window(age):
    assert check(monday_jwt(iat=NOW - age, exp=NOW + 300), tolerance=300)


@pytest.mark.parametrize("expired_for, ok", [(0, True), (29, True), (31, False), (3600, False)])
def test_scheme_allows_thirty_seconds_of_clock_skew_after_exp(expired_for, ok):
    from atom.integrations.webhooks import SignatureError

    token = monday_jwt(iat=None, exp=NOW - expired_for)
    if ok:
        check(token)
    else:
        with pytest.raises(SignatureError, match="expired"):
            check(token)


@pytest.mark.parametrize("claim", ["iat", "exp", "nbf"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "1700000000",
                                   True, [1]])
def test_scheme_refuses_time_claims_that_are_not_finite_numbers(claim, value):
    from atom.integrations.webhooks import SignatureError

    with pytest.raises(SignatureError, match="finite number"):
        check(monday_jwt({"iat": NOW, "exp": NOW + 300, claim: value}))


@pytest.mark.parametrize("claims, bounded", [
    ({"iat": NOW, "exp": None}, True),
    ({"iat": None, "exp": NOW + 600}, True),       # accepted for 10 min: receipts outlive it
    ({"iat": None, "exp": NOW + 3600}, False),     # would outlive the receipt: no digest
    ({"iat": None, "exp": None}, False),
])
def test_scheme_gives_a_replay_digest_only_for_a_bounded_token(claims, bounded):
    assert (check(monday_jwt(**claims)) is not None) is bounded


def test_scheme_checks_an_endpoint_audience_by_path_only():
    from atom.integrations.webhooks import SignatureError

    assert check(at(aud="http://10.0.0.5:8000/hooks/monday/7/"))  # behind a proxy
    assert check(at(aud="monday-app"))  # not an endpoint: nothing to compare
    with pytest.raises(SignatureError, match="another endpoint"):
        check(at(aud="https://atom.example.com/hooks/monday/8"))


def test_scheme_does_not_sign_the_body():
    """monday's JWT says who sent the delivery, not what it says: a body changed under a valid
    token passes the signature (documented in atom.integrations.webhooks), with its own replay
    digest; only the token's short life bounds the damage."""
    tampered = BODY.replace(b"Create_item webhook", b"Something else")
    assert check(at(), body=tampered) not in (None, check(at()))
