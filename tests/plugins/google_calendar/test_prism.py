"""The health check and every action against Prism serving Google Calendar's API description
(APIs.guru's conversion of the discovery document): each request the client sends is checked
for ``sl-violations``, and the outputs are the mapped shapes."""
from __future__ import annotations

import pytest

from plugins.google_calendar.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

EVENT_ID = "7cbh8rpc10lrc0ckih9tafss99"
# Prism's placeholder event, as the actions return it.
EVENT = {"id": "string", "summary": "string", "status": "string",
         "start": {"date": "2019-08-24", "dateTime": "2019-08-24T14:15:22Z",
                   "timeZone": "string"}}
CASES = {
    "create_event": (
        {"summary": "Team sync", "description": "Weekly", "location": "Room 4",
         "start": "2024-05-06T09:30:00", "duration_minutes": 30, "time_zone": "Europe/Berlin",
         "attendees": ["grace@example.com"], "optional_attendees": ["alan@example.com"],
         "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"], "add_meet": True, "send_updates": "all"},
        EVENT,
    ),
    "update_event": (
        {"event_id": EVENT_ID, "start": "2024-05-06", "end": "2024-05-08",
         "summary": "Offsite", "send_updates": "externalOnly"},
        EVENT,
    ),
    "delete_event": ({"event_id": EVENT_ID, "send_updates": "all"},
                     {"id": EVENT_ID, "deleted": True, "already_deleted": False}),
    "get_event": ({"calendar_id": "team@group.calendar.google.com", "event_id": EVENT_ID},
                  EVENT),
    "list_events": (
        # Prism answers every page with the same nextPageToken: stay within page one.
        {"time_min": "2024-05-06T00:00:00Z", "time_max": "2024-05-13T00:00:00+02:00",
         "query": "sync", "order_by": "startTime", "show_deleted": True,
         "time_zone": "Europe/Berlin", "max_items": 1},
        {"count": 1},
    ),
    "find_free_slots": (
        {"calendars": ["primary", "grace@example.com"], "time_min": "2024-05-06T00:00:00Z",
         "time_max": "2024-05-07T00:00:00Z", "duration_minutes": 30},
        # Prism's busy block is in 2019: the whole Monday working day is free.
        {"count": 1, "slots": [{"start": "2024-05-06T09:00:00+00:00",
                                "end": "2024-05-06T17:00:00+00:00", "minutes": 480}]},
    ),
    "quick_add_event": ({"text": "Lunch with Ada tomorrow 12:30", "send_updates": "all"}, EVENT),
    "list_calendars": ({"min_access_role": "writer", "max_items": 1}, {"count": 1}),
    "watch_events": ({"calendar_id": "team@group.calendar.google.com",
                      "address": "https://atom.example.com/hooks/google_calendar/1",
                      "ttl_seconds": 3600}, {"id": "string", "resourceId": "string"}),
    "stop_watch": ({"channel_id": "chan-1", "resource_id": "o3hgv1538sdjfh"},
                   {"id": "chan-1", "stopped": True}),
}


@pytest.fixture
def prism_calendar(prism, calendar_connection, live):
    conn = calendar_connection({"base_url": prism("google_calendar"), "max_attempts": 1,
                                "rate_limit_per_second": 100, "rate_limit_burst": 100},
                               channel_token="c7f1b2e9-atom-channel-token-3f9a")
    seen: list = []
    live(conn).http.session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
    return conn, seen


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_calendar, check_connection):
    conn, seen = prism_calendar
    assert check_connection(conn).get_json()["ok"] is True
    assert len(seen) == 1
    assert_prism_accepted(seen[0])


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_calendar, run_action, action):
    conn, seen = prism_calendar
    given, expected = CASES[action]
    r = run_action(conn, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected
    assert seen
    for response in seen:
        assert response.status_code == 200
        assert_prism_accepted(response)


def test_the_poll_trigger_requests_are_accepted_by_the_spec(prism_calendar, live):
    """Prism's nextPageToken never ends, so one page is checked directly."""
    conn, seen = prism_calendar
    integ = live(conn)
    integ.http.get("calendars/primary/events",
                   params={"showDeleted": "true", "maxResults": 2500, "syncToken": "CPDAlvWDx70C"})
    assert_prism_accepted(seen[-1])
    assert seen[-1].status_code == 200
