"""The health check and every action against Prism serving Google Drive's discovery document
(converted to OpenAPI): each request the client sends is checked for ``sl-violations``, and
the outputs are the mapped shapes. Resumable sessions are not modelled by the spec (see
test_upload.py); the trigger's calls are checked here one by one."""
from __future__ import annotations

import base64

import pytest

from plugins.google_drive import payloads
from plugins.google_drive.manifest import MANIFEST
from tests.plugins.conftest import assert_prism_accepted

pytestmark = pytest.mark.prism

FILE_ID = "1Z7mPq9vXk3LrT0aBcDeFgHiJkLmNoPqR"
FOLDER = "0B9xYzFolder0123456789abcdef"
FILE = {"id": "string", "name": "string", "mimeType": "string", "parents": ["string"],
        "trashed": True}
CASES = {
    "upload_file": ({"name": "data.bin", "parent_id": FOLDER, "mime_type": "text/csv",
                     "content_base64": base64.b64encode(b"a,b\n1,2\n").decode(),
                     "description": "export"}, FILE),
    "create_folder": ({"name": "Invoices 2024", "parent_id": FOLDER,
                       "description": "scanned"}, FILE),
    # Prism answers every page with the same nextPageToken: stay within page one.
    "list_files": ({"folder_id": FOLDER, "name": "Q3 report", "mime_type": "application/pdf",
                    "modified_after": "2024-05-01T00:00:00Z", "query": "starred = true",
                    "order_by": "modifiedTime desc", "max_items": 1}, {"count": 1}),
    "get_file": ({"file_id": FILE_ID}, FILE),
    "share_file": ({"file_id": FILE_ID, "role": "writer", "type": "user",
                    "email_address": "grace@example.com", "email_message": "Have a look"},
                   {"id": "string", "file_id": FILE_ID, "role": "string"}),
    "trash_file": ({"file_id": FILE_ID}, FILE),
}


@pytest.fixture
def prism_drive(prism, drive_connection, live):
    conn = drive_connection({"base_url": prism("google_drive"), "max_attempts": 1,
                             "rate_limit_per_second": 100, "rate_limit_burst": 100})
    seen: list = []
    live(conn).http.session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
    return conn, seen


def test_every_action_has_a_contract_case():
    # copy_file streams between two connections: tests/plugins/test_files.py runs it end to
    # end (Prism models no resumable session), and test_spec_contract.py runs its example.
    assert set(CASES) | {"copy_file"} == {a.name for a in MANIFEST.actions}


def test_health_check_passes_against_the_spec(prism_drive, check_connection):
    conn, seen = prism_drive
    assert check_connection(conn).get_json()["ok"] is True
    assert len(seen) == 1
    assert_prism_accepted(seen[0])


@pytest.mark.parametrize("action", sorted(CASES))
def test_action_is_accepted_by_the_spec(prism_drive, run_action, action):
    conn, seen = prism_drive
    given, expected = CASES[action]
    r = run_action(conn, action, given)
    assert r.status_code == 200, r.get_json()
    output = r.get_json()["output"]
    assert {k: output[k] for k in expected} == expected
    assert seen
    for response in seen:
        assert response.status_code == 200
        assert_prism_accepted(response)


def test_the_trigger_calls_are_accepted_by_the_spec(prism_drive, live, monkeypatch):
    conn, seen = prism_drive
    integ = live(conn)
    monkeypatch.setattr("plugins.google_drive.integration.MAX_PRIMED", 1)  # one page
    start = integ.poll_file_added({"folder_id": FOLDER}, None)  # start token + folder listing
    assert start.cursor == "string" and len(start.items) == 1
    integ.http.get("drive/v3/changes", params={
        "pageToken": "string", "pageSize": 1000, "includeRemoved": "false",
        "includeItemsFromAllDrives": "true", "spaces": "drive",
        "fields": payloads.CHANGE_FIELDS, "supportsAllDrives": "true"})
    assert {s.request.path_url.split("?")[0] for s in seen} == {
        "/drive/v3/changes/startPageToken", "/drive/v3/files", "/drive/v3/changes"}
    for response in seen:
        assert response.status_code == 200
        assert_prism_accepted(response)
