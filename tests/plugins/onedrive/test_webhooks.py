"""Graph change notifications at ``POST /hooks/onedrive/<connection id>``: the
``validationToken`` handshake, and notifications that only nudge the file triggers' polls.

From https://learn.microsoft.com/graph/change-notifications-delivery-webhooks: Graph validates
a notification URL by POSTing ``?validationToken=<opaque>`` and expects, within 10 seconds,
200 with the token as ``text/plain``; each notification in ``value[]`` carries the
subscription's ``clientState``; Graph wants a 2xx (202) within 3 seconds. driveItem
notifications carry no data (resource data is not supported for driveItems), so a verified
one makes the connection's primed file-trigger cursors due now and stores no event. Graph signs
no timestamp: a replayed notification only makes the polls due again (harmless; the poll
fetches from the stored deltaLink and each item still fires once).
"""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest

from atom.extensions import db
from atom.models import PollCursor
from atom.models import WebhookEvent
from atom.models.base import utcnow
from tests.plugins.onedrive.conftest import CLIENT_STATE


def notification(client_state: str | None = CLIENT_STATE) -> bytes:
    note = {"subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
            "subscriptionExpirationDateTime": "2024-06-03T16:00:00Z",
            "tenantId": "2432b57b-0abd-43db-aa7b-16eadd115d34", "changeType": "updated",
            "resource": "/drives/b!fakeDrive0001/root", "resourceData": None}
    if client_state is not None:
        note["clientState"] = client_state
    return json.dumps({"value": [note]}).encode()


@pytest.fixture
def deliver(client, conn):
    def send(raw: bytes, query: str = ""):
        return client.post(f"/hooks/onedrive/{conn['id']}{query}", data=raw,
                           headers={"Content-Type": "application/json"})

    return send


@pytest.fixture
def cursors(app, conn):
    later = utcnow() + timedelta(hours=1)
    with app.app_context():
        for trigger in ("file_added", "file_changed"):
            db.session.add(PollCursor(connection_id=conn["id"], trigger=trigger,
                                      params_hash="0" * 64, params={}, cursor="{}",
                                      primed_at=utcnow(), next_poll_at=later))
        db.session.commit()

    def due() -> list[bool]:
        with app.app_context():
            return [c.next_poll_at <= utcnow() for c in db.session.scalars(
                db.select(PollCursor).order_by(PollCursor.id))]

    return due


def events(app) -> list:
    with app.app_context():
        return db.session.scalars(db.select(WebhookEvent)).all()


def test_the_validation_token_is_echoed_as_plain_text(deliver):
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    r = deliver(b"", f"?validationToken={quote(token)}")
    assert r.status_code == 200
    assert r.get_data(as_text=True) == token
    assert r.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("token", ["<script>alert(1)</script>", "a\x00b"])
def test_a_token_that_is_not_plain_text_is_refused(deliver, token):
    r = deliver(b"", f"?validationToken={quote(token)}")
    assert r.status_code == 400
    assert "script" not in r.get_data(as_text=True)


def test_a_notification_makes_the_file_triggers_poll_now(app, deliver, cursors):
    assert cursors() == [False, False]
    r = deliver(notification())
    assert r.status_code == 202
    assert cursors() == [True, True]
    assert events(app) == []


@pytest.mark.parametrize("raw", [
    notification("secretClientValue-wrong000"),
    notification(None),
    b'{"value": []}',
    b"not json",
])
def test_a_forged_notification_is_refused_and_moves_nothing(app, deliver, cursors, raw):
    r = deliver(raw)
    assert r.status_code == 401
    assert cursors() == [False, False]
    assert events(app) == []


def test_a_notification_for_a_connection_without_client_state_is_refused(
        app, client, create_connection):
    from tests.plugins.onedrive.conftest import TOKEN

    bare = create_connection("onedrive", {}, {"access_token": TOKEN})
    r = client.post(f"/hooks/onedrive/{bare['id']}", data=notification(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 401


def test_a_replayed_notification_only_makes_the_polls_due_again(app, deliver, cursors):
    assert deliver(notification()).status_code == 202
    assert deliver(notification()).status_code == 202
    assert cursors() == [True, True] and events(app) == []
