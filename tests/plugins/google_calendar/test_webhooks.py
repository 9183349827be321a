"""Google Calendar push channels: the ``google_channel_token`` scheme, notifications at
``POST /hooks/google_calendar/<connection id>`` (the ``sync`` handshake and change
notifications, which have empty bodies), and opening and closing channels.

Reference: https://developers.google.com/workspace/calendar/api/guides/push . Google signs
nothing: a notification carries the ``token`` given to events.watch in
``X-Goog-Channel-Token``, with ``X-Goog-Channel-ID``, ``X-Goog-Resource-ID``,
``X-Goog-Resource-State`` (``sync`` first, then ``exists`` or ``not_exists``) and
``X-Goog-Message-Number``.
"""
from __future__ import annotations

import json

import pytest

from atom.extensions import db
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import WebhookEvent
from tests.plugins.google_calendar.conftest import EVENTS

CHANNEL_TOKEN = "c7f1b2e9-atom-channel-token-3f9a"


def notification(state: str, token: str | None = CHANNEL_TOKEN, number: int = 1) -> dict:
    """The headers Google sends with a push notification (the body is empty)."""
    headers = {"X-Goog-Channel-ID": "01234567-89ab-cdef-0123-456789abcdef",
               "X-Goog-Channel-Expiration": "Mon, 13 May 2024 09:00:00 GMT",
               "X-Goog-Resource-ID": "o3hgv1538sdjfh", "X-Goog-Resource-State": state,
               "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/"
                                      "primary/events?alt=json",
               "X-Goog-Message-Number": str(number)}
    if token is not None:
        headers["X-Goog-Channel-Token"] = token
    return headers


@pytest.fixture
def conn(calendar_connection):
    return calendar_connection(channel_token=CHANNEL_TOKEN)


@pytest.fixture
def deliver(client, conn):
    def send(headers: dict, body: bytes = b""):
        return client.post(f"/hooks/google_calendar/{conn['id']}", data=body, headers=headers)

    return send


def stored(app) -> list:
    with app.app_context():
        return db.session.scalars(db.select(WebhookEvent)).all()


# -- the scheme, from the documented rule: the header is the token given -----------------------

def test_the_channel_token_is_accepted():
    req = WebhookRequest("POST", "https://atom.example.com/hooks/google_calendar/1",
                         notification("exists"), b"")
    assert verify("google_channel_token", req, CHANNEL_TOKEN) is None  # no timestamp, no digest


@pytest.mark.parametrize("token", ["c7f1b2e9-atom-channel-token-3f9b", "", None,
                                   CHANNEL_TOKEN + " ", CHANNEL_TOKEN.upper()])
def test_any_other_token_is_refused(token):
    req = WebhookRequest("POST", "https://atom.example.com/hooks/google_calendar/1",
                         notification("exists", token), b"")
    with pytest.raises(SignatureError):
        verify("google_channel_token", req, CHANNEL_TOKEN)


# -- through the receiver ---------------------------------------------------------------------

def test_the_sync_handshake_is_answered(app, deliver):
    r = deliver(notification("sync", number=1))
    assert r.status_code == 200
    assert r.get_data() == b""
    assert stored(app) == []


@pytest.mark.parametrize("state", ["exists", "not_exists"])
def test_a_change_notification_is_acknowledged_and_stores_nothing(app, deliver, state):
    r = deliver(notification(state, number=7))
    assert r.status_code == 200
    assert stored(app) == []


@pytest.mark.parametrize("token", ["wrong-token-0123456789", None])
def test_a_wrong_or_missing_token_is_refused(app, deliver, token):
    for state in ("sync", "exists"):
        r = deliver(notification(state, token))
        assert r.status_code == 401
        assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_connection_without_a_channel_token_accepts_nothing(app, client, calendar_connection):
    conn = calendar_connection()
    r = client.post(f"/hooks/google_calendar/{conn['id']}", data=b"",
                    headers=notification("sync"))
    assert r.status_code == 401


def test_a_request_that_is_not_a_notification_is_verified_and_ignored(app, deliver):
    r = deliver({"X-Goog-Channel-Token": CHANNEL_TOKEN, "Content-Type": "application/json"},
                body=json.dumps({"kind": "api#channel"}).encode())
    assert r.status_code == 200
    assert r.get_json()["accepted"] == 0
    assert stored(app) == []


