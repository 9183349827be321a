"""Box V2 webhooks at ``POST /hooks/box/<connection id>``, scheme ``"box_v2"``: either signature
key verifies (rotation), stale or tampered deliveries are refused, a replayed delivery is a
duplicate, Box's retries (a new BOX-DELIVERY-ID, the same body id) are stored once, and a
delivery starts the workflow listening for it.

The signature is Box's documented computation
(https://developer.box.com/guides/webhooks/v2/signatures-v2/): base64(HMAC-SHA256(key, body
bytes + BOX-DELIVERY-TIMESTAMP bytes)); the body is Box's example payload
(https://developer.box.com/guides/webhooks/v2/, "Payload body").
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from atom.extensions import db
from atom.models import WebhookEvent
from plugins.box import samples
from tests.plugins.box.conftest import PRIMARY_KEY
from tests.plugins.box.conftest import SECONDARY_KEY
from tests.plugins.box.fake_box import TOKEN

SOURCE = {k: v for k, v in samples.FILE_UPLOADED.items() if k not in ("event", "path")}
SOURCE["path_collection"] = {"total_count": 2, "entries": [
    {"type": "folder", "id": "0", "name": "All Files"},
    {"type": "folder", "id": "8290188973", "name": "Webhooks"}]}


def delivery(trigger: str = "FILE.UPLOADED", event_id: str | None = None,
             source: dict | None = None) -> dict:
    return {"type": "webhook_event", "id": event_id or str(uuid.uuid4()),
            "created_at": "2016-07-11T10:10:32-07:00", "trigger": trigger,
            "webhook": {"id": "53", "type": "webhook"},
            "created_by": {"type": "user", "id": "226067247", "name": "John Q. Developer",
                           "login": "johnq@dev.name"},
            "source": source or SOURCE, "additional_info": []}


def signed(body: bytes, primary: str | None = PRIMARY_KEY, secondary: str | None = SECONDARY_KEY,
           age_s: float = 0.0) -> dict[str, str]:
    stamp = (datetime.now(timezone(timedelta(hours=-7))) - timedelta(seconds=age_s)) \
        .isoformat(timespec="seconds")
    headers = {"Content-Type": "application/json", "BOX-DELIVERY-ID": str(uuid.uuid4()),
               "BOX-DELIVERY-TIMESTAMP": stamp, "BOX-SIGNATURE-VERSION": "1",
               "BOX-SIGNATURE-ALGORITHM": "HmacSHA256", "USER-AGENT": "Box-WH-Client/0.1"}
    for key, header in ((primary, "BOX-SIGNATURE-PRIMARY"),
                        (secondary, "BOX-SIGNATURE-SECONDARY")):
        if key:
            digest = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).digest()
            headers[header] = base64.b64encode(digest).decode()
    return headers


@pytest.fixture
def conn(box_connection):
    return box_connection(access_token=TOKEN, webhook_primary_key=PRIMARY_KEY,
                          webhook_secondary_key=SECONDARY_KEY)


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict | None = None, headers: dict | None = None, body: bytes | None = None,
             to: dict | None = None):
        raw = body if body is not None else json.dumps(payload or delivery()).encode()
        return client.post(f"/hooks/box/{(to or conn)['id']}", data=raw,
                           headers=signed(raw) if headers is None else headers)

    return send


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


@pytest.mark.parametrize("trigger, name", [("FILE.UPLOADED", "file_uploaded"),
                                           ("FILE.TRASHED", "file_trashed"),
                                           ("FILE.DELETED", "file_deleted"),
                                           ("FILE.MOVED", "file_moved"),
                                           ("FOLDER.CREATED", "folder_created")])
def test_each_trigger_is_stored_shaped_from_its_source(app, deliver, trigger, name):
    payload = delivery(trigger)
    r = deliver(payload)
    assert r.status_code == 200 and r.get_json()["accepted"] == 1, r.get_json()
    (row,) = stored(app)
    assert (row.event, row.delivery_id) == (name, payload["id"])
    assert row.payload["id"] == "73835521473" and row.payload["name"] == "Test-Image-3.png"
    assert row.payload["parent"] == {"id": "8290188973", "name": "Webhooks"}
    assert row.payload["path"] == "All Files/Webhooks"
    assert row.payload["event"]["trigger"] == trigger
    assert row.payload["event"]["webhook_id"] == "53"


def test_triggers_no_trigger_covers_are_acknowledged_not_stored(app, deliver):
    r = deliver(delivery("FILE.PREVIEWED"))
    assert r.status_code == 200 and r.get_json()["accepted"] == 0
    assert stored(app) == []


def test_the_secondary_signature_alone_is_enough(app, deliver):
    """The primary key was reset in Box's console and not yet here (rotation step 2)."""
    raw = json.dumps(delivery()).encode()
    assert deliver(body=raw, headers=signed(raw, primary="reset-in-the-console")
                   ).status_code == 200
    other = json.dumps(delivery()).encode()
    assert deliver(body=other, headers=signed(other, primary=None)).status_code == 200
    assert len(stored(app)) == 2


