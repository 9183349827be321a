"""Jira admin webhooks: ``X-Hub-Signature: sha256=...``, de-duplicated on the delivery id."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from atom.extensions import db
from atom.models import WebhookEvent
from plugins.jira.manifest import MANIFEST
from tests.plugins.jira.conftest import WEBHOOK_SECRET

ISSUE_CREATED = MANIFEST.trigger("issue_created").sample


def signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def deliver(client, connect):
    conn = connect(site="acme")

    def post(payload, *, delivery: str | None = "a6b1e1c0-5f2d-4c71-9a4e-0d1c2b3a4f5e",
             sign_with: str = WEBHOOK_SECRET, headers=None):
        raw = json.dumps(payload).encode()
        hdrs = {"Content-Type": "application/json", "X-Hub-Signature": signature(raw, sign_with),
                "X-Atlassian-Webhook-Identifier": delivery}
        hdrs.update(headers or {})
        return client.post(f"/hooks/jira/{conn['id']}", data=raw,
                           headers={k: v for k, v in hdrs.items() if v is not None})

    post.connection = conn
    return post


def counts(response) -> tuple[int, int]:
    """(accepted, duplicates) of a hook answer (which also lists workflow executions)."""
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        return [(row.event, row.delivery_id) for row in rows]


def test_a_signed_delivery_is_stored_under_its_identifier(app, deliver):
    r = deliver(ISSUE_CREATED, delivery="d-1")
    assert r.status_code == 200, r.get_json()
    assert counts(r) == (1, 0)
    with app.app_context():
        row = db.session.scalars(db.select(WebhookEvent)).one()
        assert (row.integration, row.event, row.delivery_id) == ("jira", "issue_created", "d-1")
        assert row.connection_id == deliver.connection["id"]
        assert row.payload["issue"]["key"] == "ED-24"


def test_a_retried_delivery_is_a_duplicate(app, deliver):
    deliver(ISSUE_CREATED, delivery="d-1")
    r = deliver(ISSUE_CREATED, delivery="d-1", headers={"X-Atlassian-Webhook-Retry": "1"})
    assert r.status_code == 200
    assert counts(r) == (0, 1)
    assert stored(app) == [("issue_created", "d-1")]


def test_without_an_identifier_the_body_hash_dedupes(app, deliver):
    assert deliver(ISSUE_CREATED, delivery=None).get_json()["accepted"] == 1
    assert deliver(ISSUE_CREATED, delivery=None).get_json()["duplicates"] == 1
    other = {**ISSUE_CREATED, "timestamp": ISSUE_CREATED["timestamp"] + 1}
    assert deliver(other, delivery=None).get_json()["accepted"] == 1


@pytest.mark.parametrize("trigger", MANIFEST.triggers, ids=lambda t: t.name)
def test_every_trigger_sample_parses_to_its_trigger(app, deliver, trigger):
    r = deliver(trigger.sample, delivery=f"d-{trigger.name}")
    assert counts(r) == (1, 0)
    assert stored(app) == [(trigger.name, f"d-{trigger.name}")]


def test_events_we_do_not_offer_are_acknowledged_and_dropped(app, deliver):
    r = deliver({"timestamp": 1718190000000, "webhookEvent": "worklog_created",
                 "worklog": {"id": "100028", "timeSpentSeconds": 3600}})
    assert r.status_code == 200
    assert counts(r) == (0, 0)
    assert stored(app) == []


def test_a_wrong_signature_is_rejected(app, deliver):
    r = deliver(ISSUE_CREATED, sign_with="another-secret")
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_missing_signature_is_rejected(app, deliver):
    r = deliver(ISSUE_CREATED, headers={"X-Hub-Signature": None})
    assert r.status_code == 401
    assert "X-Hub-Signature" in r.get_json()["message"]
    assert stored(app) == []


def test_a_signature_of_another_body_is_rejected(client, app, deliver):
    raw = json.dumps(ISSUE_CREATED).encode()
    r = client.post(f"/hooks/jira/{deliver.connection['id']}", data=raw.replace(b"ED-24", b"ED-25"),
                    headers={"X-Hub-Signature": signature(raw),
                             "X-Atlassian-Webhook-Identifier": "d-1"})
    assert r.status_code == 401
    assert stored(app) == []


def test_a_body_that_is_not_an_object_is_refused(app, deliver):
    r = deliver([ISSUE_CREATED])
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert stored(app) == []
