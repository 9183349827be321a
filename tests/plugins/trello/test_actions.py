"""What the Trello actions send and return, with Trello faked at the HTTP seam."""
from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from atom.integrations.errors import ValidationFailed
from atom.state import get_state
from tests.plugins.trello.conftest import API_KEY
from tests.plugins.trello.conftest import BOARD
from tests.plugins.trello.conftest import CARD
from tests.plugins.trello.conftest import DOING
from tests.plugins.trello.conftest import TODO
from tests.plugins.trello.conftest import TOKEN
from tests.plugins.trello.conftest import TRELLO
from tests.plugins.trello.conftest import recorded

CARD_OUT = {
    "id": CARD, "name": "Prepare the Q3 planning meeting",
    "description": "Agenda in the calendar invite",
    "url": "https://trello.com/c/qpJDxMMh/1458-prepare-the-q3-planning-meeting",
    "short_url": "https://trello.com/c/qpJDxMMh", "list_id": TODO, "board_id": BOARD,
    "closed": False, "due": "2026-03-02T09:00:00.000Z", "due_complete": False, "start": None,
    "member_ids": ["4fc78a59a885233f4b349bd9"], "label_ids": ["5e8b7f7b3c1f2a0012345678"],
    "position": 16384, "last_activity": "2026-02-27T10:15:42.318Z",
}
MEMBER = "4fc78a59a885233f4b349bd9"


