"""What the Stripe actions send (form-encoded, nested keys, an Idempotency-Key on every POST)
and return, with Stripe faked at the HTTP seam."""
from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from plugins.stripe.forms import encode
from tests.plugins.stripe.conftest import KEY
from tests.plugins.stripe.conftest import STRIPE
from tests.plugins.stripe.conftest import form

CUSTOMER = {"id": "cus_NffrFeUfNV2Hib", "object": "customer", "email": "jenny.rosen@example.com",
            "name": "Jenny Rosen", "phone": None, "description": None, "created": 1680893993,
            "livemode": False, "metadata": {"crm_id": "6735"}, "balance": 0}


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_the_encoder_writes_stripes_nested_keys():
    assert encode({"a": 1, "metadata": {"k": "v"}, "items": [{"price": "p", "n": 2}],
                   "flag": True, "off": False, "skip": None, "deep": {"x": {"y": "z"}}}) == [
        ("a", "1"), ("metadata[k]", "v"), ("items[0][price]", "p"), ("items[0][n]", "2"),
        ("flag", "true"), ("off", "false"), ("deep[x][y]", "z")]


def test_create_customer_posts_a_form_with_metadata_and_an_idempotency_key(
        fake_stripe, stripe_connection, run_action):
    fake_stripe.post(f"{STRIPE}/customers", json=CUSTOMER)
    r = run_action(stripe_connection(), "create_customer", {
        "email": "jenny.rosen@example.com", "name": "Jenny Rosen",
        "metadata": {"crm_id": "6735", "plan": "pro & more"}})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == {
        "id": "cus_NffrFeUfNV2Hib", "email": "jenny.rosen@example.com", "name": "Jenny Rosen",
        "phone": None, "description": None, "created": 1680893993, "livemode": False,
        "metadata": {"crm_id": "6735"}}
    (call,) = fake_stripe.calls
    assert call.request.headers["Authorization"] == f"Bearer {KEY}"
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.request.headers["Idempotency-Key"].startswith("atom-")
    assert form(call) == [("email", "jenny.rosen@example.com"), ("name", "Jenny Rosen"),
                          ("metadata[crm_id]", "6735"), ("metadata[plan]", "pro & more")]


def test_the_engines_key_is_the_idempotency_key(client, keys, fake_stripe, stripe_connection):
    fake_stripe.post(f"{STRIPE}/customers", json=CUSTOMER)
    conn = stripe_connection()
    for _ in range(2):  # the same step run twice: the same key, so Stripe does it once
        r = client.post(f"/api/v2/connections/{conn['id']}/actions/create_customer",
                        headers={**keys["editor"], "Idempotency-Key": "exec-7-step-2"},
                        json={"email": "a@example.com"})
        assert r.status_code == 200, r.get_json()
    assert [c.request.headers["Idempotency-Key"] for c in fake_stripe.calls] == [
        "exec-7-step-2-1", "exec-7-step-2-1"]


def test_connect_account_and_api_version_are_sent(fake_stripe, stripe_connection, run_action):
    fake_stripe.get(f"{STRIPE}/customers/cus_NffrFeUfNV2Hib", json=CUSTOMER)
    conn = stripe_connection({"stripe_account": "acct_1032D82eZvKYlo2C",
                              "api_version": "2023-08-16"})
    r = run_action(conn, "get_customer", {"customer_id": "cus_NffrFeUfNV2Hib"})
    assert r.status_code == 200, r.get_json()
    headers = fake_stripe.calls[0].request.headers
    assert headers["Stripe-Account"] == "acct_1032D82eZvKYlo2C"
    assert headers["Stripe-Version"] == "2023-08-16"
    assert "Idempotency-Key" not in headers  # reads carry none


@pytest.mark.parametrize("bad", ["cus_../balance", "cus_1/../../x", "ch_123", "cus_" + "a" * 300])
def test_ids_that_are_not_stripe_ids_are_refused_before_anything_is_sent(
        fake_stripe, stripe_connection, run_action, bad):
    r = run_action(stripe_connection(), "get_customer", {"customer_id": bad})
    assert r.status_code == 422
    assert "customer_id" in r.get_json()["errors"]
    assert not fake_stripe.calls


