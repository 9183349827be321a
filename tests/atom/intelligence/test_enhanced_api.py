"""The intelligence API as a whole: every path also answers without ``/api/v2``, keys are
needed on both, each component's switch turns its routes into 503s (before the body is read),
and ``status`` says which component is available and why."""
from __future__ import annotations

import re

import pytest

from atom.api.intelligence import PREFIX
from atom.intelligence import COMPONENTS

SWITCHES = sorted(set(COMPONENTS.values()))


def _routes(app) -> list[tuple[str, str, str | None]]:
    """(method, path, component) of every documented route of the blueprint, ids filled in."""
    from atom.api.intelligence import _component_of

    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("enhanced_workflows.") and rule.rule.startswith(PREFIX):
            path = re.sub(r"<[^>]+>", "1", rule.rule)
            component = _component_of(app.view_functions[rule.endpoint])
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((method, path, component))
    return out


def test_the_documents_paths_answer_with_and_without_the_api_v2_prefix(app, client, keys):
    routes = _routes(app)
    assert len(routes) >= 17
    for method, path, _ in routes:
        bare = path.removeprefix("/api/v2")
        assert client.open(bare, method=method).status_code == 401, bare
    prefixed = client.get(f"{PREFIX}/status", headers=keys["viewer"])
    bare = client.get(PREFIX.removeprefix("/api/v2") + "/status", headers=keys["viewer"])
    assert prefixed.status_code == bare.status_code == 200
    assert prefixed.get_json()["components"].keys() == bare.get_json()["components"].keys()


def test_status_names_each_component_its_model_and_its_switch(client, keys):
    body = client.get(f"{PREFIX}/status", headers=keys["viewer"]).get_json()
    assert body["status"] == "operational" and body["offline"] is True
    assert set(body["components"]) == set(COMPONENTS)
    for name, component in body["components"].items():
        assert component["available"] is True and component["reason"] is None, name
        assert component["setting"] == COMPONENTS[name]
        assert component["model"], name
    assert body["config"]["auto_apply_threshold"] == 0.90


@pytest.mark.parametrize("switch", SWITCHES)
def test_a_switched_off_component_answers_503_naming_its_setting(app_factory, switch):
    app = app_factory(**{switch: False})
    from tests.conftest import make_key

    headers = {"Authorization": f"Bearer {make_key(app, 'admin')}"}
    client = app.test_client()
    off = {name for name, setting in COMPONENTS.items() if setting == switch}
    status = client.get(f"{PREFIX}/status", headers=headers).get_json()
    assert status["status"] == "degraded"
    for name, component in status["components"].items():
        assert component["available"] is (name not in off)
        if name in off:
            assert switch in component["reason"]
    answered = 0
    for method, path, component in _routes(app):
        if path.endswith("/status"):
            assert component is None
            continue
        assert component in COMPONENTS, f"{method} {path} has no requires(component)"
        # An empty body: the switch answers before the body is validated.
        response = client.open(path, method=method, headers=headers, json={})
        if component in off:
            answered += 1
            assert response.status_code == 503, (method, path)
            assert switch in response.get_json()["message"]
            assert response.get_json()["code"] == "unavailable"
        else:
            assert response.status_code != 503, (method, path)
    assert answered >= 1
