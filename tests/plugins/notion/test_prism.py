"""The health check and every action against Prism serving Notion's own OpenAPI description
(API 2025-09-03, from makenotion/notion-mcp-server).

Every request the client sends is kept with Prism's answer, and none may carry request
``sl-violations``. The spec answers ``{}`` for most operations, so the outputs here show the
shapes; the values come from the recorded answers of test_actions.py. What the spec cannot
check (data_source parents, headings and to-dos, page children) is shown at the end.
"""
from __future__ import annotations

import json

import pytest
import requests

from atom.integrations.http import IntegrationClient
from plugins.notion.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted
from tests.plugins.notion.conftest import DATA_SOURCE_ID
from tests.plugins.notion.conftest import DATABASE_ID
from tests.plugins.notion.conftest import PAGE_ID

pytestmark = pytest.mark.prism

# Inputs per action, the requests they send and what the output must hold.
CASES = {
    "create_page": (
        {"database_id": DATABASE_ID.replace("-", ""), "title": "Deploy finished",
         "properties": {"Status": {"status": {"name": "Done"}},
                        "Tags": {"multi_select": [{"name": "ops"}]}}},
        [("POST", "/v1/pages")],
        {"properties": {}, "parent": {"type": None, "database_id": None,
                                      "data_source_id": None, "page_id": None}},
    ),
    "update_page": (
        {"page_id": PAGE_ID, "title": "Deploy finished (rolled back)", "in_trash": False,
         "properties": {"Status": {"status": {"name": "Rolled back"}}}},
        [("PATCH", f"/v1/pages/{PAGE_ID}")],
        {"id": None},
    ),
    "query_database": (
        {"data_source_id": DATA_SOURCE_ID, "filter": {"property": "Status",
                                                     "status": {"equals": "Done"}},
         "sorts": [{"property": "Due", "direction": "descending"}], "max_items": 250,
         "start_cursor": "e6c6f5ff-c8d3-4ab2-9c52-2d4d1d25b1c1"},
        [("POST", f"/v1/data_sources/{DATA_SOURCE_ID}/query")],
        {"pages": [], "count": 0, "has_more": False, "next_cursor": None,
         "data_source_id": DATA_SOURCE_ID},
    ),
    "append_blocks": (
        {"page_id": PAGE_ID, "text": "Deploy finished\n\n- api: healthy\n* web: healthy",
         "blocks": [{"type": "paragraph", "text": "x" * 4500}], "after": PAGE_ID},
        [("PATCH", f"/v1/blocks/{PAGE_ID}/children")],
        {"page_id": PAGE_ID, "count": 4, "block_ids": []},
    ),
    "get_page": (
        {"page_id": f"https://www.notion.so/acme/Deploy-1-4-2-{PAGE_ID.replace('-', '')}"},
        [("GET", f"/v1/pages/{PAGE_ID}")],
        {"id": None, "properties": {}},
    ),
    "search": (
        {"query": "Deploy", "object": "data_source", "direction": "descending", "max_items": 5},
        [("POST", "/v1/search")],
        {"results": [], "count": 0},
    ),
    "add_comment": (
        {"page_id": PAGE_ID, "text": "Synced from Slack"},
        [("POST", "/v1/comments")],
        {"page_id": PAGE_ID},
    ),
}


@pytest.fixture
def exchanges(monkeypatch):
    """Every (request, response) the client exchanges, at the transport seam."""
    seen: list[requests.Response] = []
    real = IntegrationClient._send_once

    def spy(self, *args, **kwargs):
        response = real(self, *args, **kwargs)
        seen.append(response)
        return response

    monkeypatch.setattr(IntegrationClient, "_send_once", spy)
    return seen


@pytest.fixture
def prism_notion(prism, notion_connection):
    return notion_connection({"base_url": prism("notion"), "max_attempts": 1,
                              "rate_limit_per_second": 100, "rate_limit_burst": 100})


