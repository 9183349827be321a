"""What the Xero actions send (the tenant header, an Idempotency-Key on writes, Xero's field
names) and return, with Xero faked at the HTTP seam; and Xero's errors as ATOM's classes."""
from __future__ import annotations

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.plugins.xero.conftest import ACCESS
from tests.plugins.xero.conftest import TENANT
from tests.plugins.xero.conftest import XERO

INVOICE = {"Type": "ACCREC", "InvoiceID": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
           "InvoiceNumber": "INV-0001", "Reference": "PO-6735", "Status": "DRAFT",
           "Contact": {"ContactID": "430fa14a-f945-44d3-9f97-5df5e28441b8", "Name": "Acme"},
           "DateString": "2026-03-01T00:00:00", "Date": "/Date(1772323200000+0000)/",
           "DueDate": "/Date(1774915200000+0000)/", "LineAmountTypes": "Exclusive",
           "LineItems": [{"Description": "Consulting", "Quantity": 2.0, "UnitAmount": 150.0,
                          "AccountCode": "200", "LineAmount": 300.0}],
           "SubTotal": 300.0, "TotalTax": 45.0, "Total": 345.0, "AmountDue": 345.0,
           "AmountPaid": 0.0, "CurrencyCode": "NZD", "UpdatedDateUTC": "/Date(1541176290160+0000)/"}
LINES = [{"description": "Consulting", "quantity": 2, "unit_amount": 150, "account_code": "200"}]


def sent(call) -> dict:
    return json.loads(call.request.body)


def test_create_invoice_sends_an_accrec_with_the_tenant_and_a_key(fake_xero, xero_connection,
                                                                  run_action):
    fake_xero.put(f"{XERO}/Invoices", json={"Invoices": [INVOICE]})
    r = run_action(xero_connection(), "create_invoice", {
        "contact_id": "430fa14a-f945-44d3-9f97-5df5e28441b8", "line_items": LINES,
        "date": "2026-03-01", "due_date": "2026-03-31", "reference": "PO-6735"})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["invoice_id"] == "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2"
    assert (out["date"], out["due_date"], out["updated_at"]) == (
        "2026-03-01", "2026-03-31", "2018-11-02T16:31:30Z")
    assert out["line_items"][0]["line_amount"] == 300.0
    (call,) = fake_xero.calls
    assert call.request.headers["xero-tenant-id"] == TENANT
    assert call.request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert call.request.headers["Idempotency-Key"].startswith("atom-")
    assert sent(call) == {"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": "430fa14a-f945-44d3-9f97-5df5e28441b8"},
        "Status": "DRAFT", "LineItems": [{"Description": "Consulting", "Quantity": 2.0,
                                          "UnitAmount": 150.0, "AccountCode": "200"}],
        "Date": "2026-03-01", "DueDate": "2026-03-31", "Reference": "PO-6735"}]}


def test_create_bill_is_an_accpay_and_the_key_is_the_steps(client, keys, fake_xero,
                                                          xero_connection):
    fake_xero.put(f"{XERO}/Invoices", json={"Invoices": [{**INVOICE, "Type": "ACCPAY"}]})
    conn = xero_connection()
    r = client.post(f"/api/v2/connections/{conn['id']}/actions/create_bill",
                    headers={**keys["editor"], "Idempotency-Key": "exec-9-step-1"},
                    json={"contact_name": "Office Supplies Ltd", "line_items": LINES,
                          "invoice_number": "OS-1187"})
    assert r.status_code == 200, r.get_json()
    body = sent(fake_xero.calls[0])["Invoices"][0]
    assert body["Type"] == "ACCPAY" and body["Contact"] == {"Name": "Office Supplies Ltd"}
    assert fake_xero.calls[0].request.headers["Idempotency-Key"] == "exec-9-step-1-1"


def test_a_retried_write_keeps_its_key(fake_xero, xero_connection, run_action, sleeps):
    fake_xero.put(f"{XERO}/Contacts", status=503, body="Service Unavailable")
    fake_xero.put(f"{XERO}/Contacts", json={"Contacts": [
        {"ContactID": "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777", "Name": "Acme"}]})
    r = run_action(xero_connection(), "create_contact", {"name": "Acme", "phone": "555-1212",
                                                         "email": "a@acme.example.com"})
    assert r.status_code == 200, r.get_json()
    first, second = (c.request.headers["Idempotency-Key"] for c in fake_xero.calls)
    assert first == second
    assert sent(fake_xero.calls[0]) == {"Contacts": [{
        "Name": "Acme", "EmailAddress": "a@acme.example.com",
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "555-1212"}]}]}


def test_list_invoices_pages_and_filters(fake_xero, xero_connection, run_action):
    page = [{**INVOICE, "InvoiceID": f"00000000-0000-0000-0000-{i:012d}"} for i in range(100)]
    fake_xero.get(f"{XERO}/Invoices", json={"Invoices": page})
    fake_xero.get(f"{XERO}/Invoices", json={"Invoices": page[:3]})
    r = run_action(xero_connection(), "list_invoices", {
        "type": "ACCREC", "statuses": ["DRAFT", "AUTHORISED"], "where": "AmountDue >= 100",
        "modified_since": "2026-01-01T09:00:00+09:00", "max_items": 500})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["count"] == 103
    first, second = fake_xero.calls
    q = {k: v[0] for k, v in parse_qs(urlsplit(first.request.url).query).items()}
    assert q == {"pageSize": "100", "page": "1", "where": 'Type=="ACCREC" AND (AmountDue >= 100)',
                 "Statuses": "DRAFT,AUTHORISED"}
    assert first.request.headers["If-Modified-Since"] == "2026-01-01T00:00:00+00:00"
    assert "page=2" in second.request.url


