"""Workflow webhook secrets: stored encrypted (never in the database file in plain text),
masked in every response for every role, kept when the mask comes back, replaced by a new
value; the engine and analytics read such definitions without seeing the token as a secret."""
from __future__ import annotations

import json
from pathlib import Path

from atom.engine.workflows import current_definition
from atom.extensions import db
from atom.integrations.webhooks import sign_atom
from atom.models import Execution
from atom.models import Workflow
from tests.atom.engine.conftest import count
from tests.atom.engine.conftest import steps_of

SECRET = "wf-secret-Q7vX2mP9kL4tR8"
NEW_SECRET = "wf-secret-replaced-Z3nB6yH1"
MASK = "********"
FIELDS = ("name", "description", "trigger", "steps", "enabled")


def _definition(secret: str | None = SECRET) -> dict:
    trigger = {"type": "webhook", **({"secret": secret} if secret is not None else {})}
    return {"name": "signed hook", "trigger": trigger,
            "steps": [{"id": "t", "type": "transform", "mapping": {"v": "trigger.v"}}]}


def _hook_path(wf: dict) -> str:
    return "/hooks/" + wf["webhook_url"].split("/hooks/", 1)[1]


def _deliver(client, wf: dict, secret: str, payload: dict | None = None):
    body = json.dumps(payload or {"v": 1}).encode()
    return client.post(_hook_path(wf), data=body,
                       headers={"Content-Type": "application/json", **sign_atom(secret, body)})


def _round_trip(api, wf_id: int, **changes) -> dict:
    """GET the workflow and PUT back what it showed (with ``changes`` to the trigger)."""
    shown = api.client.get(f"/api/v2/ai-workflows/{wf_id}", headers=api.headers).get_json()
    body = {k: shown[k] for k in FIELDS}
    body["trigger"] = {**body["trigger"], **changes}
    return api.put(wf_id, body)


def _responses(client, keys, wf_id: int) -> dict[str, str]:
    """Every response that shows a workflow definition, as text, for every role."""
    out = {}
    for role in ("admin", "editor", "viewer"):
        for path in ("/api/v2/ai-workflows", f"/api/v2/ai-workflows/{wf_id}",
                     f"/api/v2/ai-workflows/{wf_id}/versions"):
            response = client.get(path, headers=keys[role])
            assert response.status_code == 200, (role, path, response.get_json())
            out[f"{role} {path}"] = response.get_data(as_text=True)
    return out


def test_the_secret_is_masked_in_every_response_for_every_role(app, api, keys):
    wf = api.create(_definition())
    assert wf["trigger"] == {"type": "webhook", "conditions": {}, "timezone": "UTC", "secret": MASK}
    _round_trip(api, wf["id"])
    api.put(wf["id"], _definition(NEW_SECRET))
    for where, text in _responses(api.client, keys, wf["id"]).items():
        assert SECRET not in text and NEW_SECRET not in text, where
        assert "gAAAA" not in text and "secret_encrypted" not in text, where  # nor its token
    versions = api.client.get(f"/api/v2/ai-workflows/{wf['id']}/versions", headers=keys["viewer"]).get_json()
    assert [v["definition"]["trigger"]["secret"] for v in versions["versions"]] == [MASK] * 3


def test_a_get_put_round_trip_keeps_the_stored_secret(app, api):
    wf = api.create(_definition())
    saved = _round_trip(api, wf["id"])
    assert saved["version"] == 2 and saved["trigger"]["secret"] == MASK
    assert _deliver(api.client, wf, MASK).status_code == 401  # the mask is not the secret
    response = _deliver(api.client, wf, SECRET)
    assert response.status_code == 202, response.get_json()
    assert steps_of(api.wait_finished(response.get_json()["execution_id"]))["t"]["output"] == {"v": 1}


def test_a_new_plain_value_replaces_the_secret(app, api):
    wf = api.create(_definition())
    _round_trip(api, wf["id"], secret=NEW_SECRET)
    assert _deliver(api.client, wf, SECRET).status_code == 401
    response = _deliver(api.client, wf, NEW_SECRET)
    assert response.status_code == 202
    api.wait_finished(response.get_json()["execution_id"])


def test_a_definition_without_a_secret_makes_the_hook_unsigned(app, api):
    """PUT replaces the whole definition: leaving the secret out removes it."""
    wf = api.create(_definition())
    saved = api.put(wf["id"], _definition(None))
    assert "secret" not in saved["trigger"]
    response = api.client.post(_hook_path(wf), json={"v": 2})
    assert response.status_code == 202
    api.wait_finished(response.get_json()["execution_id"])