def _sent(exchanges) -> list[tuple[str, str]]:
    for response in exchanges:
        assert_prism_accepted(response)
        assert response.request.headers["Notion-Version"] == "2025-09-03"
    return [(r.request.method, r.request.path_url.split("?")[0]) for r in exchanges]


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_notion, check_connection, exchanges):
    r = check_connection(prism_notion)
    assert r.get_json()["ok"] is True, r.get_json()
    assert _sent(exchanges) == [("GET", "/v1/users/me")]


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_notion, run_action, exchanges, action):
    given, requests_sent, expected = CASES[action]
    r = run_action(prism_notion, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected
    assert _sent(exchanges) == requests_sent


def test_the_manifest_examples_are_accepted_too(prism_notion, run_action, exchanges):
    for action in MANIFEST.actions:
        r = run_action(prism_notion, action.name, dict(action.example))
        assert r.status_code == 200, (action.name, r.get_json())
    _sent(exchanges)


def test_appends_beyond_a_hundred_blocks_go_in_several_requests(prism_notion, run_action,
                                                                exchanges):
    r = run_action(prism_notion, "append_blocks",
                   {"page_id": PAGE_ID, "text": "\n".join(f"- item {n}" for n in range(230))})
    assert r.get_json()["output"]["count"] == 230
    assert _sent(exchanges) == [("PATCH", f"/v1/blocks/{PAGE_ID}/children")] * 3
    sizes = [len(json.loads(x.request.body)["children"]) for x in exchanges]
    assert sizes == [100, 100, 30]


def test_a_database_is_read_to_find_its_data_source(prism_notion, run_action, exchanges):
    # The spec's database answer is {}: no data source, which the user is told about.
    r = run_action(prism_notion, "query_database", {"database_id": DATABASE_ID})
    assert r.status_code == 422
    assert "database_id" in r.get_json()["errors"]
    assert _sent(exchanges) == [("GET", f"/v1/databases/{DATABASE_ID}")]


def test_plain_property_values_read_the_data_source_schema(prism_notion, run_action, exchanges):
    # The spec's data source answer is {}: no properties, so a plain value names no property.
    r = run_action(prism_notion, "create_page", {"data_source_id": DATA_SOURCE_ID,
                                                 "properties": {"Status": "Done"}})
    assert r.status_code == 422
    assert "Status" in r.get_json()["errors"]["properties"]
    assert _sent(exchanges) == [("GET", f"/v1/data_sources/{DATA_SOURCE_ID}")]


def test_update_with_plain_values_reads_the_page_first(prism_notion, run_action, exchanges):
    r = run_action(prism_notion, "update_page", {"page_id": PAGE_ID,
                                                 "properties": {"Status": "Done"}})
    assert r.status_code == 422
    assert _sent(exchanges) == [("GET", f"/v1/pages/{PAGE_ID}")]


@pytest.mark.parametrize("body, path", [
    # API 2025-09-03 parents: the spec's "dataSourceIdParentRequest" asks for database_id.
    ({"parent": {"type": "data_source_id", "data_source_id": DATA_SOURCE_ID},
      "properties": {}}, "/v1/pages"),
    # The spec's children items are strings, not blocks.
    ({"parent": {"database_id": DATABASE_ID}, "properties": {},
      "children": [{"type": "paragraph", "paragraph": {"rich_text": []}}]}, "/v1/pages"),
    # Only paragraph and bulleted_list_item blocks are described.
    ({"children": [{"type": "to_do", "to_do": {"rich_text": [], "checked": False}}]},
     f"/v1/blocks/{PAGE_ID}/children"),
])
def test_what_the_spec_cannot_check_is_left_to_the_responses_tests(prism, body, path):
    """Documents the gaps of Notion's partial spec: these valid requests are refused by it, so
    test_actions.py covers them at the HTTP seam."""
    method = "PATCH" if "blocks" in path else "POST"
    response = requests.request(method, prism("notion") + path, json=body, timeout=10)
    assert response.status_code == 400
    assert json.loads(response.headers["sl-violations"])
