"""Action inputs and trigger parameters of the Google Calendar plugin."""
from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from plugins.google_common import ID
from plugins.google_common import GoogleCredentials
from plugins.google_common import no_dots

# "primary", an address ("team@group.calendar.google.com") or a holiday calendar
# ("en.usa#holiday@group.v.calendar.google.com"); it becomes one percent-encoded path segment.
CALENDAR_ID = [validate.Length(min=1, max=254),
               validate.Regexp(r"^[A-Za-z0-9._%+#@-]+\Z",
                               error="a calendar id such as primary or "
                                     "team@group.calendar.google.com"),
               no_dots]
# Client-chosen event ids: base32hex (a-v, 0-9), 5 to 1024 characters.
NEW_EVENT_ID = validate.Regexp(r"^[a-v0-9]{5,1024}\Z",
                               error="5 to 1024 characters from a-v and 0-9 (base32hex)")
_TZ = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]{0,30}(?:/[A-Za-z0-9_+-]{1,30}){0,2}\Z")
_NO_CONTROL = validate.Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z",
                              error="must not contain control characters")
_RRULE = validate.Regexp(r"^(?:RRULE|EXRULE|RDATE|EXDATE)[:;][^\r\n]{1,500}\Z",
                         error="an RFC 5545 line such as RRULE:FREQ=WEEKLY;BYDAY=MO")
SEND_UPDATES = ("all", "externalOnly", "none")


def time_zone(value: str) -> None:
    """An IANA time zone name that this machine knows (Europe/Berlin, UTC)."""
    if not _TZ.match(value):
        raise ValidationError("an IANA time zone such as Europe/Berlin")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {value!r}") from exc


def parse_when(value: str) -> date | datetime:
    """A date (all-day) or an ISO 8601 date-time, with or without an offset."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("a date (2024-05-06) or a date-time "
                              "(2024-05-06T09:30:00 or 2024-05-06T09:30:00+02:00)") from exc


class When(fields.String):
    """A date or a date-time; loads as the text given, checked."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        parse_when(text)
        return text


