"""Trello webhooks at ``/hooks/trello/<connection id>``: the HEAD check when a webhook is
created, ``X-Trello-Webhook`` over the body and the callback URL, trigger mapping from the
action type, and de-duplication of Trello's retries on the action id."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from atom.extensions import db
from atom.models import WebhookEvent
from plugins.trello import samples
from plugins.trello.manifest import MANIFEST
from tests.plugins.trello.conftest import API_KEY
from tests.plugins.trello.conftest import APP_SECRET
from tests.plugins.trello.conftest import TOKEN

SAMPLES = {
    "card_created": samples.CARD_CREATED,
    "card_moved": samples.CARD_MOVED,
    "card_updated": samples.CARD_UPDATED,
    "comment_added": samples.COMMENT_ADDED,
}


def node_binary(text: str) -> bytes:
    """What Trello's signer hashes (developer.atlassian.com/cloud/trello/guides/rest-api/
    webhooks, "Webhook signatures"): Node's "binary" encoding of the JavaScript string, the
    8 least significant bits of each UTF-16 code unit (an en dash, U+2013, becomes 19)."""
    units: list[int] = []
    for char in text:
        point = ord(char)
        if point > 0xFFFF:  # a surrogate pair in JavaScript
            point -= 0x10000
            units += [0xD800 + (point >> 10), 0xDC00 + (point & 0x3FF)]
        else:
            units.append(point)
    return bytes(unit & 0xFF for unit in units)


def signature(body: bytes, callback_url: str, secret: str = APP_SECRET) -> str:
    """X-Trello-Webhook = base64(HMAC-SHA1(app secret, body + callbackURL))."""
    content = node_binary(body.decode("utf-8") + callback_url)
    return base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha1).digest()).decode()


@pytest.fixture
def conn(trello_connection):
    return trello_connection()


def url_of(conn: dict) -> str:
    """The callback URL ATOM registers and Trello posts to (the test client's host)."""
    return f"http://localhost/hooks/trello/{conn['id']}"


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict, headers: dict | None = None, body: bytes | None = None,
             to: dict | None = None):
        raw = body if body is not None else json.dumps(payload).encode()
        target = to or conn
        if headers is None:
            headers = {"X-Trello-Webhook": signature(raw, url_of(target)),
                       "Content-Type": "application/json"}
        return client.post(f"/hooks/trello/{target['id']}", data=raw, headers=headers)

    return send


def counts(response) -> tuple[int, int]:
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def test_the_documented_en_dash_example():
    assert node_binary("\u2013") == bytes([19])


def test_trellos_head_check_of_a_new_webhook_is_answered(app, client, conn):
    r = client.head(f"/hooks/trello/{conn['id']}")
    assert r.status_code == 200
    assert stored(app) == []


def test_a_get_is_not_a_delivery(client, conn):
    assert client.get(f"/hooks/trello/{conn['id']}").status_code == 405


def test_every_trigger_has_a_sample_delivery():
    assert set(SAMPLES) == {t.name for t in MANIFEST.triggers}
    assert all(MANIFEST.trigger(name).sample is payload for name, payload in SAMPLES.items())


@pytest.mark.parametrize("trigger", sorted(SAMPLES))
def test_each_sample_delivery_is_stored_under_its_trigger(app, deliver, conn, trigger):
    sample = SAMPLES[trigger]
    r = deliver({**sample, "webhook": {"id": "58dd6dcaf8b86744d3cb4cde",
                                       "idModel": sample["model"]["id"],
                                       "callbackURL": url_of(conn), "active": True}})
    assert r.status_code == 200, r.get_json()
    assert counts(r) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("trello", conn["id"], trigger)
    assert row.delivery_id == sample["action"]["id"]
    assert row.payload == sample


def test_a_non_ascii_delivery_is_verified_as_trello_signs_it(app, deliver):
    card = {**samples.CARD_CREATED["action"]["data"]["card"], "name": "Q3 planning – 🚀 café"}
    payload = {**samples.CARD_CREATED, "action": {**samples.CARD_CREATED["action"],
                                                  "data": {"card": card}}}
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    r = deliver({}, body=raw)
    assert r.status_code == 200, r.get_json()
    assert stored(app)[0].payload["action"]["data"]["card"]["name"] == "Q3 planning – 🚀 café"


