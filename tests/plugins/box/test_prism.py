"""Every request the plugin sends, checked by Prism serving Box's OpenAPI description
(shared/specs/box.json): no ``sl-violations`` on any request (the health check, each action, the
chunked upload session's calls, the streamed download of copy_file, the server-auth token
request), and outputs in the mapped shapes. Prism serves the upload host's operations on its one
port, so ``upload_url`` is Prism too."""
from __future__ import annotations

import base64

import pytest
from jsonschema import Draft202012Validator

from plugins.box.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

FILE_ID = "12345"
CASES = {
    "upload_file": ({"name": "data.csv", "folder_id": "0", "mime_type": "text/csv",
                     "content_base64": base64.b64encode(b"a,b\n1,2\n").decode()},
                    {"POST /files/content"}),
    "create_folder": ({"name": "Invoices 2024", "parent_id": "0"}, {"POST /folders"}),
    # Prism answers every page with the same next_marker: stay within page one.
    "list_items": ({"folder_id": "0", "max_items": 1}, {"GET /folders/0/items"}),
    "get_file": ({"file_id": FILE_ID}, {f"GET /files/{FILE_ID}"}),
    "create_shared_link": ({"file_id": FILE_ID, "access": "open",
                            "password": "do-n8t-use-This", "can_download": True,
                            "unshared_at": "2030-01-01T00:00:00+00:00"},
                           {f"PUT /files/{FILE_ID}"}),
    "delete_file": ({"file_id": FILE_ID}, {f"DELETE /files/{FILE_ID}"}),
    "create_webhook": ({"target_id": "12345", "triggers": ["FILE.UPLOADED", "FILE.TRASHED"],
                        "address": "https://atom.example.com/hooks/box/1"}, {"POST /webhooks"}),
    "copy_file": ({"source_connection_id": 0, "source_file_id": FILE_ID, "folder_id": "0"},
                  {f"GET /files/{FILE_ID}", f"GET /files/{FILE_ID}/content",
                   "POST /files/content"}),
}


@pytest.fixture
def prism_box(prism, create_connection, live):
    url = prism("box")

    def make(credentials: dict | None = None, **settings) -> tuple[dict, list]:
        conn = create_connection("box", {"base_url": url, "upload_url": url, "max_attempts": 1,
                                         "rate_limit_per_second": 100, "rate_limit_burst": 100,
                                         **settings},
                                 credentials or {"access_token": "box-prism-access-token"})
        seen: list = []
        live(conn).http.session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
        return conn, seen

    return make


def calls(seen) -> set[str]:
    return {f"{r.request.method} {r.request.path_url.split('?')[0]}" for r in seen}


def accepted(seen) -> None:
    assert seen
    for response in seen:
        assert response.status_code < 400, (response.request.url, response.text[:300])
        assert_prism_accepted(response)


def test_every_action_has_a_contract_case():
    assert set(CASES) == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_box, check_connection):
    conn, seen = prism_box()
    assert check_connection(conn).get_json()["ok"] is True
    assert calls(seen) == {"GET /users/me"}
    accepted(seen)


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_box, run_action, action):
    conn, seen = prism_box()
    given, expected_calls = CASES[action]
    if action == "copy_file":
        given = {**given, "source_connection_id": conn["id"]}
    r = run_action(conn, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    schema = dict(MANIFEST.action(action).output)
    assert not list(Draft202012Validator(schema).iter_errors(output)), output
    assert output.get("id") or output.get("count") == 1
    assert calls(seen) == expected_calls
    accepted(seen)


def test_a_chunked_upload_session_is_accepted_by_the_spec(prism_box, run_action):
    """Prism's example session has part_size 1024: 2,500 bytes go up in three parts."""
    conn, seen = prism_box(chunked_upload_above_kib=1)
    r = run_action(conn, "upload_file", {"name": "big.bin", "content_base64": base64.b64encode(
        bytes(range(250)) * 10).decode()})
    assert r.status_code == 200, r.get_json()
    session = "F971964745A5CD0C001BBE4E58196BFD"  # Prism's example id
    assert [f"{x.request.method} {x.request.path_url}" for x in seen] == [
        "POST /files/upload_sessions", *[f"PUT /files/upload_sessions/{session}"] * 3,
        f"POST /files/upload_sessions/{session}/commit"]
    assert [x.request.headers["Content-Range"] for x in seen[1:4]] == [
        "bytes 0-1023/2500", "bytes 1024-2047/2500", "bytes 2048-2499/2500"]
    accepted(seen)


def test_the_client_credentials_token_request_is_accepted_by_the_spec(prism_box, run_action):
    conn, seen = prism_box({"auth_mode": "client_credentials", "client_id": "abc123",
                            "client_secret": "s3cr3t-value", "subject_type": "enterprise",
                            "subject_id": "1234567"})
    assert run_action(conn, "get_file", {"file_id": FILE_ID}).status_code == 200
    assert calls(seen) == {"POST /oauth2/token", f"GET /files/{FILE_ID}"}
    accepted(seen)
