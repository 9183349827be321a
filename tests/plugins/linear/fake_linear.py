"""A stateful fake of Linear's GraphQL API, executed by graphql-core against Linear's schema
(``shared/specs/linear.graphql``, the SDK's schema.graphql).

It follows https://linear.app/developers/graphql: Relay connections (``first``/``after``,
``pageInfo { hasNextPage endCursor }``), the ``issueCreate`` / ``issueUpdate`` /
``commentCreate`` payloads (``success`` plus the entity), issues named by id or identifier
(ENG-123), and errors as Linear reports them (``extensions.type`` "invalid input" with a
``userPresentableMessage``; HTTP 400 when nothing could be answered). Served at the HTTP seam
with ``responses``: every document and its variables are validated by graphql-core, a document
not in the plugin's ``DOCUMENTS`` or variables the document does not define are refused, and
each refusal lands in ``invalid`` (the ``fake_linear`` fixture fails the test on any).
"""
from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import Any

import graphql
import responses

from plugins.linear.queries import DOCUMENTS
from tests.plugins.conftest import SPECS

URL = "https://api.linear.app/graphql"
TEAM = "72b2a2dc-6f4f-4423-9d34-24b5bd10634a"
TODO = "6d1c9e5b-0f43-4a5e-9a9c-1b8f3a7e2d10"
IN_PROGRESS = "a9f8e7d6-c5b4-4a39-8271-605f4e3d2c1b"
DONE = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
BUG = "f3a7c1d2-9b8e-4d6f-a1c2-3e4f5a6b7c8d"
VIEWER = "aacdca22-6266-4c0a-ab3c-8fa70a26765c"
ISSUE = "539068e2-ae88-4d09-bd75-22eb4a59612f"
PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


@lru_cache(maxsize=1)
def schema() -> graphql.GraphQLSchema:
    """Linear's schema (1.25 MB), built once per test process."""
    return graphql.build_schema((SPECS / "linear.graphql").read_text())


def invalid_input(message: str, presentable: str | None = None) -> graphql.GraphQLError:
    return graphql.GraphQLError(message, extensions={
        "type": "invalid input", "code": "INVALID_INPUT", "statusCode": 400, "userError": True,
        "userPresentableMessage": presentable or message})


