"""Linear's data-change webhooks at ``POST /hooks/linear/<connection id>``: signatures,
the signed ``webhookTimestamp``, trigger mapping, de-duplication by ``Linear-Delivery`` and
replays.

Signatures are computed here from https://linear.app/developers/webhooks:
``Linear-Signature`` = hex(HMAC-SHA256(signing secret, raw body)), and the body's
``webhookTimestamp`` (Unix ms) must be within a minute of now.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time

import pytest

from atom.extensions import db
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import WebhookEvent
from atom.models import WebhookReceipt
from plugins.linear import samples
from plugins.linear.manifest import MANIFEST
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.plugins.linear.conftest import WEBHOOK_SECRET


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def fresh(sample: dict, ms: int | None = None, **changes) -> dict:
    """The sample as Linear would send it now (``webhookTimestamp`` is the sending time)."""
    payload = copy.deepcopy(sample)
    payload["webhookTimestamp"] = int(time.time() * 1000) if ms is None else ms
    payload.update(changes)
    return payload


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    yield app
    close_engine(app)  # deliveries may start executions


@pytest.fixture
def conn(linear_connection):
    return linear_connection()


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict | None = None, delivery: str | None = "9c4b2e1a-5d6f-4a7b-8c9d-0e1f2a3b4c5d",
             body: bytes | None = None, sig: str | None = "sign", **headers):
        raw = body if body is not None else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", "Linear-Event": "Issue", **headers}
        if delivery is not None:
            sent["Linear-Delivery"] = delivery
        if sig == "sign":
            sent["Linear-Signature"] = signature(raw)
        elif sig is not None:
            sent["Linear-Signature"] = sig
        return client.post(f"/hooks/linear/{conn['id']}", data=raw, headers=sent)

    return send


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def receipts(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(WebhookReceipt))


@pytest.mark.parametrize("trigger, sample, events", [
    ("issue_created", samples.ISSUE_CREATED, ["issue_created"]),
    ("issue_updated", samples.ISSUE_UPDATED, ["issue_updated"]),
    ("issue_state_changed", samples.ISSUE_STATE_CHANGED,
     ["issue_updated", "issue_state_changed"]),
    ("comment_created", samples.COMMENT_CREATED, ["comment_created"]),
])
def test_each_trigger_sample_is_stored_under_its_trigger(app, deliver, conn, trigger, sample,
                                                         events):
    payload = fresh(sample)
    r = deliver(payload, delivery="d-1")

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["accepted"] == len(events)
    rows = stored(app)
    assert [row.event for row in rows] == events
    assert trigger in events
    assert rows[0].delivery_id == "d-1"
    assert all(row.payload == payload and row.connection_id == conn["id"] for row in rows)


def test_every_trigger_is_covered():
    assert {t.name for t in MANIFEST.triggers} == {
        "issue_created", "issue_updated", "issue_state_changed", "comment_created"}


def test_a_state_change_is_one_update_and_one_state_change(app, deliver):
    deliver(fresh(samples.ISSUE_STATE_CHANGED), delivery="d-7")
    assert [(row.event, row.delivery_id) for row in stored(app)] == [
        ("issue_updated", "d-7"), ("issue_state_changed", "d-7:issue_state_changed")]


@pytest.mark.parametrize("kind, action", [("Issue", "remove"), ("Project", "update"),
                                          ("Comment", "update"), ("IssueLabel", "create")])
def test_events_no_trigger_covers_are_acknowledged_not_stored(app, deliver, kind, action):
    r = deliver(fresh(samples.ISSUE_CREATED, type=kind, action=action))
    assert r.status_code == 200
    assert (r.get_json()["accepted"], r.get_json()["duplicates"]) == (0, 0)
    assert stored(app) == []


def test_a_retried_delivery_is_counted_once(app, deliver):
    """Linear retries with the same Linear-Delivery; the body's timestamp moves on."""
    first = deliver(fresh(samples.ISSUE_CREATED), delivery="d-2")
    retry = deliver(fresh(samples.ISSUE_CREATED, ms=int(time.time() * 1000) + 5),
                    delivery="d-2")
    assert first.get_json()["accepted"] == 1
    assert (retry.get_json()["accepted"], retry.get_json()["duplicates"]) == (0, 1)
    assert len(stored(app)) == 1


def test_without_a_delivery_header_the_body_is_the_delivery_id(app, deliver):
    payload = fresh(samples.ISSUE_CREATED)
    deliver(payload, delivery=None)
    (row,) = stored(app)
    assert row.delivery_id == hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def test_a_replayed_request_is_a_duplicate(app, client, conn):
    """The signature covers the timestamp: the same signed request again is a replay, even
    under another delivery id or for an event no trigger stores."""
    raw = json.dumps(fresh(samples.ISSUE_CREATED, type="Project")).encode()
    for delivery, duplicate in (("d-3", False), ("d-3", True), ("d-4", True)):
        r = client.post(f"/hooks/linear/{conn['id']}", data=raw, headers={
            "Content-Type": "application/json", "Linear-Delivery": delivery,
            "Linear-Signature": signature(raw)})
        assert r.status_code == 200
        assert r.get_json()["duplicate"] is duplicate
    assert receipts(app) == 1


def test_a_wrong_signature_is_refused(app, deliver):
    r = deliver(fresh(samples.ISSUE_CREATED), sig=signature(b"{}", "another-secret-0123"))
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == [] and receipts(app) == 0