def test_a_mask_with_nothing_stored_or_of_another_secret_is_422_and_changes_nothing(app, api):
    response = api.client.post("/api/v2/ai-workflows", json=_definition(MASK), headers=api.headers)
    assert response.status_code == 422
    assert "secret" in response.get_json()["errors"]["trigger"]
    assert count(app, Workflow) == 0
    wf = api.create(_definition())
    for value in (MASK + "zzzz", None):
        shown = {k: wf[k] for k in FIELDS}
        response = api.client.put(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers,
                                  json={**shown, "trigger": {**shown["trigger"], "secret": value}})
        assert response.status_code == 422, value
        assert "secret" in response.get_json()["errors"]["trigger"]
    unsigned = api.create(_definition(None))
    response = api.client.put(f"/api/v2/ai-workflows/{unsigned['id']}", headers=api.headers,
                              json=_definition(MASK))
    assert response.status_code == 422
    assert api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=api.headers).get_json()["version"] == 1
    assert _deliver(api.client, wf, SECRET).status_code == 202


def test_a_client_cannot_send_the_stored_token(app, api):
    definition = _definition(None)
    definition["trigger"]["secret_encrypted"] = "gAAAAA-not-yours"
    response = api.client.post("/api/v2/ai-workflows", json=definition, headers=api.headers)
    assert response.status_code == 422


def _database_bytes(app) -> bytes:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_the_database_file_holds_no_plain_secret(app, api):
    wf = api.create(_definition())
    _round_trip(api, wf["id"])
    _round_trip(api, wf["id"], secret=NEW_SECRET)
    execution = _deliver(api.client, wf, NEW_SECRET).get_json()["execution_id"]
    api.wait_finished(execution)
    raw = _database_bytes(app)
    assert b"signed hook" in raw and b"gAAAA" in raw  # the right files, and the tokens are there
    assert SECRET.encode() not in raw and NEW_SECRET.encode() not in raw
    with app.app_context():
        stored = current_definition(db.session.get(Workflow, wf["id"]))["trigger"]
    assert "secret" not in stored and stored["secret_encrypted"].startswith("gAAAA")


def test_the_engine_and_analytics_read_such_definitions(app, api, keys):
    wf = api.create(_definition())
    response = _deliver(api.client, wf, SECRET, {"v": 5})
    done = api.wait_finished(response.get_json()["execution_id"])
    assert done["status"] == "succeeded" and steps_of(done)["t"]["output"] == {"v": 5}
    assert done["trigger_type"] == "webhook"
    for path in ("/api/v2/ai-workflows/analytics", "/api/v2/ai-workflows/services/status",
                 f"/api/v2/executions/{done['id']}"):
        response = api.client.get(path, headers=keys["viewer"])
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert SECRET not in text and "gAAAA" not in text
    assert count(app, Execution) == 1


def test_a_plain_secret_saved_before_encryption_is_masked_honoured_and_sealed(app, api, keys):
    """A definition stored by an earlier release holds ``secret`` in plain text: it is masked,
    still verifies, kept by a round trip (encrypted then) and encrypted by rotate-encryption."""
    import atom.cli
    from atom.models import WorkflowVersion

    wf = api.create(_definition(None))
    legacy = api.create(_definition(None))
    with app.app_context():
        for wf_id in (wf["id"], legacy["id"]):
            row = db.session.scalars(db.select(WorkflowVersion).filter_by(workflow_id=wf_id)).one()
            row.definition = {**row.definition, "trigger": {**row.definition["trigger"], "secret": SECRET}}
        db.session.commit()
    assert all(SECRET not in text for text in _responses(api.client, keys, wf["id"]).values())
    shown = api.client.get(f"/api/v2/ai-workflows/{wf['id']}", headers=keys["viewer"]).get_json()
    assert shown["trigger"]["secret"] == MASK
    assert _deliver(api.client, wf, SECRET).status_code == 202
    _round_trip(api, wf["id"])  # version 2: the kept secret is encrypted now
    assert _deliver(api.client, wf, SECRET, {"v": 2}).status_code == 202
    result = app.test_cli_runner().invoke(atom.cli.main, ["keys", "rotate-encryption"])
    assert "3 workflow webhook secret(s)" in result.output, result.output
    with app.app_context():
        triggers = [v.definition["trigger"] for v in db.session.scalars(db.select(WorkflowVersion))]
    assert all("secret" not in t and t["secret_encrypted"].startswith("gAAAA") for t in triggers)
    assert _deliver(api.client, legacy, SECRET).status_code == 202
    for ex in api.client.get("/api/v2/executions", headers=api.headers).get_json()["executions"]:
        api.wait_finished(ex["id"])
