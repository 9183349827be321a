"""Jira Cloud platform REST API v3.

API reference: https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/
Rate limiting: https://developer.atlassian.com/cloud/jira/platform/rate-limiting/
Webhooks: https://developer.atlassian.com/cloud/jira/platform/webhooks/
"""
from __future__ import annotations

import hashlib
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.http import parse_reset
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.pagination import PageTokenPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.jira.adf import to_adf
from plugins.jira.adf import to_text

API = "/rest/api/3"
# The sites an OAuth 2.0 (3LO) token reaches, [{"id": <cloud id>, "url", "name", "scopes"}]:
# https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/#3-1-get-the-cloudid-for-your-site
ACCESSIBLE_RESOURCES = "https://api.atlassian.com/oauth/token/accessible-resources"
WEBHOOK_EVENTS = {
    "jira:issue_created": "issue_created",
    "jira:issue_updated": "issue_updated",
    "jira:issue_deleted": "issue_deleted",
    "comment_created": "comment_created",
}


def site_url(site: str) -> str:
    """``acme`` or ``acme.atlassian.net`` (with or without scheme) to the site's base URL."""
    host = site.strip().split("://", 1)[-1].strip("/")
    if "." not in host:
        host = f"{host}.atlassian.net"
    return f"https://{host}"


def _error_body(response: requests.Response) -> tuple[list[str], dict[str, list[str]]]:
    """Jira's ``{"errorMessages": [...], "errors": {field: message}}``, tolerating other bodies."""
    try:
        body = response.json()
    except ValueError:
        return [], {}
    if not isinstance(body, dict):
        return [], {}
    messages = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    return messages, {str(k): [str(v)] for k, v in errors.items()}


def _summary(issue: dict[str, Any]) -> dict[str, Any]:
    fields = issue.get("fields") or {}
    status = fields.get("status") or {}
    assignee = fields.get("assignee") or {}
    return {
        "id": issue["id"],
        "key": issue["key"],
        "self": issue.get("self"),
        "summary": fields.get("summary"),
        "status": status.get("name"),
        "assignee": assignee.get("displayName"),
        "assignee_account_id": assignee.get("accountId"),
        "fields": fields,
    }


