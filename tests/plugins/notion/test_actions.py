"""What the Notion actions send and return, with Notion faked at the HTTP seam."""
from __future__ import annotations

import json

import pytest
from responses import matchers

from plugins.notion.manifest import MANIFEST
from tests.plugins.notion.conftest import DATA_SOURCE_ID
from tests.plugins.notion.conftest import DATABASE_ID
from tests.plugins.notion.conftest import NOTION
from tests.plugins.notion.conftest import PAGE_ID
from tests.plugins.notion.conftest import TOKEN
from tests.plugins.notion.conftest import recorded
from tests.plugins.notion.conftest import sent


def text(content: str) -> list[dict]:
    return [{"type": "text", "text": {"content": content}}]


PAGE_OUT = {
    "id": PAGE_ID, "object": "page",
    "url": "https://www.notion.so/Deploy-1.4.2-598337872cf94fdf8782e53db20768a5",
    "title": "Deploy 1.4.2",
    "parent": {"type": "data_source_id", "data_source_id": DATA_SOURCE_ID,
               "database_id": DATABASE_ID, "page_id": None},
    "created_time": "2024-06-01T09:10:00.000Z", "last_edited_time": "2024-06-01T09:12:00.000Z",
    "in_trash": False,
    "properties": {"Name": "Deploy 1.4.2", "Status": "Done", "Tags": ["ops", "release"],
                   "Due": "2024-06-01", "Estimate": 3, "Done": True,
                   "Link": "https://ci.example.com/runs/42",
                   "Owner": ["ee5f0f84-409a-440f-983a-a5315961c6e4"], "Notes": "All green",
                   "Key": "OPS-42", "Score": 9},
}


# -- create_page ---------------------------------------------------------------------------


def test_create_page_converts_plain_values_by_the_data_source_schema(fake_notion,
                                                                      notion_connection,
                                                                      run_action):
    fake_notion.get(f"{NOTION}/data_sources/{DATA_SOURCE_ID}", json=recorded("data_source"))
    fake_notion.post(f"{NOTION}/pages", json=recorded("page"))
    r = run_action(notion_connection(), "create_page", {
        "data_source_id": DATA_SOURCE_ID, "title": "Deploy 1.4.2",
        "properties": {"Status": "Done", "Tags": "ops, release", "Due": "2024-06-01",
                       "Estimate": "3", "Done": "yes", "Link": "https://ci.example.com/runs/42",
                       "Contact": "ops@example.com", "Notes": "All green",
                       "Priority": "High", "OwNr": ["ee5f0f84409a440f983aa5315961c6e4"]}})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == PAGE_OUT
    schema_read, create = fake_notion.calls
    for call in (schema_read, create):
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert call.request.headers["Notion-Version"] == "2025-09-03"
    assert sent(create) == {
        "parent": {"type": "data_source_id", "data_source_id": DATA_SOURCE_ID},
        "properties": {
            "Name": {"title": text("Deploy 1.4.2")},
            "Status": {"status": {"name": "Done"}},
            "Tags": {"multi_select": [{"name": "ops"}, {"name": "release"}]},
            "Due": {"date": {"start": "2024-06-01"}},
            "Estimate": {"number": 3},
            "Done": {"checkbox": True},
            "Link": {"url": "https://ci.example.com/runs/42"},
            "Contact": {"email": "ops@example.com"},
            "Notes": {"rich_text": text("All green")},
            "Priority": {"select": {"name": "High"}},
            # Keyed by the property's id in the input, by its name in the request.
            "Owner": {"people": [{"id": "ee5f0f84-409a-440f-983a-a5315961c6e4"}]},
        }}


def test_create_page_in_a_database_finds_its_data_source_for_the_schema(fake_notion,
                                                                         notion_connection,
                                                                         run_action):
    fake_notion.get(f"{NOTION}/databases/{DATABASE_ID}", json=recorded("database"))
    fake_notion.get(f"{NOTION}/data_sources/{DATA_SOURCE_ID}", json=recorded("data_source"))
    fake_notion.post(f"{NOTION}/pages", json=recorded("page"))
    r = run_action(notion_connection(), "create_page", {
        "database_id": f"https://www.notion.so/acme/{DATABASE_ID.replace('-', '')}?v=1234",
        "title": "Deploy 1.4.2", "properties": {"Estimate": 2.5}})

    assert r.status_code == 200, r.get_json()
    assert sent(fake_notion.calls[2]) == {
        "parent": {"type": "database_id", "database_id": DATABASE_ID},
        "properties": {"Estimate": {"number": 2.5}, "Name": {"title": text("Deploy 1.4.2")}}}