def test_a_digest_over_the_utf8_bytes_is_accepted_too(app, client, conn):
    raw = json.dumps({**samples.COMMENT_ADDED, "note": "naïve"}, ensure_ascii=False).encode()
    digest = hmac.new(APP_SECRET.encode(), raw + url_of(conn).encode(), hashlib.sha1).digest()
    r = client.post(f"/hooks/trello/{conn['id']}", data=raw,
                    headers={"X-Trello-Webhook": base64.b64encode(digest).decode()})
    assert r.status_code == 200


def test_a_retried_delivery_is_counted_once(app, deliver):
    first = deliver(samples.CARD_MOVED)
    again = deliver(samples.CARD_MOVED)
    assert counts(first) == (1, 0)
    assert (again.status_code, counts(again)) == (200, (0, 1))
    assert again.get_json()["duplicate"] is True
    assert len(stored(app)) == 1


@pytest.mark.parametrize("kind", ["addMemberToCard", "updateList", "createList",
                                  "updateCheckItemStateOnCard", "deleteCard"])
def test_actions_no_trigger_covers_are_acknowledged_not_stored(app, deliver, kind):
    r = deliver({**samples.CARD_CREATED, "action": {**samples.CARD_CREATED["action"],
                                                    "type": kind}})
    assert (r.status_code, counts(r)) == (200, (0, 0))
    assert stored(app) == []


def test_a_wrong_secret_is_refused_and_nothing_is_stored(app, deliver, conn):
    raw = json.dumps(samples.CARD_CREATED).encode()
    r = deliver({}, body=raw, headers={"X-Trello-Webhook": signature(raw, url_of(conn), "x" * 32)})
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_signature_for_another_callback_url_is_refused(app, deliver, trello_connection, conn):
    """The URL is signed: a delivery signed for one connection's hook does not verify at
    another's, even with the same secret."""
    other = trello_connection()
    raw = json.dumps(samples.CARD_CREATED).encode()
    r = deliver({}, body=raw, to=other,
                headers={"X-Trello-Webhook": signature(raw, url_of(conn))})
    assert r.status_code == 401
    https = url_of(conn).replace("http:", "https:")
    r = deliver({}, body=raw, headers={"X-Trello-Webhook": signature(raw, https)})
    assert r.status_code == 401
    assert stored(app) == []


def test_a_body_changed_after_signing_is_refused(app, deliver, conn):
    raw = json.dumps(samples.CARD_CREATED).encode()
    r = deliver({}, body=raw.replace(b"createCard", b"commentCard"),
                headers={"X-Trello-Webhook": signature(raw, url_of(conn))})
    assert r.status_code == 401


def test_a_missing_signature_is_refused(app, deliver):
    raw = json.dumps(samples.CARD_CREATED).encode()
    assert deliver({}, body=raw, headers={"Content-Type": "application/json"}).status_code == 401


def test_a_body_that_is_not_utf8_is_refused(app, deliver, conn):
    raw = b'{"action": {"id": "\xff"}}'
    r = deliver({}, body=raw, headers={"X-Trello-Webhook": "AAAA"})
    assert r.status_code == 401


def test_a_connection_without_the_app_secret_accepts_nothing(app, client, create_connection):
    conn = create_connection("trello", {}, {"api_key": API_KEY, "token": TOKEN})
    raw = json.dumps(samples.CARD_CREATED).encode()
    r = client.post(f"/hooks/trello/{conn['id']}", data=raw,
                    headers={"X-Trello-Webhook": signature(raw, url_of(conn))})
    assert r.status_code == 401
    assert stored(app) == []


def test_a_delivery_starts_the_workflow_listening_for_it(app, client, keys, deliver):
    from tests.atom.engine.conftest import close_engine

    workflow = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "Cards moved",
        "trigger": {"type": "event", "service": "trello", "event": "card_moved"},
        "steps": [{"id": "pick", "type": "transform",
                   "mapping": {"card": "trigger.action.data.card.name",
                               "to": "trigger.action.data.listAfter.name"}}]})
    assert workflow.status_code == 201, workflow.get_json()
    try:
        assert counts(deliver(samples.CARD_CREATED)) == (1, 0)
        r = deliver(samples.CARD_MOVED)
        (execution_id,) = r.get_json()["executions"]
        deadline = time.monotonic() + 20
        while True:
            execution = client.get(f"/api/v2/executions/{execution_id}",
                                   headers=keys["viewer"]).get_json()
            if execution["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert execution["status"] == "succeeded", execution
        assert execution["steps"][0]["output"] == {"card": "Webhooks", "to": "Doing"}
    finally:
        close_engine(app)
