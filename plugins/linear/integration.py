"""Linear GraphQL API: create, update and find issues, comment, list teams and workflow states;
data-change webhooks.

API reference: https://linear.app/developers/graphql
Errors: GraphQL ``errors[].extensions`` (``type`` "authentication error", "ratelimited",
"invalid input", ...; the SDK's list is in @linear/sdk's error.ts), often with HTTP 400
Rate limits: https://linear.app/developers/rate-limiting (``X-RateLimit-Requests-*`` and
``X-RateLimit-Complexity-*`` headers; resets are epoch milliseconds)
Webhooks: https://linear.app/developers/webhooks
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from itertools import islice
from typing import Any

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import ErrorTable
from atom.integrations.helpers import GraphQLPages
from atom.integrations.helpers import compact
from atom.integrations.helpers import graphql
from atom.integrations.helpers import raise_for_graphql
from atom.integrations.http import default_raise_for_response
from atom.integrations.http import parse_reset
from atom.integrations.webhooks import WebhookRequest
from plugins.linear import payloads
from plugins.linear import queries as q

PATH = "graphql"
SERVICE = "Linear"

# By extensions.type, or extensions.code in lower case with spaces (RATELIMITED, INVALID_INPUT).
ERRORS = ErrorTable(
    auth=frozenset({"authentication error", "forbidden", "unauthenticated"}),
    rate_limited=frozenset({"ratelimited", "rate limited"}),
    transient=frozenset({"internal error", "network error", "lock timeout", "bootstrap error",
                         "internal server error"}),
    validation={"invalid input": None, "user error": None, "bad user input": None,
                "graphql error": None, "graphql validation failed": None},
)
# An entity Linear could not find -> the input field that named it.
_ENTITY_FIELDS = {"Team": "team_id", "WorkflowState": "state_id", "User": "assignee_id",
                  "IssueLabel": "label_ids", "Project": "project_id"}
# The root field of the failing operation -> the input naming its issue.
_ISSUE_FIELDS = {"issueUpdate": "id", "issue": "id", "commentCreate": "issue_id"}
_LEADING_ARGUMENT = re.compile(r"^(?:Argument\s+)?\"?([A-Za-z]+)\"?\s+(?:must|should|is|has|can)")
_NOT_FOUND = re.compile(r"(?:Entity not found|Could not find referenced):?\s+(\w+)")


def code_of(error: Mapping[str, Any]) -> str:
    extensions = error.get("extensions")
    if not isinstance(extensions, Mapping):
        return ""
    kind = extensions.get("type") or extensions.get("code") or ""
    return str(kind).strip().lower().replace("_", " ")


def field_of(error: Mapping[str, Any]) -> str | None:
    """The input field a Linear argument error is about, when it says."""
    extensions = error.get("extensions") if isinstance(error.get("extensions"), Mapping) else {}
    exception = extensions.get("exception") if isinstance(extensions.get("exception"), Mapping) else {}
    for check in extensions.get("validationErrors") or exception.get("validationErrors") or []:
        if isinstance(check, Mapping) and check.get("property") in payloads.INPUT_OF:
            return payloads.INPUT_OF[check["property"]]
    text = str(extensions.get("userPresentableMessage") or error.get("message") or "")
    match = _LEADING_ARGUMENT.match(text)
    if match and match.group(1) in payloads.INPUT_OF:
        return payloads.INPUT_OF[match.group(1)]
    match = _NOT_FOUND.search(text)
    if match:
        if match.group(1) == "Issue":
            path = error.get("path")
            return _ISSUE_FIELDS.get(path[0]) if isinstance(path, list) and path else None
        return _ENTITY_FIELDS.get(match.group(1))
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def retry_after_of(error: Mapping[str, Any], response: requests.Response) -> float | None:
    """Until the spent budget (requests, else complexity) resets: epoch-ms reset headers. None
    when no budget says it is spent (the client then backs off on its own)."""
    headers = response.headers
    for budget in ("Requests", "Complexity"):
        left = _int(headers.get(f"X-RateLimit-{budget}-Remaining"))
        if left is not None and left <= 0:
            return parse_reset(headers.get(f"X-RateLimit-{budget}-Reset"))
    return None


class LinearIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        """401 and 5xx by status; then the GraphQL errors Linear answers with HTTP 200 or 400
        (rate limits included); then any other status."""
        if response.status_code == 401 or response.status_code >= 500:
            default_raise_for_response(response)
        raise_for_graphql(response, ERRORS, service=SERVICE, code_of=code_of,
                          field_of=field_of, retry_after_of=retry_after_of)
        default_raise_for_response(response)

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """Requests left in the hour's budget, or none while the complexity budget is spent."""
        headers, now = response.headers, self.http.clock.time()
        complexity = _int(headers.get("X-RateLimit-Complexity-Remaining"))
        if complexity is not None and complexity <= 0:
            return 0, parse_reset(headers.get("X-RateLimit-Complexity-Reset"), now)
        remaining = _int(headers.get("X-RateLimit-Requests-Remaining"))
        if remaining is None:
            return None, None
        return remaining, parse_reset(headers.get("X-RateLimit-Requests-Reset"), now)

    def health_check(self) -> None:
        if not (self._gql(q.HEALTH_CHECK, {}, "HealthCheck").get("viewer") or {}).get("id"):
            raise UpstreamError("Linear HealthCheck: no viewer in the answer; is base_url "
                                "Linear's API?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = self._gql(q.CREATE_ISSUE, {"input": payloads.issue_input(data)},
                            "CreateIssue")["issueCreate"]
        return payloads.issue(self._returned(payload, "issue", "issueCreate"))

    def update_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = self._gql(q.UPDATE_ISSUE, {"id": data["id"],
                                             "input": payloads.issue_input(data)},
                            "UpdateIssue", idempotent=True)["issueUpdate"]
        return payloads.issue(self._returned(payload, "issue", "issueUpdate"))

    def add_comment(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = self._gql(q.ADD_COMMENT, {"input": compact(
            issueId=data["issue_id"], body=data["body"], parentId=data.get("parent_id"))},
            "AddComment")["commentCreate"]
        return payloads.comment(self._returned(payload, "comment", "commentCreate"))

    def get_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._gql(q.GET_ISSUE, {"id": data["id"]}, "GetIssue").get("issue")
        if not found:
            raise ValidationFailed(f"Linear has no issue {data['id']}", details={"id": ["not found"]})
        return payloads.issue(found)

    def list_issues(self, data: dict[str, Any]) -> dict[str, Any]:
        issues = self._list(q.LIST_ISSUES, "issues", data, "ListIssues", compact(
            filter=payloads.issue_filter(data), orderBy=data["order_by"],
            includeArchived=data["include_archived"] or None))
        return {"issues": [payloads.issue(i) for i in issues], "count": len(issues)}

    def search_issues(self, data: dict[str, Any]) -> dict[str, Any]:
        issues = self._list(q.SEARCH_ISSUES, "searchIssues", data, "SearchIssues", compact(
            term=data["term"], teamId=data.get("team_id"),
            includeComments=data["include_comments"] or None))
        return {"issues": [payloads.issue(i) for i in issues], "count": len(issues)}

    def list_teams(self, data: dict[str, Any]) -> dict[str, Any]:
        teams = self._list(q.LIST_TEAMS, "teams", data, "ListTeams", {})
        return {"teams": [payloads.team(t) for t in teams], "count": len(teams)}

    def list_workflow_states(self, data: dict[str, Any]) -> dict[str, Any]:
        team = ({"id": {"eq": data["team_id"]}} if data.get("team_id") else
                {"key": {"eqIgnoreCase": data["team_key"]}} if data.get("team_key") else None)
        states = self._list(q.LIST_WORKFLOW_STATES, "workflowStates", data, "ListWorkflowStates",
                            compact(filter={"team": team} if team else None))
        return {"states": [payloads.workflow_state(s) for s in states], "count": len(states)}

    # -- webhooks --------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """Data-change deliveries by ``type`` and ``action``; ``Linear-Delivery`` (a UUID per
        delivery, kept on Linear's retries) de-duplicates them."""
        if not isinstance(payload, dict):
            return []
        names = payloads.trigger_names(payload)
        if not names:
            return []
        delivery = (req.headers.get("Linear-Delivery") or "").strip()[:100] or \
            hashlib.sha256(req.body).hexdigest()
        return [InboundEvent(name, delivery if n == 0 else f"{delivery}:{name}", payload)
                for n, name in enumerate(names)]

    # -- helpers ----------------------------------------------------------------------------

    def _gql(self, query: str, variables: dict[str, Any], operation: str,
             idempotent: bool | None = None) -> dict[str, Any]:
        return graphql(self.http, query, variables, operation=operation, path=PATH, table=ERRORS,
                       code_of=code_of, idempotent=idempotent, service=SERVICE)

    def _list(self, query: str, root: str, data: dict[str, Any], operation: str,
              variables: dict[str, Any]) -> list[dict[str, Any]]:
        """Up to ``max_items`` nodes of a connection, following ``pageInfo.endCursor``."""
        first = min(data["page_size"], data["max_items"])
        pages = GraphQLPages(items=f"data.{root}.nodes", cursor=f"data.{root}.pageInfo.endCursor",
                             has_more=f"data.{root}.pageInfo.hasNextPage")
        found = self.http.paginate(PATH, pages, method="POST",
                                   json={"query": query, "variables": {**variables, "first": first}},
                                   idempotent=True, operation=operation)
        return list(islice(found, data["max_items"]))

    @staticmethod
    def _returned(payload: Any, key: str, field: str) -> dict[str, Any]:
        found = payload.get(key) if isinstance(payload, dict) else None
        if not (isinstance(payload, dict) and payload.get("success") and found):
            raise UpstreamError(f"Linear {field}: the answer has no {key}", permanent=True)
        return found
