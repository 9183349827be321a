"""How Google Drive's failures reach the user: auth, 403 rate limits (user and sharing),
permission errors, bad input naming the field, 429 and 5xx, and which are retried."""
from __future__ import annotations

from tests.plugins.google_drive.conftest import API
from tests.plugins.google_drive.conftest import TOKEN
from tests.plugins.google_drive.conftest import UPLOAD
from tests.plugins.google_drive.conftest import recorded

FILE_ID = "1Z7mPq9vXk3LrT0aBcDeFgHiJkLmNoPqR"
SHARE = {"file_id": FILE_ID, "role": "reader", "email_address": "grace@example.com"}


def test_an_invalid_token_fails_the_health_check(fake_drive, drive_connection, check_connection,
                                                 client, keys):
    fake_drive.get(f"{API}/about", status=401, json=recorded("error_401"))
    conn = drive_connection()
    result = check_connection(conn).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "needs_reauth"


def test_the_health_check_reads_about_user(fake_drive, drive_connection, check_connection):
    fake_drive.get(f"{API}/about", json={"user": {"displayName": "Ada", "kind": "drive#user"}})
    assert check_connection(drive_connection()).get_json()["ok"] is True
    assert fake_drive.calls[0].request.url.endswith("/drive/v3/about?fields=user")


def test_a_base_url_that_is_not_google_fails_the_health_check(fake_drive, drive_connection,
                                                              check_connection):
    fake_drive.get("https://intranet.example.com/drive/v3/about", body="<html></html>")
    result = check_connection(drive_connection({"base_url": "https://intranet.example.com"}))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")


def test_a_403_user_rate_limit_is_retried(fake_drive, drive_connection, run_action, sleeps):
    fake_drive.get(f"{API}/files/{FILE_ID}", status=403, json=recorded("error_403_user_rate_limit"))
    fake_drive.get(f"{API}/files/{FILE_ID}", json=recorded("file"))
    r = run_action(drive_connection({"max_attempts": 3}), "get_file", {"file_id": FILE_ID})
    assert r.status_code == 200 and r.get_json()["attempts"] == 2


def test_a_sharing_rate_limit_is_a_rate_limit(fake_drive, drive_connection, run_action):
    fake_drive.post(f"{API}/files/{FILE_ID}/permissions", status=403,
                    json=recorded("error_403_sharing_rate_limit"))
    r = run_action(drive_connection({"max_attempts": 1}), "share_file", SHARE)
    assert r.status_code == 429 and r.get_json()["code"] == "rate_limited"


def test_no_permission_on_a_file_is_not_an_auth_error(fake_drive, drive_connection, run_action,
                                                      sleeps):
    fake_drive.patch(f"{API}/files/{FILE_ID}", status=403,
                     json=recorded("error_403_insufficient_file_permissions"))
    r = run_action(drive_connection({"max_attempts": 3}), "trash_file", {"file_id": FILE_ID})
    assert r.status_code == 502 and r.get_json()["code"] == "upstream"
    assert "insufficientFilePermissions" in r.get_json()["message"]
    assert len(fake_drive.calls) == 1


def test_a_429_honours_retry_after(fake_drive, drive_connection, run_action, sleeps):
    fake_drive.get(f"{API}/files", status=429, headers={"Retry-After": "4"}, json={"error": {
        "code": 429, "message": "Too Many Requests", "errors": [
            {"domain": "usageLimits", "reason": "rateLimitExceeded"}]}})
    fake_drive.get(f"{API}/files", json={"files": []})
    r = run_action(drive_connection({"max_attempts": 3}), "list_files", {})
    assert r.status_code == 200 and sum(sleeps) >= 4


def test_a_server_error_of_a_read_is_retried(fake_drive, drive_connection, run_action, sleeps):
    fake_drive.get(f"{API}/files", status=500, json=recorded("error_500"))
    fake_drive.get(f"{API}/files", json={"files": []})
    r = run_action(drive_connection({"max_attempts": 3}), "list_files", {})
    assert r.status_code == 200 and len(fake_drive.calls) == 2


def test_an_upload_is_not_repeated_after_a_server_error(fake_drive, drive_connection,
                                                        run_action, sleeps):
    fake_drive.post(UPLOAD, status=500, json=recorded("error_500"))
    r = run_action(drive_connection({"max_attempts": 3}), "upload_file",
                   {"name": "a.txt", "content_text": "hello"})
    assert r.status_code == 502 and r.get_json()["code"] == "upstream"
    assert len(fake_drive.calls) == 1


def test_a_bad_query_names_the_field(fake_drive, drive_connection, run_action):
    fake_drive.get(f"{API}/files", status=400, json=recorded("error_400_invalid_query"))
    r = run_action(drive_connection(), "list_files", {"query": "nonsense ="})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"query": ["invalid", "Invalid Value"]}


def test_an_invalid_sharing_request_names_the_address(fake_drive, drive_connection, run_action):
    fake_drive.post(f"{API}/files/{FILE_ID}/permissions", status=400,
                    json=recorded("error_400_invalid_sharing"))
    r = run_action(drive_connection(), "share_file", {**SHARE, "send_notification": False})
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["email_address"]


def test_an_unknown_file_is_a_permanent_404(fake_drive, drive_connection, run_action, sleeps):
    fake_drive.get(f"{API}/files/{FILE_ID}", status=404, json=recorded("error_404"))
    r = run_action(drive_connection({"max_attempts": 3}), "get_file", {"file_id": FILE_ID})
    assert r.status_code == 502 and r.get_json()["upstream_status"] == 404
    assert "File not found" in r.get_json()["message"]
    assert len(fake_drive.calls) == 1


def test_a_token_echoed_in_an_error_is_redacted(fake_drive, drive_connection, run_action):
    fake_drive.get(f"{API}/files/{FILE_ID}", status=400, json={"error": {
        "code": 400, "message": f"bad credential {TOKEN}",
        "errors": [{"reason": "badRequest", "message": f"bad credential {TOKEN}"}]}})
    r = run_action(drive_connection(), "get_file", {"file_id": FILE_ID})
    assert r.status_code == 422 and TOKEN not in str(r.get_json())
