"""Webhook receivers: signature over the timestamp and the raw body first, replays and
redeliveries de-duplicated, nothing stored on 401."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from datetime import timedelta

import pytest

from atom.engine.triggers import maintenance_jobs
from atom.engine.triggers import prune_receipts
from atom.extensions import db
from atom.integrations.webhooks import sign_atom
from atom.integrations.webhooks import sign_hub
from atom.models import WebhookEvent
from atom.models import WebhookReceipt
from atom.models.base import utcnow

SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def conn(create_connection):
    return create_connection("http", {"base_url": "http://127.0.0.1:1"}, {"webhook_secret": SECRET})


def _events(app):
    with app.app_context():
        return [(e.event, e.delivery_id, e.payload) for e in db.session.scalars(db.select(WebhookEvent))]


def _receipts(app):
    with app.app_context():
        return [(r.scope, r.digest) for r in db.session.scalars(db.select(WebhookReceipt))]


def _post(client, conn_id, body: bytes, signature: dict[str, str] | None, delivery: str | None = "d-1"):
    headers = {"Content-Type": "application/json", **(signature or {})}
    if delivery is not None:
        headers["X-Delivery-Id"] = delivery
    return client.post(f"/hooks/http/{conn_id}", data=body, headers=headers)


def test_a_signed_delivery_is_stored_once(app, client, conn):
    body = json.dumps({"event": "order.created", "id": 7}).encode()
    now = int(time.time())
    first = _post(client, conn["id"], body, sign_atom(SECRET, body, now))
    assert first.status_code == 200
    assert first.get_json() == {"accepted": 1, "duplicates": 0, "executions": [], "duplicate": False}
    # Redelivered (signed afresh): the same delivery id is a duplicate.
    again = _post(client, conn["id"], body, sign_atom(SECRET, body, now + 1))
    assert again.get_json() == {"accepted": 0, "duplicates": 1, "executions": [], "duplicate": True}
    assert _events(app) == [("webhook_received", "d-1", {"event": "order.created", "id": 7})]


@pytest.mark.parametrize("delivery", ["d-2", "", None])
def test_a_replayed_signature_is_a_duplicate_whatever_its_delivery_id(app, client, conn, delivery):
    body = json.dumps({"event": "order.created", "id": 7}).encode()
    signed = sign_atom(SECRET, body)
    assert _post(client, conn["id"], body, signed, delivery="d-1").get_json()["accepted"] == 1
    replay = _post(client, conn["id"], body, signed, delivery=delivery)
    assert replay.status_code == 200
    assert replay.get_json() == {"accepted": 0, "duplicates": 1, "executions": [], "duplicate": True}
    assert len(_events(app)) == 1
    assert [scope for scope, _ in _receipts(app)] == [f"connection:{conn['id']}"]


def test_without_a_delivery_id_deliveries_at_different_times_are_distinct(app, client, conn):
    """The same body sent twice is two deliveries; only the same signature is a replay."""
    body = b'{"event": "ping"}'
    now = int(time.time())
    for ts in (now, now + 1):
        response = _post(client, conn["id"], body, sign_atom(SECRET, body, ts), delivery=None)
        assert response.get_json()["accepted"] == 1, response.get_json()
    assert _post(client, conn["id"], body, sign_atom(SECRET, body, now), delivery=None).get_json()["duplicate"]
    assert len(_events(app)) == 2


def test_the_same_signature_on_two_connections_is_not_a_replay(app, client, create_connection):
    a = create_connection("http", {"base_url": "http://127.0.0.1:1"}, {"webhook_secret": SECRET})
    b = create_connection("http", {"base_url": "http://127.0.0.1:1"}, {"webhook_secret": SECRET})
    body = b'{"event": "x"}'
    signed = sign_atom(SECRET, body)
    assert _post(client, a["id"], body, signed).get_json()["accepted"] == 1
    assert _post(client, b["id"], body, signed).get_json()["accepted"] == 1


def test_concurrent_copies_of_one_delivery_are_accepted_once(app, conn):
    body = b'{"event": "race"}'
    signed = sign_atom(SECRET, body)
    barrier = threading.Barrier(6)
    answers: list = []

    def send(n: int) -> None:
        client = app.test_client()
        barrier.wait(10)
        answers.append(_post(client, conn["id"], body, signed, delivery=f"race-{n}").get_json())

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(a["accepted"] for a in answers) == [0, 0, 0, 0, 0, 1], answers
    assert len(_events(app)) == 1 and len(_receipts(app)) == 1


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_stale_or_future_timestamp_is_401(app, client, conn, age):
    body = b'{"event": "x"}'
    response = _post(client, conn["id"], body, sign_atom(SECRET, body, int(time.time()) - age))
    assert response.status_code == 401
    assert "tolerance" in response.get_json()["message"]
    assert _events(app) == [] and _receipts(app) == []


@pytest.mark.parametrize("stamp", ["nan", "inf", "-inf", "1e999", "", "12abc", "NaN"])
def test_a_timestamp_that_is_not_a_finite_number_is_401(app, client, conn, stamp):
    body = b'{"event": "x"}'
    response = _post(client, conn["id"], body, sign_atom(SECRET, body, stamp))
    assert response.status_code == 401
    assert response.get_json()["code"] == "bad_signature"
    assert _events(app) == []


def test_the_old_body_only_signature_is_401(app, client, conn):
    body = b'{"event": "x"}'
    assert _post(client, conn["id"], body, {"X-Signature-256": sign_hub(SECRET, body)}).status_code == 401
    old_with_stamp = {"X-Atom-Timestamp": str(int(time.time())), "X-Signature-256": sign_hub(SECRET, body)}
    assert _post(client, conn["id"], body, old_with_stamp).status_code == 401
    assert _events(app) == []


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "md5=abc", "sha256=é"])
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(app, client, conn, signature):
    body = b'{"event": "x"}'
    headers = {"X-Atom-Timestamp": str(int(time.time()))}
    if signature is not None:
        headers["X-Signature-256"] = signature
    response = _post(client, conn["id"], body, headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "bad_signature"
    assert _events(app) == [] and _receipts(app) == []


def test_the_signature_covers_the_exact_bytes(app, client, conn):
    body = b'{"event": "x"}'
    tampered = b'{"event":  "x"}'
    assert _post(client, conn["id"], tampered, sign_atom(SECRET, body)).status_code == 401
    assert _events(app) == []


def test_a_connection_without_a_secret_refuses_every_delivery(app, client, create_connection):
    conn = create_connection("http", {"base_url": "http://127.0.0.1:1"})
    body = b"{}"
    assert _post(client, conn["id"], body, sign_atom("x", body)).status_code == 401


def test_a_signed_body_that_is_not_json_is_400(app, client, conn):
    body = b"not json"
    assert _post(client, conn["id"], body, sign_atom(SECRET, body)).status_code == 400
    assert _events(app) == [] and _receipts(app) == []


def test_unknown_integration_or_connection_is_404(client, conn):
    body = b"{}"
    assert client.post("/hooks/nope/1", data=body).status_code == 404
    assert client.post("/hooks/http/999", data=body).status_code == 404


def test_receipts_older_than_twice_the_window_are_pruned_by_a_maintenance_job(app, client, conn):
    body = b'{"event": "x"}'
    signed = sign_atom(SECRET, body)
    _post(client, conn["id"], body, signed)
    with app.app_context():
        db.session.add(WebhookReceipt(scope="connection:99", digest="a" * 64,
                                      received_at=utcnow() - timedelta(seconds=601)))
        db.session.add(WebhookReceipt(scope="connection:99", digest="b" * 64,
                                      received_at=utcnow() - timedelta(seconds=590)))
        db.session.commit()
    assert prune_receipts(app) == 1
    assert [d for s, d in _receipts(app) if s == "connection:99"] == ["b" * 64]
    assert len(_receipts(app)) == 2
    # A receipt still within reach keeps refusing its replay.
    assert _post(client, conn["id"], body, signed, delivery="other").get_json()["duplicate"] is True
    job = {j.id: j for j in maintenance_jobs(app)}["engine:prune-receipts"]
    assert job.func is prune_receipts and job.kwargs == {"app": app}
    assert job.trigger == "interval" and job.trigger_args == {"seconds": 300}


# The README's example, run as written (bash, openssl, curl) against a server on loopback.
README_CURL = r"""
TS=$(date +%s)
SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= //')
curl -sS -X POST "$URL" -H 'Content-Type: application/json' \
  -H "X-Atom-Timestamp: $TS" -H "X-Signature-256: sha256=$SIG" \
  --data-binary "$BODY"
