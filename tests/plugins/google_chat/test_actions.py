"""What the Google Chat actions send and return over OAuth2, with Chat faked at the HTTP seam."""
from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from atom.extensions import db
from atom.models import Connection
from atom.state import get_state
from tests.plugins.google_chat.conftest import ACCESS_TOKEN
from tests.plugins.google_chat.conftest import CHAT
from tests.plugins.google_chat.conftest import MESSAGE
from tests.plugins.google_chat.conftest import SPACE
from tests.plugins.google_chat.conftest import recorded
from tests.plugins.google_chat.fake import FakeSpace

MESSAGES = f"{CHAT}/v1/{SPACE}/messages"
OUTPUT = {
    "name": MESSAGE, "space": SPACE, "thread": f"{SPACE}/threads/BBBBx1", "thread_reply": False,
    "text": "Deploy 42 is live :rocket:", "argument_text": "Deploy 42 is live :rocket:",
    "create_time": "2024-07-09T15:30:00.123456Z", "last_update_time": None,
    "sender": {"name": "users/114022495153014004089", "display_name": "ATOM", "type": "BOT"},
    "client_message_id": None}


def body_of(call) -> dict:
    return json.loads(call.request.body)


def query_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def test_send_message_posts_with_the_bearer_token_and_a_request_id(fake_chat, chat_connection,
                                                                   run_action):
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    cards = [{"cardId": "deploy", "card": {"header": {"title": "Deploy 42"}}}]
    r = run_action(chat_connection(), "send_message",
                   {"space": SPACE, "text": "Deploy 42 is live :rocket:", "cards_v2": cards})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == OUTPUT
    (call,) = fake_chat.calls
    assert call.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert body_of(call) == {"text": "Deploy 42 is live :rocket:", "cardsV2": cards}
    query = query_of(call)
    assert len(query.pop("requestId")) == 32
    assert query == {}


def test_a_thread_key_replies_in_that_thread_or_starts_it(fake_chat, chat_connection,
                                                          run_action):
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    run_action(chat_connection(), "send_message",
               {"space": "AAAAb4Cd3fE", "text": "Rolled back", "thread_key": "deploy-42",
                "message_id": "client-deploy-42-rollback"})
    call = fake_chat.calls[0]
    assert urlsplit(call.request.url).path == f"/v1/{SPACE}/messages"  # a bare id is a space
    assert body_of(call) == {"text": "Rolled back", "thread": {"threadKey": "deploy-42"}}
    query = query_of(call)
    assert query["messageReplyOption"] == "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
    assert query["messageId"] == "client-deploy-42-rollback"


def test_a_reply_in_a_named_thread_can_refuse_to_start_one(fake_chat, chat_connection,
                                                           run_action):
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    run_action(chat_connection(), "send_message",
               {"space": SPACE, "text": "ack", "thread": f"{SPACE}/threads/BBBBx1",
                "reply_option": "or_fail"})
    call = fake_chat.calls[0]
    assert body_of(call)["thread"] == {"name": f"{SPACE}/threads/BBBBx1"}
    assert query_of(call)["messageReplyOption"] == "REPLY_MESSAGE_OR_FAIL"


def test_each_message_gets_its_own_request_id_and_a_step_rerun_the_same(
        app, fake_chat, chat_connection, run_action):
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    conn = chat_connection()
    for _ in range(2):
        run_action(conn, "send_message", {"space": SPACE, "text": "hi"})
    with app.app_context():
        row = db.session.get(Connection, conn["id"])
        for _ in range(2):  # the same step run again after a crash
            get_state(app).runtime.run_action(row, "send_message", {"space": SPACE, "text": "hi"},
                                              idempotency_key="exec-9-step-announce")
    ids = [query_of(c)["requestId"] for c in fake_chat.calls]
    assert ids[0] != ids[1] and ids[2] == ids[3]


