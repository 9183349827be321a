"""The prediction panel on the workflow page, and Start/Stop monitoring from it."""
from __future__ import annotations

import pytest

from tests.atom.dashboard.conftest import user_client  # noqa: F401  (fixture)
from tests.atom.dashboard.conftest import viewer  # noqa: F401  (fixture)
from tests.atom.engine.conftest import Api
from tests.atom.engine.conftest import close_engine
from tests.atom.engine.conftest import manual
from tests.atom.engine.conftest import post_step
from tests.fakes import FakeServer
from tests.fakes import reply


@pytest.fixture
def editor(user_client):  # noqa: F811
    return user_client("editor")


def test_workflow_page_loads_the_panel_with_figures_and_monitoring(
        app, client, keys, editor, viewer, create_connection):  # noqa: F811
    api = Api(client, keys["editor"])
    with FakeServer() as fake:
        conn = create_connection("http", {"base_url": fake.url, "max_attempts": 1})
        wf = api.create(manual("panel", [post_step("send", "/s", conn_id=conn["id"])]))
        fake.script("/s", reply(200, {}), reply(500, {}), reply(200, {}), reply(200, {}))
        for _ in range(4):
            api.run(wf["id"])
    page = editor.get(f"/workflows/{wf['id']}").get_data(as_text=True)
    assert f'hx-get="/workflows/{wf["id"]}/ai/prediction"' in page
    panel = editor.get(f"/workflows/{wf['id']}/ai/prediction", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    html = panel.get_data(as_text=True)
    assert "<html" not in html  # a fragment
    predicted = client.get(f"/api/v2/workflows/enhanced/prediction/{wf['id']}",
                           headers=keys["viewer"]).get_json()
    assert f"{predicted['success_rate'] * 100:.1f}%" in html
    assert "4 runs" in html and "3 of 4 runs of version 1 succeeded" in html
    assert "step failures" in html and "send fails" in html  # a risk factor and its effect
    assert "Start monitoring" in html and "Not monitored" in html
    # A viewer sees it but has no button, and cannot post.
    seen = viewer.get(f"/workflows/{wf['id']}/ai/prediction").get_data(as_text=True)
    assert "Will succeed" in seen and "Start monitoring" not in seen
    assert viewer.post(f"/workflows/{wf['id']}/ai/monitoring/start").status_code == 403
    started = editor.post(f"/workflows/{wf['id']}/ai/monitoring/start")
    assert started.status_code == 302
    html = editor.get(f"/workflows/{wf['id']}/ai/prediction").get_data(as_text=True)
    assert "Stop monitoring" in html and "3 of 4 runs succeeded" in html
    health = client.get("/api/v2/workflows/enhanced/monitoring/health",
                        headers=keys["viewer"]).get_json()
    assert [w["workflow_id"] for w in health["workflows"]] == [wf["id"]]
    assert editor.post(f"/workflows/{wf['id']}/ai/monitoring/stop").status_code == 302
    assert client.get("/api/v2/workflows/enhanced/monitoring/health",
                      headers=keys["viewer"]).get_json()["workflows"] == []
    assert editor.get("/workflows/999/ai/prediction").status_code == 404


def test_panel_says_when_prediction_is_switched_off(app_factory, app, keys, client):
    api = Api(client, keys["editor"])
    wf = api.create(manual("w", [{"id": "t", "type": "transform", "mapping": {"x": "'1'"}}]))
    off = app_factory(AI_WORKFLOW_ENABLED=False)
    try:
        from atom.extensions import db
        from atom.models import User

        with off.app_context():
            user = User(email="e@example.com", role="editor")
            user.set_password("a long enough password")
            db.session.add(user)
            db.session.commit()
        c = off.test_client()
        c.post("/login", data={"email": "e@example.com", "password": "a long enough password"})
        html = c.get(f"/workflows/{wf['id']}/ai/prediction").get_data(as_text=True)
        assert "Prediction is switched off (AI_WORKFLOW_ENABLED=false)" in html
        got = off.test_client().get(f"/api/v2/ai-workflows/{wf['id']}", headers=keys["viewer"])
        assert got.status_code == 200 and got.get_json()["prediction"] is None
    finally:
        close_engine(off)