class FakeLinear:
    """Teams, workflow states, labels, issues and comments in memory; the root resolvers of the
    schema's Query and Mutation fields the plugin uses."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.invalid: list[str] = []
        self.status = {"with_errors": 400}
        self.team_rows = {TEAM: {"id": TEAM, "key": "ENG", "name": "Engineering",
                             "description": "Product engineering", "private": False},
                      "11111111-2222-4333-8444-555555555555": {
                          "id": "11111111-2222-4333-8444-555555555555", "key": "OPS",
                          "name": "Operations", "description": None, "private": True}}
        self.state_rows = {
            TODO: {"id": TODO, "name": "Todo", "type": "unstarted", "color": "#e2e2e2",
                   "position": 1.0, "team": TEAM},
            IN_PROGRESS: {"id": IN_PROGRESS, "name": "In Progress", "type": "started",
                          "color": "#f2c94c", "position": 2.0, "team": TEAM},
            DONE: {"id": DONE, "name": "Done", "type": "completed", "color": "#5e6ad2",
                   "position": 3.0, "team": TEAM},
        }
        self.label_rows = {BUG: {"id": BUG, "name": "Bug"}}
        self.user_rows = {VIEWER: {"id": VIEWER, "name": "Grace Hopper",
                               "email": "grace@linear.example"}}
        self.issue_rows: dict[str, dict[str, Any]] = {}
        self.comment_rows: dict[str, dict[str, Any]] = {}
        # ENG-1778, the issue of the manifest's examples.
        self.add_issue("Checkout fails for EU customers", issue_id=ISSUE, priority=2,
                       labelIds=[BUG], assigneeId=VIEWER, number=1778)

    # -- state -------------------------------------------------------------------------------

    def add_issue(self, title: str, team: str = TEAM, issue_id: str | None = None,
                  **fields: Any) -> dict[str, Any]:
        number = len(self.issue_rows) + 1
        stamp = f"2025-05-{10 + number % 9:02d}T12:00:00.000Z"
        row = {"id": issue_id or str(uuid.uuid4()), "number": number, "title": title,
               "teamId": team, "stateId": TODO, "priority": 0, "labelIds": [],
               "assigneeId": None, "description": None, "estimate": None, "dueDate": None,
               "projectId": None, "parentId": None, "createdAt": stamp, "updatedAt": stamp,
               **fields}
        self.issue_rows[row["id"]] = row
        return row

    def find_issue(self, ref: str, path: str = "issue") -> dict[str, Any]:
        for row in self.issue_rows.values():
            identifier = f"{self.team_rows[row['teamId']]['key']}-{row['number']}"
            if ref in (row["id"], identifier):
                return row
        raise invalid_input("Entity not found: Issue", "Could not find referenced Issue.")

    def _check_refs(self, fields: dict[str, Any]) -> None:
        refs = (("teamId", self.team_rows, "Team"), ("stateId", self.state_rows, "WorkflowState"),
                ("assigneeId", self.user_rows, "User"))
        for key, table, entity in refs:
            if fields.get(key) is not None and fields[key] not in table:
                raise invalid_input(f"Entity not found: {entity}",
                                    f"Could not find referenced {entity}.")
        for label in fields.get("labelIds") or []:
            if label not in self.label_rows:
                raise invalid_input("Entity not found: IssueLabel",
                                    "Could not find referenced IssueLabel.")

    # -- shapes --------------------------------------------------------------------------------

    def _issue(self, row: dict[str, Any]) -> dict[str, Any]:
        team, state = self.team_rows[row["teamId"]], self.state_rows[row["stateId"]]
        return {**row, "identifier": f"{team['key']}-{row['number']}",
                "url": f"https://linear.app/acme/issue/{team['key']}-{row['number']}",
                "priorityLabel": PRIORITY_LABELS[row["priority"]],
                "completedAt": None, "canceledAt": None, "archivedAt": None,
                "state": state, "team": team, "assignee": self.user_rows.get(row["assigneeId"]),
                "project": None,
                "labels": {"nodes": [self.label_rows[i] for i in row["labelIds"]]}}

    @staticmethod
    def _connection(rows: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
        start = int(after.split(":")[1]) if after else 0
        size = first or 50
        page = rows[start:start + size]
        more = start + size < len(rows)
        return {"nodes": page, "pageInfo": {"hasNextPage": more,
                                            "endCursor": f"c:{start + len(page)}" if page else None}}

    def _matches(self, row: dict[str, Any], f: dict[str, Any] | None) -> bool:
        team, state = self.team_rows[row["teamId"]], self.state_rows[row["stateId"]]
        for key, test in (f or {}).items():
            if key == "team":
                ok = (test.get("id", {}).get("eq", team["id"]) == team["id"]
                      and test.get("key", {}).get("eqIgnoreCase", team["key"]).lower()
                      == team["key"].lower())
            elif key == "assignee":
                who = VIEWER if test.get("isMe", {}).get("eq") else test["id"]["eq"]
                ok = row["assigneeId"] == who
            elif key == "state":
                ok = (state["type"] in test.get("type", {}).get("in", [state["type"]])
                      and test.get("name", {}).get("eqIgnoreCase", state["name"]).lower()
                      == state["name"].lower())
            elif key == "labels":
                wanted = test["some"]["name"]["eqIgnoreCase"].lower()
                ok = any(self.label_rows[i]["name"].lower() == wanted for i in row["labelIds"])
            elif key == "priority":
                ok = row["priority"] in test["in"]
            elif key == "title":
                ok = test["containsIgnoreCase"].lower() in row["title"].lower()
            elif key in ("updatedAt", "createdAt"):
                ok = row[key] > test["gt"]
            else:
                raise AssertionError(f"the fake does not know the filter {key!r}")
            if not ok:
                return False
        return True

    # -- Query ---------------------------------------------------------------------------------

    def viewer(self, info: Any) -> dict[str, Any]:
        return self.user_rows[VIEWER]

    def issue(self, info: Any, id: str) -> dict[str, Any]:
        return self._issue(self.find_issue(id))

    def issues(self, info: Any, filter: dict | None = None, first: int | None = None,
               after: str | None = None, orderBy: str | None = None, **_: Any) -> dict:
        rows = [r for r in self.issue_rows.values() if self._matches(r, filter)]
        rows.sort(key=lambda r: r[orderBy or "createdAt"], reverse=True)
        return self._connection([self._issue(r) for r in rows], first, after)

    def searchIssues(self, info: Any, term: str, teamId: str | None = None,
                     first: int | None = None, after: str | None = None, **_: Any) -> dict:
        rows = [r for r in self.issue_rows.values() if term.lower() in r["title"].lower()
                and (teamId is None or r["teamId"] == teamId)]
        return self._connection([self._issue(r) for r in rows], first, after)

    def teams(self, info: Any, first: int | None = None, after: str | None = None,
              **_: Any) -> dict:
        return self._connection(list(self.team_rows.values()), first, after)

    def workflowStates(self, info: Any, filter: dict | None = None, first: int | None = None,
                       after: str | None = None, **_: Any) -> dict:
        team = (filter or {}).get("team") or {}
        rows = [{**s, "team": self.team_rows[s["team"]]} for s in self.state_rows.values()]
        if "id" in team:
            rows = [s for s in rows if s["team"]["id"] == team["id"]["eq"]]
        if "key" in team:
            rows = [s for s in rows if s["team"]["key"].lower()
                    == team["key"]["eqIgnoreCase"].lower()]
        return self._connection(rows, first, after)

    # -- Mutation ------------------------------------------------------------------------------

    def issueCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self._check_refs(input)
        row = self.add_issue(input["title"], input["teamId"],
                             **{k: v for k, v in input.items() if k not in ("title", "teamId")})
        return {"success": True, "lastSyncId": 1.0, "issue": self._issue(row)}

    def issueUpdate(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        row = self.find_issue(id)
        self._check_refs(input)
        changes = dict(input)
        labels = list(row["labelIds"])
        labels += [i for i in changes.pop("addedLabelIds", []) if i not in labels]
        removed = changes.pop("removedLabelIds", [])
        row.update(changes)
        if "labelIds" not in changes:
            row["labelIds"] = [i for i in labels if i not in removed]
        row["updatedAt"] = "2025-06-01T09:00:00.000Z"
        return {"success": True, "lastSyncId": 2.0, "issue": self._issue(row)}

    def commentCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        row = self.find_issue(input.get("issueId") or "")
        issue = self._issue(row)
        comment = {"id": str(uuid.uuid4()), "body": input["body"],
                   "url": f"{issue['url']}#comment-1", "createdAt": "2025-06-01T09:00:00.000Z",
                   "user": self.user_rows[VIEWER], "issue": issue,
                   "parent": self.comment_rows.get(input.get("parentId") or "")}
        self.comment_rows[comment["id"]] = comment
        return {"success": True, "lastSyncId": 3.0, "comment": comment}

    # -- the HTTP seam -------------------------------------------------------------------------

    def handle(self, request: Any) -> tuple[int, dict[str, str], str]:
        sent = json.loads(request.body)
        query, variables = sent.get("query"), sent.get("variables") or {}
        self.requests.append({"query": query, "variables": variables,
                              "headers": dict(request.headers)})
        problem = self._check(query, variables)
        if problem:
            self.invalid.append(problem)
            return 400, {}, json.dumps({"errors": [{"message": problem}]})
        result = graphql.graphql_sync(schema(), query, root_value=self, variable_values=variables)
        unplaced = [e for e in result.errors or [] if not e.path]
        if unplaced:
            self.invalid.extend(e.message for e in unplaced)
        body: dict[str, Any] = {"data": result.data}
        status = 200
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
            if not any((result.data or {}).values()):
                status = self.status["with_errors"]
        return status, {"X-RateLimit-Requests-Remaining": "4999",
                        "X-RateLimit-Requests-Reset": "1893456000000"}, json.dumps(body)

    @staticmethod
    def _check(query: Any, variables: dict[str, Any]) -> str | None:
        if query not in DOCUMENTS:
            return "a document that is not in plugins.linear.queries.DOCUMENTS"
        defined = {d.variable.name.value for op in graphql.parse(query).definitions
                   for d in getattr(op, "variable_definitions", None) or ()}
        extra = set(variables) - defined
        return f"variables the document does not define: {sorted(extra)}" if extra else None

    def serve(self, rsps: responses.RequestsMock, url: str = URL) -> None:
        rsps.add_callback(responses.POST, url, callback=self.handle,
                          content_type="application/json")

    def sent(self, operation: str) -> list[dict[str, Any]]:
        return [r for r in self.requests
                if graphql.get_operation_ast(graphql.parse(r["query"])).name.value == operation]