def test_a_deleted_customer_is_reported(fake_stripe, stripe_connection, run_action):
    fake_stripe.get(f"{STRIPE}/customers/cus_1", json={"id": "cus_1", "object": "customer",
                                                       "deleted": True})
    r = run_action(stripe_connection(), "get_customer", {"customer_id": "cus_1"})
    assert r.status_code == 422 and "customer_id" in r.get_json()["errors"]


def test_search_customers_by_email_quotes_the_value_and_follows_next_page(
        fake_stripe, stripe_connection, run_action):
    fake_stripe.get(f"{STRIPE}/customers/search", json={
        "object": "search_result", "data": [CUSTOMER], "has_more": True, "next_page": "pg2"})
    fake_stripe.get(f"{STRIPE}/customers/search", json={
        "object": "search_result", "data": [{**CUSTOMER, "id": "cus_2"}], "has_more": False,
        "next_page": None})
    r = run_action(stripe_connection(), "search_customers", {"email": "o'brien@example.com"})
    assert r.status_code == 200, r.get_json()
    assert [c["id"] for c in r.get_json()["output"]["customers"]] == ["cus_NffrFeUfNV2Hib",
                                                                      "cus_2"]
    first, second = fake_stripe.calls
    assert query(first)["query"] == ["email:'o\\'brien@example.com'"]
    assert "page" not in query(first) and query(second)["page"] == ["pg2"]


def test_search_needs_an_email_or_a_query(stripe_connection, run_action):
    r = run_action(stripe_connection(), "search_customers", {})
    assert r.status_code == 422 and "email" in r.get_json()["errors"]


def test_create_invoice_takes_pending_items(fake_stripe, stripe_connection, run_action):
    fake_stripe.post(f"{STRIPE}/invoices", json={
        "id": "in_1MtHbELkdIwHu7ixl4OzzPMv", "object": "invoice", "customer": "cus_1",
        "status": "draft", "currency": "usd", "amount_due": 1500, "total": 1500,
        "collection_method": "send_invoice", "hosted_invoice_url": None, "metadata": {}})
    r = run_action(stripe_connection(), "create_invoice", {
        "customer_id": "cus_1", "collection_method": "send_invoice", "days_until_due": 30,
        "description": "March", "metadata": {"order_id": "6735"}})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["id"], out["status"], out["amount_due"]) == ("in_1MtHbELkdIwHu7ixl4OzzPMv",
                                                             "draft", 1500)
    assert form(fake_stripe.calls[0]) == [
        ("customer", "cus_1"), ("description", "March"), ("collection_method", "send_invoice"),
        ("days_until_due", "30"), ("pending_invoice_items_behavior", "include"),
        ("metadata[order_id]", "6735")]


def test_send_invoice_needs_days_until_due(stripe_connection, run_action):
    r = run_action(stripe_connection(), "create_invoice", {
        "customer_id": "cus_1", "collection_method": "send_invoice"})
    assert r.status_code == 422 and "days_until_due" in r.get_json()["errors"]


