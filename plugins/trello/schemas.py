"""Credentials, settings and action inputs of the Trello plugin."""
from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

# Every Trello object id is 24 hex characters; checked because ids become URL paths.
ID = validate.Regexp(r"^[0-9a-fA-F]{24}$", error="a Trello id: 24 hexadecimal characters")
# A member: "me", a member id or a username.
MEMBER = validate.Regexp(r"^(me|[0-9a-fA-F]{24}|[a-z0-9_]{3,100})$",
                         error='"me", a member id or a username')
# Trello's limits: names and descriptions 16,384 characters, comments 16,384.
TEXT = validate.Length(min=1, max=16_384)


def _when(value: str) -> bool:
    """An ISO 8601 date (2026-03-02) or date-time with a time zone (2026-03-02T09:00:00Z)."""
    try:
        if len(value) == 10:
            date.fromisoformat(value)
            return True
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


class _When(fields.String):
    """A date or a time zone-aware date-time, sent to Trello as written."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not _when(text):
            raise ValidationError("an ISO 8601 date (2026-03-02) or date-time with a time zone "
                                  "(2026-03-02T09:00:00Z)")
        return text


class _Position(fields.Field):
    """``top``, ``bottom`` or a positive number (Trello's ``pos``)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if value in ("top", "bottom"):
            return value
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,15}(\.[0-9]{1,9})?", value):
            value = float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e15:
            return f"{value:.9f}".rstrip("0").rstrip(".")
        raise ValidationError('"top", "bottom" or a positive number')


def _position() -> _Position:
    return _Position(metadata={"description": '"top", "bottom" or a positive number',
                               "oneOf": [{"type": "string", "enum": ["top", "bottom"]},
                                         {"type": "number", "minimum": 0}]})


def _ids(description: str, **kwargs: Any) -> fields.List:
    return fields.List(fields.String(validate=ID), validate=validate.Length(min=1, max=50),
                       metadata={"description": description}, **kwargs)


def _id(description: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=ID, metadata={"description": description}, **kwargs)


class TrelloCredentials(Schema):
    """An API key and a user token (https://trello.com/power-ups/admin), sent as the ``key``
    and ``token`` query parameters; the key's secret verifies webhook deliveries."""

    api_key = fields.String(
        required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{32}$", error="32 hex characters"),
        metadata={"secret": True, "description": "API key",
                  "example": "0123456789abcdef0123456789abcdef"})
    token = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9]{32,256}$", error="not a Trello token"),
        metadata={"secret": True, "description": "User token (ATTA...)",
                  "example": "ATTA0123456789abcdef0123456789abcdef"
                             "0123456789abcdef0123456789abcdef01234567"})
    app_secret = fields.String(
        validate=validate.Length(min=16, max=256),
        metadata={"secret": True, "description": "The API key's secret: signs webhook "
                                                 "deliveries (X-Trello-Webhook)"})


class TrelloSettings(Schema):
    default_list_id = _id("List new cards go to when a step names none")


class _CardFields(Schema):
    name = fields.String(validate=TEXT)
    description = fields.String(validate=validate.Length(max=16_384))
    due = _When(allow_none=True, metadata={"description": "Due date or date-time; null clears"})
    start = _When(allow_none=True, metadata={"description": "Start date; null clears"})
    member_ids = _ids("Members on the card")
    label_ids = _ids("Labels on the card")
    position = _position()


class CreateCardInput(_CardFields):
    name = fields.String(required=True, validate=TEXT)
    list_id = _id("The list the card goes in (default: the connection's default_list_id)")


class CardInput(Schema):
    card_id = _id("The card", required=True)


class UpdateCardInput(CardInput, _CardFields):
    due_complete = fields.Boolean(metadata={"description": "Mark the due date done"})
    closed = fields.Boolean(metadata={"description": "true archives the card"})

    @validates_schema
    def _changes_something(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        # Skipped while a workflow is saved: a field filled by a template is not loaded then.
        if not partial and not set(data) - {"card_id"}:
            raise ValidationError("give at least one field to change")


class MoveCardInput(CardInput):
    list_id = _id("The list to move the card to", required=True)
    board_id = _id("The list's board, when it is another board")
    position = _position()


class AddCommentInput(CardInput):
    text = fields.String(required=True, validate=TEXT)


class ListBoardsInput(Schema):
    member = fields.String(load_default="me", validate=MEMBER,
                           metadata={"description": 'Whose boards: "me" (the token\'s member), '
                                                    "a member id or a username"})
    filter = fields.String(load_default="open", validate=validate.OneOf(
        ("open", "closed", "all", "members", "organization", "public", "starred")))
    max_items = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class ListListsInput(Schema):
    board_id = _id("The board", required=True)
    filter = fields.String(load_default="open", validate=validate.OneOf(("open", "closed", "all")))


class ListCardsInput(Schema):
    list_id = _id("The list", required=True)
    max_items = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class RegisterWebhookInput(Schema):
    model_id = _id("What to watch: a board, list, card or member id", required=True)
    callback_url = fields.Url(schemes={"https", "http"}, require_tld=False,
                              metadata={"description": "The URL Trello delivers to (default: "
                                                       "this connection's /hooks/trello/<id> "
                                                       "URL on ATOM); signatures cover it"})
    description = fields.String(load_default="ATOM", validate=validate.Length(max=16_384))