def test_list_invoices_stops_at_max_items(fake_xero, xero_connection, run_action):
    page = [{**INVOICE, "InvoiceID": f"00000000-0000-0000-0000-{i:012d}"} for i in range(100)]
    fake_xero.get(f"{XERO}/Invoices", json={"Invoices": page})
    r = run_action(xero_connection(), "list_invoices", {"max_items": 5})
    assert r.get_json()["output"]["count"] == 5 and len(fake_xero.calls) == 1


def test_a_connection_without_a_tenant_says_so(fake_xero, create_connection, run_action):
    conn = create_connection("xero", {}, {"access_token": ACCESS})
    r = run_action(conn, "get_invoice", {"invoice_id": INVOICE["InvoiceID"]})
    assert r.status_code == 422 and "tenant_id" in r.get_json()["errors"]
    assert not fake_xero.calls


@pytest.mark.parametrize("bad", ["../Organisation", "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2/../x",
                                 "INV-0001"])
def test_ids_must_be_uuids(fake_xero, xero_connection, run_action, bad):
    r = run_action(xero_connection(), "get_invoice", {"invoice_id": bad})
    assert r.status_code == 422 and not fake_xero.calls


# -- errors -------------------------------------------------------------------------------------

def _validation(*messages: str) -> dict:
    """Xero's 400 (https://developer.xero.com/documentation/api/accounting/responsecodes)."""
    return {"ErrorNumber": 10, "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": m} for m in messages]}]}


@pytest.mark.parametrize("action, given, message, field", [
    ("create_contact", {"name": "Acme", "email": "a@b.example.com"},
     "Email address must be valid.", "email"),
    ("create_contact", {"name": "Acme"},
     "The contact name Acme is already assigned to another contact.", "name"),
    ("create_invoice", {"contact_id": "430fa14a-f945-44d3-9f97-5df5e28441b8",
                        "line_items": LINES},
     "Account code '999' is not a valid code for this document.", "line_items"),
    ("create_invoice", {"contact_name": "Nobody", "line_items": LINES},
     "The Contact must contain at least 1 of the following elements to identify the contact: "
     "Name, ContactID, ContactNumber", "contact_name"),
    ("create_bill", {"contact_id": "430fa14a-f945-44d3-9f97-5df5e28441b8", "line_items": LINES,
                     "invoice_number": "OS-1"}, "Invoice # must be unique.", "invoice_number"),
])
def test_validation_errors_name_our_field(fake_xero, xero_connection, run_action, action, given,
                                          message, field):
    path = "Contacts" if action == "create_contact" else "Invoices"
    fake_xero.put(f"{XERO}/{path}", status=400, json=_validation(message))
    r = run_action(xero_connection(), action, given)
    assert r.status_code == 422
    assert r.get_json()["errors"] == {field: [message]}
    assert len(fake_xero.calls) == 1


def test_a_rate_limit_names_the_problem_and_waits(fake_xero, xero_connection, run_action, sleeps):
    fake_xero.get(f"{XERO}/Invoices/{INVOICE['InvoiceID']}", status=429,
                  headers={"Retry-After": "3", "X-Rate-Limit-Problem": "minute"})
    fake_xero.get(f"{XERO}/Invoices/{INVOICE['InvoiceID']}", json={"Invoices": [INVOICE]},
                  headers={"X-MinLimit-Remaining": "58", "X-DayLimit-Remaining": "4990",
                           "X-AppMinLimit-Remaining": "9990"})
    r = run_action(xero_connection(), "get_invoice", {"invoice_id": INVOICE["InvoiceID"]})
    assert r.status_code == 200
    assert max(sleeps) >= 3


def test_the_day_limit_is_not_waited_out(fake_xero, xero_connection, run_action, sleeps):
    fake_xero.get(f"{XERO}/Invoices/{INVOICE['InvoiceID']}", status=429,
                  headers={"Retry-After": "40000", "X-Rate-Limit-Problem": "day",
                           "X-DayLimit-Remaining": "0"})
    r = run_action(xero_connection(), "get_invoice", {"invoice_id": INVOICE["InvoiceID"]})
    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited" and "day" in r.get_json()["message"]
    assert len(fake_xero.calls) == 1


def test_the_remaining_headers_resync_the_bucket(app, fake_xero, xero_connection, live):
    import requests as rq

    conn = xero_connection()
    integ = live(conn)
    response = rq.Response()
    response.headers.update({"X-MinLimit-Remaining": "2", "X-DayLimit-Remaining": "4000",
                             "X-AppMinLimit-Remaining": "9000"})
    assert integ.parse_rate_limit(response) == (2, 60.0)
    response.headers["X-DayLimit-Remaining"] = "0"
    assert integ.parse_rate_limit(response) == (0, None)


def test_a_missing_invoice_names_the_id(fake_xero, xero_connection, run_action):
    fake_xero.get(f"{XERO}/Invoices/{INVOICE['InvoiceID']}", status=404, body="")
    r = run_action(xero_connection(), "get_invoice", {"invoice_id": INVOICE["InvoiceID"]})
    assert r.status_code == 422 and "invoice_id" in r.get_json()["errors"]


def test_403_is_an_auth_error_and_the_token_is_not_echoed(fake_xero, xero_connection,
                                                          run_action):
    fake_xero.get(f"{XERO}/Invoices/{INVOICE['InvoiceID']}", status=403,
                  json={"Type": None, "Title": "Forbidden", "Status": 403,
                        "Detail": f"AuthenticationUnsuccessful {ACCESS}"})
    r = run_action(xero_connection(), "get_invoice", {"invoice_id": INVOICE["InvoiceID"]})
    assert r.get_json()["code"] == "auth"
    assert ACCESS not in r.get_data(as_text=True)
