"""Settings, credentials and action inputs of the Zendesk plugin.

Ticket, user and group ids are 64-bit integers (bigger ones are refused here, before any
request); they reach URL paths only as integers.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

MAX_ID = 2**63 - 1
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TYPES = ("problem", "incident", "question", "task")


def _id(description: str, required: bool = False) -> fields.Integer:
    return fields.Integer(required=required, strict=True,
                          validate=validate.Range(min=1, max=MAX_ID,
                                                  error="a Zendesk id (a positive 64-bit integer)"),
                          metadata={"description": description})


class ZendeskSettings(Schema):
    subdomain = fields.String(
        validate=validate.Regexp(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
                                 error="the account's subdomain: acme for acme.zendesk.com"),
        metadata={"destination": True, "example": "acme",
                  "description": "Your Zendesk subdomain (acme in https://acme.zendesk.com)"})

    @validates_schema
    def _somewhere(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        if not partial and not data.get("subdomain") and not data.get("base_url"):
            raise ValidationError("give the subdomain (acme for acme.zendesk.com)",
                                  field_name="subdomain")


class ZendeskCredentials(OAuth2Tokens):
    """An agent's e-mail and API token (Admin Center > Apps and integrations > Zendesk API), or
    the tokens of the OAuth2 connect flow."""

    email = fields.Email(validate=validate.Length(max=254),
                         metadata={"description": "The agent the API token acts as",
                                   "example": "agent@example.com"})
    api_token = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9]{20,100}$", error="a Zendesk API token "
                                                                  "(letters and digits)"),
        metadata={"secret": True, "description": "Zendesk API token",
                  "example": "6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"})
    webhook_secret = fields.String(
        validate=validate.Length(min=16, max=256),
        metadata={"secret": True,
                  "description": "The webhook's signing secret (Admin Center > Webhooks > "
                                 "the webhook > Reveal secret)"})

    _token_or_oauth = require_one("api_token", "access_token")

    @validates_schema
    def _token_needs_its_agent(self, data: dict[str, Any], partial: Any = None,
                               **kwargs: Any) -> None:
        if not partial and data.get("api_token") and not data.get("email"):
            raise ValidationError("an API token is used with the agent's e-mail",
                                  field_name="email")


class _Comment(Schema):
    body = fields.String(validate=validate.Length(min=1, max=65_535),
                         metadata={"description": "Comment text"})
    html_body = fields.String(validate=validate.Length(min=1, max=65_535),
                              metadata={"description": "Comment as HTML (instead of body)"})


class CustomField(Schema):
    id = _id("Custom ticket field id", required=True)
    value = fields.Raw(required=True, allow_none=True,
                       metadata={"description": "String, number, boolean or list of tags"})


class _TicketFields(Schema):
    subject = fields.String(validate=validate.Length(min=1, max=255))
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    type = fields.String(validate=validate.OneOf(TYPES))
    assignee_id = _id("Agent to assign")
    group_id = _id("Group to assign")
    tags = fields.List(fields.String(validate=validate.Regexp(
        r"^[^\s,]{1,80}$", error="a tag has no spaces or commas")),
        validate=validate.Length(max=100), metadata={"description": "Replaces the tags"})
    custom_fields = fields.List(fields.Nested(CustomField), validate=validate.Length(max=100))
    due_at = fields.AwareDateTime(metadata={"description": "For tasks (ISO 8601 with offset)"})
    external_id = fields.String(validate=validate.Length(max=255))


class CreateTicketInput(_TicketFields, _Comment):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=255))
    public = fields.Boolean(load_default=True, metadata={"description": "The first comment is "
                                                                        "public (default)"})
    requester_email = fields.Email(validate=validate.Length(max=254),
                                   metadata={"description": "Requester (created if new)"})
    requester_name = fields.String(validate=validate.Length(min=1, max=255),
                                   metadata={"description": "Name of a new requester"})
    requester_id = _id("Requester, by user id")

    @validates_schema
    def _has_a_description(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("body")) == bool(data.get("html_body")):
            raise ValidationError("give the first comment as body or html_body", field_name="body")
        if data.get("requester_id") and data.get("requester_email"):
            raise ValidationError("give requester_id or requester_email, not both",
                                  field_name="requester_email")
        if data.get("requester_name") and not data.get("requester_email"):
            raise ValidationError("a requester name goes with requester_email",
                                  field_name="requester_name")


class UpdateTicketInput(_TicketFields, _Comment):
    ticket_id = _id("The ticket", required=True)
    public = fields.Boolean(load_default=False,
                            metadata={"description": "With body: the comment is public"})
    updated_stamp = fields.AwareDateTime(
        metadata={"description": "Refuse the update (409) if the ticket changed since this "
                                 "updated_at (Zendesk's safe update)"})

    @validates_schema
    def _changes_something(self, data: dict[str, Any], **kwargs: Any) -> None:
        changes = set(data) - {"ticket_id", "public", "updated_stamp"}
        if not changes:
            raise ValidationError("give at least one field to change", field_name="ticket_id")
        if data.get("body") and data.get("html_body"):
            raise ValidationError("give body or html_body, not both", field_name="body")


class AddCommentInput(_Comment):
    ticket_id = _id("The ticket", required=True)
    public = fields.Boolean(load_default=False,
                            metadata={"description": "Visible to the requester (default: an "
                                                     "internal note)"})
    author_id = _id("Comment as this user (default: the connection's agent)")

    @validates_schema
    def _has_text(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("body")) == bool(data.get("html_body")):
            raise ValidationError("give body or html_body", field_name="body")


class GetTicketInput(Schema):
    ticket_id = _id("The ticket", required=True)


class SearchInput(Schema):
    query = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                          metadata={"description": "Zendesk search syntax, e.g. "
                                                   "\"status<solved priority:urgent\"; "
                                                   "type:ticket is added"})
    sort_by = fields.String(validate=validate.OneOf(
        ("updated_at", "created_at", "priority", "status", "ticket_type")))
    sort_order = fields.String(validate=validate.OneOf(("asc", "desc")))
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                               metadata={"description": "Stop after this many tickets (the "
                                                        "search API returns at most 1,000)"})