def test_the_channel_token_is_a_masked_secret(conn):
    assert CHANNEL_TOKEN not in json.dumps(conn)


# -- opening and closing channels -------------------------------------------------------------

def test_watch_events_sends_the_channel_token_and_returns_no_secret(fake_calendar, conn,
                                                                    run_action):
    fake_calendar.post(f"{EVENTS}/watch", json={
        "kind": "api#channel", "id": "chan-1", "resourceId": "o3hgv1538sdjfh",
        "resourceUri": "https://www.googleapis.com/calendar/v3/calendars/primary/events",
        "token": CHANNEL_TOKEN, "expiration": "1715590800000"})
    r = run_action(conn, "watch_events", {
        "address": f"https://atom.example.com/hooks/google_calendar/{conn['id']}",
        "ttl_seconds": 3600, "channel_id": "chan-1"})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == {
        "id": "chan-1", "resourceId": "o3hgv1538sdjfh",
        "resourceUri": "https://www.googleapis.com/calendar/v3/calendars/primary/events",
        "expiration": "1715590800000"}
    assert CHANNEL_TOKEN not in json.dumps(r.get_json())
    assert json.loads(fake_calendar.calls[0].request.body) == {
        "id": "chan-1", "type": "web_hook", "token": CHANNEL_TOKEN,
        "address": f"https://atom.example.com/hooks/google_calendar/{conn['id']}",
        "params": {"ttl": "3600"}}


def test_watch_events_needs_a_channel_token(fake_calendar, calendar_connection, run_action):
    r = run_action(calendar_connection(), "watch_events",
                   {"address": "https://atom.example.com/hooks/google_calendar/1"})
    assert r.status_code == 422 and "channel_token" in r.get_json()["errors"]
    assert not fake_calendar.calls


@pytest.mark.parametrize("address", ["http://atom.example.com/hooks/google_calendar/1",
                                     "not a url"])
def test_watch_events_needs_an_https_address(fake_calendar, conn, run_action, address):
    r = run_action(conn, "watch_events", {"address": address})
    assert r.status_code == 422 and "address" in r.get_json()["errors"]


def test_stop_watch_closes_a_channel_and_a_closed_one_too(fake_calendar, conn, run_action):
    from tests.plugins.google_calendar.conftest import CAL

    fake_calendar.post(f"{CAL}/channels/stop", status=204)
    fake_calendar.post(f"{CAL}/channels/stop", status=404, json={"error": {
        "code": 404, "message": "Channel 'chan-1' not found for project '1234'",
        "errors": [{"domain": "global", "reason": "notFound"}]}})
    for _ in range(2):
        r = run_action(conn, "stop_watch", {"channel_id": "chan-1",
                                            "resource_id": "o3hgv1538sdjfh"})
        assert r.get_json()["output"] == {"id": "chan-1", "stopped": True}
    assert json.loads(fake_calendar.calls[0].request.body) == {"id": "chan-1",
                                                               "resourceId": "o3hgv1538sdjfh"}


def test_a_change_notification_makes_the_event_triggers_poll_now(app, deliver, conn):
    """``exists`` carries no data: the connection's primed event-trigger cursors become due at
    once (not at their next interval); a forged notification moves nothing."""
    from datetime import timedelta

    from atom.models import PollCursor
    from atom.models.base import utcnow

    later = utcnow() + timedelta(hours=1)
    with app.app_context():
        for trigger in ("event_created", "event_cancelled"):
            db.session.add(PollCursor(connection_id=conn["id"], trigger=trigger,
                                      params_hash="0" * 64, params={}, cursor="{}",
                                      primed_at=utcnow(), next_poll_at=later))
        db.session.commit()

    def due() -> list[bool]:
        with app.app_context():
            return [c.next_poll_at <= utcnow() for c in db.session.scalars(
                db.select(PollCursor).order_by(PollCursor.id))]

    assert deliver(notification("exists", token="forged-token")).status_code == 401
    assert deliver(notification("sync")).status_code == 200
    assert due() == [False, False]
    assert deliver(notification("exists", number=2)).status_code == 200
    assert due() == [True, True]
    assert stored(app) == []
