"""Trigger samples: events of Xero's webhook payload
(https://developer.xero.com/documentation/guides/webhooks/overview/, "Webhook payload"),
as :func:`plugins.xero.payloads.event` hands them over."""
from __future__ import annotations

from plugins.xero.payloads import event

TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"


def _event(category: str, kind: str, resource: str, path: str) -> dict:
    return event({"resourceUrl": f"https://api.xero.com/api.xro/2.0/{path}/{resource}",
                  "resourceId": resource, "eventDateUtc": "2017-06-21T01:15:39.902",
                  "eventType": kind, "eventCategory": category, "tenantId": TENANT,
                  "tenantType": "ORGANISATION"})


INVOICE_CREATED = _event("INVOICE", "CREATE", "0f3a4b5c-2d1e-4f6a-9b8c-7d6e5f4a3b2c", "Invoices")
INVOICE_UPDATED = _event("INVOICE", "UPDATE", "0f3a4b5c-2d1e-4f6a-9b8c-7d6e5f4a3b2c", "Invoices")
CONTACT_CREATED = _event("CONTACT", "CREATE", "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777", "Contacts")
CONTACT_UPDATED = _event("CONTACT", "UPDATE", "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777", "Contacts")
