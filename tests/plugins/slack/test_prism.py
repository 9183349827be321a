"""The health check and every action against Prism serving Slack's official OpenAPI spec.

An HTTP 200 from our API means Prism accepted the request as valid for the spec: a request it
rejects (wrong method, JSON instead of a form, a non-boolean flag, a missing required
parameter) comes back as an error.
"""
from __future__ import annotations

import pytest

from plugins.slack.manifest import MANIFEST

pytestmark = pytest.mark.prism

# Inputs per action and what the spec's example answers must turn into.
CASES = {
    "send_message": (
        {"channel": "C0123ABCD", "text": "Deploy finished", "thread_ts": "1503435956.000100",
         "reply_broadcast": True, "unfurl_links": False,
         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Deploy* done"}}]},
        {"channel": "C1H9RESGL", "ts": "1503435956.000247", "thread_ts": "1503435956.000100"},
    ),
    "update_message": (
        {"channel": "C024BE91L", "ts": "1401383885.000061", "text": "Updated text"},
        {"channel": "C024BE91L", "ts": "1401383885.000061",
         "text": "Updated text you carefully authored"},
    ),
    "list_channels": (
        # Prism answers every page with the same non-empty next_cursor: stay within page one.
        {"types": ["public_channel", "private_channel"], "max_items": 2},
        {"count": 2},
    ),
    "get_channel_history": (
        {"channel": "C0123ABCD", "oldest": "1512085950.000000", "max_items": 2},
        {"channel": "C0123ABCD", "count": 2},
    ),
    "list_users": (
        {"max_items": 1},
        {"count": 1},
    ),
    "add_reaction": (
        {"channel": "C0123ABCD", "ts": "1503435956.000247", "name": ":thumbsup:"},
        {"channel": "C0123ABCD", "ts": "1503435956.000247", "name": "thumbsup",
         "already_reacted": False},
    ),
    "create_channel": (
        {"name": "incident-42", "is_private": True},
        {"id": "C0EAQDV4Z", "name": "endeavor"},
    ),
}


@pytest.fixture
def prism_slack(prism, slack_connection):
    return slack_connection({"base_url": prism("slack"), "max_attempts": 1,
                             "rate_limit_per_second": 100, "rate_limit_burst": 100})


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_slack, check_connection, client, keys):
    r = check_connection(prism_slack)
    assert r.status_code == 200
    assert r.get_json()["ok"] is True, r.get_json()
    conn = client.get(f"/api/v2/connections/{prism_slack['id']}", headers=keys["viewer"])
    assert conn.get_json()["status"] == "active"


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_slack, run_action, action):
    given, expected = CASES[action]
    r = run_action(prism_slack, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected
    assert r.get_json()["attempts"] == 1


def test_listing_returns_compact_channels(prism_slack, run_action):
    r = run_action(prism_slack, "list_channels", {"max_items": 2})
    first = r.get_json()["output"]["channels"][0]
    assert first == {"id": "C012AB3CD", "name": "general", "is_private": False,
                     "is_archived": False, "is_member": True, "num_members": 4,
                     "topic": "Company-wide announcements and work-based matters",
                     "created": 1449252889}


def test_a_pagination_loop_is_reported_not_followed(prism_slack, run_action):
    # Prism's static example always returns the same cursor; following it forever would hang.
    r = run_action(prism_slack, "list_users", {"max_items": 50})
    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream"
    assert "pagination loop" in r.get_json()["message"]
