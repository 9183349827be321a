"""The Linear plugin's GraphQL contract: every document it can send validates against Linear's
schema (``shared/specs/linear.graphql``, the SDK's schema.graphql) with graphql-core, and the
variables each action sends type-check against the document's variable definitions.

The documents live in ``plugins/linear/queries.py`` and are listed in its ``DOCUMENTS``; the
fake refuses any other document at the HTTP seam, so none can be sent without being checked.
"""
from __future__ import annotations

import ast
import inspect
import re

import graphql
import pytest
from graphql.execution.values import get_variable_values

import plugins.linear.integration
import plugins.linear.queries as queries
from plugins.linear.manifest import MANIFEST
from plugins.linear.queries import DOCUMENTS
from tests.plugins.linear.fake_linear import schema


def _name(document: str) -> str:
    return graphql.get_operation_ast(graphql.parse(document)).name.value


@pytest.mark.parametrize("document", DOCUMENTS, ids=_name)
def test_every_document_validates_against_the_vendor_schema(document):
    errors = graphql.validate(schema(), graphql.parse(document))
    assert not errors, [e.message for e in errors]


def test_documents_are_named_operations_each_defined_once():
    names = [_name(d) for d in DOCUMENTS]
    assert len(set(names)) == len(names) == len(set(DOCUMENTS))
    for document in DOCUMENTS:
        (operation,) = graphql.parse(document).definitions  # one operation, no fragments
        assert operation.operation.value in ("query", "mutation")


def test_no_graphql_document_is_written_outside_the_checked_list():
    documents = [v for k, v in vars(queries).items()
                 if isinstance(v, str) and not k.startswith("_")
                 and re.match(r"\s*(query|mutation)\b", v)]
    assert set(documents) == set(DOCUMENTS)
    source = inspect.getsource(plugins.linear.integration)
    literals = [n.value for n in ast.walk(ast.parse(source))
                if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [s for s in literals if re.match(r"\s*(query|mutation)\s+\w+\s*[({]", s)]


@pytest.mark.parametrize("action", [a.name for a in MANIFEST.actions])
def test_the_variables_each_action_sends_type_check(fake_linear, linear_connection, run_action,
                                                    action):
    """The example's request(s) coerce against the document's variable definitions exactly
    as a GraphQL server coerces them (graphql-core's own code)."""
    r = run_action(linear_connection(), action, dict(MANIFEST.action(action).example))
    assert r.status_code == 200, r.get_json()
    assert fake_linear.requests
    for sent in fake_linear.requests:
        operation = graphql.get_operation_ast(graphql.parse(sent["query"]))
        defined = {d.variable.name.value for d in operation.variable_definitions}
        assert set(sent["variables"]) <= defined
        coerced = get_variable_values(schema(), operation.variable_definitions,
                                      sent["variables"])
        # graphql-core answers a list of errors when the variables do not coerce.
        assert not isinstance(coerced, list), [e.message for e in coerced]


def test_the_type_check_has_teeth():
    """A priority sent as a name, an input field Linear does not have, or a missing required
    variable is refused."""
    operation = graphql.get_operation_ast(graphql.parse(queries.CREATE_ISSUE))
    for wrong in ({"input": {"teamId": "t", "priority": "high"}},
                  {"input": {"teamId": "t", "team_id": "t"}}, {}):
        assert isinstance(get_variable_values(schema(), operation.variable_definitions, wrong),
                          list)


def test_the_health_check_passes_against_the_fake(fake_linear, linear_connection,
                                                  check_connection):
    r = check_connection(linear_connection())
    assert r.get_json()["ok"] is True, r.get_json()
    assert [_name(s["query"]) for s in fake_linear.requests] == ["HealthCheck"]


@pytest.mark.parametrize("action", [a.name for a in MANIFEST.actions])
def test_the_example_fits_the_catalogue_s_input_schema(action):
    """The catalogue shows each input as JSON Schema: self-contained, and the example fits."""
    import json

    from jsonschema import Draft202012Validator

    from atom.integrations.catalogue import json_schema

    spec = MANIFEST.action(action)
    shown = json_schema(spec.input)
    assert "$ref" not in json.dumps(shown)
    errors = list(Draft202012Validator(shown).iter_errors(dict(spec.example)))
    assert not errors, errors[0].message
