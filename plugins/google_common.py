"""What the Google plugins (Gmail, Google Calendar, Google Drive) share: the OAuth2 declaration,
the mapping of Google's error bodies, and path-segment validation.

Vendor-specific, so it lives beside the plugins rather than in ``atom.integrations.helpers``
(which knows no vendor).

Google APIs answer errors as::

    {"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED",
               "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded",
                           "message": "...", "location": "timeMin", "locationType": "parameter"}],
               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}

References: https://developers.google.com/workspace/calendar/api/guides/errors ,
https://developers.google.com/workspace/drive/api/guides/handle-errors ,
https://developers.google.com/workspace/gmail/api/guides/handle-errors ,
https://cloud.google.com/apis/design/errors (``status`` and ``ErrorInfo``).
Surprise worth knowing: rate limits come as **403** (``rateLimitExceeded``,
``userRateLimitExceeded``) as often as 429, and daily quotas (``dailyLimitExceeded``) reset at
midnight Pacific time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Mapping
from urllib.parse import quote
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import validate

from atom.integrations.errors import AuthError
from atom.integrations.errors import CursorExpired
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import json_or_empty
from atom.integrations.helpers import require_one
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.manifest import OAuth2Spec

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"


def google_oauth2(*scopes: str) -> OAuth2Spec:
    """Google's authorization-code flow. ``access_type=offline`` and ``prompt=consent`` make
    Google issue a refresh token (it issues one only on the first consent otherwise)."""
    return OAuth2Spec(authorize_url=AUTHORIZE_URL, token_url=TOKEN_URL, scopes=scopes, pkce=True,
                      authorize_params={"access_type": "offline", "prompt": "consent"})


class GoogleCredentials(OAuth2Tokens):
    """The tokens of the OAuth2 connect flow; Google APIs take no static token here."""

    _access_token = require_one("access_token")


# -- errors ----------------------------------------------------------------------------------

# Limits that lift within seconds or minutes: the request was not processed, retry later.
RATE_LIMIT_REASONS = frozenset({
    "rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "sharingRateLimitExceeded",
    "concurrentLimitExceeded", "RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED",
})
# Daily quotas: they reset at midnight Pacific time, so waiting seconds does not help.
DAILY_LIMIT_REASONS = frozenset({"dailyLimitExceeded", "dailyLimitExceededUnreg"})
# The credentials (or the scopes granted to them) are refused: reconnect the account.
AUTH_REASONS = frozenset({
    "authError", "invalidCredentials", "insufficientPermissions", "UNAUTHENTICATED",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "ACCESS_TOKEN_EXPIRED", "accessNotConfigured",
    "SERVICE_DISABLED",
})
# The account may not do this to this resource; reconnecting would not change that.
PERMISSION_REASONS = frozenset({
    "forbidden", "insufficientFilePermissions", "appNotAuthorizedToFile", "domainPolicy",
    "requiredAccessLevel", "forbiddenForNonOrganizer",
    "cannotShareTeamDriveTopFolderWithAnyoneOrDomains",
    "cannotShareTeamDriveWithNonGoogleAccounts", "teamDrivesSharingRestrictionNotAllowed",
    "invalidSharingRequest", "ownershipChangeAcrossDomainNotPermitted",
})
TRANSIENT_REASONS = frozenset({"backendError", "internalError", "backendFailed", "UNAVAILABLE",
                               "INTERNAL", "DEADLINE_EXCEEDED"})
VALIDATION_REASONS = frozenset({
    "invalid", "required", "badRequest", "invalidParameter", "invalidArgument", "INVALID_ARGUMENT",
    "parseError", "duplicate", "conditionNotMet", "timeRangeEmpty", "invalidQuery",
    "fieldNotWritable", "fileNotFolder", "teamDriveNotFound", "cannotAddParent",
})
PACIFIC = ZoneInfo("America/Los_Angeles")


def seconds_until_pacific_midnight(now: datetime | None = None) -> float:
    """When Google's daily quotas reset."""
    now = (now or datetime.now(PACIFIC)).astimezone(PACIFIC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
    return max(1.0, (midnight - now).total_seconds())


def error_parts(response: requests.Response) -> tuple[str, str, str | None]:
    """``(reason, message, location)`` of a Google error body (``reason`` falls back to the
    ``ErrorInfo`` reason, then to the canonical ``status``)."""
    body = json_or_empty(response).get("error")
    if not isinstance(body, dict):
        return "", snippet(response), None
    first = next((e for e in body.get("errors") or [] if isinstance(e, dict)), {})
    info = next((d for d in body.get("details") or []
                 if isinstance(d, dict) and d.get("reason")), {})
    reason = str(first.get("reason") or info.get("reason") or body.get("status") or "")
    message = str(body.get("message") or first.get("message") or "")[:300]
    location = first.get("location")
    return reason, message, str(location) if location else None


@dataclass(frozen=True)
class GoogleErrors:
    """Maps a Google error response to an ATOM error.

    ``locations`` maps Google parameter names (``errors[].location``) to the action's input
    fields, ``reasons`` a reason to a field, ``messages`` the start of a message to a field
    (Gmail says "Invalid To header" and names no location); otherwise ``_request``.
    """

    service: str
    locations: Mapping[str, str] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    messages: Mapping[str, str] = field(default_factory=dict)

    def check(self, response: requests.Response) -> None:
        """Raise the error ``response`` means; return for a success (redirects included)."""
        if response.status_code < 400:
            return
        raise self.error(response)

    def error(self, response: requests.Response) -> IntegrationError:
        status = response.status_code
        reason, text, location = error_parts(response)
        request = response.request
        where = (f"{request.method} {urlsplit(request.url or '').path}"
                 if request is not None else "")
        message = f"{self.service} {where} answered {status}"
        message += f" {reason}: {text}" if reason else f": {text}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if reason in DAILY_LIMIT_REASONS:
            return RateLimited(message, status=status, retry_after=seconds_until_pacific_midnight())
        if status == 429 or reason in RATE_LIMIT_REASONS:
            return RateLimited(message, status=status, retry_after=retry_after)
        if status == 401 or reason in AUTH_REASONS:
            return AuthError(message, status=status)
        if status == 403 and reason in PERMISSION_REASONS:
            return UpstreamError(message, status=status, permanent=True)
        if status == 403:
            return AuthError(message, status=status)
        if status >= 500 or status == 408 or reason in TRANSIENT_REASONS:
            return UpstreamError(message, status=status, retry_after=retry_after)
        if status in (400, 409, 412, 413, 422) or reason in VALIDATION_REASONS:
            hints = [reason or str(status), *([text] if text else [])]
            return ValidationFailed(message, status=status,
                                    details={self._field(reason, text, location): hints})
        return UpstreamError(message, status=status, permanent=True)

    def _field(self, reason: str, text: str, location: str | None) -> str:
        if location and location in self.locations:
            return self.locations[location]
        if reason in self.reasons:
            return self.reasons[reason]
        lowered = text.lower()
        return next((name for start, name in self.messages.items()
                     if lowered.startswith(start.lower())), "_request")


def cursor_expired(service: str, what: str, status: int | None) -> IntegrationError:
    """The error a poll raises when the service no longer accepts its cursor (Calendar's 410
    ``fullSyncRequired``, Gmail's 404 for an expired ``startHistoryId``): the scheduler then
    re-primes the trigger with a full resync (items seen stay seen, new ones fire)."""
    return CursorExpired(f"cursor expired: {service} no longer accepts the stored {what}; "
                         f"prime the trigger again", status=status, permanent=True)


# -- path segments ---------------------------------------------------------------------------

# Google's resource ids (Gmail message and label ids, Drive file ids, Calendar event ids).
ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,1024}\Z", error="an id of letters, digits, '_' or '-'")
_NO_DOTS = re.compile(r"\.\.")


