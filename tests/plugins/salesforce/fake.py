"""A documented fake Salesforce org (REST API and OAuth token endpoint) on 127.0.0.1.

Salesforce publishes no OpenAPI description of its REST API, so this stateful fake is the
contract (``Contract("fake", ...)`` in the manifest). Each behaviour follows the vendor's
reference:

- Records: ``POST /services/data/vNN.0/sobjects/{type}/`` answers 201
  ``{"id", "success": true, "errors": []}`` (REST API Developer Guide, "Create a Record",
  dome_sobject_create.htm); ``PATCH .../sobjects/{type}/{id}`` answers 204 ("Update a
  Record", dome_update_fields.htm); ``GET .../sobjects/{type}/{id}[?fields=A,B]`` answers the
  record with ``attributes {type, url}`` ("Get Field Values", dome_get_field_values.htm);
  ``PATCH .../sobjects/{type}/{field}/{value}`` upserts by external id: 201 with
  ``created: true``, 200 with ``created: false`` (API 46.0+), 300 with the matching records'
  URLs when several match, 404 NOT_FOUND when the field is not an External ID field
  ("Insert or Update (Upsert) a Record Using an External ID", dome_upsert.htm) (verify the
  404 wording).
- SOQL: ``GET .../query?q=`` and ``.../queryAll?q=`` answer ``{"totalSize", "done",
  "records", "nextRecordsUrl"?}``; later pages at ``nextRecordsUrl``
  (``/services/data/vNN.0/query/<locator>-<offset>``, "Execute a SOQL Query",
  dome_query.htm); page size from ``Sforce-Query-Options: batchSize=n`` (200..2000, default
  2000, headers_queryoptions.htm). An unknown locator is 400 INVALID_QUERY_LOCATOR. The
  subset of SOQL understood is in ``soql.py``; ``FIELDS(STANDARD)`` selects the non-custom
  fields.
- ``GET .../sobjects/{type}/describe`` ("Describe an Object"), ``GET .../limits``
  (``DailyApiRequests``, dome_limits.htm).
- Errors are JSON arrays ``[{"message", "errorCode", "fields"?}]`` (errorcodes.htm and
  "Status Codes and Error Responses"): 400 REQUIRED_FIELD_MISSING (``fields`` lists them),
  INVALID_FIELD ("No such column 'X' on sobject of type Lead"), MALFORMED_QUERY,
  INVALID_TYPE ("sObject type 'X' is not supported."), MALFORMED_ID; 401 INVALID_SESSION_ID
  ("Session expired or invalid"); 403 REQUEST_LIMIT_EXCEEDED ("TotalRequests Limit
  exceeded.") once the allocation is spent; 404 NOT_FOUND ("The requested resource does not
  exist") and ENTITY_IS_DELETED ("entity is deleted").
- Every API answer carries ``Sforce-Limit-Info: api-usage=<used>/<limit>`` ("API Usage
  header", headers_api_usage.htm).
- OAuth (web server flow, sf.remoteaccess_oauth_web_server_flow.htm, and the refresh token
  flow, sf.remoteaccess_oauth_refresh_token_flow.htm): ``POST /services/oauth2/token`` with
  ``grant_type=authorization_code`` (``code``, ``redirect_uri``, ``client_id``,
  ``client_secret``, ``code_verifier`` checked against the S256 challenge given to
  ``authorize_code``) answers ``{"access_token", "refresh_token", "signature", "scope",
  "instance_url", "id", "token_type": "Bearer", "issued_at"}`` (no ``expires_in``); a
  ``refresh_token`` grant answers the same without a new refresh token; refusals are 400
  ``{"error": "invalid_grant", "error_description": ...}``.

Dates are the API's text form ``2026-03-02T09:00:00.000+0000`` from the fake's own clock
(``now``, moved by ``advance``): Salesforce keeps date-times to the second, so records written
together share a ``SystemModstamp`` (verify). Ids are 18 characters with the object's key
prefix.

``push(status, body, headers)`` queues scripted answers served before the routes; every
request is kept in ``requests``. ``contract_connection()`` is the hook of
tests/plugins/test_spec_contract.py: a seeded fake and the connection that reaches it.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import threading
from contextlib import contextmanager
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any
from typing import Iterator

from flask import Flask
from flask import Response
from flask import request

from tests.plugins.fake_server import LoopbackFake
from tests.plugins.fake_server import Recorded
from tests.plugins.fake_server import Reply
from tests.plugins.salesforce import soql

TOKEN = "00D5e000000AbCd!AQ4AQFakeAccessTokenForTests0123456789"
REFRESH = "5Aep861FakeRefreshTokenForTests0123456789abcdef"
CLIENT_ID = "3MVG9FakeConsumerKeyForTests"
CLIENT_SECRET = "C0FFEE0FakeConsumerSecret0123456789"
ORG_ID = "00D5e000000AbCdEAK"
USER_ID = "0055e000001AbCdAAK"
VERSION = "v61.0"
START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)

def _fld(name: str, kind: str = "string", *, required: bool = False, external: bool = False,
         createable: bool = True, length: int = 255, picklist: tuple[str, ...] = (),
         reference: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"name": name, "label": name.replace("__c", "").replace("_", " "), "type": kind,
            "length": length if kind in ("string", "email", "phone", "picklist") else 0,
            "nillable": not required, "createable": createable, "updateable": createable,
            "externalId": external, "unique": external, "custom": name.endswith("__c"),
            "referenceTo": list(reference),
            "picklistValues": [{"value": v, "label": v, "active": True} for v in picklist]}


_SYSTEM = [_fld("Id", "id", createable=False), _fld("IsDeleted", "boolean", createable=False),
           _fld("CreatedDate", "datetime", createable=False),
           _fld("LastModifiedDate", "datetime", createable=False),
           _fld("SystemModstamp", "datetime", createable=False),
           _fld("OwnerId", "reference", reference=("User",))]
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted")
OBJECTS: dict[str, dict[str, Any]] = {
    "Lead": {"prefix": "00Q", "label": "Lead", "plural": "Leads", "fields": _SYSTEM + [
        _fld("LastName", required=True, length=80), _fld("FirstName", length=40),
        _fld("Name", createable=False, length=121), _fld("Company", required=True),
        _fld("Title", length=128), _fld("Email", "email", length=80),
        _fld("Phone", "phone", length=40),
        _fld("Status", "picklist", length=40, picklist=LEAD_STATUSES),
        _fld("LeadSource", "picklist", length=40, picklist=("Web", "Phone Inquiry", "Other")),
        _fld("External_Id__c", external=True, length=50)]},
    "Account": {"prefix": "001", "label": "Account", "plural": "Accounts", "fields": _SYSTEM + [
        _fld("Name", required=True), _fld("Industry", "picklist", length=40,
                                          picklist=("Technology", "Banking", "Retail")),
        _fld("Website", "url"), _fld("Phone", "phone", length=40),
        _fld("External_Id__c", external=True, length=50)]},
    "Contact": {"prefix": "003", "label": "Contact", "plural": "Contacts", "fields": _SYSTEM + [
        _fld("LastName", required=True, length=80), _fld("FirstName", length=40),
        _fld("Name", createable=False, length=121), _fld("Email", "email", length=80),
        _fld("AccountId", "reference", reference=("Account",))]},
    # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunity.htm
    "Opportunity": {"prefix": "006", "label": "Opportunity", "plural": "Opportunities",
                    "fields": _SYSTEM + [
        _fld("Name", required=True, length=120), _fld("Amount", "currency"),
        _fld("StageName", "picklist", required=True, length=40,
             picklist=("Prospecting", "Negotiation/Review", "Closed Won", "Closed Lost")),
        _fld("IsClosed", "boolean", createable=False), _fld("CloseDate", "date", required=True),
        _fld("AccountId", "reference", reference=("Account",))]},
}
DEFAULTS = {"Lead": {"Status": "Open - Not Contacted"}}


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Reply:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return Reply(status, [item])


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeSalesforce(LoopbackFake):
    requests: list[Recorded]
    scripted: list[Reply]

    def __init__(self, api_limit: int = 5000) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECTS}
        self.deleted: set[str] = set()
        self.tokens = {TOKEN}
        self.refresh_tokens = {REFRESH}
        self.codes: dict[str, dict[str, str]] = {}
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.api_used = 0
        # Salesforce treats batchSize as a request, not a promise ("the batch size may not be
        # the requested one", headers_queryoptions.htm): a test may cap it lower.
        self.max_batch = 2000
        self.api_limit = api_limit
        self.now = START
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._build()
        super().__init__(self.app)

    # -- test helpers ----------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def add(self, sobject: str, record_id: str | None = None, **values: Any) -> str:
        """Seed a record at ``now`` (no request recorded); return its id."""
        with self._lock:
            return self._insert(sobject, values, record_id)

    def touch(self, sobject: str, record_id: str, **values: Any) -> None:
        with self._lock:
            self._update(sobject, record_id, values)

    def delete(self, sobject: str, record_id: str) -> None:
        self.records[sobject].pop(record_id)
        self.deleted.add(record_id)

    def api_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/services/data/")]

    def authorize_code(self, redirect_uri: str, challenge: str | None = None) -> str:
        """What the authorize page does after consent: a one-time code for the token call."""
        code = "aPrx" + secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": redirect_uri, "challenge": challenge or ""}
        return code

    def seed_examples(self) -> None:
        """The records the manifest's examples name."""
        self.add("Lead", "00Q5e00000AbCdEEAZ", LastName="Lovelace", FirstName="Ada",
                 Company="Analytical Engines Ltd", Email="ada@example.com")
        self.add("Lead", LastName="Hopper", FirstName="Grace", Company="Navy")
        self.add("Opportunity", Name="Acme renewal", Amount=52000.0, StageName="Negotiation/Review",
                 IsClosed=False, CloseDate="2026-06-30")
        self.add("Opportunity", Name="Globex expansion", Amount=18500.0, StageName="Prospecting",
                 IsClosed=False, CloseDate="2026-09-30")

    # -- state -------------------------------------------------------------------------------

    def _new_id(self, sobject: str) -> str:
        n = next(self._ids)
        return f"{OBJECTS[sobject]['prefix']}5e{n:010d}AAA"[:18]

    def _insert(self, sobject: str, values: dict[str, Any], record_id: str | None = None) -> str:
        rid = record_id or self._new_id(sobject)
        now = stamp(self.now)
        rec = {f["name"]: None for f in OBJECTS[sobject]["fields"]}
        rec.update(DEFAULTS.get(sobject, {}))
        rec.update(values)
        rec.update(Id=rid, IsDeleted=False, CreatedDate=now, LastModifiedDate=now,
                   SystemModstamp=now, OwnerId=rec.get("OwnerId") or USER_ID)
        self._name(sobject, rec)
        self.records[sobject][rid] = rec
        return rid

    def _update(self, sobject: str, rid: str, values: dict[str, Any]) -> None:
        rec = self.records[sobject][rid]
        rec.update(values)
        rec["LastModifiedDate"] = rec["SystemModstamp"] = stamp(self.now)
        self._name(sobject, rec)

    @staticmethod
    def _name(sobject: str, rec: dict[str, Any]) -> None:
        if sobject in ("Lead", "Contact"):
            rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)

    def _shape(self, sobject: str, rec: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {
            "type": sobject, "url": f"/services/data/{VERSION}/sobjects/{sobject}/{rec['Id']}"}}
        for name in fields:
            out[name] = rec.get(name)
        return out

    # -- the app -------------------------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("fake_salesforce")

        @app.route("/<path:path>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        def route(path: str) -> Response:
            rec = Recorded(method=request.method, path="/" + path, query=request.args.to_dict(),
                           headers={k.lower(): v for k, v in request.headers.items()},
                           json=request.get_json(silent=True), form=request.form.to_dict())
            try:
                with self._lock:
                    scripted = self.received(rec)
                    if scripted is not None:
                        raise scripted
                    if rec.path == "/services/oauth2/token":
                        raise self._token(rec)
                    raise self._api(rec)
            except Reply as answer:
                return self._respond(rec, answer)

        return app

    def _respond(self, rec: Recorded, answer: Reply) -> Response:
        headers = dict(answer.headers)
        if rec.path.startswith("/services/data/"):
            headers.setdefault("Sforce-Limit-Info", f"api-usage={self.api_used}/{self.api_limit}")
        if answer.body is None:
            return Response(status=answer.status, headers=headers)
        if isinstance(answer.body, (bytes, str)):
            return Response(answer.body, status=answer.status, headers=headers)
        return Response(json.dumps(answer.body), status=answer.status, headers=headers,
                        content_type="application/json;charset=UTF-8")

    # -- OAuth ---------------------------------------------------------------------------------

    def _token(self, rec: Recorded) -> Reply:
        form = rec.form
        if request.method != "POST":
            return Reply(405, {"error": "invalid_request", "error_description": "must use POST"})
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = rec.headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return Reply(400, {"error": "invalid_client_id",
                               "error_description": "client identifier invalid"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            asked = self.codes.pop(form.get("code", ""), None)
            if asked is None or asked["redirect_uri"] != form.get("redirect_uri"):
                return Reply(400, {"error": "invalid_grant",
                                   "error_description": "invalid authorization code"})
            if asked["challenge"]:
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if digest != asked["challenge"]:
                    return Reply(400, {"error": "invalid_grant",
                                       "error_description": "invalid code verifier"})
            refresh = "5Aep861" + secrets.token_urlsafe(24)
            self.refresh_tokens.add(refresh)
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return Reply(400, {"error": "invalid_grant",
                                   "error_description": "expired access/refresh token"})
            refresh = None
        else:
            return Reply(400, {"error": "unsupported_grant_type",
                               "error_description": "grant type not supported"})
        access = f"{ORG_ID}!AQ4AQ" + secrets.token_urlsafe(30)
        self.tokens.add(access)
        body: dict[str, Any] = {
            "access_token": access, "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            "scope": "refresh_token api", "instance_url": self.url,
            "id": f"https://login.salesforce.com/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer", "issued_at": str(int(self.now.timestamp() * 1000))}
        if refresh:
            body["refresh_token"] = refresh
        return Reply(200, body)

    # -- REST API ------------------------------------------------------------------------------

    def _api(self, rec: Recorded) -> Reply:
        parts = [p for p in rec.path.split("/") if p]
        if parts[:2] != ["services", "data"] or len(parts) < 3:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if rec.headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if self.api_used >= self.api_limit:
            return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.api_used += 1
        rest = parts[3:]
        if rest == ["limits"]:
            return Reply(200, {"DailyApiRequests": {"Max": self.api_limit,
                                                    "Remaining": self.api_limit - self.api_used}})
        if rest and rest[0] in ("query", "queryAll"):
            return self._query(rec, rest)
        if rest and rest[0] == "sobjects" and len(rest) >= 2:
            return self._sobjects(rec, rest[1:])
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def _describe(self, sobject: str) -> dict[str, Any]:
        spec = OBJECTS[sobject]
        return {"name": sobject, "label": spec["label"], "labelPlural": spec["plural"],
                "keyPrefix": spec["prefix"], "custom": False, "createable": True,
                "updateable": True, "queryable": True, "fields": spec["fields"]}

    def _field_names(self, sobject: str) -> set[str]:
        return {f["name"] for f in OBJECTS[sobject]["fields"]}

    def _check_values(self, sobject: str, values: Any, creating: bool) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise sf_error(400, "JSON_PARSER_ERROR", "The request body is not a JSON object")
        known = {f["name"]: f for f in OBJECTS[sobject]["fields"]}
        for name in values:
            if name not in known:
                raise sf_error(400, "INVALID_FIELD",
                               f"No such column '{name}' on sobject of type {sobject}")
            if not known[name]["createable"]:
                raise sf_error(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                               f"Unable to create/update fields: {name}. Please check the "
                               f"security settings of this field and verify that it is "
                               f"read/write for your profile or permission set.", [name])
            picks = [p["value"] for p in known[name]["picklistValues"]]
            if picks and values[name] is not None and values[name] not in picks \
                    and name == "Status":
                raise sf_error(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                               f"{known[name]['label']}: bad value for restricted picklist "
                               f"field: {values[name]}", [name])
            length = known[name]["length"]
            if length and isinstance(values[name], str) and len(values[name]) > length:
                raise sf_error(400, "STRING_TOO_LONG",
                               f"{known[name]['label']}: data value too large: "
                               f"{values[name][:40]} (max length={length})", [name])
        if creating:
            missing = [f["name"] for f in OBJECTS[sobject]["fields"]
                       if not f["nillable"] and f["createable"] and values.get(f["name"]) in
                       (None, "")]
            if missing:
                raise sf_error(400, "REQUIRED_FIELD_MISSING",
                               f"Required fields are missing: [{', '.join(missing)}]", missing)
        return values

    def _find(self, sobject: str, rid: str) -> dict[str, Any]:
        if len(rid) not in (15, 18) or not rid.isalnum():
            raise sf_error(404, "NOT_FOUND", "Provided external ID field does not exist or is "
                                             "not accessible: " + rid)
        if rid in self.deleted:
            raise sf_error(404, "ENTITY_IS_DELETED", "entity is deleted")
        rec = self.records[sobject].get(rid)
        if rec is None:
            raise sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return rec

    def _sobjects(self, rec: Recorded, parts: list[str]) -> Reply:
        sobject = parts[0]
        if sobject not in OBJECTS:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if len(parts) == 1 and rec.method == "POST":
            values = self._check_values(sobject, rec.json, True)
            rid = self._insert(sobject, values)
            return Reply(201, {"id": rid, "success": True, "errors": []})
        if len(parts) == 2 and parts[1] == "describe" and rec.method == "GET":
            return Reply(200, self._describe(sobject))
        if len(parts) == 2:
            row = self._find(sobject, parts[1])
            if rec.method == "GET":
                wanted = [f for f in rec.query.get("fields", "").split(",") if f] or \
                    [f["name"] for f in OBJECTS[sobject]["fields"]]
                unknown = [f for f in wanted if f not in self._field_names(sobject)]
                if unknown:
                    return sf_error(400, "INVALID_FIELD",
                                    f"No such column '{unknown[0]}' on entity '{sobject}'. If "
                                    f"you are attempting to use a custom field, be sure to "
                                    f"append the '__c' after the custom field name.")
                # The reference's example answers the asked fields and Id (verify).
                return Reply(200, self._shape(sobject, row, list(dict.fromkeys(wanted + ["Id"]))))
            if rec.method == "PATCH":
                self._update(sobject, row["Id"], self._check_values(sobject, rec.json, False))
                return Reply(204)
            if rec.method == "DELETE":
                self.delete(sobject, row["Id"])
                return Reply(204)
        if len(parts) == 3 and rec.method == "PATCH":
            return self._upsert(sobject, parts[1], parts[2], rec.json)
        return sf_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{rec.method}' not allowed.")

    def _upsert(self, sobject: str, field: str, value: str, body: Any) -> Reply:
        spec = {f["name"]: f for f in OBJECTS[sobject]["fields"]}.get(field)
        if spec is None or not (spec["externalId"] or field == "Id"):
            return sf_error(404, "NOT_FOUND", f"Provided external ID field does not exist or "
                                              f"is not accessible: {field}")
        matches = [r for r in self.records[sobject].values() if str(r.get(field)) == value]
        if len(matches) > 1:
            return Reply(300, [f"/services/data/{VERSION}/sobjects/{sobject}/{r['Id']}"
                               for r in matches])
        if matches:
            values = self._check_values(sobject, body, False)
            self._update(sobject, matches[0]["Id"], values)
            return Reply(200, {"id": matches[0]["Id"], "success": True, "errors": [],
                               "created": False})
        values = self._check_values(sobject, body, True)
        rid = self._insert(sobject, {**values, field: value})
        return Reply(201, {"id": rid, "success": True, "errors": [], "created": True})

    def _query(self, rec: Recorded, parts: list[str]) -> Reply:
        if len(parts) == 2:  # a nextRecordsUrl: <locator>-<offset>
            locator, _, offset = parts[1].rpartition("-")
            rows = self.locators.get(locator)
            if rows is None or not offset.isdigit():
                return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(rows, int(offset), locator, rec)
        text = rec.query.get("q")
        if not text:
            return sf_error(400, "MALFORMED_QUERY", "SOQL statements cannot be empty or null")
        try:
            q = soql.parse(text)
        except soql.SoqlError as exc:
            return sf_error(400, exc.code, exc.message)
        if q.sobject not in OBJECTS:
            return sf_error(400, "INVALID_TYPE",
                            f"sObject type '{q.sobject}' is not supported. If you are "
                            f"attempting to use a custom object, be sure to append the '__c' "
                            f"after the entity name.")
        names = self._field_names(q.sobject)
        fields = list(q.fields)
        for kind in q.field_sets:
            if kind in ("ALL", "CUSTOM") and (q.limit is None or q.limit > 200):
                return sf_error(400, "MALFORMED_QUERY", "The SOQL FIELDS function must have a "
                                                        "LIMIT of at most 200")
            all_fields = [f["name"] for f in OBJECTS[q.sobject]["fields"]]
            fields += [f for f in all_fields if (kind == "ALL") or
                       (kind == "STANDARD") != f.endswith("__c")]
        for name in fields + q.where_fields + [n for n, _ in q.order]:
            if name not in names:
                return sf_error(400, "INVALID_FIELD",
                                f"No such column '{name}' on entity '{q.sobject}'. If you "
                                f"are attempting to use a custom field, be sure to append the "
                                f"'__c' after the custom field name.")
        fields = list(dict.fromkeys(fields))
        rows = [r for r in self.records[q.sobject].values() if q.where is None or q.where(r)]
        for name, desc in reversed(q.order):
            rows.sort(key=lambda r, n=name: soql.sort_key(r.get(n)), reverse=desc)
        rows = rows[q.offset:]
        if q.limit is not None:
            rows = rows[:q.limit]
        shaped = [self._shape(q.sobject, r, fields) for r in rows]
        locator = "01gRO" + secrets.token_hex(6)
        self.locators[locator] = shaped
        return self._page(shaped, 0, locator, rec)

    def _page(self, rows: list[dict[str, Any]], offset: int, locator: str,
              rec: Recorded) -> Reply:
        size = 2000
        option = rec.headers.get("sforce-query-options", "")
        if option.startswith("batchSize="):
            try:
                size = min(max(int(option.split("=", 1)[1]), 200), 2000)
            except ValueError:
                pass
        size = min(size, self.max_batch)
        chunk = rows[offset:offset + size]
        body: dict[str, Any] = {"totalSize": len(rows), "done": offset + size >= len(rows),
                                "records": chunk}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/{VERSION}/query/{locator}-{offset + size}"
        return Reply(200, body)


@contextmanager
def contract_connection() -> Iterator[dict[str, Any]]:
    """For tests/plugins/test_spec_contract.py: a seeded fake and the settings and credentials
    of a connection to it."""
    with FakeSalesforce() as fake:
        fake.seed_examples()
        yield {"settings": {"instance_url": fake.url},
               "credentials": {"access_token": TOKEN, "refresh_token": REFRESH}}


def contract_fake():
    from tests.plugins.conftest import as_contract_fake

    return as_contract_fake(contract_connection())
