"""Asana REST API: tasks, comments (stories), projects and workspaces; webhook triggers.

API reference: https://developers.asana.com/reference/rest-api-reference
Errors and rate limits: https://developers.asana.com/docs/errors,
https://developers.asana.com/docs/rate-limits (429 with Retry-After)
Webhooks: https://developers.asana.com/docs/webhooks-guide

Every request and answer body is wrapped in ``{"data": ...}``; lists are paginated with
``limit`` (at most 100) and ``offset``, the next one in ``next_page.offset``.
"""
from __future__ import annotations

import hmac
import re
from itertools import islice
from typing import Any
from urllib.parse import quote

import requests

from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import hook_url
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.pagination import CursorPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.asana import payloads
from plugins.asana.schemas import HOOK_SECRET

PAGE_SIZE = 100
# "assignee: Not a recognized ID: x": the part before the colon names the field.
_FIELD_MESSAGE = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*): ")
# Asana's field names that differ from the action inputs'.
_FIELD_ALIASES = {"project": "projects", "task": "task_gid", "tag": "tags"}


def _messages(response: requests.Response) -> list[str]:
    """The messages of Asana's ``{"errors": [{"message", "help", "phrase"}]}`` body."""
    errors = json_or_empty(response).get("errors")
    if not isinstance(errors, list):
        return []
    return [str(e["message"])[:300] for e in errors if isinstance(e, dict) and e.get("message")]


def _details(messages: list[str]) -> dict[str, list[str]]:
    """The messages by the input field each one names (``_request`` when none)."""
    out: dict[str, list[str]] = {}
    for message in messages or ["invalid request"]:
        match = _FIELD_MESSAGE.match(message)
        name = match.group(1).rsplit(".", 1)[-1] if match else "_request"
        out.setdefault(_FIELD_ALIASES.get(name, name), []).append(message)
    return out


def _path(template: str, **gids: str) -> str:
    """A path with each gid quoted (the schemas already allow digits only)."""
    return template.format(**{k: quote(v, safe="") for k, v in gids.items()})


class AsanaIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        """Map Asana's status and ``errors`` body: 400 names the field in its message
        (``workspace: Missing input``), 402 is a premium feature, 429 carries Retry-After."""
        status = response.status_code
        if status < 400:
            return
        messages = _messages(response)
        message = f"Asana answered {status}: {'; '.join(messages) or snippet(response)}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            raise RateLimited(message, retry_after=retry_after, status=status)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status in (400, 409, 422):
            raise ValidationFailed(message, status=status, details=_details(messages))
        if status == 404:
            raise ValidationFailed(message, status=status,
                                   details={"_request": ["not found", *messages[:3]]})
        if status == 402:
            raise UpstreamError(f"{message} (a feature of a paid Asana plan)", status=status,
                                permanent=True)
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        me = json_or_empty(self.http.get("users/me", params={"opt_fields": "name"},
                                         operation="health")).get("data")
        if not isinstance(me, dict) or not me.get("gid"):
            raise UpstreamError("users/me answered without a user; is base_url Asana's API?",
                                permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_task(self, data: dict[str, Any]) -> dict[str, Any]:
        body = payloads.task_body(data, ("name", "notes", "workspace", "projects", "parent",
                                         "assignee", "followers", "due_on", "due_at"))
        if not any(body.get(k) for k in ("workspace", "projects", "parent")):
            settings = self.connection.settings
            if settings.get("default_project"):
                body["projects"] = [settings["default_project"]]
            elif settings.get("default_workspace"):
                body["workspace"] = settings["default_workspace"]
            else:
                raise ValidationFailed("Asana files every new task in a workspace", details={
                    "workspace": ["give workspace, projects or parent, or set the connection's "
                                  "default_workspace or default_project"]})
        response = self.http.post("tasks", json={"data": body},
                                  params={"opt_fields": payloads.TASK_FIELDS},
                                  operation="create_task")
        return payloads.task(self._data(response))

    def update_task(self, data: dict[str, Any]) -> dict[str, Any]:
        body = payloads.task_body(data, ("name", "notes", "assignee", "due_on", "due_at",
                                         "completed"))
        return self._put_task(data["task_gid"], body, "update_task")

    def complete_task(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._put_task(data["task_gid"], {"completed": data["completed"]}, "complete_task")

    def get_task(self, data: dict[str, Any]) -> dict[str, Any]:
        response = self.http.get(_path("tasks/{gid}", gid=data["task_gid"]),
                                 params={"opt_fields": payloads.TASK_FIELDS}, operation="get_task")
        return payloads.task(self._data(response))

    def add_comment(self, data: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"text": data["text"]}
        if data["is_pinned"]:
            body["is_pinned"] = True
        response = self.http.post(_path("tasks/{gid}/stories", gid=data["task_gid"]),
                                  json={"data": body}, operation="add_comment")
        return payloads.story(self._data(response), data["task_gid"])

    def list_projects(self, data: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"archived": "true" if data["archived"] else "false",
                                  "opt_fields": payloads.PROJECT_FIELDS}
        workspace = data.get("workspace") or self.connection.settings.get("default_workspace")
        if workspace:
            params["workspace"] = workspace
        found = self._list("projects", params, data["max_items"], "list_projects")
        projects = [payloads.project(p) for p in found]
        return {"projects": projects, "count": len(projects)}

    def list_tasks(self, data: dict[str, Any]) -> dict[str, Any]:
        project = data.get("project") or self.connection.settings.get("default_project")
        if not project:
            raise ValidationFailed("name the project to list", details={
                "project": ["give project, or set the connection's default_project"]})
        params = {"opt_fields": payloads.TASK_FIELDS}
        if data["incomplete_only"]:
            params["completed_since"] = "now"  # Asana's way to ask for incomplete tasks only
        found = self._list(_path("projects/{gid}/tasks", gid=project), params,
                           data["max_items"], "list_tasks")
        tasks = [payloads.task(t) for t in found]
        return {"project": project, "tasks": tasks, "count": len(tasks)}

    def list_workspaces(self, data: dict[str, Any]) -> dict[str, Any]:
        found = self._list("workspaces", {"opt_fields": "name,is_organization"},
                           data["max_items"], "list_workspaces")
        workspaces = [payloads.workspace(w) for w in found]
        return {"workspaces": workspaces, "count": len(workspaces)}

    def register_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create the webhook. Asana's handshake reaches ``/hooks/asana/<id>`` while this
        request waits (so ATOM must serve requests concurrently), and the connection adopts the
        ``X-Hook-Secret`` then; the secret in Asana's answer is not returned."""
        body: dict[str, Any] = {"resource": data["resource"],
                                "target": data.get("target") or self._hook_url()}
        if data.get("filters"):
            body["filters"] = [{("fields" if k == "fields_" else k): v for k, v in f.items()}
                               for f in data["filters"]]
        response = self.http.post("webhooks", json={"data": body}, operation="register_webhook")
        return payloads.webhook(self._data(response))

    # -- webhooks --------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Echo the ``X-Hook-Secret`` of Asana's creation handshake (200 with the same header)
        and hand it over as the connection's webhook secret.

        A connection keeps one secret: a handshake offering another one while a secret is
        stored is refused (409), so Asana fails that webhook's creation at once instead of
        creating a webhook whose every delivery ATOM would reject.
        """
        offered = req.headers.get("X-Hook-Secret")
        if offered is None or req.method != "POST":
            return None
        if not re.fullmatch(HOOK_SECRET, offered):
            return Handshake(status=400, body="malformed X-Hook-Secret")
        stored = self.webhook_secret()
        if stored and not hmac.compare_digest(stored.encode(), offered.encode()):
            self.log.warning("asana connection %s refused a handshake: it already has a "
                             "webhook secret", self.connection.id)
            return Handshake(status=409, body="this connection already has a webhook secret; "
                                              "clear webhook_secret to register another webhook")
        return Handshake(headers={"X-Hook-Secret": offered}, secret=offered)

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per element of ``events`` that a trigger covers (heartbeats are empty)."""
        events = payload.get("events") if isinstance(payload, dict) else None
        out = []
        for event in events if isinstance(events, list) else []:
            if not isinstance(event, dict):
                continue
            name = payloads.trigger_name(event)
            if name is not None and self.manifest.trigger(name) is not None:
                out.append(InboundEvent(name, payloads.delivery_id(event), event))
        return out

    # -- helpers ----------------------------------------------------------------------------

    def _put_task(self, gid: str, body: dict[str, Any], operation: str) -> dict[str, Any]:
        response = self.http.put(_path("tasks/{gid}", gid=gid), json={"data": body},
                                 params={"opt_fields": payloads.TASK_FIELDS}, operation=operation)
        return payloads.task(self._data(response))

    def _data(self, response: requests.Response) -> dict[str, Any]:
        data = json_or_empty(response).get("data")
        if not isinstance(data, dict) or not data.get("gid"):
            raise UpstreamError("Asana answered without the record", permanent=True)
        return data

    def _list(self, path: str, params: dict[str, Any], max_items: int,
              operation: str) -> list[dict[str, Any]]:
        """Up to ``max_items`` records, following ``next_page.offset`` no further than needed."""
        params = {**params, "limit": min(max_items, PAGE_SIZE)}
        paginator = CursorPaginator(items="data", cursor_path="next_page.offset",
                                    cursor_param="offset")
        return list(islice(self.http.paginate(path, paginator, params=params,
                                              operation=operation), max_items))

    def _hook_url(self) -> str:
        """This connection's receiver URL (see :func:`atom.integrations.helpers.hook_url`)."""
        return hook_url(self, "target")
