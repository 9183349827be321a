"""What plugins share: body parsing, error tables, GraphQL requests and OAuth2 token fields.

A plugin module stays small by declaring data (an :class:`ErrorTable`, a query string) and
calling these; nothing here knows a vendor.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Callable
from typing import Mapping

import jmespath
import requests
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.errors import AuthError
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.pagination import first_page_wanted
from atom.integrations.http import IntegrationClient
from atom.integrations.http import parse_retry_after


def json_or_empty(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, or ``{}`` for an empty, non-JSON or non-object body."""
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass(frozen=True)
class ErrorTable:
    """A service's error codes, by the ATOM error class each one means.

    ``validation`` maps a code to the input field it is about (None: the request as a whole);
    ``done`` lists codes that say the requested state already holds (the call did what was
    asked). A code in none of them is a permanent upstream error.
    """

    auth: frozenset[str] = frozenset()
    rate_limited: frozenset[str] = frozenset()
    transient: frozenset[str] = frozenset()
    validation: Mapping[str, str | None] = field(default_factory=dict)
    not_found: frozenset[str] = frozenset()
    done: frozenset[str] = frozenset()

    def error(self, code: str, message: str, *, status: int | None = None,
              retry_after: float | None = None,
              hints: list[str] | None = None) -> IntegrationError | None:
        """The error for ``code``, or None when the code means "already done"."""
        if code in self.done:
            return None
        if code in self.auth:
            return AuthError(message, status=status)
        if code in self.rate_limited:
            return RateLimited(message, status=status, retry_after=retry_after)
        if code in self.transient:
            return UpstreamError(message, status=status, retry_after=retry_after)
        if code in self.validation:
            name = self.validation[code] or "_request"
            return ValidationFailed(message, status=status,
                                    details={name: [code, *(hints or [])[:5]]})
        if code in self.not_found:
            return ValidationFailed(message, status=status, details={"_request": [code]})
        return UpstreamError(message, status=status, permanent=True)

    def raise_for(self, code: str, message: str, response: requests.Response | None = None,
                  hints: list[str] | None = None) -> None:
        """Raise the error for ``code`` (with the response's status and ``Retry-After``)."""
        status = response.status_code if response is not None else None
        retry_after = (parse_retry_after(response.headers.get("Retry-After"))
                       if response is not None else None)
        exc = self.error(code, message, status=status, retry_after=retry_after, hints=hints)
        if exc is not None:
            raise exc


class GraphQLErrors(Exception):
    """Internal marker: never raised to callers (they get an IntegrationError)."""


def graphql(
    http: IntegrationClient,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    operation: str,
    path: str = "",
    table: ErrorTable = ErrorTable(),
    code_of: Callable[[Mapping[str, Any]], str] | None = None,
    idempotent: bool | None = None,
    service: str = "GraphQL",
) -> dict[str, Any]:
    """POST one GraphQL document and return its ``data``.

    A response with ``errors`` raises the error of the first one, classified by ``table``
    through ``code_of(error)`` (default: ``extensions.code``). Queries are idempotent; a
    mutation is only when ``idempotent`` says so.

    :param operation: the metric label of the call (the operation's name).
    """
    if idempotent is None:
        idempotent = query.lstrip().startswith(("query", "{"))
    response = http.post(path, json={"query": query, "variables": dict(variables or {})},
                         idempotent=idempotent, operation=operation)
    body = json_or_empty(response)
    errors = body.get("errors") or []
    if errors:
        first = errors[0] if isinstance(errors[0], Mapping) else {"message": str(errors[0])}
        code = (code_of or _extensions_code)(first) or "unknown"
        message = f"{service} {operation}: {first.get('message') or code}"
        table.raise_for(code, message, response)
    data = body.get("data")
    if not isinstance(data, dict):
        raise UpstreamError(f"{service} {operation}: the answer has no data", permanent=True)
    return data


def _extensions_code(error: Mapping[str, Any]) -> str:
    extensions = error.get("extensions")
    return str(extensions.get("code") or "") if isinstance(extensions, Mapping) else ""


