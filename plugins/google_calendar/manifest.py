"""Google Calendar: create, update, delete and list events, find free slots; event created,
updated and cancelled triggers (incremental sync with syncToken)."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.google_calendar.samples import EVENT_CANCELLED
from plugins.google_calendar.samples import EVENT_CREATED
from plugins.google_calendar.samples import EVENT_UPDATED
from plugins.google_calendar.schemas import CalendarCredentials
from plugins.google_calendar.schemas import CreateEventInput
from plugins.google_calendar.schemas import DeleteEventInput
from plugins.google_calendar.schemas import EventTriggerParams
from plugins.google_calendar.schemas import FindFreeSlotsInput
from plugins.google_calendar.schemas import GetEventInput
from plugins.google_calendar.schemas import ListCalendarsInput
from plugins.google_calendar.schemas import ListEventsInput
from plugins.google_calendar.schemas import QuickAddInput
from plugins.google_calendar.schemas import StopWatchInput
from plugins.google_calendar.schemas import UpdateEventInput
from plugins.google_calendar.schemas import WatchEventsInput
from plugins.google_common import google_oauth2

_WHEN = obj(date=STR, dateTime=STR, timeZone=STR,
            about="date (all-day) or dateTime, with timeZone")
_PERSON = obj(email=STR, displayName=STR, self=BOOL)
_EVENT = obj(required=("id",), id=STR, status=STR, htmlLink=STR, summary=STR, description=STR,
             location=STR, start=_WHEN, end=_WHEN,
             attendees=arr(obj(email=STR, displayName=STR, responseStatus=STR, optional=BOOL,
                               organizer=BOOL, self=BOOL)),
             organizer=_PERSON, creator=_PERSON, created=STR, updated=STR, hangoutLink=STR,
             recurringEventId=STR, recurrence=arr(STR), iCalUID=STR, eventType=STR,
             transparency=STR, visibility=STR,
             about="a Google Calendar event (Google's field names)")
_CHANGED = obj(required=("id", "change_id"), id=STR, status=STR, summary=STR, start=_WHEN,
               end=_WHEN, created=STR, updated=STR, htmlLink=STR, attendees=arr(obj()),
               change_id=STR, about="the Google Calendar Event resource, plus change_id "
                                    "(event id and updated)")
_CALENDAR = obj(required=("id",), id=STR, summary=maybe(STR), primary=BOOL,
                accessRole=maybe(STR), timeZone=maybe(STR), description=maybe(STR))
_SLOT = obj(required=("start", "end"), start=STR, end=STR, minutes=INT)
_EVENT_EXAMPLE = "7cbh8rpc10lrc0ckih9tafss99"


def _trigger(name: str, title: str, sample: dict, description: str, words: tuple[str, ...],
             payload: dict = _CHANGED) -> Trigger:
    return Trigger(name, title, sample, payload,
                   delivery=Poll(f"poll_{name}", cursor="nextSyncToken", item_id="change_id",
                                 interval_s=60),
                   params=EventTriggerParams, description=description, words=words)


MANIFEST = Manifest(
    slug="google_calendar",
    display_name="Google Calendar",
    category="productivity",
    description="Create, update, delete and list events, find free slots across calendars; "
                "react to events created, updated or cancelled.",
    docs_url="https://developers.google.com/workspace/calendar/api/v3/reference",
    auth=AuthScheme(kind="oauth2", fields=CalendarCredentials, oauth2=google_oauth2(
        "https://www.googleapis.com/auth/calendar.events",
        # calendarList and freeBusy
        "https://www.googleapis.com/auth/calendar.readonly")),
    integration="plugins.google_calendar.integration:GoogleCalendarIntegration",
    base_url="https://www.googleapis.com/calendar/v3",
    aliases=("gcal", "google cal", "calendar", "gcalendar"),
    # 600 requests a minute per user per project, and Calendar throttles rapid writes to one
    # calendar ("operational limits").
    rate_limit=RateLimit(per_second=5, burst=10),
    actions=(
        Action("create_event", "Create an event", CreateEventInput, _EVENT,
               example={"summary": "Team sync", "start": "2024-05-06T09:30:00",
                        "end": "2024-05-06T10:00:00", "time_zone": "Europe/Berlin",
                        "attendees": ["grace@example.com"], "add_meet": True},
               idempotent=True,
               description="The event id is chosen by ATOM (derived from the step), so a "
                           "retry or a re-run returns the event already made.",
               words=("schedule", "meeting", "book", "new event", "add to calendar",
                      "invite", "set up a call")),
        Action("update_event", "Update an event", UpdateEventInput, _EVENT,
               example={"event_id": _EVENT_EXAMPLE, "summary": "Team sync (moved)",
                        "start": "2024-05-06T10:00:00+02:00", "duration_minutes": 30},
               idempotent=True, description="Only the fields given change (attendees are "
                                            "replaced as a whole).",
               words=("reschedule", "move meeting", "change event", "update event")),
        Action("delete_event", "Delete an event", DeleteEventInput,
               obj(required=("id", "deleted"), id=STR, deleted=BOOL, already_deleted=BOOL),
               example={"event_id": _EVENT_EXAMPLE, "send_updates": "all"}, idempotent=True,
               description="Deleting an event already deleted succeeds.",
               words=("cancel meeting", "delete event", "remove event")),
        Action("get_event", "Get an event", GetEventInput, _EVENT,
               example={"event_id": _EVENT_EXAMPLE}, idempotent=True, read_only=True,
               words=("event details", "get event")),
        Action("list_events", "List events", ListEventsInput, listing("events", _EVENT),
               example={"time_min": "2024-05-06T00:00:00Z", "time_max": "2024-05-13T00:00:00Z",
                        "order_by": "startTime", "max_items": 1},
               idempotent=True, read_only=True,
               words=("agenda", "upcoming meetings", "events", "schedule for", "what's on")),
        Action("find_free_slots", "Find free slots", FindFreeSlotsInput,
               obj(required=("slots", "count", "first"), slots=arr(_SLOT), count=INT,
                   first=maybe(obj(start=STR, end=STR)), time_zone=STR,
                   calendar_errors=obj(about="calendar id -> reasons Google gave")),
               example={"calendars": ["primary"], "time_min": "2024-05-06T00:00:00+02:00",
                        "time_max": "2024-05-10T00:00:00+02:00", "duration_minutes": 30,
                        "time_zone": "Europe/Berlin"},
               idempotent=True, read_only=True,
               description="Free intervals of at least the duration in working hours, when "
                           "every calendar given is free; first is the earliest slot.",
               words=("free time", "availability", "when is everyone free", "find a slot",
                      "free busy", "open slot")),
        Action("quick_add_event", "Quick-add an event", QuickAddInput, _EVENT,
               example={"text": "Lunch with Ada tomorrow 12:30"},
               words=("quick add", "add event from text")),
        Action("list_calendars", "List calendars", ListCalendarsInput,
               listing("calendars", _CALENDAR), example={"max_items": 1},
               idempotent=True, read_only=True, words=("calendars", "my calendars")),
        Action("watch_events", "Open a push channel", WatchEventsInput,
               obj(required=("id",), id=STR, resourceId=maybe(STR), resourceUri=maybe(STR),
                   expiration=maybe(STR) | {"description": "epoch milliseconds"}),
               example={"address": "https://atom.example.com/hooks/google_calendar/1",
                        "ttl_seconds": 86400},
               description="Google posts to the address when the calendar's events change, "
                           "with the connection's channel_token (checked on arrival).",
               words=("watch calendar", "push notifications", "subscribe to calendar")),
        Action("stop_watch", "Close a push channel", StopWatchInput,
               obj(required=("id", "stopped"), id=STR, stopped=BOOL),
               example={"channel_id": "01234567-89ab-cdef-0123456789ab",
                        "resource_id": "o3hgv1538sdjfh"},
               idempotent=True, words=("stop watching", "unsubscribe calendar")),
    ),
    triggers=(
        _trigger("event_created", "Event created", EVENT_CREATED,
                 "An event is added to the calendar (created since the previous poll, even if "
                 "edited since).",
                 ("new event", "meeting added", "event created", "meeting scheduled",
                  "new meeting", "someone books")),
        _trigger("event_updated", "Event updated", EVENT_UPDATED,
                 "An existing event changes: each new version fires once.",
                 ("event changed", "meeting moved", "event updated", "rescheduled")),
        _trigger("event_cancelled", "Event cancelled", EVENT_CANCELLED,
                 "An event is deleted or cancelled (Google may send only its id).",
                 ("meeting cancelled", "event deleted", "event cancelled"),
                 payload=obj(required=("id", "status", "change_id"), id=STR, status=STR,
                             updated=STR, change_id=STR)),
    ),
    # Push channels (watch_events) sign nothing; their notifications carry the channel token.
    webhook=WebhookSpec(scheme="google_channel_token", secret_field="channel_token",
                        delivery_header="X-Goog-Message-Number"),
    contract=Contract("openapi", "google_calendar.json"),
)
