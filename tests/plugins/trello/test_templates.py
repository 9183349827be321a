"""The "Meeting to Trello card and Slack" template's steps are valid for the Trello plugin (its
trigger, Google Calendar, comes with another plugin; the steps are checked on their own). The
card's list comes from the connection's ``default_list_id`` or a ``list_id`` parameter given
when the template is instantiated (``parameters: {"card": {"list_id": ...}}``)."""
from __future__ import annotations

import copy

import pytest

from atom.engine.definition import DefinitionError
from atom.engine.definition import validate_definition
from atom.engine.templates import get_template
from atom.state import get_state


def _definition(list_id: str | None = None) -> dict:
    steps = copy.deepcopy(get_template("meeting_to_trello_and_slack").definition["steps"])
    if list_id is not None:
        next(s for s in steps if s["id"] == "card")["parameters"]["list_id"] = list_id
    return {"name": "t", "trigger": {"type": "manual"}, "steps": steps}


def test_the_template_steps_validate(app):
    with app.app_context():
        out = validate_definition(_definition(), get_state(app).registry)
    assert [(s["service"], s["action"]) for s in out["steps"]] == [
        ("trello", "create_card"), ("slack", "send_message")]


def test_a_list_id_given_at_instantiation_is_validated(app):
    with app.app_context():
        validate_definition(_definition("4d5ea62fd76aa11360000010"), get_state(app).registry)
        with pytest.raises(DefinitionError) as info:
            validate_definition(_definition("To Do"), get_state(app).registry)
    assert "list_id" in str(info.value.errors)
