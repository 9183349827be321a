"""What the Discord actions send and return, with Discord faked at the HTTP seam."""
from __future__ import annotations

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from atom.state import get_state
from tests.plugins.discord.conftest import CHANNEL
from tests.plugins.discord.conftest import DISCORD
from tests.plugins.discord.conftest import GUILD
from tests.plugins.discord.conftest import MESSAGE
from tests.plugins.discord.conftest import TOKEN
from tests.plugins.discord.conftest import recorded

MESSAGES = f"{DISCORD}/channels/{CHANNEL}/messages"


def body_of(call) -> dict:
    return json.loads(call.request.body)


def query_of(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def message(id_: int, content: str = "hi", **extra) -> dict:
    return {"id": str(id_), "type": 0, "content": content, "channel_id": CHANNEL,
            "author": {"id": "53908099506183680", "username": "Mason"},
            "timestamp": "2024-07-09T15:30:00.000000+00:00", "edited_timestamp": None,
            "mentions": [], "attachments": [], **extra}


def test_send_message_posts_json_with_the_bot_token_and_a_nonce(fake_discord,
                                                                 discord_connection, run_action):
    fake_discord.post(MESSAGES, json=recorded("message_created"))
    r = run_action(discord_connection(), "send_message",
                   {"channel_id": CHANNEL, "content": "Deploy finished :rocket:",
                    "embeds": [{"title": "Deploy 42", "color": 5763719}]})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == {
        "id": MESSAGE, "channel_id": CHANNEL, "content": "Deploy finished :rocket:",
        "author": {"id": "1189283011114692000", "username": "atom-bot", "bot": True},
        "timestamp": "2024-07-09T15:30:00.123000+00:00", "edited_timestamp": None, "type": 0,
        "reply_to": None, "mentions": [], "attachments": []}
    (call,) = fake_discord.calls
    assert call.request.headers["Authorization"] == f"Bot {TOKEN}"
    assert call.request.headers["User-Agent"].startswith("DiscordBot (")
    sent = body_of(call)
    nonce = sent.pop("nonce")
    assert isinstance(nonce, str) and 1 <= len(nonce) <= 25
    assert sent == {"content": "Deploy finished :rocket:",
                    "embeds": [{"title": "Deploy 42", "color": 5763719}],
                    "allowed_mentions": {"parse": ["users", "roles"]}, "enforce_nonce": True}


def test_everyone_pings_only_when_asked_and_replies_reference_the_message(
        fake_discord, discord_connection, run_action):
    fake_discord.post(MESSAGES, json=recorded("message_created"))
    run_action(discord_connection(), "send_message",
               {"channel_id": CHANNEL, "content": "@everyone rollback", "tts": True,
                "mention_everyone": True, "reply_to": "1189289999999999999"})
    sent = body_of(fake_discord.calls[0])
    assert sent["allowed_mentions"] == {"parse": ["users", "roles", "everyone"]}
    assert sent["message_reference"] == {"message_id": "1189289999999999999",
                                         "fail_if_not_exists": False}
    assert sent["tts"] is True


def test_each_message_gets_its_own_nonce(fake_discord, discord_connection, run_action):
    fake_discord.post(MESSAGES, json=recorded("message_created"))
    conn = discord_connection()
    for _ in range(2):
        run_action(conn, "send_message", {"channel_id": CHANNEL, "content": "hi"})
    first, second = (body_of(c)["nonce"] for c in fake_discord.calls)
    assert first != second


def test_a_step_under_an_idempotency_key_sends_the_same_nonce_each_run(
        app, fake_discord, discord_connection):
    from atom.extensions import db
    from atom.models import Connection

    fake_discord.post(MESSAGES, json=recorded("message_created"))
    conn = discord_connection()
    with app.app_context():
        row = db.session.get(Connection, conn["id"])
        runtime = get_state(app).runtime
        for _ in range(2):  # the same step run again after a crash
            runtime.run_action(row, "send_message", {"channel_id": CHANNEL, "content": "hi"},
                               idempotency_key="exec-7-step-notify")
    first, second = (body_of(c)["nonce"] for c in fake_discord.calls)
    assert first == second


@pytest.mark.parametrize("body, field", [
    ({"channel_id": CHANNEL}, "content"),
    ({"channel_id": "general", "content": "x"}, "channel_id"),
    ({"channel_id": "../../users/@me", "content": "x"}, "channel_id"),
    ({"channel_id": f"{CHANNEL}?limit=1", "content": "x"}, "channel_id"),
    ({"content": "no channel"}, "channel_id"),
    ({"channel_id": CHANNEL, "content": "x" * 2001}, "content"),
    ({"channel_id": CHANNEL, "embeds": [{}] * 11}, "embeds"),
    ({"channel_id": CHANNEL, "content": "x", "reply_to": "yesterday"}, "reply_to"),
    ({"channel_id": CHANNEL, "content": "x", "username": "spoof"}, "username"),
])
def test_invalid_input_is_refused_before_calling_discord(fake_discord, discord_connection,
                                                         run_action, body, field):
    r = run_action(discord_connection(), "send_message", body)
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert field in r.get_json()["errors"]
    assert len(fake_discord.calls) == 0


def test_edit_message_patches_only_what_is_given(fake_discord, discord_connection, run_action):
    fake_discord.patch(f"{MESSAGES}/{MESSAGE}", json={**recorded("message_created"),
                                                      "content": "Rolled back",
                                                      "edited_timestamp": "2024-07-09T15:35:00"
                                                                          ".000000+00:00"})
    r = run_action(discord_connection(), "edit_message",
                   {"channel_id": CHANNEL, "message_id": MESSAGE, "content": "Rolled back"})
    out = r.get_json()["output"]
    assert (out["content"], out["edited_timestamp"]) == ("Rolled back",
                                                         "2024-07-09T15:35:00.000000+00:00")
    assert body_of(fake_discord.calls[0]) == {"content": "Rolled back"}


def test_delete_message(fake_discord, discord_connection, run_action):
    fake_discord.delete(f"{MESSAGES}/{MESSAGE}", status=204)
    r = run_action(discord_connection(), "delete_message",
                   {"channel_id": CHANNEL, "message_id": MESSAGE})
    assert r.get_json()["output"] == {"channel_id": CHANNEL, "message_id": MESSAGE,
                                      "deleted": True}


@pytest.mark.parametrize("emoji, segment", [
    ("👍", "%F0%9F%91%8D"),
    ("1️⃣", "1%EF%B8%8F%E2%83%A3"),
    ("#️⃣", "%23%EF%B8%8F%E2%83%A3"),
    ("rocket_cat:1189283011114690000", "rocket_cat%3A1189283011114690000"),
    ("<:rocket_cat:1189283011114690000>", "rocket_cat%3A1189283011114690000"),
    ("<a:party:1189283011114690001>", "party%3A1189283011114690001"),
])
def test_add_reaction_url_encodes_the_emoji(fake_discord, discord_connection, run_action,
                                            emoji, segment):
    url = f"{MESSAGES}/{MESSAGE}/reactions/{segment}/@me"
    fake_discord.put(url, status=204)
    r = run_action(discord_connection(), "add_reaction",
                   {"channel_id": CHANNEL, "message_id": MESSAGE, "emoji": emoji})
    assert r.status_code == 200, r.get_json()
    assert fake_discord.calls[0].request.url == url


@pytest.mark.parametrize("emoji", [":thumbsup:", "thumbsup", "👍 👍", "../@me", "a" * 65])
def test_add_reaction_refuses_what_is_not_an_emoji(fake_discord, discord_connection, run_action,
                                                   emoji):
    r = run_action(discord_connection(), "add_reaction",
                   {"channel_id": CHANNEL, "message_id": MESSAGE, "emoji": emoji})
    assert r.status_code == 422
    assert "emoji" in r.get_json()["errors"]
    assert len(fake_discord.calls) == 0


def test_create_thread_from_a_message(fake_discord, discord_connection, run_action):
    fake_discord.post(f"{MESSAGES}/{MESSAGE}/threads", status=201, json=recorded("thread_created"))
    r = run_action(discord_connection(), "create_thread",
                   {"channel_id": CHANNEL, "message_id": MESSAGE, "name": "Deploy 42 follow-up",
                    "auto_archive_minutes": 1440})
    assert r.get_json()["output"] == {
        "id": "1189300000000000001", "name": "Deploy 42 follow-up", "parent_id": CHANNEL,
        "guild_id": GUILD, "private": False, "archived": False, "auto_archive_minutes": 1440}
    assert body_of(fake_discord.calls[0]) == {"name": "Deploy 42 follow-up",
                                              "auto_archive_duration": 1440}


def test_create_a_private_thread_in_a_channel(fake_discord, discord_connection, run_action):
    fake_discord.post(f"{DISCORD}/channels/{CHANNEL}/threads", status=201,
                      json={**recorded("thread_created"), "type": 12})
    r = run_action(discord_connection(), "create_thread",
                   {"channel_id": CHANNEL, "name": "incident-42", "private": True})
    assert r.get_json()["output"]["private"] is True
    assert body_of(fake_discord.calls[0]) == {"name": "incident-42", "type": 12}


def test_a_thread_from_a_message_cannot_be_private(fake_discord, discord_connection,
                                                   run_action):
    r = run_action(discord_connection(), "create_thread",
                   {"channel_id": CHANNEL, "message_id": MESSAGE, "name": "x", "private": True})
    assert r.status_code == 422
    assert "private" in r.get_json()["errors"]


def test_list_channels_returns_them_in_order_and_filters_by_kind(fake_discord,
                                                                 discord_connection, run_action):
    fake_discord.get(f"{DISCORD}/guilds/{GUILD}/channels", json=recorded("guild_channels"))
    conn = discord_connection()
    everything = run_action(conn, "list_channels", {"guild_id": GUILD}).get_json()["output"]
    assert [c["name"] for c in everything["channels"]] == ["general", "Engineering", "deploys",
                                                           "stand-up"]
    assert everything["channels"][2] == {
        "id": CHANNEL, "name": "deploys", "type": 0, "kind": "text",
        "parent_id": "1189283011114692649", "position": 2, "topic": "Release train",
        "nsfw": False}
    text = run_action(conn, "list_channels", {"guild_id": GUILD, "types": ["text"]})
    assert [c["name"] for c in text.get_json()["output"]["channels"]] == ["general", "deploys"]


def test_list_messages_pages_back_from_the_newest(fake_discord, discord_connection, run_action):
    newest = [message(i) for i in range(1189290000000000250, 1189290000000000150, -1)]
    older = [message(i) for i in range(1189290000000000150, 1189290000000000130, -1)]
    fake_discord.get(MESSAGES, json=newest)
    fake_discord.get(MESSAGES, json=older)
    r = run_action(discord_connection(), "list_messages", {"channel_id": CHANNEL,
                                                            "max_items": 150})
    out = r.get_json()["output"]
    assert out["count"] == 120
    ids = [int(m["id"]) for m in out["messages"]]
    assert ids == sorted(ids)  # oldest first
    first, second = (query_of(c) for c in fake_discord.calls)
    assert first == {"limit": "100"}
    assert second == {"limit": "50", "before": "1189290000000000151"}


def test_list_messages_after_a_message_pages_forward(fake_discord, discord_connection,
                                                     run_action):
    fake_discord.get(MESSAGES, json=[message(1189290000000000003), message(1189290000000000002)])
    r = run_action(discord_connection(), "list_messages",
                   {"channel_id": CHANNEL, "after": "1189290000000000001", "max_items": 10})
    assert [m["id"] for m in r.get_json()["output"]["messages"]] == [
        "1189290000000000002", "1189290000000000003"]
    assert query_of(fake_discord.calls[0]) == {"limit": "10", "after": "1189290000000000001"}


def test_notify_posts_to_a_channel_and_cuts_long_text(app, fake_discord, discord_connection):
    from atom.extensions import db
    from atom.models import Connection

    fake_discord.post(MESSAGES, json=recorded("message_created"))
    conn = discord_connection()
    with app.app_context():
        integ = get_state(app).runtime.integration(db.session.get(Connection, conn["id"]))
        out = integ.notify(CHANNEL, "x" * 2500)
    assert out["id"] == MESSAGE
    sent = body_of(fake_discord.calls[0])
    assert len(sent["content"]) == 2000 and sent["content"].endswith("…")
    assert sent["allowed_mentions"] == {"parse": ["users", "roles"]}


@pytest.mark.parametrize("channel", [None, "", "#general", "123/../456"])
def test_notify_needs_a_channel_id(app, discord_connection, channel):
    from atom.extensions import db
    from atom.integrations.errors import ValidationFailed
    from atom.models import Connection

    conn = discord_connection()
    with app.app_context():
        integ = get_state(app).runtime.integration(db.session.get(Connection, conn["id"]))
        with pytest.raises(ValidationFailed) as info:
            integ.notify(channel, "hi")
    assert "channel" in info.value.details


def test_credentials_are_validated_and_masked(client, keys, discord_connection):
    conn = discord_connection()
    assert conn["credentials"]["token"] != TOKEN
    assert TOKEN not in json.dumps(conn)
    for token in ("Bot " + TOKEN, "not-a-token"):
        r = client.post("/api/v2/connections", headers=keys["editor"], json={
            "integration": "discord", "label": "pasted the wrong thing",
            "credentials": {"token": token}})
        assert r.status_code == 422
        assert "token" in r.get_json()["errors"]["credentials"]
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "discord", "label": "bad key",
        "credentials": {"token": TOKEN, "public_key": "abc"}})
    assert "public_key" in r.get_json()["errors"]["credentials"]


def test_an_oauth_connection_is_sent_as_bearer(fake_discord, create_connection, run_action):
    fake_discord.get(f"{DISCORD}/guilds/{GUILD}/channels", json=[])
    conn = create_connection("discord", {}, {"access_token": "user-oauth-token-0123456789"})
    run_action(conn, "list_channels", {"guild_id": GUILD})
    assert fake_discord.calls[0].request.headers["Authorization"] == (
        "Bearer user-oauth-token-0123456789")


def test_the_integration_is_found_by_its_aliases(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "Discord Bot", "label": "by alias", "credentials": {"token": TOKEN}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["integration"] == "discord"