def test_a_checkout_session_sends_line_items_and_returns_the_page_url(
        fake_stripe, stripe_connection, run_action):
    fake_stripe.post(f"{STRIPE}/checkout/sessions", json={
        "id": "cs_test_a1", "object": "checkout.session", "mode": "payment", "status": "open",
        "url": "https://checkout.stripe.com/c/pay/cs_test_a1", "amount_total": 4500,
        "currency": "usd", "customer": None, "metadata": {}})
    r = run_action(stripe_connection(), "create_checkout_session", {
        "success_url": "https://example.com/thanks",
        "line_items": [{"price": "price_1MowQULkdIwHu7ixraBm864M", "quantity": 2},
                       {"name": "Gift wrap", "unit_amount": 500, "currency": "usd"}],
        "customer_email": "jenny@example.com", "client_reference_id": "order-6735"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["url"] == "https://checkout.stripe.com/c/pay/cs_test_a1"
    assert form(fake_stripe.calls[0]) == [
        ("success_url", "https://example.com/thanks"), ("mode", "payment"),
        ("line_items[0][price]", "price_1MowQULkdIwHu7ixraBm864M"),
        ("line_items[0][quantity]", "2"),
        ("line_items[1][price_data][currency]", "usd"),
        ("line_items[1][price_data][unit_amount]", "500"),
        ("line_items[1][price_data][product_data][name]", "Gift wrap"),
        ("line_items[1][quantity]", "1"),
        ("customer_email", "jenny@example.com"), ("client_reference_id", "order-6735")]


@pytest.mark.parametrize("item, field", [
    ({"name": "x", "unit_amount": 5}, "price"),
    ({"price": "price_1", "name": "x"}, "price"),
    ({"price": "prod_1"}, "price"),
])
def test_a_line_item_needs_a_price_or_a_whole_ad_hoc_price(stripe_connection, run_action,
                                                          item, field):
    r = run_action(stripe_connection(), "create_checkout_session", {
        "success_url": "https://example.com/thanks", "line_items": [item]})
    assert r.status_code == 422
    assert field in r.get_json()["errors"]["line_items"]["0"]


def _charges(*ids: str, more: bool) -> dict:
    return {"object": "list", "has_more": more, "url": "/v1/charges", "data": [
        {"id": i, "object": "charge", "amount": 1099, "currency": "usd", "status": "succeeded",
         "paid": True, "refunded": False, "customer": "cus_1", "payment_intent": "pi_1",
         "created": 1679090539, "metadata": {}} for i in ids]}


def test_list_charges_pages_with_starting_after_until_has_more_is_false(
        fake_stripe, stripe_connection, run_action):
    fake_stripe.get(f"{STRIPE}/charges", json=_charges("ch_1", "ch_2", more=True))
    fake_stripe.get(f"{STRIPE}/charges", json=_charges("ch_3", more=False))
    r = run_action(stripe_connection(), "list_charges", {
        "customer_id": "cus_1", "created_after": "2026-03-01T00:00:00+00:00"})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["count"] == 3 and [c["id"] for c in out["charges"]] == ["ch_1", "ch_2", "ch_3"]
    first, second = fake_stripe.calls
    assert query(first) == {"limit": ["100"], "customer": ["cus_1"],
                            "created[gte]": ["1772323200"]}
    assert query(second)["starting_after"] == ["ch_2"]


def test_list_charges_stops_at_max_items_without_asking_for_more(fake_stripe, stripe_connection,
                                                                 run_action):
    fake_stripe.get(f"{STRIPE}/charges", json=_charges("ch_1", "ch_2", more=True))
    r = run_action(stripe_connection(), "list_charges", {"max_items": 2})
    assert r.get_json()["output"]["count"] == 2
    assert len(fake_stripe.calls) == 1
    assert query(fake_stripe.calls[0])["limit"] == ["2"]


def test_refund_a_payment_intent_in_part(fake_stripe, stripe_connection, run_action):
    fake_stripe.post(f"{STRIPE}/refunds", json={
        "id": "re_1Nispe2eZvKYlo2Cd31jOCgZ", "object": "refund", "amount": 500,
        "currency": "usd", "status": "succeeded", "reason": "requested_by_customer",
        "charge": "ch_1", "payment_intent": "pi_1", "created": 1692942318, "metadata": {}})
    r = run_action(stripe_connection(), "refund", {
        "payment_intent_id": "pi_1", "amount": 500, "reason": "requested_by_customer"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["amount"] == 500
    assert form(fake_stripe.calls[0]) == [("payment_intent", "pi_1"), ("amount", "500"),
                                          ("reason", "requested_by_customer")]
    assert fake_stripe.calls[0].request.headers["Idempotency-Key"]


@pytest.mark.parametrize("given", [{}, {"charge_id": "ch_1", "payment_intent_id": "pi_1"}])
def test_refund_needs_exactly_one_of_charge_and_payment_intent(fake_stripe, stripe_connection,
                                                               run_action, given):
    r = run_action(stripe_connection(), "refund", given)
    assert r.status_code == 422 and "charge_id" in r.get_json()["errors"]
    assert not fake_stripe.calls


def test_the_secret_key_is_masked_and_never_in_outputs(client, keys, fake_stripe,
                                                       stripe_connection, run_action):
    fake_stripe.post(f"{STRIPE}/customers", json={**CUSTOMER, "description": f"key {KEY}"})
    conn = stripe_connection()
    r = run_action(conn, "create_customer", {"email": "a@example.com"})
    assert KEY not in r.get_data(as_text=True)
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["editor"])
    assert KEY not in shown.get_data(as_text=True)
