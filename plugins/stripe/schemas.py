"""Credentials, settings and action inputs of the Stripe plugin."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema


def _id(prefixes: tuple[str, ...], what: str) -> validate.Regexp:
    """Stripe object ids: a type prefix, ``_`` and letters/digits (``cus_NffrFeUfNV2Hib``).
    Checked strictly because ids become URL path segments."""
    return validate.Regexp(rf"^(?:{'|'.join(prefixes)})_[A-Za-z0-9]{{1,250}}$",
                           error=f"a Stripe {what} id ({prefixes[0]}_...)")


CUSTOMER_ID = _id(("cus",), "customer")
CHARGE_ID = _id(("ch", "py"), "charge")
PAYMENT_INTENT_ID = _id(("pi",), "payment intent")
PRICE_ID = _id(("price", "plan"), "price")
CURRENCY = validate.Regexp(r"^[a-z]{3}$", error="a three-letter ISO currency code, lower case "
                                                "(usd, eur)")
# Stripe's metadata: up to 50 keys, names up to 40 characters, values up to 500
# (https://docs.stripe.com/api/metadata).
METADATA_KEY = validate.Regexp(r"^[^\[\]]{1,40}$", error="up to 40 characters, no brackets")


def _metadata() -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=METADATA_KEY),
                       values=fields.String(validate=validate.Length(max=500)),
                       validate=validate.Length(max=50),
                       metadata={"description": "Key-value pairs stored on the object"})


def _max_items(default: int = 100) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=10_000),
                          metadata={"description": "Stop after this many items"})


class StripeCredentials(Schema):
    """A secret key (``sk_live_...``/``sk_test_...``) or a restricted key (``rk_...``)."""

    secret_key = fields.String(
        required=True,
        validate=validate.Regexp(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,250}$",
                                 error="a Stripe secret or restricted key (sk_test_..., "
                                       "sk_live_..., rk_live_...)"),
        metadata={"secret": True, "description": "Secret or restricted API key",
                  "example": "sk_test_4eC39HqLyjWDarjtT1zdp7dc"})
    webhook_secret = fields.String(
        validate=validate.Regexp(r"^whsec_[A-Za-z0-9+/=_-]{8,250}$",
                                 error="the endpoint's signing secret (whsec_...)"),
        metadata={"secret": True, "description": "The webhook endpoint's signing secret "
                                                 "(Developers > Webhooks > Signing secret)",
                  "example": "whsec_contract0123456789abcdef"})


class StripeSettings(Schema):
    stripe_account = fields.String(
        validate=validate.Regexp(r"^acct_[A-Za-z0-9]{1,64}$", error="a connected account id "
                                                                    "(acct_...)"),
        metadata={"description": "Act on this connected account (Stripe Connect: the "
                                 "Stripe-Account header)"})
    api_version = fields.String(
        validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$",
                                 error="a Stripe API version such as 2023-08-16"),
        metadata={"description": "Stripe-Version to send (default: the account's)"})


class CreateCustomerInput(Schema):
    email = fields.Email(validate=validate.Length(max=512))
    name = fields.String(validate=validate.Length(min=1, max=256))
    phone = fields.String(validate=validate.Length(min=1, max=20))
    description = fields.String(validate=validate.Length(max=350))
    metadata = _metadata()

    @validates_schema
    def _something(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if not partial and not any(data.get(k) for k in ("email", "name", "phone")):
            raise ValidationError("give at least an email, a name or a phone", field_name="email")


class CustomerInput(Schema):
    customer_id = fields.String(required=True, validate=CUSTOMER_ID)


class SearchCustomersInput(Schema):
    email = fields.Email(metadata={"description": "Customers with exactly this email"})
    query = fields.String(validate=validate.Length(min=1, max=1000),
                          metadata={"description": "Stripe search query (name~\"acme\" AND "
                                                   "metadata['plan']:'pro'); not with email"})
    max_items = _max_items(20)

    @validates_schema
    def _one(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        if bool(data.get("email")) == bool(data.get("query")):
            raise ValidationError("give email or query (one of them)", field_name="email")


class CreateInvoiceInput(Schema):
    customer_id = fields.String(required=True, validate=CUSTOMER_ID)
    description = fields.String(validate=validate.Length(max=1500),
                                metadata={"description": "The invoice's memo"})
    collection_method = fields.String(
        load_default="charge_automatically",
        validate=validate.OneOf(("charge_automatically", "send_invoice")),
        metadata={"description": "charge the default payment method, or email the invoice"})
    days_until_due = fields.Integer(validate=validate.Range(min=0, max=3650),
                                    metadata={"description": "For send_invoice"})
    currency = fields.String(validate=CURRENCY)
    auto_advance = fields.Boolean(metadata={"description": "Let Stripe finalize the draft "
                                                           "automatically"})
    include_pending_items = fields.Boolean(
        load_default=True,
        metadata={"description": "Pull the customer's pending invoice items onto the invoice"})
    footer = fields.String(validate=validate.Length(max=5000))
    metadata = _metadata()

    @validates_schema
    def _due(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if (not partial and data.get("collection_method") == "send_invoice"
                and data.get("days_until_due") is None):
            raise ValidationError("send_invoice needs days_until_due", field_name="days_until_due")


class LineItem(Schema):
    price = fields.String(validate=PRICE_ID, metadata={"description": "A Price id"})
    name = fields.String(validate=validate.Length(min=1, max=250),
                         metadata={"description": "Product name, for an ad-hoc price "
                                                  "(with unit_amount and currency)"})
    unit_amount = fields.Integer(validate=validate.Range(min=0, max=99_999_999),
                                 metadata={"description": "In the currency's smallest unit "
                                                          "(cents)"})
    currency = fields.String(validate=CURRENCY)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=999_999))

    @validates_schema
    def _price_or_data(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        adhoc = [k for k in ("name", "unit_amount", "currency") if data.get(k) is not None]
        if data.get("price") and adhoc:
            raise ValidationError("give price, or name with unit_amount and currency; not both",
                                  field_name="price")
        if not data.get("price") and len(adhoc) != 3:
            raise ValidationError("give price, or name, unit_amount and currency",
                                  field_name="price")


class CreateCheckoutSessionInput(Schema):
    success_url = fields.Url(required=True, schemes={"https", "http"}, require_tld=False)
    cancel_url = fields.Url(schemes={"https", "http"}, require_tld=False)
    mode = fields.String(load_default="payment",
                         validate=validate.OneOf(("payment", "subscription", "setup")))
    line_items = fields.List(fields.Nested(LineItem), validate=validate.Length(min=1, max=100))
    customer_id = fields.String(validate=CUSTOMER_ID)
    customer_email = fields.Email()
    client_reference_id = fields.String(validate=validate.Length(min=1, max=200),
                                        metadata={"description": "Your own id for the order"})
    metadata = _metadata()

    @validates_schema
    def _items(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        if data.get("mode") != "setup" and not data.get("line_items"):
            raise ValidationError("payment and subscription pages need line_items",
                                  field_name="line_items")
        if data.get("customer_id") and data.get("customer_email"):
            raise ValidationError("give customer_id or customer_email, not both",
                                  field_name="customer_email")


class ListChargesInput(Schema):
    customer_id = fields.String(validate=CUSTOMER_ID)
    payment_intent_id = fields.String(validate=PAYMENT_INTENT_ID)
    created_after = fields.AwareDateTime(metadata={"description": "Only charges created at or "
                                                                  "after (ISO 8601 with zone)"})
    max_items = _max_items()


class RefundInput(Schema):
    charge_id = fields.String(validate=CHARGE_ID)
    payment_intent_id = fields.String(validate=PAYMENT_INTENT_ID)
    amount = fields.Integer(validate=validate.Range(min=1, max=99_999_999),
                            metadata={"description": "In the smallest currency unit; "
                                                     "default: all that is left"})
    reason = fields.String(validate=validate.OneOf(("duplicate", "fraudulent",
                                                    "requested_by_customer")))
    metadata = _metadata()

    @validates_schema
    def _one(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial:
            return
        if bool(data.get("charge_id")) == bool(data.get("payment_intent_id")):
            raise ValidationError("give charge_id or payment_intent_id (one of them)",
                                  field_name="charge_id")
