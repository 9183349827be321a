"""Google Calendar API v3: create, update, delete, read and list events, quick-add, list
calendars, find free slots (freeBusy); event created/updated/cancelled poll triggers on the
events' ``syncToken``.

API reference: https://developers.google.com/workspace/calendar/api/v3/reference
Incremental sync: https://developers.google.com/workspace/calendar/api/guides/sync
Errors: https://developers.google.com/workspace/calendar/api/guides/errors
Event ids chosen by the client: the ``id`` property of
https://developers.google.com/workspace/calendar/api/v3/reference/events/insert
Push channels: https://developers.google.com/workspace/calendar/api/guides/push
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import requests

from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import compact
from atom.integrations.http import idempotency_scope
from atom.integrations.pagination import PageTokenPaginator
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from plugins.google_calendar import payloads
from plugins.google_calendar.schemas import EventTriggerParams
from plugins.google_calendar.slots import free_slots
from plugins.google_common import GoogleErrors
from plugins.google_common import body
from plugins.google_common import cursor_expired
from plugins.google_common import flag
from plugins.google_common import load_params
from plugins.google_common import segment

# events.list allows up to 2,500 events a page.
PAGE_SIZE = 2500
MAX_SYNC_PAGES = 200

ERRORS = GoogleErrors(
    "Google Calendar",
    locations={"timeMin": "time_min", "timeMax": "time_max", "q": "query", "orderBy": "order_by",
               "calendarId": "calendar_id", "eventId": "event_id", "maxResults": "max_items",
               "timeZone": "time_zone", "text": "text"},
    reasons={"timeRangeEmpty": "end", "duplicate": "id"},
    messages={"Missing end time": "end", "Invalid start time": "start",
              "Invalid end time": "end", "The specified time range is empty": "end",
              "Start and end times must": "end", "Missing time zone": "time_zone",
              "Invalid time zone": "time_zone", "Invalid attendee email": "attendees",
              "Invalid recurrence rule": "recurrence"},
)


class GoogleCalendarIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        ERRORS.check(response)

    def health_check(self) -> None:
        found = self._get("users/me/calendarList", "calendarList.list", {"maxResults": 1})
        if "items" not in found and found.get("kind") != "calendar#calendarList":
            raise UpstreamError("calendarList.list answered without calendars; is base_url "
                                "Google Calendar's API?", permanent=True)

    # -- actions ---------------------------------------------------------------------------

    def create_event(self, data: dict[str, Any]) -> dict[str, Any]:
        """Insert with a client-chosen id: a repeated insert (a retry after a lost answer, or
        the step run again) gets 409 and returns the event the first one made."""
        path = _events(data["calendar_id"])
        given = data.get("id")
        event_id = given or self._new_event_id(data["calendar_id"])
        request = {**payloads.event_body(data), "id": event_id}
        params = {"sendUpdates": data["send_updates"]}
        if data.get("add_meet"):
            request["conferenceData"] = payloads.meet_request(event_id)
            params["conferenceDataVersion"] = 1
        try:
            created = self.http.post(path, params=params, json=request, idempotent=given is None,
                                     operation="events.insert")
        except IntegrationError as exc:
            if exc.status != 409 or given is not None:
                raise
            created = self.http.get(f"{path}/{segment(event_id)}", operation="events.get")
        return payloads.event(body(created, "Google Calendar"))

    def update_event(self, data: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"sendUpdates": data["send_updates"]}
        request = payloads.event_body(data)
        if data.get("add_meet"):
            request["conferenceData"] = payloads.meet_request(uuid.uuid4().hex)
            params["conferenceDataVersion"] = 1
        # PATCH sets the fields given (a list such as attendees is replaced whole).
        updated = self.http.patch(_event(data), params=params, json=request, idempotent=True,
                                  operation="events.patch")
        return payloads.event(body(updated, "Google Calendar"))

    def delete_event(self, data: dict[str, Any]) -> dict[str, Any]:
        """Deleting an event that is already deleted succeeds (Google answers 410 Gone)."""
        try:
            self.http.delete(_event(data), params={"sendUpdates": data["send_updates"]},
                             operation="events.delete")
        except IntegrationError as exc:
            if exc.status != 410:
                raise
            return {"id": data["event_id"], "deleted": True, "already_deleted": True}
        return {"id": data["event_id"], "deleted": True, "already_deleted": False}

    def get_event(self, data: dict[str, Any]) -> dict[str, Any]:
        return payloads.event(self._get(_event(data), "events.get"))

    def list_events(self, data: dict[str, Any]) -> dict[str, Any]:
        params = compact(timeMin=data.get("time_min"), timeMax=data.get("time_max"),
                         q=data.get("query"), singleEvents=flag(data["single_events"]),
                         orderBy=data.get("order_by"), showDeleted=flag(data["show_deleted"]),
                         timeZone=data.get("time_zone"),
                         maxResults=min(data["max_items"], PAGE_SIZE))
        found = self.http.paginate(_events(data["calendar_id"]), PageTokenPaginator(items="items"),
                                   params=params, operation="events.list")
        events = [payloads.event(e) for e in islice(found, data["max_items"])]
        return {"events": events, "count": len(events)}

    def quick_add_event(self, data: dict[str, Any]) -> dict[str, Any]:
        created = self.http.post(f"{_events(data['calendar_id'])}/quickAdd",
                                 params={"text": data["text"], "sendUpdates": data["send_updates"]},
                                 operation="events.quickAdd")
        return payloads.event(body(created, "Google Calendar"))

    def list_calendars(self, data: dict[str, Any]) -> dict[str, Any]:
        params = compact(minAccessRole=data.get("min_access_role"),
                         maxResults=data["max_items"])
        found = self.http.paginate("users/me/calendarList", PageTokenPaginator(items="items"),
                                   params=params, operation="calendarList.list")
        calendars = [payloads.calendar(c) for c in islice(found, data["max_items"])]
        return {"calendars": calendars, "count": len(calendars)}

    def find_free_slots(self, data: dict[str, Any]) -> dict[str, Any]:
        """freeBusy for every calendar given, then the free intervals of at least
        ``duration_minutes`` within working hours (``slots.free_slots``)."""
        tz = ZoneInfo(data["time_zone"])
        answer = body(self.http.post("freeBusy", json={
            "timeMin": data["time_min"], "timeMax": data["time_max"],
            "timeZone": data["time_zone"], "items": [{"id": c} for c in data["calendars"]],
        }, idempotent=True, operation="freebusy.query"), "Google Calendar")
        busy, problems = [], {}
        for cal_id, info in (answer.get("calendars") or {}).items():
            if not isinstance(info, dict):
                continue
            busy += [(_at(b["start"]), _at(b["end"])) for b in info.get("busy") or []
                     if isinstance(b, dict) and b.get("start") and b.get("end")]
            if info.get("errors"):
                problems[cal_id] = [str(e.get("reason")) for e in info["errors"]
                                    if isinstance(e, dict)]
        duration = timedelta(minutes=data["duration_minutes"])
        found = free_slots(busy, _at(data["time_min"]), _at(data["time_max"]), duration=duration,
                           tz=tz, day_start=data["work_start"], day_end=data["work_end"],
                           days=data["work_days"], align=data["align_minutes"],
                           limit=data["max_slots"])
        slots = [{"start": s.isoformat(), "end": e.isoformat(),
                  "minutes": int((e - s).total_seconds() // 60)} for s, e in found]
        first = ({"start": found[0][0].isoformat(),
                  "end": (found[0][0] + duration).astimezone(tz).isoformat()} if found else None)
        return {"slots": slots, "count": len(slots), "first": first,
                "time_zone": data["time_zone"], "calendar_errors": problems}

    def watch_events(self, data: dict[str, Any]) -> dict[str, Any]:
        """Open a push channel on a calendar's events (events.watch); Google then posts to
        ``address`` whenever an event changes, with the connection's ``channel_token``."""
        token = self.webhook_secret()
        if not token:
            raise ValidationFailed("set the connection's channel_token first: notifications "
                                   "are checked against it",
                                   details={"channel_token": ["required for push channels"]})
        channel = body(self.http.post(f"{_events(data['calendar_id'])}/watch", json={
            "id": data.get("channel_id") or str(uuid.uuid4()), "type": "web_hook",
            "address": data["address"], "token": token,
            "params": {"ttl": str(data["ttl_seconds"])},
        }, operation="events.watch"), "Google Calendar")
        return {"id": channel["id"], "resourceId": channel.get("resourceId"),
                "resourceUri": channel.get("resourceUri"),
                "expiration": channel.get("expiration")}

    def stop_watch(self, data: dict[str, Any]) -> dict[str, Any]:
        """Close a push channel; one already closed or expired counts as closed."""
        try:
            self.http.post("channels/stop", json={"id": data["channel_id"],
                                                  "resourceId": data["resource_id"]},
                           idempotent=True, operation="channels.stop")
        except IntegrationError as exc:
            if exc.status != 404:
                raise
        return {"id": data["channel_id"], "stopped": True}

    # -- push channels ---------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Answer Google's push notifications, which have an empty body and sign nothing.

        A notification whose ``X-Goog-Channel-Token`` is the connection's ``channel_token``
        gets 200: ``sync`` (the channel was opened) and ``exists``/``not_exists`` (something
        changed; the notification says no more). Any other request goes on to the receiver's
        verification, which refuses it. The changes themselves reach workflows through the
        event triggers' incremental sync, which ``exists``/``not_exists`` make due at once.
        """
        state = req.headers.get("X-Goog-Resource-State")
        if state not in ("sync", "exists", "not_exists"):
            return None
        try:
            verify("google_channel_token", req, self.webhook_secret())
        except SignatureError:
            return None
        if state == "sync":
            return Handshake(status=200)
        # Something changed: the event triggers' incremental sync runs now, not at its interval.
        return Handshake(status=200, poll_now=tuple(t.name for t in self.manifest.poll_triggers()))

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """Push notifications carry no events (see :meth:`webhook_handshake`)."""
        return []

    # -- triggers --------------------------------------------------------------------------

    def poll_event_created(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        return self._poll("created", params, cursor)

    def poll_event_updated(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        return self._poll("updated", params, cursor)

    def poll_event_cancelled(self, params: dict[str, Any] | None, cursor: str | None
                             ) -> PollPage:
        return self._poll("cancelled", params, cursor)

    def _poll(self, kind: str, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        """Incremental sync of one calendar's events.

        Priming pages through a full sync for its ``nextSyncToken``; the events it lists are
        the current state (returned as seen, not fired). Later polls send the token and get
        every event changed since, deleted ones included (``showDeleted``, the same
        parameters as the full sync, as Google requires); each is classified with
        :func:`payloads.kind` against the latest ``updated`` earlier syncs saw (kept in the
        cursor with the token). A 410 means Google
        wants a full sync again: the cursor is expired and the trigger primes again.
        """
        p = load_params(EventTriggerParams, params)
        path = _events(p["calendar_id"])
        query = {"showDeleted": "true", "maxResults": PAGE_SIZE}
        if cursor is None:
            events, token = self._sync(path, query)
            return PollPage([payloads.item(e) for e in events],
                            payloads.cursor(token, payloads.high_water(events)))
        state = payloads.read_cursor(cursor)
        if state is None:
            raise cursor_expired("Google Calendar", "cursor (unreadable)", None)
        token, mark = state
        try:
            events, token = self._sync(path, {**query, "syncToken": token})
        except IntegrationError as exc:
            if exc.status == 410:
                raise cursor_expired("Google Calendar", "syncToken", exc.status) from exc
            raise
        items = [payloads.item(e) for e in events if payloads.kind(e, mark) == kind]
        return PollPage(items, payloads.cursor(token, payloads.high_water(events, mark)))

    def _sync(self, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """Every page of events.list: the events (oldest change first) and the
        ``nextSyncToken`` of the last page."""
        events: list[dict[str, Any]] = []
        params = dict(params)
        for _ in range(MAX_SYNC_PAGES):
            response = self.http.get(path, params=params, operation="events.list")
            page = body(response, "Google Calendar")
            events += [e for e in page.get("items") or [] if isinstance(e, dict) and e.get("id")]
            token = page.get("nextPageToken")
            if not token:
                sync = page.get("nextSyncToken")
                if not sync:
                    raise UpstreamError("events.list ended without a nextSyncToken",
                                        permanent=True)
                events.sort(key=payloads.order_key)
                return events, str(sync)
            if token == params.get("pageToken"):
                raise UpstreamError(f"pagination loop: token {token!r} came back twice")
            params["pageToken"] = token
        raise UpstreamError(f"events.list: more than {MAX_SYNC_PAGES} pages in one sync",
                            permanent=True)

    # -- helpers ----------------------------------------------------------------------------

    def _get(self, path: str, operation: str, params: dict[str, Any] | None = None
             ) -> dict[str, Any]:
        return body(self.http.get(path, params=params, operation=operation), "Google Calendar")

    def _new_event_id(self, calendar_id: str) -> str:
        """An event id (base32hex: hex digits are a subset) derived from the step's
        idempotency key when the engine gives one, so the step run again inserts nothing new."""
        scope = idempotency_scope.get()
        seed = scope.next_key() if scope is not None else uuid.uuid4().hex
        digest = hashlib.sha256(f"{self.connection.id}:{calendar_id}:{seed}".encode())
        return digest.hexdigest()[:32]


def _events(calendar_id: str) -> str:
    return f"calendars/{segment(calendar_id)}/events"


def _event(data: dict[str, Any]) -> str:
    return f"{_events(data['calendar_id'])}/{segment(data['event_id'])}"


def _at(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

