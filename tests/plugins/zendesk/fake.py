"""A documented, stateful fake of the Zendesk Support API v2 on 127.0.0.1 (a werkzeug app).

Zendesk publishes no openly licensed OpenAPI description that is stored here, so this fake is
the plugin's contract (``Contract("fake", ...)``). Each behaviour follows a Zendesk reference
page; what those pages leave open is marked (verify).

- Authentication (https://developer.zendesk.com/api-reference/introduction/security-and-auth/):
  HTTP Basic ``{email}/token:{api_token}`` or ``Authorization: Bearer <OAuth token>``. Wrong
  credentials: 401 ``{"error": "Couldn't authenticate you"}``; no credentials on
  ``GET /users/me``: 200 with the anonymous user (``id`` null), as Zendesk answers
  (https://developer.zendesk.com/api-reference/ticketing/users/users/#show-the-currently-authenticated-user).
- Tickets (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/):
  ``POST /api/v2/tickets.json`` ``{"ticket": {...}}`` -> 201 ``{"ticket", "audit"}``; the
  ``comment`` is the description (required: 422 ``RecordInvalid`` with
  ``details.description``); ``requester: {email, name}`` creates or finds the user (a bad
  e-mail: ``details.requester``); enums are checked (``details.priority`` ...).
  ``Idempotency-Key`` on create: the same key and body answer the first ticket again with
  ``x-zendesk-api-idempotency-lookup: hit``; the same key with another body is 400
  ``IdempotentRequestError`` (header name and error code: verify).
  ``GET /api/v2/tickets/{id}.json`` (404 ``RecordNotFound``);
  ``PUT /api/v2/tickets/{id}.json`` sets fields and adds ``comment`` (audit event
  ``{"type": "Comment", "id", "body", "public", "author_id"}``,
  https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/);
  ``safe_update`` with a stale ``updated_stamp`` is 409 ``UpdateConflict``; a closed ticket
  refuses updates (422 ``RecordInvalid``, ``details.status``).
- Search (https://developer.zendesk.com/api-reference/ticketing/ticket-management/search/):
  ``GET /api/v2/search.json?query=`` with ``per_page`` (<= 100), ``page``, ``sort_by``,
  ``sort_order``; answers ``{"results": [... "result_type": "ticket"], "count",
  "next_page", "previous_page"}``; the query understands ``type:ticket``, ``status:x``,
  ``status<x`` (by the status order new < open < pending < hold < solved < closed),
  ``priority:x``, ``tags:x`` and free words (subject and description). Past 1,000 results:
  422 ``{"error": "invalid", "description": "Invalid search: Requested response size was
  greater than Search Response Limits"}`` (verify the wording).
- Rate limits (https://developer.zendesk.com/api-reference/introduction/rate-limits/): every
  answer carries ``X-Rate-Limit`` and ``X-Rate-Limit-Remaining``; ``push()`` scripts a 429
  with ``Retry-After`` (or any other answer) before the routes.

``requests`` records each request; ``tickets`` holds the state.
"""
from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from tests.plugins.fake_server import LoopbackFake
from tests.plugins.fake_server import Recorded
from tests.plugins.fake_server import Reply

EMAIL = "agent@example.com"
API_TOKEN = "6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"
OAUTH_TOKEN = "zd-oauth-0123456789abcdef0123456789abcdef"
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TYPES = ("problem", "incident", "question", "task")
SEARCH_LIMIT = 1000


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def invalid(field: str, description: str, error: str = "InvalidValue") -> Reply:
    return Reply(422, {"error": "RecordInvalid", "description": "Record validation errors",
                       "details": {field: [{"description": description, "error": error}]}})


