"""Discord interactions at ``POST /hooks/discord/<connection id>``: Ed25519 signatures, the PING
handshake, trigger mapping, replays, and a delivery starting a workflow.

Signed as Discord's reference says (Interactions > Overview > "Validating Security Request
Headers"): ``X-Signature-Ed25519`` is the hex Ed25519 signature, by the application's key, of
the ``X-Signature-Timestamp`` value followed by the raw body.
"""
from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from atom.extensions import db
from atom.models import WebhookEvent
from atom.models import WebhookReceipt
from plugins.discord.manifest import MANIFEST
from plugins.discord.samples import COMMAND_INVOKED
from tests.plugins.discord.conftest import APP_KEY
from tests.plugins.discord.conftest import DISCORD
from tests.plugins.discord.conftest import recorded


def signed(body: bytes, key: Ed25519PrivateKey = APP_KEY, ts: int | str | None = None) -> dict:
    """The headers Discord sends with an interaction."""
    stamp = str(int(time.time()) if ts is None else ts)
    signature = key.sign(stamp.encode() + body).hex()
    return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp,
            "Content-Type": "application/json"}


@pytest.fixture
def conn(discord_connection):
    return discord_connection()


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict | None = None, headers: dict | None = None, body: bytes | None = None):
        raw = body if body is not None else json.dumps(payload).encode()
        return client.post(f"/hooks/discord/{conn['id']}", data=raw,
                           headers=signed(raw) if headers is None else headers)

    return send


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def receipts(app) -> int:
    with app.app_context():
        return len(db.session.scalars(db.select(WebhookReceipt)).all())


PING = {"id": "846462639134605311", "application_id": "290926444748734465", "type": 1,
        "token": "unique_interaction_token", "version": 1}


def test_the_ping_is_answered_with_a_pong(app, deliver):
    r = deliver(PING)
    assert r.status_code == 200
    assert r.get_json() == {"type": 1}
    assert stored(app) == []


