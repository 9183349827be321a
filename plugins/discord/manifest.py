"""Discord: post, edit and delete messages, react, start threads, list channels and messages;
react to slash commands, buttons and modals (HTTP interactions) and to new channel messages."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.discord.samples import COMMAND_INVOKED
from plugins.discord.samples import COMPONENT_USED
from plugins.discord.samples import MESSAGE_POSTED
from plugins.discord.samples import MODAL_SUBMITTED
from plugins.discord.schemas import AddReactionInput
from plugins.discord.schemas import CreateThreadInput
from plugins.discord.schemas import DeleteMessageInput
from plugins.discord.schemas import DiscordCredentials
from plugins.discord.schemas import EditMessageInput
from plugins.discord.schemas import ListChannelsInput
from plugins.discord.schemas import ListMessagesInput
from plugins.discord.schemas import NewMessageParams
from plugins.discord.schemas import SendMessageInput

_USER = obj(required=("id",), id=STR, username=maybe(STR), bot=BOOL)
_MESSAGE = obj(required=("id",), id=STR, channel_id=maybe(STR), content=STR,
               author=maybe(_USER), timestamp=maybe(STR), edited_timestamp=maybe(STR),
               type=INT, reply_to=maybe(STR), mentions=arr(STR),
               attachments=arr(obj(id=STR, filename=STR, url=STR)),
               about="id is the message's id (a snowflake)")
_CHANNEL = obj(required=("id",), id=STR, name=maybe(STR), type=maybe(INT), kind=STR,
               parent_id=maybe(STR), position=maybe(INT), topic=maybe(STR), nsfw=BOOL)
_THREAD = obj(required=("id",), id=STR, name=maybe(STR), parent_id=maybe(STR),
              guild_id=maybe(STR), private=BOOL, archived=BOOL,
              auto_archive_minutes=maybe(INT), about="a thread is a channel: post to its id")
_IDS = {"channel_id": "1189283011114692648", "message_id": "1189283233333333333"}


def _interaction(**data: dict) -> dict:
    """An interaction as Discord POSTs it; ``data`` differs per kind."""
    member_user = obj(id=STR, username=STR)
    return obj(required=("id", "type", "application_id", "token", "data"),
               id=STR, type=INT, application_id=STR, token=STR, version=INT,
               guild_id=STR, channel_id=STR, locale=STR,
               member=obj(user=member_user, roles=arr(STR), nick=maybe(STR)),
               user=member_user, message=obj(id=STR, content=STR, channel_id=STR),
               data=obj(**data))


# What ATOM answers an interaction once it is stored: Discord's deferred response (within its
# 3 s), {"type": 5} DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE for commands and modals, {"type": 6}
# DEFERRED_UPDATE_MESSAGE for components (payloads.DEFERRED_ANSWERS); PING is answered
# {"type": 1}.
_INTERACTION_NOTE = ("Delivered to the app's Interactions Endpoint URL (/hooks/discord/<id>), "
                     "verified with the application's public key. ATOM answers with a deferred "
                     "response (\"thinking...\" for commands and modals, an acknowledged update "
                     "for components); the workflow replies with send_message or edit_message.")

MANIFEST = Manifest(
    slug="discord",
    display_name="Discord",
    category="communication",
    description="Post, edit and delete messages, react with emoji, start threads, list a "
                "server's channels and a channel's messages; react to slash commands, "
                "buttons and modals, and to new messages in a channel.",
    docs_url="https://discord.com/developers/docs/reference",
    auth=AuthScheme(
        kind="bearer", fields=DiscordCredentials, secret="token", prefix="Bot",
        # A user's OAuth2 token is sent as "Bearer": it reads guilds and channels; posting
        # needs the bot token. The "bot" scope installs the bot with these permissions.
        oauth2=OAuth2Spec(
            authorize_url="https://discord.com/oauth2/authorize",
            token_url="https://discord.com/api/oauth2/token",
            scopes=("identify", "guilds", "bot", "applications.commands"),
            # VIEW_CHANNEL, SEND_MESSAGES, ADD_REACTIONS, EMBED_LINKS, READ_MESSAGE_HISTORY,
            # CREATE_PUBLIC_THREADS, CREATE_PRIVATE_THREADS, SEND_MESSAGES_IN_THREADS.
            authorize_params={"permissions": "377957207104"})),
    integration="plugins.discord.integration:DiscordIntegration",
    # Not discordapp.com, which has a lower global limit (discord/discord-api-docs#6490).
    base_url="https://discord.com/api/v10",
    aliases=("discord server", "discord bot", "discord channel", "discord guild"),
    # The global limit is 50 requests per second per bot; per-route limits are not published
    # and are read from each answer's X-RateLimit-* headers, which re-sync the bucket.
    rate_limit=RateLimit(per_second=10, burst=20),
    actions=(
        Action("send_message", "Send a message", SendMessageInput, _MESSAGE,
               example={"channel_id": "1189283011114692648",
                        "content": "Deploy finished :rocket:"},
               description="Sent with a nonce Discord enforces, so a retried request posts "
                           "once. @everyone and @here only ping with mention_everyone.",
               words=("post", "message", "tell", "notify", "ping", "announce", "say",
                      "reply", "send to discord")),
        Action("edit_message", "Edit a message", EditMessageInput, _MESSAGE,
               example={**_IDS, "content": "Deploy finished (edited)"},
               idempotent=True, words=("edit message", "update message", "change message")),
        Action("delete_message", "Delete a message", DeleteMessageInput,
               obj(required=("channel_id", "message_id", "deleted"), channel_id=STR,
                   message_id=STR, deleted=BOOL),
               example=dict(_IDS), idempotent=True,
               words=("delete message", "remove message")),
        Action("add_reaction", "Add a reaction", AddReactionInput,
               obj(required=("channel_id", "message_id", "emoji"), channel_id=STR,
                   message_id=STR, emoji=STR),
               example={**_IDS, "emoji": "👍"}, idempotent=True,
               description="Reacting with an emoji already there succeeds.",
               words=("react", "emoji", "reaction", "thumbs up")),
        Action("create_thread", "Start a thread", CreateThreadInput, _THREAD,
               example={**_IDS, "name": "Deploy 42 follow-up", "auto_archive_minutes": 1440},
               description="From a message (message_id), or in a channel without one.",
               words=("thread", "start a thread", "open a thread", "create thread")),
        Action("list_channels", "List a server's channels", ListChannelsInput,
               listing("channels", _CHANNEL, guild_id=STR),
               example={"guild_id": "290926798626357999"},
               idempotent=True, read_only=True,
               words=("channels", "list channels", "server channels")),
        Action("list_messages", "Read a channel's messages", ListMessagesInput,
               listing("messages", _MESSAGE, channel_id=STR) | {"description": "oldest first"},
               example={"channel_id": "1189283011114692648", "max_items": 5},
               idempotent=True, read_only=True,
               words=("channel history", "read messages", "recent messages")),
    ),
    triggers=(
        Trigger("command_invoked", "Slash command used", COMMAND_INVOKED,
                _interaction(id=STR, name=STR, type=INT, options=arr(obj(name=STR, type=INT)),
                             target_id=STR),
                description="An application command (slash, user or message command). "
                            + _INTERACTION_NOTE,
                words=("slash command", "command used", "someone runs a command", "/command")),
        Trigger("component_used", "Button clicked", COMPONENT_USED,
                _interaction(custom_id=STR, component_type=INT, values=arr(STR)),
                description="A button or select menu on one of the app's messages. "
                            + _INTERACTION_NOTE,
                words=("button clicked", "button pressed", "someone clicks", "menu selected")),
        Trigger("modal_submitted", "Modal submitted", MODAL_SUBMITTED,
                _interaction(custom_id=STR, components=arr(obj(type=INT))),
                description="A form (modal) the app showed was submitted. " + _INTERACTION_NOTE,
                words=("form submitted", "modal submitted")),
        Trigger("message_posted", "New message in a channel", MESSAGE_POSTED, _MESSAGE,
                delivery=Poll("poll_messages", cursor="id", item_id="id", interval_s=60),
                params=NewMessageParams,
                description="Polls the channel for messages after the newest one seen (message "
                            "ids grow with time). People's messages and replies; bots' only "
                            "with include_bots. Content needs the MESSAGE_CONTENT intent.",
                words=("new message", "message posted", "someone posts", "message in")),
    ),
    webhook=WebhookSpec(scheme="discord_ed25519", secret_field="public_key"),
    contract=Contract("openapi", "discord.json"),
)