def test_notion_property_objects_are_sent_as_they_are_without_reading_the_schema(
        fake_notion, notion_connection, run_action):
    fake_notion.post(f"{NOTION}/pages", json=recorded("page"))
    status = {"status": {"name": "Done"}}
    r = run_action(notion_connection(), "create_page", {
        "database_id": DATABASE_ID.upper().replace("-", ""), "title": "Deploy",
        "properties": {"Status": status}})

    assert r.status_code == 200
    (call,) = fake_notion.calls
    # Without the schema the title goes under "title": the title property's id everywhere.
    assert sent(call) == {"parent": {"type": "database_id", "database_id": DATABASE_ID},
                          "properties": {"Status": status, "title": {"title": text("Deploy")}}}


def test_a_long_title_is_split_into_text_objects_of_2000_characters(fake_notion,
                                                                    notion_connection,
                                                                    run_action):
    fake_notion.post(f"{NOTION}/pages", json=recorded("page"))
    run_action(notion_connection(), "create_page",
               {"database_id": DATABASE_ID, "title": "a" * 4100})
    title = sent(fake_notion.calls[0])["properties"]["title"]["title"]
    assert [len(t["text"]["content"]) for t in title] == [2000, 2000, 100]


def test_create_page_with_content_sends_blocks_and_appends_beyond_a_hundred(fake_notion,
                                                                           notion_connection,
                                                                           run_action):
    fake_notion.post(f"{NOTION}/pages", json=recorded("page"))
    fake_notion.patch(f"{NOTION}/blocks/{PAGE_ID}/children", json=recorded("append"))
    lines = ["# Deploy 1.4.2", "## Services", "### API", "- api: healthy", "* web: healthy",
             "1. checked logs", "[ ] tell support", "- [x] tag release", "> shipped", "", "ok"]
    r = run_action(notion_connection(), "create_page", {
        "database_id": DATABASE_ID, "title": "Deploy",
        "content": "\n".join(lines + [f"line {n}" for n in range(95)])})

    assert r.status_code == 200, r.get_json()
    create, append = fake_notion.calls
    children = sent(create)["children"]
    assert len(children) == 100
    assert children[:10] == [
        {"type": "heading_1", "heading_1": {"rich_text": text("Deploy 1.4.2")}},
        {"type": "heading_2", "heading_2": {"rich_text": text("Services")}},
        {"type": "heading_3", "heading_3": {"rich_text": text("API")}},
        {"type": "bulleted_list_item", "bulleted_list_item": {"rich_text": text("api: healthy")}},
        {"type": "bulleted_list_item", "bulleted_list_item": {"rich_text": text("web: healthy")}},
        {"type": "numbered_list_item", "numbered_list_item": {"rich_text": text("checked logs")}},
        {"type": "to_do", "to_do": {"rich_text": text("tell support"), "checked": False}},
        {"type": "to_do", "to_do": {"rich_text": text("tag release"), "checked": True}},
        {"type": "quote", "quote": {"rich_text": text("shipped")}},
        {"type": "paragraph", "paragraph": {"rich_text": text("ok")}},
    ]
    assert len(sent(append)["children"]) == 5
    assert "after" not in sent(append)


def test_a_page_under_a_page_takes_only_a_title(fake_notion, notion_connection, run_action):
    fake_notion.post(f"{NOTION}/pages", json=recorded("page"))
    conn = notion_connection()
    r = run_action(conn, "create_page", {"parent_page_id": PAGE_ID, "title": "Notes"})
    assert r.status_code == 200
    assert sent(fake_notion.calls[0]) == {"parent": {"type": "page_id", "page_id": PAGE_ID},
                                          "properties": {"title": {"title": text("Notes")}}}
    r = run_action(conn, "create_page", {"parent_page_id": PAGE_ID, "properties": {"A": "x"}})
    assert r.status_code == 422
    assert "properties" in r.get_json()["errors"]
    assert len(fake_notion.calls) == 1


