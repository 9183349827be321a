"""What the OpenAPI document says about every operation beyond its own decorators.

:class:`StandardResponses` is an apispec plugin: each operation, as it is registered, gets the
error answers every API route can give, all in the one ``Error`` shape (``code`` is a string):

* 400 (a malformed request: not JSON, nested too deeply, NUL in a field), 401 and 403 always;
* 404 when the path has a parameter; 422 when the operation reads a body or a query string;
* 409 for a write to one resource (it is disabled, in use, already finished);
* ``default`` for anything else (413, 415, 429 from a service behind an action, 5xx).

When every blueprint is registered, :meth:`StandardResponses.add_links` links each operation
that creates something (a 2xx answer with an ``id``) to the operations on what it created, so
clients and stateful fuzzers can follow them. A route added later is covered with no work.
"""
from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from apispec import BasePlugin

logger = logging.getLogger(__name__)

METHODS = ("get", "put", "post", "patch", "delete")
WRITES = ("put", "post", "patch", "delete")
_PARAM = re.compile(r"\{([^}]+)\}")


def json_body(schema: Any, description: str, required: bool = True) -> dict[str, Any]:
    """A ``requestBody`` for ``@blp.doc`` on a route that reads its JSON body itself."""
    return {"required": required, "description": description,
            "content": {"application/json": {"schema": schema}}}


def ok(schema: Any, description: str = "OK") -> dict[str, Any]:
    """The keyword arguments of ``@blp.alt_response(200, **ok(Schema))``: document a success
    answer of a view that returns a plain dict (``@blp.response`` would dump it)."""
    return {"schema": schema, "description": description, "success": True}


class StandardResponses(BasePlugin):
    """Add the standard error responses to every operation, and links between operations."""

    def __init__(self) -> None:
        self.operations: list[tuple[str, str, dict[str, Any]]] = []

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in self._statuses(path or "", method, operation):
                if status not in responses and str(status) not in responses:
                    responses[status] = HTTPStatus(status).name
            responses.setdefault("default", "DEFAULT_ERROR")
            self.operations.append((path or "", method, operation))

    @staticmethod
    def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
        statuses = [400, 401, 403]
        item = "{" in path
        if item:
            statuses.append(404)
        queries = [p for p in operation.get("parameters", [])
                   if isinstance(p, dict) and p.get("in") == "query"]
        if "requestBody" in operation or queries:
            statuses.append(422)
        if item and method in WRITES:
            statuses.append(409)
        return statuses

    def add_links(self) -> None:
        """Link every creating operation to the operations on the resource it created.

        The resource's path is the creating path plus a parameter (``POST /x`` makes
        ``/x/{id}``), or the path whose ``GET`` answers the same schema (``POST
        .../execute`` answers an execution, read at ``/api/v2/executions/{ex_id}``).
        """
        by_path: dict[str, dict[str, dict[str, Any]]] = {}
        for path, method, operation in self.operations:
            by_path.setdefault(path, {})[method] = operation
        for path, method, operation in self.operations:
            if method != "post":
                continue
            for status, response in _created(operation):
                item = _item_path(path, response, by_path)
                if item is not None:
                    response["links"] = _links(item, by_path)
                    logger.debug("OpenAPI: %s %s links to %s", status, path, item)

    def __repr__(self) -> str:
        return f"StandardResponses({len(self.operations)} operations)"


def _created(operation: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for status, response in operation.get("responses", {}).items():
        if str(status) in ("200", "201", "202") and isinstance(response, dict):
            if _schema_ref(response) is not None:
                found.append((str(status), response))
    return found


def _schema_ref(response: dict[str, Any]) -> str | None:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref") if isinstance(schema, dict) else None


def _item_path(path: str, response: dict[str, Any], by_path: dict[str, dict]) -> str | None:
    for candidate in by_path:
        if _one_param_below(path, candidate):
            return candidate
    ref = _schema_ref(response)
    for candidate, operations in by_path.items():
        if (_PARAM.fullmatch(candidate.rsplit("/", 1)[-1]) and "get" in operations
                and any(_schema_ref(r) == ref for _, r in _created(operations["get"]))):
            return candidate
    return None


def _one_param_below(parent: str, path: str) -> bool:
    head, _, last = path.rpartition("/")
    return head == parent and _PARAM.fullmatch(last) is not None


def _links(item: str, by_path: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    param = _PARAM.findall(item)[-1]
    links = {}
    for path, operations in by_path.items():
        if path != item and not path.startswith(item + "/"):
            continue
        if set(_PARAM.findall(path)) - set(_PARAM.findall(item)):
            continue  # needs another parameter the answer does not give
        for method in operations:
            name = _link_name(method, path[len(item):])
            ref = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method
            links[name] = {"operationRef": ref, "parameters": {param: "$response.body#/id"}}
    return links


def _link_name(method: str, rest: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", rest) if w]
    return method.capitalize() + "".join(w.capitalize() for w in words)
