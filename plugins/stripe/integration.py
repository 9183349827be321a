"""Stripe REST API v1: customers, invoices, Checkout Sessions, charges, refunds; webhooks.

API reference: https://docs.stripe.com/api. Bodies are form-encoded with nested keys
(:mod:`plugins.stripe.forms`); answers are JSON. Every POST carries an ``Idempotency-Key``
(https://docs.stripe.com/api/idempotent_requests): the engine's key for the step when there is
one, else one made here for the call; the client sends the same key on every retry.

Retries (https://docs.stripe.com/error-low-level#server-errors and stripe-python's
``_should_retry``): ``Stripe-Should-Retry: true`` makes any error retryable, ``false`` makes
it final; without the header 409 (a conflict, such as a concurrent use of one key), 429
(rate limits and ``lock_timeout``) and 5xx are retried.
"""
from __future__ import annotations

import re
import uuid
from itertools import islice
from typing import Any
from urllib.parse import quote

import requests

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
from atom.integrations.pagination import CursorPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.stripe import forms
from plugins.stripe import payloads

PAGE_SIZE = 100  # Stripe's largest ``limit``
# Stripe's parameter (``error.param``, first segment) -> the action input it comes from.
_PARAMS = {"customer": "customer_id", "charge": "charge_id", "payment_intent": "payment_intent_id",
           "id": "_request", "line_items": "line_items", "created": "created_after"}
_FIRST = re.compile(r"^([A-Za-z_]+)")


def write_key() -> str:
    """The idempotency key of one write: the step's next key when the engine runs the action
    (stable across re-runs of the step), else a fresh one for this call alone."""
    scope = idempotency_scope.get()
    return scope.next_key() if scope is not None else f"atom-{uuid.uuid4()}"


def _field(param: Any) -> str:
    """Our input field for Stripe's ``param`` (``metadata[order]`` -> ``metadata``)."""
    match = _FIRST.match(param) if isinstance(param, str) else None
    if not match:
        return "_request"
    name = match.group(1)
    return _PARAMS.get(name, name)


