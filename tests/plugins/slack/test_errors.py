"""How Slack's failures reach the user: ``ok: false`` bodies on HTTP 200, 429s and 5xx, and
which of them are retried."""
from __future__ import annotations

import pytest

from tests.plugins.slack.conftest import SLACK
from tests.plugins.slack.conftest import recorded

MESSAGE = {"channel": "C0123ABCD", "text": "Deploy finished"}


@pytest.mark.parametrize("error, status, code", [
    ("invalid_auth", 502, "auth"),
    ("not_authed", 502, "auth"),
    ("account_inactive", 502, "auth"),
    ("token_revoked", 502, "auth"),
    ("token_expired", 502, "auth"),
    ("missing_scope", 502, "auth"),
    ("ratelimited", 429, "rate_limited"),
    ("channel_not_found", 422, "validation"),
    ("not_in_channel", 422, "validation"),
    ("invalid_arguments", 422, "validation"),
    ("msg_too_long", 422, "validation"),
    ("internal_error", 502, "upstream"),
    ("restricted_action", 502, "upstream"),
    ("some_error_added_next_year", 502, "upstream"),
])
def test_an_ok_false_answer_maps_to_its_error_class(fake_slack, slack_connection, run_action,
                                                    error, status, code):
    fake_slack.post(f"{SLACK}/chat.postMessage", json={"ok": False, "error": error})
    r = run_action(slack_connection({"max_attempts": 1}), "send_message", MESSAGE)

    assert r.status_code == status
    body = r.get_json()
    assert body["code"] == code
    assert body["message"] == f"Slack chat.postMessage: {error}"


def test_a_validation_error_names_the_input_field(fake_slack, slack_connection, run_action):
    fake_slack.post(f"{SLACK}/chat.postMessage",
                    json=recorded("chat_postMessage_channel_not_found"))
    r = run_action(slack_connection(), "send_message", MESSAGE)
    assert r.get_json()["errors"] == {"channel": ["channel_not_found"]}


def test_slack_explanations_of_bad_blocks_are_passed_on(fake_slack, slack_connection, run_action):
    fake_slack.post(f"{SLACK}/chat.postMessage", json=recorded("chat_postMessage_invalid_blocks"))
    r = run_action(slack_connection(), "send_message",
                   {"channel": "C0123ABCD", "blocks": [{"type": "section", "text": {}}]})
    assert r.status_code == 422
    assert r.get_json()["errors"]["blocks"] == [
        "invalid_blocks",
        "[ERROR] must be more than 0 characters [json-pointer:/blocks/0/text/text]"]


def test_a_failed_health_check_marks_the_connection_for_reauthorisation(
        fake_slack, slack_connection, check_connection, client, keys):
    fake_slack.get(f"{SLACK}/auth.test", json=recorded("auth_test_missing_scope"))
    conn = slack_connection({"max_attempts": 3})
    r = check_connection(conn)

    assert r.status_code == 200
    result = r.get_json()
    assert result["ok"] is False
    assert result["error_class"] == "auth"
    assert "missing_scope (needed scope: chat:write)" in result["message"]
    assert len(fake_slack.calls) == 1  # permanent: never retried
    conn = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert conn["status"] == "needs_reauth"


def test_a_healthy_workspace_passes_the_check(fake_slack, slack_connection, check_connection):
    fake_slack.get(f"{SLACK}/auth.test", json={"ok": True, "team": "Acme", "team_id": "T0001ABCD",
                                               "user": "atom", "user_id": "U0BOTUSER"})
    assert check_connection(slack_connection()).get_json()["ok"] is True
    assert fake_slack.calls[0].request.method == "GET"


def test_http_429_carries_retry_after_to_the_caller(fake_slack, slack_connection, run_action):
    fake_slack.post(f"{SLACK}/chat.postMessage", status=429, headers={"Retry-After": "30"},
                    json={"ok": False, "error": "ratelimited"})
    r = run_action(slack_connection({"max_attempts": 1}), "send_message", MESSAGE)

    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert r.get_json()["retry_after"] == 30
    assert r.headers["Retry-After"] == "30"


