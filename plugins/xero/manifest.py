"""Xero: contacts, sales invoices and bills in one organisation; invoice and contact
webhooks (with Xero's intent-to-receive check)."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import NUM
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.xero import samples
from plugins.xero.schemas import ContactInput
from plugins.xero.schemas import CreateContactInput
from plugins.xero.schemas import CreateInvoiceInput
from plugins.xero.schemas import InvoiceInput
from plugins.xero.schemas import ListInvoicesInput
from plugins.xero.schemas import XeroCredentials
from plugins.xero.schemas import XeroSettings

_S, _N = maybe(STR), maybe(NUM)
_CONTACT = obj(required=("contact_id",), contact_id=STR, name=_S, email=_S, first_name=_S,
               last_name=_S, status=_S, account_number=_S, tax_number=_S, phone=_S,
               is_customer=maybe(BOOL), is_supplier=maybe(BOOL), updated_at=_S,
               about="a Xero contact (customer or supplier)")
_LINE = obj(description=_S, quantity=_N, unit_amount=_N, account_code=_S, item_code=_S,
            tax_type=_S, line_amount=_N)
_INVOICE = obj(required=("invoice_id",), invoice_id=STR, invoice_number=_S, type=_S, status=_S,
               contact_id=_S, contact_name=_S, reference=_S, date=_S, due_date=_S,
               currency_code=_S, line_amount_types=_S, sub_total=_N, total_tax=_N, total=_N,
               amount_due=_N, amount_paid=_N, line_items=arr(_LINE), updated_at=_S,
               about="a Xero invoice (type ACCREC) or bill (ACCPAY); dates in ISO 8601")
_EVENT = obj(required=("resource_id", "event_category", "event_type"), resource_id=STR,
             resource_url=_S, event_category=STR, event_type=STR, event_date=_S, tenant_id=_S,
             tenant_type=_S,
             about="Xero sends ids only: read the record with get_invoice or get_contact")
_LINES_EXAMPLE = [{"description": "Consulting, March", "quantity": 2, "unit_amount": 150.0,
                   "account_code": "200"}]

MANIFEST = Manifest(
    slug="xero",
    display_name="Xero",
    category="finance",
    description="Create contacts, sales invoices and bills in a Xero organisation, read and "
                "list invoices; react to new and changed invoices and contacts.",
    docs_url="https://developer.xero.com/documentation/api/accounting/overview",
    auth=AuthScheme(
        kind="oauth2", fields=XeroCredentials,
        oauth2=OAuth2Spec(
            authorize_url="https://login.xero.com/identity/connect/authorize",
            token_url="https://identity.xero.com/connect/token",
            # offline_access for a refresh token; accounting.settings.read for the health
            # check (GET Organisation). Xero is moving new apps to granular scopes
            # (accounting.invoices, ...): (verify) which an app registered now is given.
            scopes=("openid", "profile", "email", "offline_access", "accounting.transactions",
                    "accounting.contacts", "accounting.settings.read"),
            # Xero's token endpoint takes the client as HTTP Basic; PKCE (S256) is sent too.
            client_auth="basic", pkce=True,
            # Refresh tokens are single-use: each refresh answers a new one (the old one
            # works for a 30-minute grace period only), unused for 60 days they expire.
            rotating_refresh=True)),
    settings=XeroSettings,
    integration="plugins.xero.integration:XeroIntegration",
    base_url="https://api.xero.com/api.xro/2.0",
    aliases=("xero accounting", "xero invoices", "accounting", "bookkeeping"),
    # Per organisation: 60 calls a minute, 5 at once, 5,000 a day
    # (https://developer.xero.com/documentation/guides/oauth2/limits/).
    rate_limit=RateLimit(per_second=1.0, burst=5),
    actions=(
        Action("create_contact", "Create a contact", CreateContactInput, _CONTACT,
               example={"name": "Acme Corporation", "email": "accounts@acme.example.com",
                        "first_name": "Grace", "last_name": "Hopper", "phone": "555-1212"},
               description="Contact names are unique in Xero: an existing name is refused "
                           "(naming the field).",
               words=("contact", "customer", "supplier", "client", "vendor", "new contact",
                      "add customer")),
        Action("get_contact", "Get a contact", ContactInput, _CONTACT,
               example={"contact_id": "430fa14a-f945-44d3-9f97-5df5e28441b8"},
               idempotent=True, read_only=True,
               words=("contact details", "look up contact", "read contact")),
        Action("create_invoice", "Create a sales invoice", CreateInvoiceInput, _INVOICE,
               example={"contact_id": "430fa14a-f945-44d3-9f97-5df5e28441b8",
                        "line_items": _LINES_EXAMPLE, "date": "2026-03-01",
                        "due_date": "2026-03-31", "reference": "PO-6735"},
               description="An accounts-receivable invoice (ACCREC), a draft unless status "
                           "says otherwise.",
               words=("invoice", "sales invoice", "bill a customer", "raise an invoice",
                      "create invoice", "charge")),
        Action("create_bill", "Create a bill", CreateInvoiceInput, _INVOICE,
               example={"contact_name": "Office Supplies Ltd", "line_items": _LINES_EXAMPLE,
                        "due_date": "2026-03-31", "invoice_number": "OS-1187"},
               description="An accounts-payable invoice (ACCPAY); invoice_number is the "
                           "supplier's.",
               words=("bill", "supplier bill", "purchase invoice", "accounts payable",
                      "expense")),
        Action("get_invoice", "Get an invoice or bill", InvoiceInput, _INVOICE,
               example={"invoice_id": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2"},
               idempotent=True, read_only=True,
               words=("invoice details", "look up invoice", "invoice status")),
        Action("list_invoices", "List invoices and bills", ListInvoicesInput,
               listing("invoices", _INVOICE),
               example={"type": "ACCREC", "statuses": ["DRAFT", "AUTHORISED"],
                        "modified_since": "2026-01-01T00:00:00+00:00", "max_items": 10},
               idempotent=True, read_only=True,
               description="Pages of 100 (page=N); filter by type, statuses, contacts, a where "
                           "expression and If-Modified-Since.",
               words=("invoices", "list invoices", "unpaid invoices", "overdue invoices",
                      "bills")),
    ),
    triggers=(
        Trigger("invoice_created", "Invoice created", samples.INVOICE_CREATED, _EVENT,
                description="An invoice or bill was created (ids only; get_invoice reads it).",
                words=("new invoice", "invoice created", "invoice raised")),
        Trigger("invoice_updated", "Invoice updated", samples.INVOICE_UPDATED, _EVENT,
                description="An invoice or bill changed, including being paid or voided "
                            "(ids only; get_invoice reads it).",
                words=("invoice updated", "invoice paid", "invoice changed", "invoice voided")),
        Trigger("contact_created", "Contact created", samples.CONTACT_CREATED, _EVENT,
                words=("new contact", "contact created", "new customer in xero")),
        Trigger("contact_updated", "Contact updated", samples.CONTACT_UPDATED, _EVENT,
                words=("contact updated", "contact changed")),
    ),
    webhook=WebhookSpec(scheme="xero_sha256", secret_field="webhook_key"),
    contract=Contract("openapi", "xero.json",
                      settings={"tenant_id": "00000000-0000-0000-0000-000000000000"}),
)
