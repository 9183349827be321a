"""Schemas of the admin API: API keys, users and the audit log (bodies, queries, responses)."""
from __future__ import annotations

from datetime import UTC

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate

from atom.accounts import MAX_EMAIL
from atom.accounts import MAX_PASSWORD
from atom.accounts import MIN_PASSWORD
from atom.api.pagination import CountedPageOut
from atom.api.pagination import PageQuery
from atom.api.schemas import StrictSchema
from atom.models.user import ROLES

# Refused: control characters (PostgreSQL cannot store NUL) and lone surrogates (no encoding
# can store them).
PLAIN_TEXT = validate.Regexp(r"^[^\x00-\x1f\x7f\ud800-\udfff]*$",
                             error="must not contain control characters or lone surrogates")
NO_SURROGATES = validate.Regexp(r"^[^\ud800-\udfff]*$", error="must not contain lone surrogates")
MAX_OFFSET = 1_000_000_000


def _naive_utc(data: dict, names: tuple[str, ...]) -> dict:
    """Timestamps are stored as naive UTC; a time that is past year 9999 in UTC is no date."""
    for name in names:
        if data.get(name) is not None:
            try:
                data[name] = data[name].astimezone(UTC).replace(tzinfo=None)
            except (OverflowError, ValueError) as exc:
                raise ValidationError({name: ["out of range"]}) from exc
    return data


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=max_length), PLAIN_TEXT], **kwargs)


class KeyCreate(StrictSchema):
    name = _text(120, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    expires_at = fields.AwareDateTime(default_timezone=UTC, metadata={
        "description": "ISO-8601 (UTC unless given); the key stops working then"})

    @post_load
    def _naive_utc(self, data, **kwargs):
        return _naive_utc(data, ("expires_at",))


class KeyOut(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    prefix = fields.String(metadata={"description": "the first characters of the key, to tell "
                                                    "keys apart; never the key"})
    created_at = fields.String()
    last_used_at = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True, metadata={"description": "when it was revoked"})
    expires_at = fields.String(allow_none=True, metadata={
        "description": "when it stops working by itself; null for no expiry"})
    active = fields.Boolean(metadata={"description": "neither revoked nor expired"})


class KeyCreated(KeyOut):
    key = fields.String(metadata={"description": "the key itself: shown in this response only"})


class KeyList(CountedPageOut):
    keys = fields.List(fields.Nested(KeyOut))


class UserCreate(StrictSchema):
    email = fields.Email(required=True, validate=[validate.Length(max=MAX_EMAIL), PLAIN_TEXT])
    role = fields.String(load_default="viewer", validate=validate.OneOf(ROLES))
    password = fields.String(validate=[validate.Length(min=MIN_PASSWORD, max=MAX_PASSWORD),
                                       NO_SURROGATES],
                             metadata={"description": "omit to generate a one-time password"})


class UserUpdate(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean(metadata={"description": "false ends the user's sessions"})
    reset_password = fields.Boolean(metadata={"description": "true issues a new one-time password "
                                                             "(in the response) and ends the "
                                                             "user's sessions"})


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    role = fields.String()
    active = fields.Boolean()
    must_change_password = fields.Boolean()
    password_expires_at = fields.String(allow_none=True, metadata={
        "description": "when the one-time password stops working"})
    created_at = fields.String()
    last_login_at = fields.String(allow_none=True)


class UserWithPassword(UserOut):
    one_time_password = fields.String(allow_none=True, metadata={
        "description": "shown in this response only; null when none was issued"})


class UserList(CountedPageOut):
    users = fields.List(fields.Nested(UserOut))


class AuditQuery(StrictSchema, PageQuery):
    actor = _text(200, metadata={"description": "exact, e.g. key:ci or alice@example.com"})
    action = _text(64, metadata={"description": "exact, e.g. key.create or auth.login_failed"})
    subject = _text(200, metadata={"description": "exact, e.g. user:3 or connection:7"})
    since = fields.AwareDateTime(default_timezone=UTC,
                                 metadata={"description": "ISO-8601, inclusive (UTC unless given)"})
    until = fields.AwareDateTime(default_timezone=UTC,
                                 metadata={"description": "ISO-8601, exclusive (UTC unless given)"})
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET),
                            metadata={"description": "deprecated (use cursor): events to "
                                                     "skip after the cursor"})

    @post_load
    def _naive_utc(self, data, **kwargs):
        return _naive_utc(data, ("since", "until"))


class AuditEventOut(Schema):
    id = fields.Integer()
    ts = fields.String()
    actor = fields.String()
    action = fields.String()
    subject = fields.String()
    detail = fields.Dict()


class AuditList(CountedPageOut):
    events = fields.List(fields.Nested(AuditEventOut))
