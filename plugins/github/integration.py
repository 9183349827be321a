"""GitHub REST API: issues, comments, labels, commit statuses, pull requests; webhook triggers.

API reference: https://docs.github.com/en/rest
Rate limits: https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
Webhooks: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries

GitHub has no idempotency keys: a create that may have reached GitHub is never sent twice.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from collections.abc import Iterable
from datetime import UTC
from itertools import islice
from typing import Any

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import compact
from atom.integrations.http import default_raise_for_response
from atom.integrations.http import parse_reset
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.pagination import LinkHeaderPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.github import payloads

API_VERSION = "2022-11-28"
PER_PAGE = 100
# A secondary limit without retry-after: GitHub says wait at least a minute.
SECONDARY_LIMIT_WAIT = 60.0


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    text = body.get("message") if isinstance(body, dict) else None
    request = response.request
    where = f"{request.method} {request.path_url.split('?')[0]}" if request is not None else ""
    return f"GitHub {where} answered {response.status_code}: {text or snippet(response)}"


def rate_limit_wait(response: requests.Response) -> float | None:
    """Seconds to wait if a 403/429 is a rate limit (primary or secondary), else None."""
    headers = response.headers
    if headers.get("X-RateLimit-Remaining") == "0":
        reset = parse_reset(headers.get("X-RateLimit-Reset"))
        return max(1.0, reset) if reset is not None else SECONDARY_LIMIT_WAIT
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    if response.status_code == 429 or "rate limit" in response.text.lower():
        return SECONDARY_LIMIT_WAIT
    return None


def field_errors(response: requests.Response) -> dict[str, list[str]]:
    """GitHub's 422 ``errors`` list as ``{field: [code or message]}``."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return {}
    details: dict[str, list[str]] = {}
    for err in errors:
        if isinstance(err, dict):
            reason = err.get("message") or err.get("code") or "invalid"
            details.setdefault(str(err.get("field") or "_request"), []).append(str(reason))
        else:
            details.setdefault("_request", []).append(str(err))
    return details


class GitHubIntegration(Integration):
    def default_headers(self) -> dict[str, str]:
        # application/json as a fallback: mock servers serving GitHub's own description
        # declare only that type and refuse the vendor type alone with 406.
        return {"Accept": "application/vnd.github+json, application/json",
                "X-GitHub-Api-Version": API_VERSION}

    def raise_for_response(self, response: requests.Response) -> None:
        """GitHub's rate limits come as 403 or 429; 422 bodies name the bad fields."""
        status = response.status_code
        if status in (403, 429):
            wait = rate_limit_wait(response)
            if wait is not None:
                raise RateLimited(_message(response), retry_after=wait, status=status)
        if status == 422:
            raise ValidationFailed(_message(response), status=status,
                                   details=field_errors(response))
        default_raise_for_response(response)

    def health_check(self) -> None:
        # GET /rate_limit does not count against the rate limit.
        response = self.http.get("rate_limit", operation="rate_limit")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "resources" not in body:
            raise UpstreamError("GET /rate_limit answered without rate limits; is base_url "
                                "GitHub's REST API?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        body = compact(title=data["title"], body=data.get("body"),
                          labels=data.get("labels"), assignees=data.get("assignees"))
        return payloads.issue(self.http.post(f"{_repo(data)}/issues", json=body,
                                             operation="issues/create").json())

    def comment_on_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        comment = self.http.post(f"{_issue(data)}/comments", json={"body": data["body"]},
                                 operation="issues/create-comment").json()
        return {"id": comment["id"], "html_url": comment.get("html_url"),
                "issue_number": data["issue_number"], "created_at": comment.get("created_at")}

    def add_labels(self, data: dict[str, Any]) -> dict[str, Any]:
        # Adding labels an issue already has changes nothing, so a retry is safe.
        labels = self.http.post(f"{_issue(data)}/labels", json={"labels": data["labels"]},
                                idempotent=True, operation="issues/add-labels").json()
        return {"issue_number": data["issue_number"], "labels": [lb["name"] for lb in labels]}

    def create_commit_status(self, data: dict[str, Any]) -> dict[str, Any]:
        # A repeated status for the same context simply becomes the latest one.
        body = compact(state=data["state"], context=data["context"],
                          description=data.get("description"), target_url=data.get("target_url"))
        status = self.http.post(f"{_repo(data)}/statuses/{data['sha']}", json=body,
                                idempotent=True, operation="repos/create-commit-status").json()
        return {"id": status["id"], "state": status["state"], "context": status.get("context"),
                "description": status.get("description"), "target_url": status.get("target_url"),
                "created_at": status.get("created_at")}

    def list_pull_requests(self, data: dict[str, Any]) -> dict[str, Any]:
        params = compact(state=data["state"], sort=data["sort"], direction=data["direction"],
                            base=data.get("base"))
        pulls = [payloads.pull_request(p) for p in
                 self._list(f"{_repo(data)}/pulls", params, data["max_items"], "pulls/list")]
        return {"pull_requests": pulls, "count": len(pulls)}

    def get_pull_request(self, data: dict[str, Any]) -> dict[str, Any]:
        pull = self.http.get(f"{_repo(data)}/pulls/{data['pull_number']}",
                             operation="pulls/get").json()
        return payloads.pull_request_detail(pull)

    def list_issues(self, data: dict[str, Any]) -> dict[str, Any]:
        since = data.get("since")
        params = compact(
            state=data["state"], sort=data["sort"], direction=data["direction"],
            assignee=data.get("assignee"),
            labels=",".join(data["labels"]) if data.get("labels") else None,
            since=since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if since else None,
        )
        keep = None if data["include_pull_requests"] else (lambda i: "pull_request" not in i)
        issues = [payloads.issue(i) for i in self._list(
            f"{_repo(data)}/issues", params, data["max_items"], "issues/list-for-repo", keep)]
        return {"issues": issues, "count": len(issues)}

    def dispatch_repository_event(self, data: dict[str, Any]) -> dict[str, Any]:
        self.http.post(f"{_repo(data)}/dispatches", operation="repos/create-dispatch-event",
                       json={"event_type": data["event_type"],
                             "client_payload": data["client_payload"]})
        return {"dispatched": True, "event_type": data["event_type"]}

    # -- webhooks --------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery named from ``X-GitHub-Event`` and ``action``; ``ping`` and
        events no trigger declares are acknowledged and not stored."""
        if not isinstance(payload, dict):
            return []
        name = payloads.trigger_name(req.headers.get("X-GitHub-Event", ""), payload)
        if name is None or self.manifest.trigger(name) is None:
            return []
        delivery = req.headers.get("X-GitHub-Delivery") or hashlib.sha256(req.body).hexdigest()
        return [InboundEvent(name, delivery, payload)]

    # -- helpers ----------------------------------------------------------------------------

    def _list(self, path: str, params: dict[str, Any], max_items: int, operation: str,
              keep: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Up to ``max_items`` items, following ``Link: rel="next"`` no further than needed."""
        params = {**params, "per_page": min(max_items, PER_PAGE)}
        found: Iterable[dict[str, Any]] = self.http.paginate(
            path, LinkHeaderPaginator(), params=params, operation=operation)
        if keep is not None:
            found = filter(keep, found)
        return list(islice(found, max_items))


def _repo(data: dict[str, Any]) -> str:
    return f"repos/{data['owner']}/{data['repo']}"


def _issue(data: dict[str, Any]) -> str:
    return f"{_repo(data)}/issues/{data['issue_number']}"
