"""What the monday.com actions send and return, against the graphql-core fake of monday's API
(every document and its variables are checked against the vendor's schema as they are sent)."""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from plugins.monday.manifest import MANIFEST
from tests.plugins.monday.conftest import TOKEN
from tests.plugins.monday.fake_monday import BOARD
from tests.plugins.monday.fake_monday import ITEM


@pytest.mark.parametrize("action", [a.name for a in MANIFEST.actions])
def test_every_example_runs_and_fits_its_output_schema(fake_monday, monday_connection,
                                                       run_action, action):
    spec = MANIFEST.action(action)
    r = run_action(monday_connection(), action, dict(spec.example))
    assert r.status_code == 200, r.get_json()
    errors = list(Draft202012Validator(dict(spec.output)).iter_errors(r.get_json()["output"]))
    assert not errors, errors[0].message


def test_create_item_sends_column_values_as_a_json_string(fake_monday, monday_connection,
                                                          run_action):
    r = run_action(monday_connection(), "create_item", {
        "board_id": 1234567890, "group_id": "topics", "name": "New lead",
        "column_values": {"status": {"label": "Done"}, "text": "hot", "date4": {"date": "2025-06-30"}}})

    assert r.status_code == 200, r.get_json()
    (sent,) = fake_monday.sent("CreateItem")
    variables = dict(sent["variables"])
    assert isinstance(variables["columnValues"], str)  # the JSON scalar takes a JSON string
    assert json.loads(variables.pop("columnValues")) == {
        "status": {"label": "Done"}, "text": "hot", "date4": {"date": "2025-06-30"}}
    assert variables == {"boardId": BOARD, "itemName": "New lead", "groupId": "topics",
                         "createLabels": False}
    out = r.get_json()["output"]
    assert out["name"] == "New lead" and out["board_id"] == BOARD
    assert out["group"] == {"id": "topics", "title": "This week"}
    assert out["column_values"]["status"] == {"type": "status", "text": "Done",
                                              "value": {"index": 1, "post_id": None}}
    assert out["column_values"]["date4"]["text"] == "2025-06-30"


def test_requests_carry_the_raw_token_and_the_api_version(fake_monday, monday_connection,
                                                          run_action):
    run_action(monday_connection(), "get_item", {"item_id": ITEM})
    headers = fake_monday.requests[0]["headers"]
    assert headers["Authorization"] == TOKEN  # no "Bearer": monday takes the token as it is
    assert headers["API-Version"] == "2025-04"
    assert headers["Content-Type"] == "application/json"


def test_change_column_values_updates_the_item(fake_monday, monday_connection, run_action):
    r = run_action(monday_connection(), "change_column_values", {
        "board_id": BOARD, "item_id": ITEM, "column_values": {"status": "Done", "text": "won"}})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["id"] == ITEM
    assert out["column_values"]["status"]["text"] == "Done"
    assert out["column_values"]["text"]["text"] == "won"
    (sent,) = fake_monday.sent("ChangeColumnValues")
    assert json.loads(sent["variables"]["columnValues"]) == {"status": "Done", "text": "won"}
    assert fake_monday.item_data[ITEM]["values"]["status"] == "1"


def test_a_label_the_status_column_lacks_names_column_values(fake_monday, monday_connection,
                                                              run_action):
    r = run_action(monday_connection(), "change_column_values", {
        "board_id": BOARD, "item_id": ITEM, "column_values": {"status": {"label": "Shipped"}}})

    assert r.status_code == 422
    body = r.get_json()
    assert body["code"] == "validation"
    assert body["errors"]["column_values"][0] == "ColumnValueException"
    assert "label does not exist" in body["errors"]["column_values"][1]
    assert body["message"].startswith("monday.com ChangeColumnValues: invalid value")


def test_create_labels_if_missing_is_passed_on(fake_monday, monday_connection, run_action):
    r = run_action(monday_connection(), "change_column_values", {
        "board_id": BOARD, "item_id": ITEM, "column_values": {"status": {"label": "Shipped"}},
        "create_labels_if_missing": True})
    assert r.status_code == 200, r.get_json()
    assert fake_monday.sent("ChangeColumnValues")[0]["variables"]["createLabels"] is True


def test_an_unknown_column_id_names_column_values(fake_monday, monday_connection, run_action):
    r = run_action(monday_connection(), "create_item", {
        "board_id": BOARD, "name": "x", "column_values": {"priority": "High"}})
    assert r.status_code == 422
    assert list(r.get_json()["errors"]) == ["column_values"]
    assert len(fake_monday.item_data) == 1  # nothing was created