@pytest.mark.parametrize("properties, problem", [
    ({"Nope": "x"}, "no property called 'Nope'"),
    ({"Estimate": "three"}, "give a number"),
    ({"Estimate": True}, "give a number"),
    ({"Done": "maybe"}, "give true or false"),
    ({"Due": "next tuesday"}, "ISO 8601"),
    ({"Priority": "High, urgent"}, "no comma"),
    ({"Score": 3}, "computed by Notion"),
    ({"Files": "a.pdf"}, "property value object"),
    ({"Contact": "not-an-email"}, "email"),
    ({"Owner": ["ada"]}, "Notion ids"),
    ({"Notes": {"rich_text": []}, "Status": ["Done"]}, "option's name"),
])
def test_values_that_do_not_fit_the_property_are_refused_naming_it(fake_notion,
                                                                   notion_connection,
                                                                   run_action, properties,
                                                                   problem):
    fake_notion.get(f"{NOTION}/data_sources/{DATA_SOURCE_ID}", json=recorded("data_source"))
    r = run_action(notion_connection(), "create_page",
                   {"data_source_id": DATA_SOURCE_ID, "properties": properties})

    assert r.status_code == 422
    errors = r.get_json()["errors"]["properties"]
    (name,) = [n for n in properties if not isinstance(properties[n], dict)]
    assert problem in errors[name][0]
    assert [c.request.method for c in fake_notion.calls] == ["GET"]  # nothing was created


def test_clearing_values_sends_empty_ones(fake_notion, notion_connection, run_action):
    fake_notion.get(f"{NOTION}/pages/{PAGE_ID}", json=recorded("page"))
    fake_notion.patch(f"{NOTION}/pages/{PAGE_ID}", json=recorded("page"))
    run_action(notion_connection(), "update_page", {"page_id": PAGE_ID, "properties": {
        "Status": None, "Tags": [], "Due": None, "Estimate": None, "Notes": None}})
    assert sent(fake_notion.calls[1])["properties"] == {
        "Status": {"status": None}, "Tags": {"multi_select": []}, "Due": {"date": None},
        "Estimate": {"number": None}, "Notes": {"rich_text": []}}


@pytest.mark.parametrize("body, field", [
    ({"title": "x"}, "database_id"),
    ({"database_id": DATABASE_ID, "data_source_id": DATA_SOURCE_ID}, "database_id"),
    ({"database_id": "not-an-id"}, "database_id"),
    ({"database_id": "../../v1/users"}, "database_id"),
    ({"database_id": f"{DATABASE_ID}?filter=1"}, "database_id"),
    ({"database_id": f"https://evil.example.com/{DATABASE_ID.replace('-', '')}"},
     "database_id"),
    ({"data_source_id": DATA_SOURCE_ID, "properties": {"": "x"}}, "properties"),
    ({"data_source_id": DATA_SOURCE_ID, "properties": ["Status"]}, "properties"),
    ({"data_source_id": DATA_SOURCE_ID, "icon": "🚀"}, "icon"),
])
def test_invalid_input_is_refused_before_calling_notion(fake_notion, notion_connection,
                                                        run_action, body, field):
    r = run_action(notion_connection(), "create_page", body)
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert field in r.get_json()["errors"]
    assert len(fake_notion.calls) == 0


# -- update_page, get_page -----------------------------------------------------------------


def test_update_page_reads_the_page_for_its_property_types(fake_notion, notion_connection,
                                                           run_action):
    fake_notion.get(f"{NOTION}/pages/{PAGE_ID}", json=recorded("page"))
    fake_notion.patch(f"{NOTION}/pages/{PAGE_ID}", json=recorded("page"))
    r = run_action(notion_connection(), "update_page", {
        "page_id": PAGE_ID.replace("-", ""), "title": "Deploy 1.4.2 (done)",
        "properties": {"Status": "Done", "Done": True, "s%3Dq%5E": "Done"}, "in_trash": False})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["properties"]["Status"] == "Done"
    read, update = fake_notion.calls
    assert read.request.method == "GET"
    assert sent(update) == {"properties": {"Status": {"status": {"name": "Done"}},
                                           "Done": {"checkbox": True},
                                           "Name": {"title": text("Deploy 1.4.2 (done)")}},
                            "in_trash": False}


