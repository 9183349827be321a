"""Dropbox webhooks at ``/hooks/dropbox/<connection id>``
(https://www.dropbox.com/developers/reference/webhooks): the verification GET echoing
``challenge``; notifications signed with ``X-Dropbox-Signature`` (hex HMAC-SHA256 of the raw
body keyed with the app secret) that only name the accounts with changes, so a genuine one
makes the file triggers poll at once, and each new file then starts the workflow once; bad
signatures refused; the stored cursor surviving a restart.

Dropbox signs no timestamp: a replayed notification makes another poll, which fires nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from atom.engine.polling import run_polls
from atom.extensions import db
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import Execution
from atom.models import PollCursor
from atom.models import WebhookEvent
from atom.models.base import utcnow
from tests.atom.engine.conftest import close_engine
from tests.plugins.dropbox.fake import ACCOUNT_ID
from tests.plugins.dropbox.fake import APP_SECRET
from tests.plugins.dropbox.fake import notification
from tests.plugins.dropbox.fake import signature

URL = "https://atom.example.com/hooks/dropbox/1"


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    """The app, its engine stopped after the test (workflows run here)."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    yield app
    close_engine(app)


# -- the scheme, from the documented algorithm ---------------------------------------------------

def test_the_documented_signature_is_accepted():
    body = notification()
    expected = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature(body) == expected
    req = WebhookRequest("POST", URL, {"X-Dropbox-Signature": expected}, body)
    assert verify("dropbox_sha256", req, APP_SECRET) is None  # no timestamp: no replay digest
    upper = WebhookRequest("POST", URL, {"X-Dropbox-Signature": expected.upper()}, body)
    assert verify("dropbox_sha256", upper, APP_SECRET) is None


@pytest.mark.parametrize("headers, body", [
    ({"X-Dropbox-Signature": signature(notification(), "another-secret")}, notification()),
    ({"X-Dropbox-Signature": signature(notification())}, notification("dbid:someone-else")),
    ({"X-Dropbox-Signature": "sha256=" + signature(notification())}, notification()),
    ({"X-Dropbox-Signature": ""}, notification()),
    ({}, notification()),
])
def test_anything_else_is_refused(headers, body):
    with pytest.raises(SignatureError):
        verify("dropbox_sha256", WebhookRequest("POST", URL, headers, body), APP_SECRET)


# -- the verification request ---------------------------------------------------------------------

def test_the_challenge_is_echoed_as_plain_text(client, connect):
    conn = connect()
    r = client.get(f"/hooks/dropbox/{conn['id']}?challenge=Vc1uXKj3kW-p8yZp0Hf8Q")
    assert r.status_code == 200
    assert r.get_data() == b"Vc1uXKj3kW-p8yZp0Hf8Q"
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_a_get_without_one_plain_challenge_is_not_answered(client, connect):
    conn = connect()
    for query in ("", "?challenge=", "?challenge=a&challenge=b", "?challenge=%3Cscript%3E%0A",
                  "?challenge=" + "x" * 600):
        r = client.get(f"/hooks/dropbox/{conn['id']}{query}")
        assert r.status_code == 405, query


# -- notifications through the receiver -----------------------------------------------------------

def _workflow(conn_id: int, event: str = "file_added") -> dict:
    return {"name": f"on dropbox {event}",
            "trigger": {"type": "event", "service": "dropbox", "event": event,
                        "connection_id": conn_id, "params": {"path": "/Inbox"}},
            "steps": [{"id": "meta", "type": "action", "service": "dropbox",
                       "action": "get_metadata", "connection": conn_id,
                       "parameters": {"path": "{{ trigger.id }}"}}]}


def _create(client, keys, definition: dict) -> dict:
    r = client.post("/api/v2/ai-workflows", json=definition, headers=keys["editor"])
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _finished(app, wf_id: int, timeout: float = 20) -> list[Execution]:
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            found = db.session.scalars(db.select(Execution).filter_by(workflow_id=wf_id)
                                       .order_by(Execution.id)).all()
            db.session.expunge_all()
        if all(e.status in ("succeeded", "failed", "cancelled") for e in found):
            return found
        assert time.monotonic() < deadline, [e.status for e in found]
        time.sleep(0.02)


def _deliver(client, conn, body: bytes | None = None, sig: str | None = None):
    body = notification() if body is None else body
    return client.post(f"/hooks/dropbox/{conn['id']}", data=body, headers={
        "Content-Type": "application/json",
        "X-Dropbox-Signature": signature(body) if sig is None else sig})


def _due(app) -> list:
    with app.app_context():
        return [c.next_poll_at for c in db.session.scalars(db.select(PollCursor))]