def test_an_unknown_board_names_board_id(fake_monday, monday_connection, run_action):
    r = run_action(monday_connection(), "create_item", {"board_id": "1111111111", "name": "x"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"board_id": ["InvalidBoardIdException", "Board not found"]}


def test_get_items_follows_the_cursor_with_next_items_page(fake_monday, monday_connection,
                                                           run_action):
    for n in range(4):
        fake_monday.add_item(BOARD, f"Lead {n}")
    r = run_action(monday_connection(), "get_items", {"board_id": BOARD, "page_size": 2})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["count"] == 5
    assert [i["name"] for i in out["items"]] == ["Acme renewal", "Lead 0", "Lead 1", "Lead 2",
                                                 "Lead 3"]
    first, *later = [(fake_monday.sent(op)) for op in ("GetItems", "NextItems")]
    assert first[0]["variables"] == {"boardId": BOARD, "limit": 2}
    assert len(later[0]) == 2
    # next_items_page takes the cursor and the page size, nothing else.
    assert [set(s["variables"]) for s in later[0]] == [{"cursor", "limit"}] * 2


def test_get_items_stops_at_max_items_without_fetching_more(fake_monday, monday_connection,
                                                            run_action):
    for n in range(4):
        fake_monday.add_item(BOARD, f"Lead {n}")
    r = run_action(monday_connection(), "get_items", {"board_id": BOARD, "max_items": 2})

    assert r.get_json()["output"]["count"] == 2
    assert len(fake_monday.requests) == 1
    assert fake_monday.requests[0]["variables"]["limit"] == 2


def test_get_items_filters_with_rules(fake_monday, monday_connection, run_action):
    fake_monday.add_item(BOARD, "Closed deal", values={"status": "1"})
    r = run_action(monday_connection(), "get_items", {
        "board_id": BOARD, "rules": [{"column_id": "status", "compare_value": [1]}]})

    assert [i["name"] for i in r.get_json()["output"]["items"]] == ["Closed deal"]
    (sent,) = fake_monday.sent("GetItems")
    assert sent["variables"]["query"] == {
        "rules": [{"column_id": "status", "compare_value": [1], "operator": "any_of"}],
        "operator": "and"}


def test_list_boards_pages_by_number(fake_monday, monday_connection, run_action):
    for n in range(3):
        fake_monday.add_board(f"20000000{n}", f"Board {n}")
    conn = monday_connection()
    first = run_action(conn, "list_boards", {"limit": 2}).get_json()["output"]
    last = run_action(conn, "list_boards", {"limit": 2, "page": 2}).get_json()["output"]
    after = run_action(conn, "list_boards", {"limit": 2, "page": 3}).get_json()["output"]

    assert (first["count"], first["page"], first["next_page"]) == (2, 1, 2)
    # A full page may be the last one: boards() does not say; the next page is then empty.
    assert (last["count"], last["page"], last["next_page"]) == (2, 2, 3)
    assert (after["count"], after["next_page"]) == (0, None)
    assert [b["name"] for b in first["boards"] + last["boards"]] == [
        "Sales pipeline", "Board 0", "Board 1", "Board 2"]
    # Unset filters are left out, so boards() keeps its defaults; state is always sent.
    assert fake_monday.sent("ListBoards")[0]["variables"] == {"limit": 2, "page": 1,
                                                              "state": "active"}
    assert first["boards"][0] == {
        "id": BOARD, "name": "Sales pipeline", "description": None, "state": "active",
        "kind": "public", "type": "board", "workspace_id": "5551212",
        "url": f"https://acme.monday.com/boards/{BOARD}", "updated_at": "2025-05-01T09:00:00Z",
        "items_count": 1}


def test_list_boards_says_when_the_last_page_is_short(fake_monday, monday_connection,
                                                      run_action):
    out = run_action(monday_connection(), "list_boards", {"limit": 5}).get_json()["output"]
    assert (out["count"], out["next_page"]) == (1, None)


def test_get_board_returns_groups_and_columns_with_their_settings(fake_monday,
                                                                 monday_connection, run_action):
    out = run_action(monday_connection(), "get_board", {"board_id": BOARD}).get_json()["output"]
    assert [g["id"] for g in out["groups"]] == ["topics", "done_group"]
    status = next(c for c in out["columns"] if c["id"] == "status")
    assert status == {"id": "status", "title": "Status", "type": "status",
                      "settings": {"labels": {"0": "Working on it", "1": "Done", "2": "Stuck"}}}


@pytest.mark.parametrize("action, body, field", [
    ("get_item", {"item_id": "4444444444"}, "item_id"),
    ("get_board", {"board_id": "4444444444"}, "board_id"),
])
def test_a_missing_record_names_its_id(fake_monday, monday_connection, run_action, action,
                                       body, field):
    r = run_action(monday_connection(), action, body)
    assert r.status_code == 422
    assert field in r.get_json()["errors"]


def test_create_update_comments_on_an_item(fake_monday, monday_connection, run_action):
    r = run_action(monday_connection(), "create_update",
                   {"item_id": int(ITEM), "body": "Called back", "parent_id": "123456"})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["item_id"], out["body"]) == (ITEM, "Called back")
    assert fake_monday.sent("CreateUpdate")[0]["variables"] == {
        "itemId": ITEM, "body": "Called back", "parentId": "123456"}