def test_moving_a_page_to_the_trash_sends_only_that(fake_notion, notion_connection,
                                                    run_action):
    fake_notion.patch(f"{NOTION}/pages/{PAGE_ID}", json={**recorded("page"), "in_trash": True})
    r = run_action(notion_connection(), "update_page", {"page_id": PAGE_ID, "in_trash": True})
    assert r.get_json()["output"]["in_trash"] is True
    (call,) = fake_notion.calls
    assert sent(call) == {"in_trash": True}


def test_an_update_without_changes_is_refused(fake_notion, notion_connection, run_action):
    r = run_action(notion_connection(), "update_page", {"page_id": PAGE_ID})
    assert r.status_code == 422
    assert "properties" in r.get_json()["errors"]


def test_get_page_returns_plain_property_values(fake_notion, notion_connection, run_action):
    fake_notion.get(f"{NOTION}/pages/{PAGE_ID}", json=recorded("page"))
    r = run_action(notion_connection(), "get_page", {
        "page_id": f"https://acme.notion.site/Deploy-1-4-2-{PAGE_ID.replace('-', '')}"})
    assert r.get_json()["output"] == PAGE_OUT


# -- query_database ------------------------------------------------------------------------


def test_query_follows_the_cursor_in_the_body(fake_notion, notion_connection, run_action):
    url = f"{NOTION}/data_sources/{DATA_SOURCE_ID}/query"
    fake_notion.post(url, json=recorded("query_page1"))
    fake_notion.post(url, json=recorded("query_page2"))
    query = {"filter": {"property": "Status", "status": {"does_not_equal": "Done"}},
             "sorts": [{"timestamp": "created_time", "direction": "ascending"}]}
    r = run_action(notion_connection(), "query_database",
                   {"data_source_id": DATA_SOURCE_ID, **query})

    out = r.get_json()["output"]
    assert [p["title"] for p in out["pages"]] == ["Deploy 1.4.2", "Deploy 1.4.3", "Deploy 1.4.4"]
    assert (out["count"], out["has_more"], out["next_cursor"]) == (3, False, None)
    first, second = (sent(c) for c in fake_notion.calls)
    assert first == {**query, "page_size": 100}
    assert second == {**query, "page_size": 98,
                      "start_cursor": "e6c6f5ff-c8d3-4ab2-9c52-2d4d1d25b1c1"}
    assert all("start_cursor" not in c.request.url for c in fake_notion.calls)


def test_query_stops_at_max_items_and_says_where_to_go_on(fake_notion, notion_connection,
                                                          run_action):
    fake_notion.post(f"{NOTION}/data_sources/{DATA_SOURCE_ID}/query",
                     json=recorded("query_page1"))
    r = run_action(notion_connection(), "query_database",
                   {"data_source_id": DATA_SOURCE_ID, "max_items": 2})
    out = r.get_json()["output"]
    assert (out["count"], out["has_more"]) == (2, True)
    assert out["next_cursor"] == "e6c6f5ff-c8d3-4ab2-9c52-2d4d1d25b1c1"
    (call,) = fake_notion.calls
    assert sent(call) == {"page_size": 2}


def test_query_a_database_through_its_data_source(fake_notion, notion_connection, run_action):
    fake_notion.get(f"{NOTION}/databases/{DATABASE_ID}", json=recorded("database"))
    fake_notion.post(f"{NOTION}/data_sources/{DATA_SOURCE_ID}/query",
                     json=recorded("query_page2"))
    r = run_action(notion_connection(), "query_database",
                   {"database_id": DATABASE_ID, "start_cursor": "abc"})
    assert r.get_json()["output"]["data_source_id"] == DATA_SOURCE_ID
    assert sent(fake_notion.calls[1]) == {"start_cursor": "abc", "page_size": 100}


