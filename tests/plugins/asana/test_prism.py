"""The health check and every action against Prism serving Asana's official OpenAPI spec.

Every request the client sends is recorded on its way to Prism (a ``responses`` passthrough)
and checked for ``sl-violations``: a request the spec rejects (a field outside ``data``, a
wrong type, a missing Bearer token) fails here even when Prism answers it.
"""
from __future__ import annotations


import pytest

from plugins.asana.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

# The spec's example task (Prism's static answer) as the actions return it.
EXAMPLE_TASK = {"gid": "12345", "name": "Buy catnip", "completed": False,
                "due_on": "2019-09-15", "due_at": "2019-09-15T02:06:58.147Z",
                "assignee": {"gid": "12345", "name": "Greg Sanchez"},
                "projects": [{"gid": "12345", "name": "Stuff to buy"}],
                "workspace": {"gid": "12345", "name": "My Company Workspace"},
                "permalink_url": "https://app.asana.com/1/12345/task/123456789"}

# Inputs per action and what the spec's example answers must turn into.
CASES = {
    "create_task": (
        {"name": "Follow up with Acme Corp", "notes": "Lead from the web form",
         "workspace": "12345", "projects": ["12345"], "parent": "12345", "assignee": "me",
         "followers": ["grace@example.com"], "due_at": "2026-03-02T09:30:00+01:00"},
        EXAMPLE_TASK,
    ),
    "update_task": (
        {"task_gid": "12345", "name": "Renamed", "notes": "", "assignee": None,
         "due_on": None, "completed": False},
        EXAMPLE_TASK,
    ),
    "complete_task": ({"task_gid": "12345"}, {"gid": "12345"}),
    "get_task": ({"task_gid": "12345"}, EXAMPLE_TASK),
    "add_comment": (
        {"task_gid": "12345", "text": "Called them", "is_pinned": True},
        {"gid": "12345", "task_gid": "12345", "is_pinned": False,
         "text": "This is a comment.", "created_by": {"gid": "12345", "name": "Greg Sanchez"}},
    ),
    "list_projects": (
        {"workspace": "12345", "archived": True, "max_items": 1},
        {"count": 1, "projects": [{"gid": "12345", "name": "Stuff to buy", "archived": None,
                                   "permalink_url": None, "workspace": None}]},
    ),
    "list_tasks": ({"project": "12345", "incomplete_only": True, "max_items": 1},
                   {"project": "12345", "count": 1}),
    "list_workspaces": ({"max_items": 1}, {"count": 1, "workspaces": [
        {"gid": "12345", "name": "My Company Workspace", "is_organization": None}]}),
    "register_webhook": (
        {"resource": "12345", "target": "https://atom.example.com/hooks/asana/1",
         "filters": [{"resource_type": "task", "resource_subtype": "default_task",
                      "action": "changed", "fields": ["completed", "due_on"]}]},
        {"gid": "12345", "active": False, "target": "https://example.com/receive-webhook/7654",
         "resource": {"gid": "12345", "resource_type": "task", "name": "Bug Task"}},
    ),
}


@pytest.fixture
def prism_url(prism):
    return prism("asana")


@pytest.fixture
def prism_asana(prism_url, asana_connection):
    return asana_connection({"base_url": prism_url, "max_attempts": 1,
                             "rate_limit_per_second": 100, "rate_limit_burst": 100})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_asana, sent_to_prism, check_connection):
    r = check_connection(prism_asana)
    assert r.get_json()["ok"] is True, r.get_json()
    (call,) = sent_to_prism
    assert_prism_accepted(call.response)


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_asana, sent_to_prism, run_action, action):
    given, expected = CASES[action]
    r = run_action(prism_asana, action, given)

    assert r.status_code == 200, r.get_json()
    assert sent_to_prism, "nothing reached Prism"
    for call in sent_to_prism:
        assert_prism_accepted(call.response)
        assert 200 <= call.response.status_code < 300
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected


def test_the_webhook_secret_in_the_answer_is_not_returned(prism_asana, run_action):
    given, _ = CASES["register_webhook"]
    r = run_action(prism_asana, "register_webhook", given)
    assert "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81" not in r.get_data(
        as_text=True)


def test_the_check_catches_a_request_the_spec_rejects(prism_url):
    """A control: a task body outside ``data`` (with a number for a name) is reported."""
    import requests

    bad = requests.post(f"{prism_url}/tasks", json={"data": {"name": 5}},
                        headers={"Authorization": "Bearer x"}, timeout=10)
    with pytest.raises(AssertionError, match="data.name"):
        assert_prism_accepted(bad)


def test_a_pagination_loop_is_reported_not_followed(prism_asana, run_action):
    # Prism's static example always returns the same next_page.offset.
    r = run_action(prism_asana, "list_workspaces", {"max_items": 50})
    assert r.status_code == 502
    assert "pagination loop" in r.get_json()["message"]
