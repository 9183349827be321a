"""Trigger samples: Stripe events (shapes of https://docs.stripe.com/api/events/object and the
objects' reference pages) as :func:`plugins.stripe.payloads.event_payload` hands them over."""
from __future__ import annotations

from plugins.stripe.payloads import event_payload

_META = {"order_id": "6735"}


def _event(event_id: str, kind: str, obj: dict, previous: dict | None = None) -> dict:
    data: dict = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return event_payload({"id": event_id, "object": "event", "type": kind, "created": 1680064028,
                          "livemode": False, "api_version": "2023-08-16", "data": data})


PAYMENT_INTENT = {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "object": "payment_intent",
                  "amount": 2000, "amount_received": 2000, "currency": "usd",
                  "status": "succeeded", "customer": "cus_NffrFeUfNV2Hib",
                  "description": "Order 6735", "receipt_email": "jenny.rosen@example.com",
                  "latest_charge": "ch_3MtwBwLkdIwHu7ix28a3tqPa", "last_payment_error": None,
                  "created": 1680800504, "metadata": _META}
CHARGE = {"id": "ch_3MmlLrLkdIwHu7ix0snN0B15", "object": "charge", "amount": 1099,
          "amount_refunded": 1099, "currency": "usd", "status": "succeeded", "paid": True,
          "refunded": True, "customer": "cus_NffrFeUfNV2Hib",
          "payment_intent": "pi_3MmlLrLkdIwHu7ix0uke3Ezy", "description": None,
          "receipt_email": None,
          "receipt_url": "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8xTTJKVGtMa2RJd0h1N2l4KOvG06AGMgZfBXyr1aw6LBa9vaaSRWU96d8qBwz9z2J_CObiV_H2-e8RezSK_sw0KISesp4czsOUlVKY",
          "created": 1679090539, "metadata": {}}
INVOICE = {"id": "in_1MtHbELkdIwHu7ixl4OzzPMv", "object": "invoice", "number": "ABCD-0001",
           "customer": "cus_NffrFeUfNV2Hib", "status": "paid", "currency": "usd",
           "amount_due": 1500, "amount_paid": 1500, "total": 1500,
           "collection_method": "charge_automatically",
           "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1M2JTkLkdIwHu7ix/test_YWNjdF8xTTJKVGtMa2RJd0h1N2l4",
           "invoice_pdf": "https://pay.stripe.com/invoice/acct_1M2JTkLkdIwHu7ix/test_YWNjdF8xTTJKVGtMa2RJd0h1N2l4/pdf",
           "due_date": None, "created": 1680644467, "metadata": {}}
CUSTOMER = {"id": "cus_NffrFeUfNV2Hib", "object": "customer", "email": "jennyrosen@example.com",
            "name": "Jenny Rosen", "phone": None, "description": None, "created": 1680893993,
            "livemode": False, "metadata": {}}
SESSION = {"id": "cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u",
           "object": "checkout.session", "url": None, "mode": "payment", "status": "complete",
           "payment_status": "paid", "customer": "cus_NffrFeUfNV2Hib",
           "customer_email": None, "client_reference_id": "order-6735", "amount_total": 2000,
           "currency": "usd", "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
           "subscription": None, "expires_at": 1679600215, "metadata": _META}
SUBSCRIPTION = {"id": "sub_1MowQVLkdIwHu7ixeRlqHVzs", "object": "subscription",
                "customer": "cus_Na6dX7aXxi11N4", "status": "active",
                "cancel_at_period_end": True, "current_period_end": 1682032159,
                "canceled_at": None, "created": 1679609767,
                "items": {"object": "list", "data": [
                    {"id": "si_Na6dzxczY5fwHx", "price": {"id": "price_1MowQULkdIwHu7ixraBm864M",
                                                          "object": "price"}}]},
                "metadata": {}}

PAYMENT_SUCCEEDED = _event("evt_3MtwBwLkdIwHu7ix0Cm1jSoQ", "payment_intent.succeeded",
                           PAYMENT_INTENT)
PAYMENT_FAILED = _event("evt_3MtwBwLkdIwHu7ix0uGfmx1u", "payment_intent.payment_failed",
                        {**PAYMENT_INTENT, "status": "requires_payment_method",
                         "amount_received": 0, "latest_charge": None,
                         "last_payment_error": {"code": "card_declined",
                                                "message": "Your card was declined."}})
CHARGE_REFUNDED = _event("evt_3MmlLrLkdIwHu7ix1hQhW2o4", "charge.refunded", CHARGE,
                         {"amount_refunded": 0, "refunded": False})
INVOICE_PAID = _event("evt_1MtHbFLkdIwHu7ixqgBGEo9w", "invoice.paid", INVOICE)
INVOICE_PAYMENT_FAILED = _event("evt_1MtHbFLkdIwHu7ixaFkNHaXW", "invoice.payment_failed",
                                {**INVOICE, "status": "open", "amount_paid": 0})
CUSTOMER_CREATED = _event("evt_1Mu5F4LkdIwHu7ixBzmiSBVD", "customer.created", CUSTOMER)
CHECKOUT_COMPLETED = _event("evt_1Mp2q2LkdIwHu7ixGj1hVtus", "checkout.session.completed",
                            SESSION)
SUBSCRIPTION_CREATED = _event("evt_1MowQWLkdIwHu7ixq6Hs3E6c", "customer.subscription.created",
                              {**SUBSCRIPTION, "cancel_at_period_end": False})
SUBSCRIPTION_UPDATED = _event("evt_1MowQWLkdIwHu7ixdeSzKx7m", "customer.subscription.updated",
                              SUBSCRIPTION, {"cancel_at_period_end": False})
SUBSCRIPTION_DELETED = _event("evt_1MowQWLkdIwHu7ixCv0ZnrBz", "customer.subscription.deleted",
                              {**SUBSCRIPTION, "status": "canceled", "canceled_at": 1679610000})
