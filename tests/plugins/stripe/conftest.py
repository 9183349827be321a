"""Fixtures of the Stripe plugin tests: connections, Stripe faked at the HTTP seam
(``responses``) for what Prism cannot answer (pages, errors, Stripe-Should-Retry), and
Stripe's webhook signature (https://docs.stripe.com/webhooks#verify-manually)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl

import pytest
import responses

STRIPE = "https://api.stripe.com/v1"
KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
WHSEC = "whsec_test0123456789abcdefGHIJ"


@pytest.fixture
def fake_stripe():
    """Stripe's API faked under IntegrationClient; unregistered URLs fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def stripe_connection(create_connection):
    def make(settings: dict | None = None, **credentials: str) -> dict:
        return create_connection("stripe", settings or {},
                                 {"secret_key": KEY, "webhook_secret": WHSEC, **credentials})

    return make


def form(call) -> list[tuple[str, str]]:
    """The form body a call sent, as ordered pairs."""
    body = call.request.body or ""
    return parse_qsl(body if isinstance(body, str) else body.decode(), keep_blank_values=True)


def signature(body: bytes, secret: str = WHSEC, ts: int | None = None) -> str:
    """Stripe-Signature as Stripe computes it: v1 = hex(HMAC-SHA256(secret, "{t}.{body}"))."""
    stamp = str(int(time.time()) if ts is None else ts)
    v1 = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={v1}"


def event(event_id: str, kind: str, obj: dict) -> bytes:
    """A Stripe event object (https://docs.stripe.com/api/events/object) as delivered."""
    return json.dumps({"id": event_id, "object": "event", "api_version": "2023-08-16",
                       "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
                       "request": {"id": None, "idempotency_key": None}, "type": kind,
                       "data": {"object": obj}}).encode()
