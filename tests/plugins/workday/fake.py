"""A documented fake Workday tenant (token endpoint, REST workers, RaaS) on 127.0.0.1.

Workday's documentation is behind a customer login and no OpenAPI description is published,
so this stateful fake is the contract (``Contract("fake", ...)`` in the manifest). What it
does, and where it comes from (all third-party; unconfirmed details marked "(verify)"):

- Token endpoint ``POST /ccx/oauth2/{tenant}/token``, ``grant_type=refresh_token`` with the
  API client's id and secret in HTTP Basic (or the form): answers ``{"access_token",
  "token_type": "Bearer", "refresh_token", "expires_in"}``; a wrong client is 401
  ``{"error": "invalid_client"}``, an unknown refresh token 400 ``{"error": "invalid_grant"}``
  (nango.dev workday-refresh-token, help.merge.dev "Workday: how do I link using OAuth",
  docs.workato.com workday-rest connection setup) (verify: expires_in value and whether the
  refresh token is echoed).
- REST workers ``GET /ccx/api/v1/{tenant}/workers?limit=&offset=&search=`` answers
  ``{"total", "data": [worker]}``; ``limit`` above 100 is 400 (verify); ``GET
  .../workers/{ID}`` answers one worker, an unknown one 404 ``{"error": "..."}``. Worker
  fields: ``id`` (WID), ``descriptor``, ``href``, ``businessTitle``, ``primaryWorkEmail``,
  ``primaryWorkPhone``, ``isManager``, ``primarySupervisoryOrganization`` and ``location``
  references ``{id, descriptor, href}`` (docs.workato.com workday-rest new-worker trigger,
  ServiceNow Workday HR spoke) (verify). ``GET /ccx/api/v1/{tenant}/supervisoryOrganizations``
  pages the same way (verify). Errors are ``{"error": "...", "errors": [{"error",
  "field"}]}`` (verify). A missing or stale bearer token is 401 ``{"error": "invalid access
  token"}`` (verify).
- RaaS ``GET /ccx/service/customreport2/{tenant}/{owner}/{report}?format=json&<prompt>=...``
  answers ``{"Report_Entry": [row]}`` (apis.apis.io workday raas-api, knowledgelib.io
  workday-raas-integration); an unknown report is 404 text, an unknown prompt 400 with an XML
  ``wd:Validation_Error`` body (verify). The fake's reports: ``lmcneil/New_Hires`` with the
  prompts ``Start_Date``/``End_Date`` filtering ``Hire_Date`` (inclusive) and
  ``lmcneil/Headcount`` without prompts.

``push(status, body, headers)`` queues scripted answers served before the routes; every
request is kept in ``requests``. ``contract_connection()`` is the hook of
tests/plugins/test_spec_contract.py.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
from contextlib import contextmanager
from typing import Any
from typing import Iterator

from flask import Flask
from flask import Response
from flask import request

from tests.plugins.fake_server import LoopbackFake
from tests.plugins.fake_server import Recorded
from tests.plugins.fake_server import Reply

TENANT = "acme"
CLIENT_ID = "NzY0ZmFrZS1jbGllbnQtaWQ"
CLIENT_SECRET = "fake-workday-client-secret-0123456789abcdef"
REFRESH = "fake-workday-isu-refresh-token-0123456789abcdefghijklmnop"
LOGAN = "3aa5550b7fe348b98d7b5741afc65534"
HR_ORG = {"id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "descriptor": "Human Resources"}
SF_LOCATION = {"id": "9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a3", "descriptor": "San Francisco"}


class FakeWorkday(LoopbackFake):
    requests: list[Recorded]  # query: name -> list of values
    scripted: list[Reply]

    def __init__(self, tenant: str = TENANT, expires_in: int = 3600) -> None:
        self.tenant = tenant
        self.expires_in = expires_in
        self.workers: dict[str, dict[str, Any]] = {}
        self.hires: list[dict[str, Any]] = []
        self.organizations: list[dict[str, Any]] = [HR_ORG]
        self.tokens: set[str] = set()
        self.refresh_tokens = {REFRESH}
        self._lock = threading.Lock()
        self.app = self._build()
        super().__init__(self.app)

    def add_worker(self, name: str, wid: str | None = None, **extra: Any) -> str:
        wid = wid or secrets.token_hex(16)
        self.workers[wid] = {
            "id": wid, "descriptor": name,
            "href": f"{self.url}/ccx/api/v1/{self.tenant}/workers/{wid}",
            "businessTitle": extra.pop("title", "Analyst"),
            "primaryWorkEmail": extra.pop("email", f"{name.split()[0].lower()}@workday.net"),
            "primaryWorkPhone": "+1 (415) 555-0100", "isManager": extra.pop("manager", False),
            "primarySupervisoryOrganization": HR_ORG, "location": SF_LOCATION, **extra}
        return wid

    def hire(self, employee_id: str, name: str, hire_date: str) -> None:
        """A row of the New_Hires report."""
        first, _, last = name.partition(" ")
        self.hires.append({"Employee_ID": employee_id, "Worker": name,
                           "Legal_Name_-_First_Name": first, "Legal_Name_-_Last_Name": last,
                           "Hire_Date": hire_date, "Business_Title": "Analyst",
                           "Supervisory_Organization": "Human Resources"})

    def seed_examples(self) -> None:
        self.add_worker("Logan McNeil", LOGAN, title="Vice President, Human Resources",
                        email="lmcneil@workday.net", manager=True)
        self.add_worker("Teresa Serrano")
        self.hire("21001", "Logan McNeil", "2026-03-02")

    def api_calls(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.endswith("/token")]

    # -- the app -------------------------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("fake_workday")

        @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        def route(path: str) -> Response:
            rec = Recorded(method=request.method, path="/" + path,
                           query=request.args.to_dict(flat=False),
                           headers={k.lower(): v for k, v in request.headers.items()},
                           form=request.form.to_dict())
            try:
                with self._lock:
                    scripted = self.received(rec)
                    if scripted is not None:
                        raise scripted
                    raise self._route(rec)
            except Reply as answer:
                return _respond(answer)

        return app

    def _route(self, rec: Recorded) -> Reply:
        parts = [p for p in rec.path.split("/") if p]
        if parts == ["ccx", "oauth2", self.tenant, "token"] and rec.method == "POST":
            return self._token(rec)
        token = rec.headers.get("authorization", "")
        if not token.startswith("Bearer ") or token[7:] not in self.tokens:
            return Reply(401, {"error": "invalid access token"})
        if parts[:4] == ["ccx", "api", "v1", self.tenant] and parts[4:5] == ["workers"]:
            return self._workers(rec, parts[5:])
        if parts == ["ccx", "api", "v1", self.tenant, "supervisoryOrganizations"]:
            return self._organizations(rec)
        if parts[:3] == ["ccx", "service", "customreport2"] and len(parts) == 6 \
                and parts[3] == self.tenant:
            return self._report(rec, parts[4], parts[5])
        return Reply(404, {"error": "resource not found"})

    def _token(self, rec: Recorded) -> Reply:
        client_id, secret = rec.form.get("client_id"), rec.form.get("client_secret")
        auth = rec.headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return Reply(401, {"error": "invalid_client"})
        if rec.form.get("grant_type") != "refresh_token":
            return Reply(400, {"error": "unsupported_grant_type"})
        if rec.form.get("refresh_token") not in self.refresh_tokens:
            return Reply(400, {"error": "invalid_grant"})
        access = secrets.token_urlsafe(32)
        self.tokens.add(access)
        return Reply(200, {"access_token": access, "token_type": "Bearer",
                           "refresh_token": rec.form["refresh_token"],
                           "expires_in": self.expires_in})

    def _organizations(self, rec: Recorded) -> Reply:
        orgs = [{**org, "href": f"{self.url}/ccx/api/v1/{self.tenant}/supervisoryOrganizations/"
                                 f"{org['id']}"} for org in self.organizations]
        return self._paged(rec, orgs)

    def _workers(self, rec: Recorded, rest: list[str]) -> Reply:
        if rest:
            worker = self.workers.get(rest[0])
            if worker is None or len(rest) > 1:
                return Reply(404, {"error": "invalid resource or ID"})
            return Reply(200, worker)
        rows = list(self.workers.values())
        search = (rec.query.get("search") or [""])[0].lower()
        if search:
            rows = [w for w in rows if search in w["descriptor"].lower()]
        return self._paged(rec, rows)

    def _paged(self, rec: Recorded, rows: list[dict[str, Any]]) -> Reply:
        try:
            limit = int(rec.query.get("limit", ["20"])[0])
            offset = int(rec.query.get("offset", ["0"])[0])
        except ValueError:
            return Reply(400, {"error": "invalid request", "errors": [
                {"error": "limit and offset must be integers", "field": "limit"}]})
        if not 1 <= limit <= 100:
            return Reply(400, {"error": "invalid request", "errors": [
                {"error": "limit must be between 1 and 100", "field": "limit"}]})
        return Reply(200, {"total": len(rows), "data": rows[offset:offset + limit]})

    def _report(self, rec: Recorded, owner: str, report: str) -> Reply:
        if rec.query.get("format") != ["json"]:
            return Reply(200, "<wd:Report_Data xmlns:wd=\"urn:com.workday.report/x\"/>",
                         {"Content-Type": "application/xml"})
        prompts = {k: v for k, v in rec.query.items() if k != "format"}
        if (owner, report) == ("lmcneil", "Headcount"):
            if prompts:
                return _validation(f"Invalid prompt: {next(iter(prompts))}")
            return Reply(200, {"Report_Entry": [{"Organization": "Human Resources",
                                                 "Headcount": str(len(self.workers))}]})
        if (owner, report) != ("lmcneil", "New_Hires"):
            return Reply(404, "Report not found", {"Content-Type": "text/plain"})
        unknown = set(prompts) - {"Start_Date", "End_Date"}
        if unknown:
            return _validation(f"Invalid prompt: {sorted(unknown)[0]}")
        start = (prompts.get("Start_Date") or ["0000-01-01"])[0]
        end = (prompts.get("End_Date") or ["9999-12-31"])[0]
        rows = [h for h in self.hires if start <= h["Hire_Date"] <= end]
        return Reply(200, {"Report_Entry": rows})


def _validation(message: str) -> Reply:
    body = ('<?xml version="1.0" encoding="UTF-8"?><wd:Error xmlns:wd="urn:com.workday/bsvc">'
            f"<wd:Validation_Error><wd:Message>{message}</wd:Message></wd:Validation_Error>"
            "</wd:Error>")
    return Reply(400, body, {"Content-Type": "application/xml"})


def _respond(answer: Reply) -> Response:
    if answer.body is None:
        return Response(status=answer.status, headers=answer.headers)
    if isinstance(answer.body, (bytes, str)):
        return Response(answer.body, status=answer.status, headers=answer.headers)
    return Response(json.dumps(answer.body), status=answer.status, headers=answer.headers,
                    content_type="application/json")


@contextmanager
def contract_connection() -> Iterator[dict[str, Any]]:
    """For tests/plugins/test_spec_contract.py: a seeded fake and a connection to it."""
    with FakeWorkday() as fake:
        fake.seed_examples()
        yield {"settings": {"host": fake.url, "tenant": TENANT},
               "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                               "refresh_token": REFRESH}}


def contract_fake():
    from tests.plugins.conftest import as_contract_fake

    return as_contract_fake(contract_connection())
