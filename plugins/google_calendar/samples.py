"""Sample payloads of the Google Calendar triggers (pure data).

Each is a Google Calendar Event resource as events.list returns it
(https://developers.google.com/workspace/calendar/api/v3/reference/events), plus the
``change_id`` ATOM de-duplicates on (event id and ``updated``).
"""
from __future__ import annotations

_EVENT = {
    "kind": "calendar#event",
    "etag": "\"3428571428571000\"",
    "id": "7cbh8rpc10lrc0ckih9tafss99",
    "status": "confirmed",
    "htmlLink": "https://www.google.com/calendar/event?eid=N2NiaDhycGMxMGxyYzBja2loOXRhZnNzOTkgYWRhQGV4YW1wbGUuY29t",
    "created": "2024-05-02T08:15:10.000Z",
    "updated": "2024-05-02T08:15:10.412Z",
    "summary": "Team sync",
    "description": "Weekly planning",
    "location": "Room 4",
    "creator": {"email": "ada@example.com", "self": True},
    "organizer": {"email": "ada@example.com", "self": True},
    "start": {"dateTime": "2024-05-06T09:30:00+02:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2024-05-06T10:00:00+02:00", "timeZone": "Europe/Berlin"},
    "iCalUID": "7cbh8rpc10lrc0ckih9tafss99@google.com",
    "sequence": 0,
    "attendees": [
        {"email": "ada@example.com", "organizer": True, "self": True,
         "responseStatus": "accepted"},
        {"email": "grace@example.com", "responseStatus": "needsAction"},
    ],
    "hangoutLink": "https://meet.google.com/abc-defg-hij",
    "reminders": {"useDefault": True},
    "eventType": "default",
}

EVENT_CREATED = {**_EVENT, "change_id": "7cbh8rpc10lrc0ckih9tafss99:2024-05-02T08:15:10.412Z"}
EVENT_UPDATED = {**_EVENT, "etag": "\"3428578122468000\"", "sequence": 1,
                 "updated": "2024-05-03T11:02:44.234Z",
                 "start": {"dateTime": "2024-05-06T10:00:00+02:00", "timeZone": "Europe/Berlin"},
                 "end": {"dateTime": "2024-05-06T10:30:00+02:00", "timeZone": "Europe/Berlin"},
                 "change_id": "7cbh8rpc10lrc0ckih9tafss99:2024-05-03T11:02:44.234Z"}
# Google guarantees only the id of a deleted event; this one carries a few fields more.
EVENT_CANCELLED = {"kind": "calendar#event", "etag": "\"3428590125312000\"",
                   "id": "7cbh8rpc10lrc0ckih9tafss99", "status": "cancelled",
                   "updated": "2024-05-04T09:20:01.117Z",
                   "change_id": "7cbh8rpc10lrc0ckih9tafss99:2024-05-04T09:20:01.117Z"}
