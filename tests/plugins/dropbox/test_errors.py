"""Dropbox's errors ("Errors" in the HTTP reference) as ATOM's classes: 409 endpoint errors
naming our input field, 429 with ``Retry-After`` (or ``error.retry_after``), write contention,
400 bad input, 5xx retried only when safe, and the expired short-lived token refreshed once
(``expired_access_token``) before the call is retried."""
from __future__ import annotations

import json

import pytest
import requests
import responses

from plugins.dropbox.errors import classify
from tests.plugins.dropbox.conftest import TOKEN_URL
from tests.plugins.dropbox.fake import REFRESH_TOKEN
from tests.plugins.dropbox.fake import TOKEN


def answer(status: int, body=None, text: str | None = None, headers=None,
           route: str = "files/get_metadata") -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = text.encode() if text is not None else json.dumps(body).encode()
    r.headers.update(headers or {})
    r.request = requests.Request("POST", f"https://api.dropboxapi.com/2/{route}").prepare()
    return r


def raised(response):
    with pytest.raises(Exception) as info:
        classify(response)
    return info.value


# -- the classifier, from the reference's error shapes ---------------------------------------------

@pytest.mark.parametrize("summary, error, details", [
    ("path/not_found/..", {".tag": "path", "path": {".tag": "not_found"}}, {"path": ["not_found"]}),
    ("path_lookup/not_found/...", {".tag": "path_lookup"}, {"path": ["not_found"]}),
    ("path/conflict/file/..", {".tag": "path"}, {"path": ["conflict/file"]}),
    ("path/malformed_path/.", {".tag": "path"}, {"path": ["malformed_path"]}),
    ("reset/..", {".tag": "reset"}, {"cursor": ["reset"]}),
    ("settings_error/not_authorized/..", {".tag": "settings_error"},
     {"audience": ["not_authorized"]}),
    ("email_not_verified/..", {".tag": "email_not_verified"}, {"_request": ["email_not_verified"]}),
])
def test_409_endpoint_errors_name_the_input_field(summary, error, details):
    exc = raised(answer(409, {"error_summary": summary, "error": error}))
    assert exc.code == "validation" and exc.details == details and exc.permanent
    assert "files/get_metadata" in exc.message and "/.." not in exc.message


def test_429_waits_for_retry_after_or_the_bodys_retry_after():
    exc = raised(answer(429, {"error_summary": "too_many_requests/..",
                              "error": {"reason": {".tag": "too_many_requests"},
                                        "retry_after": 300}}, headers={"Retry-After": "7"}))
    assert exc.code == "rate_limited" and exc.retry_after == 7
    exc = raised(answer(429, {"error_summary": "too_many_write_operations/..",
                              "error": {"reason": {".tag": "too_many_write_operations"},
                                        "retry_after": 3}}))
    assert exc.code == "rate_limited" and exc.retry_after == 3
    assert raised(answer(429, text="slow down")).retry_after == 5  # the SDK's default wait


def test_write_contention_inside_a_409_is_a_rate_limit():
    exc = raised(answer(409, {"error_summary": "path/too_many_write_operations/..",
                              "error": {".tag": "path"}}, route="files/upload"))
    assert exc.code == "rate_limited"


