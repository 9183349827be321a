"""The new-message trigger, polled through a connection against a stateful fake Gmail
(``fake.py``): priming, new messages oldest first, the cursor advancing, filters, and an
expired ``startHistoryId``."""
from __future__ import annotations

import pytest
import responses

from atom.integrations.errors import CursorExpired
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import ValidationFailed
from tests.plugins.gmail.fake import FakeGmail


@pytest.fixture
def gmail():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeGmail(rsps)


@pytest.fixture
def integ(gmail_connection, live):
    return live(gmail_connection())


def ids(page) -> list[str]:
    return [item["id"] for item in page.items]


def test_priming_reads_the_current_history_id_and_fires_nothing(gmail, integ):
    gmail.deliver("ada@example.com", "old news")
    page = integ.poll_new_message({}, None)
    assert page.items == []
    assert page.cursor == str(gmail.history_id)
    assert gmail.calls == ["/profile"]


def test_new_messages_come_oldest_first_and_the_cursor_advances(gmail, integ):
    cursor = integ.poll_new_message({}, None).cursor
    first = gmail.deliver("ada@example.com", "one")
    second = gmail.deliver("grace@example.com", "two")
    third = gmail.deliver("alan@example.com", "three")  # page_size 2: history has two pages

    page = integ.poll_new_message({}, cursor)
    assert ids(page) == [first, second, third]
    assert page.cursor == str(gmail.history_id)
    item = page.items[0]
    assert item["headers"]["from"] == "ada@example.com"
    assert item["headers"]["subject"] == "one"
    assert item["labelIds"] == ["INBOX", "UNREAD"]

    again = integ.poll_new_message({}, page.cursor)
    assert again.items == [] and again.cursor == page.cursor
    fourth = gmail.deliver("ada@example.com", "four")
    assert ids(integ.poll_new_message({}, page.cursor)) == [fourth]


def test_label_changes_are_not_new_messages(gmail, integ):
    cursor = integ.poll_new_message({}, None).cursor
    message = gmail.deliver("ada@example.com", "one")
    after = integ.poll_new_message({}, cursor).cursor
    gmail.label(message, "STARRED")
    page = integ.poll_new_message({}, after)
    assert page.items == []
    assert page.cursor == str(gmail.history_id)


def test_drafts_and_own_mail_are_left_out_unless_asked(gmail, integ):
    cursor = integ.poll_new_message({}, None).cursor
    gmail.deliver("me@example.com", "draft", labels=("DRAFT",))
    sent = gmail.deliver("me@example.com", "sent", labels=("SENT",))
    received = gmail.deliver("ada@example.com", "hi")
    assert ids(integ.poll_new_message({}, cursor)) == [received]
    assert ids(integ.poll_new_message({"include_sent": True}, cursor)) == [sent, received]


def test_label_ids_narrow_the_history_and_are_all_required(gmail, integ):
    cursor = integ.poll_new_message({}, None).cursor
    gmail.deliver("ada@example.com", "inbox only")
    both = gmail.deliver("ada@example.com", "important", labels=("INBOX", "IMPORTANT"))
    gmail.deliver("ada@example.com", "promo", labels=("CATEGORY_PROMOTIONS",))
    page = integ.poll_new_message({"label_ids": ["INBOX", "IMPORTANT"]}, cursor)
    assert ids(page) == [both]


def test_a_query_keeps_only_the_new_messages_gmail_finds_for_it(gmail, integ):
    old = gmail.deliver("ada@example.com", "before priming")
    cursor = integ.poll_new_message({}, None).cursor
    match = gmail.deliver("ada@example.com", "invoice 42")
    gmail.deliver("grace@example.com", "invoice 43")
    page = integ.poll_new_message({"query": "from:ada@example.com"}, cursor)

    assert ids(page) == [match]
    assert old not in ids(page)
    assert gmail.calls[-1] == "/messages"


def test_a_message_deleted_before_it_is_fetched_is_skipped(gmail, integ):
    cursor = integ.poll_new_message({}, None).cursor
    gone = gmail.deliver("ada@example.com", "oops")
    kept = gmail.deliver("ada@example.com", "hello")
    gmail.delete(gone)
    assert ids(integ.poll_new_message({}, cursor)) == [kept]


def test_an_expired_history_id_asks_for_priming_again(gmail, integ):
    cursor = integ.poll_new_message({}, None).cursor
    gmail.deliver("ada@example.com", "one")
    gmail.forget_history()
    with pytest.raises(IntegrationError) as info:
        integ.poll_new_message({}, cursor)
    assert isinstance(info.value, CursorExpired) and info.value.message.startswith("cursor expired")
    assert info.value.permanent
    primed = integ.poll_new_message({}, None)
    assert primed.items == [] and int(primed.cursor) >= gmail.oldest_kept - 1


def test_a_big_backlog_is_taken_in_several_polls(gmail, integ, monkeypatch):
    monkeypatch.setattr("plugins.gmail.integration.MAX_NEW_PER_POLL", 2)
    cursor = integ.poll_new_message({}, None).cursor
    sent = [gmail.deliver("ada@example.com", f"n{i}") for i in range(5)]
    seen = []
    for _ in range(5):
        page = integ.poll_new_message({}, cursor)
        seen += ids(page)
        if page.cursor == cursor:
            break
        cursor = page.cursor
    assert seen == sent
    assert cursor == str(gmail.history_id)


def test_bad_trigger_parameters_are_a_validation_error(gmail, integ):
    with pytest.raises(ValidationFailed) as info:
        integ.poll_new_message({"query": "a\nb"}, "1")
    assert "query" in info.value.details
