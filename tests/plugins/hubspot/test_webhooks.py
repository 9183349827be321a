"""HubSpot webhook deliveries: v3 signatures, one event per array element, de-duplication."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from atom.extensions import db
from atom.models import WebhookEvent
from plugins.hubspot.manifest import MANIFEST
from tests.plugins.hubspot.conftest import CLIENT_SECRET


def event(event_id: int, kind: str, object_id: int = 1246965, **extra) -> dict:
    return {"eventId": event_id, "subscriptionId": 2381047, "portalId": 62515, "appId": 1160452,
            "occurredAt": 1718187330512, "subscriptionType": kind, "attemptNumber": 0,
            "objectId": object_id, "changeSource": "CRM_UI", **extra}


def sign(url: str, body: bytes, timestamp: str, secret: str = CLIENT_SECRET) -> str:
    """HubSpot's v3 signature: base64 HMAC-SHA256 of method + URI + body + timestamp."""
    message = b"POST" + url.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


@pytest.fixture
def deliver(client, connect):
    conn = connect()
    path = f"/hooks/hubspot/{conn['id']}"

    def post(events, *, age_s: float = 0.0, secret: str = CLIENT_SECRET, headers=None):
        body = json.dumps(events).encode()
        timestamp = str(int((time.time() - age_s) * 1000))
        hdrs = {"Content-Type": "application/json", "X-HubSpot-Signature-Version": "v3",
                "X-HubSpot-Request-Timestamp": timestamp,
                # The Flask test client's request.url is http://localhost/<path>.
                "X-HubSpot-Signature-v3": sign(f"http://localhost{path}", body, timestamp, secret)}
        hdrs.update(headers or {})
        return client.post(path, data=body,
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


def test_a_batch_becomes_one_event_per_element(app, deliver):
    batch = [event(101, "contact.creation", changeFlag="CREATED"),
             event(102, "deal.propertyChange", 9120448, propertyName="dealstage",
                   propertyValue="closedwon"),
             event(103, "company.creation", 555)]  # not a trigger of ours: ignored
    r = deliver(batch)
    assert r.status_code == 200, r.get_json()
    assert counts(r) == (2, 0)
    assert stored(app) == [("contact_created", "101"), ("deal_updated", "102")]
    with app.app_context():
        row = db.session.scalars(db.select(WebhookEvent).filter_by(delivery_id="102")).one()
        assert row.integration == "hubspot"
        assert row.connection_id == deliver.connection["id"]
        assert row.payload["propertyValue"] == "closedwon"


def test_a_redelivered_batch_is_recognised_by_event_id(app, deliver):
    deliver([event(101, "contact.creation"), event(102, "contact.propertyChange")])
    r = deliver([event(101, "contact.creation", attemptNumber=1),
                 event(102, "contact.propertyChange", attemptNumber=1),
                 event(104, "deal.creation")])
    assert counts(r) == (1, 2)
    assert [e for e, _ in stored(app)] == ["contact_created", "contact_updated", "deal_created"]


def test_generic_object_subscriptions_map_by_object_type(app, deliver):
    r = deliver([event(201, "object.creation", objectTypeId="0-1"),
                 event(202, "object.propertyChange", objectTypeId="0-3"),
                 event(203, "object.creation", objectTypeId="0-2")])
    assert counts(r) == (2, 0)
    assert stored(app) == [("contact_created", "201"), ("deal_updated", "202")]


@pytest.mark.parametrize("trigger", MANIFEST.triggers, ids=lambda t: t.name)
def test_every_trigger_sample_parses_to_its_trigger(app, deliver, trigger):
    r = deliver([trigger.sample])
    assert counts(r) == (1, 0)
    assert stored(app) == [(trigger.name, str(trigger.sample["eventId"]))]


def test_a_wrong_signature_is_rejected(app, deliver):
    r = deliver([event(101, "contact.creation")], secret="not-the-client-secret")
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_missing_signature_is_rejected(app, deliver):
    r = deliver([event(101, "contact.creation")], headers={"X-HubSpot-Signature-v3": None})
    assert r.status_code == 401
    assert stored(app) == []


def test_a_stale_timestamp_is_rejected_even_when_signed(app, deliver):
    r = deliver([event(101, "contact.creation")], age_s=600)
    assert r.status_code == 401
    assert "tolerance" in r.get_json()["message"]
    assert stored(app) == []


def test_a_signature_over_another_url_is_rejected(client, app, deliver):
    body = json.dumps([event(101, "contact.creation")]).encode()
    ts = str(int(time.time() * 1000))
    other = f"http://localhost/hooks/hubspot/{deliver.connection['id'] + 1}"
    r = client.post(f"/hooks/hubspot/{deliver.connection['id']}", data=body, headers={
        "X-HubSpot-Request-Timestamp": ts, "X-HubSpot-Signature-v3": sign(other, body, ts)})
    assert r.status_code == 401


def test_a_body_that_is_not_an_array_is_refused(app, deliver):
    r = deliver({"eventId": 1, "subscriptionType": "contact.creation"})
    assert r.status_code == 422
    assert r.get_json()["code"] == "validation"
    assert stored(app) == []


def test_without_a_client_secret_nothing_is_accepted(client, create_connection, hubspot):
    conn = create_connection("hubspot", settings={"base_url": hubspot.url},
                             credentials={"access_token": "pat-na1-x"})
    body = json.dumps([event(101, "contact.creation")]).encode()
    ts = str(int(time.time() * 1000))
    url = f"http://localhost/hooks/hubspot/{conn['id']}"
    r = client.post(f"/hooks/hubspot/{conn['id']}", data=body, headers={
        "X-HubSpot-Request-Timestamp": ts, "X-HubSpot-Signature-v3": sign(url, body, ts, "")})
    assert r.status_code == 401
    assert "no webhook secret" in r.get_json()["message"]


def test_a_replayed_request_is_a_duplicate_by_its_signature(app, client, deliver):
    """HubSpot signs its timestamp: the same signed request again is a replay, answered as a
    duplicate before any event id is looked at."""
    path = f"/hooks/hubspot/{deliver.connection['id']}"
    body = json.dumps([event(301, "company.creation", 555)]).encode()  # stored by no trigger
    ts = str(int(time.time() * 1000))
    headers = {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": ts,
               "X-HubSpot-Signature-v3": sign(f"http://localhost{path}", body, ts)}
    first = client.post(path, data=body, headers=headers)
    replay = client.post(path, data=body, headers=headers)
    assert first.status_code == 200 and first.get_json()["duplicate"] is False
    assert replay.status_code == 200 and replay.get_json()["duplicate"] is True


@pytest.mark.parametrize("stamp", ["nan", "inf", "1e999", "12abc"])
def test_a_timestamp_that_is_not_a_finite_number_is_rejected(app, client, deliver, stamp):
    path = f"/hooks/hubspot/{deliver.connection['id']}"
    body = json.dumps([event(101, "contact.creation")]).encode()
    r = client.post(path, data=body, headers={
        "Content-Type": "application/json", "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": sign(f"http://localhost{path}", body, stamp)})
    assert r.status_code == 401
    assert stored(app) == []
