"""A small in-memory HubSpot on 127.0.0.1, following HubSpot's public API reference.

There is no licensed HubSpot OpenAPI description (see shared/specs/README.md), so this fake
stands in for the contract: CRM v3 objects with cursor paging (``paging.next.after``), the
search endpoint, bearer auth, ``X-HubSpot-RateLimit-*`` headers and HubSpot's error bodies
(``{"status": "error", "message", "correlationId", "category", "errors"?}``).

``push(status, body, headers)`` queues scripted answers served before the routes (429s, 5xx).
Every request is recorded in ``requests``.
"""
from __future__ import annotations

import itertools
import json
import re
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
from urllib.parse import urlsplit

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
PROPERTIES = {
    "contacts": {"email", "firstname", "lastname", "phone", "company", "lifecyclestage",
                 "jobtitle", "hs_lead_status"},
    "deals": {"dealname", "amount", "dealstage", "pipeline", "closedate", "dealtype",
              "hubspot_owner_id"},
    "notes": {"hs_note_body", "hs_timestamp", "hubspot_owner_id"},
}
LIFECYCLE_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                    "opportunity", "customer", "evangelist", "other")
# associationTypeId -> the object type the association points to
ASSOCIATION_TARGETS = {3: "contacts", 202: "contacts", 214: "deals"}
RATE_HEADERS = {
    "X-HubSpot-RateLimit-Max": "100",
    "X-HubSpot-RateLimit-Remaining": "99",
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    "X-HubSpot-RateLimit-Daily": "250000",
    "X-HubSpot-RateLimit-Daily-Remaining": "249990",
}


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


