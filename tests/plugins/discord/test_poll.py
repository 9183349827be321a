"""The "new message in a channel" poll trigger, run through a connection against a fake channel
(``fake.FakeChannel``): prime without firing, then new messages oldest first, the cursor (the
newest message id) advancing, and nothing twice."""
from __future__ import annotations

import pytest

from atom.extensions import db
from atom.models import Connection
from atom.state import get_state
from plugins.discord.manifest import MANIFEST
from plugins.discord.schemas import NewMessageParams
from tests.plugins.discord.conftest import CHANNEL
from tests.plugins.discord.fake import FakeChannel


@pytest.fixture
def channel(fake_discord):
    return FakeChannel(fake_discord, CHANNEL)


@pytest.fixture
def poll(app, discord_connection):
    conn = discord_connection()
    method = MANIFEST.trigger("message_posted").delivery.method

    def run(cursor, **params):
        with app.app_context():
            integ = get_state(app).runtime.integration(db.session.get(Connection, conn["id"]))
            return getattr(integ, method)(NewMessageParams().load(
                {"channel_id": CHANNEL, **params}), cursor)

    return run


def test_priming_returns_the_current_messages_and_the_newest_id(channel, poll):
    old = [channel.post(f"old {i}") for i in range(3)]
    page = poll(None)
    assert [m["content"] for m in page.items] == ["old 0", "old 1", "old 2"]
    assert page.cursor == old[-1]["id"]
    assert channel.requests == [{"limit": "100"}]


def test_new_messages_come_oldest_first_and_the_cursor_advances(channel, poll):
    channel.post("before")
    cursor = poll(None).cursor
    first, second = channel.post("first"), channel.post("second")

    page = poll(cursor)
    assert [m["id"] for m in page.items] == [first["id"], second["id"]]
    assert page.items[0] == {
        "id": first["id"], "channel_id": CHANNEL, "content": "first",
        "author": {"id": "53908099506183680", "username": "Mason", "bot": False},
        "timestamp": "2024-07-09T15:30:00.000000+00:00", "edited_timestamp": None, "type": 0,
        "reply_to": None, "mentions": [], "attachments": []}
    assert page.cursor == second["id"]
    assert channel.requests[-1] == {"limit": "100", "after": cursor}

    again = poll(page.cursor)
    assert (again.items, again.cursor) == ([], page.cursor)


def test_an_empty_channel_primes_at_zero_so_the_first_message_fires(channel, poll):
    page = poll(None)
    assert (page.items, page.cursor) == ([], "0")
    hello = channel.post("hello")
    assert [m["id"] for m in poll(page.cursor).items] == [hello["id"]]


def test_a_burst_of_messages_is_read_page_by_page(channel, poll):
    cursor = poll(None).cursor
    posted = [channel.post(f"m{i}") for i in range(250)]
    page = poll(cursor)
    assert [m["id"] for m in page.items] == [m["id"] for m in posted]
    assert page.cursor == posted[-1]["id"]
    assert [r.get("after") for r in channel.requests[1:]] == [
        cursor, posted[99]["id"], posted[199]["id"]]


def test_bots_and_system_messages_are_skipped_but_move_the_cursor(channel, poll):
    cursor = poll(None).cursor
    channel.post("deploy done", bot=True)
    channel.post("", kind=7)  # a member joined
    pin = channel.post("", kind=6)
    page = poll(cursor)
    assert (page.items, page.cursor) == ([], pin["id"])


def test_bots_fire_when_the_workflow_asks(channel, poll):
    cursor = poll(None).cursor
    alert = channel.post("CPU above 90%", bot=True)
    assert [m["id"] for m in poll(cursor, include_bots=True).items] == [alert["id"]]
