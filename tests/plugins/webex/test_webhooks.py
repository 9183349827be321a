"""Webex webhooks at ``POST /hooks/webex/<connection id>``: ``X-Spark-Signature``, trigger
mapping, de-duplication of Webex's retries, and a delivery starting a workflow.

From https://developer.webex.com/docs/api/guides/webhooks ("Handling Requests from Webex")
and https://developer.webex.com/blog/using-a-webhook-secret: when a webhook has a ``secret``,
each POST carries ``X-Spark-Signature``, the hex HMAC-SHA1 of the raw body keyed with the
secret. Webex signs no timestamp, so there is no stale-timestamp case; a replay is caught by
the delivery id (the webhook's id, the event and the data's id).
"""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from atom.extensions import db
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import WebhookEvent
from plugins.webex.manifest import MANIFEST
from plugins.webex.samples import CREATOR
from plugins.webex.samples import MESSAGE_CREATED
from tests.plugins.webex.conftest import WEBHOOK_SECRET


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """The documented computation: hex(HMAC-SHA1(secret, raw body))."""
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


@pytest.fixture
def conn(webex_connection):
    return webex_connection()


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict | None = None, headers: dict | None = None, body: bytes | None = None):
        raw = body if body is not None else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", "X-Spark-Signature": signature(raw)}
        return client.post(f"/hooks/webex/{conn['id']}", data=raw,
                           headers=sent if headers is None else headers)

    return send


def counts(response) -> tuple[int, int]:
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


# -- the scheme, with vectors from the documented computation ------------------------------------


def _req(headers: dict, body: bytes) -> WebhookRequest:
    return WebhookRequest("POST", "https://atom.example.com/hooks/webex/1", headers, body)


def test_a_known_vector_is_accepted():
    body = b'{"id":"Y2lz","resource":"messages","event":"created","data":{"id":"Y2lzMsg"}}'
    # hex(HMAC-SHA1("whsec-webex-7c1b2d9e4f", body)), computed outside Python with
    # `printf '%s' "$body" | openssl dgst -sha1 -hmac whsec-webex-7c1b2d9e4f`.
    expected = "0a7d1ccaa8405df6c990b0de29b89437d4b8e01c"
    assert verify("webex_sha1", _req({"X-Spark-Signature": expected}, body), WEBHOOK_SECRET) is None
    upper = {"X-Spark-Signature": expected.upper()}
    assert verify("webex_sha1", _req(upper, body), WEBHOOK_SECRET) is None


@pytest.mark.parametrize("headers", [
    {},
    {"X-Spark-Signature": ""},
    {"X-Spark-Signature": "sha1=" + signature(b"{}")},
    {"X-Spark-Signature": signature(b"{}", "another-secret-0123")},
    {"X-Spark-Signature": hmac.new(WEBHOOK_SECRET.encode(), b"{}", hashlib.sha256).hexdigest()},
])
def test_the_scheme_refuses_a_missing_or_wrong_signature(headers):
    with pytest.raises(SignatureError):
        verify("webex_sha1", _req(headers, b"{}"), WEBHOOK_SECRET)


# -- deliveries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", [t.name for t in MANIFEST.triggers])
def test_each_trigger_sample_is_stored_under_its_trigger(app, deliver, conn, trigger):
    sample = MANIFEST.trigger(trigger).sample
    r = deliver(sample)
    assert r.status_code == 200, r.get_json()
    assert counts(r) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("webex", conn["id"], trigger)
    assert row.payload == sample
    assert row.delivery_id.startswith("webex:")


def test_a_retried_delivery_is_counted_once(app, deliver):
    first, again = deliver(MESSAGE_CREATED), deliver(MESSAGE_CREATED)
    assert counts(first) == (1, 0)
    assert again.status_code == 200 and counts(again) == (0, 1)
    assert len(stored(app)) == 1


def test_two_messages_through_one_webhook_are_two_events(app, deliver):
    second = {**MESSAGE_CREATED, "data": {**MESSAGE_CREATED["data"],
                                          "id": "Y2lzY29zcGFyazovL3VzL01FU1NBR0UvYW5vdGhlcg"}}
    deliver(MESSAGE_CREATED)
    assert counts(deliver(second)) == (1, 0)
    assert len({row.delivery_id for row in stored(app)}) == 2


def test_the_bots_own_message_starts_nothing(app, deliver):
    own = {**MESSAGE_CREATED, "data": {**MESSAGE_CREATED["data"], "personId": CREATOR}}
    r = deliver(own)
    assert r.status_code == 200 and counts(r) == (0, 0)
    assert stored(app) == []


@pytest.mark.parametrize("resource, event", [
    ("messages", "deleted"), ("rooms", "created"), ("memberships", "deleted"),
    ("meetingParticipants", "joined"),
])
def test_events_no_trigger_covers_are_acknowledged_not_stored(app, deliver, resource, event):
    r = deliver({**MESSAGE_CREATED, "resource": resource, "event": event})
    assert r.status_code == 200 and counts(r) == (0, 0)
    assert stored(app) == []


def test_a_wrong_signature_is_refused_and_nothing_is_stored(app, deliver):
    raw = json.dumps(MESSAGE_CREATED).encode()
    r = deliver(body=raw, headers={"Content-Type": "application/json",
                                   "X-Spark-Signature": signature(raw, "guessed-secret-01")})
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_body_changed_after_signing_is_refused(app, deliver):
    raw = json.dumps(MESSAGE_CREATED).encode()
    headers = {"Content-Type": "application/json", "X-Spark-Signature": signature(raw)}
    r = deliver(body=raw.replace(b"matt@example.com", b"mallory@example.com"), headers=headers)
    assert r.status_code == 401
    assert stored(app) == []


def test_an_unsigned_delivery_is_refused(app, deliver):
    r = deliver(body=json.dumps(MESSAGE_CREATED).encode(),
                headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    assert stored(app) == []


def test_a_connection_without_a_webhook_secret_accepts_nothing(app, client, create_connection):
    from tests.plugins.webex.fake_webex import TOKEN

    conn = create_connection("webex", {}, {"token": TOKEN})
    raw = json.dumps(MESSAGE_CREATED).encode()
    r = client.post(f"/hooks/webex/{conn['id']}", data=raw, headers={
        "Content-Type": "application/json", "X-Spark-Signature": signature(raw)})
    assert r.status_code == 401
    assert stored(app) == []


# -- a delivery starts a workflow -----------------------------------------------------------------


@pytest.fixture
def engine_api(app, client, keys):
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine

    yield Api(client, keys["editor"])
    close_engine(app)


def test_a_new_message_starts_the_workflow_listening_for_it(engine_api, deliver):
    wf = engine_api.create({
        "name": "triage webex messages",
        "trigger": {"type": "event", "service": "Cisco Webex", "event": "message_created"},
        "steps": [{"id": "who", "type": "transform",
                   "mapping": {"room": "trigger.data.roomId",
                               "from": "trigger.data.personEmail"}}]})
    r = deliver(MESSAGE_CREATED)

    (execution,) = r.get_json()["executions"]
    done = engine_api.wait_finished(execution)
    assert (done["workflow_id"], done["status"]) == (wf["id"], "succeeded")
    step = next(s for s in done["steps"] if s["step_id"] == "who")
    assert step["output"] == {"room": MESSAGE_CREATED["data"]["roomId"],
                              "from": "matt@example.com"}
    assert deliver(MESSAGE_CREATED).get_json()["executions"] == []
