"""Graph change notifications at ``POST /hooks/microsoft_teams/<connection id>``: the
``validationToken`` handshake, ``clientState`` verification, trigger mapping, de-duplication
of redeliveries, and a delivery starting a workflow.

From https://learn.microsoft.com/graph/change-notifications-delivery-webhooks: Graph validates
a notification URL by POSTing ``?validationToken=<opaque>`` and expects, within 10 seconds,
200 with the URL-decoded token as ``text/plain``; each later notification in ``value[]``
carries the subscription's ``clientState``, which must equal the value given at creation.
Graph signs no timestamp, so there is no stale-timestamp case.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from atom.extensions import db
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import WebhookEvent
from plugins.microsoft_teams.manifest import MANIFEST
from tests.plugins.microsoft_teams.conftest import CLIENT_STATE

def delivered(payload: dict) -> dict:
    """A stored sample as Graph sends it: with the subscription's clientState, without the ids
    ATOM adds."""
    note = {k: v for k, v in payload.items() if k != "ids"}
    return {**note, "clientState": CLIENT_STATE}


def body_of(*notes: dict) -> bytes:
    return json.dumps({"value": list(notes)}).encode()


@pytest.fixture
def conn(teams_connection):
    return teams_connection()


@pytest.fixture
def deliver(client, conn):
    def send(raw: bytes, query: str = "", content_type: str = "application/json"):
        return client.post(f"/hooks/microsoft_teams/{conn['id']}{query}", data=raw,
                           headers={"Content-Type": content_type})

    return send


def counts(response) -> tuple[int, int]:
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


# -- the scheme, from the documented rule ---------------------------------------------------------


def _req(raw: bytes) -> WebhookRequest:
    return WebhookRequest("POST", "https://atom.example.com/hooks/microsoft_teams/1", {}, raw)


def test_the_scheme_accepts_a_delivery_whose_every_client_state_matches():
    note = delivered(MANIFEST.trigger("channel_message_posted").sample)
    assert verify("graph_client_state", _req(body_of(note, note)), CLIENT_STATE) is None


@pytest.mark.parametrize("raw", [
    body_of({"subscriptionId": "x", "clientState": CLIENT_STATE + "x"}),
    body_of({"subscriptionId": "x", "clientState": CLIENT_STATE}, {"subscriptionId": "y"}),
    body_of({"subscriptionId": "x", "clientState": CLIENT_STATE},
            {"subscriptionId": "y", "clientState": "secretClientValue"}),
    body_of({"subscriptionId": "x", "clientState": 12345}),
    body_of(),
    b'{"value": {"clientState": "secretClientValue-5f3c9a1e7b"}}',
    b"[]",
    b"not json",
])
def test_the_scheme_refuses_a_delivery_with_any_missing_or_wrong_client_state(raw):
    with pytest.raises(SignatureError):
        verify("graph_client_state", _req(raw), CLIENT_STATE)


# -- the validation handshake ---------------------------------------------------------------------


def test_the_validation_handshake_echoes_the_decoded_token_as_text(app, deliver):
    token = "Validation: Testing client application reachability for subscription Request-Id: " \
            "3b3f9821-ce3f-23d9-879b-00a23f3"
    r = deliver(b"", f"?validationToken={quote(token)}", content_type="text/plain; charset=utf-8")

    assert r.status_code == 200
    assert r.mimetype == "text/plain"
    assert r.get_data(as_text=True) == token
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert stored(app) == []


def test_the_handshake_needs_no_client_state_and_stores_none(app, client, create_connection,
                                                            live):
    conn = create_connection("microsoft_teams", {}, {"access_token": "eyJ0.token-only-0123"})
    r = client.post(f"/hooks/microsoft_teams/{conn['id']}?validationToken=abc", data=b"")
    assert (r.status_code, r.get_data(as_text=True)) == (200, "abc")
    assert live(conn).webhook_secret() is None


@pytest.mark.parametrize("token", ["<script>alert(1)</script>", "a\r\nSet-Cookie: x=1", ""])
def test_a_token_that_is_not_plain_text_is_not_echoed(deliver, token):
    r = deliver(b"", f"?validationToken={quote(token)}", content_type="text/plain")
    assert r.status_code == 400
    assert token not in r.get_data(as_text=True) or token == ""


def test_a_get_with_a_validation_token_is_not_a_handshake(client, conn):
    r = client.get(f"/hooks/microsoft_teams/{conn['id']}?validationToken=abc")
    assert r.status_code == 405


# -- deliveries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", [t.name for t in MANIFEST.triggers if t.kind == "webhook"])
def test_each_trigger_sample_is_stored_under_its_trigger(app, deliver, conn, trigger):
    sample = MANIFEST.trigger(trigger).sample
    r = deliver(body_of(delivered(sample)))

    assert r.status_code == 200, r.get_json()
    assert counts(r) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("microsoft_teams", conn["id"],
                                                              trigger)
    assert row.payload == sample
    assert row.delivery_id.startswith("graph:") and len(row.delivery_id) == 70


def test_every_notification_of_a_delivery_is_one_event(app, deliver):
    message = delivered(MANIFEST.trigger("channel_message_posted").sample)
    reply = delivered(MANIFEST.trigger("channel_reply_posted").sample)
    r = deliver(body_of(message, reply))
    assert counts(r) == (2, 0)
    assert [row.event for row in stored(app)] == ["channel_message_posted",
                                                  "channel_reply_posted"]
    assert stored(app)[1].payload["ids"]["reply_id"] == "1612293571238"


def test_the_client_state_is_not_stored(app, deliver):
    deliver(body_of(delivered(MANIFEST.trigger("chat_message_posted").sample)))
    (row,) = stored(app)
    assert "clientState" not in row.payload
    assert CLIENT_STATE not in json.dumps(row.payload)


def test_a_redelivery_is_counted_once(app, deliver):
    raw = body_of(delivered(MANIFEST.trigger("channel_message_posted").sample))
    first, again = deliver(raw), deliver(raw)
    assert counts(first) == (1, 0)
    assert again.status_code == 200 and counts(again) == (0, 1)
    assert len(stored(app)) == 1


@pytest.mark.parametrize("note", [
    {"changeType": "updated"},
    {"changeType": "deleted"},
    {"lifecycleEvent": "reauthorizationRequired"},
    {"resource": "users('8ea0e38b')/messages('AAMkAGU')"},
])
def test_notifications_no_trigger_covers_are_acknowledged_not_stored(app, deliver, note):
    base = delivered(MANIFEST.trigger("channel_message_posted").sample)
    r = deliver(body_of({**base, **note}))
    assert r.status_code == 200
    assert counts(r) == (0, 0)
    assert stored(app) == []


def test_a_wrong_client_state_is_refused_and_nothing_is_stored(app, deliver):
    note = {**delivered(MANIFEST.trigger("channel_message_posted").sample),
            "clientState": "secretClientValue-guessed"}
    r = deliver(body_of(note))
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_one_forged_notification_refuses_the_whole_delivery(app, deliver):
    good = delivered(MANIFEST.trigger("channel_message_posted").sample)
    forged = {**delivered(MANIFEST.trigger("chat_message_posted").sample), "clientState": "x"}
    assert deliver(body_of(good, forged)).status_code == 401
    assert stored(app) == []


def test_a_connection_without_a_client_state_accepts_nothing(app, client, create_connection):
    conn = create_connection("microsoft_teams", {}, {"access_token": "eyJ0.token-only-0123"})
    raw = body_of(delivered(MANIFEST.trigger("channel_message_posted").sample))
    r = client.post(f"/hooks/microsoft_teams/{conn['id']}", data=raw,
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    assert stored(app) == []


# -- a delivery starts a workflow -----------------------------------------------------------------


@pytest.fixture
def engine_api(app, client, keys):
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine

    yield Api(client, keys["editor"])
    close_engine(app)


def test_a_new_channel_message_starts_the_workflow_listening_for_it(engine_api, deliver):
    wf = engine_api.create({
        "name": "answer new messages",
        "trigger": {"type": "event", "service": "MS Teams", "event": "channel_message_posted"},
        "steps": [{"id": "ids", "type": "transform",
                   "mapping": {"team": "trigger.ids.team_id",
                               "message": "trigger.ids.message_id"}}]})
    r = deliver(body_of(delivered(MANIFEST.trigger("channel_message_posted").sample)))

    (execution,) = r.get_json()["executions"]
    done = engine_api.wait_finished(execution)
    assert (done["workflow_id"], done["status"], done["trigger_type"]) == (wf["id"], "succeeded",
                                                                          "event")
    step = next(s for s in done["steps"] if s["step_id"] == "ids")
    assert step["output"] == {"team": "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b",
                              "message": "1612293113399"}
    # Graph retries a notification it got no 2xx for: the redelivery starts nothing.
    again = deliver(body_of(delivered(MANIFEST.trigger("channel_message_posted").sample)))
    assert again.get_json()["executions"] == []