def compact(**values: Any) -> dict[str, Any]:
    """The keyword arguments that are not None (a request body without unset fields)."""
    return {k: v for k, v in values.items() if v is not None}


class OAuth2Tokens(Schema):
    """The credential fields the OAuth2 connect flow stores. A plugin whose auth is ``oauth2``
    uses this as its credentials schema (or extends it); one that also takes a static token
    extends it and requires one of the two (:func:`require_one`)."""

    access_token = fields.String(validate=validate.Length(min=1, max=8192),
                                 metadata={"secret": True, "description": "OAuth2 access token",
                                           "example": "ya29.a0AfH6SMBx-contract-token"})
    refresh_token = fields.String(validate=validate.Length(min=1, max=8192),
                                  metadata={"secret": True,
                                            "description": "OAuth2 refresh token"})
    expires_at = fields.Float(metadata={"description": "When the access token expires "
                                                       "(Unix seconds)"})
    token_type = fields.String(validate=validate.Length(max=40))
    scope = fields.String(validate=validate.Length(max=4000))


def require_one(*names: str) -> Callable[..., None]:
    """A ``@validates_schema`` check that at least one of ``names`` is given (a static token or
    the OAuth2 access token). Skipped on partial updates."""

    @validates_schema
    def check(self: Schema, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        if partial:
            return
        if not any(data.get(n) for n in names):
            raise ValidationError(f"give {' or '.join(names)}", field_name=names[0])

    return check


def hook_url(integ: Any, field: str) -> str:
    """A connection's webhook receiver URL (for a plugin registering its own webhook), as Flask
    builds it: from the current request's host, or from SERVER_NAME and PREFERRED_URL_SCHEME
    outside one (a workflow run).

    :param field: the action input a user can give the URL in instead (named in the 422).
    :raises ValidationFailed: the connection is not saved, or ATOM's public URL is not known.
    """
    from flask import url_for
    from werkzeug.routing import BuildError

    hint = (f"give {field}: ATOM's public URL is not known here (set SERVER_NAME and "
            "PREFERRED_URL_SCHEME, or run the action through the API)")
    if integ.connection.id is None:
        raise ValidationFailed("a webhook needs a saved connection", details={field: [hint]})
    try:
        return url_for("hooks.receive", integration=integ.manifest.slug,
                       connection_id=integ.connection.id, _external=True)
    except (RuntimeError, BuildError) as exc:
        raise ValidationFailed(f"no {field} for the webhook", details={field: [hint]}) from exc


# -- GraphQL errors in the response classifier, and GraphQL connections (monday.com, Linear) ---
#
# :func:`graphql` reads ``errors`` after the client has finished the call, so an error there is
# never retried and a rate limit never pauses the connection's bucket; and a vendor that answers
# GraphQL errors with HTTP 400 (Linear) has them mapped by status before anyone reads the body.
# A plugin's ``raise_for_response`` calls :func:`raise_for_graphql` instead: the error is then
# one more failed attempt to the client (a rate limit waits and retries, a transient error is
# retried when the call is idempotent).
_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)")


def graphql_operation(response: requests.Response) -> str:
    """The operation name of the GraphQL document ``response`` answers (``request`` if none)."""
    body = getattr(response.request, "body", None)
    try:
        sent = json.loads(body) if body else None
    except (TypeError, ValueError):
        return "request"
    query = sent.get("query") if isinstance(sent, dict) else None
    match = _OPERATION.match(query) if isinstance(query, str) else None
    return match.group(1) if match else "request"


def _status_says_more(status: int) -> bool:
    return status in (401, 403, 429) or status >= 500


def _known(table: ErrorTable, code: str) -> bool:
    return code in (table.auth | table.rate_limited | table.transient | table.not_found
                    | table.done) or code in table.validation


