"""A small in-memory GitLab REST API v4, following GitLab's reference.

GitLab's OpenAPI description is not kept in shared/specs (see its README), so this fake stands
in for the contract, after https://docs.gitlab.com/api/rest/ and the pages of each resource:
projects (https://docs.gitlab.com/api/projects/), issues (/api/issues/), notes (/api/notes/),
merge requests (/api/merge_requests/) and pipelines (/api/pipelines/). What it does:

- authentication: ``PRIVATE-TOKEN: <token>`` or ``Authorization: Bearer <token>``; anything
  else is 401 ``{"message": "401 Unauthorized"}``;
- projects by numeric id or by full path URL-encoded as one segment (``group%2Fproject``);
  an unknown one is 404 ``{"message": "404 Project Not Found"}``;
- offset pagination (``page``, ``per_page`` default 20, max 100) with ``X-Page``,
  ``X-Per-Page``, ``X-Next-Page``, ``X-Prev-Page``, ``X-Total``, ``X-Total-Pages`` and
  ``Link`` (``rel="next"``, ``"prev"``, ``"first"``, ``"last"``);
- parameter errors as Grape words them (400 ``{"error": "title is missing"}``) and model
  errors by attribute (400 ``{"message": {"title": ["is too long ..."]}}``);
- ``RateLimit-Limit``, ``-Remaining``, ``-Reset`` and ``-Observed`` on every answer.

It plugs into a ``responses.RequestsMock`` under any base URL (gitlab.com or a self-managed
host). ``push(status, body, headers)`` queues scripted answers served before the routes (429s,
5xx); every request is kept in ``requests``.
"""
from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlencode
from urllib.parse import urlsplit

TOKEN = "glpat-xB7qLp2VnW9sT4dY6fHz"
NOW = "2024-06-01T09:00:00.000Z"
ME = {"id": 1, "username": "root", "name": "Administrator", "state": "active",
      "avatar_url": None, "web_url": "https://gitlab.com/root"}


@dataclass
class Recorded:
    method: str
    path: str  # as sent, still encoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any


class Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def missing(*names: str) -> Reply:
    return Reply(400, {"error": ", ".join(f"{n} is missing" for n in names)})


