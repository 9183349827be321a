"""What the Microsoft Graph plugins (Microsoft Teams, OneDrive) share: the Entra ID sign-in
URLs and tenant setting, OData paging, Graph's error body and status classes, the
``validationToken`` handshake of change-notification subscriptions and Graph's timestamps.

Errors and throttling: https://learn.microsoft.com/graph/errors and
https://learn.microsoft.com/graph/throttling (429, sometimes 503/504, with ``Retry-After``).
Paging: https://learn.microsoft.com/graph/paging (``@odata.nextLink`` is a full, opaque URL).
Notification URL validation:
https://learn.microsoft.com/graph/change-notifications-delivery-webhooks ("Notification
endpoint validation").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import Mapping
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests
from marshmallow import fields
from marshmallow import validate

from atom.integrations.base import Handshake
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.pagination import LinkHeaderPaginator
from atom.integrations.webhooks import WebhookRequest

GRAPH_URL = "https://graph.microsoft.com/v1.0/"
# Entra ID (Microsoft identity platform) v2.0 endpoints; {tenant} is the connection's setting.
AUTHORIZE_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"

GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# "common", "organizations", "consumers", a tenant GUID or a verified domain (contoso.com).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
TENANT = validate.Regexp(
    rf"^(?:common|organizations|consumers|{GUID}|{_LABEL}(?:\.{_LABEL})+)$",
    error="organizations, common, a tenant id (GUID) or a domain such as contoso.onmicrosoft.com")
# Graph's validationToken is opaque and "never contains HTML or JavaScript": refuse anything
# that is not plain printable text before echoing it.
_TOKEN = re.compile(r"^[^\x00-\x1f\x7f<>]{1,4096}$")


def tenant_field(default: str, description: str) -> fields.String:
    """The Entra ID tenant filled into the sign-in URLs (login.microsoftonline.com/{tenant}/).
    The host never changes, so it is not a destination."""
    return fields.String(load_default=default, validate=TENANT,
                         metadata={"description": description})


def client_state_field() -> fields.String:
    """The secret given to Graph subscriptions as ``clientState`` and compared with every
    change notification."""
    return fields.String(
        validate=validate.Regexp(r"^[\x21-\x7e]{16,128}$",
                                 error="16 to 128 printable characters without spaces"),
        metadata={"secret": True,
                  "description": "Secret given to Graph subscriptions as clientState and "
                                 "compared with every change notification (16-128 characters)"})


def segment(value: str) -> str:
    """One URL path segment, percent-encoded (``/``, ``?``, ``#`` and ``%`` included)."""
    return quote(value, safe="")


@dataclass
class NextLinkPaginator(LinkHeaderPaginator):
    """OData paging: ``@odata.nextLink`` in the body is the next page's full URL (same origin
    only; credentials never follow a link elsewhere)."""

    items: str | None = "value"

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        link = body.get("@odata.nextLink") if isinstance(body, dict) else None
        if not link:
            return None
        params.clear()  # the link carries its own query
        return same_origin(response.url, str(link), "@odata.nextLink")


def same_origin(current: str, link: str, what: str) -> str:
    """``link`` made absolute against ``current``; refused when it points at another host."""
    absolute = urljoin(current, link)
    if urlsplit(absolute)[:2] != urlsplit(current)[:2]:
        raise UpstreamError(f"{what} points at another host ({urlsplit(absolute).netloc})",
                            permanent=True)
    return absolute


def graph_error(response: requests.Response) -> tuple[str, str]:
    """``(code, message)`` of Graph's ``{"error": {"code", "message", "innerError"}}`` body."""
    error = json_or_empty(response).get("error")
    if not isinstance(error, dict):
        return f"HTTP{response.status_code}", ""
    return str(error.get("code") or f"HTTP{response.status_code}"), str(error.get("message") or "")


@dataclass(frozen=True)
class GraphErrors:
    """Graph's status classes, with its error code and message in the text.

    ``fields`` maps a property Graph names in a 400 message ("... 'displayName' ...") to the
    input it came from; ``codes`` maps an error code to an input field.
    """

    service: str = "Microsoft Graph"
    fields: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, str] = field(default_factory=dict)

    def check(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        code, text = graph_error(response)
        req = response.request
        where = f"{req.method} {urlsplit(req.url or '').path}" if req is not None else ""
        message = f"{self.service} {where}: {status} {code}" + (f": {text[:300]}" if text else "")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status == 429:
            raise RateLimited(message, status=status, retry_after=retry_after)
        if status in (501, 507):  # not implemented, insufficient storage: a repeat fails too
            raise UpstreamError(message, status=status, permanent=True)
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if status == 404:
            raise ValidationFailed(message, status=status, details={"_request": [code]})
        if status in (400, 409, 412, 422):
            name = self.codes.get(code) or next(
                (name for prop, name in self.fields.items() if re.search(rf"\b{prop}\b", text)),
                "_request")
            raise ValidationFailed(message, status=status,
                                   details={name: [code, *([text[:300]] if text else [])]})
        raise UpstreamError(message, status=status, permanent=True)


def validation_handshake(req: WebhookRequest) -> Handshake | None:
    """Graph checks a notification URL by POSTing ``?validationToken=...``: answer 200 with the
    decoded token as text/plain (within 10 seconds). Nothing is stored. None for any other
    request."""
    query = dict(url_query(req.url))
    if req.method != "POST" or "validationToken" not in query:
        return None
    token = query["validationToken"]
    if not _TOKEN.fullmatch(token):
        return Handshake(status=400, body="invalid validationToken")
    return Handshake(status=200, body=token, headers={"Content-Type": "text/plain; charset=utf-8"})


def url_query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def graph_time(when: datetime) -> str:
    """UTC, second precision, ``Z``: what Graph's $filter and expirationDateTime take."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_time(value: Any) -> datetime | None:
    """A Graph timestamp (``2021-02-02T18:19:52.105Z``, up to 7 fractional digits) or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value, count=1).replace("Z", "+00:00"))
    except ValueError:
        return None
