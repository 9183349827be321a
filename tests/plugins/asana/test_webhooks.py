"""Asana webhooks at ``POST /hooks/asana/<connection id>``: the X-Hook-Secret handshake, the
X-Hook-Signature check, one event per element of ``events`` and de-duplication of Asana's
redeliveries (its events carry no id)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from atom.extensions import db
from atom.models import WebhookEvent
from plugins.asana import samples
from plugins.asana.manifest import MANIFEST
from tests.plugins.asana.conftest import HOOK_SECRET
from tests.plugins.asana.conftest import TOKEN

SAMPLES = {
    "task_created": samples.TASK_CREATED,
    "task_completed": samples.TASK_COMPLETED,
    "task_updated": samples.TASK_UPDATED,
    "comment_added": samples.COMMENT_ADDED,
    "task_deleted": samples.TASK_DELETED,
}


def signed(body: bytes, secret: str = HOOK_SECRET) -> dict[str, str]:
    """What Asana sends (developers.asana.com/docs/webhooks-guide, "Security"):
    X-Hook-Signature = hex(HMAC-SHA256(the handshake's X-Hook-Secret, request body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hook-Signature": digest, "Content-Type": "application/json; charset=utf-8"}


@pytest.fixture
def conn(asana_connection):
    return asana_connection(webhook_secret=HOOK_SECRET)


@pytest.fixture
def deliver(client, conn):
    def send(events: list[dict], headers: dict | None = None, body: bytes | None = None,
             to: dict | None = None):
        raw = body if body is not None else json.dumps({"events": events}).encode()
        return client.post(f"/hooks/asana/{(to or conn)['id']}", data=raw,
                           headers=signed(raw) if headers is None else headers)

    return send


def counts(response) -> tuple[int, int]:
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def handshake(client, conn: dict, secret: str = HOOK_SECRET):
    """Asana's creation handshake: a POST carrying X-Hook-Secret (and no signature)."""
    return client.post(f"/hooks/asana/{conn['id']}", data=b"",
                       headers={"X-Hook-Secret": secret})


# -- the handshake ------------------------------------------------------------------------------


def test_the_handshake_echoes_the_secret_and_the_connection_adopts_it(app, client,
                                                                       asana_connection):
    conn = asana_connection()
    r = handshake(client, conn)

    assert r.status_code == 200
    assert r.headers["X-Hook-Secret"] == HOOK_SECRET
    assert stored(app) == []
    # From now on deliveries signed with that secret are accepted, others are not.
    raw = json.dumps({"events": [samples.TASK_CREATED]}).encode()
    assert client.post(f"/hooks/asana/{conn['id']}", data=raw,
                       headers=signed(raw)).status_code == 200
    assert client.post(f"/hooks/asana/{conn['id']}", data=raw,
                       headers=signed(raw, "f" * 64)).status_code == 401
    assert [row.event for row in stored(app)] == ["task_created"]


def test_the_adopted_secret_is_stored_as_a_masked_credential(client, keys, asana_connection):
    conn = asana_connection()
    handshake(client, conn)
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["admin"]).get_data(
        as_text=True)
    assert HOOK_SECRET not in shown
    assert TOKEN not in shown


def test_a_later_handshake_cannot_replace_the_secret(app, client, conn, deliver):
    forged = "0123456789abcdef" * 4
    r = handshake(client, conn, forged)

    assert r.status_code == 409
    assert "X-Hook-Secret" not in r.headers
    # The stored secret still verifies; the forged one does not.
    raw = json.dumps({"events": [samples.TASK_CREATED]}).encode()
    assert deliver([], headers=signed(raw, forged), body=raw).status_code == 401
    assert deliver([samples.TASK_CREATED]).status_code == 200


def test_the_same_handshake_again_is_answered(client, conn):
    r = handshake(client, conn)
    assert (r.status_code, r.headers["X-Hook-Secret"]) == (200, HOOK_SECRET)


@pytest.mark.parametrize("secret", ["short", "has space in it 0123456789", "x" * 300])
def test_a_malformed_secret_is_refused_and_not_adopted(app, client, asana_connection, secret):
    conn = asana_connection()
    r = handshake(client, conn, secret)
    assert r.status_code == 400
    raw = json.dumps({"events": [samples.TASK_CREATED]}).encode()
    assert client.post(f"/hooks/asana/{conn['id']}", data=raw,
                       headers=signed(raw, secret)).status_code == 401


def test_a_get_is_not_a_delivery(client, conn):
    assert client.get(f"/hooks/asana/{conn['id']}").status_code == 405


# -- deliveries ---------------------------------------------------------------------------------


def test_every_trigger_has_a_sample_event():
    assert set(SAMPLES) == {t.name for t in MANIFEST.triggers}
    assert all(MANIFEST.trigger(name).sample is event for name, event in SAMPLES.items())


@pytest.mark.parametrize("trigger", sorted(SAMPLES))
def test_each_sample_event_is_stored_under_its_trigger(app, deliver, conn, trigger):
    event = SAMPLES[trigger]
    r = deliver([event])

    assert r.status_code == 200
    assert counts(r) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("asana", conn["id"], trigger)
    assert row.payload == event
    assert row.delivery_id.startswith(f"{event['resource']['gid']}:{event['action']}:")
    assert row.delivery_id.endswith(event["created_at"])


def test_one_delivery_with_several_events_stores_each(app, deliver):
    r = deliver([samples.TASK_CREATED, samples.COMMENT_ADDED, samples.TASK_COMPLETED])
    assert counts(r) == (3, 0)
    assert [row.event for row in stored(app)] == ["task_created", "comment_added",
                                                  "task_completed"]


def test_two_changes_at_the_same_instant_are_two_events(app, deliver):
    due = {**samples.TASK_UPDATED, "change": {"field": "due_on", "action": "changed"}}
    r = deliver([samples.TASK_UPDATED, due])
    assert counts(r) == (2, 0)
    assert len({row.delivery_id for row in stored(app)}) == 2


def test_a_redelivery_is_counted_once(app, client, conn):
    """Asana resends a delivery it got no 2xx for (for up to 24 h): the same events again."""
    raw = json.dumps({"events": [samples.TASK_CREATED, samples.TASK_UPDATED]}).encode()
    first = client.post(f"/hooks/asana/{conn['id']}", data=raw, headers=signed(raw))
    again = client.post(f"/hooks/asana/{conn['id']}", data=raw, headers=signed(raw))

    assert counts(first) == (2, 0)
    assert again.status_code == 200
    assert counts(again) == (0, 2)
    assert again.get_json()["duplicate"] is True
    assert len(stored(app)) == 2


@pytest.mark.parametrize("event", [
    # A task added to a section comes with its addition to the project (or is a move).
    {**samples.TASK_CREATED, "parent": {"gid": "1209999999999999", "resource_type": "section"}},
    {**samples.TASK_CREATED, "action": "removed"},
    {**samples.TASK_CREATED, "action": "undeleted", "parent": None},
    # A system story ("assigned to", "changed the due date"), not a comment.
    {**samples.COMMENT_ADDED, "resource": {"gid": "1207777777777778", "resource_type": "story",
                                           "resource_subtype": "assigned"}},
    {**samples.TASK_UPDATED, "resource": {"gid": "1209876543210987",
                                          "resource_type": "project"}},
    "not an event",
])
def test_events_no_trigger_covers_are_acknowledged_not_stored(app, deliver, event):
    r = deliver([event])
    assert r.status_code == 200
    assert counts(r) == (0, 0)
    assert stored(app) == []


def test_a_heartbeat_is_acknowledged(app, deliver):
    r = deliver([])
    assert (r.status_code, counts(r)) == (200, (0, 0))


def test_a_wrong_signature_is_refused_and_nothing_is_stored(app, deliver):
    raw = json.dumps({"events": [samples.TASK_CREATED]}).encode()
    r = deliver([], headers=signed(raw, secret="0" * 64), body=raw)
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_body_changed_after_signing_is_refused(app, deliver):
    raw = json.dumps({"events": [samples.TASK_CREATED]}).encode()
    r = deliver([], headers=signed(raw), body=raw.replace(b"added", b"deleted"))
    assert r.status_code == 401
    assert stored(app) == []


def test_a_missing_signature_is_refused(app, deliver):
    raw = json.dumps({"events": [samples.TASK_CREATED]}).encode()
    assert deliver([], headers={"Content-Type": "application/json"}, body=raw).status_code == 401
    assert stored(app) == []


def test_a_connection_without_a_webhook_secret_accepts_nothing(app, client, asana_connection):
    conn = asana_connection()
    raw = json.dumps({"events": [samples.TASK_CREATED]}).encode()
    r = client.post(f"/hooks/asana/{conn['id']}", data=raw, headers=signed(raw))
    assert r.status_code == 401
    assert stored(app) == []


def test_the_signature_is_checked_over_the_raw_bytes(app, deliver):
    """Whitespace and key order are Asana's: the digest covers the body exactly as sent."""
    raw = b'{ "events" : [' + json.dumps(samples.TASK_CREATED, indent=2).encode() + b"]}"
    r = deliver([], headers=signed(raw), body=raw)
    assert counts(r) == (1, 0)


def test_a_delivery_starts_the_workflow_listening_for_it(app, client, keys, deliver):
    from tests.atom.engine.conftest import close_engine

    workflow = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "Completed Asana tasks",
        "trigger": {"type": "event", "service": "asana", "event": "task_completed"},
        "steps": [{"id": "pick", "type": "transform",
                   "mapping": {"task": "trigger.resource.gid", "field": "trigger.change.field"}}]})
    assert workflow.status_code == 201, workflow.get_json()
    try:
        r = deliver([samples.TASK_CREATED, samples.TASK_COMPLETED])
        assert counts(r) == (2, 0)
        (execution_id,) = r.get_json()["executions"]
        deadline = time.monotonic() + 20
        while True:
            execution = client.get(f"/api/v2/executions/{execution_id}",
                                   headers=keys["viewer"]).get_json()
            if execution["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert execution["status"] == "succeeded", execution
        assert execution["trigger_type"] == "event"
        assert execution["steps"][0]["output"] == {"task": "1207654321098765",
                                                   "field": "completed"}
    finally:
        close_engine(app)
