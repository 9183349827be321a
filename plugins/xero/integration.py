"""Xero Accounting API 2.0: contacts, invoices (ACCREC) and bills (ACCPAY); webhooks.

Every call names the organisation in ``xero-tenant-id`` (the connection's ``tenant_id``, found
by :meth:`XeroIntegration.oauth_connected` from ``GET https://api.xero.com/connections``).
Writes carry an ``Idempotency-Key`` (Xero keeps it for 24 hours and answers a repeat with the
first answer): the engine's key for the step, else one made for the call, the same on every
retry. Creates use ``PUT`` (Xero's "create only"), which the client would otherwise treat as
safe to repeat: the key is what makes that true.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC
from typing import Any
from urllib.parse import quote
from urllib.parse import urlsplit

import requests

from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import idempotency_scope
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from plugins.xero import payloads

# The tenants a token reaches: [{"id", "tenantId", "tenantType", "tenantName", ...}]
# (https://developer.xero.com/documentation/guides/oauth2/auth-flow/, "Check the tenants").
CONNECTIONS = "https://api.xero.com/connections"
PAGE_SIZE = 100  # Xero's page of invoices
MAX_PAGES = 100
# Words of Xero's validation messages -> the action input they are about, first match wins
# (messages as in https://developer.xero.com/documentation/api/accounting/responsecodes and
# the Accounting API's examples: "Email address must be valid.", "Account code '999' is not a
# valid code for this document.", "Invoice # must be unique.").
_INVOICE_WORDS = (("line item", "line_items"), ("account code", "line_items"),
                  ("accountcode", "line_items"), ("tax", "line_items"),
                  ("quantity", "line_items"), ("unit amount", "line_items"),
                  ("unitamount", "line_items"), ("item code", "line_items"),
                  ("contact", "contact"), ("due date", "due_date"),
                  ("invoice number", "invoice_number"), ("invoice #", "invoice_number"),
                  ("reference", "reference"), ("currency", "currency_code"),
                  ("status", "status"), ("date", "date"))
_CONTACT_WORDS = (("email", "email"), ("first name", "first_name"),
                  ("last name", "last_name"), ("account number", "account_number"),
                  ("tax number", "tax_number"), ("phone", "phone"), ("name", "name"))


def write_key() -> str:
    """The idempotency key of one write: the step's next key when the engine runs the action
    (stable across re-runs of the step), else a fresh one for this call alone."""
    scope = idempotency_scope.get()
    return scope.next_key() if scope is not None else f"atom-{uuid.uuid4()}"


def _messages(body: dict[str, Any]) -> list[str]:
    """Every ``Elements[].ValidationErrors[].Message`` (and those of nested line items)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for err in node.get("ValidationErrors") or []:
                if isinstance(err, dict) and err.get("Message"):
                    out.append(str(err["Message"])[:300])
            if isinstance(node.get("Contact"), dict):
                walk(node["Contact"])
            for key in ("Elements", "LineItems", "Invoices", "Contacts"):
                for child in node.get(key) or [] if isinstance(node.get(key), list) else []:
                    walk(child)

    walk(body)
    return list(dict.fromkeys(out))


