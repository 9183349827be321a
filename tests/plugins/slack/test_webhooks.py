"""Slack's Events API at ``POST /hooks/slack/<connection id>``: signing, the URL handshake,
trigger mapping and de-duplication of Slack's retries."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from atom.extensions import db
from atom.models import WebhookEvent
from plugins.slack.manifest import MANIFEST
from tests.plugins.slack.conftest import SIGNING_SECRET


def signed(body: bytes, secret: str = SIGNING_SECRET, ts: int | None = None) -> dict[str, str]:
    """The headers Slack sends: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))."""
    ts = int(time.time()) if ts is None else ts
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/json"}


@pytest.fixture
def conn(slack_connection):
    return slack_connection()


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict, headers: dict | None = None, body: bytes | None = None):
        raw = body if body is not None else json.dumps(payload).encode()
        return client.post(f"/hooks/slack/{conn['id']}", data=raw,
                           headers=signed(raw) if headers is None else headers)

    return send


def counts(response) -> tuple[int, int]:
    """(accepted, duplicates) of a receiver's answer."""
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def callback(event: dict, event_id: str = "Ev0TEST001", **envelope) -> dict:
    return {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "team_id": "T0001ABCD",
            "api_app_id": "A0APPID01", "type": "event_callback", "event_id": event_id,
            "event_time": 1717171717, "event": event, **envelope}