def test_a_body_changed_after_signing_is_refused(app, deliver):
    raw = json.dumps(fresh(samples.ISSUE_CREATED)).encode()
    r = deliver(body=raw.replace(b'"create"', b'"update"'), sig=signature(raw))
    assert r.status_code == 401
    assert stored(app) == []


def test_a_missing_signature_is_refused(app, deliver):
    assert deliver(fresh(samples.ISSUE_CREATED), sig=None).status_code == 401


@pytest.mark.parametrize("age_s", [61, -61, 600])
def test_a_stale_or_future_timestamp_is_refused_even_when_signed(app, deliver, age_s):
    r = deliver(fresh(samples.ISSUE_CREATED, ms=int((time.time() - age_s) * 1000)))
    assert r.status_code == 401
    assert "tolerance" in r.get_json()["message"]
    assert stored(app) == []


def test_an_old_sample_timestamp_is_refused(app, deliver):
    """The reference's samples are from the past: sent as they are, they are stale."""
    assert deliver(samples.ISSUE_CREATED).status_code == 401


def test_a_connection_without_a_webhook_secret_accepts_nothing(app, client, create_connection):
    from tests.plugins.linear.conftest import API_KEY

    conn = create_connection("linear", {}, {"api_key": API_KEY})
    raw = json.dumps(fresh(samples.ISSUE_CREATED)).encode()
    r = client.post(f"/hooks/linear/{conn['id']}", data=raw, headers={
        "Content-Type": "application/json", "Linear-Signature": signature(raw)})
    assert r.status_code == 401
    assert stored(app) == []


def test_a_delivery_starts_the_workflow_listening_for_it(app, client, keys, deliver):
    api = Api(client, keys["editor"])
    wf = api.create({"name": "on state change", "trigger": {
        "type": "event", "service": "linear", "event": "issue_state_changed"},
        "steps": [{"id": "t", "type": "transform", "mapping": {"state": "trigger.data.state.name"}}]})
    api.create({"name": "on comment", "trigger": {"type": "event", "service": "linear",
                                                  "event": "comment_created"},
                "steps": [{"id": "t", "type": "transform", "mapping": {"x": "trigger.x"}}]})
    r = deliver(fresh(samples.ISSUE_STATE_CHANGED))

    (execution_id,) = r.get_json()["executions"]
    finished = api.wait_finished(execution_id)
    assert (finished["workflow_id"], finished["status"]) == (wf["id"], "succeeded"), finished


# -- the linear_sha256 scheme itself (its timestamp is in the body, which the shared battery in
# -- tests/atom/integrations/test_webhooks.py cannot express) ---------------------------------

NOW = 1_700_000_000.0
URL = "https://atom.example.com/hooks/linear/7"


def body_at(ms: object) -> bytes:
    return json.dumps({"action": "create", "type": "Issue", "data": {"id": "x"},
                       "webhookTimestamp": ms}).encode()


def check(body: bytes, sig: str | None = None, secret: str | None = WEBHOOK_SECRET,
          tolerance: float = 300, now: float = NOW):
    headers = {} if sig == "" else {"Linear-Signature": sig or signature(body)}
    return verify("linear_sha256", WebhookRequest("POST", URL, headers, body), secret,
                  tolerance=tolerance, now=now)


def test_scheme_accepts_a_signed_body_and_digests_the_signature():
    body = body_at(int(NOW * 1000))
    digest = check(body)
    assert isinstance(digest, str) and len(digest) == 64
    assert digest == hashlib.sha256(signature(body).encode()).hexdigest()
    assert check(body, now=NOW + 10) == digest
    assert check(body_at(int(NOW * 1000) + 1)) != digest


@pytest.mark.parametrize("secret", [None, ""])
def test_scheme_refuses_without_a_configured_secret(secret):
    with pytest.raises(SignatureError):
        check(body_at(int(NOW * 1000)), secret=secret)


@pytest.mark.parametrize("sig", ["", "0" * 64, signature(b"{}"), "sha256=" + "0" * 64])
def test_scheme_refuses_a_missing_or_wrong_signature(sig):
    with pytest.raises(SignatureError):
        check(body_at(int(NOW * 1000)), sig=sig)


def test_scheme_checks_the_signature_before_reading_the_body():
    with pytest.raises(SignatureError, match="mismatch"):
        check(b"not json", sig="0" * 64)
    with pytest.raises(SignatureError, match="JSON object"):
        check(b"[1, 2]")


@pytest.mark.parametrize("age_s", [61, -61, 3600])
def test_scheme_keeps_linear_s_minute_even_when_the_receiver_allows_more(age_s):
    with pytest.raises(SignatureError, match="tolerance"):
        check(body_at(int((NOW - age_s) * 1000)), tolerance=300)


@pytest.mark.parametrize("age_s", [59, -59, 0])
def test_scheme_accepts_a_timestamp_within_the_minute(age_s):
    assert check(body_at(int((NOW - age_s) * 1000)))


def test_scheme_applies_a_shorter_receiver_tolerance():
    with pytest.raises(SignatureError, match="tolerance"):
        check(body_at(int((NOW - 40) * 1000)), tolerance=30)


@pytest.mark.parametrize("stamp", [None, "1700000000000", True, "NaN", [1], {"ms": 1}])
def test_scheme_refuses_a_timestamp_that_is_not_a_number(stamp):
    with pytest.raises(SignatureError, match="webhookTimestamp"):
        check(body_at(stamp))


def test_scheme_refuses_non_finite_timestamps():
    for raw in (b'{"webhookTimestamp": NaN}', b'{"webhookTimestamp": Infinity}',
                b'{"webhookTimestamp": 1e999}'):
        with pytest.raises(SignatureError):
            check(raw)
