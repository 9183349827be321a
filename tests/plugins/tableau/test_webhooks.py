"""Tableau webhooks at ``/hooks/tableau/<id>?atom_token=<webhook_token>``. Tableau signs nothing
(https://help.tableau.com/current/developer/webhooks/en-us/; tableau/webhooks-docs README):
the ``tableau_url_token`` scheme compares the receiver URL's token in constant time; Tableau's
duplicates (identical bodies) fire once; its empty test delivery is answered."""
from __future__ import annotations

import json

import pytest

from atom.extensions import db
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from atom.models import WebhookEvent
from plugins.tableau.samples import EVENTS
from plugins.tableau.samples import RAW
from tests.plugins.tableau.conftest import URL_TOKEN

HOOK = "https://atom.example.com/hooks/tableau/1"


@pytest.mark.parametrize("url", [HOOK, f"{HOOK}?atom_token=", f"{HOOK}?atom_token=guess",
                                 f"{HOOK}?token={URL_TOKEN}",
                                 f"{HOOK}?atom_token={URL_TOKEN}&atom_token={URL_TOKEN}"])
def test_the_scheme_refuses_a_missing_wrong_or_doubled_token(url):
    with pytest.raises(SignatureError):
        verify("tableau_url_token", WebhookRequest("POST", url, {}, b"{}"), URL_TOKEN)


def test_the_scheme_accepts_the_token_and_signs_no_body():
    req = WebhookRequest("POST", f"{HOOK}?x=1&atom_token={URL_TOKEN}", {}, b'{"a":1}')
    assert verify("tableau_url_token", req, URL_TOKEN) is None  # no timestamp: no replay digest
    with pytest.raises(SignatureError):
        verify("tableau_url_token", req, None)


@pytest.fixture
def conn(connect):
    return connect()


@pytest.fixture
def deliver(client, conn):
    def send(payload=None, token=URL_TOKEN, body=None):
        raw = body if body is not None else json.dumps(payload).encode()
        query = f"?atom_token={token}" if token is not None else ""
        return client.post(f"/hooks/tableau/{conn['id']}{query}", data=raw,
                           headers={"Content-Type": "application/json"})
    return send


def stored(app):
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return [(r.event, r.payload) for r in rows]


@pytest.mark.parametrize("trigger", sorted(RAW))
def test_each_event_fires_its_trigger(app, deliver, trigger):
    r = deliver(RAW[trigger])
    assert r.status_code == 200 and r.get_json()["accepted"] == 1, r.get_json()
    assert stored(app) == [(trigger, EVENTS[trigger])]


def test_the_2019_payload_spelling_is_read_too(app, deliver):
    old = {"resource": "WORKBOOK", "event-type": "WorkbookRefreshFailed",
           "resource-name": "My Workbook", "site-id": "8b2a95d8-52b9-40a4-8712-cd6da771bd1b",
           "resource-id": "99", "createdAt": "2018-11-15T17:14:45Z"}
    deliver(old)
    ((event, payload),) = stored(app)
    assert (event, payload["resource_id"], payload["resource_name"]) == (
        "workbook_refresh_failed", "99", "My Workbook")


def test_a_duplicate_delivery_fires_once(app, deliver):
    assert deliver(RAW["workbook_refresh_failed"]).get_json()["accepted"] == 1
    again = deliver(RAW["workbook_refresh_failed"]).get_json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    assert len(stored(app)) == 1


@pytest.mark.parametrize("token", [None, "", "wrong-token-0123456789abcdefghijkl"])
def test_a_delivery_without_the_right_token_is_refused(app, deliver, token):
    r = deliver(RAW["view_deleted"], token=token)
    assert r.status_code == 401 and r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_the_empty_test_delivery_is_answered_only_with_the_token(app, deliver):
    assert deliver(body=b"").get_json() == {"accepted": 0, "test": True}
    assert deliver(body=b"", token="nope").status_code == 401
    assert stored(app) == []


def test_other_events_are_acknowledged(app, deliver):
    r = deliver({**RAW["view_deleted"], "event_type": "LabelCreated"})
    assert r.status_code == 200 and r.get_json()["accepted"] == 0 and stored(app) == []


@pytest.fixture
def engine_api(app, client, keys):
    from tests.atom.engine.conftest import Api
    from tests.atom.engine.conftest import close_engine

    yield Api(client, keys["editor"])
    close_engine(app)


def test_a_failed_refresh_starts_the_workflow(engine_api, deliver):
    wf = engine_api.create({
        "name": "refresh failures", "trigger": {"type": "event", "service": "tableau",
                                                "event": "workbook_refresh_failed"},
        "steps": [{"id": "say", "type": "transform",
                   "mapping": {"name": "trigger.resource_name"}}]})
    (execution,) = deliver(RAW["workbook_refresh_failed"]).get_json()["executions"]
    done = engine_api.wait_finished(execution)
    assert (done["workflow_id"], done["status"]) == (wf["id"], "succeeded")
    assert next(s for s in done["steps"] if s["step_id"] == "say")["output"] == {
        "name": "Sales Overview"}