def test_a_database_with_several_data_sources_needs_one_named(fake_notion, notion_connection,
                                                               run_action):
    database = recorded("database")
    database["data_sources"].append({"id": "d0d0d0d0-1111-4222-8333-444455556666",
                                     "name": "Archive"})
    fake_notion.get(f"{NOTION}/databases/{DATABASE_ID}", json=database)
    r = run_action(notion_connection(), "query_database", {"database_id": DATABASE_ID})
    assert r.status_code == 422
    assert "give data_source_id" in r.get_json()["errors"]["database_id"][0]
    assert len(fake_notion.calls) == 1


@pytest.mark.parametrize("sorts", [[{"property": "Due"}], [{"direction": "ascending"}],
                                   [{"property": "Due", "direction": "up"}]])
def test_malformed_sorts_are_refused(fake_notion, notion_connection, run_action, sorts):
    r = run_action(notion_connection(), "query_database",
                   {"data_source_id": DATA_SOURCE_ID, "sorts": sorts})
    assert r.status_code == 422
    assert "sorts" in r.get_json()["errors"]


# -- append_blocks, search, add_comment ----------------------------------------------------


def test_append_blocks_from_text_and_items(fake_notion, notion_connection, run_action):
    fake_notion.patch(f"{NOTION}/blocks/{PAGE_ID}/children", json=recorded("append"))
    raw = {"type": "callout", "callout": {"rich_text": text("Heads up"),
                                          "icon": {"emoji": "⚠️"}}}
    r = run_action(notion_connection(), "append_blocks", {
        "page_id": PAGE_ID, "text": "Deploy finished",
        "blocks": [{"type": "to_do", "text": "Update changelog", "checked": True}, raw]})

    assert r.get_json()["output"] == {
        "page_id": PAGE_ID, "count": 3,
        "block_ids": ["c02fc1d3-db8b-45c5-a222-27595b15aea7",
                      "acc7eb06-05cd-4603-a384-5e1e4f1f4e72"]}
    assert sent(fake_notion.calls[0]) == {"children": [
        {"type": "paragraph", "paragraph": {"rich_text": text("Deploy finished")}},
        {"type": "to_do", "to_do": {"rich_text": text("Update changelog"), "checked": True}},
        raw]}


def test_inserting_after_a_block_keeps_the_order_across_requests(fake_notion,
                                                                 notion_connection,
                                                                 run_action):
    fake_notion.patch(f"{NOTION}/blocks/{PAGE_ID}/children", json=recorded("append"))
    after = "11111111-2222-4333-8444-555566667777"
    run_action(notion_connection(), "append_blocks", {
        "page_id": PAGE_ID, "after": after.replace("-", ""),
        "text": "\n".join(f"line {n}" for n in range(150))})
    first, second = (sent(c) for c in fake_notion.calls)
    assert first["after"] == after and len(first["children"]) == 100
    # The second batch goes after the last block the first one created.
    assert second["after"] == "acc7eb06-05cd-4603-a384-5e1e4f1f4e72"


@pytest.mark.parametrize("body, field", [
    ({"page_id": PAGE_ID}, "text"),
    ({"page_id": PAGE_ID, "text": "\n\n  \n"}, "text"),
    ({"page_id": PAGE_ID, "blocks": [{"type": "embed"}]}, "blocks"),
    ({"page_id": PAGE_ID, "blocks": [{"type": "Paragraph", "text": "x"}]}, "blocks"),
    ({"page_id": PAGE_ID, "blocks": [{"type": "paragraph", "paragraph": "x"}]}, "blocks"),
    ({"text": "x"}, "page_id"),
])
def test_append_blocks_refuses_what_notion_would(fake_notion, notion_connection, run_action,
                                                 body, field):
    r = run_action(notion_connection(), "append_blocks", body)
    assert r.status_code == 422
    assert field in r.get_json()["errors"]
    assert len(fake_notion.calls) == 0


def test_search_sends_the_filter_and_sort_and_returns_titles(fake_notion, notion_connection,
                                                             run_action):
    fake_notion.post(f"{NOTION}/search", json=recorded("search"))
    r = run_action(notion_connection(), "search",
                   {"query": "Deploy", "object": "data_source", "direction": "ascending"})
    out = r.get_json()["output"]
    assert [(x["object"], x["title"]) for x in out["results"]] == [
        ("page", "Deploy 1.4.2"), ("data_source", "Deploys")]
    assert out["results"][1]["parent"]["database_id"] == DATABASE_ID
    assert sent(fake_notion.calls[0]) == {
        "query": "Deploy", "filter": {"property": "object", "value": "data_source"},
        "sort": {"direction": "ascending", "timestamp": "last_edited_time"}, "page_size": 20}


