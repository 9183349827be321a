"""The "Salesforce lead to Asana task" template's Asana step is valid for the Asana plugin
(its trigger service, Salesforce, comes with a later plugin; the step is checked on its own)."""
from __future__ import annotations

import copy

import pytest

from atom.engine.definition import DefinitionError
from atom.engine.definition import validate_definition
from atom.engine.templates import get_template
from atom.state import get_state


def _steps_of(name: str, service: str) -> list[dict]:
    return [s for s in copy.deepcopy(get_template(name).definition["steps"])
            if s.get("service") == service]


def test_the_template_step_validates_against_create_task(app):
    with app.app_context():
        steps = _steps_of("salesforce_lead_to_asana", "asana")
        assert [s["action"] for s in steps] == ["create_task"]
        validate_definition({"name": "t", "trigger": {"type": "manual"}, "steps": steps},
                            get_state(app).registry)


def test_a_concrete_invalid_parameter_would_be_caught(app):
    with app.app_context():
        steps = _steps_of("salesforce_lead_to_asana", "asana")
        steps[0]["parameters"]["projects"] = ["not-a-gid"]
        with pytest.raises(DefinitionError) as info:
            validate_definition({"name": "t", "trigger": {"type": "manual"}, "steps": steps},
                                get_state(app).registry)
    assert "projects" in str(info.value.errors)