def test_a_connection_with_only_a_secondary_key_verifies(app, client, box_connection):
    conn = box_connection(access_token=TOKEN, webhook_secondary_key=SECONDARY_KEY)
    raw = json.dumps(delivery()).encode()
    r = client.post(f"/hooks/box/{conn['id']}", data=raw, headers=signed(raw, primary=None))
    assert r.status_code == 200 and len(stored(app)) == 1


@pytest.mark.parametrize("change", ["wrong keys", "tampered", "stale", "unsigned"])
def test_a_bad_delivery_is_refused_and_nothing_is_stored(app, deliver, change):
    raw = json.dumps(delivery()).encode()
    headers = {
        "wrong keys": lambda: signed(raw, "wrong-primary", "wrong-secondary"),
        "tampered": lambda: signed(raw),
        "stale": lambda: signed(raw, age_s=601),
        "unsigned": lambda: {"Content-Type": "application/json"},
    }[change]()
    body = raw.replace(b"Test-Image-3", b"Test-Image-4") if change == "tampered" else raw
    r = deliver(body=body, headers=headers)
    assert r.status_code == 401 and r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_replayed_delivery_is_a_duplicate_whatever_its_delivery_id(app, deliver):
    raw = json.dumps(delivery()).encode()
    headers = signed(raw)
    assert deliver(body=raw, headers=headers).get_json()["accepted"] == 1
    replay = {**headers, "BOX-DELIVERY-ID": str(uuid.uuid4())}
    replay.pop("BOX-SIGNATURE-PRIMARY")
    again = deliver(body=raw, headers=replay)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert len(stored(app)) == 1


def test_a_box_retry_is_stored_once(app, deliver):
    """Box's retry: a new BOX-DELIVERY-ID and timestamp (so a new signature), the same body id."""
    payload = delivery()
    assert deliver(payload).get_json()["accepted"] == 1
    raw = json.dumps(payload).encode()
    retry = deliver(body=raw, headers=signed(raw, age_s=1))
    assert retry.status_code == 200 and retry.get_json()["duplicates"] == 1
    assert len(stored(app)) == 1


def test_a_connection_without_signature_keys_accepts_nothing(app, client, box_connection):
    conn = box_connection(access_token=TOKEN)
    raw = json.dumps(delivery()).encode()
    assert client.post(f"/hooks/box/{conn['id']}", data=raw,
                       headers=signed(raw)).status_code == 401
    assert stored(app) == []


def test_the_signature_keys_are_never_shown(client, keys, conn):
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["admin"]).get_data(
        as_text=True)
    assert PRIMARY_KEY not in shown and SECONDARY_KEY not in shown and TOKEN not in shown


# -- a delivery starts a workflow ------------------------------------------------------------------


@pytest.fixture
def engine_api(app, client, keys):
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine

    yield Api(client, keys["editor"])
    close_engine(app)


def test_an_upload_starts_the_workflow_listening_for_it(engine_api, deliver):
    wf = engine_api.create({
        "name": "back up new Box uploads",
        "trigger": {"type": "event", "service": "Box", "event": "file_uploaded"},
        "steps": [{"id": "what", "type": "transform",
                   "mapping": {"file": "trigger.name", "folder": "trigger.parent.name",
                               "by": "trigger.event.created_by.login"}}]})
    payload = delivery()
    r = deliver(payload)

    (execution,) = r.get_json()["executions"]
    done = engine_api.wait_finished(execution)
    assert (done["workflow_id"], done["status"]) == (wf["id"], "succeeded")
    step = next(s for s in done["steps"] if s["step_id"] == "what")
    assert step["output"] == {"file": "Test-Image-3.png", "folder": "Webhooks",
                              "by": "johnq@dev.name"}
    raw = json.dumps(payload).encode()
    assert deliver(body=raw, headers=signed(raw, age_s=1)).get_json()["executions"] == []