def test_an_empty_search_lists_everything_shared_with_the_integration(fake_notion,
                                                                      notion_connection,
                                                                      run_action):
    fake_notion.post(f"{NOTION}/search", json=recorded("search"),
                     match=[matchers.json_params_matcher({"page_size": 20})])
    r = run_action(notion_connection(), "search", {})
    assert r.get_json()["output"]["count"] == 2


def test_add_comment_posts_rich_text_on_the_page(fake_notion, notion_connection, run_action):
    fake_notion.post(f"{NOTION}/comments", json={
        "object": "comment", "id": "249911a-125e-803e-a164-001cf338b8ec",
        "parent": {"type": "page_id", "page_id": PAGE_ID},
        "discussion_id": "249911a-125e-80a7-bc86-001c6ab4f61a",
        "created_time": "2024-06-01T10:00:00.000Z", "rich_text": text("Synced")})
    r = run_action(notion_connection(), "add_comment", {"page_id": PAGE_ID, "text": "Synced"})
    assert r.get_json()["output"] == {"id": "249911a-125e-803e-a164-001cf338b8ec",
                                      "discussion_id": "249911a-125e-80a7-bc86-001c6ab4f61a",
                                      "page_id": PAGE_ID,
                                      "created_time": "2024-06-01T10:00:00.000Z"}
    assert sent(fake_notion.calls[0]) == {"parent": {"page_id": PAGE_ID},
                                          "rich_text": text("Synced")}


# -- connections and the template ----------------------------------------------------------


def test_credentials_are_validated_and_masked(client, keys, notion_connection):
    conn = notion_connection()
    shown = json.dumps(client.get(f"/api/v2/connections/{conn['id']}",
                                  headers=keys["viewer"]).get_json())
    assert TOKEN not in shown
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "notion", "label": "pasted the wrong thing",
        "credentials": {"token": "xoxb-1111-2222-abcdef"}})
    assert r.status_code == 422
    assert "token" in r.get_json()["errors"]["credentials"]


def test_the_integration_is_found_by_its_aliases(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "Notion Database", "label": "by alias", "credentials": {"token": TOKEN}})
    assert r.status_code == 201
    assert r.get_json()["integration"] == "notion"


def test_the_slack_to_notion_template_creates_pages_in_the_chosen_database(client, keys):
    url = "/api/v2/ai-workflows/templates/slack_to_notion_sync/instantiate"
    plain = client.post(url, json={"enabled": False}, headers=keys["editor"])
    assert plain.status_code == 422  # the database is what the template needs
    assert "parameters.page.database_id" in plain.get_json()["errors"]
    chosen = client.post(url, headers=keys["editor"], json={
        "enabled": False,
        "parameters": {"page": {"database_id": f"https://www.notion.so/{DATABASE_ID}"}}})
    assert chosen.status_code == 201, chosen.get_json()
    (step,) = chosen.get_json()["steps"]
    assert step["parameters"]["database_id"] == f"https://www.notion.so/{DATABASE_ID}"
    wrong = client.post(url, headers=keys["editor"], json={
        "enabled": False, "parameters": {"page": {"database_id": "my database"}}})
    assert wrong.status_code in (400, 422)


def test_a_connection_from_the_oauth_flow_sends_its_access_token(fake_notion,
                                                                 notion_connection,
                                                                 run_action):
    oauth = MANIFEST.auth.oauth2
    assert (oauth.client_auth, oauth.pkce, dict(oauth.authorize_params)) == (
        "basic", False, {"owner": "user"})
    fake_notion.get(f"{NOTION}/pages/{PAGE_ID}", json=recorded("page"))
    conn = notion_connection(token=None, access_token="ntn_oauth-access-token-0123456789")
    assert run_action(conn, "get_page", {"page_id": PAGE_ID}).status_code == 200
    (call,) = fake_notion.calls
    assert call.request.headers["Authorization"] == "Bearer ntn_oauth-access-token-0123456789"
