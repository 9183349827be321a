"""Stripe objects as the actions return them and as triggers hand them to workflows (the
fields of https://docs.stripe.com/api; amounts stay in the currency's smallest unit)."""
from __future__ import annotations

from typing import Any

# Event type -> trigger (https://docs.stripe.com/api/events/types).
EVENTS = {
    "payment_intent.succeeded": "payment_succeeded",
    "payment_intent.payment_failed": "payment_failed",
    "charge.refunded": "charge_refunded",
    "invoice.paid": "invoice_paid",
    "invoice.payment_failed": "invoice_payment_failed",
    "customer.created": "customer_created",
    "checkout.session.completed": "checkout_completed",
    "customer.subscription.created": "subscription_created",
    "customer.subscription.updated": "subscription_updated",
    "customer.subscription.deleted": "subscription_deleted",
}


def _ref(value: Any) -> str | None:
    """An expandable field: the id whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


def _meta(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def customer(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["id"], "email": c.get("email"), "name": c.get("name"),
            "phone": c.get("phone"), "description": c.get("description"),
            "created": c.get("created"), "livemode": c.get("livemode"), "metadata": _meta(c)}


def invoice(i: dict[str, Any]) -> dict[str, Any]:
    return {"id": i["id"], "number": i.get("number"), "customer": _ref(i.get("customer")),
            "status": i.get("status"), "currency": i.get("currency"),
            "amount_due": i.get("amount_due"), "amount_paid": i.get("amount_paid"),
            "total": i.get("total"), "collection_method": i.get("collection_method"),
            "hosted_invoice_url": i.get("hosted_invoice_url"),
            "invoice_pdf": i.get("invoice_pdf"), "due_date": i.get("due_date"),
            "created": i.get("created"), "metadata": _meta(i)}


def checkout_session(s: dict[str, Any]) -> dict[str, Any]:
    return {"id": s["id"], "url": s.get("url"), "mode": s.get("mode"),
            "status": s.get("status"), "payment_status": s.get("payment_status"),
            "customer": _ref(s.get("customer")), "customer_email": s.get("customer_email"),
            "client_reference_id": s.get("client_reference_id"),
            "amount_total": s.get("amount_total"), "currency": s.get("currency"),
            "payment_intent": _ref(s.get("payment_intent")),
            "subscription": _ref(s.get("subscription")), "expires_at": s.get("expires_at"),
            "metadata": _meta(s)}


def charge(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["id"], "amount": c.get("amount"), "amount_refunded": c.get("amount_refunded"),
            "currency": c.get("currency"), "status": c.get("status"), "paid": c.get("paid"),
            "refunded": c.get("refunded"), "customer": _ref(c.get("customer")),
            "payment_intent": _ref(c.get("payment_intent")),
            "description": c.get("description"), "receipt_email": c.get("receipt_email"),
            "receipt_url": c.get("receipt_url"), "created": c.get("created"),
            "metadata": _meta(c)}


def refund(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "amount": r.get("amount"), "currency": r.get("currency"),
            "status": r.get("status"), "reason": r.get("reason"),
            "charge": _ref(r.get("charge")), "payment_intent": _ref(r.get("payment_intent")),
            "created": r.get("created"), "metadata": _meta(r)}


def payment_intent(p: dict[str, Any]) -> dict[str, Any]:
    return {"id": p["id"], "amount": p.get("amount"),
            "amount_received": p.get("amount_received"), "currency": p.get("currency"),
            "status": p.get("status"), "customer": _ref(p.get("customer")),
            "description": p.get("description"), "receipt_email": p.get("receipt_email"),
            "latest_charge": _ref(p.get("latest_charge")),
            "last_payment_error": (p.get("last_payment_error") or {}).get("message")
            if isinstance(p.get("last_payment_error"), dict) else None,
            "created": p.get("created"), "metadata": _meta(p)}


def subscription(s: dict[str, Any]) -> dict[str, Any]:
    items = (s.get("items") or {}).get("data") if isinstance(s.get("items"), dict) else None
    prices = [_ref((i or {}).get("price")) for i in items or [] if isinstance(i, dict)]
    return {"id": s["id"], "customer": _ref(s.get("customer")), "status": s.get("status"),
            "cancel_at_period_end": s.get("cancel_at_period_end"),
            "current_period_end": s.get("current_period_end"),
            "canceled_at": s.get("canceled_at"), "prices": [p for p in prices if p],
            "created": s.get("created"), "metadata": _meta(s)}


SHAPERS = {"customer": customer, "invoice": invoice, "checkout.session": checkout_session,
           "charge": charge, "refund": refund, "payment_intent": payment_intent,
           "subscription": subscription}


def event_payload(event: dict[str, Any]) -> dict[str, Any]:
    """A Stripe event as a trigger hands it over: the event's id, type and time, and its
    ``data.object`` shaped like the action outputs (``previous_attributes`` kept for updates)."""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    obj = data.get("object") if isinstance(data.get("object"), dict) else {}
    shaper = SHAPERS.get(str(obj.get("object")))
    shaped = shaper(obj) if shaper and obj.get("id") else dict(obj)
    out = {"event_id": event.get("id"), "event_type": event.get("type"),
           "created": event.get("created"), "livemode": event.get("livemode"),
           "account": event.get("account"), "object": shaped}
    if isinstance(data.get("previous_attributes"), dict):
        out["previous_attributes"] = data["previous_attributes"]
    return out
