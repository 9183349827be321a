"""The polled trigger ``new_channel_message`` through a connection, against the stateful fake of
a channel's delta query: priming, new messages (over several pages), the cursor advancing, a
restart in between, and what never fires (old messages edited, system events, deletions)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from atom.integrations.errors import CursorExpired

from atom.integrations.errors import IntegrationError
from plugins.microsoft_teams.manifest import MANIFEST
from tests.plugins.microsoft_teams.conftest import CHANNEL
from tests.plugins.microsoft_teams.conftest import TEAM
from tests.plugins.microsoft_teams.fake_channel_delta import FakeChannelDelta

PARAMS = {"team_id": TEAM, "channel_id": CHANNEL}


@pytest.fixture
def channel(fake_graph):
    return FakeChannelDelta(fake_graph, TEAM, CHANNEL, page_size=2)


@pytest.fixture
def poll(app, teams_connection, live):
    conn = teams_connection()

    def run(cursor: str | None):
        return live(conn).poll_channel_messages(PARAMS, cursor)

    run.conn = conn
    return run


def test_the_trigger_declares_the_poll_method():
    trigger = MANIFEST.trigger("new_channel_message")
    assert trigger.delivery.method == "poll_channel_messages"
    assert trigger.params().load(PARAMS) == PARAMS
    assert "channel_id" in trigger.params().validate({"team_id": TEAM, "channel_id": "../x"})


def test_priming_returns_the_recent_messages_as_seen_and_a_cursor(channel, poll):
    channel.post("from last year", ago=timedelta(days=300))
    recent = channel.post("two minutes ago", ago=timedelta(minutes=2))
    page = poll(None)

    assert [m["id"] for m in page.items] == [recent]
    assert page.items[0]["content"] == "two minutes ago"
    state = json.loads(page.cursor)
    assert state["deltaLink"].startswith(channel.url + "?$deltatoken=")
    assert "$filter=lastModifiedDateTime+gt+" in channel.requests[0] or \
        "%24filter=lastModifiedDateTime+gt+" in channel.requests[0]


def test_new_messages_fire_once_oldest_first_and_the_cursor_advances(channel, poll):
    old = channel.post("old", ago=timedelta(hours=1))
    primed = poll(None)
    assert primed.items == []

    first, second, third = (channel.post(f"new {i}") for i in range(3))
    channel.edit(old, "old, edited")           # an old message changed: not new
    channel.post("Ramjot added Megan", kind="systemEventMessage")
    page = poll(primed.cursor)

    assert [m["id"] for m in page.items] == [first, second, third]
    assert page.items[0] == {
        "id": first, "message_type": "message", "created_at": page.items[0]["created_at"],
        "last_modified_at": page.items[0]["last_modified_at"], "subject": None,
        "content_type": "text", "content": "new 0",
        "from_user_id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2", "from_name": "Ramjot Singh",
        "reply_to_id": None, "team_id": TEAM, "channel_id": CHANNEL, "chat_id": None,
        "web_url": None}
    assert json.loads(page.cursor)["deltaLink"] != json.loads(primed.cursor)["deltaLink"]
    assert json.loads(page.cursor)["createdAfter"] == json.loads(primed.cursor)["createdAfter"]
    # The five changes came in three pages: the client followed the nextLinks.
    assert sum("$skiptoken" in url for url in channel.requests) == 2

    again = poll(page.cursor)
    assert again.items == []


def test_a_restart_continues_from_the_stored_cursor(app, channel, poll):
    from atom.state import get_state

    cursor = poll(None).cursor
    mid = channel.post("while we were down")
    get_state(app).runtime.forget(poll.conn["id"])  # a new process builds the client again
    page = poll(cursor)
    assert [m["id"] for m in page.items] == [mid]


def test_a_deleted_message_does_not_fire(channel, poll):
    cursor = poll(None).cursor
    gone = channel.post("oops")
    channel.delete(gone)
    assert poll(cursor).items == []


def test_a_long_round_continues_at_the_next_poll(channel, poll, monkeypatch):
    from plugins.microsoft_teams import integration

    monkeypatch.setattr(integration, "DELTA_PAGES", 1)
    cursor = poll(None).cursor
    ids = [channel.post(f"burst {i}") for i in range(3)]
    page = poll(cursor)
    assert [m["id"] for m in page.items] == ids[:2]
    assert "$skiptoken" in json.loads(page.cursor)["deltaLink"]
    rest = poll(page.cursor)
    assert [m["id"] for m in rest.items] == ids[2:]
    assert "$deltatoken" in json.loads(rest.cursor)["deltaLink"]


def test_an_expired_delta_token_says_the_trigger_must_prime_again(channel, poll):
    cursor = poll(None).cursor
    channel.expire()
    with pytest.raises(IntegrationError) as info:
        poll(cursor)
    assert info.value.status == 410 and info.value.permanent
    assert isinstance(info.value, CursorExpired)  # the poller re-primes with a full resync
    assert "primed again" in info.value.message


def test_a_cursor_that_is_not_ours_is_refused(channel, poll):
    with pytest.raises(IntegrationError) as info:
        poll("CAEQAA")
    assert "prime it again" in info.value.message


def test_a_delta_link_to_another_host_is_never_called(channel, poll):
    forged = json.dumps({"deltaLink": "https://evil.example/v1.0/steal",
                         "createdAfter": "2021-02-02T18:19:52Z"})
    with pytest.raises(IntegrationError):
        poll(forged)
    assert channel.requests == []
