"""Stripe's errors as ATOM's classes (https://docs.stripe.com/api/errors), and its retry
advice: Stripe-Should-Retry true retries even a 4xx, false never retries even a 5xx
(https://docs.stripe.com/error-low-level#server-errors); the Idempotency-Key is the same on
every attempt, so a retried POST cannot do the work twice."""
from __future__ import annotations

import pytest
import requests

from tests.plugins.stripe.conftest import KEY
from tests.plugins.stripe.conftest import STRIPE

OK = {"id": "cus_1", "object": "customer", "email": "a@example.com", "metadata": {}}


def err(kind: str, message: str, code: str | None = None, param: str | None = None) -> dict:
    return {"error": {"type": kind, "message": message, "code": code, "param": param}}


def create(run_action, conn):
    return run_action(conn, "create_customer", {"email": "a@example.com"})


def keys_sent(fake) -> list[str]:
    return [c.request.headers["Idempotency-Key"] for c in fake.calls]


def test_should_retry_true_retries_a_conflict_with_the_same_key(fake_stripe, stripe_connection,
                                                               run_action, sleeps):
    fake_stripe.post(f"{STRIPE}/customers", status=409,
                     json=err("invalid_request_error", "Keys for idempotent requests can only "
                              "be used with the same parameters they were first used with."),
                     headers={"Stripe-Should-Retry": "true"})
    fake_stripe.post(f"{STRIPE}/customers", json=OK)
    r = create(run_action, stripe_connection())
    assert r.status_code == 200, r.get_json()
    first, second = keys_sent(fake_stripe)
    assert first == second and first.startswith("atom-")
    assert len(sleeps) == 1


def test_should_retry_true_on_a_400_that_would_otherwise_be_final(fake_stripe,
                                                                  stripe_connection,
                                                                  run_action, sleeps):
    fake_stripe.post(f"{STRIPE}/customers", status=400, json=err("api_error", "try again"),
                     headers={"Stripe-Should-Retry": "true"})
    fake_stripe.post(f"{STRIPE}/customers", json=OK)
    assert create(run_action, stripe_connection()).status_code == 200
    assert len(set(keys_sent(fake_stripe))) == 1 and len(fake_stripe.calls) == 2


def test_should_retry_false_never_retries_a_server_error(fake_stripe, stripe_connection,
                                                         run_action, sleeps):
    fake_stripe.post(f"{STRIPE}/customers", status=500, json=err("api_error", "boom"),
                     headers={"Stripe-Should-Retry": "false"})
    r = create(run_action, stripe_connection())
    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream" and r.get_json()["upstream_status"] == 500
    assert len(fake_stripe.calls) == 1 and sleeps == []


def test_should_retry_false_on_a_conflict_is_final(fake_stripe, stripe_connection, run_action,
                                                   sleeps):
    fake_stripe.post(f"{STRIPE}/customers", status=409, json=err("idempotency_error", "in use"),
                     headers={"Stripe-Should-Retry": "false"})
    assert create(run_action, stripe_connection()).status_code == 502
    assert len(fake_stripe.calls) == 1


def test_without_advice_5xx_and_409_are_retried_with_one_key(fake_stripe, stripe_connection,
                                                             run_action, sleeps):
    fake_stripe.post(f"{STRIPE}/customers", status=503, json=err("api_error", "down"))
    fake_stripe.post(f"{STRIPE}/customers", status=409, json=err("invalid_request_error", "busy"))
    fake_stripe.post(f"{STRIPE}/customers", json=OK)
    assert create(run_action, stripe_connection()).status_code == 200
    assert len(fake_stripe.calls) == 3 and len(set(keys_sent(fake_stripe))) == 1


def test_a_dropped_connection_on_a_post_is_retried_with_the_same_key(fake_stripe,
                                                                     stripe_connection,
                                                                     run_action, sleeps):
    fake_stripe.post(f"{STRIPE}/customers", body=requests.ConnectionError("connection reset"))
    fake_stripe.post(f"{STRIPE}/customers", json=OK)
    assert create(run_action, stripe_connection()).status_code == 200
    assert len(fake_stripe.calls) == 2 and len(set(keys_sent(fake_stripe))) == 1


@pytest.mark.parametrize("code", ["rate_limit", "lock_timeout"])
def test_429_rate_limits_and_lock_timeouts_wait_and_retry(fake_stripe, stripe_connection,
                                                         run_action, sleeps, code):
    fake_stripe.post(f"{STRIPE}/customers", status=429,
                     json=err("invalid_request_error", "Too many requests", code=code),
                     headers={"Retry-After": "2"} if code == "rate_limit" else {})
    fake_stripe.post(f"{STRIPE}/customers", json=OK)
    assert create(run_action, stripe_connection()).status_code == 200
    assert len(set(keys_sent(fake_stripe))) == 1
    assert sleeps and max(sleeps) >= (2 if code == "rate_limit" else 1)


def test_429_that_outlasts_the_budget_is_rate_limited(fake_stripe, stripe_connection,
                                                      run_action, sleeps):
    fake_stripe.post(f"{STRIPE}/customers", status=429, headers={"Retry-After": "3600"},
                     json=err("invalid_request_error", "Too many requests", code="rate_limit"))
    r = create(run_action, stripe_connection())
    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited" and r.get_json()["retry_after"] >= 3599


def test_an_invalid_parameter_names_our_field(fake_stripe, stripe_connection, run_action):
    fake_stripe.post(f"{STRIPE}/refunds", status=400, json=err(
        "invalid_request_error", "No such charge: 'ch_404'", "resource_missing", "charge"))
    r = run_action(stripe_connection(), "refund", {"charge_id": "ch_404"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"charge_id": ["resource_missing",
                                                    "No such charge: 'ch_404'"]}
    assert len(fake_stripe.calls) == 1


def test_nested_parameters_name_the_top_level_field(fake_stripe, stripe_connection, run_action):
    fake_stripe.post(f"{STRIPE}/customers", status=400, json=err(
        "invalid_request_error", "Invalid string", "parameter_invalid_string", "metadata[k]"))
    r = run_action(stripe_connection(), "create_customer", {"email": "a@example.com",
                                                            "metadata": {"k": "v"}})
    assert set(r.get_json()["errors"]) == {"metadata"}


def test_a_missing_customer_is_a_validation_error(fake_stripe, stripe_connection, run_action):
    fake_stripe.get(f"{STRIPE}/customers/cus_404", status=404, json=err(
        "invalid_request_error", "No such customer: 'cus_404'", "resource_missing", "id"))
    r = run_action(stripe_connection(), "get_customer", {"customer_id": "cus_404"})
    assert r.status_code == 422 and r.get_json()["code"] == "validation"


def test_a_declined_card_is_final(fake_stripe, stripe_connection, run_action, sleeps):
    fake_stripe.post(f"{STRIPE}/refunds", status=402, json=err("card_error", "declined",
                                                                "card_declined"))
    r = run_action(stripe_connection(), "refund", {"charge_id": "ch_1"})
    assert r.status_code == 502 and "card_declined" in r.get_json()["message"]
    assert len(fake_stripe.calls) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_an_auth_error_and_never_echoed(fake_stripe, stripe_connection,
                                                         run_action, status):
    fake_stripe.post(f"{STRIPE}/customers", status=status, json=err(
        "invalid_request_error", f"Invalid API Key provided: {KEY}"))
    r = create(run_action, stripe_connection())
    assert r.get_json()["code"] == "auth"
    assert KEY not in r.get_data(as_text=True)
    assert len(fake_stripe.calls) == 1
