"""The health check and every action against Prism serving Discord's own OpenAPI description
(``discord/discord-api-spec``), in static mode: ids come back as the placeholder "string".

Every request the client sends is recorded through a ``responses`` passthrough and checked for
``sl-violations``; an HTTP 200 from our API also means Prism did not reject the request.
Prism takes 40-60 s to start on this spec: run these tests in one pytest invocation.
"""
from __future__ import annotations


import pytest
import requests

from plugins.discord.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

CHANNEL, MESSAGE, GUILD = "1189283011114692648", "1189290000000000001", "290926798626357999"
IDS = {"channel_id": CHANNEL, "message_id": MESSAGE}
# Inputs per action and what Prism's placeholder answers must turn into.
CASES = {
    "send_message": (
        {"channel_id": CHANNEL, "content": "Deploy finished", "tts": True,
         "reply_to": MESSAGE, "mention_everyone": True,
         "embeds": [{"title": "Deploy 42", "description": "All green", "color": 5763719,
                     "fields": [{"name": "env", "value": "prod", "inline": True}]}],
         "components": [{"type": 1, "components": [
             {"type": 2, "style": 1, "label": "Roll back", "custom_id": "rollback"}]}]},
        {"id": "string", "channel_id": "string", "content": "string",
         "author": {"id": "string", "username": "string", "bot": True}},
    ),
    "edit_message": ({**IDS, "content": "Deploy finished (edited)"},
                     {"id": "string", "content": "string"}),
    "delete_message": (dict(IDS), {**IDS, "deleted": True}),
    "add_reaction": ({**IDS, "emoji": "👍"}, {**IDS, "emoji": "👍"}),
    "create_thread": ({**IDS, "name": "Deploy 42 follow-up", "auto_archive_minutes": 1440},
                      {"id": "string", "name": "string", "guild_id": "string"}),
    "list_channels": ({"guild_id": GUILD}, {"guild_id": GUILD, "count": 1}),
    "list_messages": ({"channel_id": CHANNEL, "after": MESSAGE, "max_items": 5},
                      {"channel_id": CHANNEL, "count": 1}),
}


@pytest.fixture
def prism_url(prism):
    return prism("discord")


@pytest.fixture
def prism_discord(prism_url, discord_connection):
    return discord_connection({"base_url": prism_url, "max_attempts": 1,
                               "rate_limit_per_second": 100, "rate_limit_burst": 100})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_discord, check_connection, client, keys,
                                              sent_to_prism):
    r = check_connection(prism_discord)
    assert r.get_json()["ok"] is True, r.get_json()
    assert [c.request.path_url for c in sent_to_prism] == ["/users/@me"]
    assert_prism_accepted(sent_to_prism[0].response)
    conn = client.get(f"/api/v2/connections/{prism_discord['id']}", headers=keys["viewer"])
    assert conn.get_json()["status"] == "active"


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_discord, run_action, sent_to_prism, action):
    given, expected = CASES[action]
    r = run_action(prism_discord, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected
    assert sent_to_prism, "no request reached Prism"
    for call in sent_to_prism:
        assert_prism_accepted(call.response)


def test_a_private_thread_without_a_message_is_accepted(prism_discord, run_action, sent_to_prism):
    r = run_action(prism_discord, "create_thread",
                   {"channel_id": CHANNEL, "name": "incident-42", "private": True})
    assert r.status_code == 200, r.get_json()
    assert sent_to_prism[0].request.path_url == f"/channels/{CHANNEL}/threads"
    assert_prism_accepted(sent_to_prism[0].response)


def test_a_custom_emoji_is_accepted(prism_discord, run_action, sent_to_prism):
    r = run_action(prism_discord, "add_reaction",
                   {**IDS, "emoji": "<:rocket_cat:1189283011114690000>"})
    assert r.status_code == 200, r.get_json()
    assert_prism_accepted(sent_to_prism[0].response)


def test_prism_refuses_what_discord_would(prism_url):
    """The mock validates: a channel id that is not a snowflake, or a non-string content."""
    headers = {"Authorization": "Bot x"}
    bad_id = requests.post(f"{prism_url}/channels/general/messages", json={"content": "x"},
                           headers=headers, timeout=10)
    bad_body = requests.post(f"{prism_url}/channels/{CHANNEL}/messages", json={"content": 5},
                             headers=headers, timeout=10)
    assert (bad_id.status_code, bad_body.status_code) == (422, 422)