def test_move_item_to_group(fake_monday, monday_connection, run_action):
    r = run_action(monday_connection(), "move_item_to_group",
                   {"item_id": ITEM, "group_id": "done_group"})
    assert r.get_json()["output"]["group"] == {"id": "done_group", "title": "Done"}


@pytest.mark.parametrize("action, body, field", [
    ("create_item", {"name": "x"}, "board_id"),
    ("create_item", {"board_id": "12/34", "name": "x"}, "board_id"),
    ("create_item", {"board_id": "0", "name": "x"}, "board_id"),
    ("create_item", {"board_id": True, "name": "x"}, "board_id"),
    ("create_item", {"board_id": BOARD, "name": ""}, "name"),
    ("create_item", {"board_id": BOARD, "name": "x" * 256}, "name"),
    ("create_item", {"board_id": BOARD, "name": "x", "group_id": "a group"}, "group_id"),
    ("create_item", {"board_id": BOARD, "name": "x", "column_values": {"bad key": 1}},
     "column_values"),
    ("create_item", {"board_id": BOARD, "name": "x", "column_values": {}}, "column_values"),
    ("create_item", {"board_id": BOARD, "name": "x", "column_values": "status=Done"},
     "column_values"),
    ("create_item", {"board_id": BOARD, "name": "x", "position": "top"}, "position"),
    ("change_column_values", {"board_id": BOARD, "item_id": "../1"}, "item_id"),
    ("change_column_values", {"board_id": BOARD, "item_id": ITEM}, "column_values"),
    ("get_items", {"board_id": BOARD, "page_size": 501}, "page_size"),
    ("get_items", {"board_id": BOARD, "rules": [{"column_id": "status"}]}, "rules"),
    ("get_items", {"board_id": BOARD, "rules": [{"column_id": "status", "compare_value": [1],
                                                  "operator": "like"}]}, "rules"),
    ("list_boards", {"limit": 0}, "limit"),
    ("list_boards", {"state": "gone"}, "state"),
    ("create_update", {"item_id": ITEM, "body": ""}, "body"),
])
def test_invalid_input_is_refused_before_calling_monday(fake_monday, monday_connection,
                                                        run_action, action, body, field):
    r = run_action(monday_connection(), action, body)
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert field in r.get_json()["errors"]
    assert fake_monday.requests == []


def test_the_base_url_and_api_version_settings(http, monday_connection, run_action):
    from tests.plugins.monday.fake_monday import FakeMonday

    fake = FakeMonday()
    fake.serve(http, "https://monday.internal.example/v2")
    conn = monday_connection({"base_url": "https://monday.internal.example",
                              "api_version": "2025-07"})
    r = run_action(conn, "get_item", {"item_id": ITEM})
    assert r.status_code == 200, r.get_json()
    assert fake.requests[0]["headers"]["API-Version"] == "2025-07"


def test_settings_and_credentials_are_validated_and_secrets_masked(client, keys,
                                                                   monday_connection):
    conn = monday_connection()
    assert conn["credentials"]["token"] != TOKEN
    assert conn["credentials"]["signing_secret"].startswith("****")
    for settings, credentials, where in (
            ({"api_version": "2025-05"}, {"token": TOKEN}, "settings"),
            ({}, {"token": "has a space in it but is long"}, "credentials"),
            ({}, {}, "credentials")):
        r = client.post("/api/v2/connections", headers=keys["editor"], json={
            "integration": "monday", "label": "bad", "settings": settings,
            "credentials": credentials})
        assert r.status_code == 422, (settings, credentials)
        assert where in r.get_json()["errors"]


@pytest.mark.parametrize("alias", ["monday", "Monday Board", "monday.com item", "Monday.com"])
def test_the_integration_is_found_by_its_aliases(client, keys, alias):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": alias, "label": "by alias", "credentials": {"token": TOKEN}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["integration"] == "monday"
