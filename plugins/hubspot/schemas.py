"""Credentials and action inputs of the HubSpot CRM plugin."""
from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens

# Object ids are numeric; checked because they become part of the URL path.
OBJECT_ID = validate.Regexp(r"^[0-9]{1,20}$", error="not a HubSpot record id")
# Internal property names: "firstname", "hs_lead_status", "favorite_color".
PROPERTY = validate.Regexp(r"^[A-Za-z0-9_]{1,100}$", error="not a property name")
CONTACT_PROPERTIES = ("email", "firstname", "lastname", "phone", "company", "lifecyclestage")
DEAL_PROPERTIES = ("dealname", "amount", "dealstage", "pipeline", "closedate")


def _properties(**kwargs: Any) -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=PROPERTY), values=fields.Raw(allow_none=True),
                       metadata={"description": "More properties by internal name"}, **kwargs)


def _property_names(default: tuple[str, ...]) -> fields.List:
    return fields.List(fields.String(validate=PROPERTY), load_default=lambda: list(default),
                       metadata={"description": "Properties to return"})


def _record_id(**kwargs: Any) -> fields.String:
    return fields.String(validate=OBJECT_ID, **kwargs)


class HubSpotCredentials(OAuth2Tokens):
    access_token = fields.String(required=True, validate=validate.Length(min=1),
                                 metadata={"secret": True,
                                           "description": "Private app access token (pat-...)"})
    client_secret = fields.String(metadata={"secret": True,
                                            "description": "App client secret; signs webhooks "
                                                           "(X-HubSpot-Signature-v3)"})


class CreateContactInput(Schema):
    email = fields.Email(required=True)
    firstname = fields.String(validate=validate.Length(max=255))
    lastname = fields.String(validate=validate.Length(max=255))
    phone = fields.String(validate=validate.Length(max=100))
    company = fields.String(validate=validate.Length(max=255))
    properties = _properties(load_default=dict)


class UpdateContactInput(Schema):
    contact_id = _record_id(required=True)
    email = fields.Email()
    firstname = fields.String(validate=validate.Length(max=255))
    lastname = fields.String(validate=validate.Length(max=255))
    phone = fields.String(validate=validate.Length(max=100))
    company = fields.String(validate=validate.Length(max=255))
    properties = _properties(load_default=dict)

    @validates_schema
    def _something_to_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if set(data) <= {"contact_id"} or (set(data) == {"contact_id", "properties"}
                                           and not data["properties"]):
            raise ValidationError("give at least one property to change", "properties")


class GetContactInput(Schema):
    contact_id = _record_id()
    email = fields.Email(metadata={"description": "Look the contact up by email instead of id"})
    properties = _property_names(CONTACT_PROPERTIES)

    @validates_schema
    def _one_key(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("contact_id")) == bool(data.get("email")):
            raise ValidationError("give either contact_id or email", "contact_id")


class SearchContactsInput(Schema):
    query = fields.String(validate=validate.Length(min=1, max=3000),
                          metadata={"description": "Free text over name, email, phone, company"})
    email = fields.Email(metadata={"description": "Exact email match"})
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
    after = fields.String(validate=validate.Length(min=1, max=100),
                          metadata={"description": "next_after of the previous page"})
    properties = _property_names(CONTACT_PROPERTIES)


class CreateDealInput(Schema):
    dealname = fields.String(required=True, validate=validate.Length(min=1, max=255))
    amount = fields.Decimal(as_string=True, allow_nan=False)
    pipeline = fields.String(load_default="default", validate=validate.Length(min=1, max=100))
    dealstage = fields.String(load_default="appointmentscheduled",
                              validate=validate.Length(min=1, max=100),
                              metadata={"description": "Stage id within the pipeline"})
    closedate = fields.AwareDateTime(default_timezone=UTC,
                                     metadata={"description": "ISO 8601; UTC when no offset"})
    contact_id = _record_id(metadata={"description": "Associate the deal with this contact"})
    properties = _properties(load_default=dict)


class ListDealsInput(Schema):
    max_results = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000),
                                 metadata={"description": "Stop after this many deals"})
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=100))
    properties = _property_names(DEAL_PROPERTIES)


class CreateNoteInput(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=65_536),
                         metadata={"description": "Note text (HubSpot renders it as HTML)"})
    timestamp = fields.AwareDateTime(default_timezone=UTC,
                                     metadata={"description": "When the note happened "
                                                              "(default: now)"})
    contact_id = _record_id()
    deal_id = _record_id()
