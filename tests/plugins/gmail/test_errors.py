"""How Gmail's failures reach the user: Google error bodies (rate limits as 403 or 429, daily
quotas, scopes, bad input naming the field), 5xx, and which of them are retried."""
from __future__ import annotations

import pytest

from tests.plugins.gmail.conftest import GMAIL
from tests.plugins.gmail.conftest import TOKEN
from tests.plugins.gmail.conftest import recorded

MAIL = {"to": "ada@example.com", "subject": "hi", "text": "hello"}
SENT = {"id": "m1", "threadId": "t1", "labelIds": ["SENT"]}
LABELS = {"labels": [{"id": "INBOX", "name": "INBOX", "type": "system"}]}


def test_an_invalid_token_fails_the_health_check_and_asks_for_reauthorisation(
        fake_gmail, gmail_connection, check_connection, client, keys):
    fake_gmail.get(f"{GMAIL}/profile", status=401, json=recorded("error_401"))
    conn = gmail_connection({"max_attempts": 3})
    result = check_connection(conn).get_json()

    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "authError" in result["message"]
    assert len(fake_gmail.calls) == 1  # no refresh token stored: nothing to retry with
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "needs_reauth"


def test_a_healthy_mailbox_passes_the_check(fake_gmail, gmail_connection, check_connection):
    fake_gmail.get(f"{GMAIL}/profile", json={"emailAddress": "me@example.com",
                                             "messagesTotal": 3, "historyId": "4872391"})
    assert check_connection(gmail_connection()).get_json()["ok"] is True


def test_a_base_url_that_is_not_gmail_fails_the_health_check(fake_gmail, gmail_connection,
                                                             check_connection):
    fake_gmail.get("https://intranet.example.com/users/me/profile", body="<html>hi</html>")
    result = check_connection(gmail_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_missing_scopes_are_an_auth_error(fake_gmail, gmail_connection, run_action):
    fake_gmail.post(f"{GMAIL}/messages/send", status=403,
                    json=recorded("error_403_insufficient_scope"))
    r = run_action(gmail_connection(), "send_email", MAIL)
    assert r.status_code == 502
    assert r.get_json()["code"] == "auth"
    assert "insufficientPermissions" in r.get_json()["message"]


@pytest.mark.parametrize("fixture", ["error_403_rate_limit", "error_403_user_rate_limit"])
def test_a_403_rate_limit_is_a_rate_limit_not_an_auth_error(fake_gmail, gmail_connection,
                                                            run_action, fixture):
    fake_gmail.get(f"{GMAIL}/labels", status=403, json=recorded(fixture))
    r = run_action(gmail_connection({"max_attempts": 1}), "list_labels", {"type": "user"})
    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"


def test_a_403_rate_limit_is_retried_with_backoff(fake_gmail, gmail_connection, run_action,
                                                  sleeps):
    fake_gmail.post(f"{GMAIL}/messages/send", status=403,
                    json=recorded("error_403_user_rate_limit"))
    fake_gmail.post(f"{GMAIL}/messages/send", json=SENT)
    r = run_action(gmail_connection({"max_attempts": 3}), "send_email", MAIL)

    # A rate-limited request was not processed: even a send is safe to repeat.
    assert r.status_code == 200
    assert r.get_json()["attempts"] == 2
    assert len(sleeps) == 1


def test_a_daily_limit_waits_until_the_quota_resets(fake_gmail, gmail_connection, run_action,
                                                    sleeps):
    fake_gmail.get(f"{GMAIL}/labels", status=403, json=recorded("error_403_daily_limit"))
    r = run_action(gmail_connection({"max_attempts": 3}), "list_labels", {"type": "user"})

    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert r.get_json()["retry_after"] > 60  # midnight Pacific time, not seconds away
    assert len(fake_gmail.calls) == 1 and sleeps == []


def test_a_429_honours_retry_after(fake_gmail, gmail_connection, run_action, sleeps):
    fake_gmail.get(f"{GMAIL}/labels", status=429, headers={"Retry-After": "7"},
                   json=recorded("error_429"))
    fake_gmail.get(f"{GMAIL}/labels", json=LABELS)
    r = run_action(gmail_connection({"max_attempts": 3}), "list_labels", {"type": "system"})

    assert r.status_code == 200
    assert r.get_json()["output"]["count"] == 1
    assert sum(sleeps) >= 7


def test_a_429_reaches_the_caller_with_its_wait(fake_gmail, gmail_connection, run_action):
    fake_gmail.get(f"{GMAIL}/labels", status=429, headers={"Retry-After": "30"},
                   json=recorded("error_429"))
    r = run_action(gmail_connection({"max_attempts": 1}), "list_labels", {"type": "user"})
    assert r.status_code == 429
    assert r.get_json()["retry_after"] == 30
    assert r.headers["Retry-After"] == "30"


def test_a_server_error_of_a_read_is_retried(fake_gmail, gmail_connection, run_action, sleeps):
    fake_gmail.get(f"{GMAIL}/labels", status=500, json=recorded("error_500"))
    fake_gmail.get(f"{GMAIL}/labels", json=LABELS)
    r = run_action(gmail_connection({"max_attempts": 3}), "list_labels", {"type": "system"})
    assert r.status_code == 200
    assert len(fake_gmail.calls) == 2


def test_a_send_is_not_repeated_after_a_server_error(fake_gmail, gmail_connection, run_action,
                                                     sleeps):
    fake_gmail.post(f"{GMAIL}/messages/send", status=500, json=recorded("error_500"))
    r = run_action(gmail_connection({"max_attempts": 3}), "send_email", MAIL)
    assert r.status_code == 502
    assert r.get_json()["code"] == "upstream"
    assert "backendError" in r.get_json()["message"]
    assert len(fake_gmail.calls) == 1


def test_label_changes_are_retried_after_a_server_error(fake_gmail, gmail_connection,
                                                        run_action, sleeps):
    fake_gmail.post(f"{GMAIL}/messages/m1/modify", status=503, json=recorded("error_500"))
    fake_gmail.post(f"{GMAIL}/messages/m1/modify", json={"id": "m1", "labelIds": ["STARRED"]})
    r = run_action(gmail_connection({"max_attempts": 3}), "modify_labels",
                   {"id": "m1", "add": ["STARRED"]})
    assert r.status_code == 200
    assert len(fake_gmail.calls) == 2


def test_gmail_refusing_a_recipient_names_the_field(fake_gmail, gmail_connection, run_action):
    fake_gmail.post(f"{GMAIL}/messages/send", status=400, json=recorded("error_400_invalid_to"))
    r = run_action(gmail_connection(), "send_email", MAIL)
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"to": ["invalidArgument", "Invalid To header"]}


