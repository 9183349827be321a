"""The Intelligence page (issue 10: every job of the API in the browser): each component's state
as ``GET /workflows/enhanced/status`` has it, Retrain the prediction model as
``POST /workflows/enhanced/models/retrain`` does, and the troubleshooting sessions and
optimisation applications across workflows, linked to their pages."""
from __future__ import annotations

import re

from atom.extensions import db
from atom.models import AuditEvent
from atom.models import User
from tests.atom.engine.conftest import api  # noqa: F401 (fixtures)
from tests.atom.engine.conftest import app  # noqa: F401
from tests.atom.engine.conftest import conn  # noqa: F401
from tests.atom.engine.conftest import fake  # noqa: F401
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.fakes import reply

STATUS = "/api/v2/workflows/enhanced/status"


def _signed_in(app, role: str):
    with app.app_context():
        user = User(email=f"{role}@example.com", role=role)
        user.set_password("a long enough password")
        db.session.add(user)
        db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"email": f"{role}@example.com",
                                       "password": "a long enough password"}).status_code == 302
    return client


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_the_page_shows_each_component_as_the_api_does_and_viewers_cannot_retrain(app, api):
    viewer = _signed_in(app, "viewer")
    page = _text(viewer.get("/intelligence"))
    assert page.count("<h1") == 1 and "<h1>Intelligence</h1>" in page
    assert 'aria-current="page">Intelligence<' in page  # marked in the navigation
    assert 'aria-current="page">Components<' in page and 'href="/dependencies">Dependencies<' in page
    deps = _text(viewer.get("/dependencies"))  # the dependency map is under the same item
    assert 'aria-current="page">Intelligence<' in deps and 'aria-current="page">Dependencies<' in deps
    status = api.client.get(STATUS, headers=api.headers).get_json()
    for name in status["components"]:
        assert f'id="component-{name}"' in page, name
    assert page.count("status-active") == len(status["components"])  # all available here
    assert "not trained yet" in page  # the prediction model, before any training
    assert "Retrain the prediction model" not in page
    assert viewer.post("/intelligence/retrain").status_code == 403
    assert "No troubleshooting yet" in page and "No optimisation applied yet" in page


def test_an_editor_retrains_the_model_and_the_page_and_api_show_it(app, api, fake, conn):
    fake.always("/ok", reply(200, {}))
    wf = api.create(manual("steady", [post_step("call", "/ok", conn_id=conn["id"])]))
    for _ in range(5):
        assert api.run(wf["id"])["status"] == "succeeded"
    editor = _signed_in(app, "editor")
    panel = _text(editor.get(f"/workflows/{wf['id']}/ai/prediction", headers={"HX-Request": "true"}))
    assert 'not trained yet (default prior strengths): <a href="/intelligence#component-prediction">' in panel
    assert "Retrain the prediction model" in _text(editor.get("/intelligence"))
    done = editor.post("/intelligence/retrain")
    assert done.status_code == 302 and done.headers["Location"].endswith("/intelligence")
    page = _text(editor.get("/intelligence"))
    flash = re.search(r"Retrained the prediction model: ([^,]+), fitted on (\d+) executions; "
                      r"scored on the (\d+) newest held back: Brier score \d\.\d{3}", page)
    assert flash, page
    prediction = api.client.get(STATUS, headers=api.headers).get_json()["components"]["prediction"]
    assert prediction["trained_at"] is not None
    assert flash.group(1) == prediction["version"]
    trained_on = prediction["trained_on"]
    assert (int(flash.group(2)), int(flash.group(3))) == (trained_on["executions"], trained_on["held_back"]) == (4, 1)
    row = re.search(r'id="component-prediction">(.*?)</tr>', page, re.S).group(1)
    assert "not trained yet" not in row and "<time" in row and "4 executions · 1 held back" in row
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "intelligence.retrain",
                                        AuditEvent.actor == "editor@example.com")) == 1


def test_a_switched_off_component_says_which_setting_and_retrain_is_refused(app, api):
    app.config["AI_WORKFLOW_ENABLED"] = False
    editor = _signed_in(app, "editor")
    page = _text(editor.get("/intelligence"))
    row = re.search(r'id="component-prediction">(.*?)</tr>', page, re.S).group(1)
    assert "switched off" in row and "AI_WORKFLOW_ENABLED=false" in row
    assert "Retrain the prediction model" not in page
    assert editor.post("/intelligence/retrain").status_code == 503


def test_troubleshooting_sessions_and_optimisations_are_listed_with_links(app, api, fake, conn):
    fake.always("/x", reply(500, {"error": "boom"}))
    wf = api.create(manual("flaky", [post_step("x", "/x", conn_id=conn["id"])]))
    done = api.run(wf["id"])
    assert done["status"] == "failed"
    base = "/api/v2/workflows/enhanced"
    session = api.client.post(f"{base}/troubleshooting/analyze", headers=api.headers,
                              json={"execution_id": done["id"]})
    assert session.status_code in (200, 201), session.get_json()
    found = api.client.post(f"{base}/optimization/analyze", headers=api.headers,
                            json={"workflow_id": wf["id"]}).get_json()
    safe = [f["id"] for f in found["findings"] if f["safe"]]
    assert safe, found
    applied = api.client.post(f"{base}/optimization/apply", headers=api.headers,
                              json={"workflow_id": wf["id"], "findings": safe})
    assert applied.status_code in (200, 201), applied.get_json()
    application = applied.get_json()
    viewer = _signed_in(app, "viewer")
    page = _text(viewer.get("/intelligence"))
    sessions = re.search(r'<table class="stack ai-sessions">(.*?)</table>', page, re.S).group(1)
    assert f'href="/executions/{done["id"]}">#{done["id"]}</a>' in sessions and "flaky" in sessions
    summary = session.get_json()["root_cause"]["summary"][:80]  # long ones are shortened
    assert summary.replace("'", "&#39;").replace('"', "&#34;") in sessions
    apps = re.search(r'<table class="stack ai-applications">(.*?)</table>', page, re.S).group(1)
    assert f'href="/optimisations/{application["id"]}"' in apps
    assert f'href="/workflows/{wf["id"]}">flaky</a>' in apps
    assert f"v{application['from_version']} → v{application['to_version']}" in apps
    assert viewer.get(f"/optimisations/{application['id']}").status_code == 200
