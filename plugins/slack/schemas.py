"""Credentials and action inputs of the Slack plugin."""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

# Message timestamps are Slack's message ids: "1503435956.000247".
_TS = validate.Regexp(r"^\d{1,12}\.\d{1,9}$", error="a Slack message ts such as 1503435956.000247")
_CHANNEL = validate.Length(min=1, max=80)
_BLOCKS = fields.List(fields.Dict(), validate=validate.Length(min=1, max=50),
                      metadata={"description": "Block Kit blocks"})


class SlackCredentials(OAuth2Tokens):
    """A bot or user token pasted in, or the tokens of the OAuth2 connect flow."""

    token = fields.String(
        validate=validate.Regexp(r"^xox", error="a Slack token starts with xoxb- or xoxp-"),
        metadata={"secret": True, "description": "Bot token (xoxb-...) or user token (xoxp-...)",
                  "example": "xoxb-1234-5678-abcdefghijkl"},
    )
    signing_secret = fields.String(
        validate=validate.Length(min=1),
        metadata={"secret": True, "description": "App signing secret, for the Events API"},
    )

    _token_or_oauth = require_one("token", "access_token")


class _MessageContent(Schema):
    text = fields.String(validate=validate.Length(min=1, max=40_000),
                         metadata={"description": "Message text (the notification fallback "
                                                  "when blocks are given)"})
    blocks = _BLOCKS

    @validates_schema
    def _text_or_blocks(self, data, **kwargs):
        if not data.get("text") and not data.get("blocks"):
            raise ValidationError("give text, blocks or both", field_name="text")


class SendMessageInput(_MessageContent):
    channel = fields.String(required=True, validate=_CHANNEL,
                            metadata={"description": "Channel id (C0123ABCD) or name"})
    thread_ts = fields.String(validate=_TS, metadata={"description": "Reply in this thread"})
    reply_broadcast = fields.Boolean(load_default=False)
    unfurl_links = fields.Boolean()


class UpdateMessageInput(_MessageContent):
    channel = fields.String(required=True, validate=_CHANNEL)
    ts = fields.String(required=True, validate=_TS)


class _Listing(Schema):
    max_items = fields.Integer(load_default=200, validate=validate.Range(min=1, max=5000),
                               metadata={"description": "Stop after this many items"})


class ListChannelsInput(_Listing):
    types = fields.List(
        fields.String(validate=validate.OneOf(("public_channel", "private_channel", "mpim", "im"))),
        load_default=lambda: ["public_channel"],
        validate=validate.Length(min=1),
    )
    exclude_archived = fields.Boolean(load_default=True)


class GetChannelHistoryInput(_Listing):
    channel = fields.String(required=True, validate=_CHANNEL)
    oldest = fields.String(validate=_TS, metadata={"description": "Only messages after this ts"})
    latest = fields.String(validate=_TS, metadata={"description": "Only messages before this ts"})


class ListUsersInput(_Listing):
    include_deleted = fields.Boolean(load_default=False)
    include_bots = fields.Boolean(load_default=True)


class AddReactionInput(Schema):
    channel = fields.String(required=True, validate=_CHANNEL)
    ts = fields.String(required=True, validate=_TS, metadata={"description": "The message's ts"})
    name = fields.String(required=True, validate=validate.Regexp(
                           r"^:?[a-z0-9_+'-]{1,100}(::skin-tone-[2-6])?:?$", error="an emoji name"),
                         metadata={"description": "Emoji name, with or without colons"})


class CreateChannelInput(Schema):
    name = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=80),
                  validate.Regexp(r"^[^\sA-Z#.,]+$",
                                  error="lowercase, without spaces, periods or commas")],
    )
    is_private = fields.Boolean(load_default=False)