def test_a_parameter_error_names_the_input_field(fake_gmail, gmail_connection, run_action):
    fake_gmail.get(f"{GMAIL}/messages", status=400, json={"error": {
        "code": 400, "message": "Invalid value for q", "status": "INVALID_ARGUMENT",
        "errors": [{"message": "Invalid value for q", "domain": "global", "reason": "invalid",
                    "location": "q", "locationType": "parameter"}]}})
    r = run_action(gmail_connection(), "list_messages", {"query": "from:", "metadata": False})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"query": ["invalid", "Invalid value for q"]}


def test_an_unknown_message_is_a_permanent_404(fake_gmail, gmail_connection, run_action, sleeps):
    fake_gmail.get(f"{GMAIL}/messages/m404", status=404, json=recorded("error_404"))
    r = run_action(gmail_connection({"max_attempts": 3}), "get_message", {"id": "m404"})
    assert r.status_code == 502
    assert r.get_json()["upstream_status"] == 404
    assert len(fake_gmail.calls) == 1


def test_a_token_echoed_in_an_error_is_redacted(fake_gmail, gmail_connection, run_action):
    fake_gmail.get(f"{GMAIL}/labels", status=400, json={"error": {
        "code": 400, "message": f"Bad token {TOKEN} in request", "status": "INVALID_ARGUMENT",
        "errors": [{"reason": "badRequest", "message": f"Bad token {TOKEN}"}]}})
    r = run_action(gmail_connection(), "list_labels", {"type": "user"})
    assert r.status_code == 422
    assert TOKEN not in str(r.get_json())


def test_a_timeout_of_a_read_is_retried(fake_gmail, gmail_connection, run_action, sleeps):
    import requests

    fake_gmail.get(f"{GMAIL}/labels", body=requests.ReadTimeout("slow"))
    fake_gmail.get(f"{GMAIL}/labels", json=LABELS)
    r = run_action(gmail_connection({"max_attempts": 2}), "list_labels", {"type": "system"})
    assert r.status_code == 200
    assert len(fake_gmail.calls) == 2


def test_daily_quotas_reset_at_midnight_pacific_time():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from plugins.google_common import seconds_until_pacific_midnight

    pacific = ZoneInfo("America/Los_Angeles")
    assert seconds_until_pacific_midnight(datetime(2024, 5, 6, 23, 0, tzinfo=pacific)) == 3600
    # 07:00 UTC is midnight in Los Angeles in summer (PDT, -07:00): a whole day to wait.
    from datetime import UTC
    assert seconds_until_pacific_midnight(datetime(2024, 5, 6, 7, 0, tzinfo=UTC)) == 86400


def test_an_error_body_that_is_not_googles_is_still_mapped(fake_gmail, gmail_connection,
                                                           run_action):
    fake_gmail.get(f"{GMAIL}/labels", status=400, body="<html>Bad Request</html>")
    r = run_action(gmail_connection(), "list_labels", {"type": "user"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"_request": ["400", "<html>Bad Request</html>"]}
