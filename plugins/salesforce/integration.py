"""Salesforce REST API: create, update, upsert and read records, SOQL queries, describe;
new and changed records by polling SOQL on ``CreatedDate`` / ``SystemModstamp``.

References are in the package docstring (``plugins/salesforce/__init__.py``).
"""
from __future__ import annotations

import re
from itertools import islice
from typing import Any
from typing import Iterator
from urllib.parse import quote
from urllib.parse import urlsplit

import requests

from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from plugins.salesforce import payloads
from plugins.salesforce.schemas import DEFAULT_API_VERSION

# errorCode -> the error class (errorcodes.htm; the codes of the REST API's error bodies).
AUTH = {"INVALID_SESSION_ID", "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED",
        "INVALID_AUTH_HEADER", "OAUTH_APP_BLOCKED"}
TRANSIENT = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT"}
# Codes about one input field of the record (named in the body's "fields", or the message).
FIELD_CODES = {"REQUIRED_FIELD_MISSING", "INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE",
               "STRING_TOO_LONG", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "DUPLICATE_VALUE",
               "INVALID_TYPE_ON_FIELD_IN_RECORD", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
               "FIELD_INTEGRITY_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY", "INVALID_EMAIL_ADDRESS",
               "NUMBER_OUTSIDE_VALID_RANGE", "FIELD_FILTER_VALIDATION_EXCEPTION",
               "DUPLICATES_DETECTED", "JSON_PARSER_ERROR"}
QUERY_CODES = {"MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE", "INVALID_QUERY_FILTER_OPERATOR",
               "INVALID_QUERY_LOCATOR", "QUERY_TOO_COMPLICATED", "INVALID_QUERY_SCOPE"}
NOT_FOUND = {"NOT_FOUND", "ENTITY_IS_DELETED", "MALFORMED_ID", "INVALID_ID_FIELD"}
# "No such column 'Foo__c' on sobject of type Lead" / "... on entity 'Lead'".
_COLUMN = re.compile(r"No such column '([A-Za-z0-9_]+)'")
_EXTERNAL = re.compile(r"external ID field", re.I)
# The whole org's rolling 24-hour allocation is spent: hours, not seconds, away (verify: the
# message names "TotalRequests"); a concurrent-request limit clears in about 20 s.
DAILY_WAIT_S = 3600.0
CONCURRENT_WAIT_S = 20.0
_USAGE = re.compile(r"(?:^|[;,\s])(per-app-api-usage|api-usage)=(\d+)/(\d+)")


def _errors(response: requests.Response) -> list[dict[str, Any]]:
    """Salesforce's error body: ``[{"message", "errorCode", "fields"?}]`` (a single object or
    an OAuth ``{"error", "error_description"}`` body is read too)."""
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        return []
    out = []
    for item in body:
        if isinstance(item, dict):
            out.append({"errorCode": str(item.get("errorCode") or item.get("error") or ""),
                        "message": str(item.get("message") or item.get("error_description")
                                       or "")[:300],
                        "fields": [str(f) for f in item.get("fields") or []
                                   if isinstance(f, str)]})
    return out


def _route(response: requests.Response) -> list[str]:
    """The path segments after ``/services/data/vNN.0/``: ``["sobjects", "Lead", "<id>"]``."""
    request = response.request
    path = urlsplit(request.url or "").path if request is not None else ""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[:2] == ["services", "data"]:
        return parts[3:]
    return parts


def _field_of(code: str, error: dict[str, Any], route: list[str]) -> list[str]:
    """Which of OUR input fields the error is about (``fields.LastName``, ``soql``,
    ``record_id``, ``external_id_field``, ``object``)."""
    head = route[0] if route else ""
    if head in ("query", "queryAll"):
        return ["soql"]
    if code in NOT_FOUND or code == "INVALID_TYPE":
        if len(route) == 4 and _EXTERNAL.search(error["message"]):
            return ["external_id_field"]
        if len(route) == 4:
            return ["external_id"]
        if len(route) == 3 and route[2] != "describe":
            return ["record_id"] if code != "INVALID_TYPE" else ["object"]
        return ["object"]
    if code == "INVALID_FIELD" and len(route) == 4 and _EXTERNAL.search(error["message"]):
        return ["external_id_field"]
    named = list(error["fields"])
    if not named:
        match = _COLUMN.search(error["message"])
        if match:
            named = [match.group(1)]
    return [f"fields.{n}" for n in named] or ["fields"]


