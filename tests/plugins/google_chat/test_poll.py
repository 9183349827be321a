"""The "new message in a space" poll trigger, run through a connection against a fake space
(``fake.FakeSpace``): prime without firing, new messages oldest first, the createTime cursor
advancing, nothing twice, and a webhook connection that cannot poll."""
from __future__ import annotations

import pytest

from atom.extensions import db
from atom.integrations.errors import ValidationFailed
from atom.models import Connection
from atom.state import get_state
from plugins.google_chat.manifest import MANIFEST
from plugins.google_chat.schemas import NewMessageParams
from tests.plugins.google_chat.conftest import SPACE
from tests.plugins.google_chat.fake import FakeSpace


@pytest.fixture
def space(fake_chat):
    return FakeSpace(fake_chat, SPACE)


def poller(app, conn):
    method = MANIFEST.trigger("message_posted").delivery.method

    def run(cursor, **params):
        with app.app_context():
            integ = get_state(app).runtime.integration(db.session.get(Connection, conn["id"]))
            return getattr(integ, method)(NewMessageParams().load({"space": SPACE, **params}),
                                          cursor)

    return run


@pytest.fixture
def poll(app, chat_connection):
    return poller(app, chat_connection())


def test_priming_returns_the_newest_page_oldest_first_and_its_time(space, poll):
    old = [space.post(f"old {i}") for i in range(3)]
    page = poll(None)
    assert [m["text"] for m in page.items] == ["old 0", "old 1", "old 2"]
    assert page.cursor == old[-1]["createTime"]
    assert space.requests == [{"pageSize": "100", "orderBy": "createTime desc"}]


def test_new_messages_come_oldest_first_and_the_cursor_advances(space, poll):
    space.post("before")
    cursor = poll(None).cursor
    first, second = space.post("first"), space.post("second", thread="T2")

    page = poll(cursor)
    assert [m["name"] for m in page.items] == [first["name"], second["name"]]
    assert page.items[1] == {
        "name": second["name"], "space": SPACE, "thread": f"{SPACE}/threads/T2",
        "thread_reply": False, "text": "second", "argument_text": "second",
        "create_time": second["createTime"], "last_update_time": None,
        "sender": {"name": "users/1140224951530140040", "display_name": "Grace Hopper",
                   "type": "HUMAN"}, "client_message_id": None}
    assert page.cursor == second["createTime"]
    assert space.requests[-1] == {"pageSize": "100", "orderBy": "createTime asc",
                                  "filter": f'create_time > "{cursor}"'}
    again = poll(page.cursor)
    assert (again.items, again.cursor) == ([], page.cursor)


def test_an_empty_space_primes_at_the_epoch_so_the_first_message_fires(space, poll):
    page = poll(None)
    assert (page.items, page.cursor) == ([], "1970-01-01T00:00:00Z")
    hello = space.post("hello")
    assert [m["name"] for m in poll(page.cursor).items] == [hello["name"]]


def test_a_burst_of_messages_is_read_page_by_page(space, poll):
    cursor = poll(None).cursor
    posted = [space.post(f"m{i}") for i in range(230)]
    page = poll(cursor)
    assert [m["name"] for m in page.items] == [m["name"] for m in posted]
    assert page.cursor == posted[-1]["createTime"]
    assert [r.get("pageToken") for r in space.requests[1:]] == [None, "100", "200"]


def test_apps_messages_are_skipped_unless_asked_but_move_the_cursor(space, poll):
    cursor = poll(None).cursor
    alert = space.post("CPU above 90%", bot=True)
    page = poll(cursor)
    assert (page.items, page.cursor) == ([], alert["createTime"])
    assert [m["name"] for m in poll(cursor, include_bots=True).items] == [alert["name"]]


def test_a_stored_cursor_that_is_not_a_time_is_refused(space, poll):
    with pytest.raises(ValidationFailed) as info:
        poll('2024" OR thread.name = x')
    assert "cursor" in info.value.details
    assert space.requests == []


def test_a_webhook_connection_cannot_poll(app, space, webhook_connection):
    with pytest.raises(ValidationFailed) as info:
        poller(app, webhook_connection())(None)
    assert "connection" in info.value.details
