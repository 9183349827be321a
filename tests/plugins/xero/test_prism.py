"""The health check and every action against Prism serving Xero's Accounting OpenAPI spec:
every request (with its xero-tenant-id, Bearer token and Idempotency-Key) is recorded on its
way and checked for ``sl-violations`` of the request."""
from __future__ import annotations

import pytest
import requests

from plugins.xero.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

TENANT = "00000000-0000-0000-0000-000000000000"
LINES = [{"description": "Consulting", "quantity": 2, "unit_amount": 150.5,
          "account_code": "200", "tax_type": "OUTPUT2", "discount_rate": 10}]
CASES = {
    "create_contact": {"name": "Acme Corporation", "email": "accounts@acme.example.com",
                       "first_name": "Grace", "last_name": "Hopper", "phone": "555-1212",
                       "account_number": "ACME-1", "tax_number": "12-345-678"},
    "get_contact": {"contact_id": "430fa14a-f945-44d3-9f97-5df5e28441b8"},
    "create_invoice": {"contact_id": "430fa14a-f945-44d3-9f97-5df5e28441b8", "line_items": LINES,
                       "date": "2026-03-01", "due_date": "2026-03-31", "reference": "PO-1",
                       "status": "AUTHORISED", "line_amount_types": "Exclusive",
                       "currency_code": "NZD", "invoice_number": "INV-0107"},
    "create_bill": {"contact_name": "Office Supplies Ltd", "line_items": LINES,
                    "due_date": "2026-03-31", "invoice_number": "OS-1187"},
    "get_invoice": {"invoice_id": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2"},
    "list_invoices": {"type": "ACCPAY", "statuses": ["DRAFT", "AUTHORISED", "PAID"],
                      "contact_ids": ["430fa14a-f945-44d3-9f97-5df5e28441b8"],
                      "where": "AmountDue >= 100", "modified_since": "2026-01-01T00:00:00Z",
                      "max_items": 2},
}


@pytest.fixture
def prism_url(prism):
    return prism("xero")


@pytest.fixture
def prism_xero(prism_url, create_connection):
    return create_connection("xero", {"base_url": prism_url, "tenant_id": TENANT,
                                      "max_attempts": 1, "rate_limit_per_second": 100,
                                      "rate_limit_burst": 100},
                             {"access_token": "xero-contract-token"})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_the_health_check_passes_against_the_spec(prism_xero, sent_to_prism, check_connection):
    r = check_connection(prism_xero)
    assert r.get_json()["ok"] is True, r.get_json()
    (call,) = sent_to_prism
    assert_prism_accepted(call.response)


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_xero, sent_to_prism, run_action, action):
    r = run_action(prism_xero, action, CASES[action])
    assert r.status_code == 200, r.get_json()
    assert sent_to_prism, "nothing reached Prism"
    for call in sent_to_prism:
        assert_prism_accepted(call.response)
        assert 200 <= call.response.status_code < 300
        assert call.request.headers["xero-tenant-id"] == TENANT
        if call.request.method in ("PUT", "POST"):
            assert call.request.headers["Idempotency-Key"]
    assert r.get_json()["output"]


def test_the_check_catches_a_request_the_spec_rejects(prism_url):
    """A control: an invoice of an unknown type without the tenant header is reported."""
    bad = requests.put(f"{prism_url}/Invoices", json={"Invoices": [{"Type": "BOGUS"}]},
                       headers={"Authorization": "Bearer x"}, timeout=10)
    assert bad.status_code in (400, 422)
    with pytest.raises(AssertionError):
        assert_prism_accepted(bad)
