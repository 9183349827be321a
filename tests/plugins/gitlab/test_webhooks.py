"""GitLab webhooks at ``POST /hooks/gitlab/<connection id>``: the ``X-Gitlab-Token`` check,
trigger mapping, de-duplication by ``X-Gitlab-Event-UUID``, and a delivery starting a workflow.

GitLab's token scheme signs nothing (no body digest, no timestamp), so there is no stale
timestamp to refuse: a resent delivery is caught by its event UUID.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json

import pytest

import atom.integrations.webhooks as webhooks
from atom.extensions import db
from atom.models import WebhookEvent
from plugins.gitlab import samples
from plugins.gitlab.manifest import MANIFEST
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.plugins.gitlab.conftest import PROJECT_ID
from tests.plugins.gitlab.conftest import WEBHOOK_TOKEN

# The X-Gitlab-Event header of each trigger's delivery (webhook_events.md).
EVENT_HEADERS = {"issue_opened": "Issue Hook", "issue_closed": "Issue Hook",
                 "merge_request_opened": "Merge Request Hook",
                 "merge_request_merged": "Merge Request Hook", "note_created": "Note Hook",
                 "pipeline_finished": "Pipeline Hook", "push": "Push Hook"}


def headers(event: str, uuid: str | None = "e4b1a1a0-6a3d-4e21-9f7a-3c5d2b1e0f9a",
            token: str | None = WEBHOOK_TOKEN, **extra: str) -> dict[str, str]:
    """What GitLab sends (webhooks.md, "Delivery headers"): the secret token as it is."""
    out = {"Content-Type": "application/json", "User-Agent": "GitLab/17.6.0",
           "X-Gitlab-Event": event, "X-Gitlab-Instance": "https://gitlab.com",
           "X-Gitlab-Webhook-UUID": "0f6b29e2-3b2e-4a3b-8d88-0d0d9a3f1c11", **extra}
    if uuid is not None:
        out["X-Gitlab-Event-UUID"] = uuid
    if token is not None:
        out["X-Gitlab-Token"] = token
    return out


@pytest.fixture
def app(app_factory, monkeypatch, tmp_path):
    """The app, with its workflow engine stopped after the test (deliveries start executions)."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    yield app
    close_engine(app)


@pytest.fixture
def conn(gitlab_connection):
    return gitlab_connection()


@pytest.fixture
def deliver(client, conn):
    def send(payload: dict, hdrs: dict[str, str], body: bytes | None = None):
        raw = body if body is not None else json.dumps(payload).encode()
        return client.post(f"/hooks/gitlab/{conn['id']}", data=raw, headers=hdrs)

    return send


def counts(response) -> tuple[int, int]:
    body = response.get_json()
    return body["accepted"], body["duplicates"]


