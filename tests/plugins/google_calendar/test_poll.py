"""The event triggers, polled through a connection against a stateful fake Google Calendar
(``fake.py``): the full sync that primes, changes classified as created, updated and
cancelled, the cursor advancing, and a 410 asking for a full sync again."""
from __future__ import annotations

import json

import pytest
import responses

from atom.integrations.errors import CursorExpired
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import ValidationFailed
from tests.plugins.google_calendar.fake import FakeCalendar

TRIGGERS = ("created", "updated", "cancelled")


@pytest.fixture
def cal():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeCalendar(rsps)


@pytest.fixture
def integ(calendar_connection, live):
    return live(calendar_connection())


def poll(integ, kind, cursor, **params):
    return getattr(integ, f"poll_event_{kind}")(params, cursor)


def prime(integ):
    return {kind: poll(integ, kind, None).cursor for kind in TRIGGERS}


def summaries(page) -> list[str]:
    return [item.get("summary") or item["id"] for item in page.items]


def test_priming_pages_through_a_full_sync_and_returns_the_current_events(cal, integ):
    ids = [cal.create(f"old {i}") for i in range(3)]  # page_size 2: two pages
    page = poll(integ, "created", None)

    assert [i["id"] for i in page.items] == ids
    assert all(i["change_id"] == f"{i['id']}:{i['updated']}" for i in page.items)
    assert json.loads(page.cursor)["syncToken"] == f"sync-0-{cal.change}"
    assert [q.get("pageToken") for q in cal.requests] == [None, ["2"]]
    assert all(q["showDeleted"] == ["true"] and "syncToken" not in q for q in cal.requests)


def test_a_new_event_fires_created_with_the_google_event_as_payload(cal, integ):
    cursors = prime(integ)
    event_id = cal.create("Team sync")

    page = poll(integ, "created", cursors["created"])
    (item,) = page.items
    assert item["id"] == event_id
    assert item["summary"] == "Team sync"  # what the meeting_to_trello_and_slack template reads
    assert item["start"]["dateTime"] == "2024-05-06T09:30:00+02:00"
    assert cal.requests[-1]["syncToken"] == [json.loads(cursors["created"])["syncToken"]]
    assert poll(integ, "updated", cursors["updated"]).items == []
    assert poll(integ, "cancelled", cursors["cancelled"]).items == []


def test_the_cursor_advances_and_a_quiet_poll_returns_nothing(cal, integ):
    cursor = poll(integ, "created", None).cursor
    cal.create("one")
    first = poll(integ, "created", cursor)
    assert summaries(first) == ["one"]
    quiet = poll(integ, "created", first.cursor)
    assert quiet.items == []
    cal.create("two")
    assert summaries(poll(integ, "created", quiet.cursor)) == ["two"]


def test_an_edit_of_an_existing_event_fires_updated_once_per_version(cal, integ):
    event_id = cal.create("Team sync")
    cursors = prime(integ)
    cal.update(event_id, summary="Team sync (moved)")

    page = poll(integ, "updated", cursors["updated"])
    assert summaries(page) == ["Team sync (moved)"]
    assert poll(integ, "created", cursors["created"]).items == []
    cal.update(event_id, location="Room 5")
    again = poll(integ, "updated", page.cursor)
    assert [i["location"] for i in again.items] == ["Room 5"]
    assert again.items[0]["change_id"] != page.items[0]["change_id"]


def test_an_event_created_and_edited_between_polls_is_a_creation(cal, integ):
    cursors = prime(integ)
    event_id = cal.create("Draft title")
    cal.update(event_id, summary="Final title")
    assert summaries(poll(integ, "created", cursors["created"])) == ["Final title"]
    assert poll(integ, "updated", cursors["updated"]).items == []


def test_an_event_seen_as_created_is_an_update_when_edited_later(cal, integ):
    cursor = poll(integ, "updated", None).cursor
    event_id = cal.create("Team sync")
    cursor = poll(integ, "updated", cursor).cursor  # listed as created: not an update
    cal.update(event_id, summary="Team sync v2")
    assert summaries(poll(integ, "updated", cursor)) == ["Team sync v2"]


def test_a_deleted_event_fires_cancelled(cal, integ):
    event_id = cal.create("Team sync")
    cursors = prime(integ)
    cal.cancel(event_id)

    page = poll(integ, "cancelled", cursors["cancelled"])
    assert [(i["id"], i["status"]) for i in page.items] == [(event_id, "cancelled")]
    assert poll(integ, "updated", cursors["updated"]).items == []


def test_changes_come_oldest_first(cal, integ):
    a, b = cal.create("a"), cal.create("b")
    cursor = poll(integ, "updated", None).cursor
    cal.update(b, summary="b2")
    cal.update(a, summary="a2")
    assert summaries(poll(integ, "updated", cursor)) == ["b2", "a2"]


def test_an_expired_sync_token_asks_for_a_full_sync(cal, integ):
    cursor = poll(integ, "created", None).cursor
    cal.create("one")
    cal.invalidate_tokens()
    with pytest.raises(IntegrationError) as info:
        poll(integ, "created", cursor)
    assert isinstance(info.value, CursorExpired) and info.value.message.startswith("cursor expired")
    assert info.value.status == 410

    primed = poll(integ, "created", None)  # what the scheduler does next: a full sync
    assert summaries(primed) == ["one"]
    cal.create("two")
    assert summaries(poll(integ, "created", primed.cursor)) == ["two"]


def test_an_unreadable_cursor_is_expired(cal, integ):
    with pytest.raises(IntegrationError) as info:
        poll(integ, "created", "not-json")
    assert isinstance(info.value, CursorExpired) and info.value.message.startswith("cursor expired")


def test_another_calendar_is_synced_when_asked(calendar_connection, live):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        team = "team@group.calendar.google.com"
        cal = FakeCalendar(rsps, calendar="team%40group.calendar.google.com")
        integ = live(calendar_connection())
        cursor = poll(integ, "created", None, calendar_id=team).cursor
        cal.create("planning")
        assert summaries(poll(integ, "created", cursor, calendar_id=team)) == ["planning"]


def test_bad_trigger_parameters_are_a_validation_error(integ):
    with pytest.raises(ValidationFailed) as info:
        poll(integ, "created", None, calendar_id="../users/me")
    assert "calendar_id" in info.value.details
