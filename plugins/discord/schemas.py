"""Credentials, action inputs and trigger parameters of the Discord plugin."""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

# Snowflakes are unsigned 64-bit integers sent as decimal strings; they go into URL paths, so
# nothing but digits may pass.
SNOWFLAKE = validate.Regexp(r"^[1-9][0-9]{0,19}$", error="a Discord id (a snowflake such as "
                                                        "1189283011114692648)")
# A bot token is three base64url parts joined by dots (user id, timestamp, HMAC).
_BOT_TOKEN = validate.Regexp(r"^[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$",
                             error="a bot token from the Developer Portal's Bot page (three "
                                   "dot-separated parts, without the 'Bot ' prefix)")
# A custom emoji as Discord writes it in messages (<:name:id>, <a:name:id>) or as the API
# wants it (name:id).
_CUSTOM_EMOJI = validate.Regexp(r"^<?a?:?[A-Za-z0-9_]{2,32}:[0-9]{15,21}>?$")
# Channel types a guild listing can be narrowed to, by the names people use.
CHANNEL_TYPES = {"text": 0, "voice": 2, "category": 4, "announcement": 5, "stage": 13,
                 "forum": 15, "media": 16}
ARCHIVE_MINUTES = (60, 1440, 4320, 10080)


def _snowflake(**kw) -> fields.String:
    return fields.String(validate=SNOWFLAKE, **kw)


class DiscordCredentials(OAuth2Tokens):
    """A bot token pasted in, or the tokens of the OAuth2 connect flow (a user's Bearer token:
    it can read guilds and channels but not post as the bot)."""

    token = fields.String(
        validate=_BOT_TOKEN,
        metadata={"secret": True, "description": "Bot token (Developer Portal > Bot > Token)",
                  "example": "MTE4OTI4MzAxMTExNDY5MjY0OA.GqYz1a.contract-bot-token-0123456789ab"},
    )
    # Verifies interaction deliveries. It is the application's PUBLIC key, shown on the
    # Developer Portal's General Information page: nothing to hide, so not masked.
    public_key = fields.String(
        validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="the application's public key "
                                                              "(64 hexadecimal characters)"),
        metadata={"description": "Application public key, to verify interactions",
                  "example": "8d4bd0fa3a4fbbb1ae1d9c4f5a5d3a1f6e2b7c9d0e1f2a3b4c5d6e7f8091a2b3"},
    )

    _token_or_oauth = require_one("token", "access_token")


class _Content(Schema):
    # 2000 characters is the documented limit for bots (the spec's 4000 is for Nitro users).
    content = fields.String(validate=validate.Length(min=1, max=2000),
                            metadata={"description": "Message text (Markdown)"})
    embeds = fields.List(fields.Dict(), validate=validate.Length(max=10),
                         metadata={"description": "Rich embeds (up to 10)"})
    components = fields.List(fields.Dict(), validate=validate.Length(max=5),
                             metadata={"description": "Action rows of buttons or selects"})

    @validates_schema
    def _something(self, data, **kwargs):
        if not (data.get("content") or data.get("embeds") or data.get("components")):
            raise ValidationError("give content, embeds or components", field_name="content")


class SendMessageInput(_Content):
    channel_id = _snowflake(required=True, metadata={"description": "Channel or thread id"})
    reply_to = _snowflake(metadata={"description": "Reply to this message id (same channel)"})
    tts = fields.Boolean(load_default=False)
    mention_everyone = fields.Boolean(
        load_default=False,
        metadata={"description": "Let @everyone and @here in the text ping (users and roles "
                                 "always do)"})


class EditMessageInput(_Content):
    channel_id = _snowflake(required=True)
    message_id = _snowflake(required=True)


class ListChannelsInput(Schema):
    guild_id = _snowflake(required=True, metadata={"description": "Server (guild) id"})
    types = fields.List(fields.String(validate=validate.OneOf(sorted(CHANNEL_TYPES))),
                        validate=validate.Length(min=1),
                        metadata={"description": "Only these kinds (default: all)"})


class AddReactionInput(Schema):
    channel_id = _snowflake(required=True)
    message_id = _snowflake(required=True)
    emoji = fields.String(required=True, validate=validate.Length(min=1, max=64),
                          metadata={"description": "A Unicode emoji (👍) or a custom emoji "
                                                   "(name:id or <:name:id>)"})

    @validates("emoji")
    def _emoji(self, value: str, **kwargs) -> None:
        if _CUSTOM_EMOJI.regex.match(value):
            return
        if value.isascii() or len(value) > 16 or any(c.isspace() for c in value):
            raise ValidationError("a Unicode emoji such as 👍, or name:id for a custom emoji "
                                  "(shortcodes like :thumbsup: are not accepted by the API)")


class CreateThreadInput(Schema):
    channel_id = _snowflake(required=True, metadata={"description": "Parent channel id"})
    message_id = _snowflake(metadata={"description": "Start the thread from this message"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    auto_archive_minutes = fields.Integer(validate=validate.OneOf(ARCHIVE_MINUTES),
                                          metadata={"description": "Archive after this much "
                                                                   "inactivity"})
    private = fields.Boolean(load_default=False,
                             metadata={"description": "A private thread (not from a message)"})

    @validates_schema
    def _private_needs_no_message(self, data, **kwargs):
        if data.get("private") and data.get("message_id"):
            raise ValidationError("a thread started from a message is always public",
                                  field_name="private")


class ListMessagesInput(Schema):
    channel_id = _snowflake(required=True)
    after = _snowflake(metadata={"description": "Only messages after this message id"})
    before = _snowflake(metadata={"description": "Only messages before this message id"})
    max_items = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _one_direction(self, data, **kwargs):
        if data.get("after") and data.get("before"):
            raise ValidationError("give after or before, not both", field_name="before")


class DeleteMessageInput(Schema):
    channel_id = _snowflake(required=True)
    message_id = _snowflake(required=True)


class NewMessageParams(Schema):
    """What a workflow's "new message" trigger is narrowed to."""

    channel_id = _snowflake(required=True, metadata={"description": "The channel to watch"})
    include_bots = fields.Boolean(load_default=False,
                                  metadata={"description": "Also fire for bots' messages "
                                                           "(the app's own included)"})