def test_the_url_verification_handshake_is_answered(app, deliver):
    r = deliver({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "url_verification",
                 "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    assert r.status_code == 200
    assert r.get_json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert stored(app) == []


def test_an_unsigned_handshake_is_refused(deliver):
    r = deliver({"type": "url_verification", "challenge": "x"}, headers={})
    assert r.status_code == 401
    assert "challenge" not in r.get_json()


@pytest.mark.parametrize("trigger", [t.name for t in MANIFEST.triggers])
def test_each_trigger_sample_is_stored_under_its_trigger(app, deliver, conn, trigger):
    sample = MANIFEST.trigger(trigger).sample
    r = deliver({**sample, "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl"})

    assert r.status_code == 200
    assert counts(r) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("slack", conn["id"], trigger)
    assert row.delivery_id == sample["event_id"]
    assert row.payload == sample


def test_the_verification_token_is_not_stored(app, deliver):
    deliver(callback({"type": "reaction_added", "reaction": "eyes", "user": "U0456EFGH",
                      "item": {"type": "message", "channel": "C1", "ts": "1.2"}}))
    (row,) = stored(app)
    assert "token" not in row.payload
    assert "Jhj5dZrVaK7ZwHHjRyZWjbDl" not in json.dumps(row.payload)


def test_a_retried_delivery_is_counted_once(app, client, conn):
    raw = json.dumps(callback({"type": "message", "text": "hi", "user": "U0456EFGH",
                               "channel": "C0123ABCD", "ts": "1717171717.000200"})).encode()
    first = client.post(f"/hooks/slack/{conn['id']}", data=raw, headers=signed(raw))
    retry = client.post(f"/hooks/slack/{conn['id']}", data=raw, headers={
        **signed(raw), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})

    assert counts(first) == (1, 0)
    assert retry.status_code == 200
    assert counts(retry) == (0, 1)
    assert len(stored(app)) == 1


@pytest.mark.parametrize("event", [
    {"type": "message", "subtype": "message_changed", "channel": "C0123ABCD",
     "message": {"text": "edited"}, "ts": "1717171717.000300"},
    {"type": "message", "subtype": "channel_join", "user": "U0456EFGH", "channel": "C0123ABCD",
     "ts": "1717171717.000300"},
    {"type": "message", "subtype": "bot_message", "bot_id": "B0BOTID01", "app_id": "A0APPID01",
     "text": "our own post", "channel": "C0123ABCD", "ts": "1717171717.000300"},
    {"type": "team_join", "user": {"id": "U0NEW0001"}},
])
def test_events_no_trigger_covers_are_acknowledged_not_stored(app, deliver, event):
    r = deliver(callback(event))
    assert r.status_code == 200
    assert counts(r) == (0, 0)
    assert stored(app) == []


def test_another_bots_message_is_a_posted_message(app, deliver):
    deliver(callback({"type": "message", "subtype": "bot_message", "bot_id": "B0OTHER01",
                      "app_id": "A0MONITOR", "text": "CPU above 90%", "channel": "C0123ABCD",
                      "ts": "1717171717.000300"}))
    assert [row.event for row in stored(app)] == ["message_posted"]


def test_envelopes_other_than_event_callback_are_ignored(app, deliver):
    r = deliver({"token": "x", "team_id": "T0001ABCD", "minute_rate_limited": 1518467820,
                 "api_app_id": "A0APPID01", "type": "app_rate_limited"})
    assert counts(r) == (0, 0)


def test_a_wrong_signature_is_refused(app, deliver):
    raw = json.dumps(callback({"type": "reaction_added"})).encode()
    r = deliver({}, headers=signed(raw, secret="not-the-signing-secret"), body=raw)
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_body_changed_after_signing_is_refused(app, deliver):
    raw = json.dumps(callback({"type": "reaction_added"})).encode()
    headers = signed(raw)
    r = deliver({}, headers=headers, body=raw.replace(b"reaction_added", b"channel_created"))
    assert r.status_code == 401
    assert stored(app) == []


def test_a_missing_signature_is_refused(app, deliver):
    raw = json.dumps(callback({"type": "reaction_added"})).encode()
    headers = signed(raw)
    del headers["X-Slack-Signature"]
    assert deliver({}, headers=headers, body=raw).status_code == 401


def test_a_stale_timestamp_is_refused_even_when_correctly_signed(app, deliver):
    raw = json.dumps(callback({"type": "reaction_added"})).encode()
    r = deliver({}, headers=signed(raw, ts=int(time.time()) - 600), body=raw)
    assert r.status_code == 401
    assert "tolerance" in r.get_json()["message"]
    assert stored(app) == []


def test_a_connection_without_a_signing_secret_accepts_nothing(app, client, create_connection):
    conn = create_connection("slack", {}, {"token": "xoxb-1111-2222-abcdef"})
    raw = json.dumps(callback({"type": "reaction_added"})).encode()
    r = client.post(f"/hooks/slack/{conn['id']}", data=raw, headers=signed(raw))
    assert r.status_code == 401
    assert stored(app) == []


def _receipts(app) -> list[str]:
    from atom.models import WebhookReceipt

    with app.app_context():
        return [r.scope for r in db.session.scalars(db.select(WebhookReceipt))]


def test_a_replayed_request_is_a_duplicate_by_its_signature(app, client, conn):
    """Slack signs its timestamp: the same signed request again is a replay, even for an event
    no trigger stores (so no event id could have caught it)."""
    raw = json.dumps(callback({"type": "team_join", "user": {"id": "U0NEW0001"}})).encode()
    headers = signed(raw)
    first = client.post(f"/hooks/slack/{conn['id']}", data=raw, headers=headers)
    replay = client.post(f"/hooks/slack/{conn['id']}", data=raw, headers=headers)
    assert first.status_code == 200 and first.get_json()["duplicate"] is False
    assert replay.status_code == 200 and replay.get_json()["duplicate"] is True
    assert _receipts(app) == [f"connection:{conn['id']}"]


@pytest.mark.parametrize("stamp", ["nan", "inf", "1e999", "12abc"])
def test_a_timestamp_that_is_not_a_finite_number_is_refused(app, client, conn, stamp):
    raw = json.dumps(callback({"type": "reaction_added"})).encode()
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    r = client.post(f"/hooks/slack/{conn['id']}", data=raw, headers={
        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json"})
    assert r.status_code == 401
    assert stored(app) == [] and _receipts(app) == []
