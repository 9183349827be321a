"""GitHub webhooks at ``POST /hooks/github/<connection id>``: signing, trigger mapping from
``X-GitHub-Event`` + ``action``, ``ping`` and de-duplication on ``X-GitHub-Delivery``."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from atom.extensions import db
from atom.models import WebhookEvent
from plugins.github import samples
from plugins.github.manifest import MANIFEST
from tests.plugins.github.conftest import WEBHOOK_SECRET

# The X-GitHub-Event header GitHub sends with each trigger's sample.
SAMPLES = {
    "pull_request_opened": ("pull_request", samples.PULL_REQUEST_OPENED),
    "pull_request_closed": ("pull_request", samples.PULL_REQUEST_CLOSED),
    "pull_request_merged": ("pull_request", samples.PULL_REQUEST_MERGED),
    "issue_opened": ("issues", samples.ISSUE_OPENED),
    "issue_closed": ("issues", samples.ISSUE_CLOSED),
    "issue_comment_created": ("issue_comment", samples.ISSUE_COMMENT_CREATED),
    "push": ("push", samples.PUSH),
    "release_published": ("release", samples.RELEASE_PUBLISHED),
    "workflow_run_completed": ("workflow_run", samples.WORKFLOW_RUN_COMPLETED),
}


def signed(body: bytes, event: str, delivery: str | None = None,
           secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """The headers GitHub sends: X-Hub-Signature-256: sha256=hex(HMAC-SHA256(secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "292430182", "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/044aadd"}


@pytest.fixture
def conn(github_connection):
    return github_connection()


@pytest.fixture
def deliver(client, conn):
    def send(event: str, payload: dict, headers: dict | None = None, **kw):
        raw = json.dumps(payload).encode()
        return client.post(f"/hooks/github/{conn['id']}", data=raw,
                           headers=signed(raw, event, **kw) if headers is None else headers)

    return send


def counts(response) -> tuple[int, int]:
    """(accepted, duplicates) of a receiver's answer."""
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def test_every_trigger_has_a_sample_delivery():
    assert set(SAMPLES) == {t.name for t in MANIFEST.triggers}
    assert all(MANIFEST.trigger(name).sample is payload for name, (_, payload) in SAMPLES.items())


@pytest.mark.parametrize("trigger", sorted(SAMPLES))
def test_each_sample_delivery_is_stored_under_its_trigger(app, deliver, conn, trigger):
    event, payload = SAMPLES[trigger]
    delivery = str(uuid.uuid4())
    r = deliver(event, payload, delivery=delivery)

    assert r.status_code == 200
    assert counts(r) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("github", conn["id"], trigger)
    assert row.delivery_id == delivery
    assert row.payload == payload


def test_a_merged_pull_request_is_merged_not_closed(app, deliver):
    deliver("pull_request", samples.PULL_REQUEST_MERGED)
    assert [row.event for row in stored(app)] == ["pull_request_merged"]


def test_ping_is_acknowledged_and_not_stored(app, deliver):
    r = deliver("ping", {"zen": "Design for failure.", "hook_id": 292430182,
                         "hook": {"type": "Repository", "events": ["push", "pull_request"]}})
    assert r.status_code == 200
    assert counts(r) == (0, 0)
    assert stored(app) == []


@pytest.mark.parametrize("event, payload", [
    ("star", {"action": "created", "starred_at": "2024-06-01T00:00:00Z"}),
    ("pull_request", {**samples.PULL_REQUEST_OPENED, "action": "synchronize"}),
    ("issues", {**samples.ISSUE_OPENED, "action": "labeled"}),
    ("release", {**samples.RELEASE_PUBLISHED, "action": "created"}),
])
def test_undeclared_events_are_acknowledged_not_stored(app, deliver, event, payload):
    r = deliver(event, payload)
    assert r.status_code == 200
    assert counts(r) == (0, 0)
    assert stored(app) == []


def test_a_redelivery_is_counted_once(app, client, conn):
    raw = json.dumps(samples.PUSH).encode()
    headers = signed(raw, "push", delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    first = client.post(f"/hooks/github/{conn['id']}", data=raw, headers=headers)
    again = client.post(f"/hooks/github/{conn['id']}", data=raw, headers=headers)

    assert counts(first) == (1, 0)
    assert again.status_code == 200
    assert counts(again) == (0, 1)
    assert len(stored(app)) == 1


def test_a_wrong_signature_is_refused(app, deliver):
    raw = json.dumps(samples.PUSH).encode()
    r = deliver("push", samples.PUSH, headers=signed(raw, "push", secret="another secret"))
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_body_changed_after_signing_is_refused(app, client, conn):
    raw = json.dumps(samples.PUSH).encode()
    headers = signed(raw, "push")
    r = client.post(f"/hooks/github/{conn['id']}", data=raw.replace(b"main", b"prod"),
                    headers=headers)
    assert r.status_code == 401
    assert stored(app) == []


def test_the_legacy_sha1_signature_alone_is_refused(app, deliver):
    raw = json.dumps(samples.PUSH).encode()
    headers = signed(raw, "push")
    sha1 = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha1).hexdigest()
    del headers["X-Hub-Signature-256"]
    headers["X-Hub-Signature"] = f"sha1={sha1}"
    assert deliver("push", samples.PUSH, headers=headers).status_code == 401
    assert stored(app) == []


def test_a_connection_without_a_webhook_secret_accepts_nothing(app, client, create_connection):
    conn = create_connection("github", {}, {"token": "ghp_0123456789abcdef"})
    raw = json.dumps(samples.PUSH).encode()
    r = client.post(f"/hooks/github/{conn['id']}", data=raw, headers=signed(raw, "push"))
    assert r.status_code == 401
    assert stored(app) == []
