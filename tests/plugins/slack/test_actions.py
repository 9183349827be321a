"""What the Slack actions send and return, with Slack faked at the HTTP seam."""
from __future__ import annotations

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.plugins.slack.conftest import SLACK
from tests.plugins.slack.conftest import TOKEN
from tests.plugins.slack.conftest import recorded


def form_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def query_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def test_send_message_posts_a_form_with_the_bot_token(fake_slack, slack_connection, run_action):
    fake_slack.post(f"{SLACK}/chat.postMessage", json=recorded("chat_postMessage_ok"))
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Deploy* finished"}}]
    r = run_action(slack_connection(), "send_message",
                   {"channel": "C0123ABCD", "text": "Deploy finished", "blocks": blocks})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == {"channel": "C0123ABCD", "ts": "1717171717.000200",
                                      "thread_ts": None}
    (call,) = fake_slack.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    sent = form_of(call)
    assert json.loads(sent.pop("blocks")) == blocks
    assert sent == {"channel": "C0123ABCD", "text": "Deploy finished"}


def test_a_thread_reply_sends_thread_ts_and_broadcast_flag(fake_slack, slack_connection,
                                                            run_action):
    fake_slack.post(f"{SLACK}/chat.postMessage", json=recorded("chat_postMessage_ok"))
    r = run_action(slack_connection(), "send_message",
                   {"channel": "C0123ABCD", "text": "Rolled back", "reply_broadcast": True,
                    "thread_ts": "1717171700.000100"})

    assert r.get_json()["output"]["thread_ts"] == "1717171700.000100"
    sent = form_of(fake_slack.calls[0])
    assert sent["thread_ts"] == "1717171700.000100"
    assert sent["reply_broadcast"] == "true"


def test_reply_broadcast_is_not_sent_outside_a_thread(fake_slack, slack_connection, run_action):
    fake_slack.post(f"{SLACK}/chat.postMessage", json=recorded("chat_postMessage_ok"))
    run_action(slack_connection(), "send_message",
               {"channel": "C0123ABCD", "text": "hi", "reply_broadcast": True})
    assert "reply_broadcast" not in form_of(fake_slack.calls[0])


@pytest.mark.parametrize("body, field", [
    ({"channel": "C0123ABCD"}, "text"),
    ({"channel": "C0123ABCD", "text": "x", "thread_ts": "yesterday"}, "thread_ts"),
    ({"text": "no channel"}, "channel"),
    ({"channel": "C0123ABCD", "text": "x", "as_user": True}, "as_user"),
])
def test_invalid_input_is_refused_before_calling_slack(fake_slack, slack_connection, run_action,
                                                       body, field):
    r = run_action(slack_connection(), "send_message", body)
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert field in r.get_json()["errors"]
    assert len(fake_slack.calls) == 0


def test_update_message_sends_channel_ts_and_text(fake_slack, slack_connection, run_action):
    edited = {"channel": "C0123ABCD", "ts": "1717171717.000200", "text": "Deploy rolled back"}
    fake_slack.post(f"{SLACK}/chat.update", json={"ok": True, **edited})
    r = run_action(slack_connection(), "update_message", edited)

    assert r.get_json()["output"] == edited
    assert form_of(fake_slack.calls[0]) == edited


def test_list_channels_follows_the_cursor_to_the_last_page(fake_slack, slack_connection,
                                                            run_action):
    fake_slack.get(f"{SLACK}/conversations.list", json=recorded("conversations_list_page1"))
    fake_slack.get(f"{SLACK}/conversations.list", json=recorded("conversations_list_page2"))
    r = run_action(slack_connection(), "list_channels",
                   {"types": ["public_channel", "private_channel"]})

    out = r.get_json()["output"]
    assert [c["name"] for c in out["channels"]] == ["general", "random", "deploys"]
    assert out["count"] == 3
    assert out["channels"][2] == {"id": "C0ABCDEF1", "name": "deploys", "is_private": False,
                                  "is_archived": False, "is_member": False, "num_members": 7,
                                  "topic": "Release train", "created": 1590000000}
    first, second = (query_of(c) for c in fake_slack.calls)
    assert first == {"types": "public_channel,private_channel", "exclude_archived": "true",
                     "limit": "200"}
    assert second == {**first, "cursor": "dGVhbTpDMDYxRkE1UEI="}


def test_list_channels_stops_at_max_items_without_fetching_more(fake_slack, slack_connection,
                                                                 run_action):
    fake_slack.get(f"{SLACK}/conversations.list", json=recorded("conversations_list_page1"))
    r = run_action(slack_connection(), "list_channels", {"max_items": 1})

    assert [c["name"] for c in r.get_json()["output"]["channels"]] == ["general"]
    assert len(fake_slack.calls) == 1
    assert query_of(fake_slack.calls[0])["limit"] == "1"


