"""The monday.com plugin's GraphQL contract: every document it can send validates against
monday's schema (``shared/specs/monday.graphql``, API version 2025-04) with graphql-core, and
the variables each action sends type-check against the document's variable definitions.

The documents live in ``plugins/monday/queries.py`` and are listed in its ``DOCUMENTS``; the
fake refuses any other document at the HTTP seam, so none can be sent without being checked.
"""
from __future__ import annotations

import graphql
import pytest
from graphql.execution.values import get_variable_values

import plugins.monday.queries as queries
from plugins.monday.manifest import MANIFEST
from tests.plugins.graphql_support import assert_requests_type_check
from tests.plugins.graphql_support import operation_name as _name
from tests.plugins.monday.fake_monday import schema


@pytest.mark.parametrize("action", [a.name for a in MANIFEST.actions])
def test_the_variables_each_action_sends_type_check(fake_monday, monday_connection, run_action,
                                                    action):
    """The example's request(s) coerce against the document's variable definitions exactly
    as a GraphQL server coerces them (graphql-core's own code)."""
    r = run_action(monday_connection(), action, dict(MANIFEST.action(action).example))
    assert r.status_code == 200, r.get_json()
    assert_requests_type_check(schema(), fake_monday.requests)


def test_the_type_check_has_teeth():
    """A board id sent as a list, or a required variable left out, is refused."""
    operation = graphql.get_operation_ast(graphql.parse(queries.CREATE_ITEM))
    for wrong in ({"boardId": ["1"], "itemName": "x"}, {"boardId": "1"}):
        assert isinstance(get_variable_values(schema(), operation.variable_definitions, wrong),
                          list)


def test_the_health_check_passes_against_the_fake(fake_monday, monday_connection,
                                                  check_connection):
    r = check_connection(monday_connection())
    assert r.get_json()["ok"] is True, r.get_json()
    assert [_name(s["query"]) for s in fake_monday.requests] == ["HealthCheck"]