class Instant(fields.String):
    """A date-time with its offset (``2024-05-06T09:30:00Z``): a point in time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValidationError("a date-time with an offset, such as "
                                  "2024-05-06T09:30:00Z") from exc
        if moment.tzinfo is None:
            raise ValidationError("give the offset too (2024-05-06T09:30:00+02:00 or ...Z)")
        return moment.isoformat()


class _Calendar(Schema):
    calendar_id = fields.String(load_default="primary", validate=CALENDAR_ID,
                                metadata={"description": "primary, or a calendar's id"})


class _EventFields(_Calendar):
    summary = fields.String(validate=[validate.Length(min=1, max=1024), _NO_CONTROL],
                            metadata={"description": "The event's title"})
    description = fields.String(validate=[validate.Length(max=8192), _NO_CONTROL])
    location = fields.String(validate=[validate.Length(max=1024), _NO_CONTROL])
    start = When(metadata={"description": "2024-05-06T09:30:00 (with time_zone), "
                                          "2024-05-06T09:30:00+02:00, or 2024-05-06 (all day)"})
    end = When(metadata={"description": "Same kind as start; an all-day end date is exclusive"})
    duration_minutes = fields.Integer(validate=validate.Range(min=1, max=60 * 24 * 14),
                                      metadata={"description": "Instead of end, for a timed "
                                                               "event"})
    time_zone = fields.String(validate=time_zone,
                              metadata={"description": "IANA name; needed when start has no "
                                                       "offset, and by recurring events"})
    attendees = fields.List(fields.Email(), validate=validate.Length(max=300))
    optional_attendees = fields.List(fields.Email(), validate=validate.Length(max=300))
    recurrence = fields.List(fields.String(validate=_RRULE), validate=validate.Length(max=20))
    add_meet = fields.Boolean(metadata={"description": "Add a Google Meet video conference"})
    send_updates = fields.String(load_default="none", validate=validate.OneOf(SEND_UPDATES),
                                 metadata={"description": "Who Google e-mails about it"})

    @validates_schema
    def _times(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if end is not None and data.get("duration_minutes") is not None:
            raise ValidationError("give end or duration_minutes, not both", field_name="end")
        if start is None:  # an update may move the end alone
            if data.get("duration_minutes") is not None:
                raise ValidationError("duration_minutes needs start", field_name="start")
            last = parse_when(end) if end is not None else None
            if isinstance(last, datetime) and last.tzinfo is None and not data.get("time_zone"):
                raise ValidationError("end has no offset: give time_zone", field_name="time_zone")
            return
        first = parse_when(start)
        all_day = not isinstance(first, datetime)
        if all_day and data.get("duration_minutes") is not None:
            raise ValidationError("an all-day event takes an end date", field_name="end")
        if not all_day and first.tzinfo is None and not data.get("time_zone"):
            raise ValidationError("start has no offset: give time_zone", field_name="time_zone")
        if end is None:
            if not all_day and data.get("duration_minutes") is None:
                raise ValidationError("give end or duration_minutes", field_name="end")
            return
        last = parse_when(end)
        if isinstance(last, datetime) == all_day:
            raise ValidationError("start and end must both be dates or both date-times",
                                  field_name="end")
        if not all_day and (last.tzinfo is None) != (first.tzinfo is None):
            raise ValidationError("give an offset on both start and end, or on neither",
                                  field_name="end")
        if last <= first:
            raise ValidationError("end must be after start (an all-day end date is exclusive)",
                                  field_name="end")


class CreateEventInput(_EventFields):
    id = fields.String(validate=NEW_EVENT_ID,
                       metadata={"description": "Your own event id (default: one derived from "
                                                "the step, so a re-run does not duplicate)"})

    @validates_schema
    def _required(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("start"):
            raise ValidationError("an event needs a start", field_name="start")


class UpdateEventInput(_EventFields):
    event_id = fields.String(required=True, validate=ID)

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not set(data) - {"calendar_id", "event_id", "send_updates", "time_zone"}:
            raise ValidationError("give at least one field to change", field_name="summary")


class EventRef(_Calendar):
    event_id = fields.String(required=True, validate=ID)


class DeleteEventInput(EventRef):
    send_updates = fields.String(load_default="none", validate=validate.OneOf(SEND_UPDATES))


class GetEventInput(EventRef):
    pass


class ListEventsInput(_Calendar):
    time_min = Instant(metadata={"description": "Events ending after this"})
    time_max = Instant(metadata={"description": "Events starting before this"})
    query = fields.String(validate=[validate.Length(min=1, max=1000), _NO_CONTROL],
                          metadata={"description": "Free text searched in the events"})
    single_events = fields.Boolean(load_default=True,
                                   metadata={"description": "Expand recurring events into "
                                                            "their occurrences"})
    order_by = fields.String(validate=validate.OneOf(("startTime", "updated")))
    show_deleted = fields.Boolean(load_default=False)
    time_zone = fields.String(validate=time_zone)
    max_items = fields.Integer(load_default=50, validate=validate.Range(min=1, max=2500))

    @validates_schema
    def _order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("order_by") == "startTime" and not data.get("single_events"):
            raise ValidationError("startTime order needs single_events", field_name="order_by")
        low, high = data.get("time_min"), data.get("time_max")
        if low and high and datetime.fromisoformat(high) <= datetime.fromisoformat(low):
            raise ValidationError("time_max must be after time_min", field_name="time_max")


class _Clock(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> time:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.match(r"^\d{2}:\d{2}\Z", text):
            raise ValidationError("a time of day such as 09:00")
        if text == "24:00":
            return time.max
        try:
            return time.fromisoformat(text)
        except ValueError as exc:
            raise ValidationError("a time of day such as 09:00") from exc


class FindFreeSlotsInput(Schema):
    calendars = fields.List(fields.String(validate=CALENDAR_ID), load_default=lambda: ["primary"],
                            validate=validate.Length(min=1, max=50),
                            metadata={"description": "Calendars that must all be free"})
    time_min = Instant(required=True)
    time_max = Instant(required=True)
    duration_minutes = fields.Integer(required=True, validate=validate.Range(min=5, max=1440))
    time_zone = fields.String(load_default="UTC", validate=time_zone,
                              metadata={"description": "Of the working hours and the answer"})
    work_start = _Clock(load_default=time(9, 0), metadata={"example": "09:00"})
    work_end = _Clock(load_default=time(17, 0), metadata={"example": "17:00"})
    work_days = fields.List(fields.Integer(validate=validate.Range(min=1, max=7)),
                            load_default=lambda: [1, 2, 3, 4, 5],
                            validate=validate.Length(min=1, max=7),
                            metadata={"description": "ISO weekdays: 1 is Monday, 7 Sunday"})
    align_minutes = fields.Integer(load_default=15,
                                   validate=validate.OneOf((1, 5, 10, 15, 20, 30, 60)),
                                   metadata={"description": "Slots start on these boundaries"})
    max_slots = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))

    @validates_schema
    def _window(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "time_min" in data and "time_max" in data:
            span = (datetime.fromisoformat(data["time_max"])
                    - datetime.fromisoformat(data["time_min"]))
            if span <= timedelta(0):
                raise ValidationError("time_max must be after time_min", field_name="time_max")
            if span > timedelta(days=62):
                raise ValidationError("at most 62 days at once", field_name="time_max")
        if "work_start" in data and "work_end" in data and data["work_end"] <= data["work_start"]:
            raise ValidationError("work_end must be after work_start", field_name="work_end")


class QuickAddInput(_Calendar):
    text = fields.String(required=True, validate=[validate.Length(min=1, max=1024), _NO_CONTROL],
                         metadata={"description": "As typed in Calendar: "
                                                  "'Lunch with Ada tomorrow 12:30'"})
    send_updates = fields.String(load_default="none", validate=validate.OneOf(SEND_UPDATES))


class ListCalendarsInput(Schema):
    min_access_role = fields.String(validate=validate.OneOf(("freeBusyReader", "reader",
                                                             "writer", "owner")))
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=250))


class EventTriggerParams(_Calendar):
    """What a workflow narrows the event triggers with."""


# -- push channels (events.watch) --------------------------------------------------------------

class CalendarCredentials(GoogleCredentials):
    """The OAuth2 tokens, and the token push channels carry back (``X-Goog-Channel-Token``)."""

    channel_token = fields.String(
        validate=[validate.Length(min=16, max=256),
                  validate.Regexp(r"^[A-Za-z0-9._~-]+\Z", error="letters, digits and ._~-")],
        metadata={"secret": True, "description": "A random string of your own: events.watch "
                                                 "channels send it back with each notification"})


class WatchEventsInput(_Calendar):
    address = fields.Url(required=True, schemes={"https"}, require_tld=True, metadata={
        "description": "Where Google posts notifications: this connection's "
                       "https://<atom>/hooks/google_calendar/<connection id>"})
    ttl_seconds = fields.Integer(load_default=604_800,
                                 validate=validate.Range(min=60, max=2_592_000),
                                 metadata={"description": "Google may end the channel sooner"})
    channel_id = fields.String(validate=validate.Regexp(
        r"^[A-Za-z0-9_+/=-]{1,64}\Z", error="up to 64 of A-Z a-z 0-9 - _ + / ="),
        metadata={"description": "Default: a new UUID"})


class StopWatchInput(Schema):
    channel_id = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_+/=-]{1,64}\Z", error="up to 64 of A-Z a-z 0-9 - _ + / ="))
    resource_id = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_-]{1,256}\Z", error="the resourceId events.watch answered"))