def graphql_error(
    response: requests.Response,
    table: ErrorTable,
    errors: list[Any] | None = None,
    *,
    service: str = "GraphQL",
    code_of: Callable[[Mapping[str, Any]], str] | None = None,
    field_of: Callable[[Mapping[str, Any]], str | None] | None = None,
    retry_after_of: Callable[[Mapping[str, Any], requests.Response], float | None] | None = None,
) -> IntegrationError | None:
    """The error a GraphQL ``errors`` list means (the body's, unless ``errors`` is given).

    None when there is no error, when the first error's code says "already done", or when a
    401, 403, 429 or 5xx carries a code ``table`` does not know (that status says more: let the
    status mapping decide). The first error is classified by ``code_of(error)`` (default:
    ``extensions.code``); a validation error names the input field ``field_of(error)`` returns
    (else the table's); the wait of a rate limit is ``Retry-After``, else
    ``retry_after_of(error, response)``. Messages name the operation, never the variables.
    """
    if errors is None:
        errors = json_or_empty(response).get("errors")
    if not isinstance(errors, list) or not errors:
        return None
    listed = [e if isinstance(e, Mapping) else {"message": str(e)} for e in errors]
    first = listed[0]
    code = (code_of or _extensions_code)(first) or "unknown"
    if _status_says_more(response.status_code) and not _known(table, code):
        return None
    text = str(first.get("message") or code)[:300]
    message = f"{service} {graphql_operation(response)}: {text}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is None and retry_after_of is not None:
        retry_after = retry_after_of(first, response)
    hints = list(dict.fromkeys(str(e.get("message"))[:300] for e in listed if e.get("message")))
    exc = table.error(code, message, status=response.status_code, retry_after=retry_after,
                      hints=hints)
    if isinstance(exc, ValidationFailed) and field_of is not None:
        name = field_of(first)
        if name:
            exc.details = {name: next(iter(exc.details.values()), [code])}
    return exc


def raise_for_graphql(response: requests.Response, table: ErrorTable,
                      errors: list[Any] | None = None, **options: Any) -> None:
    """Raise :func:`graphql_error`'s error, if any (from a plugin's ``raise_for_response``)."""
    exc = graphql_error(response, table, errors, **options)
    if exc is not None:
        raise exc


@dataclass
class GraphQLPages:
    """Cursor pagination of a GraphQL query, for ``IntegrationClient.paginate``.

    Called as ``http.paginate(path, GraphQLPages(...), method="POST", json={"query": ...,
    "variables": ...}, idempotent=True, operation=...)``: the next cursor is put into the
    document's variables (``cursor_var``), not the URL. ``items`` and ``cursor`` are JMESPaths
    into the body (``data.issues.nodes``, ``data.issues.pageInfo.endCursor``); an empty cursor,
    or a false ``has_more``, ends the listing. Vendors whose later pages use another document
    (monday's ``next_items_page``) name it ``next_query``, with its own ``next_items`` and
    ``next_cursor`` paths and the variables it keeps (``next_vars``). A cursor that comes back
    twice is a server loop and raises; so does running past ``max_pages``.
    """

    items: str
    cursor: str
    cursor_var: str = "after"
    has_more: str | None = None
    next_query: str | None = None
    next_items: str | None = None
    next_cursor: str | None = None
    next_vars: tuple[str, ...] | None = None
    max_pages: int = 100

    def iterate(self, client: Any, method: str, path: str, params: dict[str, Any], *,
                json: Mapping[str, Any], **kw: Any) -> Any:
        query = json["query"]
        variables = dict(json.get("variables") or {})
        items, cursor, has_more = self.items, self.cursor, self.has_more
        seen: set[str] = set()
        for _ in range(self.max_pages):
            response = client.request(method, path, params=params or None,
                                      json={"query": query, "variables": variables}, **kw)
            body = json_or_empty(response)
            yield from (jmespath.search(items, body) or [])
            if first_page_wanted() or (has_more and not jmespath.search(has_more, body)):
                return
            token = jmespath.search(cursor, body)
            if not token:
                return
            if token in seen:
                raise UpstreamError(f"pagination loop: cursor {str(token)[:40]!r} came back twice")
            seen.add(token)
            if self.next_query is not None and query != self.next_query:
                query = self.next_query
                items, cursor = self.next_items or items, self.next_cursor or cursor
                has_more = None
                if self.next_vars is not None:
                    variables = {k: v for k, v in variables.items() if k in self.next_vars}
            variables[self.cursor_var] = token
        raise UpstreamError(f"more than {self.max_pages} pages", permanent=True)
