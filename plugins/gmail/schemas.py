"""Action inputs and trigger parameters of the Gmail plugin.

Everything that becomes a mail header is checked here, so header injection cannot happen: an
address must parse as exactly one mailbox with a valid address, and no header text may contain
a line break or any other control character.
"""
from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import getaddresses
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from plugins.google_common import ID

# No CR, LF, NUL or other control character (nor Unicode line separators): a header value.
# ``\Z``, not ``$``: ``$`` also matches before a final newline.
HEADER_TEXT = validate.Regexp(r"^[^\x00-\x1f\x7f\x85\u2028\u2029]*\Z",
                              error="must not contain line breaks or control characters")
_EMAIL = validate.Email(error="not a valid e-mail address")
MAX_RECIPIENTS = 100


def _mailbox(name: str, addr: str, given: str) -> str:
    if not addr:
        raise ValidationError(f"not an e-mail address: {given[:80]!r}")
    _EMAIL(addr)
    try:
        return str(Address(display_name=name, addr_spec=addr))
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise ValidationError(f"not a valid e-mail address: {given[:80]!r}") from exc


def mailbox(value: str) -> str:
    """``value`` as one normalised mailbox (``a@example.com`` or ``"Lovelace, Ada"
    <a@example.com>``); anything else is a validation error."""
    HEADER_TEXT(value)
    parsed = getaddresses([value])
    if len(parsed) != 1:
        raise ValidationError(f"not one e-mail address: {value[:80]!r}")
    return _mailbox(*parsed[0], value)


class Addresses(fields.Field):
    """One address, several separated by commas, or a list of them; loads as a list of
    normalised mailboxes."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            HEADER_TEXT(value)
            # Split as a mail reader would; each part is then checked alone.
            pairs = [p for p in getaddresses([value]) if p[0] or p[1]]
            out = [_mailbox(name, addr, value) for name, addr in pairs]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out = [mailbox(v) for v in value]
        else:
            raise ValidationError("give an e-mail address or a list of them")
        if not out:
            raise ValidationError("give at least one e-mail address")
        if len(out) > MAX_RECIPIENTS:
            raise ValidationError(f"at most {MAX_RECIPIENTS} addresses")
        return out


_MESSAGE_ID = validate.Regexp(r"^<[^<>\s]{1,250}>\Z",
                              error="an RFC 5322 Message-ID such as <CAB1x@mail.gmail.com>")
_LABEL = fields.String(validate=[validate.Length(min=1, max=225), HEADER_TEXT])


class ComposeInput(Schema):
    """An e-mail to build (RFC 2822 with the stdlib ``email`` package)."""

    to = Addresses(required=True, metadata={"description": "Address(es): a list or a "
                                                           "comma-separated string",
                                            "example": ["ada@example.com"]})
    cc = Addresses()
    bcc = Addresses()
    reply_to = Addresses()
    subject = fields.String(load_default="", validate=[validate.Length(max=998), HEADER_TEXT])
    text = fields.String(validate=validate.Length(min=1, max=1_000_000),
                         metadata={"description": "Plain-text body"})
    html = fields.String(validate=validate.Length(min=1, max=1_000_000),
                         metadata={"description": "HTML body (sent with the text as an "
                                                  "alternative when both are given)"})
    in_reply_to = fields.String(validate=_MESSAGE_ID,
                                metadata={"description": "Message-ID of the message answered"})
    references = fields.List(fields.String(validate=_MESSAGE_ID),
                             validate=validate.Length(max=50),
                             metadata={"description": "Message-IDs of the thread (default: "
                                                      "in_reply_to)"})
    thread_id = fields.String(validate=ID, metadata={"description": "Gmail thread to add the "
                                                                    "message to"})

    @validates_schema
    def _a_body(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("text") and not data.get("html"):
            raise ValidationError("give text, html or both", field_name="text")


class SendEmailInput(ComposeInput):
    pass


class CreateDraftInput(ComposeInput):
    pass


class ListMessagesInput(Schema):
    query = fields.String(validate=[validate.Length(min=1, max=2000), HEADER_TEXT],
                          metadata={"description": "Gmail search, as in the search box: "
                                                   "from:ada@example.com is:unread"})
    label_ids = fields.List(fields.String(validate=ID), validate=validate.Length(min=1, max=20),
                            metadata={"description": "Only messages with all of these labels"})
    include_spam_trash = fields.Boolean(load_default=False)
    metadata = fields.Boolean(load_default=True,
                              metadata={"description": "Fetch each message's headers and "
                                                       "snippet (one more call per message)"})
    max_items = fields.Integer(load_default=20, validate=validate.Range(min=1, max=500))


class GetMessageInput(Schema):
    id = fields.String(required=True, validate=ID, metadata={"description": "Gmail message id"})
    format = fields.String(load_default="full", validate=validate.OneOf(("full", "metadata")),
                           metadata={"description": "full: with the decoded text and html "
                                                    "bodies; metadata: headers only"})


class ModifyLabelsInput(Schema):
    id = fields.String(required=True, validate=ID, metadata={"description": "Gmail message id"})
    add = fields.List(_LABEL, validate=validate.Length(max=100), load_default=list,
                      metadata={"description": "Label ids (INBOX, STARRED, Label_12) or names"})
    remove = fields.List(_LABEL, validate=validate.Length(max=100), load_default=list)

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("add") and not data.get("remove"):
            raise ValidationError("give labels to add, to remove, or both", field_name="add")


class ListLabelsInput(Schema):
    type = fields.String(validate=validate.OneOf(("system", "user")),
                         metadata={"description": "Only system or only user labels"})


class NewMessageParams(Schema):
    """What a workflow narrows the new-message trigger with."""

    query = fields.String(validate=[validate.Length(min=1, max=2000), HEADER_TEXT],
                          metadata={"description": "Gmail search the message must match"})
    label_ids = fields.List(fields.String(validate=ID), validate=validate.Length(min=1, max=20),
                            metadata={"description": "The message must carry all of these"})
    include_sent = fields.Boolean(load_default=False,
                                  metadata={"description": "Also fire for mail this account "
                                                           "sends (off: a workflow that sends "
                                                           "mail would trigger itself)"})