@pytest.fixture
def watched(app, client, keys, dropbox, connect):
    """A connection, a workflow on its file_added trigger for /Inbox, and the primed cursor."""
    conn = connect(account_id=ACCOUNT_ID)
    dropbox.add_file("/Inbox/old.pdf", b"old")
    wf = _create(client, keys, _workflow(conn["id"]))
    [primed] = run_polls(app)
    assert primed.outcome == "primed" and primed.fired == 0
    assert run_polls(app) == []  # not due before its interval
    return conn, wf


def test_a_signed_notification_polls_now_and_each_new_file_runs_the_workflow_once(
        app, client, dropbox, watched):
    conn, wf = watched
    dropbox.add_file("/Inbox/invoice.pdf", b"%PDF 1")
    dropbox.add_file("/Inbox/receipt.pdf", b"%PDF 2")
    dropbox.add_file("/Elsewhere/other.pdf", b"%PDF 3")

    r = _deliver(client, conn)
    assert r.status_code == 200 and r.get_data() == b""
    [result] = run_polls(app)
    assert result.outcome == "ok" and result.fired == 2
    runs = _finished(app, wf["id"])
    assert [e.status for e in runs] == ["succeeded", "succeeded"]
    assert sorted(e.trigger_payload["name"] for e in runs) == ["invoice.pdf", "receipt.pdf"]
    continued = dropbox.calls("files/list_folder/continue")
    assert len(continued) == 1 and len(dropbox.calls("files/list_folder")) == 1

    # The same notification again (Dropbox retries; or a replay): a poll that finds nothing.
    assert _deliver(client, conn).status_code == 200
    [again] = run_polls(app)
    assert again.outcome == "ok" and again.fired == 0
    assert len(_finished(app, wf["id"])) == 2
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEvent)) == 2


def test_a_bad_signature_is_refused_and_nothing_polls(app, client, dropbox, watched):
    conn, wf = watched
    dropbox.add_file("/Inbox/new.pdf", b"new")
    before = _due(app)
    for sig in ("0" * 64, signature(notification(), "another-secret"), ""):
        r = _deliver(client, conn, sig=sig)
        assert r.status_code == 401 and r.get_json()["code"] == "bad_signature"
    assert _due(app) == before and run_polls(app) == []
    assert _finished(app, wf["id"]) == []


def test_a_tampered_body_is_refused(app, client, watched):
    conn, _ = watched
    sig = signature(notification())
    r = _deliver(client, conn, body=notification(ACCOUNT_ID, "dbid:other"), sig=sig)
    assert r.status_code == 401


def test_a_notification_for_other_accounts_polls_nothing(app, client, dropbox, watched):
    conn, wf = watched
    before = _due(app)
    r = _deliver(client, conn, body=notification("dbid:AAAsomeone-else"))
    assert r.status_code == 200
    assert _due(app) == before and run_polls(app) == []


def test_a_connection_without_the_app_secret_accepts_no_notification(app, client, connect):
    conn = connect(credentials={"app_secret": None})
    assert _deliver(client, conn).status_code == 401


def test_the_cursor_survives_a_restart(app, app_factory, client, keys, dropbox, watched):
    conn, wf = watched
    with app.app_context():
        [stored] = db.session.scalars(db.select(PollCursor.cursor)).all()
    close_engine(app)
    again = app_factory()  # a new process on the same database
    try:
        dropbox.add_file("/Inbox/after restart.pdf", b"new")
        r = _deliver(again.test_client(), conn)
        assert r.status_code == 200
        [result] = run_polls(again)
        assert result.outcome == "ok" and result.fired == 1
        # Continued from the cursor the first process stored: no new listing.
        assert len(dropbox.calls("files/list_folder")) == 1
        [continued] = dropbox.calls("files/list_folder/continue")
        assert continued.arg == {"cursor": stored}
        runs = _finished(again, wf["id"])
        assert [e.trigger_payload["name"] for e in runs] == ["after restart.pdf"]
    finally:
        close_engine(again)


def test_polling_works_without_webhooks(app, client, keys, dropbox, connect):
    conn = connect()
    wf = _create(client, keys, _workflow(conn["id"], "file_changed"))
    dropbox.add_folder("/Inbox")
    [primed] = run_polls(app)
    assert primed.outcome == "primed"
    dropbox.add_file("/Inbox/a.pdf", b"1")
    with app.app_context():  # its interval passes
        db.session.execute(db.update(PollCursor).values(next_poll_at=utcnow()))
        db.session.commit()
    [result] = run_polls(app)
    assert result.fired == 1
    assert [e.status for e in _finished(app, wf["id"])] == ["succeeded"]
