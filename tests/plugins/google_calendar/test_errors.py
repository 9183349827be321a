"""How Google Calendar's failures reach the user: auth, 403 rate limits and permission errors,
bad input naming the field, 429 and 5xx, and which of them are retried."""
from __future__ import annotations

import pytest

from tests.plugins.google_calendar.conftest import CAL
from tests.plugins.google_calendar.conftest import EVENTS
from tests.plugins.google_calendar.conftest import TOKEN
from tests.plugins.google_calendar.conftest import recorded

EVENT_ID = "7cbh8rpc10lrc0ckih9tafss99"
LIST = {"max_items": 5}
CREATE = {"summary": "Team sync", "start": "2024-05-06T09:30:00+02:00",
          "end": "2024-05-06T10:00:00+02:00", "id": "abcdef012345"}


def test_an_invalid_token_fails_the_health_check(fake_calendar, calendar_connection,
                                                 check_connection, client, keys):
    fake_calendar.get(f"{CAL}/users/me/calendarList", status=401, json=recorded("error_401"))
    conn = calendar_connection()
    result = check_connection(conn).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "needs_reauth"


def test_the_health_check_reads_one_calendar(fake_calendar, calendar_connection,
                                             check_connection):
    fake_calendar.get(f"{CAL}/users/me/calendarList", json={"kind": "calendar#calendarList",
                                                            "items": []})
    assert check_connection(calendar_connection()).get_json()["ok"] is True
    assert fake_calendar.calls[0].request.url.endswith("calendarList?maxResults=1")


def test_a_base_url_that_is_not_google_fails_the_health_check(fake_calendar, calendar_connection,
                                                              check_connection):
    fake_calendar.get("https://intranet.example.com/users/me/calendarList", json={"hello": 1})
    result = check_connection(calendar_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_a_403_rate_limit_is_retried(fake_calendar, calendar_connection, run_action, sleeps):
    fake_calendar.get(EVENTS, status=403, json=recorded("error_403_rate_limit"))
    fake_calendar.get(EVENTS, json={"items": []})
    r = run_action(calendar_connection({"max_attempts": 3}), "list_events", LIST)
    assert r.status_code == 200
    assert r.get_json()["attempts"] == 2 and len(sleeps) == 1


def test_a_403_rate_limit_that_persists_is_a_rate_limit(fake_calendar, calendar_connection,
                                                        run_action, sleeps):
    fake_calendar.get(EVENTS, status=403, json=recorded("error_403_rate_limit"))
    r = run_action(calendar_connection({"max_attempts": 2}), "list_events", LIST)
    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert len(fake_calendar.calls) == 2


def test_a_permission_error_is_not_an_auth_error(fake_calendar, calendar_connection,
                                                 run_action, sleeps):
    fake_calendar.patch(f"{EVENTS}/{EVENT_ID}", status=403,
                        json=recorded("error_403_forbidden_non_organizer"))
    r = run_action(calendar_connection({"max_attempts": 3}), "update_event",
                   {"event_id": EVENT_ID, "summary": "mine now"})
    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream"
    assert "forbiddenForNonOrganizer" in r.get_json()["message"]
    assert len(fake_calendar.calls) == 1


def test_a_429_honours_retry_after(fake_calendar, calendar_connection, run_action, sleeps):
    fake_calendar.get(EVENTS, status=429, headers={"Retry-After": "9"},
                      json={"error": {"code": 429, "message": "Too Many Requests",
                                      "status": "RESOURCE_EXHAUSTED"}})
    fake_calendar.get(EVENTS, json={"items": []})
    r = run_action(calendar_connection({"max_attempts": 3}), "list_events", LIST)
    assert r.status_code == 200 and sum(sleeps) >= 9


def test_a_server_error_of_a_read_is_retried(fake_calendar, calendar_connection, run_action,
                                             sleeps):
    fake_calendar.get(EVENTS, status=503, json=recorded("error_503"))
    fake_calendar.get(EVENTS, json={"items": []})
    r = run_action(calendar_connection({"max_attempts": 3}), "list_events", LIST)
    assert r.status_code == 200 and len(fake_calendar.calls) == 2


def test_a_create_with_a_chosen_id_is_not_retried_after_a_server_error(
        fake_calendar, calendar_connection, run_action, sleeps):
    fake_calendar.post(EVENTS, status=503, json=recorded("error_503"))
    r = run_action(calendar_connection({"max_attempts": 3}), "create_event", CREATE)
    assert r.status_code == 502 and r.get_json()["code"] == "upstream"
    assert len(fake_calendar.calls) == 1


@pytest.mark.parametrize("fixture, action, body, field", [
    ("error_400_time_range_empty", "list_events",
     {"time_min": "2024-05-06T00:00:00Z", "time_max": "2024-05-06T00:00:01Z"}, "time_max"),
    ("error_400_missing_end", "create_event", CREATE, "end"),
])
def test_google_refusing_input_names_the_field(fake_calendar, calendar_connection, run_action,
                                               fixture, action, body, field):
    for method in ("GET", "POST"):
        fake_calendar.add(method, EVENTS, status=400, json=recorded(fixture))
    r = run_action(calendar_connection(), action, body)
    assert r.status_code == 422
    assert list(r.get_json()["errors"]) == [field]


def test_an_unknown_event_is_a_permanent_404(fake_calendar, calendar_connection, run_action,
                                             sleeps):
    fake_calendar.get(f"{EVENTS}/{EVENT_ID}", status=404, json=recorded("error_404"))
    r = run_action(calendar_connection({"max_attempts": 3}), "get_event", {"event_id": EVENT_ID})
    assert r.status_code == 502 and r.get_json()["upstream_status"] == 404
    assert len(fake_calendar.calls) == 1


def test_a_token_echoed_in_an_error_is_redacted(fake_calendar, calendar_connection, run_action):
    fake_calendar.get(EVENTS, status=400, json={"error": {
        "code": 400, "message": f"Invalid token {TOKEN}", "errors": [
            {"domain": "global", "reason": "invalid", "message": f"Invalid token {TOKEN}"}]}})
    r = run_action(calendar_connection(), "list_events", LIST)
    assert r.status_code == 422
    assert TOKEN not in str(r.get_json())
