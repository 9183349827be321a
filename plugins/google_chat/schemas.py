"""Credentials, action inputs and trigger parameters of the Google Chat plugin."""
from __future__ import annotations

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

# Resource names go into URL paths: one segment each, never "." or "..".
_ID = r"[A-Za-z0-9_-]{1,128}"
SPACE = validate.Regexp(rf"^(spaces/)?{_ID}$", error="a space such as spaces/AAAAb4Cd3fE")
MESSAGE = validate.Regexp(rf"^spaces/{_ID}/messages/[A-Za-z0-9_-][A-Za-z0-9_.-]{{0,127}}$",
                          error="a message name such as spaces/AAAAb4Cd3fE/messages/"
                                "BBBBx1.BBBBx1")
THREAD = validate.Regexp(rf"^spaces/{_ID}/threads/[A-Za-z0-9_-][A-Za-z0-9_.-]{{0,127}}$",
                         error="a thread name such as spaces/AAAAb4Cd3fE/threads/CCCCy2")
WEBHOOK_PATH = re.compile(rf"^/v1/spaces/({_ID})/messages$")
SPACE_TYPES = ("SPACE", "GROUP_CHAT", "DIRECT_MESSAGE")
REPLY_OPTIONS = {"fallback_to_new_thread": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
                 "or_fail": "REPLY_MESSAGE_OR_FAIL"}


def check_webhook_url(value: str) -> None:
    """An incoming webhook URL as Google Chat shows it: ``https://chat.googleapis.com/v1/
    spaces/{space}/messages?key=...&token=...``. Its host is checked against the connection's
    base URL when it is used (chat.googleapis.com unless base_url is overridden)."""
    parts = urlsplit(value)
    query = parse_qs(parts.query, keep_blank_values=True)
    if (parts.scheme not in ("https", "http") or not parts.hostname or parts.username
            or parts.fragment or not WEBHOOK_PATH.match(parts.path)):
        raise ValidationError("an incoming webhook URL: https://chat.googleapis.com/v1/spaces/"
                              "<space>/messages?key=...&token=...")
    if [len(query.get(k, [])) for k in ("key", "token")] != [1, 1] or not all(
            query[k][0] for k in ("key", "token")):
        raise ValidationError("the webhook URL lacks its key and token parameters")


class GoogleChatCredentials(OAuth2Tokens):
    """The tokens of the OAuth2 connect flow, or an incoming webhook URL (sends messages to
    its one space, needs no OAuth). With both, the OAuth2 tokens are used."""

    webhook_url = fields.String(
        validate=[validate.Length(max=2048), check_webhook_url],
        metadata={"secret": True, "destination": True,
                  "description": "Incoming webhook URL (Space > Apps & integrations > "
                                 "Webhooks); its key and token are secrets",
                  "example": "https://chat.googleapis.com/v1/spaces/AAAAb4Cd3fE/messages"
                             "?key=contract-key-0123456789&token=contract-token-0123456789"},
    )

    _oauth_or_webhook = require_one("access_token", "webhook_url")


class _Content(Schema):
    # Google Chat shows at most 4,096 characters of text; a whole message is at most 32,000
    # bytes.
    text = fields.String(validate=validate.Length(min=1, max=4096),
                         metadata={"description": "Message text (Chat's formatting syntax)"})
    cards_v2 = fields.List(fields.Dict(), validate=validate.Length(min=1, max=10),
                           metadata={"description": "Cards ({cardId, card}); app "
                                                    "authentication or a webhook only"})

    @validates_schema
    def _text_or_cards(self, data, **kwargs):
        if not data.get("text") and not data.get("cards_v2"):
            raise ValidationError("give text, cards_v2 or both", field_name="text")


class SendMessageInput(_Content):
    space = fields.String(validate=SPACE,
                          metadata={"description": "Space (spaces/AAAA...); an incoming webhook "
                                                   "connection posts to its own space"})
    thread_key = fields.String(validate=validate.Length(min=1, max=4000),
                               metadata={"description": "Reply in (or start) the thread with "
                                                        "this key"})
    thread = fields.String(validate=THREAD,
                           metadata={"description": "Reply in this thread (its name)"})
    reply_option = fields.String(validate=validate.OneOf(sorted(REPLY_OPTIONS)),
                                 load_default="fallback_to_new_thread",
                                 metadata={"description": "When the thread does not exist: "
                                                          "start one, or fail"})
    message_id = fields.String(
        validate=validate.Regexp(r"^client-[a-z0-9-]{1,56}$",
                                 error="client-, then up to 56 lowercase letters, digits or "
                                       "hyphens"),
        metadata={"description": "A custom id, to update the message by name later"})

    @validates_schema
    def _one_thread(self, data, **kwargs):
        if data.get("thread_key") and data.get("thread"):
            raise ValidationError("give thread_key or thread, not both", field_name="thread")


class UpdateMessageInput(_Content):
    name = fields.String(required=True, validate=MESSAGE,
                         metadata={"description": "The message's name"})


class GetMessageInput(Schema):
    name = fields.String(required=True, validate=MESSAGE)


class ListSpacesInput(Schema):
    types = fields.List(fields.String(validate=validate.OneOf(SPACE_TYPES)),
                        validate=validate.Length(min=1),
                        metadata={"description": "Only these kinds (default: all)"})
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000))


class ListMessagesInput(Schema):
    space = fields.String(required=True, validate=SPACE)
    since = fields.AwareDateTime(metadata={"description": "Only messages created after this "
                                                          "time (with a time zone)"})
    thread = fields.String(validate=THREAD, metadata={"description": "Only this thread"})
    newest_first = fields.Boolean(load_default=False)
    max_items = fields.Integer(load_default=50, validate=validate.Range(min=1, max=5000))


class NewMessageParams(Schema):
    """What a workflow's "new message" trigger is narrowed to."""

    space = fields.String(required=True, validate=SPACE,
                          metadata={"description": "The space to watch"})
    include_bots = fields.Boolean(load_default=False,
                                  metadata={"description": "Also fire for apps' messages"})
