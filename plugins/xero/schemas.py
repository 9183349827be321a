"""Credentials, settings and action inputs of the Xero plugin."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens

UUID = validate.Regexp(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}$", error="a Xero id (a UUID such as "
                                                  "430fa14a-f945-44d3-9f97-5df5e28441b8)")
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="a three-letter ISO currency code (NZD, USD)")
CODE = validate.Regexp(r"^[A-Za-z0-9._-]{1,30}$", error="a Xero code (letters, digits, . _ -)")
STATUSES = ("DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED")


def _uuid(description: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=UUID, metadata={"description": description}, **kwargs)


class XeroCredentials(OAuth2Tokens):
    """The tokens of the OAuth 2.0 connect flow (Xero offers nothing else for its API), and
    the app's webhook key."""

    webhook_key = fields.String(
        validate=validate.Length(min=16, max=200),
        metadata={"secret": True, "description": "The webhook key of the Xero app "
                                                 "(developer portal > Webhooks)"})


class XeroSettings(Schema):
    tenant_id = _uuid("The organisation (tenant) to work in: found at connect time, the only "
                      "one the user authorised or the one named here")
    tenant_name = fields.String(validate=validate.Length(min=1, max=255),
                                metadata={"description": "Pick the organisation by name when "
                                                         "the user authorised several"})


class ContactInput(Schema):
    contact_id = _uuid("The contact", required=True)


class CreateContactInput(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255),
                         metadata={"description": "The contact's name (unique in Xero)"})
    email = fields.Email(validate=validate.Length(max=255))
    first_name = fields.String(validate=validate.Length(min=1, max=255))
    last_name = fields.String(validate=validate.Length(min=1, max=255))
    phone = fields.String(validate=validate.Length(min=1, max=50))
    account_number = fields.String(validate=validate.Length(min=1, max=50))
    tax_number = fields.String(validate=validate.Length(min=1, max=50))


class LineItem(Schema):
    description = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    quantity = fields.Float(load_default=1.0, validate=validate.Range(min=0, max=1e9))
    unit_amount = fields.Float(required=True, validate=validate.Range(min=-1e12, max=1e12))
    account_code = fields.String(validate=CODE, metadata={"description": "Ledger account "
                                                                         "(200 = Sales)"})
    item_code = fields.String(validate=CODE)
    tax_type = fields.String(validate=validate.Regexp(r"^[A-Z0-9_]{1,40}$",
                                                      error="a Xero tax type (OUTPUT, NONE)"))
    discount_rate = fields.Float(validate=validate.Range(min=0, max=100))


class CreateInvoiceInput(Schema):
    contact_id = _uuid("Who the invoice is for")
    contact_name = fields.String(validate=validate.Length(min=1, max=255),
                                 metadata={"description": "Or the contact's name (Xero "
                                                          "creates it when new)"})
    line_items = fields.List(fields.Nested(LineItem), required=True,
                             validate=validate.Length(min=1, max=500))
    date = fields.Date(metadata={"description": "Invoice date (default: today, Xero's)"})
    due_date = fields.Date()
    reference = fields.String(validate=validate.Length(min=1, max=255))
    invoice_number = fields.String(validate=validate.Length(min=1, max=255),
                                   metadata={"description": "Default: Xero numbers it"})
    status = fields.String(load_default="DRAFT",
                           validate=validate.OneOf(("DRAFT", "SUBMITTED", "AUTHORISED")))
    line_amount_types = fields.String(validate=validate.OneOf(("Exclusive", "Inclusive",
                                                               "NoTax")),
                                      metadata={"description": "Whether unit amounts include "
                                                               "tax"})
    currency_code = fields.String(validate=CURRENCY)

    @validates_schema
    def _contact(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        if bool(data.get("contact_id")) == bool(data.get("contact_name")):
            raise ValidationError("give contact_id or contact_name (one of them)",
                                  field_name="contact_id")


class InvoiceInput(Schema):
    invoice_id = _uuid("The invoice or bill", required=True)


class ListInvoicesInput(Schema):
    type = fields.String(validate=validate.OneOf(("ACCREC", "ACCPAY")),
                         metadata={"description": "ACCREC: sales invoices, ACCPAY: bills "
                                                  "(default: both)"})
    statuses = fields.List(fields.String(validate=validate.OneOf(STATUSES)),
                           validate=validate.Length(min=1, max=6))
    contact_ids = fields.List(fields.String(validate=UUID), validate=validate.Length(min=1,
                                                                                     max=100))
    where = fields.String(validate=validate.Length(min=1, max=1000),
                          metadata={"description": "A Xero where filter "
                                                   "(AmountDue >= 100 AND Reference==\"PO-1\")"})
    modified_since = fields.AwareDateTime(metadata={"description": "Only invoices changed since "
                                                                   "(If-Modified-Since)"})
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000))