def error(status: int, message: str, category: str, **extra: Any) -> Reply:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category, **extra}
    return Reply(status, body)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeHubSpot:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in PROPERTIES}
        self.requests: list[Recorded] = []
        self.scripted: list[Reply] = []
        self._ids = itertools.count(101)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHubSpot:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def push(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with this instead of routing it."""
        self.scripted.append(Reply(status, body, headers))

    def add(self, kind: str, properties: dict[str, Any]) -> str:
        """Seed a record directly (no request recorded); return its id."""
        return self._create(kind, {"properties": properties})["id"]

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # -- routing ---------------------------------------------------------------------------

    def handle(self, rec: Recorded) -> Reply:
        with self._lock:
            self.requests.append(rec)
            if self.scripted:
                return self.scripted.pop(0)
            if rec.headers.get("authorization") != f"Bearer {TOKEN}":
                return error(401, "Authentication credentials not found. This API supports "
                                  "OAuth 2.0 authentication and you can find more details at "
                                  "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                             "INVALID_AUTHENTICATION")
            try:
                return self._route(rec)
            except Reply as reply:
                return reply

    def _route(self, rec: Recorded) -> Reply:
        if rec.method == "GET" and rec.path == "/account-info/v3/details":
            return Reply(200, {"portalId": 62515, "accountType": "STANDARD",
                               "timeZone": "US/Eastern",
                               "companyCurrency": "USD", "additionalCurrencies": [],
                               "utcOffset": "-05:00", "utcOffsetMilliseconds": -18000000,
                               "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"})
        m = re.fullmatch(r"/crm/v3/objects/(contacts|deals|notes)(?:/([^/]+))?", rec.path)
        if not m:
            raise error(404, f"Unable to route {rec.method} {rec.path}", "OBJECT_NOT_FOUND")
        kind, key = m.group(1), m.group(2) and unquote(m.group(2))
        if kind == "contacts" and key == "search" and rec.method == "POST":
            return self._search(rec.json or {})
        if key is None and rec.method == "POST":
            return Reply(201, self._create(kind, rec.json or {}))
        if key is None and rec.method == "GET":
            return self._list(kind, rec.query)
        if key is not None and rec.method == "GET":
            return Reply(200, self._view(self._find(kind, key, rec.query), rec.query))
        if key is not None and rec.method == "PATCH":
            return Reply(200, self._update(kind, self._find(kind, key, rec.query), rec.json or {}))
        raise error(405, f"{rec.method} is not supported", "METHOD_NOT_ALLOWED")

    # -- objects -----------------------------------------------------------------------------

    def _create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        props = self._valid(kind, body.get("properties") or {})
        if kind == "contacts":
            email = str(props.get("email", "")).lower()
            dup = next((r for r in self.records["contacts"].values()
                        if email and r["properties"].get("email") == email), None)
            if dup:
                raise error(409, f"Contact already exists. Existing ID: {dup['id']}", "CONFLICT")
            if email:
                props["email"] = email
        if kind == "notes" and "hs_timestamp" not in props:
            raise error(400, "Property values were not valid: " + json.dumps(
                [{"isValid": False, "message": "hs_timestamp is required",
                  "error": "REQUIRED_FIELD", "name": "hs_timestamp"}]), "VALIDATION_ERROR")
        self._check_associations(body.get("associations") or [])
        rid, now = str(next(self._ids)), _now()
        record = {"id": rid, "properties": {**props, "hs_object_id": rid, "createdate": now,
                                            "lastmodifieddate": now},
                  "createdAt": now, "updatedAt": now, "archived": False,
                  "associations": body.get("associations") or []}
        self.records[kind][rid] = record
        return self._view(record, {})

    def _update(self, kind: str, record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        props = self._valid(kind, body.get("properties") or {})
        record["properties"].update(props)
        record["updatedAt"] = record["properties"]["lastmodifieddate"] = _now()
        return self._view(record, {})

    def _valid(self, kind: str, props: dict[str, Any]) -> dict[str, str]:
        unknown = sorted(set(props) - PROPERTIES[kind])
        if unknown:
            problems = [{"isValid": False, "message": f'Property "{name}" does not exist',
                         "error": "PROPERTY_DOESNT_EXIST", "name": name,
                         "localizedErrorMessage": f'Property "{name}" does not exist'}
                        for name in unknown]
            raise error(400, "Property values were not valid: " + json.dumps(problems),
                        "VALIDATION_ERROR")
        stage = props.get("lifecyclestage")
        if stage is not None and stage not in LIFECYCLE_STAGES:
            message = f"{stage} was not one of the allowed options: {', '.join(LIFECYCLE_STAGES)}"
            raise error(400, "Property values were not valid: " + json.dumps(
                [{"isValid": False, "message": message, "error": "INVALID_OPTION",
                  "name": "lifecyclestage"}]), "VALIDATION_ERROR",
                errors=[{"message": message, "code": "INVALID_OPTION",
                         "context": {"propertyName": ["lifecyclestage"]}}])
        # HubSpot stores every property value as a string.
        return {k: ("" if v is None else str(v)) for k, v in props.items()}

    def _check_associations(self, associations: list[dict[str, Any]]) -> None:
        for assoc in associations:
            target = str(assoc["to"]["id"])
            for t in assoc["types"]:
                kind = ASSOCIATION_TARGETS.get(t["associationTypeId"])
                if t["associationCategory"] != "HUBSPOT_DEFINED" or kind is None:
                    raise error(400, f"invalid association type {t}", "VALIDATION_ERROR")
                if target not in self.records[kind]:
                    raise error(400, f"{kind[:-1].capitalize()}={target} is not valid",
                                "VALIDATION_ERROR")

    def _find(self, kind: str, key: str, query: dict[str, str]) -> dict[str, Any]:
        if query.get("idProperty") == "email":
            found = next((r for r in self.records[kind].values()
                          if r["properties"].get("email") == key.lower()), None)
        else:
            found = self.records[kind].get(key)
        if found is None:
            raise error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                        context={"id": [key]})
        return found

    def _view(self, record: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        wanted = set(filter(None, query.get("properties", "").split(",")))
        props = record["properties"]
        if wanted:
            props = {k: v for k, v in props.items()
                     if k in wanted or k in ("hs_object_id", "createdate", "lastmodifieddate")}
        return {"id": record["id"], "properties": props, "createdAt": record["createdAt"],
                "updatedAt": record["updatedAt"], "archived": record["archived"]}

    def _page(self, records: list[dict[str, Any]], limit: int, after: str | None,
              query: dict[str, str], link: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        start = int(after or 0)
        chunk = records[start:start + limit]
        paging: dict[str, Any] = {}
        if start + limit < len(records):
            nxt = str(start + limit)
            paging = {"next": {"after": nxt, "link": f"https://api.hubapi.com{link}?after={nxt}"}}
        return [self._view(r, query) for r in chunk], paging

    def _list(self, kind: str, query: dict[str, str]) -> Reply:
        limit = int(query.get("limit", 10))
        if not 1 <= limit <= 100:
            raise error(400, "limit must be between 1 and 100", "VALIDATION_ERROR",
                        errors=[{"message": "must be less than or equal to 100", "in": "limit"}])
        records = sorted(self.records[kind].values(), key=lambda r: int(r["id"]))
        results, paging = self._page(records, limit, query.get("after"), query,
                                     f"/crm/v3/objects/{kind}")
        body: dict[str, Any] = {"results": results}
        if paging:
            body["paging"] = paging
        return Reply(200, body)

    def _search(self, body: dict[str, Any]) -> Reply:
        limit = int(body.get("limit", 10))
        if limit > 200:
            raise error(400, "Invalid input JSON", "VALIDATION_ERROR",
                        errors=[{"message": "must be less than or equal to 200", "in": "limit"}])
        records = sorted(self.records["contacts"].values(), key=lambda r: int(r["id"]))
        text = str(body.get("query") or "").lower()
        if text:
            records = [r for r in records if any(text in str(v).lower()
                                                 for v in r["properties"].values())]
        for group in body.get("filterGroups") or []:
            for f in group["filters"]:
                assert f["operator"] == "EQ", "the fake only knows EQ"
                records = [r for r in records
                           if r["properties"].get(f["propertyName"]) == str(f["value"]).lower()]
        query = {"properties": ",".join(body.get("properties") or [])}
        results, paging = self._page(records, limit, body.get("after"), query,
                                     "/crm/v3/objects/contacts/search")
        out: dict[str, Any] = {"total": len(records), "results": results}
        if paging:
            out["paging"] = {"next": {"after": paging["next"]["after"]}}
        return Reply(200, out)


def _handler(fake: FakeHubSpot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            rec = Recorded(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                json=json.loads(raw) if raw else None,
            )
            reply = fake.handle(rec)
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            headers = {**RATE_HEADERS, "Content-Type": "application/json;charset=utf-8",
                       **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler



def contract_fake():
    """The fake as a contract server (tests/plugins/test_spec_contract.py, template runs):
    ``settings``, ``credentials`` and ``stop()``."""
    from types import SimpleNamespace

    fake = FakeHubSpot().start()
    return SimpleNamespace(settings={"base_url": fake.url}, credentials={"access_token": TOKEN},
                           stop=fake.stop, fake=fake)
