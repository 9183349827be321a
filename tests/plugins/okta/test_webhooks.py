"""Okta event hooks at ``/hooks/okta/<id>``: the one-time verification GET, deliveries checked
against the authorization header secret ("okta_authorization"), several events per delivery,
de-duplication by event uuid, and a delivery starting the workflow listening for it."""
from __future__ import annotations

import json
import time

import pytest

from atom.extensions import db
from atom.models import WebhookEvent
from plugins.okta import samples
from tests.plugins.okta.conftest import HOOK_SECRET


@pytest.fixture
def conn(okta_connection):
    return okta_connection(api_token="00QCjAl4MlV-WPXM-test-0123456789abcdef",
                           webhook_secret=HOOK_SECRET)


def deliver(client, conn, *events, auth=HOOK_SECRET):
    raw = json.dumps(samples.delivery(*events)).encode()
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    return client.post(f"/hooks/okta/{conn['id']}", data=raw, headers=headers)


def stored(app):
    with app.app_context():
        return [(r.event, r.delivery_id) for r in
                db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id))]


def test_the_verification_challenge_is_echoed(client, conn, app):
    r = client.get(f"/hooks/okta/{conn['id']}", headers={
        "X-Okta-Verification-Challenge": "X8bNMT2vB5PYtpgWS-V3vA4pD8lEQI1hJPn3mwpe",
        "Authorization": HOOK_SECRET})
    assert r.status_code == 200
    assert r.get_json() == {"verification": "X8bNMT2vB5PYtpgWS-V3vA4pD8lEQI1hJPn3mwpe"}
    assert stored(app) == []


@pytest.mark.parametrize("headers, status", [
    ({"X-Okta-Verification-Challenge": "bad value with spaces"}, 400),
    ({"X-Okta-Verification-Challenge": "abc", "Authorization": "wrong"}, 401),
    ({}, 405)])
def test_bad_verification_requests(client, conn, headers, status):
    assert client.get(f"/hooks/okta/{conn['id']}", headers=headers).status_code == status


def test_a_delivery_with_several_events_stores_each_once(client, conn, app):
    r = deliver(client, conn, samples.USER_ADDED_TO_GROUP_RAW, samples.USER_CREATED_RAW,
                {**samples.USER_CREATED_RAW, "uuid": "aaaa", "eventType": "user.session.start"})
    assert r.status_code == 200 and r.get_json()["accepted"] == 2
    assert stored(app) == [("user_created", samples.USER_CREATED_RAW["uuid"]),
                           ("user_added_to_group", samples.USER_ADDED_TO_GROUP_RAW["uuid"])]
    again = deliver(client, conn, samples.USER_CREATED_RAW, samples.USER_DEACTIVATED_RAW)
    assert (again.get_json()["accepted"], again.get_json()["duplicates"]) == (1, 1)


@pytest.mark.parametrize("auth", ["Basic wrong-secret-value-000000", None, ""])
def test_a_wrong_or_missing_secret_is_refused(client, conn, app, auth):
    assert deliver(client, conn, samples.USER_CREATED_RAW, auth=auth).status_code == 401
    assert stored(app) == []


def test_payload_names_the_user_and_group(client, conn, app):
    deliver(client, conn, samples.USER_ADDED_TO_GROUP_RAW)
    with app.app_context():
        row = db.session.scalars(db.select(WebhookEvent)).one()
        assert row.payload == samples.USER_ADDED_TO_GROUP


def test_a_delivery_starts_the_workflow_listening_for_it(app, client, keys, conn):
    from tests.atom.engine.conftest import close_engine

    workflow = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "Okta onboarding", "trigger": {"type": "event", "service": "okta",
                                               "event": "user_created"},
        "steps": [{"id": "pick", "type": "transform", "mapping": {"login": "trigger.user.alternate_id"}}]})
    assert workflow.status_code == 201, workflow.get_json()
    try:
        r = deliver(client, conn, samples.USER_CREATED_RAW)
        (execution_id,) = r.get_json()["executions"]
        deadline = time.monotonic() + 20
        while True:
            execution = client.get(f"/api/v2/executions/{execution_id}",
                                   headers=keys["viewer"]).get_json()
            if execution["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert execution["status"] == "succeeded", execution
        assert execution["steps"][0]["output"] == {"login": "isaac.brock@example.com"}
    finally:
        close_engine(app)
