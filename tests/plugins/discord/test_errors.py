"""How Discord's failures reach the user: ``{code, message, errors}`` bodies, 429s with
``retry_after`` and per-route bucket headers, 5xx, and which calls are retried."""
from __future__ import annotations

import json

import pytest

from tests.plugins.discord.conftest import CHANNEL
from tests.plugins.discord.conftest import DISCORD
from tests.plugins.discord.conftest import GUILD
from tests.plugins.discord.conftest import MESSAGE
from tests.plugins.discord.conftest import TOKEN
from tests.plugins.discord.conftest import recorded

MESSAGES = f"{DISCORD}/channels/{CHANNEL}/messages"
SEND = {"channel_id": CHANNEL, "content": "Deploy finished"}


@pytest.mark.parametrize("status, body, code, field", [
    (401, {"message": "401: Unauthorized", "code": 0}, "auth", None),
    (403, {"message": "Missing Permissions", "code": 50013}, "auth", None),
    (403, {"message": "Missing Access", "code": 50001}, "auth", None),
    (404, {"message": "Unknown Channel", "code": 10003}, "validation", "channel_id"),
    (400, {"message": "Cannot send an empty message", "code": 50006}, "validation", "content"),
    (400, {"message": "Something new", "code": 50999}, "validation", "_request"),
    (404, {"message": "404: Not Found", "code": 0}, "upstream", None),
])
def test_an_error_body_maps_to_its_error_class(fake_discord, discord_connection, run_action,
                                                status, body, code, field):
    fake_discord.post(MESSAGES, status=status, json=body)
    r = run_action(discord_connection({"max_attempts": 1}), "send_message", SEND)

    result = r.get_json()
    assert result["code"] == code
    assert result["message"] == (f"Discord POST /channels/{CHANNEL}/messages: "
                                 f"{body['message']} ({body['code']})")
    if field:
        assert r.status_code == 422
        assert result["errors"] == {field: [str(body["code"])]}


