"""Xero records as the actions return them, and webhook events as triggers hand them over.

Xero's JSON dates are Microsoft JSON dates (``/Date(1539993600000+0000)/``): they are given as
ISO 8601 here (``DateString``-style dates for invoice dates, UTC date-times for updates)."""
from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d{1,15})([+-]\d{4})?\)/$")
# (eventCategory, eventType) -> trigger
# (https://developer.xero.com/documentation/guides/webhooks/overview/, "Events").
EVENTS = {("INVOICE", "CREATE"): "invoice_created", ("INVOICE", "UPDATE"): "invoice_updated",
          ("CONTACT", "CREATE"): "contact_created", ("CONTACT", "UPDATE"): "contact_updated"}


def iso(value: Any, date_only: bool = False) -> str | None:
    """A Xero date as ISO 8601 (``2018-10-20`` or ``2018-11-02T16:31:30Z``); other strings
    (Xero's ``DateString``) as they are."""
    if not isinstance(value, str) or not value:
        return None
    match = _MS_DATE.match(value)
    if not match:
        return value[:10] if date_only and re.match(r"^\d{4}-\d{2}-\d{2}", value) else value
    when = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    return when.date().isoformat() if date_only else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def contact(c: dict[str, Any]) -> dict[str, Any]:
    phones = [p for p in c.get("Phones") or [] if isinstance(p, dict) and p.get("PhoneNumber")]
    return {"contact_id": c["ContactID"], "name": c.get("Name"),
            "email": c.get("EmailAddress") or None, "first_name": c.get("FirstName"),
            "last_name": c.get("LastName"), "status": c.get("ContactStatus"),
            "account_number": c.get("AccountNumber"), "tax_number": c.get("TaxNumber"),
            "phone": phones[0]["PhoneNumber"] if phones else None,
            "is_customer": c.get("IsCustomer"), "is_supplier": c.get("IsSupplier"),
            "updated_at": iso(c.get("UpdatedDateUTC"))}


def line_item(li: dict[str, Any]) -> dict[str, Any]:
    return {"description": li.get("Description"), "quantity": _number(li.get("Quantity")),
            "unit_amount": _number(li.get("UnitAmount")), "account_code": li.get("AccountCode"),
            "item_code": li.get("ItemCode"), "tax_type": li.get("TaxType"),
            "line_amount": _number(li.get("LineAmount"))}


def invoice(i: dict[str, Any]) -> dict[str, Any]:
    who = i.get("Contact") if isinstance(i.get("Contact"), dict) else {}
    return {"invoice_id": i["InvoiceID"], "invoice_number": i.get("InvoiceNumber"),
            "type": i.get("Type"), "status": i.get("Status"),
            "contact_id": who.get("ContactID"), "contact_name": who.get("Name"),
            "reference": i.get("Reference"),
            "date": iso(i.get("DateString") or i.get("Date"), date_only=True),
            "due_date": iso(i.get("DueDateString") or i.get("DueDate"), date_only=True),
            "currency_code": i.get("CurrencyCode"),
            "line_amount_types": i.get("LineAmountTypes"),
            "sub_total": _number(i.get("SubTotal")), "total_tax": _number(i.get("TotalTax")),
            "total": _number(i.get("Total")), "amount_due": _number(i.get("AmountDue")),
            "amount_paid": _number(i.get("AmountPaid")),
            "line_items": [line_item(li) for li in i.get("LineItems") or []
                           if isinstance(li, dict)],
            "updated_at": iso(i.get("UpdatedDateUTC"))}


def contact_body(data: dict[str, Any]) -> dict[str, Any]:
    body = {"Name": data["name"], "EmailAddress": data.get("email"),
            "FirstName": data.get("first_name"), "LastName": data.get("last_name"),
            "AccountNumber": data.get("account_number"), "TaxNumber": data.get("tax_number")}
    if data.get("phone"):
        body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": data["phone"]}]
    return {k: v for k, v in body.items() if v is not None}


_LINE_FIELDS = {"description": "Description", "quantity": "Quantity",
                "unit_amount": "UnitAmount", "account_code": "AccountCode",
                "item_code": "ItemCode", "tax_type": "TaxType", "discount_rate": "DiscountRate"}


def invoice_body(data: dict[str, Any], kind: str) -> dict[str, Any]:
    """An invoice (``ACCREC``) or bill (``ACCPAY``) for ``PUT /Invoices``."""
    who = ({"ContactID": data["contact_id"]} if data.get("contact_id")
           else {"Name": data["contact_name"]})
    body: dict[str, Any] = {
        "Type": kind, "Contact": who, "Status": data["status"],
        "LineItems": [{_LINE_FIELDS[k]: v for k, v in li.items() if v is not None}
                      for li in data["line_items"]],
        "Date": data["date"].isoformat() if data.get("date") else None,
        "DueDate": data["due_date"].isoformat() if data.get("due_date") else None,
        "Reference": data.get("reference"), "InvoiceNumber": data.get("invoice_number"),
        "LineAmountTypes": data.get("line_amount_types"),
        "CurrencyCode": data.get("currency_code")}
    return {k: v for k, v in body.items() if v is not None}


def event(e: dict[str, Any]) -> dict[str, Any]:
    """A webhook event as it comes (Xero sends only ids: a get_invoice or get_contact step
    reads the record)."""
    return {"resource_id": e.get("resourceId"), "resource_url": e.get("resourceUrl"),
            "event_category": e.get("eventCategory"), "event_type": e.get("eventType"),
            "event_date": e.get("eventDateUtc"), "tenant_id": e.get("tenantId"),
            "tenant_type": e.get("tenantType")}


def delivery_id(e: dict[str, Any]) -> str:
    """Xero's events carry no id of their own: the tenant, resource, kind and time make one."""
    return ":".join(str(e.get(k) or "") for k in ("tenantId", "eventCategory", "eventType",
                                                  "resourceId", "eventDateUtc"))
