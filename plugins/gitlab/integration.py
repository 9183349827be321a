"""GitLab REST API v4 (gitlab.com or a self-managed instance): issues, notes, merge requests,
projects and pipelines; project and group webhook triggers.

API reference: https://docs.gitlab.com/api/rest/ (issues, notes, merge_requests, projects,
pipelines) and https://docs.gitlab.com/api/rest/#pagination
Errors: https://docs.gitlab.com/api/rest/troubleshooting/ (``{"message": ...}`` or
``{"error": ...}``)
Rate limits: https://docs.gitlab.com/user/gitlab_com/#rate-limits-on-gitlabcom
Webhooks: https://docs.gitlab.com/user/project/integrations/webhooks/ and webhook_events

GitLab has no idempotency keys for REST writes: a create that may have reached GitLab is never
sent twice. Issue updates (PUT) set values and are safe to repeat.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import quote

import requests

from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import compact
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import default_raise_for_response
from atom.integrations.http import snippet
from atom.integrations.pagination import LinkHeaderPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.gitlab import payloads
from plugins.gitlab.schemas import DEFAULT_HOST

PER_PAGE = 100
# Statuses whose JSON body names what was wrong with the request.
_REQUEST_ERRORS = frozenset({400, 404, 409, 422})
# Grape's parameter errors: "title is missing, labels is invalid".
_PARAM_ERROR = re.compile(r"^([a-z_][a-z0-9_\[\]]*) (?:is|are|does|must|has|should) ")
# "404 Project Not Found", "404 Issue Not Found", "404 Merge Request Not Found".
_NOT_FOUND = re.compile(r"^404 (.+?) Not Found", re.I)
_NOT_FOUND_FIELDS = {"project": "project", "issue": "issue_iid", "noteable": "issue_iid",
                     "merge request": "merge_request_iid", "reference": "ref"}
# GitLab's parameter names that differ from the input fields.
_PARAMS = {"id": "project", "base": "_request", "assignee_id": "assignee_ids",
           "milestone": "milestone_id"}


def api_url(host: str) -> str:
    return host.strip().rstrip("/") + "/api/v4"


def field_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    """GitLab's error body as ``{input field: [reasons]}``."""
    message, error = body.get("message"), body.get("error")
    details: dict[str, list[str]] = {}
    if isinstance(message, dict):
        for name, reasons in message.items():
            reasons = [str(r) for r in (reasons if isinstance(reasons, list) else [reasons])]
            if name == "base" and any("reference" in r.lower() for r in reasons):
                name = "ref"  # a pipeline for a branch or tag that does not exist
            details.setdefault(_PARAMS.get(name, name), []).extend(reasons[:5])
        return details
    if isinstance(error, str):
        for part in error.split(", "):
            found = _PARAM_ERROR.match(part)
            name = found.group(1).split("[")[0] if found else "_request"
            details.setdefault(_PARAMS.get(name, name), []).append(part)
        return details
    if isinstance(message, str):
        found = _NOT_FOUND.match(message)
        name = _NOT_FOUND_FIELDS.get(found.group(1).lower(), "_request") if found else "_request"
        hint = " (or the token cannot see it)" if found else ""
        return {name: [message + hint]}
    return {}


def _text(body: dict[str, Any], response: requests.Response) -> str:
    for key in ("message", "error_description", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:300]
        if isinstance(value, dict):
            return "; ".join(f"{k} {', '.join(map(str, v if isinstance(v, list) else [v]))}"
                             for k, v in list(value.items())[:5])[:300]
    return snippet(response)


@dataclass
class GitLabPages(LinkHeaderPaginator):
    """``Link: rel="next"`` (offset and keyset pagination), else the ``X-Next-Page`` header
    (offset pagination behind a proxy that drops Link)."""

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        link = super().next(response, body, params)
        if link:
            return link
        page = response.headers.get("X-Next-Page", "").strip()
        if not page.isdigit():
            return None
        params["page"] = page
        return f"page:{page}"

    def next_url(self, token: Any, url: str | None) -> str | None:
        return url if str(token).startswith("page:") else token