def _quoted(value: str) -> str:
    """A string for Stripe's search query language: single quotes, with ``\\`` and ``'``
    escaped (https://docs.stripe.com/search#search-query-language)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class StripeIntegration(Integration):
    def default_headers(self) -> dict[str, str]:
        settings, headers = self.connection.settings, {}
        if settings.get("stripe_account"):
            headers["Stripe-Account"] = settings["stripe_account"]
        if settings.get("api_version"):
            headers["Stripe-Version"] = settings["api_version"]
        return headers

    def idempotency_header(self) -> str | None:
        return "Idempotency-Key"

    def raise_for_response(self, response: requests.Response) -> None:
        """Classify Stripe's ``{"error": {"type", "code", "param", "message"}}`` by status,
        then let ``Stripe-Should-Retry`` decide whether a retry may help."""
        status = response.status_code
        if status < 400:
            return
        error = json_or_empty(response).get("error")
        error = error if isinstance(error, dict) else {}
        code = str(error.get("code") or error.get("type") or "")
        text = str(error.get("message") or snippet(response))[:300]
        message = f"Stripe answered {status}{f' ({code})' if code else ''}: {text}"
        should = (response.headers.get("Stripe-Should-Retry") or "").strip().lower()
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if should == "false":
            # Stripe says a retry cannot succeed (a declined card, a reused idempotency key
            # with other parameters, even a 5xx or a 429 it will not take again).
            if status in (401, 403):
                raise AuthError(message, status=status)
            if status in (400, 404, 422) and error.get("type") != "card_error":
                raise self._invalid(message, status, error, code)
            raise UpstreamError(message, status=status, permanent=True)
        if status == 429:
            # Rate limits, and lock_timeout: another request holds the object.
            raise RateLimited(message, status=status,
                              retry_after=retry_after or (1.0 if code == "lock_timeout" else None))
        if should == "true" and status not in (401, 403):
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status == 402 or error.get("type") == "card_error":
            raise UpstreamError(message, status=status, permanent=True)
        if status == 409 or status >= 500 or status == 408:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if status in (400, 404, 422):
            raise self._invalid(message, status, error, code)
        raise UpstreamError(message, status=status, permanent=True)

    @staticmethod
    def _invalid(message: str, status: int, error: dict[str, Any], code: str) -> ValidationFailed:
        reason = str(error.get("message") or code or "invalid")[:300]
        if status == 404 and not error.get("param"):
            reason = f"not found: {reason}"
        return ValidationFailed(message, status=status, details={_field(error.get("param")): [
            *([code] if code else []), reason]})

    def health_check(self) -> None:
        body = json_or_empty(self.http.get("balance", operation="health"))
        if body.get("object") not in ("balance", None) or "available" not in body:
            raise UpstreamError("GET /v1/balance answered without a balance; is base_url "
                                "Stripe's API?", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def create_customer(self, data: dict[str, Any]) -> dict[str, Any]:
        params = {k: data.get(k) for k in ("email", "name", "phone", "description", "metadata")}
        return payloads.customer(self._post("customers", params, "create_customer"))

    def get_customer(self, data: dict[str, Any]) -> dict[str, Any]:
        body = self._get(f"customers/{quote(data['customer_id'], safe='')}", "get_customer")
        if body.get("deleted"):
            raise ValidationFailed("the customer was deleted",
                                   details={"customer_id": ["this customer was deleted"]})
        return payloads.customer(body)

    def search_customers(self, data: dict[str, Any]) -> dict[str, Any]:
        query = data.get("query") or f"email:{_quoted(data['email'])}"
        paginator = CursorPaginator(items="data", cursor_path="next_page", cursor_param="page",
                                    has_more="has_more")
        found = self._list("customers/search", paginator,
                           {"query": query, "limit": min(data["max_items"], PAGE_SIZE)},
                           data["max_items"], "search_customers")
        customers = [payloads.customer(c) for c in found]
        return {"customers": customers, "count": len(customers)}

    def create_invoice(self, data: dict[str, Any]) -> dict[str, Any]:
        """A draft invoice for the customer. The trimmed spec has no ``/v1/invoiceitems``, so
        line items are not added here: the invoice takes the customer's pending invoice items
        (``pending_invoice_items_behavior=include``), added beforehand in Stripe."""
        params: dict[str, Any] = {
            "customer": data["customer_id"], "description": data.get("description"),
            "collection_method": data["collection_method"],
            "days_until_due": data.get("days_until_due"), "currency": data.get("currency"),
            "auto_advance": data.get("auto_advance"), "footer": data.get("footer"),
            "pending_invoice_items_behavior": "include" if data["include_pending_items"]
            else "exclude",
            "metadata": data.get("metadata")}
        return payloads.invoice(self._post("invoices", params, "create_invoice"))

    def create_checkout_session(self, data: dict[str, Any]) -> dict[str, Any]:
        """A Stripe-hosted payment page (Checkout Session); its ``url`` is the link to send.
        Stand-in for Payment Links, which the contract spec does not describe."""
        items = []
        for item in data.get("line_items") or []:
            if item.get("price"):
                items.append({"price": item["price"], "quantity": item["quantity"]})
            else:
                items.append({"price_data": {"currency": item["currency"],
                                             "unit_amount": item["unit_amount"],
                                             "product_data": {"name": item["name"]}},
                              "quantity": item["quantity"]})
        params = {"success_url": data["success_url"], "cancel_url": data.get("cancel_url"),
                  "mode": data["mode"], "line_items": items or None,
                  "customer": data.get("customer_id"),
                  "customer_email": data.get("customer_email"),
                  "client_reference_id": data.get("client_reference_id"),
                  "metadata": data.get("metadata")}
        return payloads.checkout_session(self._post("checkout/sessions", params,
                                                    "create_checkout_session"))

    def list_charges(self, data: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": min(data["max_items"], PAGE_SIZE)}
        if data.get("customer_id"):
            params["customer"] = data["customer_id"]
        if data.get("payment_intent_id"):
            params["payment_intent"] = data["payment_intent_id"]
        if data.get("created_after"):
            params["created[gte]"] = int(data["created_after"].timestamp())
        paginator = CursorPaginator(items="data", cursor_path="data[-1].id",
                                    cursor_param="starting_after", has_more="has_more")
        found = self._list("charges", paginator, params, data["max_items"], "list_charges")
        charges = [payloads.charge(c) for c in found]
        return {"charges": charges, "count": len(charges)}

    def refund(self, data: dict[str, Any]) -> dict[str, Any]:
        params = {"charge": data.get("charge_id"), "payment_intent": data.get("payment_intent_id"),
                  "amount": data.get("amount"), "reason": data.get("reason"),
                  "metadata": data.get("metadata")}
        return payloads.refund(self._post("refunds", params, "refund"))

    # -- webhooks --------------------------------------------------------------------------

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery (a Stripe event object); types no trigger covers are
        acknowledged and dropped. Deduplicated by the event id (Stripe redelivers for days)."""
        if not isinstance(payload, dict) or payload.get("object") != "event":
            return []
        name = payloads.EVENTS.get(str(payload.get("type")))
        if name is None or not payload.get("id"):
            return []
        return [InboundEvent(name, str(payload["id"]), payloads.event_payload(payload))]

    # -- helpers ---------------------------------------------------------------------------

    def _post(self, path: str, params: dict[str, Any], operation: str) -> dict[str, Any]:
        response = self.http.post(path, data=forms.encode(params), idempotency_key=write_key(),
                                  operation=operation)
        return self._object(response)

    def _get(self, path: str, operation: str) -> dict[str, Any]:
        return self._object(self.http.get(path, operation=operation))

    @staticmethod
    def _object(response: requests.Response) -> dict[str, Any]:
        body = json_or_empty(response)
        if not body.get("id"):
            raise UpstreamError("Stripe answered without the object", permanent=True)
        return body

    def _list(self, path: str, paginator: CursorPaginator, params: dict[str, Any],
              max_items: int, operation: str) -> list[dict[str, Any]]:
        """Up to ``max_items`` objects, asking for the next page only when needed."""
        items = self.http.paginate(path, paginator, params=params, operation=operation)
        return [i for i in islice(items, max_items) if isinstance(i, dict) and i.get("id")]
