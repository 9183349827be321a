"""Event bodies sent to Google Calendar, the shapes returned to workflows, and the state the
event triggers keep in their cursor.

Events keep Google's field names (``summary``, ``start.dateTime``, ``htmlLink``), in actions
and triggers alike, so a workflow reads ``{{ trigger.start.dateTime }}`` whichever it uses.
"""
from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from plugins.google_calendar.schemas import parse_when

# The fields of an event returned by the actions (the triggers hand over the whole resource).
EVENT_FIELDS = ("id", "status", "htmlLink", "summary", "description", "location", "start",
                "end", "attendees", "organizer", "creator", "created", "updated",
                "hangoutLink", "recurringEventId", "recurrence", "iCalUID", "eventType",
                "transparency", "visibility")
EARLIEST = datetime.min.replace(tzinfo=UTC)
ATTENDEE_FIELDS = ("email", "displayName", "responseStatus", "optional", "organizer", "self")


def when(value: str, time_zone: str | None) -> dict[str, Any]:
    """Google's ``start``/``end`` object for a date or a date-time."""
    moment = parse_when(value)
    if not isinstance(moment, datetime):
        return {"date": moment.isoformat()}
    if moment.tzinfo is None and time_zone:
        # RFC 3339 wants the offset; the zone's own at that wall time (timeZone is kept too,
        # for recurring events).
        moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    return {"dateTime": moment.isoformat(), **({"timeZone": time_zone} if time_zone else {})}


def event_body(data: dict[str, Any]) -> dict[str, Any]:
    """The Event resource fields an input sets (a PATCH sends only these)."""
    out: dict[str, Any] = {k: data[k] for k in ("summary", "description", "location",
                                                 "recurrence") if k in data}
    tz = data.get("time_zone")
    if data.get("start"):
        out["start"] = when(data["start"], tz)
        end = data.get("end")
        if end is None:
            first = parse_when(data["start"])
            if isinstance(first, datetime):
                end = (first + timedelta(minutes=data["duration_minutes"])).isoformat()
            else:
                end = (first + timedelta(days=1)).isoformat()
        out["end"] = when(end, tz)
    elif data.get("end"):
        out["end"] = when(data["end"], tz)
    if "attendees" in data or "optional_attendees" in data:
        out["attendees"] = ([{"email": e} for e in data.get("attendees") or []]
                            + [{"email": e, "optional": True}
                               for e in data.get("optional_attendees") or []])
    return out


def meet_request(request_id: str) -> dict[str, Any]:
    """``conferenceData`` asking Google to create a Meet (``conferenceDataVersion=1``)."""
    return {"createRequest": {"requestId": request_id,
                              "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def event(e: dict[str, Any]) -> dict[str, Any]:
    out = {k: e[k] for k in EVENT_FIELDS if k in e}
    if isinstance(out.get("attendees"), list):
        out["attendees"] = [{k: a[k] for k in ATTENDEE_FIELDS if k in a}
                            for a in out["attendees"] if isinstance(a, dict)]
    out.setdefault("id", e["id"])
    return out


def calendar(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["id"], "summary": c.get("summaryOverride") or c.get("summary"),
            "primary": bool(c.get("primary", False)), "accessRole": c.get("accessRole"),
            "timeZone": c.get("timeZone"), "description": c.get("description")}


# -- triggers ---------------------------------------------------------------------------------

def change_id(e: dict[str, Any]) -> str:
    """What the triggers de-duplicate on: the event and the version of it (``updated``), so a
    new change to an event fires again but the same change seen twice does not. A deleted
    event may carry nothing but its id, so it fires once."""
    return f"{e['id']}:{e.get('updated') or e.get('status') or ''}"


def item(e: dict[str, Any]) -> dict[str, Any]:
    """A trigger item: the Google event resource as listed, plus ``change_id``."""
    return {**e, "change_id": change_id(e)}


def kind(e: dict[str, Any], high_water: datetime) -> str:
    """``cancelled`` (deleted), ``created`` or ``updated``.

    ``high_water`` is the latest ``updated`` of the events earlier syncs listed (the earliest
    time when the first sync listed none). Every event a sync lists was last changed before
    that sync, so an event created after ``high_water`` was not there at the previous sync:
    a creation, even if it was edited since. An event created earlier is an update. Google's
    own timestamps are compared, not this machine's clock.
    """
    if e.get("status") == "cancelled":
        return "cancelled"
    created = _instant(e.get("created"))
    return "created" if created is not None and created > high_water else "updated"


def high_water(events: list[dict[str, Any]], previous: datetime = EARLIEST) -> datetime:
    """The latest ``updated`` among ``events`` and ``previous``."""
    stamps = [t for t in (_instant(e.get("updated")) for e in events) if t is not None]
    return max([previous, *stamps])


def order_key(e: dict[str, Any]) -> tuple[datetime, str]:
    """Oldest change first (a deleted event without ``updated`` first of all)."""
    return _instant(e.get("updated")) or EARLIEST, str(e.get("id"))


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def cursor(sync_token: str, mark: datetime) -> str:
    """The triggers' cursor: Google's ``nextSyncToken`` and the high-water ``updated``."""
    return json.dumps({"syncToken": sync_token, "highWater": mark.isoformat()},
                      separators=(",", ":"))


def read_cursor(text: str) -> tuple[str, datetime] | None:
    try:
        state = json.loads(text)
        mark = datetime.fromisoformat(state["highWater"])
        token = state["syncToken"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(token, str) or not token or mark.tzinfo is None:
        return None
    return token, mark
