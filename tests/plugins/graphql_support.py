"""GraphQL contract support shared by the GraphQL plugins' tests: the vendor's schema (built
once per process) and the check that the variables a request sends coerce against its
document's variable definitions, as a GraphQL server coerces them (graphql-core's own code)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any
from typing import Iterable

import graphql
from graphql.execution.values import get_variable_values

from tests.plugins.conftest import SPECS


@lru_cache(maxsize=None)
def vendor_schema(file: str) -> graphql.GraphQLSchema:
    """``shared/specs/<file>`` as a graphql-core schema."""
    return graphql.build_schema((SPECS / file).read_text())


def operation_name(document: str) -> str:
    return graphql.get_operation_ast(graphql.parse(document)).name.value


def variable_errors(schema: graphql.GraphQLSchema, document: str,
                    variables: dict[str, Any]) -> list[str]:
    """Why ``variables`` do not coerce against ``document``'s definitions (empty: they do)."""
    operation = graphql.get_operation_ast(graphql.parse(document))
    defined = {d.variable.name.value for d in operation.variable_definitions}
    problems = [f"undeclared variable {name!r}" for name in sorted(set(variables) - defined)]
    coerced = get_variable_values(schema, operation.variable_definitions, variables)
    # graphql-core answers a list of errors when the variables do not coerce.
    if isinstance(coerced, list):
        problems += [e.message for e in coerced]
    return problems


def assert_requests_type_check(schema: graphql.GraphQLSchema,
                               requests: Iterable[dict[str, Any]]) -> None:
    sent = list(requests)
    assert sent, "no GraphQL request was sent"
    for request in sent:
        problems = variable_errors(schema, request["query"], request["variables"])
        assert not problems, (operation_name(request["query"]), problems)


def _mock_value(type_: Any, depth: int = 0) -> Any:
    """A value of a GraphQL output type, as graphql-tools' mocks give one: strings and ids
    ``"mock-…"``, numbers 1, booleans true, enums their first value, lists of one, objects
    resolved field by field (by :func:`_mock_resolver`)."""
    type_ = graphql.get_nullable_type(type_)
    if isinstance(type_, graphql.GraphQLList):
        return [_mock_value(type_.of_type, depth + 1)] if depth < 4 else []
    if isinstance(type_, graphql.GraphQLEnumType):
        return next(iter(type_.values.values())).value or next(iter(type_.values))
    if isinstance(type_, graphql.GraphQLScalarType):
        return {"Int": 1, "Float": 1.0, "Boolean": True}.get(type_.name, "mock-1")
    if isinstance(type_, (graphql.GraphQLInterfaceType, graphql.GraphQLUnionType)):
        return {"__typename": None}
    return {}


def _mock_resolver(source: Any, info: graphql.GraphQLResolveInfo, **args: Any) -> Any:
    if isinstance(source, dict) and info.field_name in source:
        return source[info.field_name]
    return _mock_value(info.return_type, len(info.path.as_list()))


def _mock_type(value: Any, info: graphql.GraphQLResolveInfo, type_: Any) -> str:
    """An abstract type's first possible type."""
    return info.schema.get_possible_types(type_)[0].name


class MockGraphQLServer:
    """A GraphQL endpoint on loopback executing every request against the vendor's schema
    with mock resolvers: documents that do not validate, or variables that do not coerce, are
    answered with the errors the vendor's server would give (template runs, ``atom test``)."""

    def __init__(self, file: str, path: str = "/graphql") -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler
        from http.server import ThreadingHTTPServer

        schema = vendor_schema(file)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                result = graphql.graphql_sync(schema, body.get("query", ""),
                                              variable_values=body.get("variables"),
                                              operation_name=body.get("operationName"),
                                              field_resolver=_mock_resolver,
                                              type_resolver=_mock_type)
                out: dict[str, Any] = {"data": result.data}
                if result.errors:
                    out["errors"] = [e.formatted for e in result.errors]
                raw = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
