"""How Box's failures reach the user: its error body mapped to our classes with the field named,
429 with Retry-After, 5xx retried only when safe, dropped connections."""
from __future__ import annotations

from werkzeug.wrappers import Response

from tests.plugins.box.fake_box import error


def box_error(status: int, code: str, **context) -> Response:
    return error(status, code, f"{code} happened", **context)


def test_a_bad_request_names_the_field_box_names(box, box_connection, run_action):
    box.fail.append((r"api:POST /2.0/folders", box_error(400, "bad_request", errors=[
        {"reason": "invalid_parameter", "name": "name", "message": "Invalid value 'a\u00a0'."}])))
    r = run_action(box_connection(), "create_folder", {"name": "a\u00a0"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"name": ["Invalid value 'a\u00a0'."]}


def test_item_name_invalid_names_name(box, box_connection, run_action):
    box.fail.append((r"api:POST /2.0/folders", box_error(400, "item_name_invalid")))
    r = run_action(box_connection(), "create_folder", {"name": "ok"})
    assert list(r.get_json()["errors"]) == ["name"]


def test_a_shared_link_password_error_names_password(box, box_connection, run_action):
    box.fail.append((r"api:PUT /2.0/files/", box_error(400, "bad_request", errors=[
        {"reason": "invalid_parameter", "name": "password",
         "message": "Password is too weak"}])))
    fid = box.add_file("a.txt", b"x")
    r = run_action(box_connection(), "create_shared_link", {
        "file_id": fid, "access": "open", "password": "weakweak"})
    assert r.get_json()["errors"] == {"password": ["Password is too weak"]}
    assert "weakweak" not in str(r.get_json())


def test_429_waits_for_retry_after_then_succeeds(box, box_connection, run_action, sleeps):
    response = box_error(429, "rate_limit_exceeded")
    response.headers["Retry-After"] = "7"
    box.fail.append((r"api:GET /2.0/files/", response))
    fid = box.add_file("a.txt", b"x")
    r = run_action(box_connection({"max_attempts": 2}), "get_file", {"file_id": fid})
    assert r.status_code == 200 and r.get_json()["attempts"] == 2
    assert any(7.0 <= s <= 7.8 for s in sleeps)


def test_429_past_the_attempts_is_rate_limited_with_retry_after(box, box_connection, run_action):
    response = box_error(429, "rate_limit_exceeded")
    response.headers["Retry-After"] = "30"
    box.fail.append((r"api:POST /2.0/folders", response))
    r = run_action(box_connection(), "create_folder", {"name": "x"})
    body = r.get_json()
    assert (r.status_code, body["code"], body["retry_after"]) == (429, "rate_limited", 30)


def test_a_5xx_on_a_read_is_retried(box, box_connection, run_action, sleeps):
    box.fail.append((r"api:GET /2.0/files/", box_error(503, "unavailable")))
    fid = box.add_file("a.txt", b"x")
    r = run_action(box_connection({"max_attempts": 3}), "get_file", {"file_id": fid})
    assert r.status_code == 200 and r.get_json()["attempts"] == 2


def test_a_5xx_on_a_direct_upload_is_not_retried(box, box_connection, run_action, sleeps):
    box.fail.append((r"upload:POST /api/2.0/files/content", box_error(500,
                                                                      "internal_server_error")))
    r = run_action(box_connection({"max_attempts": 3}), "upload_file",
                   {"name": "a.txt", "content_text": "x"})
    assert r.status_code == 502 and r.get_json()["code"] == "upstream"
    assert len([p for _, m, p, _ in box.requests if p.endswith("/files/content")]) == 1


def test_a_temporarily_blocked_folder_is_transient(box, box_connection, run_action, sleeps):
    box.fail.append((r"api:GET /2.0/folders/", box_error(409, "operation_blocked_temporary")))
    r = run_action(box_connection({"max_attempts": 2}), "list_items", {})
    assert r.status_code == 200 and r.get_json()["attempts"] == 2


def test_a_403_is_a_permission_error(box, box_connection, run_action):
    box.fail.append((r"api:DELETE /2.0/files/",
                     box_error(403, "access_denied_insufficient_permissions")))
    r = run_action(box_connection(), "delete_file", {"file_id": box.add_file("a", b"x")})
    assert r.get_json()["code"] == "auth"
    assert "permission" in r.get_json()["message"]


def test_a_full_account_is_a_permanent_upstream_error(box, box_connection, run_action):
    box.fail.append((r"upload:POST", box_error(403, "storage_limit_exceeded")))
    r = run_action(box_connection(), "upload_file", {"name": "a.txt", "content_text": "x"})
    assert r.status_code == 502 and "storage_limit_exceeded" in r.get_json()["message"]


def test_a_body_that_is_not_box_json_is_still_classified(box, box_connection, run_action):
    box.fail.append((r"api:GET /2.0/files/", Response("<html>bad gateway</html>", status=400)))
    r = run_action(box_connection(), "get_file", {"file_id": "1"})
    assert r.status_code == 422 and r.get_json()["errors"] == {"_request": ["HTTP 400"]}


def test_a_dropped_connection_on_a_read_is_retried_and_then_reported(box_connection, run_action,
                                                                     sleeps):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/2.0/"
    r = run_action(box_connection({"base_url": dead, "max_attempts": 2}), "get_file",
                   {"file_id": "1"})
    assert r.status_code == 502 and r.get_json()["code"] == "upstream"
    assert "connection failed" in r.get_json()["message"]
    assert len([s for s in sleeps if s < 30]) == 1  # one wait: the read was tried twice


def test_box_error_messages_do_not_echo_the_token(box, box_connection, run_action):
    from tests.plugins.box.fake_box import TOKEN

    box.fail.append((r"api:GET /2.0/files/", error(400, "bad_request", f"token {TOKEN} is odd")))
    r = run_action(box_connection(), "get_file", {"file_id": "1"})
    assert TOKEN not in r.get_data(as_text=True)


def test_a_download_not_ready_yet_is_fetched_after_retry_after(box, box_connection, run_action,
                                                               sleeps):
    """GET /files/{id}/content answers 202 + Retry-After right after an upload
    (https://developer.box.com/reference/get-files-id-content/)."""
    box.fail.append((r"api:GET /2.0/files/[0-9]+/content",
                     Response(status=202, headers={"Retry-After": "3"})))
    source = box_connection({"max_attempts": 2}, label="Box (source)")  # the reader retries
    fid = box.add_file("fresh.txt", b"just uploaded")
    r = run_action(box_connection(), "copy_file",
                   {"source_connection_id": source["id"], "source_file_id": fid,
                    "folder_id": box.add_folder("Copies")})
    assert r.status_code == 200, r.get_json()
    assert box.blobs[r.get_json()["output"]["id"]] == b"just uploaded"
    assert any(3.0 <= s <= 3.4 for s in sleeps)