class SalesforceIntegration(Integration):
    """Records of one Salesforce org, through the OAuth 2.0 tokens of the web server flow."""

    # -- client wiring ------------------------------------------------------------------

    def base_url(self) -> str:
        settings = self.connection.settings
        return (settings.get("base_url") or settings.get("instance_url") or "").rstrip("/")

    @property
    def api(self) -> str:
        version = self.connection.settings.get("api_version") or DEFAULT_API_VERSION
        return f"/services/data/{version}"

    def raise_for_response(self, response: requests.Response) -> None:
        """Map Salesforce's ``[{"message", "errorCode", "fields"}]`` bodies (errorcodes.htm).

        401 INVALID_SESSION_ID: the session expired (the client refreshes once first); 403
        REQUEST_LIMIT_EXCEEDED: the API allocation is spent (a rate limit, not an auth error);
        300 answers an upsert whose external id matches several records.
        """
        status = response.status_code
        if status < 300:
            return
        route = _route(response)
        if status == 300:
            raise ValidationFailed("Salesforce answered 300: the external id matches more "
                                   "than one record", status=status,
                                   details={"external_id": ["matches more than one record"]})
        if status < 400:
            raise UpstreamError(f"Salesforce answered {status} (redirects are not followed)",
                                status=status, permanent=True)
        errors = _errors(response)
        first = errors[0] if errors else {"errorCode": "", "message": snippet(response),
                                          "fields": []}
        code = first["errorCode"]
        reasons = "; ".join(f"{e['errorCode']}: {e['message']}" for e in errors[:5])
        message = f"Salesforce answered {status}: {reasons or snippet(response)}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if code == "REQUEST_LIMIT_EXCEEDED" or status == 429:
            wait = retry_after
            if wait is None:
                wait = DAILY_WAIT_S if "TotalRequests" in first["message"] else CONCURRENT_WAIT_S
            raise RateLimited(message, retry_after=wait, status=status)
        if code in AUTH or status == 401:
            raise AuthError(message, status=status)
        if code in TRANSIENT or status >= 500 or status == 408:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if code in FIELD_CODES or code in QUERY_CODES or code in NOT_FOUND \
                or status in (400, 404):
            details: dict[str, list[str]] = {}
            for error in errors or [first]:
                for name in _field_of(error["errorCode"], error, route):
                    details.setdefault(name, []).append(
                        f"{error['errorCode']}: {error['message']}".strip(": "))
            raise ValidationFailed(message, status=status, details=details)
        raise UpstreamError(message, status=status, permanent=True)

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """``Sforce-Limit-Info: api-usage=18/5000`` (and ``per-app-api-usage=17/250(appName=x)``
        for connected apps with a limit): the calls left of the rolling 24-hour allocation, the
        tighter of the two. The window rolls, so no reset time is stated: an exhausted one
        pauses the connection for an hour."""
        header = response.headers.get("Sforce-Limit-Info")
        if not header:
            return None, None
        left = [int(limit) - int(used) for _, used, limit in _USAGE.findall(header)]
        if not left:
            return None, None
        remaining = max(0, min(left))
        return remaining, (DAILY_WAIT_S if remaining == 0 else None)

    def health_check(self) -> None:
        # Limits (dome_limits.htm): one authenticated GET, also the org's DailyApiRequests.
        self.http.get(f"{self.api}/limits", operation="health")

    def oauth_connected(self) -> dict[str, Any]:
        """The org's API host: ``instance_url`` of the token response (the web server flow's
        answer), stored as the connection's destination; the org id from the identity URL
        ``id`` (``https://login.salesforce.com/id/<org id>/<user id>``)."""
        answer = self.token_response
        instance = str(answer.get("instance_url") or "").rstrip("/")
        parts = urlsplit(instance)
        if parts.scheme not in ("https", "http") or not parts.hostname or \
                parts.path not in ("", "/") or parts.query:
            reason = "the token response carries no usable instance_url"
            raise UpstreamError(f"Salesforce: {reason}", permanent=True)
        out: dict[str, Any] = {"instance_url": instance}
        identity = [p for p in urlsplit(str(answer.get("id") or "")).path.split("/") if p]
        if len(identity) == 3 and identity[0] == "id" and identity[1].startswith("00D"):
            out["org_id"] = identity[1]
        return out

    # -- actions ------------------------------------------------------------------------

    def _sobject(self, name: str, *rest: str) -> str:
        return "/".join([f"{self.api}/sobjects", quote(name, safe=""),
                         *(quote(r, safe="") for r in rest)])

    def create_record(self, data: dict[str, Any]) -> dict[str, Any]:
        # POST .../sobjects/{type}/ -> 201 {"id", "success", "errors"} (dome_sobject_create).
        body = self.http.post(self._sobject(data["object"]) + "/", json=data["record_fields"],
                              operation="create_record").json()
        return {"id": body["id"], "object": data["object"], "success": bool(body.get("success")),
                "created": True}

    def update_record(self, data: dict[str, Any]) -> dict[str, Any]:
        # PATCH .../sobjects/{type}/{id} -> 204 (dome_update_fields): the same values twice
        # leave the same record, so a retry is safe.
        self.http.patch(self._sobject(data["object"], data["record_id"]),
                        json=data["record_fields"], idempotent=True, operation="update_record")
        return {"id": data["record_id"], "object": data["object"], "updated": True}

    def upsert_record(self, data: dict[str, Any]) -> dict[str, Any]:
        """PATCH .../sobjects/{type}/{field}/{value} (dome_upsert): 201 created, 200 updated
        (API 46.0 and later answer ``{"id", "success", "errors", "created"}``; earlier
        versions answer 204 to an update), 300 when several records match."""
        response = self.http.patch(
            self._sobject(data["object"], data["external_id_field"], data["external_id"]),
            json=data["record_fields"], idempotent=True, operation="upsert_record")
        body = response.json() if response.content else {}
        created = response.status_code == 201 or bool(body.get("created"))
        return {"id": body.get("id"), "object": data["object"], "created": created,
                "external_id_field": data["external_id_field"],
                "external_id": data["external_id"]}

    def get_record(self, data: dict[str, Any]) -> dict[str, Any]:
        params = {"fields": ",".join(data["field_names"])} if data.get("field_names") else None
        body = self.http.get(self._sobject(data["object"], data["record_id"]), params=params,
                             operation="get_record").json()
        return {"id": body.get("Id") or data["record_id"], "object": data["object"],
                "record": payloads.record(body)}

    def _query(self, soql: str, limit: int, include_deleted: bool = False
               ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(record, page) for each record of a query, following ``nextRecordsUrl`` (queryMore)
        page after page; ``Sforce-Query-Options: batchSize`` asks for pages near ``limit``
        (200 to 2000; Salesforce may answer bigger or smaller ones)."""
        headers = {"Sforce-Query-Options": f"batchSize={min(max(limit, 200), 2000)}"}
        path: str | None = f"{self.api}/{'queryAll' if include_deleted else 'query'}"
        params: dict[str, Any] | None = {"q": soql}
        seen: set[str] = set()
        while path:
            page = self.http.get(path, params=params, headers=headers,
                                 operation="query").json()
            for item in page.get("records") or []:
                yield payloads.record(item), page
            nxt = page.get("nextRecordsUrl")
            if page.get("done", True) or not nxt:
                return
            if nxt in seen:
                raise UpstreamError(f"pagination loop: {nxt[:80]!r} came back twice")
            seen.add(nxt)
            if not str(nxt).startswith("/services/data/"):
                raise UpstreamError("nextRecordsUrl is not a path of the REST API",
                                    permanent=True)
            path, params = str(nxt), None

    def query(self, data: dict[str, Any]) -> dict[str, Any]:
        limit = data["max_items"]
        records: list[dict[str, Any]] = []
        last: dict[str, Any] = {}
        for item, page in islice(self._query(data["soql"], limit, data["include_deleted"]),
                                 limit):
            records.append(item)
            last = page
        total = last.get("totalSize", len(records)) if last else 0
        return {"records": records, "count": len(records), "total_size": total,
                "done": len(records) >= total}

    def describe_object(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self.http.get(self._sobject(data["object"], "describe"),
                             operation="describe_object").json()
        return payloads.describe(body)

    # -- polling ------------------------------------------------------------------------

    def _poll(self, params: dict[str, Any], cursor: str | None, stamp: str) -> PollPage:
        """Records of ``params["object"]`` after the cursor in (``stamp``, Id) order.

        Priming (no cursor) reads only the newest record: its (time, Id) is the cursor, so
        nothing older fires and nothing is listed in bulk.
        """
        obj = params["object"]
        wanted = params.get("field_names")
        select = ", ".join(dict.fromkeys(["Id", "CreatedDate", "SystemModstamp", *wanted])) \
            if wanted else "FIELDS(STANDARD)"
        if cursor is None:
            soql = f"SELECT {select} FROM {obj} ORDER BY {stamp} DESC, Id DESC LIMIT 1"
            newest = [r for r, _ in islice(self._query(soql, 1), 1)]
            if not newest:
                return PollPage([], payloads.encode_cursor(payloads.EPOCH, ""))
            top = newest[0]
            return PollPage([self._item(top, stamp)],
                            payloads.encode_cursor(str(top[stamp]), str(top["Id"])))
        when, last_id = payloads.decode_cursor(cursor)
        limit = params["max_per_poll"]
        soql = (f"SELECT {select} FROM {obj} WHERE {payloads.after(stamp, when, last_id)} "
                f"ORDER BY {stamp} ASC, Id ASC LIMIT {limit}")
        items = [r for r, _ in islice(self._query(soql, limit), limit)]
        if items:
            cursor = payloads.encode_cursor(str(items[-1][stamp]), str(items[-1]["Id"]))
        return PollPage([self._item(r, stamp) for r in items], cursor)

    @staticmethod
    def _item(rec: dict[str, Any], stamp: str) -> dict[str, Any]:
        # One change of a record is one event: its Id at that SystemModstamp.
        return {**rec, "change_id": f"{rec['Id']}@{rec.get(stamp)}"}

    def poll_record_created(self, params: dict[str, Any], cursor: str | None) -> PollPage:
        return self._poll(params, cursor, "CreatedDate")

    def poll_record_updated(self, params: dict[str, Any], cursor: str | None) -> PollPage:
        return self._poll(params, cursor, "SystemModstamp")
