"""Stripe: customers, invoices, hosted payment pages, charges and refunds; payment, refund,
invoice, customer, checkout and subscription events through signed webhooks."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.stripe import samples
from plugins.stripe.schemas import CreateCheckoutSessionInput
from plugins.stripe.schemas import CreateCustomerInput
from plugins.stripe.schemas import CreateInvoiceInput
from plugins.stripe.schemas import CustomerInput
from plugins.stripe.schemas import ListChargesInput
from plugins.stripe.schemas import RefundInput
from plugins.stripe.schemas import SearchCustomersInput
from plugins.stripe.schemas import StripeCredentials
from plugins.stripe.schemas import StripeSettings

_S, _I, _B = maybe(STR), maybe(INT), maybe(BOOL)
_META = obj(about="the object's metadata (string values)")
_CUSTOMER = obj(required=("id",), id=STR, email=_S, name=_S, phone=_S, description=_S,
                created=_I, livemode=_B, metadata=_META,
                about="a Stripe customer")
_INVOICE = obj(required=("id",), id=STR, number=_S, customer=_S, status=_S, currency=_S,
               amount_due=_I, amount_paid=_I, total=_I, collection_method=_S,
               hosted_invoice_url=_S, invoice_pdf=_S, due_date=_I, created=_I, metadata=_META,
               about="a Stripe invoice; amounts in the currency's smallest unit")
_SESSION = obj(required=("id",), id=STR, url=_S, mode=_S, status=_S, payment_status=_S,
               customer=_S, customer_email=_S, client_reference_id=_S, amount_total=_I,
               currency=_S, payment_intent=_S, subscription=_S, expires_at=_I, metadata=_META,
               about="a Checkout Session: url is the hosted payment page to send the payer")
_CHARGE = obj(required=("id",), id=STR, amount=_I, amount_refunded=_I, currency=_S, status=_S,
              paid=_B, refunded=_B, customer=_S, payment_intent=_S, description=_S,
              receipt_email=_S, receipt_url=_S, created=_I, metadata=_META)
_REFUND = obj(required=("id",), id=STR, amount=_I, currency=_S, status=_S, reason=_S,
              charge=_S, payment_intent=_S, created=_I, metadata=_META)
_PAYMENT_INTENT = obj(required=("id",), id=STR, amount=_I, amount_received=_I, currency=_S,
                      status=_S, customer=_S, description=_S, receipt_email=_S,
                      latest_charge=_S, last_payment_error=_S, created=_I, metadata=_META)
_SUBSCRIPTION = obj(required=("id",), id=STR, customer=_S, status=_S,
                    cancel_at_period_end=_B, current_period_end=_I, canceled_at=_I,
                    prices=arr(STR), created=_I, metadata=_META)


def _event(shape: dict) -> dict:
    """A trigger payload: the event, and its data.object shaped like the action outputs."""
    return obj(required=("event_id", "event_type", "object"), event_id=STR, event_type=STR,
               created=INT, livemode=BOOL, account=_S, object=shape,
               previous_attributes=obj(about="the fields an update changed, as they were"))


MANIFEST = Manifest(
    slug="stripe",
    display_name="Stripe",
    category="finance",
    description="Create and find customers, draft invoices, make hosted payment pages, list "
                "charges and refund them; react to payments, refunds, paid invoices, new "
                "customers, completed checkouts and subscription changes.",
    docs_url="https://docs.stripe.com/api",
    # A secret (or restricted) key as a Bearer token; Stripe accepts the same key as the HTTP
    # Basic user name. Keys are static: rotate them in the Dashboard.
    auth=AuthScheme(kind="bearer", fields=StripeCredentials, secret="secret_key"),
    settings=StripeSettings,
    integration="plugins.stripe.integration:StripeIntegration",
    base_url="https://api.stripe.com/v1",
    aliases=("stripe payments", "stripe billing", "stripe checkout", "payments", "card payments"),
    # Live mode allows 100 operations a second and test mode 25
    # (https://docs.stripe.com/rate-limits): the test-mode figure by default, raise it per
    # connection with rate_limit_per_second.
    rate_limit=RateLimit(per_second=25, burst=25),
    actions=(
        Action("create_customer", "Create a customer", CreateCustomerInput, _CUSTOMER,
               example={"email": "jenny.rosen@example.com", "name": "Jenny Rosen",
                        "metadata": {"crm_id": "6735"}},
               description="Idempotent through the step's Idempotency-Key: a retried step "
                           "does not create a second customer.",
               words=("customer", "new customer", "add customer", "create customer",
                      "payer", "client")),
        Action("get_customer", "Get a customer", CustomerInput, _CUSTOMER,
               example={"customer_id": "cus_NffrFeUfNV2Hib"}, idempotent=True, read_only=True,
               words=("customer details", "look up customer", "find customer by id")),
        Action("search_customers", "Search customers", SearchCustomersInput,
               listing("customers", _CUSTOMER),
               example={"email": "jenny.rosen@example.com", "max_items": 1},
               idempotent=True, read_only=True,
               description="By email, or with Stripe's search query language. Search results "
                           "can lag behind writes by up to a minute (Stripe's note).",
               words=("search customers", "find customer", "customer by email",
                      "look up customer")),
        Action("create_invoice", "Create a draft invoice", CreateInvoiceInput, _INVOICE,
               example={"customer_id": "cus_NffrFeUfNV2Hib", "collection_method": "send_invoice",
                        "days_until_due": 30, "description": "March consulting",
                        "metadata": {"order_id": "6735"}},
               description="A draft invoice that takes the customer's pending invoice items. "
                           "Line items themselves are invoice items "
                           "(POST /v1/invoiceitems), which the contract spec does not "
                           "describe, so this action does not add them.",
               words=("invoice", "bill", "send invoice", "create invoice", "charge customer")),
        Action("create_checkout_session", "Create a payment page (Checkout)",
               CreateCheckoutSessionInput, _SESSION,
               example={"success_url": "https://example.com/thanks", "mode": "payment",
                        "line_items": [{"name": "T-shirt", "unit_amount": 2000,
                                        "currency": "usd", "quantity": 1}],
                        "client_reference_id": "order-6735", "metadata": {"order_id": "6735"}},
               description="A Stripe-hosted payment page; send its url to the payer. Stands in "
                           "for Payment Links, which the contract spec does not describe. The "
                           "page expires after 24 hours (Stripe's default).",
               words=("payment link", "checkout link", "pay link", "payment page", "checkout",
                      "collect payment", "get paid")),
        Action("list_charges", "List charges", ListChargesInput, listing("charges", _CHARGE),
               example={"customer_id": "cus_NffrFeUfNV2Hib", "max_items": 1},
               idempotent=True, read_only=True,
               description="Newest first, following starting_after while has_more.",
               words=("charges", "payments", "list payments", "recent payments",
                      "transactions")),
        Action("refund", "Refund a payment", RefundInput, _REFUND,
               example={"charge_id": "ch_3MmlLrLkdIwHu7ix0snN0B15", "amount": 500,
                        "reason": "requested_by_customer"},
               description="A charge or a payment intent, in full or (with amount) in part.",
               words=("refund", "give money back", "reverse payment", "partial refund")),
    ),
    triggers=(
        Trigger("payment_succeeded", "Payment succeeded", samples.PAYMENT_SUCCEEDED,
                _event(_PAYMENT_INTENT), description="payment_intent.succeeded",
                words=("payment received", "new payment", "customer paid", "payment succeeded",
                       "successful payment", "sale")),
        Trigger("payment_failed", "Payment failed", samples.PAYMENT_FAILED,
                _event(_PAYMENT_INTENT), description="payment_intent.payment_failed",
                words=("payment failed", "card declined", "failed payment")),
        Trigger("charge_refunded", "Charge refunded", samples.CHARGE_REFUNDED, _event(_CHARGE),
                description="charge.refunded (also for partial refunds: amount_refunded says "
                            "how much)",
                words=("refund issued", "charge refunded", "money returned")),
        Trigger("invoice_paid", "Invoice paid", samples.INVOICE_PAID, _event(_INVOICE),
                description="invoice.paid", words=("invoice paid", "bill paid")),
        Trigger("invoice_payment_failed", "Invoice payment failed",
                samples.INVOICE_PAYMENT_FAILED, _event(_INVOICE),
                description="invoice.payment_failed",
                words=("invoice payment failed", "invoice unpaid", "dunning")),
        Trigger("customer_created", "Customer created", samples.CUSTOMER_CREATED,
                _event(_CUSTOMER), description="customer.created",
                words=("new customer", "customer created", "customer signed up")),
        Trigger("checkout_completed", "Checkout completed", samples.CHECKOUT_COMPLETED,
                _event(_SESSION),
                description="checkout.session.completed (payment_status says whether the "
                            "money arrived; delayed methods pay later)",
                words=("checkout completed", "order placed", "someone paid the link",
                       "payment link paid")),
        Trigger("subscription_created", "Subscription started", samples.SUBSCRIPTION_CREATED,
                _event(_SUBSCRIPTION), description="customer.subscription.created",
                words=("new subscription", "subscription started", "new subscriber")),
        Trigger("subscription_updated", "Subscription changed", samples.SUBSCRIPTION_UPDATED,
                _event(_SUBSCRIPTION), description="customer.subscription.updated",
                words=("subscription changed", "plan changed", "subscription updated")),
        Trigger("subscription_deleted", "Subscription cancelled", samples.SUBSCRIPTION_DELETED,
                _event(_SUBSCRIPTION), description="customer.subscription.deleted",
                words=("subscription cancelled", "churn", "subscription ended",
                       "customer cancelled")),
    ),
    # Deliveries are de-duplicated by the event id in the body, and replays by the signature.
    webhook=WebhookSpec(scheme="stripe_v1", secret_field="webhook_secret"),
    # The spec's paths start with /v1 (its server is https://api.stripe.com/).
    contract=Contract("openapi", "stripe.json", base_path="/v1"),
)
