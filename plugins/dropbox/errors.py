"""Dropbox's error answers as ATOM's error classes.

From the HTTP reference's "Errors" section
(https://www.dropbox.com/developers/documentation/http/documentation#error-handling) and the SDK
(``dropbox/dropbox-sdk-python`` ``dropbox/dropbox_client.py``, ``raise_dropbox_error_for_resp``):
400 is bad input, as plain text; 401 a refused or expired token (JSON ``error``); 403 no access;
409 an endpoint-specific error, ``{"error_summary": "path/not_found/..", "error": {".tag": ...}}``
(the summary's tags name the part of the argument at fault, then free text); 429 a rate limit,
with ``Retry-After`` or ``error.retry_after`` (the SDK waits 5 s when neither says); 5xx.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet

# The SDK waits 5 s when a 429 names no wait.
DEFAULT_RETRY_AFTER = 5.0
# The first tag of a 409's ``error_summary``, by the input field it is about. Routes whose
# argument names the path otherwise (``from_path``, ``to_path``) are not used here.
FIELD_OF_TAG = {"path": "path", "path_lookup": "path", "path_write": "path",
                "reset": "cursor", "settings_error": "audience"}
# Endpoint errors that say "slow down": retried after a wait, like a 429.
CONTENTION = frozenset({"too_many_write_operations", "too_many_requests"})


class DropboxError(ValidationFailed):
    """A 409 endpoint error: ``summary`` is ``error_summary`` (``path/not_found/..``), ``error``
    the structured union (``{".tag": "path", "path": {".tag": "not_found"}}``)."""

    def __init__(self, message: str, *, summary: str, error: dict[str, Any], **kwargs: Any):
        super().__init__(message, **kwargs)
        self.summary = summary
        self.error = error

    @property
    def tags(self) -> list[str]:
        return tags_of(self.summary)


def tags_of(summary: str) -> list[str]:
    """The union tags of an ``error_summary`` (``path/not_found/..``: it ends in dots, and
    what follows the tags is free text, not to be parsed)."""
    return [t for t in summary.split("/") if t and t.strip(".")]


def _route(response: requests.Response) -> str:
    path = urlsplit(response.request.url or "").path if response.request is not None else ""
    return path.split("/2/", 1)[-1] if "/2/" in path else path.lstrip("/")


def classify(response: requests.Response) -> None:
    """Raise the error a Dropbox answer means (see the module docstring for the statuses)."""
    status = response.status_code
    if status < 400:
        return
    route = _route(response)
    body = json_or_empty(response)
    summary = str(body.get("error_summary") or "")
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    where = f"Dropbox {route}"
    if status == 400:  # "Bad input parameter": plain text naming the problem
        raise ValidationFailed(f"{where}: bad input: {snippet(response, 300)}", status=status,
                               details={"_request": [snippet(response, 300)]})
    if status == 401:
        # expired_access_token is refreshed by the client before this sees it (once).
        raise AuthError(f"{where}: the access token was refused "
                        f"({summary.rstrip('/.') or 'invalid_access_token'}); reconnect Dropbox",
                        status=status)
    if status == 403:
        raise AuthError(f"{where}: no access ({summary or snippet(response)})", status=status)
    if status == 429 or (status == 409 and set(summary.split("/")) & CONTENTION):
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None and isinstance(error.get("retry_after"), (int, float)):
            wait = float(error["retry_after"])
        raise RateLimited(f"{where}: rate limited ({summary or 'too_many_requests'})",
                          status=status, retry_after=wait or DEFAULT_RETRY_AFTER)
    if status == 409:
        tags = tags_of(summary)
        field = FIELD_OF_TAG.get(tags[0] if tags else "", "_request")
        reason = "/".join(tags[1:] if field != "_request" and len(tags) > 1 else tags) or "error"
        raise DropboxError(f"{where}: {summary.rstrip('/.') or 'endpoint error'}", status=status,
                           summary=summary, error=error, details={field: [reason]})
    if status >= 500:
        raise UpstreamError(f"{where} answered {status}", status=status,
                            retry_after=parse_retry_after(response.headers.get("Retry-After")))
    raise UpstreamError(f"{where} answered {status}: {snippet(response)}", status=status,
                        permanent=True)


def body(response: requests.Response, route: str) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        raise UpstreamError(f"Dropbox {route} answered without JSON", permanent=True) from None
    if not isinstance(answer, dict):
        raise UpstreamError(f"Dropbox {route} answered {type(answer).__name__}, not an object",
                            permanent=True)
    return answer


def renamed(exc: ValidationFailed, names: dict[str, str]) -> ValidationFailed:
    """``exc`` with its field names replaced (a path error of copy_file is its folder_id)."""
    exc.details = {names.get(k, k): v for k, v in exc.details.items()}
    return exc
