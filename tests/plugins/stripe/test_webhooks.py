"""Stripe webhooks at ``POST /hooks/stripe/<connection id>``, scheme "stripe_v1": a signed
event starts the workflow listening for it; a wrong, stale or replayed signature starts
nothing; Stripe's redeliveries of one event (a new timestamp) are de-duplicated by its id."""
from __future__ import annotations

import time

import pytest

from plugins.stripe import samples
from tests.plugins.stripe.conftest import WHSEC
from tests.plugins.stripe.conftest import event
from tests.plugins.stripe.conftest import signature
from tests.plugins.webhook_support import finished_execution
from tests.plugins.webhook_support import hook_sender
from tests.plugins.webhook_support import stored

PI = {k: v for k, v in samples.PAYMENT_INTENT.items()}


@pytest.fixture
def conn(stripe_connection):
    return stripe_connection()


@pytest.fixture
def deliver(client, conn):
    return hook_sender(client, "stripe", conn["id"], "Stripe-Signature", signature,
                       "application/json; charset=utf-8")


def test_a_signed_payment_starts_the_workflow(app, client, keys, deliver):
    from tests.atom.engine.conftest import close_engine

    workflow = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "Stripe payments", "trigger": {"type": "event", "service": "stripe",
                                               "event": "payment_succeeded"},
        "steps": [{"id": "pick", "type": "transform",
                   "mapping": {"amount": "trigger.object.amount",
                               "order": "trigger.object.metadata.order_id"}}]})
    assert workflow.status_code == 201, workflow.get_json()
    try:
        r = deliver(event("evt_3MtwBwLkdIwHu7ix0Cm1jSoQ", "payment_intent.succeeded", PI))
        assert r.status_code == 200, r.get_json()
        (execution_id,) = r.get_json()["executions"]
        execution = finished_execution(client, execution_id, keys["viewer"])
        assert execution["status"] == "succeeded", execution
        assert execution["steps"][0]["output"] == {"amount": 2000, "order": "6735"}
    finally:
        close_engine(app)


@pytest.mark.parametrize("kind, trigger", [
    ("payment_intent.succeeded", "payment_succeeded"), ("charge.refunded", "charge_refunded"),
    ("invoice.paid", "invoice_paid"), ("customer.created", "customer_created"),
    ("checkout.session.completed", "checkout_completed"),
    ("customer.subscription.deleted", "subscription_deleted"),
])
def test_each_event_type_becomes_its_trigger_shaped_from_data_object(app, deliver, kind,
                                                                     trigger):
    obj = {"payment_intent.succeeded": PI, "charge.refunded": samples.CHARGE,
           "invoice.paid": samples.INVOICE, "customer.created": samples.CUSTOMER,
           "checkout.session.completed": samples.SESSION,
           "customer.subscription.deleted": samples.SUBSCRIPTION}[kind]
    r = deliver(event("evt_1", kind, obj))
    assert r.get_json()["accepted"] == 1
    (row,) = stored(app)
    assert (row.event, row.delivery_id) == (trigger, "evt_1")
    assert row.payload["event_type"] == kind and row.payload["object"]["id"] == obj["id"]


def test_an_event_type_no_trigger_covers_is_acknowledged(app, deliver):
    r = deliver(event("evt_2", "balance.available", {"object": "balance"}))
    assert r.status_code == 200 and r.get_json()["accepted"] == 0
    assert stored(app) == []


@pytest.mark.parametrize("sig", [
    lambda body: signature(body, "whsec_anotherSecret0123456789"),
    lambda body: signature(body, ts=int(time.time()) - 301),  # stale: outside 300 s
    lambda body: signature(body, ts=int(time.time()) + 3600),  # from the future
    lambda body: "t=abc,v1=" + "0" * 64,
    lambda body: "",
])
def test_a_bad_or_stale_signature_is_refused_and_nothing_runs(app, deliver, sig):
    body = event("evt_3", "payment_intent.succeeded", PI)
    r = deliver(body, sig(body))
    assert r.status_code == 401
    assert stored(app) == []


def test_a_tampered_body_is_refused(app, deliver):
    body = event("evt_4", "payment_intent.succeeded", PI)
    r = deliver(body.replace(b'"amount": 2000', b'"amount": 9'), signature(body))
    assert r.status_code == 401 and stored(app) == []


def test_a_replayed_delivery_runs_nothing_new(app, deliver):
    body = event("evt_5", "payment_intent.succeeded", PI)
    sig = signature(body)
    assert deliver(body, sig).get_json()["accepted"] == 1
    again = deliver(body, sig)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert again.get_json()["accepted"] == 0
    assert len(stored(app)) == 1


def test_stripes_redelivery_of_an_event_is_deduplicated_by_its_id(app, deliver):
    body = event("evt_6", "invoice.paid", samples.INVOICE)
    assert deliver(body, signature(body, ts=int(time.time()) - 10)).get_json()["accepted"] == 1
    r = deliver(body, signature(body))
    assert r.get_json()["accepted"] == 0 and r.get_json()["duplicates"] == 1
    assert len(stored(app)) == 1


def test_several_v1_signatures_during_a_secret_roll(app, deliver):
    body = event("evt_7", "customer.created", samples.CUSTOMER)
    ts = int(time.time())
    old = signature(body, "whsec_theOldSecret0123456789", ts).split(",")[1]
    r = deliver(body, f"{signature(body, WHSEC, ts)},{old}")
    assert r.get_json()["accepted"] == 1
