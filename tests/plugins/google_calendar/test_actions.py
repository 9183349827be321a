"""What the Google Calendar actions send and return, with Google faked at the HTTP seam."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.plugins.google_calendar.conftest import CAL
from tests.plugins.google_calendar.conftest import EVENTS
from tests.plugins.google_calendar.conftest import TOKEN
from tests.plugins.google_calendar.conftest import recorded

EVENT_ID = "7cbh8rpc10lrc0ckih9tafss99"
SYNC = {"summary": "Team sync", "start": "2024-05-06T09:30:00", "end": "2024-05-06T10:00:00",
        "time_zone": "Europe/Berlin"}


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def sent(call) -> dict:
    return json.loads(call.request.body)


def test_create_event_sends_rfc_3339_times_with_the_zone(fake_calendar, calendar_connection,
                                                         run_action):
    fake_calendar.post(EVENTS, json=recorded("event"))
    r = run_action(calendar_connection(), "create_event", {
        **SYNC, "description": "Weekly planning", "location": "Room 4",
        "attendees": ["grace@example.com"], "optional_attendees": ["alan@example.com"],
        "send_updates": "all"})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["id"] == EVENT_ID and out["start"]["dateTime"] == "2024-05-06T09:30:00+02:00"
    assert out["attendees"] == [{"email": "grace@example.com", "responseStatus": "needsAction"}]
    (call,) = fake_calendar.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert query_of(call) == {"sendUpdates": ["all"]}
    body = sent(call)
    assert len(body.pop("id")) == 32
    assert body == {
        "summary": "Team sync", "description": "Weekly planning", "location": "Room 4",
        "start": {"dateTime": "2024-05-06T09:30:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2024-05-06T10:00:00+02:00", "timeZone": "Europe/Berlin"},
        "attendees": [{"email": "grace@example.com"},
                      {"email": "alan@example.com", "optional": True}]}


def test_an_all_day_event_ends_the_next_day_by_default(fake_calendar, calendar_connection,
                                                       run_action):
    fake_calendar.post(EVENTS, json=recorded("event"))
    run_action(calendar_connection(), "create_event", {"summary": "Offsite",
                                                       "start": "2024-05-06"})
    body = sent(fake_calendar.calls[0])
    assert (body["start"], body["end"]) == ({"date": "2024-05-06"}, {"date": "2024-05-07"})


def test_a_duration_with_an_offset_start_gives_the_end(fake_calendar, calendar_connection,
                                                       run_action):
    fake_calendar.post(EVENTS, json=recorded("event"))
    run_action(calendar_connection(), "create_event", {
        "summary": "1:1", "start": "2024-05-06T23:45:00-04:00", "duration_minutes": 30,
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"], "time_zone": "America/New_York"})
    body = sent(fake_calendar.calls[0])
    assert body["end"] == {"dateTime": "2024-05-07T00:15:00-04:00",
                           "timeZone": "America/New_York"}
    assert body["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO"]


def test_a_meet_is_requested_with_the_event_id(fake_calendar, calendar_connection, run_action):
    fake_calendar.post(EVENTS, json={**recorded("event"),
                                     "hangoutLink": "https://meet.google.com/abc-defg-hij"})
    r = run_action(calendar_connection(), "create_event", {**SYNC, "add_meet": True,
                                                           "id": "abcdef012345"})
    assert r.get_json()["output"]["hangoutLink"] == "https://meet.google.com/abc-defg-hij"
    call = fake_calendar.calls[0]
    assert query_of(call)["conferenceDataVersion"] == ["1"]
    assert sent(call)["conferenceData"] == {"createRequest": {
        "requestId": "abcdef012345", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def test_a_repeated_create_returns_the_event_the_first_made(fake_calendar, calendar_connection,
                                                            run_action, sleeps):
    """A 503 after Google created the event, then the retry gets 409 for the same id."""
    fake_calendar.post(EVENTS, status=503, json=recorded("error_503"))
    fake_calendar.post(EVENTS, status=409, json=recorded("error_409_duplicate"))
    fake_calendar.add("GET", re.compile(re.escape(EVENTS) + r"/[0-9a-f]{32}$"),
                      json=recorded("event"))
    r = run_action(calendar_connection({"max_attempts": 3}), "create_event", SYNC)

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["id"] == EVENT_ID
    first, second, fetch = fake_calendar.calls
    assert sent(first)["id"] == sent(second)["id"]
    assert fetch.request.url.endswith("/" + sent(first)["id"])


def test_the_same_step_run_again_uses_the_same_event_id(app, fake_calendar,
                                                        calendar_connection, live):
    from atom.integrations.http import IdempotencyScope
    from atom.integrations.http import idempotency_scope

    fake_calendar.post(EVENTS, json=recorded("event"))
    fake_calendar.post(EVENTS, json=recorded("event"))
    integ = live(calendar_connection())
    data = integ.manifest.action("create_event").input().load(SYNC)
    for _ in range(2):
        token = idempotency_scope.set(IdempotencyScope("execution-7-step-meeting"))
        try:
            integ.create_event(data)
        finally:
            idempotency_scope.reset(token)
    first, second = (sent(c)["id"] for c in fake_calendar.calls)
    assert first == second


def test_a_chosen_id_that_exists_is_a_validation_error(fake_calendar, calendar_connection,
                                                       run_action):
    fake_calendar.post(EVENTS, status=409, json=recorded("error_409_duplicate"))
    r = run_action(calendar_connection(), "create_event", {**SYNC, "id": "abcdef012345"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"id": ["duplicate",
                                             "The requested identifier already exists."]}
    assert len(fake_calendar.calls) == 1


@pytest.mark.parametrize("body, field", [
    ({"summary": "x"}, "start"),
    ({**SYNC, "time_zone": None}, "time_zone"),
    ({**SYNC, "time_zone": "Mars/Olympus"}, "time_zone"),
    ({**SYNC, "time_zone": "../../etc/passwd"}, "time_zone"),
    ({**SYNC, "end": "2024-05-06T09:00:00"}, "end"),
    ({**SYNC, "end": "2024-05-07"}, "end"),
    ({"summary": "x", "start": "2024-05-06T09:30:00+02:00"}, "end"),
    ({"summary": "x", "start": "2024-05-06T09:30:00+02:00", "end": "2024-05-06T10:00:00"},
     "end"),
    ({**SYNC, "duration_minutes": 30}, "end"),
    ({"start": "2024-05-06", "end": "2024-05-06"}, "end"),
    ({"start": "tomorrow", "end": "2024-05-06"}, "start"),
    ({**SYNC, "attendees": ["not-an-email"]}, "attendees"),
    ({**SYNC, "calendar_id": "../users/me/settings"}, "calendar_id"),
    ({**SYNC, "calendar_id": "a/b"}, "calendar_id"),
    ({**SYNC, "id": "UPPER-case"}, "id"),
    ({**SYNC, "recurrence": ["RRULE:FREQ=DAILY\r\nX"]}, "recurrence"),
    ({**SYNC, "send_updates": "everyone"}, "send_updates"),
])
def test_invalid_input_is_refused_before_calling_google(fake_calendar, calendar_connection,
                                                        run_action, body, field):
    body = {k: v for k, v in body.items() if v is not None}
    r = run_action(calendar_connection(), "create_event", body)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]
    assert not fake_calendar.calls


def test_update_event_patches_only_what_is_given(fake_calendar, calendar_connection,
                                                 run_action):
    fake_calendar.patch(f"{EVENTS}/{EVENT_ID}", json=recorded("event"))
    r = run_action(calendar_connection(), "update_event", {
        "event_id": EVENT_ID, "summary": "Team sync (moved)", "attendees": []})
    assert r.status_code == 200
    call = fake_calendar.calls[0]
    assert sent(call) == {"summary": "Team sync (moved)", "attendees": []}
    assert query_of(call) == {"sendUpdates": ["none"]}


def test_update_event_can_move_only_the_end(fake_calendar, calendar_connection, run_action):
    fake_calendar.patch(f"{EVENTS}/{EVENT_ID}", json=recorded("event"))
    run_action(calendar_connection(), "update_event",
               {"event_id": EVENT_ID, "end": "2024-05-06T10:30:00+02:00"})
    assert sent(fake_calendar.calls[0]) == {"end": {"dateTime": "2024-05-06T10:30:00+02:00"}}


def test_update_event_needs_a_change(fake_calendar, calendar_connection, run_action):
    r = run_action(calendar_connection(), "update_event", {"event_id": EVENT_ID})
    assert r.status_code == 422 and "summary" in r.get_json()["errors"]


def test_update_is_retried_after_a_server_error(fake_calendar, calendar_connection, run_action,
                                                sleeps):
    fake_calendar.patch(f"{EVENTS}/{EVENT_ID}", status=503, json=recorded("error_503"))
    fake_calendar.patch(f"{EVENTS}/{EVENT_ID}", json=recorded("event"))
    r = run_action(calendar_connection({"max_attempts": 3}), "update_event",
                   {"event_id": EVENT_ID, "location": "Room 5"})
    assert r.status_code == 200
    assert len(fake_calendar.calls) == 2


def test_delete_event_and_deleting_it_again(fake_calendar, calendar_connection, run_action):
    fake_calendar.delete(f"{EVENTS}/{EVENT_ID}", status=204)
    fake_calendar.delete(f"{EVENTS}/{EVENT_ID}", status=410, json=recorded("error_410_deleted"))
    conn = calendar_connection()
    first = run_action(conn, "delete_event", {"event_id": EVENT_ID, "send_updates": "all"})
    again = run_action(conn, "delete_event", {"event_id": EVENT_ID})

    assert first.get_json()["output"] == {"id": EVENT_ID, "deleted": True,
                                          "already_deleted": False}
    assert again.get_json()["output"] == {"id": EVENT_ID, "deleted": True,
                                          "already_deleted": True}
    assert query_of(fake_calendar.calls[0]) == {"sendUpdates": ["all"]}


def test_an_unknown_event_is_not_silently_deleted(fake_calendar, calendar_connection,
                                                  run_action):
    fake_calendar.delete(f"{EVENTS}/{EVENT_ID}", status=404, json=recorded("error_404"))
    r = run_action(calendar_connection(), "delete_event", {"event_id": EVENT_ID})
    assert r.status_code == 502 and r.get_json()["upstream_status"] == 404


def test_list_events_pages_and_stops_at_max_items(fake_calendar, calendar_connection,
                                                  run_action):
    event = recorded("event")
    fake_calendar.get(EVENTS, json={"items": [event, {**event, "id": "second"}],
                                    "nextPageToken": "p2"})
    fake_calendar.get(EVENTS, json={"items": [{**event, "id": "third"}, {**event, "id": "4th"}],
                                    "nextPageToken": "p3"})
    r = run_action(calendar_connection(), "list_events", {
        "time_min": "2024-05-06T00:00:00+02:00", "time_max": "2024-05-13T00:00:00Z",
        "query": "sync", "order_by": "startTime", "max_items": 3})

    out = r.get_json()["output"]
    assert [e["id"] for e in out["events"]] == [EVENT_ID, "second", "third"]
    assert "etag" not in out["events"][0] and "reminders" not in out["events"][0]
    first, second = (query_of(c) for c in fake_calendar.calls)
    assert first == {"timeMin": ["2024-05-06T00:00:00+02:00"],
                     "timeMax": ["2024-05-13T00:00:00+00:00"], "q": ["sync"],
                     "singleEvents": ["true"], "orderBy": ["startTime"],
                     "showDeleted": ["false"], "maxResults": ["3"]}
    assert second == {**first, "pageToken": ["p2"]}


@pytest.mark.parametrize("body, field", [
    ({"order_by": "startTime", "single_events": False}, "order_by"),
    ({"time_min": "2024-05-06T00:00:00"}, "time_min"),
    ({"time_min": "2024-05-07T00:00:00Z", "time_max": "2024-05-06T00:00:00Z"}, "time_max"),
    ({"max_items": 0}, "max_items"),
])
def test_list_events_refuses_what_google_would(fake_calendar, calendar_connection, run_action,
                                               body, field):
    r = run_action(calendar_connection(), "list_events", body)
    assert r.status_code == 422 and field in r.get_json()["errors"]


def test_find_free_slots_queries_freebusy_and_computes_working_hours(
        fake_calendar, calendar_connection, run_action):
    fake_calendar.post(f"{CAL}/freeBusy", json={
        "kind": "calendar#freeBusy", "timeMin": "2024-05-06T07:00:00.000Z",
        "timeMax": "2024-05-07T22:00:00.000Z", "calendars": {
            "primary": {"busy": [{"start": "2024-05-06T07:00:00Z", "end": "2024-05-06T09:00:00Z"},
                                 {"start": "2024-05-06T10:00:00Z", "end": "2024-05-06T15:00:00Z"}]},
            "grace@example.com": {"busy": [
                {"start": "2024-05-06T09:30:00+02:00", "end": "2024-05-07T12:00:00+02:00"}]},
            "room@resource.calendar.google.com": {"busy": [], "errors": [
                {"domain": "calendar", "reason": "notFound"}]}}})
    r = run_action(calendar_connection(), "find_free_slots", {
        "calendars": ["primary", "grace@example.com", "room@resource.calendar.google.com"],
        "time_min": "2024-05-06T09:00:00+02:00", "time_max": "2024-05-08T00:00:00+02:00",
        "duration_minutes": 45, "time_zone": "Europe/Berlin", "work_end": "18:00"})

    out = r.get_json()["output"]
    # Monday: busy until 11:00 local and from 09:30 on (Grace): nothing; Tuesday from 12:00.
    assert out["slots"] == [{"start": "2024-05-07T12:00:00+02:00",
                             "end": "2024-05-07T18:00:00+02:00", "minutes": 360}]
    assert out["first"] == {"start": "2024-05-07T12:00:00+02:00",
                            "end": "2024-05-07T12:45:00+02:00"}
    assert out["calendar_errors"] == {"room@resource.calendar.google.com": ["notFound"]}
    assert sent(fake_calendar.calls[0]) == {
        "timeMin": "2024-05-06T09:00:00+02:00", "timeMax": "2024-05-08T00:00:00+02:00",
        "timeZone": "Europe/Berlin", "items": [
            {"id": "primary"}, {"id": "grace@example.com"},
            {"id": "room@resource.calendar.google.com"}]}


def test_no_free_slot_gives_an_empty_answer(fake_calendar, calendar_connection, run_action):
    fake_calendar.post(f"{CAL}/freeBusy", json={"calendars": {"primary": {"busy": [
        {"start": "2024-05-06T00:00:00Z", "end": "2024-05-07T00:00:00Z"}]}}})
    r = run_action(calendar_connection(), "find_free_slots", {
        "time_min": "2024-05-06T00:00:00Z", "time_max": "2024-05-07T00:00:00Z",
        "duration_minutes": 30})
    assert r.get_json()["output"]["slots"] == [] and r.get_json()["output"]["first"] is None


@pytest.mark.parametrize("body, field", [
    ({"time_min": "2024-05-06T00:00:00Z", "time_max": "2024-08-06T00:00:00Z"}, "time_max"),
    ({"time_min": "2024-05-06T00:00:00Z", "time_max": "2024-05-07T00:00:00Z",
      "work_start": "18:00", "work_end": "09:00"}, "work_end"),
    ({"time_min": "2024-05-06T00:00:00Z", "time_max": "2024-05-07T00:00:00Z",
      "work_start": "9am"}, "work_start"),
    ({"time_min": "2024-05-06T00:00:00Z", "time_max": "2024-05-07T00:00:00Z",
      "work_days": [0]}, "work_days"),
])
def test_find_free_slots_validates_its_window(fake_calendar, calendar_connection, run_action,
                                              body, field):
    r = run_action(calendar_connection(), "find_free_slots", {**body, "duration_minutes": 30})
    assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()


def test_quick_add_sends_the_text_as_a_parameter(fake_calendar, calendar_connection, run_action):
    fake_calendar.post(f"{EVENTS}/quickAdd", json=recorded("event"))
    r = run_action(calendar_connection(), "quick_add_event",
                   {"text": "Lunch with Ada tomorrow 12:30"})
    assert r.get_json()["output"]["id"] == EVENT_ID
    assert query_of(fake_calendar.calls[0]) == {"text": ["Lunch with Ada tomorrow 12:30"],
                                                "sendUpdates": ["none"]}


def test_list_calendars_uses_the_override_name(fake_calendar, calendar_connection, run_action):
    fake_calendar.get(f"{CAL}/users/me/calendarList", json={"items": [
        {"id": "ada@example.com", "summary": "ada@example.com", "primary": True,
         "accessRole": "owner", "timeZone": "Europe/Berlin"},
        {"id": "team@group.calendar.google.com", "summary": "Team", "summaryOverride": "Squad",
         "accessRole": "writer"}]})
    r = run_action(calendar_connection(), "list_calendars", {"min_access_role": "writer"})
    out = r.get_json()["output"]
    assert [(c["id"], c["summary"], c["primary"]) for c in out["calendars"]] == [
        ("ada@example.com", "ada@example.com", True),
        ("team@group.calendar.google.com", "Squad", False)]
    assert query_of(fake_calendar.calls[0]) == {"minAccessRole": ["writer"], "maxResults": ["100"]}


def test_a_calendar_id_is_one_encoded_path_segment(fake_calendar, calendar_connection,
                                                   run_action):
    holidays = "en.usa#holiday@group.v.calendar.google.com"
    fake_calendar.get(f"{CAL}/calendars/en.usa%23holiday%40group.v.calendar.google.com/events/"
                      f"{EVENT_ID}", json=recorded("event"))
    r = run_action(calendar_connection(), "get_event",
                   {"calendar_id": holidays, "event_id": EVENT_ID})
    assert r.status_code == 200, r.get_json()


def test_the_integration_is_found_by_its_aliases(client, keys):
    for alias in ("gcal", "Google Calendar", "calendar"):
        r = client.post("/api/v2/connections", headers=keys["editor"], json={
            "integration": alias, "label": alias, "credentials": {"access_token": TOKEN}})
        assert r.status_code == 201, alias
        assert r.get_json()["integration"] == "google_calendar"
