"""Template rendering of step parameters: one template alone keeps its value's type; several
in one string are each filled as text (``"{{ a }}: {{ b }}"`` is two templates, not one)."""
from __future__ import annotations

import pytest

from atom.engine.expressions import render

CONTEXT = {"trigger": {"issue": {"key": "ENG-7", "n": 3, "fields": {"summary": "Crash"}}}}


@pytest.mark.parametrize("value, expected", [
    ("{{ trigger.issue.n }}", 3),
    ("  {{ trigger.issue.n }} ", 3),
    ("{{ trigger.issue.key }}: {{ trigger.issue.fields.summary }}", "ENG-7: Crash"),
    ("{{ trigger.issue.n }}{{ trigger.issue.n }}", "33"),
    ("#{{ trigger.issue.n }} {{trigger.issue.key}}", "#3 ENG-7"),
    ("{{ trigger.issue.fields }}", {"summary": "Crash"}),
    ("no template", "no template"),
])
def test_templates_are_filled(value, expected):
    assert render(value, CONTEXT) == expected
