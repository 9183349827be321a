"""Webhook receivers: signature over the raw body first, de-duplication, nothing stored on 401."""
from __future__ import annotations

import json

import pytest

from atom.extensions import db
from atom.integrations.webhooks import sign_hub
from atom.models import WebhookEvent

SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def conn(create_connection):
    return create_connection("http", {"base_url": "http://127.0.0.1:1"}, {"webhook_secret": SECRET})


def _events(app):
    with app.app_context():
        return [(e.event, e.delivery_id, e.payload) for e in db.session.scalars(db.select(WebhookEvent))]


def _post(client, conn_id, body: bytes, signature: str | None, delivery="d-1"):
    headers = {"Content-Type": "application/json", "X-Delivery-Id": delivery}
    if signature is not None:
        headers["X-Signature-256"] = signature
    return client.post(f"/hooks/http/{conn_id}", data=body, headers=headers)


def test_a_signed_delivery_is_stored_once(app, client, conn):
    body = json.dumps({"event": "order.created", "id": 7}).encode()
    first = _post(client, conn["id"], body, sign_hub(SECRET, body))
    assert first.status_code == 200
    assert first.get_json() == {"accepted": 1, "duplicates": 0, "executions": []}
    again = _post(client, conn["id"], body, sign_hub(SECRET, body))
    assert again.get_json() == {"accepted": 0, "duplicates": 1, "executions": []}
    assert _events(app) == [("webhook_received", "d-1", {"event": "order.created", "id": 7})]


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "md5=abc"])
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(app, client, conn, signature):
    body = b'{"event": "x"}'
    response = _post(client, conn["id"], body, signature)
    assert response.status_code == 401
    assert response.get_json()["code"] == "bad_signature"
    assert _events(app) == []


def test_the_signature_covers_the_exact_bytes(app, client, conn):
    body = b'{"event": "x"}'
    tampered = b'{"event":  "x"}'
    assert _post(client, conn["id"], tampered, sign_hub(SECRET, body)).status_code == 401
    assert _events(app) == []


def test_a_connection_without_a_secret_refuses_every_delivery(app, client, create_connection):
    conn = create_connection("http", {"base_url": "http://127.0.0.1:1"})
    body = b"{}"
    assert _post(client, conn["id"], body, sign_hub("", body) if False else sign_hub("x", body)).status_code == 401


def test_a_signed_body_that_is_not_json_is_400(app, client, conn):
    body = b"not json"
    assert _post(client, conn["id"], body, sign_hub(SECRET, body)).status_code == 400
    assert _events(app) == []


def test_unknown_integration_or_connection_is_404(client, conn):
    body = b"{}"
    assert client.post("/hooks/nope/1", data=body).status_code == 404
    assert client.post("/hooks/http/999", data=body).status_code == 404