class JiraIntegration(Integration):
    """Issues, comments, transitions and JQL search on one Jira Cloud site."""

    def base_url(self) -> str:
        settings = self.connection.settings
        if settings.get("base_url"):
            return settings["base_url"]
        if settings.get("cloud_id"):
            return f"https://api.atlassian.com/ex/jira/{settings['cloud_id']}"
        return site_url(settings["site"]) if settings.get("site") else ""

    def raise_for_response(self, response: requests.Response) -> None:
        """Map Jira's statuses and ``errorMessages``/``errors`` body to ATOM errors.

        429 carries ``Retry-After`` (else ``X-RateLimit-Reset``, ISO-8601); some 503s carry
        ``Retry-After`` too. 400 means invalid fields, named in ``errors``.
        """
        status = response.status_code
        if status < 400:
            return
        messages, errors = _error_body(response)
        reasons = messages + [f"{k}: {v[0]}" for k, v in errors.items()]
        message = f"Jira answered {status}: {'; '.join(reasons) or snippet(response)}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            if retry_after is None:
                retry_after = parse_reset(response.headers.get("X-RateLimit-Reset"))
            reason = response.headers.get("RateLimit-Reason")
            raise RateLimited(f"{message} ({reason})" if reason else message,
                              retry_after=retry_after, status=status)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status in (400, 409, 422):
            details = errors or ({"_schema": messages} if messages else None)
            raise ValidationFailed(message, status=status, details=details)
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        self.http.get(f"{API}/myself", operation="health")

    def oauth_connected(self) -> dict[str, Any]:
        """The cloud id of the site an OAuth 2.0 token was granted for (its requests go to
        api.atlassian.com/ex/jira/{cloud_id}): the one ``site`` names, the one a re-authorised
        connection had, or the only one."""
        body = self.http.get(ACCESSIBLE_RESOURCES, operation="accessible_resources").json()
        sites = [r for r in body if isinstance(r, dict) and r.get("id")] \
            if isinstance(body, list) else []
        settings = self.connection.settings
        if settings.get("site"):
            host = urlsplit(site_url(settings["site"])).netloc.lower()
            sites = [r for r in sites if urlsplit(str(r.get("url") or "")).netloc.lower() == host]
        elif settings.get("cloud_id"):
            sites = [r for r in sites if r["id"] == settings["cloud_id"]] or sites
        if len(sites) != 1:
            found = ", ".join(str(r.get("url") or r["id"]) for r in sites)
            reason = (f"the token reaches {len(sites)} Jira sites ({found}): name one in site"
                      if sites else "the token reaches no Jira site (the one in site?)")
            raise ValidationFailed(reason, details={"settings": {"site": [reason]}})
        return {"cloud_id": str(sites[0]["id"])}

    # -- actions ------------------------------------------------------------------------

    def create_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "project": {"key": data["project_key"]},
            "summary": data["summary"],
            "issuetype": {"name": data["issue_type"]},
        }
        if data.get("description"):
            fields["description"] = to_adf(data["description"])
        if data.get("labels"):
            fields["labels"] = data["labels"]
        if data.get("priority"):
            fields["priority"] = {"name": data["priority"]}
        if data.get("assignee_account_id"):
            fields["assignee"] = {"accountId": data["assignee_account_id"]}
        body = self.http.post(f"{API}/issue", json={"fields": fields},
                              operation="create_issue").json()
        return {"id": body["id"], "key": body["key"], "self": body.get("self")}

    def get_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        params = {"fields": ",".join(data["field_names"])} if data.get("field_names") else None
        issue = self.http.get(f"{API}/issue/{data['issue_key']}", params=params,
                              operation="get_issue").json()
        out = _summary(issue)
        out["description"] = to_text((issue.get("fields") or {}).get("description"))
        return out

    def add_comment(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self.http.post(f"{API}/issue/{data['issue_key']}/comment",
                              json={"body": to_adf(data["body"])}, operation="add_comment").json()
        return {"id": body["id"], "self": body.get("self"), "created": body.get("created")}

    def list_transitions(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self.http.get(f"{API}/issue/{data['issue_key']}/transitions",
                             operation="list_transitions").json()
        return {"transitions": [
            {"id": t["id"], "name": t.get("name"), "to": (t.get("to") or {}).get("name")}
            for t in body.get("transitions") or []
        ]}

    def transition_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {"transition": {"id": str(data["transition_id"])}}
        if data.get("comment"):
            payload["update"] = {"comment": [{"add": {"body": to_adf(data["comment"])}}]}
        self.http.post(f"{API}/issue/{data['issue_key']}/transitions", json=payload,
                       operation="transition_issue")
        return {"issue_key": data["issue_key"], "transition_id": str(data["transition_id"])}

    def search_issues(self, data: dict[str, Any]) -> dict[str, Any]:
        # /search/jql replaced the offset-paged /search (deprecated, removed in 2025); it pages
        # with nextPageToken and returns no total.
        limit = data["max_results"]
        params = {"jql": data["jql"], "fields": ",".join(data["field_names"]),
                  "maxResults": min(limit, 100)}
        paginator = PageTokenPaginator(items="issues", cursor_path="nextPageToken",
                                       cursor_param="nextPageToken")
        pages = self.http.paginate(f"{API}/search/jql", paginator, params=params,
                                   operation="search_issues")
        issues = [_summary(issue) for issue in islice(pages, limit)]
        return {"issues": issues, "count": len(issues)}

    def assign_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        self.http.put(f"{API}/issue/{data['issue_key']}/assignee",
                      json={"accountId": data["account_id"]}, operation="assign_issue")
        return {"issue_key": data["issue_key"], "account_id": data["account_id"]}

    # -- webhooks ---------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery, named from ``webhookEvent``; other event types are ignored."""
        if not isinstance(payload, dict):
            raise ValidationFailed("a Jira webhook body is a JSON object")
        event = WEBHOOK_EVENTS.get(str(payload.get("webhookEvent")))
        if event is None:
            self.log.debug("ignoring Jira webhook event %r", payload.get("webhookEvent"))
            return []
        # Jira keeps the identifier across its retries of one delivery.
        delivery = (req.headers.get("X-Atlassian-Webhook-Identifier")
                    or hashlib.sha256(req.body).hexdigest())
        return [InboundEvent(event, delivery, payload)]