class GitLabIntegration(Integration):
    def base_url(self) -> str:
        settings = self.connection.settings
        return settings.get("base_url") or api_url(settings.get("host") or DEFAULT_HOST)

    def raise_for_response(self, response: requests.Response) -> None:
        """400/404/409/422 name the fields GitLab refused; the rest by status (429 with
        ``Retry-After``, 401/403 auth, 5xx transient)."""
        status = response.status_code
        if status < 400:
            return
        if status in _REQUEST_ERRORS:
            body = json_or_empty(response)
            request = response.request
            where = f"{request.method} {request.path_url.split('?')[0]}" if request else ""
            raise ValidationFailed(f"GitLab {where} answered {status}: {_text(body, response)}",
                                   status=status, details=field_errors(body))
        default_raise_for_response(response)

    def health_check(self) -> None:
        body = json_or_empty(self.http.get("user", operation="users.current"))
        if "id" not in body or "username" not in body:
            raise UpstreamError("GET /user answered without a user; is base_url GitLab's "
                                "/api/v4?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        body = compact(title=data["title"], description=data.get("description"),
                       labels=_csv(data.get("labels")), assignee_ids=data.get("assignee_ids"),
                       milestone_id=data.get("milestone_id"), due_date=_day(data.get("due_date")),
                       confidential=data.get("confidential"), issue_type=data.get("issue_type"))
        return payloads.issue(self.http.post(f"{_project(data)}/issues", json=body,
                                             operation="issues.create").json())

    def update_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        body = compact(title=data.get("title"), description=data.get("description"),
                       state_event=data.get("state_event"),
                       add_labels=_csv(data.get("add_labels")),
                       remove_labels=_csv(data.get("remove_labels")),
                       assignee_ids=data.get("assignee_ids"), due_date=_day(data.get("due_date")))
        return payloads.issue(self.http.put(f"{_project(data)}/issues/{data['issue_iid']}",
                                            json=body, operation="issues.update").json())

    def create_issue_note(self, data: dict[str, Any]) -> dict[str, Any]:
        note = self.http.post(f"{_project(data)}/issues/{data['issue_iid']}/notes",
                              json={"body": data["body"], "internal": data["internal"]},
                              operation="notes.create_issue_note").json()
        return payloads.note(note)

    def create_merge_request_note(self, data: dict[str, Any]) -> dict[str, Any]:
        note = self.http.post(
            f"{_project(data)}/merge_requests/{data['merge_request_iid']}/notes",
            json={"body": data["body"], "internal": data["internal"]},
            operation="notes.create_merge_request_note").json()
        return payloads.note(note)

    def list_projects(self, data: dict[str, Any]) -> dict[str, Any]:
        params = _query(membership=data["membership"], search=data.get("search"),
                        owned=data.get("owned"), archived=data.get("archived"),
                        order_by=data["order_by"], sort=data["sort"], simple=True)
        found = self._list("projects", params, data["max_items"], "projects.list")
        projects = [payloads.project(p) for p in found]
        return {"projects": projects, "count": len(projects)}

    def list_pipelines(self, data: dict[str, Any]) -> dict[str, Any]:
        after = data.get("updated_after")
        params = _query(status=data.get("status"), ref=data.get("ref"), sha=data.get("sha"),
                        source=data.get("source"), order_by=data["order_by"], sort=data["sort"],
                        updated_after=after.isoformat() if after else None)
        found = self._list(f"{_project(data)}/pipelines", params, data["max_items"],
                           "pipelines.list")
        pipelines = [payloads.pipeline(p) for p in found]
        return {"project": data["project"], "pipelines": pipelines, "count": len(pipelines)}

    def list_merge_requests(self, data: dict[str, Any]) -> dict[str, Any]:
        params = _query(state=data["state"], target_branch=data.get("target_branch"),
                        labels=_csv(data.get("labels")))
        found = self._list(f"{_project(data)}/merge_requests", params, data["max_items"],
                           "merge_requests.list")
        merge_requests = [payloads.merge_request(m) for m in found]
        return {"project": data["project"], "merge_requests": merge_requests,
                "count": len(merge_requests)}

    def trigger_pipeline(self, data: dict[str, Any]) -> dict[str, Any]:
        variables = [{"key": k, "value": _string(v), "variable_type": "env_var"}
                     for k, v in (data.get("variables") or {}).items()]
        body = compact(ref=data["ref"], variables=variables or None, inputs=data.get("inputs"))
        return payloads.pipeline(self.http.post(f"{_project(data)}/pipeline", json=body,
                                                operation="pipelines.create").json())

    # -- webhooks --------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery, named from ``object_kind`` and ``object_attributes``;
        events no trigger declares are acknowledged and not stored."""
        if not isinstance(payload, dict):
            return []
        name = payloads.trigger_name(req.headers.get("X-Gitlab-Event", ""), payload)
        if name is None or self.manifest.trigger(name) is None:
            return []
        # X-Gitlab-Webhook-UUID is unique per delivery (16.2+); Idempotency-Key is kept across
        # a resend of the same event (17.4+).
        delivery = (req.headers.get("X-Gitlab-Event-UUID")
                    or req.headers.get("X-Gitlab-Webhook-UUID")
                    or req.headers.get("Idempotency-Key")
                    or hashlib.sha256(req.body).hexdigest())
        return [InboundEvent(name, delivery, payload)]

    # -- helpers ----------------------------------------------------------------------------

    def _list(self, path: str, params: dict[str, Any], max_items: int,
              operation: str) -> list[dict[str, Any]]:
        """Up to ``max_items`` items, following the pages no further than needed."""
        params = {**params, "per_page": min(max_items, PER_PAGE)}
        found = self.http.paginate(path, GitLabPages(), params=params, operation=operation)
        return list(islice(found, max_items))


def _project(data: dict[str, Any]) -> str:
    """``projects/<id>``, a path encoded whole: ``group/project`` is ``group%2Fproject``."""
    return f"projects/{quote(data['project'], safe='')}"


def _csv(labels: list[str] | None) -> str | None:
    return ",".join(labels) if labels else None


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query(**values: Any) -> dict[str, Any]:
    """Query parameters without unset ones, booleans as GitLab writes them."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else v
            for k, v in values.items() if v is not None}