def test_an_unsigned_ping_is_refused(app, deliver):
    # Discord checks this when the endpoint is saved: a bad signature must get 401.
    r = deliver(PING, headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    assert "type" not in r.get_json()


@pytest.mark.parametrize("trigger", [t.name for t in MANIFEST.triggers if t.kind == "webhook"])
def test_each_trigger_sample_is_stored_under_its_trigger(app, deliver, conn, trigger):
    sample = MANIFEST.trigger(trigger).sample
    r = deliver(sample)

    assert r.status_code == 200, r.get_json()
    # Discord's deferred response: "thinking..." for commands and modals, an update for buttons.
    assert r.get_json() == {"type": 6 if sample["type"] == 3 else 5}
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("discord", conn["id"], trigger)
    assert row.delivery_id == sample["id"]
    assert row.payload == sample


def test_an_interaction_sent_again_is_counted_once(app, client, conn):
    raw = json.dumps(COMMAND_INVOKED).encode()
    first = client.post(f"/hooks/discord/{conn['id']}", data=raw, headers=signed(raw))
    # Signed afresh (a new timestamp), the same interaction id.
    again = client.post(f"/hooks/discord/{conn['id']}", data=raw,
                        headers=signed(raw, ts=int(time.time()) + 1))
    # Both are answered as Discord expects; the interaction is stored once.
    assert first.get_json() == again.get_json() == {"type": 5}
    assert len(stored(app)) == 1


def test_a_replayed_request_is_a_duplicate_by_its_signature(app, client, conn):
    raw = json.dumps({**COMMAND_INVOKED, "id": "786008729715212339"}).encode()
    headers = signed(raw)
    first = client.post(f"/hooks/discord/{conn['id']}", data=raw, headers=headers)
    replay = client.post(f"/hooks/discord/{conn['id']}", data=raw, headers=headers)
    shouted = client.post(f"/hooks/discord/{conn['id']}", data=raw, headers={
        **headers, "X-Signature-Ed25519": headers["X-Signature-Ed25519"].upper()})
    assert first.get_json() == {"type": 5}
    # A replay and the same signature spelt in upper case are the same delivery: answered,
    # not stored again.
    assert replay.status_code == 200 and shouted.status_code == 200
    assert receipts(app) == 1 and len(stored(app)) == 1


@pytest.mark.parametrize("payload", [
    {"id": "846462639134605399", "type": 4, "application_id": "290926444748734465",
     "token": "t", "data": {"name": "cardsearch", "options": [{"name": "cardname",
                                                               "value": "Gi", "focused": True}]}},
    {"id": "846462639134605398", "type": 99, "token": "t"},
    {"type": 2, "token": "t"},
])
def test_interactions_no_trigger_covers_are_acknowledged_not_stored(app, deliver, payload):
    r = deliver(payload)
    assert r.status_code == 200
    assert r.get_json()["accepted"] == 0
    assert stored(app) == []


def test_a_signature_by_another_key_is_refused(app, deliver):
    raw = json.dumps(COMMAND_INVOKED).encode()
    r = deliver(headers=signed(raw, key=Ed25519PrivateKey.generate()), body=raw)
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == [] and receipts(app) == 0


def test_a_body_changed_after_signing_is_refused(app, deliver):
    raw = json.dumps(COMMAND_INVOKED).encode()
    r = deliver(headers=signed(raw), body=raw.replace(b"cardsearch", b"ban-everyone"))
    assert r.status_code == 401
    assert stored(app) == []


def test_a_timestamp_changed_after_signing_is_refused(app, deliver):
    raw = json.dumps(COMMAND_INVOKED).encode()
    headers = signed(raw)
    headers["X-Signature-Timestamp"] = str(int(headers["X-Signature-Timestamp"]) + 1)
    assert deliver(headers=headers, body=raw).status_code == 401


@pytest.mark.parametrize("header", ["X-Signature-Ed25519", "X-Signature-Timestamp"])
def test_a_missing_header_is_refused(app, deliver, header):
    raw = json.dumps(COMMAND_INVOKED).encode()
    headers = signed(raw)
    del headers[header]
    r = deliver(headers=headers, body=raw)
    assert r.status_code == 401
    assert header in r.get_json()["message"]


@pytest.mark.parametrize("signature", ["zz" * 64, "ab" * 63, "", "ab" * 65])
def test_a_malformed_signature_is_refused(app, deliver, signature):
    raw = json.dumps(COMMAND_INVOKED).encode()
    r = deliver(headers={**signed(raw), "X-Signature-Ed25519": signature}, body=raw)
    assert r.status_code == 401
    assert stored(app) == []


def test_a_stale_timestamp_is_refused_even_when_correctly_signed(app, deliver):
    raw = json.dumps(COMMAND_INVOKED).encode()
    r = deliver(headers=signed(raw, ts=int(time.time()) - 600), body=raw)
    assert r.status_code == 401
    assert "tolerance" in r.get_json()["message"]
    assert stored(app) == [] and receipts(app) == 0


@pytest.mark.parametrize("stamp", ["nan", "inf", "1e999", "12abc"])
def test_a_timestamp_that_is_not_a_finite_number_is_refused(app, deliver, stamp):
    raw = json.dumps(COMMAND_INVOKED).encode()
    r = deliver(headers=signed(raw, ts=stamp), body=raw)
    assert r.status_code == 401
    assert stored(app) == [] and receipts(app) == 0


def test_a_connection_without_a_public_key_accepts_nothing(app, client, create_connection):
    from tests.plugins.discord.conftest import TOKEN

    conn = create_connection("discord", {}, {"token": TOKEN})
    raw = json.dumps(PING).encode()
    r = client.post(f"/hooks/discord/{conn['id']}", data=raw, headers=signed(raw))
    assert r.status_code == 401


# -- a delivery starts a workflow -------------------------------------------------------------


@pytest.fixture
def engine_app(app):
    from tests.atom.engine.conftest import close_engine

    yield app
    close_engine(app)


def test_a_slash_command_starts_the_workflow_that_answers_it(engine_app, client, keys, conn,
                                                             fake_discord):
    from tests.atom.engine.conftest import Api

    fake_discord.post(f"{DISCORD}/channels/645027906669510667/messages",
                      json=recorded("message_created"))
    api = Api(client, keys["editor"])
    workflow = api.create({
        "name": "card search",
        "trigger": {"type": "event", "service": "discord", "event": "command_invoked",
                    "conditions": {"data.name": "cardsearch"}},
        "steps": [{"id": "answer", "type": "action", "service": "discord",
                   "action": "send_message", "connection": conn["id"],
                   "parameters": {"channel_id": "{{ trigger.channel_id }}",
                                  "content": "Looking up {{ trigger.data.options[0].value }}"}}],
    })
    raw = json.dumps(COMMAND_INVOKED).encode()
    r = client.post(f"/hooks/discord/{conn['id']}", data=raw, headers=signed(raw))

    assert r.status_code == 200 and r.get_json() == {"type": 5}  # Discord's "thinking..."
    listed = client.get(f"/api/v2/executions?workflow_id={workflow['id']}",
                        headers=keys["viewer"]).get_json()
    (execution,) = [e["id"] for e in listed["executions"]]
    finished = api.wait_finished(execution)
    assert finished["status"] == "succeeded", finished
    assert finished["workflow_id"] == workflow["id"]
    (call,) = fake_discord.calls
    assert json.loads(call.request.body)["content"] == "Looking up The Gitrog Monster"