def query_of(url: str) -> dict[str, str]:
    """The query parameters a request sent, without the key and token (checked)."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
    assert (params.pop("key"), params.pop("token")) == (API_KEY, TOKEN)
    return params


def test_create_card_sends_the_key_token_and_fields_as_query_parameters(
        fake_trello, trello_connection, run_action):
    fake_trello.post(f"{TRELLO}/cards", json=recorded("card"))
    r = run_action(trello_connection(), "create_card", {
        "list_id": TODO, "name": "Prepare the Q3 planning meeting",
        "description": "Agenda in the calendar invite", "due": "2026-03-02T09:00:00Z",
        "member_ids": [MEMBER, "5abbe4b7ddc1b351ef961414"],
        "label_ids": ["5e8b7f7b3c1f2a0012345678"],
        "position": "top"})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == CARD_OUT
    (call,) = fake_trello.calls
    assert "Authorization" not in call.request.headers
    assert call.request.body is None
    assert query_of(fake_trello.sent[0]) == {
        "idList": TODO, "name": "Prepare the Q3 planning meeting",
        "desc": "Agenda in the calendar invite", "due": "2026-03-02T09:00:00Z",
        "idMembers": f"{MEMBER},5abbe4b7ddc1b351ef961414",
        "idLabels": "5e8b7f7b3c1f2a0012345678", "pos": "top"}


def test_a_card_without_a_list_goes_to_the_connection_default(fake_trello, trello_connection,
                                                              run_action):
    fake_trello.post(f"{TRELLO}/cards", json=recorded("card"))
    r = run_action(trello_connection({"default_list_id": DOING}), "create_card",
                   {"name": "Standup notes"})
    assert r.status_code == 200, r.get_json()
    assert query_of(fake_trello.sent[0]) == {"idList": DOING, "name": "Standup notes"}


def test_a_card_without_any_list_is_refused_naming_list_id(fake_trello, trello_connection,
                                                           run_action):
    r = run_action(trello_connection(), "create_card", {"name": "Standup notes"})
    assert r.status_code == 422
    assert "list_id" in r.get_json()["errors"]
    assert len(fake_trello.calls) == 0


@pytest.mark.parametrize("body, field", [
    ({"list_id": TODO}, "name"),
    ({"list_id": "not-an-id", "name": "x"}, "list_id"),
    ({"list_id": TODO, "name": "x", "due": "tomorrow"}, "due"),
    ({"list_id": TODO, "name": "x", "due": "2026-03-02T09:00:00"}, "due"),
    ({"list_id": TODO, "name": "x", "position": "middle"}, "position"),
    ({"list_id": TODO, "name": "x", "position": -1}, "position"),
    ({"list_id": TODO, "name": "x", "member_ids": ["me"]}, "member_ids"),
    ({"list_id": TODO, "name": "x" * 16_385}, "name"),
    ({"list_id": TODO, "name": "x", "idList": TODO}, "idList"),
])
def test_invalid_card_input_is_refused_before_calling_trello(fake_trello, trello_connection,
                                                             run_action, body, field):
    r = run_action(trello_connection(), "create_card", body)
    assert r.status_code == 422
    assert field in r.get_json()["errors"]
    assert len(fake_trello.calls) == 0


@pytest.mark.parametrize("card_id", [f"../boards/{BOARD}", f"{CARD}/actions", f"{CARD}?x=1",
                                     "51a79e72dbb7e23c7c00377", ""])
def test_a_card_id_that_could_change_the_path_is_refused(fake_trello, trello_connection,
                                                         run_action, card_id):
    r = run_action(trello_connection(), "add_comment", {"card_id": card_id, "text": "hi"})
    assert r.status_code == 422
    assert "card_id" in r.get_json()["errors"]
    assert len(fake_trello.calls) == 0


def test_move_card_puts_the_list_board_and_position(fake_trello, trello_connection, run_action):
    fake_trello.put(f"{TRELLO}/cards/{CARD}", json=recorded("card"))
    r = run_action(trello_connection(), "move_card", {"card_id": CARD, "list_id": DOING,
                                                      "board_id": BOARD, "position": 2.5})
    assert r.status_code == 200, r.get_json()
    assert query_of(fake_trello.sent[0]) == {"idList": DOING, "idBoard": BOARD, "pos": "2.5"}


def test_update_card_sends_only_the_given_fields_and_null_to_clear(fake_trello,
                                                                   trello_connection,
                                                                   run_action):
    fake_trello.put(f"{TRELLO}/cards/{CARD}", json=recorded("card"))
    r = run_action(trello_connection(), "update_card", {
        "card_id": CARD, "name": "Renamed", "due": None, "due_complete": True, "closed": False})
    assert r.status_code == 200, r.get_json()
    assert query_of(fake_trello.sent[0]) == {"name": "Renamed", "due": "null",
                                              "dueComplete": "true", "closed": "false"}


def test_update_card_needs_something_to_change(fake_trello, trello_connection, run_action):
    r = run_action(trello_connection(), "update_card", {"card_id": CARD})
    assert r.status_code == 422
    assert "_schema" in r.get_json()["errors"]


def test_add_comment_posts_the_text(fake_trello, trello_connection, run_action):
    fake_trello.post(f"{TRELLO}/cards/{CARD}/actions/comments", json=recorded("comment"))
    r = run_action(trello_connection(), "add_comment",
                   {"card_id": CARD, "text": "Room booked for Tuesday."})
    assert r.get_json()["output"] == {"id": "5e8b80a1c9d7b30012345678", "card_id": CARD,
                                      "text": "Room booked for Tuesday.",
                                      "date": "2026-02-27T11:02:10.004Z", "member_id": MEMBER}
    assert query_of(fake_trello.sent[0]) == {"text": "Room booked for Tuesday."}


def test_get_card(fake_trello, trello_connection, run_action):
    fake_trello.get(f"{TRELLO}/cards/{CARD}", json=recorded("card"))
    assert run_action(trello_connection(), "get_card",
                      {"card_id": CARD}).get_json()["output"] == CARD_OUT


def test_list_boards_of_the_tokens_member(fake_trello, trello_connection, run_action):
    fake_trello.get(f"{TRELLO}/members/me/boards", json=recorded("boards"))
    r = run_action(trello_connection(), "list_boards", {})

    out = r.get_json()["output"]
    assert out["count"] == 2
    assert out["boards"][0] == {
        "id": BOARD, "name": "Trello Development",
        "description": "Trello board used by the Trello team to track work on Trello.",
        "url": "https://trello.com/b/nC8QJJoZ/trello-development", "closed": False,
        "organization_id": "4e1452614e4b8698470000e0"}
    assert query_of(fake_trello.sent[0]) == {"filter": "open"}


def test_list_boards_stops_at_max_items(fake_trello, trello_connection, run_action):
    fake_trello.get(f"{TRELLO}/members/doug/boards", json=recorded("boards"))
    r = run_action(trello_connection(), "list_boards", {"member": "doug", "filter": "starred",
                                                        "max_items": 1})
    assert [b["name"] for b in r.get_json()["output"]["boards"]] == ["Trello Development"]
    assert query_of(fake_trello.sent[0]) == {"filter": "starred"}


def test_list_lists_of_a_board(fake_trello, trello_connection, run_action):
    fake_trello.get(f"{TRELLO}/boards/{BOARD}/lists", json=recorded("lists"))
    r = run_action(trello_connection(), "list_lists", {"board_id": BOARD, "filter": "all"})
    assert r.get_json()["output"] == {"board_id": BOARD, "count": 2, "lists": [
        {"id": TODO, "name": "To Do", "closed": False, "position": 16384, "board_id": BOARD},
        {"id": DOING, "name": "Doing", "closed": False, "position": 32768, "board_id": BOARD}]}
    assert query_of(fake_trello.sent[0]) == {"filter": "all", "cards": "none"}


def test_list_cards_of_a_list(fake_trello, trello_connection, run_action):
    fake_trello.get(f"{TRELLO}/lists/{TODO}/cards", json=[recorded("card")])
    r = run_action(trello_connection(), "list_cards", {"list_id": TODO})
    assert r.get_json()["output"] == {"list_id": TODO, "count": 1, "cards": [CARD_OUT]}


def test_register_webhook_calls_back_this_connections_hook_url(fake_trello, trello_connection,
                                                               run_action):
    conn = trello_connection()
    fake_trello.post(f"{TRELLO}/webhooks/", json=recorded("webhook"))
    r = run_action(conn, "register_webhook", {"model_id": BOARD})

    assert r.status_code == 200, r.get_json()
    assert query_of(fake_trello.sent[0]) == {
        "idModel": BOARD, "description": "ATOM",
        "callbackURL": f"http://localhost/hooks/trello/{conn['id']}"}
    assert r.get_json()["output"] == {"id": "58dd6dcaf8b86744d3cb4cde", "model_id": BOARD,
                                      "callback_url": "https://atom.example.com/hooks/trello/1",
                                      "active": True, "description": "ATOM"}


def test_register_webhook_outside_a_request_needs_a_callback_url(app, fake_trello):
    with app.app_context():
        integ = get_state(app).runtime.build("trello", 7, "trello", {},
                                             {"api_key": API_KEY, "token": TOKEN})
        with pytest.raises(ValidationFailed) as info:
            integ.register_webhook({"model_id": BOARD, "description": "ATOM"})
    assert "callback_url" in info.value.details
    assert len(fake_trello.calls) == 0