@pytest.mark.parametrize("status, body, code", [
    (400, None, "validation"),
    (401, {"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}},
     "auth"),
    (401, {"error_summary": "missing_scope/..", "error": {".tag": "missing_scope",
                                                          "required_scope": "files.content.write"}},
     "auth"),
    (403, {"error_summary": "invalid_account_type/..", "error": {".tag": "invalid_account_type"}},
     "auth"),
    (500, None, "upstream"),
    (503, None, "upstream"),
])
def test_statuses(status, body, code):
    exc = raised(answer(status, body, text=None if body else "Error in call to API function "
                                                             '"files/get_metadata": bad path'))
    assert exc.code == code
    assert exc.permanent is (status < 500)
    if status == 400:
        assert exc.details == {"_request": ['Error in call to API function "files/get_metadata": '
                                            'bad path']}


# -- through the API -----------------------------------------------------------------------------

def test_a_429_is_waited_for_and_retried(dropbox, connect, run_action, sleeps):
    conn = connect(max_attempts=3)
    dropbox.add_file("/a.txt", b"a")
    dropbox.rate_limit(retry_after=2, route="files/get_metadata")
    r = run_action(conn, "get_metadata", {"path": "/a.txt"})
    assert r.status_code == 200, r.get_json()
    assert len(dropbox.calls("files/get_metadata")) == 2
    assert sleeps and 2 <= sleeps[0] <= 2.2


def test_a_429_on_a_write_is_retried_too(dropbox, connect, run_action, sleeps):
    conn = connect(max_attempts=2)
    dropbox.rate_limit(retry_after=1, route="files/create_folder_v2",
                       reason="too_many_write_operations")
    r = run_action(conn, "create_folder", {"path": "/New"})
    assert r.status_code == 200, r.get_json()
    assert len(dropbox.calls("files/create_folder_v2")) == 2


def test_a_429_past_the_attempts_is_rate_limited_with_its_wait(dropbox, connect, run_action,
                                                              sleeps):
    conn = connect(max_attempts=1)
    dropbox.rate_limit(retry_after=4)
    body = run_action(conn, "get_metadata", {"path": "/a.txt"}).get_json()
    assert body["code"] == "rate_limited" and body["retry_after"] == 4


def test_a_server_error_is_retried_for_reads_only(dropbox, connect, run_action, sleeps):
    conn = connect(max_attempts=3)
    dropbox.add_file("/a.txt", b"a")
    dropbox.push(500, text="boom", route="files/get_metadata")
    assert run_action(conn, "get_metadata", {"path": "/a.txt"}).status_code == 200
    dropbox.push(500, text="boom", route="files/create_folder_v2")
    r = run_action(conn, "create_folder", {"path": "/New"})
    assert r.status_code == 502 and len(dropbox.calls("files/create_folder_v2")) == 1


def test_an_expired_access_token_is_refreshed_once_and_the_call_retried(
        dropbox, connect, run_action, token_endpoint):
    conn = connect(credentials={"refresh_token": REFRESH_TOKEN})
    dropbox.add_file("/a.txt", b"a")
    dropbox.expire(TOKEN)
    r = run_action(conn, "get_metadata", {"path": "/a.txt"})
    assert r.status_code == 200, r.get_json()

    [refresh] = [c for c in token_endpoint if c.request.url == TOKEN_URL]
    form = dict(p.split("=") for p in refresh.request.body.split("&"))
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == REFRESH_TOKEN
    first, second = dropbox.calls("files/get_metadata")
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert second.headers["Authorization"].startswith("Bearer sl.fake-refreshed-")
    # The new token is kept: the next call needs no refresh, content host included.
    run_action(conn, "upload_file", {"path": "/b.txt", "content_text": "b"})
    assert dropbox.calls("files/upload")[0].headers["Authorization"] == \
        second.headers["Authorization"]
    assert len([c for c in token_endpoint if c.request.url == TOKEN_URL]) == 1
    assert "sl.fake-refreshed" not in json.dumps(r.get_json())


def test_an_expired_token_without_a_refresh_token_is_an_auth_error(dropbox, connect, run_action):
    conn = connect()
    dropbox.expire(TOKEN)
    body = run_action(conn, "get_metadata", {"path": "/a.txt"}).get_json()
    assert body["code"] == "auth" and "expired_access_token" in body["message"]
    assert len(dropbox.calls("files/get_metadata")) == 1


def test_a_refused_refresh_token_asks_for_reauthorisation(dropbox, connect, run_action,
                                                         token_endpoint, client, keys):
    conn = connect(credentials={"refresh_token": "revoked-refresh-token-0123"})
    dropbox.expire(TOKEN)
    body = run_action(conn, "get_metadata", {"path": "/a.txt"}).get_json()
    assert body["code"] == "auth"
    shown = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "needs_reauth"


def test_bad_input_is_a_validation_error_of_the_request(dropbox, connect, run_action):
    conn = connect()
    dropbox.push(400, text='Error in call to API function "files/get_metadata": request body: '
                           'path: bad', route="files/get_metadata")
    body = run_action(conn, "get_metadata", {"path": "/a.txt"}).get_json()
    assert body["code"] == "validation" and "request body: path" in body["errors"]["_request"][0]


def test_an_unreachable_content_host_is_an_upstream_error(dropbox, connect, run_action):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = connect(content_url=f"http://127.0.0.1:{port}/2/")
    body = run_action(conn, "upload_file", {"path": "/a.txt", "content_text": "a"}).get_json()
    assert body["code"] == "upstream" and "files/upload" in body["message"]


def test_the_health_check_maps_a_refused_token(dropbox, connect, check_connection):
    result = check_connection(connect(credentials={"access_token": "sl.unknown-token-0123"}))
    assert result.get_json()["error_class"] == "auth"


def test_an_answer_that_is_not_dropbox_fails_the_health_check(connect, check_connection):
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, "https://intranet.example.com/2/users/get_current_account",
                 json={"hello": "world"})
        result = check_connection(connect(base_url="https://intranet.example.com/2/"))
    assert (result.get_json()["ok"], result.get_json()["error_class"]) == (False, "upstream")
