"""A documented, stateful fake of the Tableau REST API (JSON) on 127.0.0.1 (a werkzeug app).

Tableau publishes no OpenAPI description, so this fake is the plugin's contract
(``Contract("fake", ...)``). Each behaviour follows the REST API reference; what it leaves
open is marked (verify).

- Sign in (https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_authentication.htm#sign_in):
  ``POST /api/{v}/auth/signin`` ``{"credentials": {"personalAccessTokenName",
  "personalAccessTokenSecret", "site": {"contentUrl"}}}`` -> 200 ``{"credentials": {"site":
  {"id", "contentUrl"}, "user": {"id"}, "token", "estimatedTimeToExpiration"}}``; a wrong
  token or site: 401 code 401001 ("Signin Error"). A personal access token holds one session:
  signing in again ends the previous one
  (https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_concepts_auth.htm).
- Every other call needs ``X-Tableau-Auth``; an unknown or expired session answers 401 code
  401002 ("Invalid authentication credentials were provided"); ``expire()`` ends every session,
  as the 240-minute idle limit would. A path with another site's LUID: 403 code 403000 (verify).
- Query Site: ``GET /api/{v}/sites/{site}``.
- Query Workbooks for Site / Query Views for Site
  (https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_workbooks_and_views.htm):
  ``GET .../workbooks`` and ``GET .../views`` paged by ``pageSize`` (1..1000, else 400 code
  400006: verify) and ``pageNumber``, ``{"pagination": {"pageNumber", "pageSize",
  "totalAvailable"} (strings), "workbooks": {"workbook": [...]}}``, filtered by
  ``filter=field:eq:value,...`` (name, projectName, ownerName, tags; updatedAt:gt:ISO)
  (https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_concepts_filtering_and_sorting.htm);
  Query Views for Workbook ``GET .../workbooks/{id}/views`` (not paged).
- Update Workbook Now / Update Data Source Now: ``POST .../workbooks/{id}/refresh``,
  ``POST .../datasources/{id}/refresh`` with ``{}`` -> 202 ``{"job": {"id", "mode":
  "Asynchronous", "type": "RefreshExtract", "createdAt"}}``; while that resource's refresh
  is unfinished, 409 code 409093 (verify).
- Query Job (https://help.tableau.com/current/api/rest_api/en-us/REST/rest_api_ref_jobs_tasks_and_schedules.htm#query_job):
  ``GET .../jobs/{id}`` -> ``{"job": {..., "progress", "startedAt", "completedAt",
  "finishCode" (0 success, 1 failed, 2 cancelled), "extractRefreshJob": {"workbook"|"datasource"
  : {"id", "name"}, "notes"}}}``; ``finish_job()`` completes one.
- Query View Data: ``GET .../views/{id}/data`` -> ``text/csv`` (``vf_<field>=value`` keeps
  the rows whose column equals it; ``maxAge``). Query View Image: ``GET .../views/{id}/image``
  -> ``image/png`` (``resolution=high``).
- Unknown resources: 404 with codes 404006 (workbook), 404011 (view), 404005 (data source),
  404003 (job) (verify the numbers). Errors are ``{"error": {"summary", "detail", "code"}}``.

``push()`` scripts answers (a 429 with ``Retry-After``, a 5xx) served before the routes;
``requests`` records each request.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import struct
import threading
import uuid
import zlib
from datetime import UTC
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from tests.plugins.fake_server import LoopbackFake
from tests.plugins.fake_server import Recorded
from tests.plugins.fake_server import Reply

TOKEN_NAME = "atom-automation"
TOKEN_SECRET = "qlE1g9MMh9vbrjjg==:rZTHhPpP2tUW1kfn4tjg8"
SITE = "salesteam"


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG of ``width`` x ``height`` grey pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status: int, code: str, summary: str, detail: str) -> Reply:
    return Reply(status, {"error": {"summary": summary, "detail": detail, "code": code}})


class FakeTableau(LoopbackFake):
    requests: list[Recorded]
    scripted: list[Reply]

    def __init__(self) -> None:
        self.site = {"id": "8b2a95d8-52b9-40a4-8712-cd6da771bd1b", "name": "Sales Team",
                     "contentUrl": SITE}
        self.user_id = "9f9e9d9c-8b8a-4c7d-8e6f-5a4b3c2d1e0f"
        self.sessions: dict[str, bool] = {}  # token -> alive
        self.sign_ins = 0
        self.workbooks: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.view_rows: dict[str, list[dict[str, str]]] = {}
        self.image = png()
        self._lock = threading.Lock()
        self._ticks = itertools.count(1)
        super().__init__(self.wsgi)

    def calls(self, method: str, suffix: str) -> list[Recorded]:  # type: ignore[override]
        """The requests of ``method`` whose path ends with ``suffix``."""
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def expire(self) -> None:
        """End every session (the idle limit passed)."""
        self.sessions = {token: False for token in self.sessions}

    # -- seeding -------------------------------------------------------------------------------

    def add_workbook(self, name: str, luid: str | None = None, project: str = "Sales",
                     **extra: Any) -> str:
        wid = luid or str(uuid.uuid4())
        self.workbooks[wid] = {
            "id": wid, "name": name, "contentUrl": name.replace(" ", ""),
            "webpageUrl": f"https://10ay.online.tableau.com/#/site/{SITE}/workbooks/1",
            "showTabs": "true", "size": "2", "createdAt": "2024-05-01T10:00:00Z",
            "updatedAt": extra.pop("updatedAt", "2024-05-10T10:00:00Z"),
            "encryptExtracts": "false", "project": {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS,
                                                                         project)),
                                                    "name": project},
            "owner": {"id": self.user_id, "name": "analyst@example.com"},
            "tags": {"tag": [{"label": t} for t in extra.pop("tags", [])]}, **extra}
        return wid

    def add_view(self, workbook_id: str, name: str, luid: str | None = None,
                 rows: list[dict[str, str]] | None = None) -> str:
        vid = luid or str(uuid.uuid4())
        self.views[vid] = {"id": vid, "name": name, "contentUrl": f"wb/sheets/{name}",
                           "viewUrlName": name.replace(" ", ""),
                           "createdAt": "2024-05-01T10:00:00Z",
                           "updatedAt": "2024-05-10T10:00:00Z",
                           "workbook": {"id": workbook_id}, "owner": {"id": self.user_id},
                           "project": self.workbooks[workbook_id]["project"],
                           "tags": {"tag": []}}
        self.workbooks[workbook_id].setdefault("defaultViewId", vid)
        self.view_rows[vid] = rows or [{"Region": "West", "Sales": "1200"},
                                       {"Region": "East", "Sales": "950"}]
        return vid

    def add_datasource(self, name: str, luid: str | None = None) -> str:
        did = luid or str(uuid.uuid4())
        self.datasources[did] = {"id": did, "name": name, "hasExtracts": True}
        return did

    def finish_job(self, job_id: str, code: int = 0, notes: str | None = None) -> None:
        job = self.jobs[job_id]
        job.update(progress="100", startedAt=job["createdAt"], completedAt=_now(),
                   finishCode=str(code))
        if notes:
            job["extractRefreshJob"]["notes"] = notes

    # -- the app -------------------------------------------------------------------------------

    def wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        rec = Recorded(method=request.method, path=request.path,
                       query=dict(request.args.items()),
                       headers={k.lower(): v for k, v in request.headers.items()}, json=body)
        reply = self.handle(rec)
        if isinstance(reply.body, (bytes, str)):
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
            headers = reply.headers
        else:
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            headers = {"Content-Type": "application/json;charset=UTF-8", **reply.headers}
        return Response(payload, status=reply.status, headers=headers)(environ, start_response)

    def handle(self, rec: Recorded) -> Reply:
        with self._lock:
            scripted = self.received(rec)
            if scripted is not None:
                return scripted
            try:
                return self._route(rec)
            except Reply as reply:
                return reply

    def _route(self, rec: Recorded) -> Reply:
        parts = rec.path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "api":
            raise error(404, "404000", "Resource Not Found", "Unknown resource")
        rest = parts[2:]
        if rest == ["auth", "signin"] and rec.method == "POST":
            return self._sign_in(rec)
        token = rec.headers.get("x-tableau-auth")
        if not token or not self.sessions.get(token):
            raise error(401, "401002", "Unauthorized Access",
                        "Invalid authentication credentials were provided.")
        if rest[0] != "sites" or len(rest) < 2:
            raise error(404, "404000", "Resource Not Found", "Unknown resource")
        if rest[1] != self.site["id"]:
            raise error(403, "403000", "Forbidden", "The site id does not match the session")
        rest = rest[2:]
        if not rest and rec.method == "GET":
            return Reply(200, {"site": self.site})
        key = (rec.method, *rest)
        if key == ("GET", "workbooks"):
            return self._page(rec, list(self.workbooks.values()), "workbooks", "workbook")
        if key == ("GET", "views"):
            return self._page(rec, list(self.views.values()), "views", "view")
        if len(rest) >= 2:
            kind, luid, tail = rest[0], rest[1], rest[2:]
            if kind == "workbooks":
                workbook = self._find(self.workbooks, luid, "404006", "Workbook")
                if rec.method == "GET" and tail == ["views"]:
                    views = [v for v in self.views.values() if v["workbook"]["id"] == luid]
                    return Reply(200, {"views": {"view": views}})
                if rec.method == "POST" and tail == ["refresh"]:
                    return self._refresh("workbook", workbook)
            if kind == "datasources":
                source = self._find(self.datasources, luid, "404005", "Datasource")
                if rec.method == "POST" and tail == ["refresh"]:
                    return self._refresh("datasource", source)
            if kind == "jobs" and rec.method == "GET" and not tail:
                return Reply(200, {"job": self._find(self.jobs, luid, "404003", "Job")})
            if kind == "views" and rec.method == "GET":
                self._find(self.views, luid, "404011", "View")
                if tail == ["data"]:
                    return self._csv(rec, luid)
                if tail == ["image"]:
                    return Reply(200, self.image, {"Content-Type": "image/png"})
        raise error(404, "404000", "Resource Not Found", "Unknown resource")

    def _sign_in(self, rec: Recorded) -> Reply:
        creds = (rec.json or {}).get("credentials") or {}
        site = (creds.get("site") or {}).get("contentUrl")
        if (creds.get("personalAccessTokenName") != TOKEN_NAME
                or creds.get("personalAccessTokenSecret") != TOKEN_SECRET or site != SITE):
            raise error(401, "401001", "Signin Error", "Error signing in to Tableau Server")
        self.sessions = {t: False for t in self.sessions}  # one session per token
        token = f"{uuid.uuid4().hex}|{uuid.uuid4().hex}|{self.site['id']}"
        self.sessions[token] = True
        self.sign_ins += 1
        return Reply(200, {"credentials": {
            "site": {"id": self.site["id"], "contentUrl": SITE},
            "user": {"id": self.user_id}, "token": token,
            "estimatedTimeToExpiration": "239:59:59"}})

    @staticmethod
    def _find(table: dict[str, Any], luid: str, code: str, what: str) -> dict[str, Any]:
        found = table.get(luid)
        if found is None:
            raise error(404, code, "Resource Not Found", f"{what} '{luid}' could not be found.")
        return found

    def _page(self, rec: Recorded, items: list[dict[str, Any]], outer: str, inner: str) -> Reply:
        try:
            size = int(rec.query.get("pageSize") or 100)
            number = int(rec.query.get("pageNumber") or 1)
        except ValueError:
            size = number = 0
        if not 1 <= size <= 1000 or number < 1:
            raise error(400, "400006", "Bad Request",
                        "The page size must be between 1 and 1000 and the page number >= 1")
        for clause in filter(None, (rec.query.get("filter") or "").split(",")):
            field, op, value = (clause.split(":", 2) + ["", ""])[:3]
            items = [i for i in items if self._keep(i, field, op, value)]
        chunk = items[(number - 1) * size: number * size]
        return Reply(200, {"pagination": {"pageNumber": str(number), "pageSize": str(size),
                                          "totalAvailable": str(len(items))},
                           outer: {inner: chunk}})

    @staticmethod
    def _keep(item: dict[str, Any], field: str, op: str, value: str) -> bool:
        if field == "updatedAt" and op == "gt":
            return item["updatedAt"] > value
        actual = {"name": item.get("name"), "projectName": (item.get("project") or {}).get("name"),
                  "ownerName": (item.get("owner") or {}).get("name"),
                  "tags": [t["label"] for t in (item.get("tags") or {}).get("tag", [])]}.get(field)
        if op != "eq":
            raise error(400, "400065", "Bad Request", f"Unsupported filter operator {op}")
        return value in actual if isinstance(actual, list) else actual == value

    def _refresh(self, kind: str, resource: dict[str, Any]) -> Reply:
        for job in self.jobs.values():
            ref = job["extractRefreshJob"].get(kind) or {}
            if ref.get("id") == resource["id"] and "finishCode" not in job:
                raise error(409, "409093", "Resource Conflict",
                            f"Job for '{resource['name']}' is already queued. Not queuing a "
                            "duplicate.")
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = {"id": job_id, "mode": "Asynchronous", "type": "RefreshExtract",
                             "progress": "0", "createdAt": _now(),
                             "extractRefreshJob": {kind: {"id": resource["id"],
                                                          "name": resource["name"]}}}
        public = {k: v for k, v in self.jobs[job_id].items() if k != "extractRefreshJob"}
        return Reply(202, {"job": public})

    def _csv(self, rec: Recorded, view_id: str) -> Reply:
        rows = self.view_rows[view_id]
        for name, value in rec.query.items():
            if name.startswith("vf_"):
                rows = [r for r in rows if r.get(name[3:]) == value]
        out = io.StringIO()
        fields = list(self.view_rows[view_id][0]) if self.view_rows[view_id] else []
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return Reply(200, "\ufeff" + out.getvalue(), {"Content-Type": "text/csv; charset=utf-8"})


class ContractFake:
    """What tests/plugins/test_spec_contract.py runs every action example against."""

    def __init__(self) -> None:
        from plugins.tableau.samples import JOB_ID
        from plugins.tableau.samples import VIEW_ID
        from plugins.tableau.samples import WORKBOOK_ID

        fake = self.fake = FakeTableau().start()
        fake.add_workbook("Sales Overview", WORKBOOK_ID)
        fake.add_view(WORKBOOK_ID, "Regional Sales", VIEW_ID)
        fake.add_datasource("Salesforce pipeline", "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d")  # templates
        fake.jobs[JOB_ID] = {"id": JOB_ID, "mode": "Asynchronous", "type": "RefreshExtract",
                             "progress": "100", "createdAt": "2024-05-14T09:30:00Z",
                             "startedAt": "2024-05-14T09:30:02Z",
                             "completedAt": "2024-05-14T09:31:12Z", "finishCode": "0",
                             "extractRefreshJob": {"workbook": {"id": WORKBOOK_ID,
                                                                "name": "Sales Overview"}}}
        self.settings = {"base_url": fake.url + "/", "site_content_url": SITE}
        self.credentials = {"token_name": TOKEN_NAME, "token_secret": TOKEN_SECRET,
                            "webhook_token": "tableau-url-token-0123456789abcdefghij"}

    def stop(self) -> None:
        self.fake.stop()


def contract_fake() -> ContractFake:
    return ContractFake()