@pytest.mark.parametrize("body, field", [
    ({"space": SPACE}, "text"),
    ({"text": "no space"}, "space"),
    ({"space": "spaces/../../v1/spaces", "text": "x"}, "space"),
    ({"space": "spaces/AAA?key=x", "text": "x"}, "space"),
    ({"space": SPACE, "text": "x" * 4097}, "text"),
    ({"space": SPACE, "text": "x", "thread_key": "k", "thread": f"{SPACE}/threads/T"}, "thread"),
    ({"space": SPACE, "text": "x", "thread": "threads/T"}, "thread"),
    ({"space": SPACE, "text": "x", "message_id": "my-id"}, "message_id"),
    ({"space": SPACE, "text": "x", "reply_option": "sometimes"}, "reply_option"),
    ({"space": SPACE, "text": "x", "privateMessageViewer": {"name": "users/1"}},
     "privateMessageViewer"),
])
def test_invalid_input_is_refused_before_calling_chat(fake_chat, chat_connection, run_action,
                                                      body, field):
    r = run_action(chat_connection(), "send_message", body)
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert field in r.get_json()["errors"]
    assert len(fake_chat.calls) == 0


@pytest.mark.parametrize("name", [f"{SPACE}/messages/..", f"{SPACE}/messages/.x",
                                  "spaces/A/messages/B/reactions", "messages/B"])
def test_message_names_that_could_leave_their_path_are_refused(fake_chat, chat_connection,
                                                               run_action, name):
    r = run_action(chat_connection(), "get_message", {"name": name})
    assert r.status_code == 422
    assert "name" in r.get_json()["errors"]


def test_update_message_sends_the_mask_of_what_changes(fake_chat, chat_connection, run_action):
    fake_chat.patch(f"{CHAT}/v1/{MESSAGE}", json={**recorded("message_created"),
                                                  "text": "Rolled back",
                                                  "lastUpdateTime": "2024-07-09T15:35:00Z"})
    r = run_action(chat_connection(), "update_message", {"name": MESSAGE, "text": "Rolled back"})
    out = r.get_json()["output"]
    assert (out["text"], out["last_update_time"]) == ("Rolled back", "2024-07-09T15:35:00Z")
    assert query_of(fake_chat.calls[0]) == {"updateMask": "text"}
    assert body_of(fake_chat.calls[0]) == {"text": "Rolled back"}


def test_update_message_with_cards(fake_chat, chat_connection, run_action):
    fake_chat.patch(f"{CHAT}/v1/{MESSAGE}", json=recorded("message_created"))
    cards = [{"cardId": "c", "card": {"sections": []}}]
    run_action(chat_connection(), "update_message",
               {"name": MESSAGE, "text": "x", "cards_v2": cards})
    assert query_of(fake_chat.calls[0]) == {"updateMask": "text,cards_v2"}


def test_get_message(fake_chat, chat_connection, run_action):
    fake_chat.get(f"{CHAT}/v1/{MESSAGE}", json=recorded("message_created"))
    r = run_action(chat_connection(), "get_message", {"name": MESSAGE})
    assert r.get_json()["output"] == OUTPUT


def test_list_spaces_follows_the_page_token(fake_chat, chat_connection, run_action):
    fake_chat.get(f"{CHAT}/v1/spaces", json=recorded("spaces_page1"))
    fake_chat.get(f"{CHAT}/v1/spaces", json=recorded("spaces_page2"))
    r = run_action(chat_connection(), "list_spaces", {"types": ["SPACE", "DIRECT_MESSAGE"]})

    out = r.get_json()["output"]
    assert [s["name"] for s in out["spaces"]] == ["spaces/AAAAb4Cd3fE", "spaces/AAAAz9Yx8wV",
                                                  "spaces/AAAAq1Wer2T"]
    assert out["spaces"][0] == {
        "name": SPACE, "display_name": "Deploys", "type": "SPACE", "threaded": True,
        "uri": "https://mail.google.com/chat/u/0/#chat/space/AAAAb4Cd3fE",
        "create_time": "2023-11-02T09:00:00.000000Z", "external_users_allowed": False}
    assert out["spaces"][2]["threaded"] is False
    first, second = (query_of(c) for c in fake_chat.calls)
    assert first == {"pageSize": "100",
                     "filter": 'spaceType = "SPACE" OR spaceType = "DIRECT_MESSAGE"'}
    assert second == {**first, "pageToken": "CiAKGjBjMmFiZDE4ZjlhYjU0ZTkzYWQ1MjQ0ZDA3"}


