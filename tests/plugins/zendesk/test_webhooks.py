"""Zendesk webhooks at ``POST /hooks/zendesk/<connection id>``: the ``zendesk_sha256`` scheme
(https://developer.zendesk.com/documentation/webhooks/verifying/: base64(HMAC-SHA256(signing
secret, TIMESTAMP + BODY)), ISO 8601 timestamp), trigger mapping, replays and a workflow run."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from atom.extensions import db
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import WebhookEvent
from plugins.zendesk.payloads import TRIGGER_BODY
from plugins.zendesk.samples import RAW_COMMENT_ADDED
from plugins.zendesk.samples import RAW_PRIORITY_URGENT
from plugins.zendesk.samples import RAW_STATUS_CHANGED
from plugins.zendesk.samples import RAW_TICKET_CREATED
from plugins.zendesk.samples import TICKET_CREATED
from tests.plugins.zendesk.conftest import SIGNING_SECRET


def sign(body: bytes, stamp: str | None = None, secret: str = SIGNING_SECRET) -> dict:
    stamp = stamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode()}


@pytest.fixture
def conn(connect):
    return connect()


@pytest.fixture
def deliver(client, conn):
    def send(payload=None, headers=None, body=None):
        raw = body if body is not None else json.dumps(payload).encode()
        return client.post(f"/hooks/zendesk/{conn['id']}", data=raw,
                           headers=sign(raw) if headers is None else headers)
    return send


def stored(app):
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return [(r.event, r.delivery_id, r.payload) for r in rows]


def _req(headers, body):
    return WebhookRequest("POST", "https://atom.example.com/hooks/zendesk/1", headers, body)


# -- the scheme ---------------------------------------------------------------------------------

def test_a_vector_computed_with_openssl_is_accepted():
    """``printf '%s' '2021-07-25T10:00:00Z{"say": "hello"}' | openssl dgst -sha256 -hmac
    'HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=' -binary | base64``: the secret and body of
    Zendesk's worked example, signed timestamp first as the current page says. (That example's
    own signature, tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=, is over body + timestamp, the
    order an older copy of the page wrote: it is refused.)"""
    secret, body, stamp = ("HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=", b'{"say": "hello"}',
                           "2021-07-25T10:00:00Z")
    now = datetime(2021, 7, 25, 10, 1, tzinfo=UTC).timestamp()
    good = {"X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Signature": "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="}
    assert len(verify("zendesk_sha256", _req(good, body), secret, now=now)) == 64
    old = {**good, "X-Zendesk-Webhook-Signature": "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="}
    with pytest.raises(SignatureError, match="mismatch"):
        verify("zendesk_sha256", _req(old, body), secret, now=now)
    with pytest.raises(SignatureError, match="tolerance"):
        verify("zendesk_sha256", _req(good, body), secret, now=now + 3600)


def test_an_empty_body_is_signed_over_the_timestamp_alone():
    headers = sign(b"", "2021-07-25T10:00:00Z")
    now = datetime(2021, 7, 25, 10, 0, tzinfo=UTC).timestamp()
    assert verify("zendesk_sha256", _req(headers, b""), SIGNING_SECRET, now=now)


# -- deliveries ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, fired", [
    (RAW_TICKET_CREATED, ["ticket_created"]),
    (RAW_STATUS_CHANGED, ["ticket_updated"]),
    (RAW_PRIORITY_URGENT, ["ticket_updated", "ticket_priority_urgent"]),
    (RAW_COMMENT_ADDED, ["ticket_updated", "ticket_comment_added"]),
    ({**RAW_TICKET_CREATED, "detail": {**RAW_TICKET_CREATED["detail"], "priority": "URGENT"}},
     ["ticket_created", "ticket_priority_urgent"]),
])
def test_event_webhooks_fire_their_triggers(app, deliver, raw, fired):
    r = deliver(raw)
    assert r.status_code == 200 and r.get_json()["accepted"] == len(fired), r.get_json()
    assert [e for e, _, _ in stored(app)] == fired
    assert stored(app)[0][2]["ticket"]["id"] == 35436


def test_the_created_payload_is_the_manifest_sample(app, deliver):
    deliver(RAW_TICKET_CREATED)
    assert stored(app)[0][2] == TICKET_CREATED


def test_a_trigger_webhook_body_is_read(app, deliver):
    body = json.loads(json.dumps(TRIGGER_BODY))
    body["atom_event"] = "ticket_priority_urgent"
    body["ticket"].update(id="812", status="Open", priority="Urgent", tags="vip printer",
                          group_id="", updated_at="2025-01-08T11:05:09Z")
    assert deliver(body).get_json()["accepted"] == 1
    ((event, _, payload),) = stored(app)
    assert event == "ticket_priority_urgent"
    assert payload["ticket"] == {**payload["ticket"], "id": 812, "status": "open",
                                 "priority": "urgent", "tags": ["vip", "printer"],
                                 "group_id": None}


def test_other_events_are_acknowledged_not_stored(app, deliver):
    r = deliver({"type": "zen:event-type:user.created", "id": "u1", "detail": {"id": "1"}})
    assert r.status_code == 200 and r.get_json()["accepted"] == 0
    assert stored(app) == []


def test_a_replayed_delivery_is_refused_as_a_duplicate(app, deliver, client, conn):
    raw = json.dumps(RAW_TICKET_CREATED).encode()
    headers = sign(raw)
    assert deliver(body=raw, headers=headers).get_json()["accepted"] == 1
    again = deliver(body=raw, headers=headers).get_json()
    assert again["accepted"] == 0 and again["duplicate"] is True
    # Signed again with a new timestamp (Zendesk's own retry): the event id counts once.
    stamp = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = deliver(body=raw, headers=sign(raw, stamp)).get_json()
    assert (later["accepted"], later["duplicates"]) == (0, 1)
    assert len(stored(app)) == 1


@pytest.mark.parametrize("headers", [
    lambda raw: {"Content-Type": "application/json"},
    lambda raw: sign(raw, secret="another-signing-secret-0123"),
    lambda raw: sign(raw, "2020-01-01T00:00:00Z"),
    lambda raw: {**sign(raw), "X-Zendesk-Webhook-Signature-Timestamp": "1735689600"},
])
def test_unsigned_wrongly_signed_or_stale_deliveries_are_refused(app, deliver, headers):
    raw = json.dumps(RAW_TICKET_CREATED).encode()
    r = deliver(body=raw, headers=headers(raw))
    assert r.status_code == 401 and r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_tampered_body_is_refused(app, deliver):
    raw = json.dumps(RAW_TICKET_CREATED).encode()
    r = deliver(body=raw.replace(b"35436", b"35437"), headers=sign(raw))
    assert r.status_code == 401 and stored(app) == []


@pytest.fixture
def engine_api(app, client, keys):
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine

    yield Api(client, keys["editor"])
    close_engine(app)


def test_an_urgent_ticket_starts_the_workflow_listening_for_it(engine_api, deliver):
    wf = engine_api.create({
        "name": "urgent tickets to chat",
        "trigger": {"type": "event", "service": "zendesk", "event": "ticket_priority_urgent",
                    "conditions": {"ticket.group_id": 8447320466430}},
        "steps": [{"id": "say", "type": "transform",
                   "mapping": {"ticket": "trigger.ticket.id", "was": "trigger.change.previous"}}]})
    (execution,) = deliver(RAW_PRIORITY_URGENT).get_json()["executions"]
    done = engine_api.wait_finished(execution)
    assert (done["workflow_id"], done["status"]) == (wf["id"], "succeeded")
    step = next(s for s in done["steps"] if s["step_id"] == "say")
    assert step["output"] == {"ticket": 35436, "was": "low"}
