"""Sample payloads of the Discord triggers (pure data), copied from Discord's reference.

Interactions are stored as Discord sends them. ``token`` is the interaction's continuation
token (valid 15 minutes, for the reply and follow-ups), not a connection credential.
"""
from __future__ import annotations

# https://discord.com/developers/docs/interactions/application-commands#slash-commands
# ("Example Interaction"), with the fields every interaction now carries added.
COMMAND_INVOKED = {
    "type": 2,
    "token": "A_UNIQUE_TOKEN",
    "member": {
        "user": {"id": "53908232506183680", "username": "Mason",
                 "avatar": "a_d5efa99b3eeaa7dd43acca82f5692432", "discriminator": "1337",
                 "public_flags": 131141},
        "roles": ["539082325061836999"], "premium_since": None, "permissions": "2147483647",
        "pending": False, "nick": None, "mute": False,
        "joined_at": "2017-03-13T19:19:14.040000+00:00", "is_pending": False, "deaf": False,
    },
    "id": "786008729715212338",
    "application_id": "290926444748734465",
    "guild_id": "290926798626357999",
    "app_permissions": "442368",
    "guild_locale": "en-US",
    "locale": "en-US",
    "data": {
        "options": [{"type": 3, "name": "cardname", "value": "The Gitrog Monster"}],
        "type": 1,
        "name": "cardsearch",
        "id": "771825006014889984",
    },
    "channel_id": "645027906669510667",
    "version": 1,
}

# https://discord.com/developers/docs/components/reference ("Sample Component Interaction").
COMPONENT_USED = {
    "version": 1,
    "type": 3,
    "token": "unique_interaction_token",
    "message": {
        "type": 0, "tts": False, "timestamp": "2021-05-19T02:12:51.710000+00:00",
        "pinned": False, "mentions": [], "mention_roles": [], "mention_everyone": False,
        "id": "844397162624450620", "flags": 0, "embeds": [], "edited_timestamp": None,
        "content": "This is a message with components.",
        "components": [{"type": 1, "components": [
            {"type": 2, "label": "Click me!", "style": 1, "custom_id": "click_one"}]}],
        "channel_id": "345626669114982402",
        "author": {"username": "Mason", "public_flags": 131141, "id": "53908232506183680",
                   "discriminator": "1337", "avatar": "a_d5efa99b3eeaa7dd43acca82f5692432"},
        "attachments": [],
    },
    "member": {
        "user": {"username": "Mason", "public_flags": 131141, "id": "53908232506183680",
                 "discriminator": "1337", "avatar": "a_d5efa99b3eeaa7dd43acca82f5692432"},
        "roles": ["290926798626357999"], "premium_since": None, "permissions": "17179869183",
        "pending": False, "nick": None, "mute": False,
        "joined_at": "2017-03-13T19:19:14.040000+00:00", "is_pending": False, "deaf": False,
        "avatar": None,
    },
    "id": "846462639134605312",
    "guild_id": "290926798626357999",
    "data": {"custom_id": "click_one", "component_type": 2},
    "channel_id": "345626669114982999",
    "application_id": "290926444748734465",
}

# A modal submitted (https://discord.com/developers/docs/interactions/receiving-and-responding,
# Modal Submit Data Structure, with the text input's interaction response structure).
MODAL_SUBMITTED = {
    "version": 1,
    "type": 5,
    "token": "unique_interaction_token",
    "id": "846462639134605313",
    "application_id": "290926444748734465",
    "guild_id": "290926798626357999",
    "channel_id": "345626669114982999",
    "member": COMPONENT_USED["member"],
    "data": {
        "custom_id": "cool_modal",
        "components": [{"type": 1, "components": [
            {"type": 4, "custom_id": "name", "value": "John"}]}],
    },
}

# A message as ``GET /channels/{id}/messages`` returns it (the reference's example message),
# in the compact shape the poll trigger hands to workflows.
MESSAGE_POSTED = {
    "id": "334385199974967042",
    "channel_id": "290926798999357250",
    "content": "Supa Hot",
    "author": {"id": "53908099506183680", "username": "Mason", "bot": False},
    "timestamp": "2017-07-11T17:27:07.299000+00:00",
    "edited_timestamp": None,
    "type": 0,
    "reply_to": None,
    "mentions": [],
    "attachments": [],
}