def test_list_users_leaves_out_bots_and_deleted_users_when_asked(fake_slack, slack_connection,
                                                                  run_action):
    fake_slack.get(f"{SLACK}/users.list", json=recorded("users_list_ok"))
    r = run_action(slack_connection(), "list_users", {"include_bots": False})

    assert r.get_json()["output"] == {"count": 1, "users": [{
        "id": "U0456EFGH", "name": "grace", "real_name": "Grace Hopper", "display_name": "grace",
        "email": "grace@example.com", "is_bot": False, "is_admin": True, "deleted": False,
        "tz": "America/New_York"}]}


def test_list_users_keeps_bots_by_default(fake_slack, slack_connection, run_action):
    fake_slack.get(f"{SLACK}/users.list", json=recorded("users_list_ok"))
    r = run_action(slack_connection(), "list_users", {})
    assert [u["id"] for u in r.get_json()["output"]["users"]] == ["U0456EFGH", "U0BOTUSER"]


def test_get_channel_history_reads_a_window_of_messages(fake_slack, slack_connection, run_action):
    fake_slack.get(f"{SLACK}/conversations.history", json={
        "ok": True, "has_more": False,
        "messages": [{"type": "message", "user": "U0456EFGH", "text": "ship it",
                      "ts": "1717171717.000200", "thread_ts": "1717171717.000200",
                      "reply_count": 2}],
        "response_metadata": {"next_cursor": ""}})
    r = run_action(slack_connection(), "get_channel_history",
                   {"channel": "C0123ABCD", "oldest": "1717171000.000000", "max_items": 10})

    assert r.get_json()["output"] == {"channel": "C0123ABCD", "count": 1, "messages": [{
        "ts": "1717171717.000200", "user": "U0456EFGH", "bot_id": None, "text": "ship it",
        "subtype": None, "thread_ts": "1717171717.000200", "reply_count": 2}]}
    assert query_of(fake_slack.calls[0]) == {"channel": "C0123ABCD",
                                             "oldest": "1717171000.000000", "limit": "10"}


def test_add_reaction_sends_the_bare_emoji_name(fake_slack, slack_connection, run_action):
    fake_slack.post(f"{SLACK}/reactions.add", json={"ok": True})
    r = run_action(slack_connection(), "add_reaction",
                   {"channel": "C0123ABCD", "ts": "1717171717.000200", "name": ":eyes:"})

    assert r.get_json()["output"]["already_reacted"] is False
    assert form_of(fake_slack.calls[0]) == {"channel": "C0123ABCD",
                                            "timestamp": "1717171717.000200", "name": "eyes"}


def test_add_reaction_twice_succeeds(fake_slack, slack_connection, run_action):
    fake_slack.post(f"{SLACK}/reactions.add", json={"ok": False, "error": "already_reacted"})
    r = run_action(slack_connection(), "add_reaction",
                   {"channel": "C0123ABCD", "ts": "1717171717.000200", "name": "eyes"})
    assert r.status_code == 200
    assert r.get_json()["output"]["already_reacted"] is True


def test_create_channel_returns_the_new_channel(fake_slack, slack_connection, run_action):
    fake_slack.post(f"{SLACK}/conversations.create", json={"ok": True, "channel": {
        "id": "C0NEWCHAN", "name": "incident-42", "is_private": True, "created": 1717171730,
        "is_member": True}})
    r = run_action(slack_connection(), "create_channel", {"name": "incident-42",
                                                          "is_private": True})

    assert r.get_json()["output"]["id"] == "C0NEWCHAN"
    assert form_of(fake_slack.calls[0]) == {"name": "incident-42", "is_private": "true"}


@pytest.mark.parametrize("name", ["Incident 42", "UPPER", "a" * 81, ""])
def test_create_channel_refuses_names_slack_would_reject(fake_slack, slack_connection,
                                                          run_action, name):
    r = run_action(slack_connection(), "create_channel", {"name": name})
    assert r.status_code == 422
    assert "name" in r.get_json()["errors"]
    assert len(fake_slack.calls) == 0


def test_the_base_url_setting_points_the_plugin_elsewhere(fake_slack, slack_connection,
                                                          run_action):
    fake_slack.post("https://slack.internal.example/api/chat.postMessage",
                    json=recorded("chat_postMessage_ok"))
    conn = slack_connection({"base_url": "https://slack.internal.example/api"})
    r = run_action(conn, "send_message", {"channel": "C0123ABCD", "text": "hi"})
    assert r.status_code == 200
    assert len(fake_slack.calls) == 1


def test_credentials_are_validated_and_masked(client, keys, slack_connection):
    conn = slack_connection()
    assert conn["credentials"]["token"] != TOKEN
    assert conn["credentials"]["signing_secret"].startswith("****")
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "slack", "label": "pasted the wrong thing",
        "credentials": {"token": "8f742231b10e8888abcd99yyyzzz85a5"}})
    assert r.status_code == 422
    assert "token" in r.get_json()["errors"]["credentials"]


def test_the_integration_is_found_by_its_aliases(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "Slack Workspace", "label": "by alias", "credentials": {"token": TOKEN}})
    assert r.status_code == 201
    assert r.get_json()["integration"] == "slack"
