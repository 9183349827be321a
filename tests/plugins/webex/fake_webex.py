"""A small in-memory Webex on 127.0.0.1, following the Webex REST API reference.

Cisco publishes no OpenAPI description (see shared/specs/README.md), so this fake stands in for
the contract. It follows https://developer.webex.com/docs/api/v1/ and the REST basics
(https://developer.webex.com/docs/basics): bearer auth (401 without a known token), ids that
are base64 of ``ciscospark://us/<TYPE>/<uuid>`` without padding, lists as ``{"items": [...]}``
paged by ``max`` with an RFC 5988 ``Link: <...>; rel="next"`` header, error bodies
``{"message", "errors": [{"description"}], "trackingId"}``, and these routes:

- ``GET /v1/people/me``
- ``POST /v1/messages`` (exactly one of ``roomId``, ``toPersonId``, ``toPersonEmail``; ``text``
  or ``markdown``; ``parentId`` in a room), ``GET /v1/messages?roomId=`` (newest first;
  ``before``, ``mentionedPeople``), ``GET /v1/messages/{id}``
- ``GET /v1/rooms`` (``type``, ``teamId``, ``sortBy``), ``POST /v1/rooms`` (``title``)
- ``POST /v1/memberships`` (``roomId`` and ``personEmail`` or ``personId``; 409 when the person
  is in the room already)
- ``POST /v1/meetings`` (``title``, ``start``, ``end``; the end after the start)
- ``POST /v1/webhooks`` (``name``, ``targetUrl``, ``resource``, ``event``; the ``secret`` is
  echoed, as Webex does)

``push(status, body, headers)`` queues answers served before the routes (429s, 5xx). Every
request is recorded in ``requests``.
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlencode
from urllib.parse import urlsplit

TOKEN = ("ZDI3MGEyYzQtNmFlNS00NDNhLWFlNzAtZGVjNjE0MGU1OGZmZWNmZDEwN2ItYTU3"
         "_PF84_1eb65fdf-9643-417f-9974-ad72cae0e10f")


def webex_id(kind: str, raw: str | None = None) -> str:
    uri = f"ciscospark://us/{kind}/{raw or uuid.uuid4()}"
    return base64.b64encode(uri.encode()).decode().rstrip("=")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


class Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def error(status: int, message: str) -> Reply:
    tracking = f"ROUTER_{uuid.uuid4()}".upper()
    return Reply(status, {"message": message, "errors": [{"description": message}],
                          "trackingId": tracking}, {"trackingId": tracking})


class FakeWebex:
    def __init__(self) -> None:
        self.me = {"id": webex_id("PEOPLE"), "emails": ["atom-bot@webex.bot"],
                   "displayName": "ATOM Bot", "nickName": "ATOM", "type": "bot",
                   "orgId": webex_id("ORGANIZATION"), "created": "2024-01-01T00:00:00.000Z"}
        self.people: dict[str, dict[str, Any]] = {}
        self.rooms: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.memberships: list[dict[str, Any]] = []
        self.meetings: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self.scripted: list[Reply] = []
        self.drop_from_next: set[str] = set()  # parameters the next link leaves out
        self._numbers = itertools.count(2_556_254_187)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeWebex:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def push(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.scripted.append(Reply(status, body, headers))

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # -- seeding -----------------------------------------------------------------------------

    def add_room(self, title: str, type_: str = "group", **extra: Any) -> str:
        room = {"id": webex_id("ROOM"), "title": title, "type": type_, "isLocked": False,
                "lastActivity": _now(), "creatorId": self.me["id"], "created": _now(), **extra}
        self.rooms[room["id"]] = room
        return room["id"]

    def add_message(self, room_id: str, text: str, person_email: str = "matt@example.com",
                    mentions_me: bool = False) -> str:
        person = self._person(person_email)
        msg = {"id": webex_id("MESSAGE"), "roomId": room_id,
               "roomType": self.rooms[room_id]["type"], "text": text,
               "personId": person["id"], "personEmail": person_email, "created": _now()}
        if mentions_me:
            msg["mentionedPeople"] = [self.me["id"]]
        self.messages.append(msg)
        return msg["id"]

    # -- routing ---------------------------------------------------------------------------

    def handle(self, rec: Recorded) -> Reply:
        with self._lock:
            self.requests.append(rec)
            if self.scripted:
                return self.scripted.pop(0)
            if rec.headers.get("authorization") != f"Bearer {TOKEN}":
                return error(401, "The request requires a valid access token set in the "
                                  "Authorization request header.")
            try:
                return self._route(rec)
            except Reply as reply:
                return reply

    def _route(self, rec: Recorded) -> Reply:
        method, parts = rec.method, rec.path.strip("/").split("/")
        if parts[0] != "v1":
            raise error(404, "The requested resource could not be found.")
        resource = parts[1] if len(parts) > 1 else ""
        key = unquote(parts[2]) if len(parts) > 2 else None
        body = rec.json or {}
        if (method, resource) == ("GET", "people") and key == "me":
            return Reply(200, self.me)
        if (method, resource, key) == ("POST", "messages", None):
            return Reply(200, self._post_message(body))
        if (method, resource, key) == ("GET", "messages", None):
            return self._list_messages(rec)
        if (method, resource) == ("GET", "messages"):
            found = next((m for m in self.messages if m["id"] == key), None)
            if found is None:
                raise error(404, "Unable to find message.")
            return Reply(200, found)
        if (method, resource, key) == ("GET", "rooms", None):
            return self._list_rooms(rec)
        if (method, resource, key) == ("POST", "rooms", None):
            if not body.get("title"):
                raise error(400, "title cannot be empty")
            extra = {k: body[k] for k in ("teamId", "description") if body.get(k)}
            room_id = self.add_room(body["title"], isLocked=bool(body.get("isLocked")), **extra)
            return Reply(200, self.rooms[room_id])
        if (method, resource, key) == ("POST", "memberships", None):
            return Reply(200, self._add_member(body))
        if (method, resource, key) == ("POST", "meetings", None):
            return Reply(200, self._create_meeting(body))
        if (method, resource, key) == ("POST", "webhooks", None):
            return Reply(200, self._create_webhook(body))
        raise error(404, "The requested resource could not be found.")

    # -- resources ----------------------------------------------------------------------------

    def _person(self, email: str) -> dict[str, Any]:
        if email not in self.people:
            self.people[email] = {"id": webex_id("PEOPLE"), "emails": [email],
                                  "displayName": email.split("@")[0].title()}
        return self.people[email]

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        targets = [k for k in ("roomId", "toPersonId", "toPersonEmail") if body.get(k)]
        if len(targets) != 1:
            raise error(400, "Exactly one of roomId, toPersonId or toPersonEmail must be "
                             "specified.")
        if not body.get("text") and not body.get("markdown"):
            raise error(400, "text, markdown, files or attachments must be specified.")
        if body.get("roomId"):
            room = self.rooms.get(body["roomId"])
            if room is None:
                raise error(404, "Could not find a room with provided ID.")
        else:
            person = (self._person(body["toPersonEmail"]) if body.get("toPersonEmail")
                      else next((p for p in self.people.values() if p["id"] == body["toPersonId"]),
                                None))
            if person is None:
                raise error(404, "Could not find a person with provided ID.")
            room = next((r for r in self.rooms.values() if r.get("_with") == person["id"]), None)
            if room is None:
                room = self.rooms[self.add_room(person["displayName"], "direct",
                                                _with=person["id"])]
        if body.get("parentId") and not any(m["id"] == body["parentId"] for m in self.messages):
            raise error(400, "Invalid parentId: no such message in the room.")
        msg = {"id": webex_id("MESSAGE"), "roomId": room["id"], "roomType": room["type"],
               "text": body.get("text") or body["markdown"].replace("**", ""),
               "personId": self.me["id"], "personEmail": self.me["emails"][0],
               "created": _now()}
        for k in ("markdown", "parentId", "toPersonEmail", "toPersonId"):
            if body.get(k):
                msg[k] = body[k]
        self.messages.append(msg)
        return msg

    def _page(self, rec: Recorded, items: list[dict[str, Any]], path: str) -> Reply:
        limit = int(rec.query.get("max") or 100)
        start = int(rec.query.get("cursor") or 0)
        page = items[start:start + limit]
        headers = {}
        if start + limit < len(items):
            query = {k: v for k, v in rec.query.items()
                     if k not in self.drop_from_next and k != "cursor"}
            query["cursor"] = str(start + limit)
            headers["Link"] = f'<{self.url}{path}?{urlencode(query)}>; rel="next"'
        return Reply(200, {"items": [{k: v for k, v in i.items() if not k.startswith("_")}
                                     for i in page]}, headers)

    def _list_messages(self, rec: Recorded) -> Reply:
        room_id = rec.query.get("roomId")
        if not room_id:
            raise error(400, "roomId is required")
        if room_id not in self.rooms:
            raise error(404, "Could not find a room with provided ID.")
        found = [m for m in reversed(self.messages) if m["roomId"] == room_id]
        if rec.query.get("mentionedPeople") == "me":
            found = [m for m in found if self.me["id"] in m.get("mentionedPeople", [])]
        if rec.query.get("before"):
            before = datetime.fromisoformat(rec.query["before"].replace("Z", "+00:00"))
            found = [m for m in found
                     if datetime.fromisoformat(m["created"].replace("Z", "+00:00")) < before]
        return self._page(rec, found, "/v1/messages")

    def _list_rooms(self, rec: Recorded) -> Reply:
        rooms = list(self.rooms.values())
        if rec.query.get("type"):
            rooms = [r for r in rooms if r["type"] == rec.query["type"]]
        if rec.query.get("teamId"):
            rooms = [r for r in rooms if r.get("teamId") == rec.query["teamId"]]
        if rec.query.get("sortBy") == "lastactivity":
            rooms.sort(key=lambda r: r["lastActivity"], reverse=True)
        return self._page(rec, rooms, "/v1/rooms")

    def _add_member(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("roomId") not in self.rooms:
            raise error(404, "Could not find a room with provided ID.")
        if not body.get("personEmail") and not body.get("personId"):
            raise error(400, "personEmail or personId must be specified.")
        email = body.get("personEmail") or next(
            (e for e, p in self.people.items() if p["id"] == body["personId"]), None)
        if email is None:
            raise error(404, "Could not find a person with provided ID.")
        person = self._person(email)
        if any(m["roomId"] == body["roomId"] and m["personId"] == person["id"]
               for m in self.memberships):
            raise error(409, "Person is already in the room.")
        membership = {"id": webex_id("MEMBERSHIP"), "roomId": body["roomId"],
                      "personId": person["id"], "personEmail": email,
                      "personDisplayName": person["displayName"], "personOrgId": self.me["orgId"],
                      "isModerator": bool(body.get("isModerator")), "isMonitor": False,
                      "created": _now()}
        self.memberships.append(membership)
        return membership

    def _create_meeting(self, body: dict[str, Any]) -> dict[str, Any]:
        for name in ("title", "start", "end"):
            if not body.get(name):
                raise error(400, f"{name} cannot be null")
        try:
            start = datetime.fromisoformat(body["start"])
            end = datetime.fromisoformat(body["end"])
        except ValueError:
            raise error(400, "start or end is not a valid ISO 8601 date-time") from None
        if (start.tzinfo is None) == (end.tzinfo is None) and end <= start:
            raise error(400, "end must be after start")
        series = uuid.uuid4().hex
        number = str(next(self._numbers))
        meeting = {"id": series, "meetingNumber": number, "title": body["title"],
                   "agenda": body.get("agenda", ""), "password": "BgJep@43",
                   "phoneAndVideoSystemPassword": "24537243", "meetingType": "meetingSeries",
                   "state": "active", "timezone": body.get("timezone") or "UTC",
                   "start": body["start"], "end": body["end"],
                   "hostUserId": self.me["id"], "hostDisplayName": self.me["displayName"],
                   "hostEmail": self.me["emails"][0], "siteUrl": "site4-example.webex.com",
                   "webLink": f"https://site4-example.webex.com/site4/j.php?MTID=m{series}",
                   "sipAddress": f"{number}@site4-example.webex.com",
                   "invitees": body.get("invitees") or []}
        self.meetings.append(meeting)
        return meeting

    def _create_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        for name in ("name", "targetUrl", "resource", "event"):
            if not body.get(name):
                raise error(400, f"{name} cannot be null")
        hook = {"id": webex_id("WEBHOOK"), **{k: body[k] for k in (
                    "name", "targetUrl", "resource", "event", "filter", "secret") if k in body},
                "status": "active", "orgId": self.me["orgId"], "createdBy": self.me["id"],
                "ownedBy": "creator", "created": _now()}
        self.webhooks.append(hook)
        return hook


def _handler(fake: FakeWebex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            rec = Recorded(method=self.command, path=parts.path,
                           query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                           headers={k.lower(): v for k, v in self.headers.items()},
                           json=json.loads(raw) if raw else None)
            reply = fake.handle(rec)
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in {"Content-Type": "application/json;charset=UTF-8",
                                **reply.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler



def contract_fake():
    """The fake as a contract server (tests/plugins/test_spec_contract.py, template runs):
    ``settings``, ``credentials`` and ``stop()``."""
    from types import SimpleNamespace

    fake = FakeWebex().start()
    return SimpleNamespace(settings={"base_url": fake.url + "/v1"}, credentials={"access_token": TOKEN},
                           stop=fake.stop, fake=fake)
