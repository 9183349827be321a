"""Credentials and action inputs of the Cisco Webex plugin.

Webex ids are base64 strings (``Y2lzY29zcGFyazovL3VzL1JPT00v...``); meeting ids are hex with
``_I_``/``_`` suffixes. Ids that reach a URL path are checked against ``[A-Za-z0-9_=-]`` (no
``/``, ``..`` or query character) and percent-encoded by the integration.
"""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

_ID = validate.Regexp(r"^[A-Za-z0-9_=-]{8,400}$", error="a Webex id (Y2lzY29zcGFyazovL3...)")


def _id(description: str, required: bool = False) -> fields.String:
    return fields.String(required=required, validate=_ID, metadata={"description": description})


class WebexCredentials(OAuth2Tokens):
    """A bot or personal access token pasted in, or the tokens of the OAuth2 connect flow."""

    token = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{20,400}$",
                                 error="a Webex access token (letters, digits, - and _)"),
        metadata={"secret": True,
                  "description": "Bot access token, or a personal access token (12 hours; for "
                                 "development)",
                  "example": "ZDI3MGEyYzQtNmFlNS00NDNhLWFlNzAtZGVjNjE0MGU1OGZmZWNmZDEwN2ItYTU3"
                             "_PF84_1eb65fdf-9643-417f-9974-ad72cae0e10f"})
    webhook_secret = fields.String(
        validate=validate.Length(min=16, max=256),
        metadata={"secret": True,
                  "description": "Secret given to Webex webhooks; deliveries are signed with it "
                                 "(X-Spark-Signature)"})

    _token_or_oauth = require_one("token", "access_token")


class SendMessageInput(Schema):
    room_id = _id("Room (space) to post in")
    to_person_id = _id("Person to message directly, by id")
    to_person_email = fields.Email(validate=validate.Length(max=320),
                                   metadata={"description": "Person to message directly"})
    text = fields.String(validate=validate.Length(min=1, max=7439),
                         metadata={"description": "Plain text (the fallback when markdown is "
                                                  "given)"})
    markdown = fields.String(validate=validate.Length(min=1, max=7439),
                             metadata={"description": "Markdown text"})
    parent_id = _id("Reply in the thread of this message (with room_id)")

    @validates_schema
    def _one_target_and_some_text(self, data: dict[str, Any], **kwargs: Any) -> None:
        targets = [k for k in ("room_id", "to_person_id", "to_person_email") if data.get(k)]
        if len(targets) != 1:
            raise ValidationError("give exactly one of room_id, to_person_id, to_person_email",
                                  field_name="room_id")
        if not data.get("text") and not data.get("markdown"):
            raise ValidationError("give text, markdown or both", field_name="text")
        if data.get("parent_id") and not data.get("room_id"):
            raise ValidationError("a thread reply needs room_id", field_name="parent_id")


class GetMessageInput(Schema):
    message_id = _id("The message", required=True)


class _Listing(Schema):
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000),
                               metadata={"description": "Stop after this many items"})


class ListMessagesInput(_Listing):
    room_id = _id("The room (space)", required=True)
    before = fields.AwareDateTime(metadata={"description": "Only messages sent before this "
                                                           "time (ISO 8601 with offset)"})
    mentioned_me = fields.Boolean(load_default=False,
                                  metadata={"description": "Only messages that mention me "
                                                           "(bots in group rooms see only these)"})


class ListRoomsInput(_Listing):
    type = fields.String(validate=validate.OneOf(("direct", "group")))
    team_id = _id("Only rooms of this team")
    sort_by = fields.String(validate=validate.OneOf(("id", "lastactivity", "created")))


class CreateRoomInput(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=255))
    team_id = _id("Create the room in this team")
    description = fields.String(validate=validate.Length(max=2000))
    is_locked = fields.Boolean(metadata={"description": "Moderated room"})


class AddMemberInput(Schema):
    room_id = _id("The room (space)", required=True)
    person_email = fields.Email(validate=validate.Length(max=320))
    person_id = _id("The person, by id")
    is_moderator = fields.Boolean(load_default=False)

    @validates_schema
    def _one_person(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("person_email")) == bool(data.get("person_id")):
            raise ValidationError("give person_email or person_id", field_name="person_email")


class CreateMeetingInput(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=128))
    start = fields.DateTime(required=True, metadata={"description": "ISO 8601; without an offset "
                                                                    "it is in timezone"})
    end = fields.DateTime(required=True)
    timezone = fields.String(validate=validate.Length(max=64),
                             metadata={"description": "IANA time zone of start and end "
                                                      "(default: the host's)"})
    agenda = fields.String(validate=validate.Length(max=1300))
    invitees = fields.List(fields.Email(), validate=validate.Length(max=100),
                           metadata={"description": "E-mail addresses to invite"})
    send_email = fields.Boolean(metadata={"description": "E-mail the invitees"})
    enabled_auto_record_meeting = fields.Boolean()

    @validates("timezone")
    def _known_zone(self, value: str, **kwargs: Any) -> None:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValidationError("an IANA time zone such as Europe/Paris") from exc

    @validates_schema
    def _ends_after_it_starts(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        if (start.tzinfo is None) != (end.tzinfo is None):
            raise ValidationError("give both times with an offset or neither", field_name="end")
        if end <= start:
            raise ValidationError("the meeting must end after it starts", field_name="end")


class CreateWebhookInput(Schema):
    name = fields.String(load_default="ATOM", validate=validate.Length(min=1, max=128))
    target_url = fields.Url(required=True, schemes={"https"}, validate=validate.Length(max=2048),
                            metadata={"description": "This connection's ATOM receiver: "
                                                     "https://<atom>/hooks/webex/<connection id>"})
    resource = fields.String(required=True, validate=validate.OneOf(
        ("messages", "memberships", "rooms", "meetings", "attachmentActions")))
    event = fields.String(required=True, validate=validate.OneOf(
        ("created", "updated", "deleted", "started", "ended", "all")))
    filter = fields.String(validate=[validate.Length(max=1000),
                                     validate.Regexp(r"^[A-Za-z]+=[^&\s]+(&[A-Za-z]+=[^&\s]+)*$",
                                                     error="key=value pairs joined by &")],
                           metadata={"description": "e.g. roomId=Y2lzY29z... or "
                                                    "mentionedPeople=me"})
