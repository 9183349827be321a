"""Xero webhooks at ``POST /hooks/xero/<connection id>``, scheme "xero_sha256": the
intent-to-receive check (200 with no body when correctly signed, 401 with no body otherwise),
signed events starting workflows, and redeliveries de-duplicated."""
from __future__ import annotations

import json

import pytest

from tests.plugins.webhook_support import finished_execution
from tests.plugins.webhook_support import hook_sender
from tests.plugins.webhook_support import stored
from tests.plugins.xero.conftest import TENANT
from tests.plugins.xero.conftest import xero_signature

INVOICE_ID = "0f3a4b5c-2d1e-4f6a-9b8c-7d6e5f4a3b2c"


def events(*items: dict) -> bytes:
    return json.dumps({"events": list(items), "firstEventSequence": 1,
                       "lastEventSequence": len(items), "entropy": "S0m3r4Nd0mt3xt"}).encode()


def xero_event(category: str = "INVOICE", kind: str = "CREATE", tenant: str = TENANT,
               when: str = "2026-03-01T01:15:39.902") -> dict:
    path = "Invoices" if category == "INVOICE" else "Contacts"
    return {"resourceUrl": f"https://api.xero.com/api.xro/2.0/{path}/{INVOICE_ID}",
            "resourceId": INVOICE_ID, "eventDateUtc": when, "eventType": kind,
            "eventCategory": category, "tenantId": tenant, "tenantType": "ORGANISATION"}


@pytest.fixture
def conn(xero_connection):
    return xero_connection()


@pytest.fixture
def deliver(client, conn):
    return hook_sender(client, "xero", conn["id"], "x-xero-signature", xero_signature)


def test_intent_to_receive_correctly_signed_is_200_with_no_body(app, deliver):
    r = deliver(events())
    assert r.status_code == 200 and r.data == b""
    assert stored(app) == []


@pytest.mark.parametrize("signature", [xero_signature(b"other"), "", "bm90IGEgc2lnbmF0dXJl"])
def test_intent_to_receive_incorrectly_signed_is_401_with_no_body(app, deliver, signature):
    r = deliver(events(), signature)
    assert r.status_code == 401 and r.data == b""
    assert stored(app) == []


def test_a_key_other_than_the_connections_is_refused(app, deliver):
    body = events(xero_event())
    r = deliver(body, xero_signature(body, "another-webhook-key-0123456789"))
    assert r.status_code == 401 and stored(app) == []


def test_a_tampered_body_is_refused_and_nothing_runs(app, deliver):
    body = events(xero_event())
    r = deliver(body.replace(b"CREATE", b"UPDATE"), xero_signature(body))
    assert r.status_code == 401 and stored(app) == []


def test_events_become_triggers_with_ids_only(app, deliver):
    r = deliver(events(xero_event(), xero_event("INVOICE", "UPDATE"),
                       xero_event("CONTACT", "CREATE"), xero_event("CONTACT", "UPDATE"),
                       xero_event("SUBSCRIPTION", "CREATE")))
    assert r.status_code == 200 and r.get_json()["accepted"] == 4
    rows = stored(app)
    assert [row.event for row in rows] == ["invoice_created", "invoice_updated",
                                           "contact_created", "contact_updated"]
    assert rows[0].payload == {
        "resource_id": INVOICE_ID,
        "resource_url": f"https://api.xero.com/api.xro/2.0/Invoices/{INVOICE_ID}",
        "event_category": "INVOICE", "event_type": "CREATE",
        "event_date": "2026-03-01T01:15:39.902", "tenant_id": TENANT,
        "tenant_type": "ORGANISATION"}


def test_events_of_another_organisation_are_ignored(app, deliver):
    r = deliver(events(xero_event(tenant="4e0b9b9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e")))
    assert r.get_json()["accepted"] == 0 and stored(app) == []


def test_a_replayed_delivery_runs_nothing_new(app, deliver):
    body = events(xero_event())
    assert deliver(body).get_json()["accepted"] == 1
    again = deliver(body)
    assert again.status_code == 200
    assert again.get_json()["accepted"] == 0 and again.get_json()["duplicates"] == 1
    assert len(stored(app)) == 1


def test_a_signed_invoice_event_starts_the_workflow(app, client, keys, deliver):
    from tests.atom.engine.conftest import close_engine

    workflow = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "New Xero invoices", "trigger": {"type": "event", "service": "xero",
                                                 "event": "invoice_created"},
        "steps": [{"id": "pick", "type": "transform",
                   "mapping": {"invoice": "trigger.resource_id"}}]})
    assert workflow.status_code == 201, workflow.get_json()
    try:
        r = deliver(events(xero_event()))
        (execution_id,) = r.get_json()["executions"]
        execution = finished_execution(client, execution_id, keys["viewer"])
        assert execution["status"] == "succeeded", execution
        assert execution["steps"][0]["output"] == {"invoice": INVOICE_ID}
    finally:
        close_engine(app)