"""


@pytest.fixture
def live(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl")), reason="needs openssl and curl")
def test_the_readme_curl_example_is_accepted_once(app, conn, live):
    env = {**os.environ, "URL": f"{live}/hooks/http/{conn['id']}", "SECRET": SECRET,
           "BODY": '{"event": "order.created", "id": 42}'}

    def run() -> dict:
        done = subprocess.run(["bash", "-c", README_CURL], env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert run()["accepted"] == 1
    assert _events(app)[0][2] == {"event": "order.created", "id": 42}


@pytest.mark.postgres
def test_concurrent_replays_of_a_workflow_hook_start_one_execution_on_postgresql(
        app_factory, monkeypatch, tmp_path, pg_url):
    from atom.models import Execution
    from tests.atom.engine.conftest import close_engine
    from tests.conftest import make_key

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    pg = app_factory(SQLALCHEMY_DATABASE_URI=pg_url)
    try:
        headers = {"Authorization": f"Bearer {make_key(pg, 'editor')}"}
        wf = pg.test_client().post("/api/v2/ai-workflows", headers=headers, json={
            "name": "hook", "trigger": {"type": "webhook", "secret": SECRET},
            "steps": [{"id": "t", "type": "transform", "mapping": {"v": "trigger.v"}}]}).get_json()
        hook = "/hooks/" + wf["webhook_url"].split("/hooks/", 1)[1]
        body = b'{"v": 1}'
        signed = {"Content-Type": "application/json", **sign_atom(SECRET, body)}
        barrier = threading.Barrier(6)
        answers: list = []

        def send(n: int) -> None:
            client = pg.test_client()
            barrier.wait(10)
            response = client.post(hook, data=body, headers={**signed, "X-Delivery-Id": f"evt-{n}"})
            answers.append((response.status_code, response.get_json()))

        threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(status for status, _ in answers) == [200] * 5 + [202], answers
        assert [a for _, a in answers if a["duplicate"]] == [{"execution_id": None, "duplicate": True}] * 5
        with pg.app_context():
            assert db.session.scalar(db.select(db.func.count()).select_from(Execution)) == 1
            assert [r.scope for r in db.session.scalars(db.select(WebhookReceipt))] == [f"workflow:{wf['id']}"]
    finally:
        close_engine(pg)
