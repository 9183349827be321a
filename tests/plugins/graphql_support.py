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