def test_a_429_is_retried_after_the_wait_slack_asked_for(fake_slack, slack_connection,
                                                         run_action, sleeps):
    fake_slack.post(f"{SLACK}/chat.postMessage", status=429, headers={"Retry-After": "7"},
                    json={"ok": False, "error": "ratelimited"})
    fake_slack.post(f"{SLACK}/chat.postMessage", json=recorded("chat_postMessage_ok"))
    r = run_action(slack_connection({"max_attempts": 3}), "send_message", MESSAGE)

    assert r.status_code == 200
    assert r.get_json()["attempts"] == 2
    assert len(fake_slack.calls) == 2
    assert sum(sleeps) >= 7


def test_a_transient_failure_of_a_read_is_retried(fake_slack, slack_connection, run_action,
                                                  sleeps):
    fake_slack.get(f"{SLACK}/conversations.list", json={"ok": False, "error": "internal_error"})
    fake_slack.get(f"{SLACK}/conversations.list", json=recorded("conversations_list_page2"))
    r = run_action(slack_connection({"max_attempts": 3}), "list_channels", {})

    assert r.status_code == 200
    assert r.get_json()["output"]["count"] == 1
    assert len(fake_slack.calls) == 2


def test_a_message_is_not_posted_twice_after_a_server_error(fake_slack, slack_connection,
                                                            run_action, sleeps):
    # chat.postMessage has no idempotency key: a 5xx may have posted the message already.
    fake_slack.post(f"{SLACK}/chat.postMessage", status=503, body="upstream connect error")
    r = run_action(slack_connection({"max_attempts": 3}), "send_message", MESSAGE)

    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream"
    assert len(fake_slack.calls) == 1


def test_a_permanent_error_is_not_retried(fake_slack, slack_connection, run_action, sleeps):
    fake_slack.get(f"{SLACK}/conversations.list", json={"ok": False, "error": "invalid_auth"})
    r = run_action(slack_connection({"max_attempts": 3}), "list_channels", {})
    assert r.get_json()["code"] == "auth"
    assert len(fake_slack.calls) == 1
    assert sleeps == []


def test_a_base_url_that_is_not_slack_fails_the_health_check(fake_slack, slack_connection,
                                                             check_connection):
    fake_slack.get("https://intranet.example.com/auth.test", body="<html>Welcome</html>",
                   content_type="text/html")
    result = check_connection(slack_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_an_unexpected_reply_is_an_upstream_error_naming_the_missing_field(
        fake_slack, slack_connection, run_action, check_connection):
    """Issue 10: ``ok: true`` without ``channel``/``ts`` was an ``internal: KeyError``."""
    fake_slack.post(f"{SLACK}/chat.postMessage", json={"ok": True, "message": {"text": "hi"}})
    conn = slack_connection({"max_attempts": 3})
    r = run_action(conn, "send_message", MESSAGE)
    assert r.status_code == 502
    body = r.get_json()
    assert body["code"] == "upstream"
    assert body["message"] == ("unexpected answer from slack: the reply has no field 'channel' "
                               "(KeyError)")
    assert len(fake_slack.calls) == 1  # the post went through: never sent again


def test_an_alert_channel_test_reports_an_unexpected_reply(fake_slack, slack_connection, client,
                                                           keys):
    fake_slack.post(f"{SLACK}/chat.postMessage", json={"ok": True})
    conn = slack_connection()
    channel = client.post("/api/v2/monitoring/channels", headers=keys["admin"],
                          json={"name": "ops", "connection_id": conn["id"], "target": "#ops"})
    assert channel.status_code == 201, channel.get_json()
    r = client.post(f"/api/v2/monitoring/channels/{channel.get_json()['id']}/test",
                    headers=keys["editor"])
    assert r.status_code == 200
    assert r.get_json() == {"ok": False, "error_class": "upstream",
                            "message": "unexpected answer from slack: the reply has no field "
                                       "'channel' (KeyError)"}
