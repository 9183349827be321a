"""Notion's integration webhooks at ``POST /hooks/notion/<connection id>``: the one-time
verification request, ``X-Notion-Signature``, trigger mapping, de-duplication by event id, and
a delivery starting a workflow."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from atom.extensions import db
from atom.models import Connection
from atom.models import WebhookEvent
from atom.state import get_state
from plugins.notion.manifest import MANIFEST
from plugins.notion.samples import PAGE_CREATED
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.plugins.notion.conftest import NOTION
from tests.plugins.notion.conftest import VERIFICATION_TOKEN
from tests.plugins.notion.conftest import recorded


def signed(body: bytes, token: str = VERIFICATION_TOKEN) -> dict[str, str]:
    """The headers Notion sends, from its documentation: X-Notion-Signature is "sha256=" and the
    hex HMAC-SHA256 of the raw body keyed with the subscription's verification_token."""
    digest = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Notion-Signature": f"sha256={digest}", "Content-Type": "application/json"}


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    """The app, with its workflow engine stopped after the test (deliveries start executions)."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    yield app
    close_engine(app)


@pytest.fixture
def conn(notion_connection):
    return notion_connection()


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict, headers: dict | None = None, body: bytes | None = None,
             to: dict | None = None):
        raw = body if body is not None else json.dumps(payload).encode()
        return client.post(f"/hooks/notion/{(to or conn)['id']}", data=raw,
                           headers=signed(raw) if headers is None else headers)

    return send


def counts(response) -> tuple[int, int]:
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def webhook_secret(app, conn_id: int) -> str | None:
    with app.app_context():
        row = db.session.get(Connection, conn_id)
        return get_state(app).vault.decrypt(row.credentials_encrypted).get("webhook_secret")


@pytest.mark.parametrize("trigger", [t.name for t in MANIFEST.triggers])
def test_each_trigger_sample_is_stored_under_its_trigger(app, deliver, conn, trigger):
    sample = MANIFEST.trigger(trigger).sample
    r = deliver(sample)

    assert r.status_code == 200, r.get_json()
    assert counts(r) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("notion", conn["id"], trigger)
    assert row.delivery_id == sample["id"]
    assert row.payload == sample


def test_a_retried_event_is_counted_once(app, deliver):
    retry = {**PAGE_CREATED, "attempt_number": 2}  # Notion retries with the same event id
    first, again = deliver(PAGE_CREATED), deliver(retry)
    assert counts(first) == (1, 0)
    assert again.status_code == 200 and counts(again) == (0, 1)
    assert len(stored(app)) == 1


def test_the_same_delivery_replayed_is_a_duplicate(app, client, conn):
    raw = json.dumps(PAGE_CREATED).encode()
    first = client.post(f"/hooks/notion/{conn['id']}", data=raw, headers=signed(raw))
    replay = client.post(f"/hooks/notion/{conn['id']}", data=raw, headers=signed(raw))
    assert counts(first) == (1, 0) and counts(replay) == (0, 1)


@pytest.mark.parametrize("kind", ["page.deleted", "page.moved", "database.schema_updated",
                                  "data_source.schema_updated", "comment.updated"])
def test_events_no_trigger_covers_are_acknowledged_not_stored(app, deliver, kind):
    r = deliver({**PAGE_CREATED, "type": kind})
    assert r.status_code == 200
    assert counts(r) == (0, 0)
    assert stored(app) == []


def test_a_wrong_signature_is_refused(app, deliver):
    raw = json.dumps(PAGE_CREATED).encode()
    r = deliver({}, headers=signed(raw, token="secret_not-the-verification-token"), body=raw)
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_body_changed_after_signing_is_refused(app, deliver):
    raw = json.dumps(PAGE_CREATED).encode()
    r = deliver({}, headers=signed(raw), body=raw.replace(b"page.created", b"comment.created"))
    assert r.status_code == 401
    assert stored(app) == []


@pytest.mark.parametrize("header", [None, "", "sha256=", "deadbeef", "sha1=abc"])
def test_a_missing_or_malformed_signature_is_refused(app, deliver, header):
    raw = json.dumps(PAGE_CREATED).encode()
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Notion-Signature"] = header
    assert deliver({}, headers=headers, body=raw).status_code == 401
    assert stored(app) == []


# -- the verification request ----------------------------------------------------------------


def test_the_verification_token_becomes_the_secret_of_a_connection_without_one(
        app, client, notion_connection):
    conn = notion_connection(webhook_secret=None)
    token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
    # Notion's verification request is not signed.
    r = client.post(f"/hooks/notion/{conn['id']}", json={"verification_token": token})

    assert r.status_code == 200
    assert token not in r.get_data(as_text=True)
    assert webhook_secret(app, conn["id"]) == token
    assert stored(app) == []
    # Events signed with it are accepted from now on.
    raw = json.dumps(PAGE_CREATED).encode()
    ok = client.post(f"/hooks/notion/{conn['id']}", data=raw, headers=signed(raw, token))
    assert counts(ok) == (1, 0)


def test_a_later_verification_request_cannot_replace_the_secret(app, client, conn):
    attacker = "secret_attackerChosenToken0123456789abcdefghijk"
    r = client.post(f"/hooks/notion/{conn['id']}", json={"verification_token": attacker})

    assert r.status_code == 200  # answered as any verification request is
    assert webhook_secret(app, conn["id"]) == VERIFICATION_TOKEN
    raw = json.dumps(PAGE_CREATED).encode()
    forged = client.post(f"/hooks/notion/{conn['id']}", data=raw, headers=signed(raw, attacker))
    assert forged.status_code == 401
    assert stored(app) == []


@pytest.mark.parametrize("body", [
    {"verification_token": VERIFICATION_TOKEN, "type": "page.created"},
    {"verification_token": 42},
    {"verification_token": ""},
    {"verification_token": "line\nbreak"},
    {"verification_token": "x" * 513},
    ["verification_token"],
])
def test_anything_else_unsigned_is_not_a_verification_request(app, client, notion_connection,
                                                              body):
    conn = notion_connection(webhook_secret=None)
    r = client.post(f"/hooks/notion/{conn['id']}", data=json.dumps(body),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    assert webhook_secret(app, conn["id"]) is None


def test_a_connection_without_a_secret_accepts_no_event(app, client, notion_connection):
    conn = notion_connection(webhook_secret=None)
    raw = json.dumps(PAGE_CREATED).encode()
    r = client.post(f"/hooks/notion/{conn['id']}", data=raw, headers=signed(raw))
    assert r.status_code == 401
    assert stored(app) == []


# -- a delivery starts a workflow ------------------------------------------------------------


def test_a_new_page_starts_the_workflow_that_reads_it(app, client, keys, conn, fake_notion):
    page = recorded("page")
    fake_notion.get(f"{NOTION}/pages/{PAGE_CREATED['entity']['id']}", json=page)
    api = Api(client, keys["editor"])
    wf = api.create({"name": "new deploys", "trigger": {
        "type": "event", "service": "notion", "event": "page_created",
        "conditions": {"data.parent.type": "database"}},
        "steps": [{"id": "read", "type": "action", "service": "notion", "action": "get_page",
                   "connection": conn["id"],
                   "parameters": {"page_id": "{{ trigger.entity.id }}"}}]})
    api.create({"name": "comments only", "trigger": {
        "type": "event", "service": "notion", "event": "comment_created"},
        "steps": [{"id": "read", "type": "action", "service": "notion", "action": "get_page",
                   "connection": conn["id"],
                   "parameters": {"page_id": "{{ trigger.data.page_id }}"}}]})

    raw = json.dumps(PAGE_CREATED).encode()
    r = client.post(f"/hooks/notion/{conn['id']}", data=raw, headers=signed(raw))

    assert r.status_code == 200, r.get_json()
    (started,) = r.get_json()["executions"]
    done = api.wait_finished(started)
    assert done["workflow_id"] == wf["id"]
    assert done["status"] == "succeeded", done
    (step,) = done["steps"]
    assert step["output"]["title"] == "Deploy 1.4.2"
    # Retried by Notion: no second execution.
    again = client.post(f"/hooks/notion/{conn['id']}", data=raw, headers=signed(raw))
    assert again.get_json()["executions"] == []



def test_an_admin_reveals_the_handed_over_token_to_paste_into_notion(app, client, keys,
                                                                     notion_connection,
                                                                     create_connection):
    """Notion waits for the user to paste the verification token back; only an admin sees it,
    the reveal is audited, and no other integration's secret can be revealed this way."""
    conn = notion_connection(webhook_secret=None)
    url = f"/api/v2/connections/{conn['id']}/webhook-secret/reveal"
    early = client.post(url, headers=keys["admin"])
    assert early.status_code == 409 and "webhook_secret" in early.get_json()["errors"]
    token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
    client.post(f"/hooks/notion/{conn['id']}", json={"verification_token": token})
    for role in ("viewer", "editor"):
        assert client.post(url, headers=keys[role]).status_code == 403
    shown = client.post(url, headers=keys["admin"])
    assert shown.status_code == 200
    assert shown.get_json() == {"field": "webhook_secret", "value": token}
    assert shown.headers["Cache-Control"] == "no-store"
    with app.app_context():
        from atom.extensions import db
        from atom.models import AuditEvent

        (event,) = db.session.scalars(db.select(AuditEvent).filter_by(
            action="connection.webhook_secret_revealed")).all()
        assert event.subject == f"connection:{conn['id']}" and token not in str(event.detail)
    slack = create_connection("slack", {}, {"token": "xoxb-1-2-abc", "signing_secret": "s3cret"})
    other = client.post(f"/api/v2/connections/{slack['id']}/webhook-secret/reveal",
                        headers=keys["admin"])
    assert other.status_code == 422 and "s3cret" not in other.get_data(as_text=True)