def test_list_spaces_stops_at_max_items(fake_chat, chat_connection, run_action):
    fake_chat.get(f"{CHAT}/v1/spaces", json=recorded("spaces_page1"))
    r = run_action(chat_connection(), "list_spaces", {"max_items": 1})
    assert r.get_json()["output"]["count"] == 1
    assert len(fake_chat.calls) == 1
    assert query_of(fake_chat.calls[0]) == {"pageSize": "1"}


def test_list_messages_since_a_time_in_a_thread(fake_chat, chat_connection, run_action):
    space = FakeSpace(fake_chat, SPACE)
    space.post("one", thread="T1")
    wanted = space.post("two", thread="T2")
    space.post("three", thread="T1")
    r = run_action(chat_connection(), "list_messages",
                   {"space": SPACE, "since": "2024-07-09T15:00:00+00:00",
                    "thread": f"{SPACE}/threads/T2"})
    out = r.get_json()["output"]
    assert [m["name"] for m in out["messages"]] == [wanted["name"]]
    assert space.requests == [{
        "pageSize": "50", "orderBy": "createTime asc",
        "filter": f'create_time > "2024-07-09T15:00:00.000000Z" AND thread.name = '
                  f'{SPACE}/threads/T2'}]


def test_list_messages_newest_first(fake_chat, chat_connection, run_action):
    space = FakeSpace(fake_chat, SPACE)
    for text in ("a", "b", "c"):
        space.post(text)
    r = run_action(chat_connection(), "list_messages",
                   {"space": SPACE, "newest_first": True, "max_items": 2})
    assert [m["text"] for m in r.get_json()["output"]["messages"]] == ["c", "b"]


def test_a_since_without_a_time_zone_is_refused(fake_chat, chat_connection, run_action):
    r = run_action(chat_connection(), "list_messages",
                   {"space": SPACE, "since": "2024-07-09T15:00:00"})
    assert r.status_code == 422
    assert "since" in r.get_json()["errors"]


def test_notify_posts_to_a_space_and_cuts_long_text(app, fake_chat, chat_connection):
    fake_chat.post(MESSAGES, json=recorded("message_created"))
    conn = chat_connection()
    with app.app_context():
        integ = get_state(app).runtime.integration(db.session.get(Connection, conn["id"]))
        assert integ.notify(SPACE, "x" * 5000)["name"] == MESSAGE
    sent = body_of(fake_chat.calls[0])
    assert len(sent["text"]) == 4096 and sent["text"].endswith("…")


@pytest.mark.parametrize("channel", [None, "#general", "spaces/A/../B"])
def test_notify_over_oauth_needs_a_space(app, chat_connection, channel):
    from atom.integrations.errors import ValidationFailed

    conn = chat_connection()
    with app.app_context():
        integ = get_state(app).runtime.integration(db.session.get(Connection, conn["id"]))
        with pytest.raises(ValidationFailed) as info:
            integ.notify(channel, "hi")
    assert set(info.value.details) & {"space", "channel"}


def test_the_contract_time_format(fake_chat, chat_connection, run_action):
    """A since in another zone is sent in UTC, as Chat's examples write times."""
    space = FakeSpace(fake_chat, SPACE)
    run_action(chat_connection(), "list_messages",
               {"space": SPACE, "since": datetime(2024, 7, 9, 17, tzinfo=UTC).isoformat()})
    assert space.requests[0]["filter"] == 'create_time > "2024-07-09T17:00:00.000000Z"'


def test_credentials_need_tokens_or_a_webhook_url(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "google_chat", "label": "nothing", "credentials": {}})
    assert r.status_code == 422
    assert "access_token" in r.get_json()["errors"]["credentials"]


def test_the_integration_is_found_by_its_aliases(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "gchat", "label": "by alias",
        "credentials": {"access_token": ACCESS_TOKEN}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["integration"] == "google_chat"
