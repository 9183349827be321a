"""The health check and every Jira action against Prism serving Atlassian's own v3 spec.

Prism validates each request (path, query, body, Basic credentials) against specs/jira.json:
a request it rejects comes back as a 4xx, which our API reports as an error, not a 200.
"""
from __future__ import annotations

import pytest

from plugins.jira.manifest import MANIFEST

pytestmark = pytest.mark.prism

ACTION_INPUTS = {
    "create_issue": {"project_key": "ED", "summary": "Checkout fails for EU customers",
                     "issue_type": "Bug", "description": "Steps:\n1. Add to cart\n\nExpected: paid",
                     "labels": ["checkout", "eu"], "priority": "High",
                     "assignee_account_id": "5b10a2844c20165700ede21g"},
    "get_issue": {"issue_key": "ED-24", "fields": ["summary", "status"]},
    "add_comment": {"issue_key": "ED-24", "body": "Reproduced on staging.\n\nSee the log."},
    "list_transitions": {"issue_key": "ED-24"},
    "transition_issue": {"issue_key": "ED-24", "transition_id": 31, "comment": "Fixed in 1.4.2"},
    "search_issues": {"jql": "project = ED AND status = \"To Do\" ORDER BY created DESC",
                      "max_results": 25},
    "assign_issue": {"issue_key": "ED-24", "account_id": "5b10a2844c20165700ede21g"},
}


@pytest.fixture
def jira(prism, connect):
    return connect(base_url=prism("jira"))


def test_every_action_has_a_contract_input():
    assert set(ACTION_INPUTS) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(client, keys, jira):
    r = client.post(f"/api/v2/connections/{jira['id']}/test", headers=keys["editor"])
    assert r.status_code == 200
    assert r.get_json()["ok"] is True, r.get_json()


@pytest.mark.parametrize("action", sorted(ACTION_INPUTS))
def test_action_is_accepted_by_the_spec(run, jira, action):
    status, body = run(jira, action, ACTION_INPUTS[action])
    assert status == 200, body
    assert body["attempts"] >= 1


def test_outputs_carry_the_spec_examples(run, jira):
    status, body = run(jira, "create_issue", {"project_key": "ED", "summary": "x"})
    assert body["output"] == {"id": "10000", "key": "ED-24",
                              "self": "https://your-domain.atlassian.net/rest/api/3/issue/10000"}
    status, body = run(jira, "get_issue", {"issue_key": "ED-24"})
    assert body["output"]["description"] == "Main order flow broken"
    status, body = run(jira, "list_transitions", {"issue_key": "ED-24"})
    assert body["output"]["transitions"][0] == {"id": "2", "name": "Close Issue",
                                                "to": "In Progress"}
    status, body = run(jira, "search_issues", {"jql": "project = ED"})
    assert body["output"]["count"] == len(body["output"]["issues"]) >= 1