def segment(value: str) -> str:
    """``value`` as one URL path segment: percent-encoded, never ``.`` or ``..``.

    Input schemas validate ids first (so a user gets a 422 naming the field); this is the
    second line of defence.
    """
    if not value or value in (".", "..") or _NO_DOTS.search(value):
        raise ValidationFailed("an id must not be empty or contain '..'",
                               details={"_request": ["invalid id"]})
    return quote(value, safe="")


def no_dots(value: str) -> None:
    """A marshmallow validator refusing ``..`` (a calendar id may contain single dots)."""
    if _NO_DOTS.search(value):
        raise ValidationError("must not contain '..'")


def body(response: requests.Response, service: str) -> dict[str, Any]:
    """The JSON object of a success, or an upstream error saying the answer was not JSON."""
    data = json_or_empty(response)
    if not data and response.content:
        raise UpstreamError(f"{service} answered with something that is not a JSON object; "
                            f"is base_url {service}'s API?", permanent=True)
    return data


def flag(value: bool) -> str:
    """A boolean query parameter as Google (and its discovery-based specs) spell it."""
    return "true" if value else "false"


def load_params(schema: type[Schema], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A poll trigger's parameters, validated (a workflow saved them; check again here)."""
    try:
        return schema().load(dict(params or {}))
    except ValidationError as exc:
        raise ValidationFailed("invalid trigger parameters",
                               details=exc.normalized_messages()) from exc
