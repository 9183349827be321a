"""The health check and every action against Prism serving Stripe's OpenAPI spec (dynamic
answers from a fixed seed, see tests/plugins/conftest.py PRISM_OPTIONS): every request is
recorded on its way and checked for ``sl-violations`` of the request."""
from __future__ import annotations

import pytest
import requests

from plugins.stripe.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

CASES = {
    "create_customer": {"email": "jenny.rosen@example.com", "name": "Jenny Rosen",
                        "phone": "+15555550100", "description": "VIP",
                        "metadata": {"crm_id": "6735", "plan": "pro"}},
    "get_customer": {"customer_id": "cus_NffrFeUfNV2Hib"},
    "search_customers": {"query": "name~'jenny' AND metadata['plan']:'pro'", "max_items": 1},
    "create_invoice": {"customer_id": "cus_NffrFeUfNV2Hib", "collection_method": "send_invoice",
                       "days_until_due": 30, "currency": "usd", "auto_advance": False,
                       "include_pending_items": False, "footer": "Thanks",
                       "description": "March", "metadata": {"order_id": "6735"}},
    "create_checkout_session": {
        "success_url": "https://example.com/thanks", "cancel_url": "https://example.com/cart",
        "mode": "payment", "customer_id": "cus_NffrFeUfNV2Hib",
        "line_items": [{"price": "price_1MowQULkdIwHu7ixraBm864M", "quantity": 2},
                       {"name": "Gift wrap", "unit_amount": 500, "currency": "usd"}],
        "client_reference_id": "order-6735", "metadata": {"order_id": "6735"}},
    "list_charges": {"customer_id": "cus_NffrFeUfNV2Hib", "payment_intent_id": "pi_1",
                     "created_after": "2026-03-01T00:00:00+00:00", "max_items": 1},
    "refund": {"payment_intent_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "amount": 500,
               "reason": "requested_by_customer", "metadata": {"ticket": "42"}},
}


@pytest.fixture
def prism_url(prism):
    return prism("stripe")


@pytest.fixture
def prism_stripe(prism_url, stripe_connection):
    return stripe_connection({"base_url": prism_url + "/v1", "max_attempts": 1,
                              "rate_limit_per_second": 100, "rate_limit_burst": 100})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_the_health_check_passes_against_the_spec(prism_stripe, sent_to_prism,
                                                  check_connection):
    r = check_connection(prism_stripe)
    assert r.get_json()["ok"] is True, r.get_json()
    (call,) = sent_to_prism
    assert_prism_accepted(call.response)


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_stripe, sent_to_prism, run_action, action):
    r = run_action(prism_stripe, action, CASES[action])
    assert r.status_code == 200, r.get_json()
    assert sent_to_prism, "nothing reached Prism"
    for call in sent_to_prism:
        assert_prism_accepted(call.response)
        assert 200 <= call.response.status_code < 300
        if call.request.method == "POST":
            assert call.request.headers["Idempotency-Key"]
            assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert r.get_json()["output"]


def test_the_check_catches_a_request_the_spec_rejects(prism_url):
    """A control: a refund with a text amount and a JSON body is reported."""
    bad = requests.post(f"{prism_url}/v1/refunds", data={"amount": "lots"},
                        auth=("sk_test_x", ""), timeout=10)
    assert bad.status_code == 422
    with pytest.raises(AssertionError, match="amount"):
        assert_prism_accepted(bad)