def stored(app) -> list[WebhookEvent]:
    with app.app_context():
        rows = db.session.scalars(db.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        db.session.expunge_all()
        return rows


def test_every_trigger_has_its_event_header():
    assert set(EVENT_HEADERS) == {t.name for t in MANIFEST.triggers}


@pytest.mark.parametrize("trigger", sorted(EVENT_HEADERS))
def test_each_trigger_sample_is_stored_under_its_trigger(app, deliver, conn, trigger):
    sample = MANIFEST.trigger(trigger).sample
    r = deliver(sample, headers(EVENT_HEADERS[trigger], uuid=f"uuid-{trigger}"))

    assert r.status_code == 200, r.get_json()
    assert counts(r) == (1, 0)
    (row,) = stored(app)
    assert (row.integration, row.connection_id, row.event) == ("gitlab", conn["id"], trigger)
    assert row.delivery_id == f"uuid-{trigger}"
    assert row.payload == sample
    assert WEBHOOK_TOKEN not in json.dumps(row.payload)


@pytest.mark.parametrize("payload, event", [
    (samples._with(samples.ISSUE_OPENED, action="update"), "Issue Hook"),
    (samples._with(samples.ISSUE_OPENED, action="reopen"), "Issue Hook"),
    (samples._with(samples.MERGE_REQUEST_OPENED, action="approved"), "Merge Request Hook"),
    (samples._with(samples.MERGE_REQUEST_OPENED, action="close"), "Merge Request Hook"),
    (samples._with(samples.NOTE_CREATED, action="update"), "Note Hook"),
    (samples._with(samples.PIPELINE_FINISHED, status="running"), "Pipeline Hook"),
    (samples._with(samples.PIPELINE_FINISHED, status="canceled"), "Pipeline Hook"),
    ({**samples.PUSH, "object_kind": "tag_push", "ref": "refs/tags/v1.0.0"}, "Tag Push Hook"),
    ({"object_kind": "wiki_page", "object_attributes": {"action": "create"}}, "Wiki Page Hook"),
])
def test_events_no_trigger_covers_are_acknowledged_not_stored(app, deliver, payload, event):
    r = deliver(payload, headers(event))
    assert r.status_code == 200
    assert counts(r) == (0, 0)
    assert stored(app) == []


def test_confidential_issues_and_failed_pipelines_are_covered(app, deliver):
    deliver(samples.ISSUE_OPENED, headers("Confidential Issue Hook", uuid="u-1"))
    failed = samples._with(samples.PIPELINE_FINISHED, status="failed")
    deliver(failed, headers("Pipeline Hook", uuid="u-2"))
    # A note delivered by GitLab before 16.11 has no action: it is a new comment.
    old_note = copy.deepcopy(samples.NOTE_CREATED)
    del old_note["object_attributes"]["action"]
    deliver(old_note, headers("Note Hook", uuid="u-3"))
    assert [r.event for r in stored(app)] == ["issue_opened", "pipeline_finished", "note_created"]


def test_a_resent_delivery_is_counted_once(app, deliver):
    first = deliver(samples.PUSH, headers("Push Hook", uuid="same-event"))
    again = deliver(samples.PUSH, headers("Push Hook", uuid="same-event",
                                          **{"X-Gitlab-Webhook-UUID": "another-request"}))
    assert counts(first) == (1, 0)
    assert again.status_code == 200 and counts(again) == (0, 1)
    assert len(stored(app)) == 1


def test_without_an_event_uuid_the_webhook_uuid_then_a_digest_is_the_delivery_id(app, deliver):
    deliver(samples.PUSH, headers("Push Hook", uuid=None))
    hdrs = headers("Push Hook", uuid=None)
    del hdrs["X-Gitlab-Webhook-UUID"]
    raw = json.dumps(samples.ISSUE_OPENED).encode()
    deliver({}, {**hdrs, "X-Gitlab-Event": "Issue Hook"}, body=raw)
    first, second = stored(app)
    assert first.delivery_id == "0f6b29e2-3b2e-4a3b-8d88-0d0d9a3f1c11"
    assert second.delivery_id == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize("token", ["not-the-token", WEBHOOK_TOKEN + " ", WEBHOOK_TOKEN[:-1],
                                   WEBHOOK_TOKEN.upper(), ""])
def test_a_wrong_token_is_refused(app, deliver, token):
    r = deliver(samples.ISSUE_OPENED, headers("Issue Hook", token=token))
    assert r.status_code == 401
    assert r.get_json()["code"] == "bad_signature"
    assert stored(app) == []


def test_a_missing_token_is_refused(app, deliver):
    r = deliver(samples.ISSUE_OPENED, headers("Issue Hook", token=None))
    assert r.status_code == 401
    assert stored(app) == []


def test_the_token_is_compared_in_constant_time(app, deliver, monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", spy)
    deliver(samples.PUSH, headers("Push Hook"))
    assert compared == [(WEBHOOK_TOKEN.encode(), WEBHOOK_TOKEN.encode())]


def test_a_connection_without_a_webhook_token_accepts_nothing(app, client, gitlab_connection):
    conn = gitlab_connection(webhook_token=None)
    raw = json.dumps(samples.PUSH).encode()
    r = client.post(f"/hooks/gitlab/{conn['id']}", data=raw, headers=headers("Push Hook"))
    assert r.status_code == 401
    assert stored(app) == []


def test_a_failed_pipeline_opens_an_issue_through_a_workflow(app, client, keys, conn,
                                                             fake_gitlab):
    api = Api(client, keys["editor"])
    wf = api.create({"name": "failed pipelines", "trigger": {
        "type": "event", "service": "gitlab", "event": "pipeline_finished",
        "conditions": {"object_attributes.status": "failed"}},
        "steps": [{"id": "issue", "type": "action", "service": "gitlab",
                   "action": "create_issue", "connection": conn["id"], "parameters": {
                       "project": PROJECT_ID,
                       "title": "Pipeline {{ trigger.object_attributes.id }} failed on "
                                "{{ trigger.object_attributes.ref }}"}}]})
    passed = deliver_pipeline(client, conn, "success", "u-pass")
    assert passed.get_json()["executions"] == []

    failed = deliver_pipeline(client, conn, "failed", "u-fail")
    (started,) = failed.get_json()["executions"]
    done = api.wait_finished(started)
    assert (done["workflow_id"], done["status"]) == (wf["id"], "succeeded")
    (issue,) = fake_gitlab.issues[PROJECT_ID]
    assert issue["title"] == "Pipeline 31 failed on master"


def deliver_pipeline(client, conn, status: str, uuid: str):
    raw = json.dumps(samples._with(samples.PIPELINE_FINISHED, status=status)).encode()
    return client.post(f"/hooks/gitlab/{conn['id']}", data=raw,
                       headers=headers("Pipeline Hook", uuid=uuid))
