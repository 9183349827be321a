"""A small stateful Google Calendar, at the HTTP seam, for the event triggers' tests.

It follows Google's incremental-sync guide and the events.list reference:
https://developers.google.com/workspace/calendar/api/guides/sync ,
https://developers.google.com/workspace/calendar/api/v3/reference/events/list :
a list without ``syncToken`` is a full sync, paged with ``nextPageToken``, whose last page
carries ``nextSyncToken``; a list with ``syncToken`` returns every event changed since the
token (deleted ones with ``status: cancelled``) and refuses ``timeMin``, ``timeMax``, ``q``,
``orderBy`` and ``updatedMin``; an invalidated token answers 410 ``fullSyncRequired``. Every
answer has a ``Date`` header from the fake's clock, which advances a minute per change.
"""
from __future__ import annotations

import json
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import responses

BASE = "https://www.googleapis.com/calendar/v3/calendars"
NOT_WITH_SYNC_TOKEN = ("timeMin", "timeMax", "q", "orderBy", "updatedMin", "iCalUID")


class FakeCalendar:
    def __init__(self, rsps: responses.RequestsMock, calendar: str = "primary",
                 page_size: int = 2) -> None:
        self.now = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
        self.events: dict[str, dict] = {}
        self.changes: list[tuple[int, str]] = []  # (change number, event id)
        self.change = 0
        self.generation = 0  # tokens of an earlier generation get 410
        self.page_size = page_size
        self.requests: list[dict[str, list[str]]] = []
        self._n = 0
        pattern = re.compile(re.escape(f"{BASE}/{calendar}/events") + r"(\?.*)?$")
        rsps.add_callback(responses.GET, pattern, callback=self._list)

    # -- what users do in the calendar ------------------------------------------------------

    def _tick(self) -> str:
        self.now += timedelta(minutes=1)
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _changed(self, event_id: str) -> None:
        self.change += 1
        self.changes.append((self.change, event_id))

    def create(self, summary: str) -> str:
        self._n += 1
        event_id = f"evt{self._n:04d}abcdef"
        stamp = self._tick()
        self.events[event_id] = {
            "kind": "calendar#event", "id": event_id, "status": "confirmed",
            "summary": summary, "created": stamp, "updated": stamp,
            "start": {"dateTime": "2024-05-06T09:30:00+02:00"},
            "end": {"dateTime": "2024-05-06T10:00:00+02:00"}}
        self._changed(event_id)
        return event_id

    def update(self, event_id: str, **fields) -> None:
        self.events[event_id].update(fields, updated=self._tick())
        self._changed(event_id)

    def cancel(self, event_id: str) -> None:
        self.events[event_id] = {"kind": "calendar#event", "id": event_id,
                                 "status": "cancelled", "updated": self._tick()}
        self._changed(event_id)

    def invalidate_tokens(self) -> None:
        self.generation += 1

    # -- the API ---------------------------------------------------------------------------

    def _list(self, request):
        query = parse_qs(urlsplit(request.url).query)
        self.requests.append(query)
        token = query.get("syncToken", [None])[0]
        if token is not None:
            for name in NOT_WITH_SYNC_TOKEN:
                assert name not in query, f"{name} is not allowed with syncToken"
            generation, since = map(int, token.removeprefix("sync-").split("-"))
            if generation != self.generation:
                return self._answer(410, {"error": {
                    "code": 410, "message": "Sync token is no longer valid, a full sync is "
                                            "required.", "errors": [{
                        "domain": "calendar", "reason": "fullSyncRequired",
                        "message": "Sync token is no longer valid, a full sync is required."}]}})
            ids = list(dict.fromkeys(e for n, e in self.changes if n > since))
        else:
            ids = [e for e, ev in self.events.items()
                   if ev["status"] != "cancelled" or query.get("showDeleted") == ["true"]]
        offset = int(query.get("pageToken", ["0"])[0])
        page = {"kind": "calendar#events", "summary": "ada@example.com",
                "items": [self.events[i] for i in ids[offset:offset + self.page_size]]}
        if offset + self.page_size < len(ids):
            page["nextPageToken"] = str(offset + self.page_size)
        else:
            page["nextSyncToken"] = f"sync-{self.generation}-{self.change}"
        return self._answer(200, page)

    def _answer(self, status, body):
        return status, {"Content-Type": "application/json",
                        "Date": format_datetime(self.now, usegmt=True)}, json.dumps(body)