def test_an_unknown_message_names_the_message_id(fake_discord, discord_connection, run_action):
    fake_discord.patch(f"{MESSAGES}/{MESSAGE}", status=404,
                       json={"message": "Unknown Message", "code": 10008})
    r = run_action(discord_connection(), "edit_message",
                   {"channel_id": CHANNEL, "message_id": MESSAGE, "content": "x"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"message_id": ["10008"]}


def test_an_invalid_form_body_names_each_field_of_the_input(fake_discord, discord_connection,
                                                            run_action):
    fake_discord.post(MESSAGES, status=400, json=recorded("invalid_form_body"))
    r = run_action(discord_connection(), "send_message",
                   {**SEND, "embeds": [{"title": "t" * 300}], "reply_to": "1189289999999999999"})

    assert r.status_code == 422
    assert r.get_json()["errors"] == {
        "content": ["BASE_TYPE_MAX_LENGTH: Must be 2000 or fewer in length."],
        "embeds.0.title": ["BASE_TYPE_MAX_LENGTH: Must be 256 or fewer in length."],
        "reply_to": ["MESSAGE_REFERENCE_UNKNOWN_MESSAGE: Unknown message"]}
    assert len(fake_discord.calls) == 1


def test_a_failed_health_check_marks_the_connection_for_reauthorisation(
        fake_discord, discord_connection, check_connection, client, keys):
    fake_discord.get(f"{DISCORD}/users/@me", status=401,
                     json={"message": "401: Unauthorized", "code": 0})
    conn = discord_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert len(fake_discord.calls) == 1  # permanent: never retried
    conn = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert conn["status"] == "needs_reauth"


def test_a_healthy_bot_passes_the_check(fake_discord, discord_connection, check_connection):
    fake_discord.get(f"{DISCORD}/users/@me", json={"id": "1189283011114692000",
                                                   "username": "atom-bot", "bot": True})
    assert check_connection(discord_connection()).get_json()["ok"] is True


def test_a_base_url_that_is_not_discord_fails_the_health_check(fake_discord, discord_connection,
                                                               check_connection):
    fake_discord.get("https://intranet.example.com/users/@me", body="<html>Welcome</html>",
                     content_type="text/html")
    result = check_connection(discord_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_a_429_carries_discords_retry_after_to_the_caller(fake_discord, discord_connection,
                                                          run_action):
    fake_discord.post(MESSAGES, status=429, json=recorded("rate_limited"),
                      headers={"Retry-After": "2", "X-RateLimit-Scope": "user"})
    r = run_action(discord_connection({"max_attempts": 1}), "send_message", SEND)

    assert r.status_code == 429
    body = r.get_json()
    assert body["code"] == "rate_limited"
    assert body["retry_after"] == 1.337  # the body's float, not the header's rounded seconds
    assert body["message"] == f"Discord POST /channels/{CHANNEL}/messages: rate limited (user)"


def test_a_global_limit_says_so(fake_discord, discord_connection, run_action):
    fake_discord.post(MESSAGES, status=429, headers={"X-RateLimit-Global": "true"},
                      json={"message": "You are being rate limited.", "retry_after": 0.5,
                            "global": True})
    r = run_action(discord_connection({"max_attempts": 1}), "send_message", SEND)
    assert r.get_json()["message"].endswith("rate limited (global)")


def test_a_cloudflare_429_without_a_body_uses_retry_after(fake_discord, discord_connection,
                                                          run_action):
    fake_discord.get(f"{DISCORD}/guilds/{GUILD}/channels", status=429, body="error code: 1015",
                     headers={"Retry-After": "30"}, content_type="text/plain")
    r = run_action(discord_connection({"max_attempts": 1}), "list_channels", {"guild_id": GUILD})
    assert (r.status_code, r.get_json()["retry_after"]) == (429, 30)


def test_a_429_is_retried_after_the_wait_discord_asked_for_even_for_a_post(
        fake_discord, discord_connection, run_action, sleeps):
    fake_discord.post(MESSAGES, status=429, json=recorded("rate_limited"))
    fake_discord.post(MESSAGES, json=recorded("message_created"))
    r = run_action(discord_connection({"max_attempts": 3}), "send_message", SEND)

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["attempts"] == 2
    assert sum(sleeps) >= 1.337
    first, second = (json.loads(c.request.body)["nonce"] for c in fake_discord.calls)
    assert first == second  # the retry is the same message for Discord


def test_an_exhausted_route_bucket_pauses_the_next_call(fake_discord, discord_connection,
                                                        run_action, sleeps):
    fake_discord.get(f"{DISCORD}/guilds/{GUILD}/channels", json=[], headers={
        "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1", "X-RateLimit-Reset-After": "2.5",
        "X-RateLimit-Bucket": "abcd1234"})
    conn = discord_connection()
    run_action(conn, "list_channels", {"guild_id": GUILD})
    assert sleeps == []
    run_action(conn, "list_channels", {"guild_id": GUILD})
    # Reset-After (relative) is what is read: the epoch Reset of 1 would mean "long ago".
    assert 2.4 <= sum(sleeps) <= 3.0


def test_a_message_post_is_retried_after_a_server_error(fake_discord, discord_connection,
                                                        run_action, sleeps):
    # enforce_nonce makes the retry safe: Discord answers it with the message it created.
    fake_discord.post(MESSAGES, status=502, body="<html>Bad Gateway</html>",
                      content_type="text/html")
    fake_discord.post(MESSAGES, json=recorded("message_created"))
    r = run_action(discord_connection({"max_attempts": 3}), "send_message", SEND)
    assert r.status_code == 200
    assert len(fake_discord.calls) == 2


def test_a_read_is_retried_after_a_server_error(fake_discord, discord_connection, run_action,
                                                sleeps):
    fake_discord.get(f"{DISCORD}/guilds/{GUILD}/channels", status=503, json={
        "message": "upstream connect error", "code": 0})
    fake_discord.get(f"{DISCORD}/guilds/{GUILD}/channels", json=recorded("guild_channels"))
    r = run_action(discord_connection({"max_attempts": 3}), "list_channels", {"guild_id": GUILD})
    assert r.status_code == 200
    assert r.get_json()["output"]["count"] == 4


def test_a_thread_is_not_created_twice_after_a_server_error(fake_discord, discord_connection,
                                                            run_action, sleeps):
    fake_discord.post(f"{DISCORD}/channels/{CHANNEL}/threads", status=500,
                      json={"message": "500: Internal Server Error", "code": 0})
    r = run_action(discord_connection({"max_attempts": 3}), "create_thread",
                   {"channel_id": CHANNEL, "name": "incident-42"})
    assert (r.status_code, r.get_json()["code"]) == (502, "upstream")
    assert len(fake_discord.calls) == 1


def test_a_permanent_error_is_not_retried(fake_discord, discord_connection, run_action, sleeps):
    fake_discord.get(f"{DISCORD}/guilds/{GUILD}/channels", status=403,
                     json={"message": "Missing Access", "code": 50001})
    r = run_action(discord_connection({"max_attempts": 3}), "list_channels", {"guild_id": GUILD})
    assert r.get_json()["code"] == "auth"
    assert len(fake_discord.calls) == 1
    assert sleeps == []


def test_a_token_echoed_in_an_error_is_redacted(fake_discord, discord_connection, run_action):
    fake_discord.post(MESSAGES, status=400, json={
        "message": f"Invalid authorization header Bot {TOKEN}", "code": 50109})
    r = run_action(discord_connection(), "send_message", SEND)
    body = json.dumps(r.get_json())
    assert r.status_code == 422
    assert TOKEN not in body
    assert "[REDACTED]" in body