class FakeGitLab:
    def __init__(self, base: str = "https://gitlab.com/api/v4") -> None:
        self.base = base.rstrip("/")
        self.web = self.base.removesuffix("/api/v4")
        self.requests: list[Recorded] = []
        self.scripted: list[Reply] = []
        self.link_headers = True
        self.remaining = 2000
        self.reset_in = 60
        self._ids = itertools.count(1001)
        self.projects: dict[int, dict[str, Any]] = {}
        self.issues: dict[int, list[dict[str, Any]]] = {}
        self.merge_requests: dict[int, list[dict[str, Any]]] = {}
        self.pipelines: dict[int, list[dict[str, Any]]] = {}
        self.notes: list[dict[str, Any]] = []
        self.branches: dict[int, set[str]] = {}

    # -- seeding and inspection --------------------------------------------------------------

    def add_project(self, path: str, project_id: int | None = None, member: bool = True,
                    **extra: Any) -> dict[str, Any]:
        pid = project_id or next(self._ids)
        namespace, _, name = path.rpartition("/")
        project = {"id": pid, "name": name.replace("-", " ").title(), "path": name,
                   "path_with_namespace": path, "name_with_namespace": path.replace("/", " / "),
                   "description": None, "default_branch": "main", "visibility": "private",
                   "web_url": f"{self.web}/{path}", "archived": False,
                   "created_at": NOW, "last_activity_at": NOW,
                   "namespace": {"full_path": namespace},
                   "_member": member, **extra}
        self.projects[pid] = project
        self.issues.setdefault(pid, [])
        self.merge_requests.setdefault(pid, [])
        self.pipelines.setdefault(pid, [])
        self.branches[pid] = {"main", "develop"}
        return project

    def add_issue(self, project_id: int, title: str, **extra: Any) -> dict[str, Any]:
        return self._new_issue(project_id, {"title": title, **extra})

    def add_merge_request(self, project_id: int, title: str, state: str = "opened",
                          **extra: Any) -> dict[str, Any]:
        mrs = self.merge_requests[project_id]
        iid = len(mrs) + 1
        mr = {"id": next(self._ids), "iid": iid, "project_id": project_id, "title": title,
              "description": "", "state": state, "draft": False, "source_branch": "feature",
              "target_branch": "main", "author": ME, "labels": [],
              "detailed_merge_status": "mergeable", "created_at": NOW, "updated_at": NOW,
              "merged_at": NOW if state == "merged" else None,
              "web_url": f"{self.projects[project_id]['web_url']}/-/merge_requests/{iid}", **extra}
        mrs.append(mr)
        return mr

    def add_pipeline(self, project_id: int, ref: str = "main", status: str = "success",
                     **extra: Any) -> dict[str, Any]:
        pipes = self.pipelines[project_id]
        pid = next(self._ids)
        pipe = {"id": pid, "iid": len(pipes) + 1, "project_id": project_id,
                "sha": f"{pid:040x}", "ref": ref, "status": status, "source": "push",
                "created_at": NOW, "updated_at": NOW,
                "web_url": f"{self.projects[project_id]['web_url']}/-/pipelines/{pid}", **extra}
        pipes.append(pipe)
        return pipe

    def push(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.scripted.append(Reply(status, body, headers))

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # -- wiring --------------------------------------------------------------------------------

    def register(self, rsps: Any) -> FakeGitLab:
        pattern = re.compile(re.escape(self.base) + r"(/|\?|$)")
        for method in ("GET", "POST", "PUT", "DELETE"):
            rsps.add_callback(method, pattern, callback=self._callback)
        return self

    def _callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        url = urlsplit(request.url)
        body = json.loads(request.body) if request.body else None
        rec = Recorded(request.method, url.path.removeprefix(urlsplit(self.base).path),
                       parse_qs(url.query), dict(request.headers), body)
        self.requests.append(rec)
        try:
            reply = self._answer(rec)
        except Reply as raised:
            reply = raised
        self.remaining = max(0, self.remaining - 1)
        headers = {"Content-Type": "application/json", "RateLimit-Limit": "2000",
                   "RateLimit-Observed": str(2000 - self.remaining),
                   "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": str(int(time.time()) + self.reset_in), **reply.headers}
        text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        return reply.status, headers, text

    def _answer(self, rec: Recorded) -> Reply:
        if self.scripted:
            return self.scripted.pop(0)
        auth = rec.headers.get("Authorization", "")
        if rec.headers.get("PRIVATE-TOKEN") != TOKEN and auth != f"Bearer {TOKEN}":
            raise Reply(401, {"message": "401 Unauthorized"})
        parts = [unquote(p) for p in rec.path.strip("/").split("/")] if rec.path.strip("/") else []
        route = (rec.method, *parts[:1], *(["*"] if len(parts) > 1 else []), *parts[2:])
        if route == ("GET", "user"):
            return Reply(200, ME)
        if route == ("GET", "projects"):
            return self._list_projects(rec)
        if len(parts) < 2 or parts[0] != "projects":
            raise Reply(404, {"error": "404 Not Found"})
        project = self._project(parts[1])
        rest = parts[2:]
        pid = project["id"]
        if rec.method == "POST" and rest == ["issues"]:
            return Reply(201, self._new_issue(pid, rec.json or {}))
        if rec.method == "PUT" and len(rest) == 2 and rest[0] == "issues":
            return Reply(200, self._update_issue(self._issue(pid, rest[1]), rec.json or {}))
        if rec.method == "POST" and len(rest) == 3 and rest[0] == "issues" and rest[2] == "notes":
            return Reply(201, self._note(self._issue(pid, rest[1]), "Issue", rec.json or {}))
        if rec.method == "POST" and len(rest) == 3 and rest[0] == "merge_requests" \
                and rest[2] == "notes":
            mr = self._find(self.merge_requests[pid], rest[1], "404 Merge Request Not Found")
            return Reply(201, self._note(mr, "MergeRequest", rec.json or {}))
        if rec.method == "GET" and rest == ["merge_requests"]:
            state = _one(rec.query, "state", "all")
            found = [m for m in self.merge_requests[pid] if state in ("all", m["state"])]
            return self._page(rec, list(reversed(found)))
        if rec.method == "GET" and rest == ["pipelines"]:
            found = [p for p in reversed(self.pipelines[pid])
                     if _one(rec.query, "status", p["status"]) == p["status"]
                     and _one(rec.query, "ref", p["ref"]) == p["ref"]]
            return self._page(rec, found)
        if rec.method == "POST" and rest == ["pipeline"]:
            return Reply(201, self._new_pipeline(pid, rec.json or {}))
        raise Reply(404, {"error": "404 Not Found"})

    # -- resources -----------------------------------------------------------------------------

    def _project(self, key: str) -> dict[str, Any]:
        for project in self.projects.values():
            if key == str(project["id"]) or key == project["path_with_namespace"]:
                return project
        raise Reply(404, {"message": "404 Project Not Found"})

    def _find(self, items: list[dict[str, Any]], iid: str, not_found: str) -> dict[str, Any]:
        found = next((i for i in items if str(i["iid"]) == iid), None)
        if found is None:
            raise Reply(404, {"message": not_found})
        return found

    def _issue(self, pid: int, iid: str) -> dict[str, Any]:
        return self._find(self.issues[pid], iid, "404 Issue Not Found")

    def _list_projects(self, rec: Recorded) -> Reply:
        found = list(self.projects.values())
        if _one(rec.query, "membership") == "true":
            found = [p for p in found if p["_member"]]
        search = _one(rec.query, "search")
        if search:
            found = [p for p in found if search.lower() in p["path_with_namespace"].lower()]
        key = _one(rec.query, "order_by", "created_at")
        found.sort(key=lambda p: p.get(key) or p["id"],
                   reverse=_one(rec.query, "sort", "desc") == "desc")
        return self._page(rec, [{k: v for k, v in p.items() if not k.startswith("_")}
                                for p in found])

    def _new_issue(self, pid: int, body: dict[str, Any]) -> dict[str, Any]:
        title = body.get("title")
        if not title:
            raise missing("title")
        if len(title) > 255:
            raise Reply(400, {"message": {"title": ["is too long (maximum is 255 characters)"]}})
        issues = self.issues[pid]
        iid = len(issues) + 1
        issue = {"id": next(self._ids), "iid": iid, "project_id": pid, "title": title,
                 "description": body.get("description"), "state": "opened",
                 "labels": _labels(body.get("labels")), "author": ME,
                 "assignees": [{"id": a, "username": f"user{a}"}
                               for a in body.get("assignee_ids") or []],
                 "confidential": bool(body.get("confidential")), "due_date": body.get("due_date"),
                 "issue_type": body.get("issue_type", "issue"), "created_at": NOW,
                 "updated_at": NOW, "closed_at": None,
                 "web_url": f"{self.projects[pid]['web_url']}/-/issues/{iid}"}
        issues.append(issue)
        return issue

    def _update_issue(self, issue: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        event = body.get("state_event")
        if event not in (None, "close", "reopen"):
            raise Reply(400, {"error": "state_event does not have a valid value"})
        if event == "close":
            issue.update(state="closed", closed_at=NOW)
        elif event == "reopen":
            issue.update(state="opened", closed_at=None)
        for key in ("title", "description", "due_date"):
            if key in body:
                issue[key] = body[key]
        labels = [x for x in issue["labels"] if x not in _labels(body.get("remove_labels"))]
        issue["labels"] = labels + [x for x in _labels(body.get("add_labels")) if x not in labels]
        if "assignee_ids" in body:
            issue["assignees"] = [{"id": a, "username": f"user{a}"}
                                  for a in body["assignee_ids"] if a]
        return issue

    def _note(self, noteable: dict[str, Any], kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("body"):
            raise missing("body")
        note = {"id": next(self._ids), "type": None, "body": body["body"], "author": ME,
                "created_at": NOW, "updated_at": NOW, "system": False,
                "noteable_id": noteable["id"], "noteable_type": kind,
                "noteable_iid": noteable["iid"], "project_id": noteable["project_id"],
                "resolvable": False, "confidential": bool(body.get("internal")),
                "internal": bool(body.get("internal"))}
        self.notes.append(note)
        return note

    def _new_pipeline(self, pid: int, body: dict[str, Any]) -> dict[str, Any]:
        ref = body.get("ref")
        if not ref:
            raise missing("ref")
        if ref not in self.branches[pid]:
            raise Reply(400, {"message": {"base": ["Reference not found"]}})
        variables = body.get("variables") or []
        if not isinstance(variables, list) or not all(
                isinstance(v, dict) and {"key", "value"} <= set(v) for v in variables):
            raise Reply(400, {"error": "variables is invalid"})
        pipe = self.add_pipeline(pid, ref=ref, status="created", source="api")
        pipe["variables"] = variables
        return {k: v for k, v in pipe.items() if k != "variables"} | {
            "before_sha": "0" * 40, "tag": False, "yaml_errors": None, "user": ME,
            "started_at": None, "finished_at": None, "duration": None, "coverage": None}

    def _page(self, rec: Recorded, items: list[dict[str, Any]]) -> Reply:
        per_page = min(max(int(_one(rec.query, "per_page", "20")), 1), 100)
        page = max(int(_one(rec.query, "page", "1")), 1)
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items)),
                   "X-Total-Pages": str(pages),
                   "X-Next-Page": str(page + 1) if page < pages else "",
                   "X-Prev-Page": str(page - 1) if page > 1 else ""}
        if self.link_headers:
            def link(n: int, rel: str) -> str:
                query = {k: v[0] for k, v in rec.query.items()} | {"page": n, "per_page": per_page}
                return f'<{self.base}{rec.path}?{urlencode(query)}>; rel="{rel}"'

            rels = ([link(page + 1, "next")] if page < pages else []) + \
                   ([link(page - 1, "prev")] if page > 1 else []) + \
                   [link(1, "first"), link(pages, "last")]
            headers["Link"] = ", ".join(rels)
        return Reply(200, chunk, headers)


def _one(query: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    values = query.get(name)
    return values[0] if values else default


def _labels(value: Any) -> list[str]:
    if not value:
        return []
    return [x.strip() for x in (value.split(",") if isinstance(value, str) else value) if x]
