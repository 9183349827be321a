"""Graph errors ({"error": {"code", "message", "innerError"}}) through the OneDrive actions:
the ATOM error class, the input field named, 429/503 with Retry-After waited for, server
errors retried only when a repeat is safe, dropped connections."""
from __future__ import annotations

import pytest
import requests

from tests.plugins.onedrive.fake import error


@pytest.fixture
def drive(fake, onedrive_connection):
    """A connection with its drive id set, so the canned answers meet the action's request."""
    return onedrive_connection({"drive": fake.drive_id})


@pytest.mark.parametrize("status, code, http, error_class", [
    (401, "InvalidAuthenticationToken", 502, "auth"),
    (403, "accessDenied", 502, "auth"),
    (404, "itemNotFound", 422, "validation"),
    (400, "invalidRequest", 422, "validation"),
    (507, "insufficientStorage", 502, "upstream"),
])
def test_graph_errors_map_to_atom_classes(fake, drive, run_action, status, code, http,
                                          error_class):
    fake.fail_next = [error(status, code, "Something about the request.")]
    r = run_action(drive, "get_item", {"item_id": "01ABC"})
    body = r.get_json()
    assert (r.status_code, body["code"]) == (http, error_class), body
    assert code in body["message"]
    assert len(fake.calls) == 1  # none of these is retried


def test_a_bad_request_names_the_field_graph_names(fake, drive, run_action):
    fake.fail_next = [error(400, "invalidRequest", "The property 'name' is invalid.")]
    r = run_action(drive, "create_folder", {"name": "x"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["name"][0] == "invalidRequest"


def test_a_missing_folder_names_folder_id(fake, drive, run_action):
    r = run_action(drive, "create_folder", {"name": "x", "folder_id": "01NOSUCH"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["folder_id"][0] == "itemNotFound"


def test_429_waits_for_retry_after_then_succeeds(fake, drive, run_action, sleeps):
    fake.fail_next = [error(429, "activityLimitReached", "Throttled", **{"Retry-After": "7"})]
    r = run_action(drive, "list_children", {})
    assert r.status_code == 200, r.get_json()
    assert any(7 <= s < 8.1 for s in sleeps), sleeps


def test_429_on_every_attempt_is_rate_limited_with_the_wait(fake, drive, run_action, sleeps):
    fake.fail_next = [error(429, "activityLimitReached", "Throttled", **{"Retry-After": "3"})] * 3
    r = run_action(drive, "list_children", {})
    assert r.status_code == 429
    assert r.get_json()["code"] == "rate_limited"
    assert len(fake.calls) == 3


def test_503_with_retry_after_is_retried_on_reads(fake, drive, run_action, sleeps):
    fake.fail_next = [error(503, "serviceNotAvailable", "Try later", **{"Retry-After": "2"})]
    assert run_action(drive, "get_item", {"item_id": fake.root["id"]}).status_code == 200
    assert any(2 <= s < 2.3 for s in sleeps)


def test_a_server_error_on_a_folder_create_is_not_retried(fake, drive, run_action, sleeps):
    fake.fail_next = [error(500, "generalException", "boom")]
    r = run_action(drive, "create_folder", {"name": "x", "conflict_behavior": "rename"})
    assert r.status_code == 502
    assert len(fake.calls) == 1 and fake.children_of(fake.root["id"]) == []


def test_a_server_error_on_a_replace_upload_is_retried(fake, drive, run_action, sleeps):
    file_id = fake.add_file("a.txt")
    fake.fail_next = [error(500, "generalException", "boom")]
    r = run_action(drive, "upload_file", {"file_id": file_id, "content_text": "new"})
    assert r.status_code == 200, r.get_json()
    assert fake.content[file_id] == b"new"


def test_a_renaming_upload_is_not_retried_after_a_server_error(fake, drive, run_action, sleeps):
    fake.fail_next = [error(502, "generalException", "boom")]
    r = run_action(drive, "upload_file", {"name": "a.txt", "content_text": "x"})
    assert r.status_code == 502
    assert len(fake.calls) == 1


def test_a_dropped_connection_is_retried_on_reads_only(fake, drive, run_action, sleeps):
    import responses

    original = fake._graph
    calls = {"n": 0}

    def drop_first(request):
        calls["n"] += 1
        if calls["n"] == 1:
            raise requests.ConnectionError("connection reset by peer")
        return original(request)

    for match in fake.rsps.registered():
        if isinstance(match, responses.CallbackResponse) and match.callback == original:
            match.callback = drop_first
    assert run_action(drive, "list_children", {}).status_code == 200
    assert calls["n"] == 2  # the read was sent again
    calls["n"] = 0
    r = run_action(drive, "create_folder", {"name": "y"})
    assert r.status_code == 502 and calls["n"] == 1  # the create was not


def test_the_health_check_reports_a_refused_token(fake, drive, check_connection):
    fake.fail_next = [error(401, "InvalidAuthenticationToken", "expired")]
    result = check_connection(drive).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