class FakeZendesk(LoopbackFake):
    requests: list[Recorded]
    scripted: list[Reply]

    def __init__(self) -> None:
        self.agent = {"id": 8447388090494, "name": "Sam Agent", "email": EMAIL, "role": "agent"}
        self.users: dict[str, dict[str, Any]] = {EMAIL: self.agent}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.idempotency: dict[str, tuple[Any, Reply]] = {}
        self.remaining = 700
        self._ids = itertools.count(35501)
        self._other_ids = itertools.count(9_000_000_000_001)
        self._lock = threading.Lock()
        super().__init__(self.wsgi)

    @property
    def api(self) -> str:
        return f"{self.url}/api/v2/"

    # -- seeding -------------------------------------------------------------------------------

    def add_ticket(self, subject: str, ticket_id: int | None = None, **fields: Any) -> int:
        tid = ticket_id or next(self._ids)
        now = _now()
        self.tickets[tid] = {
            "id": tid, "url": f"{self.api}tickets/{tid}.json", "subject": subject,
            "description": fields.pop("description", subject), "status": "open",
            "priority": None, "type": None, "requester_id": self.agent["id"],
            "submitter_id": self.agent["id"], "assignee_id": None, "group_id": None,
            "organization_id": None, "tags": [], "external_id": None, "due_at": None,
            "custom_fields": [], "via": {"channel": "api"}, "created_at": now,
            "updated_at": now, **fields}
        self.comments[tid] = []
        return tid

    # -- the app -------------------------------------------------------------------------------

    def wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data()
        rec = Recorded(method=request.method, path=request.path,
                       query=dict(request.args.items()),
                       headers={k.lower(): v for k, v in request.headers.items()},
                       json=json.loads(raw) if raw else None)
        reply = self.handle(rec)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Rate-Limit": "700", "X-Rate-Limit-Remaining": str(self.remaining),
                   **reply.headers}
        body = b"" if reply.body is None else json.dumps(reply.body).encode()
        return Response(body, status=reply.status, headers=headers)(environ, start_response)

    def handle(self, rec: Recorded) -> Reply:
        with self._lock:
            scripted = self.received(rec)
            self.remaining = max(0, self.remaining - 1)
            if scripted is not None:
                return scripted
            try:
                user = self._authenticate(rec)
                return self._route(rec, user)
            except Reply as reply:
                return reply

    def _authenticate(self, rec: Recorded) -> dict[str, Any] | None:
        header = rec.headers.get("authorization", "")
        if not header:
            return None
        if header == f"Bearer {OAUTH_TOKEN}":
            return self.agent
        if header.startswith("Basic "):
            try:
                user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = secret = ""
            if user == f"{EMAIL}/token" and secret == API_TOKEN:
                return self.agent
        raise Reply(401, {"error": "Couldn't authenticate you"})

    def _route(self, rec: Recorded, user: dict[str, Any] | None) -> Reply:
        path = rec.path
        if not path.startswith("/api/v2/"):
            raise Reply(404, {"error": "InvalidEndpoint", "description": "Not found"})
        path = path[len("/api/v2/"):]
        if (rec.method, path) == ("GET", "users/me.json"):
            return Reply(200, {"user": user or {"id": None, "name": "Anonymous user",
                                                "role": "end-user"}})
        if user is None:
            raise Reply(401, {"error": "Couldn't authenticate you"})
        if (rec.method, path) == ("POST", "tickets.json"):
            return self._create(rec)
        if (rec.method, path) == ("GET", "search.json"):
            return self._search(rec)
        parts = path.split("/")
        if len(parts) == 2 and parts[0] == "tickets" and parts[1].endswith(".json"):
            stem = parts[1][:-5]
            ticket = self.tickets.get(int(stem)) if stem.isdigit() else None
            if ticket is None:
                raise Reply(404, {"error": "RecordNotFound", "description": "Not found"})
            if rec.method == "GET":
                return Reply(200, {"ticket": ticket})
            if rec.method == "PUT":
                return self._update(ticket, (rec.json or {}).get("ticket") or {}, user)
        raise Reply(404, {"error": "InvalidEndpoint", "description": "Not found"})

    # -- tickets -------------------------------------------------------------------------------

    def _check_fields(self, body: dict[str, Any]) -> None:
        for name, allowed in (("status", STATUSES), ("priority", PRIORITIES), ("type", TYPES)):
            if name in body and body[name] not in allowed:
                raise invalid(name, f"{name.title()}: {body[name]} is not valid")
        if "subject" in body and len(str(body["subject"])) > 255:
            raise invalid("subject", "Subject: is too long (maximum is 255 characters)")
        for name in ("assignee_id", "group_id"):
            if name in body and not isinstance(body[name], int):
                raise invalid(name, f"{name}: must be an integer")

    def _create(self, rec: Recorded) -> Reply:
        key = rec.headers.get("idempotency-key")
        if key and key in self.idempotency:
            sent, reply = self.idempotency[key]
            if sent != rec.json:
                raise Reply(400, {"error": "IdempotentRequestError",
                                  "description": "The idempotency key was used with another "
                                                 "request"})
            return Reply(reply.status, reply.body,
                         {**reply.headers, "x-zendesk-api-idempotency-lookup": "hit"})
        body = (rec.json or {}).get("ticket")
        if not isinstance(body, dict):
            raise Reply(400, {"error": "InvalidRequest", "description": "ticket is required"})
        comment = body.get("comment") or {}
        if not (comment.get("body") or comment.get("html_body")):
            raise invalid("description", "Description: cannot be blank", "BlankValue")
        self._check_fields(body)
        requester_id = body.get("requester_id") or self.agent["id"]
        requester = body.get("requester")
        if isinstance(requester, dict):
            email = str(requester.get("email") or "")
            if "@" not in email or email.startswith("@") or email.endswith("@"):
                raise invalid("requester", f"Requester: Email {email} is not properly formatted")
            found = self.users.setdefault(email, {"id": next(self._other_ids), "email": email,
                                                  "name": requester.get("name") or email,
                                                  "role": "end-user"})
            requester_id = found["id"]
        fields = {k: body[k] for k in ("status", "priority", "type", "assignee_id", "group_id",
                                       "tags", "custom_fields", "external_id", "due_at")
                  if k in body}
        fields.setdefault("status", "open" if body.get("assignee_id") else "new")
        tid = self.add_ticket(body.get("subject") or "", description=comment.get("body")
                              or comment.get("html_body"), requester_id=requester_id,
                              **fields)
        event = self._comment(tid, comment, self.agent)
        reply = Reply(201, {"ticket": self.tickets[tid],
                            "audit": {"id": next(self._other_ids), "ticket_id": tid,
                                      "events": [event]}},
                      {"Location": f"{self.api}tickets/{tid}.json"})
        if key:
            self.idempotency[key] = (copy.deepcopy(rec.json),
                                     Reply(reply.status, copy.deepcopy(reply.body), reply.headers))
            reply.headers = {**reply.headers, "x-zendesk-api-idempotency-lookup": "miss"}
        return reply

    def _comment(self, tid: int, comment: dict[str, Any], author: dict[str, Any]) -> dict:
        event = {"id": next(self._other_ids), "type": "Comment",
                 "author_id": comment.get("author_id") or author["id"],
                 "body": comment.get("body") or comment.get("html_body"),
                 "html_body": comment.get("html_body") or f"<p>{comment.get('body')}</p>",
                 "public": bool(comment.get("public", True)), "created_at": _now()}
        self.comments[tid].append(event)
        return event

    def _update(self, ticket: dict[str, Any], body: dict[str, Any], user: dict) -> Reply:
        if ticket["status"] == "closed":
            raise invalid("status", "Status: closed prevents ticket update", "ClosedTicket")
        if body.get("safe_update") and body.get("updated_stamp"):
            stamp = datetime.fromisoformat(body["updated_stamp"].replace("Z", "+00:00"))
            current = datetime.fromisoformat(ticket["updated_at"].replace("Z", "+00:00"))
            if stamp != current:
                raise Reply(409, {"error": "UpdateConflict",
                                  "description": "Safe Update prevented the update due to "
                                                 "outdated ticket data. Please fetch the "
                                                 "latest ticket data and try again."})
        self._check_fields(body)
        events = []
        for name in ("subject", "status", "priority", "type", "assignee_id", "group_id",
                     "tags", "custom_fields", "external_id", "due_at"):
            if name in body:
                events.append({"id": next(self._other_ids), "type": "Change",
                               "field_name": name, "value": body[name],
                               "previous_value": ticket.get(name)})
                ticket[name] = body[name]
        comment = body.get("comment")
        if isinstance(comment, dict):
            if not (comment.get("body") or comment.get("html_body")):
                raise invalid("comment", "Comment: cannot be blank", "BlankValue")
            events.append(self._comment(ticket["id"], comment, user))
        ticket["updated_at"] = _now()
        return Reply(200, {"ticket": ticket, "audit": {"id": next(self._other_ids),
                                                       "ticket_id": ticket["id"],
                                                       "events": events}})

    # -- search --------------------------------------------------------------------------------

    def _matches(self, ticket: dict[str, Any], terms: list[str]) -> bool:
        text = f"{ticket['subject']} {ticket['description']}".lower()
        for term in terms:
            if term == "type:ticket":
                continue
            for op in ("<", ":", ">"):
                name, sep, value = term.partition(op)
                if sep and name in ("status", "priority", "tags", "tag"):
                    break
            else:
                if term.lower() not in text:
                    return False
                continue
            if name in ("tags", "tag"):
                if value not in ticket["tags"]:
                    return False
            elif name == "status" and op != ":":
                rank, limit = STATUSES.index(ticket["status"]), STATUSES.index(value)
                if (op == "<" and rank >= limit) or (op == ">" and rank <= limit):
                    return False
            elif ticket.get(name) != value:
                return False
        return True

    def _search(self, rec: Recorded) -> Reply:
        query = rec.query.get("query", "")
        per_page = min(int(rec.query.get("per_page") or 100), 100)
        page = int(rec.query.get("page") or 1)
        if page * per_page > SEARCH_LIMIT:
            raise Reply(422, {"error": "invalid", "description": "Invalid search: Requested "
                              "response size was greater than Search Response Limits"})
        terms = query.split()
        found = [t for t in self.tickets.values() if self._matches(t, terms)]
        key = rec.query.get("sort_by") or "created_at"
        key = "type" if key == "ticket_type" else key
        found.sort(key=lambda t: (str(t.get(key) or ""), t["id"]),
                   reverse=rec.query.get("sort_order", "desc") == "desc")
        chunk = found[(page - 1) * per_page: page * per_page]
        nxt = None
        if page * per_page < min(len(found), SEARCH_LIMIT):
            nxt = f"{self.api}search.json?" + urlencode({**rec.query, "page": page + 1})
        return Reply(200, {"results": [{**t, "result_type": "ticket"} for t in chunk],
                           "count": len(found), "next_page": nxt,
                           "previous_page": None if page == 1 else "..."})


class ContractFake:
    """What tests/plugins/test_spec_contract.py runs every action example against: a started
    fake seeded with the tickets the examples name, and a connection's settings and
    credentials for it."""

    def __init__(self) -> None:
        from plugins.zendesk.samples import TICKET_ID

        self.fake = FakeZendesk().start()
        self.fake.add_ticket("Help, my printer is on fire!", ticket_id=TICKET_ID,
                             priority="urgent", tags=["printer"])
        self.settings = {"base_url": self.fake.api}
        self.credentials = {"email": EMAIL, "api_token": API_TOKEN,
                            "webhook_secret": "zendesk-signing-secret-0123456789"}

    def stop(self) -> None:
        self.fake.stop()


def contract_fake() -> ContractFake:
    return ContractFake()