def _field(message: str, path: str, sent: bytes | str | None) -> str:
    text = message.lower()
    if "/invoices" in path.lower():
        for word, name in _INVOICE_WORDS:
            if word in text:
                if name == "contact":
                    raw = sent.decode(errors="replace") if isinstance(sent, bytes) else sent or ""
                    return "contact_id" if '"ContactID"' in raw else "contact_name"
                return name
    elif "/contacts" in path.lower():
        for word, name in _CONTACT_WORDS:
            if word in text:
                return name
    return "_request"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class XeroIntegration(Integration):
    def default_headers(self) -> dict[str, str]:
        tenant = self.connection.settings.get("tenant_id")
        return {"xero-tenant-id": tenant} if tenant else {}

    def idempotency_header(self) -> str | None:
        return "Idempotency-Key"

    def raise_for_response(self, response: requests.Response) -> None:
        """Map Xero's statuses and bodies: 400 ``ValidationException`` lists
        ``Elements[].ValidationErrors``; 401 a refused token (the client refreshes once
        first); 403 a missing scope or a disconnected organisation; 429 a limit, named by
        ``X-Rate-Limit-Problem``, with ``Retry-After``."""
        status = response.status_code
        if status < 400:
            return
        body = json_or_empty(response)
        messages = _messages(body)
        text = "; ".join(messages) or str(body.get("Message") or body.get("Detail")
                                          or body.get("Title") or snippet(response))[:300]
        message = f"Xero answered {status}: {text}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            problem = response.headers.get("X-Rate-Limit-Problem")
            raise RateLimited(f"Xero's {problem} limit was reached" if problem else message,
                              retry_after=retry_after, status=status)
        if status == 401:
            raise AuthError(message, status=status)
        if status == 403:
            raise AuthError(f"{message} (the token lacks a scope, or the organisation "
                            f"disconnected the app)", status=status)
        request = response.request
        path = urlsplit(request.url or "").path if request is not None else ""
        if status == 400:
            details: dict[str, list[str]] = {}
            for reason in messages or [text]:
                details.setdefault(_field(reason, path, request.body if request else None),
                                   []).append(reason)
            raise ValidationFailed(message, status=status, details=details)
        if status == 404:
            name = ("invoice_id" if "/invoices/" in path.lower()
                    else "contact_id" if "/contacts/" in path.lower() else "_request")
            raise ValidationFailed(message, status=status, details={name: ["not found in this "
                                                                             "organisation"]})
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        raise UpstreamError(message, status=status, permanent=True)

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        """The tightest of ``X-MinLimit-Remaining`` (60 a minute per tenant),
        ``X-AppMinLimit-Remaining`` (per app) and ``X-DayLimit-Remaining`` (5,000 a day).
        Xero sends no reset time: a minute window is assumed for the minute limits (verify);
        the day limit's reset is left to the 429's Retry-After."""
        headers = response.headers
        found = [(n, reset) for n, reset in (
            (_int(headers.get("X-MinLimit-Remaining")), 60.0),
            (_int(headers.get("X-AppMinLimit-Remaining")), 60.0),
            (_int(headers.get("X-DayLimit-Remaining")), None)) if n is not None]
        if not found:
            return None, None
        return min(found, key=lambda f: f[0])

    def health_check(self) -> None:
        body = json_or_empty(self.http.get("Organisation", operation="health"))
        if not isinstance(body.get("Organisations"), list):
            raise UpstreamError("GET Organisation answered without organisations; is base_url "
                                "Xero's Accounting API?", permanent=True)

    def oauth_connected(self) -> dict[str, Any]:
        """The organisation this connection works in: the one ``tenant_id`` (or
        ``tenant_name``) names, else the only one the user authorised."""
        listed = self.http.get(CONNECTIONS, operation="connections").json()
        tenants = [t for t in listed if isinstance(t, dict) and t.get("tenantId")
                   and t.get("tenantType", "ORGANISATION") == "ORGANISATION"] \
            if isinstance(listed, list) else []
        settings = self.connection.settings
        found = ", ".join(f"{t.get('tenantName') or '?'} ({t['tenantId']})" for t in tenants)
        if settings.get("tenant_id"):
            field = "tenant_id"
            chosen = [t for t in tenants if str(t["tenantId"]).lower()
                      == settings["tenant_id"].lower()]
        elif settings.get("tenant_name"):
            field = "tenant_name"
            chosen = [t for t in tenants if str(t.get("tenantName") or "").strip().lower()
                      == settings["tenant_name"].strip().lower()]
        else:
            field, chosen = "tenant_id", tenants
        if len(chosen) != 1:
            if not tenants:
                reason = "the user authorised no Xero organisation"
            elif not chosen:
                reason = f"the user did not authorise that organisation; authorised: {found}"
            else:
                reason = (f"the user authorised {len(chosen)} organisations: {found}; name one "
                          f"in tenant_id or tenant_name")
            raise ValidationFailed(reason, details={"settings": {field: [reason]}})
        return {"tenant_id": str(chosen[0]["tenantId"]),
                "tenant_name": str(chosen[0].get("tenantName") or "")[:255] or None}

    # -- actions -------------------------------------------------------------------------

    def create_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {"Contacts": [payloads.contact_body(data)]}
        record = self._write("PUT", "Contacts", body, "Contacts", "create_contact")
        return payloads.contact(record)

    def get_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        record = self._read(f"Contacts/{quote(data['contact_id'], safe='')}", "Contacts",
                            "get_contact")
        return payloads.contact(record)

    def create_invoice(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._create_invoice(data, "ACCREC", "create_invoice")

    def create_bill(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._create_invoice(data, "ACCPAY", "create_bill")

    def get_invoice(self, data: dict[str, Any]) -> dict[str, Any]:
        record = self._read(f"Invoices/{quote(data['invoice_id'], safe='')}", "Invoices",
                            "get_invoice")
        return payloads.invoice(record)

    def list_invoices(self, data: dict[str, Any]) -> dict[str, Any]:
        """Pages of 100 (``page=1, 2, ...``) until a short page or ``max_items``."""
        self._tenant()
        params: dict[str, Any] = {"pageSize": PAGE_SIZE}
        where = [f'Type=="{data["type"]}"'] if data.get("type") else []
        if data.get("where"):
            where.append(f"({data['where']})")
        if where:
            params["where"] = " AND ".join(where)
        if data.get("statuses"):
            params["Statuses"] = ",".join(data["statuses"])
        if data.get("contact_ids"):
            params["ContactIDs"] = ",".join(data["contact_ids"])
        headers = {}
        if data.get("modified_since"):
            headers["If-Modified-Since"] = data["modified_since"].astimezone(UTC).replace(
                microsecond=0).isoformat()
        found: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            response = self.http.get("Invoices", params={**params, "page": page},
                                     headers=headers, operation="list_invoices")
            items = [i for i in json_or_empty(response).get("Invoices") or []
                     if isinstance(i, dict) and i.get("InvoiceID")]
            found += items
            if len(found) >= data["max_items"] or len(items) < PAGE_SIZE:
                break
        else:
            raise UpstreamError(f"more than {MAX_PAGES} pages of invoices", permanent=True)
        invoices = [payloads.invoice(i) for i in found[:data["max_items"]]]
        return {"invoices": invoices, "count": len(invoices)}

    # -- webhooks --------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Xero's "intent to receive": it POSTs correctly and incorrectly signed requests and
        wants 200 for the first and 401 for the others, both with no body. Any delivery is
        verified here first: a bad signature is answered 401 with no body (nothing stored);
        a correctly signed one without events (the intent-to-receive payload) 200 with no
        body; anything else goes on to the receiver, which verifies it again and stores it."""
        if req.method != "POST":
            return None
        try:
            verify(self.manifest.webhook.scheme, req, self.webhook_secret())  # type: ignore[union-attr]
        except SignatureError as exc:
            self.log.warning("xero connection %s refused a delivery: %s", self.connection.id, exc)
            return Handshake(status=401)
        try:
            payload = json.loads(req.body)
        except ValueError:
            return None  # the receiver answers 400
        if isinstance(payload, dict) and payload.get("events") == []:
            return Handshake(status=200)
        return None

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per invoice or contact event of this connection's organisation (Xero
        sends an app's events for every organisation to the one URL). The payload carries the
        ids only: a get_invoice / get_contact step reads the record."""
        events = payload.get("events") if isinstance(payload, dict) else None
        tenant = (self.connection.settings.get("tenant_id") or "").lower()
        out = []
        for e in events if isinstance(events, list) else []:
            if not isinstance(e, dict):
                continue
            name = payloads.EVENTS.get((str(e.get("eventCategory")), str(e.get("eventType"))))
            if name is None or (tenant and str(e.get("tenantId") or "").lower() != tenant):
                continue
            out.append(InboundEvent(name, payloads.delivery_id(e), payloads.event(e)))
        return out

    # -- helpers ---------------------------------------------------------------------------

    def _tenant(self) -> str:
        tenant = self.connection.settings.get("tenant_id")
        if not tenant:
            raise ValidationFailed("the connection names no Xero organisation", details={
                "tenant_id": ["set tenant_id (connect through OAuth to have it found)"]})
        return tenant

    def _create_invoice(self, data: dict[str, Any], kind: str, operation: str) -> dict[str, Any]:
        body = {"Invoices": [payloads.invoice_body(data, kind)]}
        return payloads.invoice(self._write("PUT", "Invoices", body, "Invoices", operation))

    def _write(self, method: str, path: str, body: dict[str, Any], key: str,
               operation: str) -> dict[str, Any]:
        self._tenant()
        response = self.http.request(method, path, json=body, idempotency_key=write_key(),
                                     operation=operation)
        record = self._first(response, key)
        problems = _messages(record)
        if problems or record.get("HasValidationErrors") is True:
            details: dict[str, list[str]] = {}
            for reason in problems or ["Xero reported validation errors"]:
                details.setdefault(_field(reason, f"/{path}", json.dumps(body)), []).append(reason)
            raise ValidationFailed(f"Xero refused the {key[:-1].lower()}: {'; '.join(problems)}",
                                   details=details)
        return record

    def _read(self, path: str, key: str, operation: str) -> dict[str, Any]:
        self._tenant()
        return self._first(self.http.get(path, operation=operation), key)

    @staticmethod
    def _first(response: requests.Response, key: str) -> dict[str, Any]:
        records = json_or_empty(response).get(key)
        first = records[0] if isinstance(records, list) and records else None
        if not isinstance(first, dict) or not first.get(key[:-1] + "ID"):
            raise UpstreamError(f"Xero answered without the {key[:-1].lower()}", permanent=True)
        return first
