"""One JSON error shape for the whole API: ``{"code", "message", "errors"?}``.

``errors`` maps each bad field to its reasons. A 500 is a bug: it is logged with its traceback
and answered with a generic message that leaks nothing.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from werkzeug.exceptions import HTTPException

from atom.integrations.errors import IntegrationError
from atom.integrations.registry import UnknownPlugin

logger = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """Raise from a view to answer ``status`` with a code, a message and field errors."""

    def __init__(self, status: int, message: str, errors: dict[str, Any] | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors
        self.code = code or CODES.get(status, "error")


def error_response(status: int, message: str, code: str | None = None,
                   errors: dict[str, Any] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"code": code or CODES.get(status, "error"), "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def _wants_json() -> bool:
    path = request.path
    return path.startswith(("/api", "/hooks", "/metrics")) or request.accept_mimetypes.best == "application/json"


def _flatten(errors: Any) -> dict[str, Any]:
    """webargs nests errors by location (``{"json": {...}}``); the caller only needs fields."""
    if isinstance(errors, dict) and set(errors) <= {"json", "query", "form", "headers", "view_args", "files"}:
        flat: dict[str, Any] = {}
        for value in errors.values():
            flat.update(value if isinstance(value, dict) else {"_body": value})
        return flat
    return errors if isinstance(errors, dict) else {"_body": errors}


def handle_http_exception(exc: HTTPException) -> Any:
    if not _wants_json():
        if exc.code is None or exc.code < 400 or exc.code == 429:
            return exc  # redirects, and the login page's own 429
        from atom.dashboard import render_error_page

        custom = exc.description if exc.description != type(exc).description else None
        body, status = render_error_page(exc.code, custom)
        response = current_app.make_response((body, status))
        for name, value in exc.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = _flatten(data["messages"]) if "messages" in data else data.get("errors")
    message = data.get("message") or exc.description or "error"
    if status == 400 and errors and "Invalid JSON body." in str(errors):
        message = "the body is not valid JSON"
    if status == 422 and errors:
        message = "invalid input: " + ", ".join(sorted(str(k) for k in errors))
    response = error_response(status, message, errors=errors)
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value  # e.g. Allow on a 405, Retry-After on a 429
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="atom"'
    return response


def handle_api_error(exc: ApiError) -> Response:
    response = error_response(exc.status, exc.message, code=exc.code, errors=exc.errors)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="atom"'
    return response


def handle_integration_error(exc: IntegrationError) -> Response:
    response = jsonify(exc.to_dict())
    response.status_code = exc.http_status
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    return response


def handle_unknown_plugin(exc: UnknownPlugin) -> Response:
    return error_response(404, str(exc))


def handle_concurrent_delete(exc: Exception) -> Response:
    """A row this request changes was deleted by another request meanwhile (a DELETE while a
    connection test runs): nothing of this request is kept, and the resource is gone."""
    from atom.extensions import db

    db.session.rollback()
    logger.info("%s %s: the row was deleted meanwhile (%s)", request.method, request.path,
                type(exc).__name__)
    return error_response(404, "the resource was deleted while this request ran")


def handle_unexpected(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    logger.exception("unhandled error on %s %s", request.method, request.path)
    if not _wants_json():
        raise exc
    return error_response(500, "internal error; it has been logged", code="internal")
