"""Okta Management API: users (create, get, deactivate, list) and group membership; event hook
triggers. See the package docstring for the vendor pages.

Okta has no idempotency key: a create is not retried once it may have reached Okta (a 5xx or a
dropped connection after sending); a 429 (E0000047, not processed) is retried after
``X-Rate-Limit-Reset``. PUT/DELETE of a membership and the deactivation are safe to repeat.
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
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_reset
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.pagination import LinkHeaderPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.okta import payloads

PAGE_SIZE = 200
CHALLENGE_HEADER = "X-Okta-Verification-Challenge"
_CHALLENGE = re.compile(r"^[\x21-\x7e]{1,200}$")
# "login: An object with this field already exists in the current organization".
_CAUSE = re.compile(r"^([A-Za-z][A-Za-z0-9_.]{0,99}): ")
# Request fields that are not profile attributes, by Okta's name.
_FIELDS = {"groupIds": "group_ids", "activate": "activate"}
_AUTH_CODES = {"E0000004", "E0000005", "E0000006", "E0000011", "E0000015"}
# Event hook event types -> triggers (https://developer.okta.com/docs/reference/api/event-types/).
EVENTS = {"user.lifecycle.create": "user_created", "user.lifecycle.activate": "user_activated",
          "user.lifecycle.deactivate": "user_deactivated",
          "group.user_membership.add": "user_added_to_group",
          "group.user_membership.remove": "user_removed_from_group"}


def _path(template: str, **ids: str) -> str:
    return template.format(**{k: quote(v, safe="@") for k, v in ids.items()})


def _causes(body: dict[str, Any]) -> list[str]:
    causes = body.get("errorCauses")
    return [str(c["errorSummary"])[:300] for c in causes if isinstance(c, dict)
            and c.get("errorSummary")] if isinstance(causes, list) else []


def _details(code: str, summary: str, causes: list[str], path: str) -> dict[str, list[str]]:
    """The input fields an Okta 400 is about: each ``field: reason`` cause names a profile
    attribute (``profile.login``) or a request field; else what the code is about."""
    if code == "E0000031":  # invalid search criteria
        return {"search": [summary]}
    if code == "E0000038":  # not allowed in the user's current status
        return {"user_id": [summary, *causes[:3]]}
    out: dict[str, list[str]] = {}
    for cause in causes:
        match = _CAUSE.match(cause)
        if not match:
            out.setdefault("_request", []).append(cause)
            continue
        name = match.group(1)
        if name in _FIELDS:
            field = _FIELDS[name]
        elif path.rstrip("/").endswith("/users"):
            field = f"profile.{name.removeprefix('profile.')}"
        else:
            field = name
        out.setdefault(field, []).append(cause)
    return out or {"_request": [summary]}


class OktaIntegration(Integration):
    def base_url(self) -> str:
        settings = self.connection.settings
        if settings.get("base_url"):
            return settings["base_url"]
        return f"https://{settings['domain']}/api/v1/" if settings.get("domain") else ""

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """``X-Rate-Limit-Remaining`` of the endpoint's bucket and ``X-Rate-Limit-Reset``
        (epoch seconds) read against the client's clock."""
        remaining = response.headers.get("X-Rate-Limit-Remaining")
        try:
            left = int(remaining) if remaining is not None else None
        except ValueError:
            return None, None
        if left is None:
            return None, None
        return left, parse_reset(response.headers.get("X-Rate-Limit-Reset"),
                                 now=self.http.clock.time())

    def raise_for_response(self, response: requests.Response) -> None:
        """Okta's ``{errorCode, errorSummary, errorCauses}``: 400 names the fields, 401/403
        auth, 404 not found, 429 (E0000047) waits until ``X-Rate-Limit-Reset``, 5xx transient."""
        status = response.status_code
        if status < 400:
            return
        body = json_or_empty(response)
        code = str(body.get("errorCode") or "")
        summary = str(body.get("errorSummary") or snippet(response))[:300]
        causes = _causes(body)
        message = (f"Okta answered {status}{f' ({code})' if code else ''}: {summary}"
                   + (f" ({'; '.join(causes[:3])})" if causes else ""))
        request = response.request
        path = request.path_url.split("?")[0] if request is not None else ""
        if status == 429 or code == "E0000047":
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is None:
                wait = parse_reset(response.headers.get("X-Rate-Limit-Reset"),
                                   now=self.http.clock.time())
            raise RateLimited(message, status=status, retry_after=wait)
        if status in (401, 403) or code in _AUTH_CODES:
            raise AuthError(message, status=status)
        if status == 404:
            raise ValidationFailed(message, status=status,
                                   details={"_request": ["not found", summary]})
        if status in (400, 409, 422):
            raise ValidationFailed(message, status=status,
                                   details=_details(code, summary, causes, path))
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status,
                                retry_after=parse_retry_after(response.headers.get("Retry-After")))
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        """One user of the org: works with an API token and with a service app's
        okta.users.read/manage scope (``/users/me`` needs a user, which a service app is not)."""
        users = self.http.get("users", params={"limit": 1}, operation="health")
        if not isinstance(users.json() if users.content else None, list):
            raise UpstreamError("GET /api/v1/users answered without a list; is the domain an "
                                "Okta org?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_user(self, data: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"profile": data["profile"]}
        if data.get("group_ids"):
            body["groupIds"] = data["group_ids"]
        response = self.http.post("users", json=body,
                                  params={"activate": "true" if data["activate"] else "false"},
                                  operation="create_user")
        return {**payloads.user(self._record(response)),
                "group_ids": list(data.get("group_ids") or [])}

    def get_user(self, data: dict[str, Any]) -> dict[str, Any]:
        response = self.http.get(_path("users/{id}", id=data["user_id"]), operation="get_user")
        return payloads.user(self._record(response))

    def deactivate_user(self, data: dict[str, Any]) -> dict[str, Any]:
        """Deactivation ends the user's sessions and app access; status DEPROVISIONED. Okta
        answers with no body."""
        self.http.post(_path("users/{id}/lifecycle/deactivate", id=data["user_id"]),
                       params={"sendEmail": "true" if data["send_email"] else "false"},
                       idempotent=True, operation="deactivate_user")
        return {"id": data["user_id"], "status": "DEPROVISIONED"}

    def add_user_to_group(self, data: dict[str, Any]) -> dict[str, Any]:
        self.http.put(_path("groups/{g}/users/{u}", g=data["group_id"], u=data["user_id"]),
                      operation="add_user_to_group")
        return {"group_id": data["group_id"], "user_id": data["user_id"], "member": True}

    def remove_user_from_group(self, data: dict[str, Any]) -> dict[str, Any]:
        self.http.delete(_path("groups/{g}/users/{u}", g=data["group_id"], u=data["user_id"]),
                         operation="remove_user_from_group")
        return {"group_id": data["group_id"], "user_id": data["user_id"], "member": False}

    def list_users(self, data: dict[str, Any]) -> dict[str, Any]:
        users = [payloads.user(u) for u in self._list("users", data, "list_users")]
        return {"users": users, "count": len(users)}

    def list_groups(self, data: dict[str, Any]) -> dict[str, Any]:
        groups = [payloads.group(g) for g in self._list("groups", data, "list_groups")]
        return {"groups": groups, "count": len(groups)}

    # -- webhooks (event hooks) ------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Okta's one-time verification: a GET carrying ``X-Okta-Verification-Challenge``,
        answered ``{"verification": <the value>}``. Echoing proves only that this URL answers;
        deliveries are still checked against the authorization header secret. A GET that
        carries an Authorization header other than the stored secret is refused."""
        challenge = req.headers.get(CHALLENGE_HEADER)
        if req.method != "GET" or challenge is None:
            return None
        if not _CHALLENGE.match(challenge):
            return Handshake(status=400, body="malformed verification challenge")
        secret, given = self.webhook_secret(), req.headers.get("Authorization")
        if secret and given is not None and not hmac.compare_digest(secret.encode(),
                                                                    given.encode()):
            return Handshake(status=401, body="wrong authorization header")
        return Handshake(body={"verification": challenge})

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per element of ``data.events`` a trigger covers, oldest first (Okta
        delivers at least once and possibly out of order); de-duplicated by event ``uuid``."""
        data = payload.get("data") if isinstance(payload, dict) else None
        events = data.get("events") if isinstance(data, dict) else None
        found = [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []
        out = []
        for event in sorted(found, key=lambda e: str(e.get("published") or "")):
            name = EVENTS.get(str(event.get("eventType")))
            if name is None or not event.get("uuid"):
                continue
            out.append(InboundEvent(name, str(event["uuid"]), payloads.event(event)))
        return out

    # -- helpers ---------------------------------------------------------------------------

    def _record(self, response: requests.Response) -> dict[str, Any]:
        body = json_or_empty(response)
        if not body.get("id"):
            raise UpstreamError("Okta answered without the record", permanent=True)
        return body

    def _list(self, path: str, data: dict[str, Any], operation: str) -> list[dict[str, Any]]:
        """Up to ``max_items`` records, following ``Link: rel="next"`` no further than needed."""
        params: dict[str, Any] = {k: data[k] for k in ("q", "search", "filter") if data.get(k)}
        params["limit"] = min(data["max_items"], PAGE_SIZE)
        found = self.http.paginate(path, LinkHeaderPaginator(), params=params,
                                   operation=operation)
        return [r for r in islice(found, data["max_items"]) if isinstance(r, dict)]
