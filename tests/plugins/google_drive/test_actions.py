"""What the Google Drive actions send and return, with Drive faked at the HTTP seam."""
from __future__ import annotations

import base64
import json
from email import message_from_bytes
from email import policy
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.plugins.google_drive.conftest import API
from tests.plugins.google_drive.conftest import FOLDER
from tests.plugins.google_drive.conftest import TOKEN
from tests.plugins.google_drive.conftest import UPLOAD
from tests.plugins.google_drive.conftest import recorded

FILE_ID = "1Z7mPq9vXk3LrT0aBcDeFgHiJkLmNoPqR"


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def parts_of(call) -> list:
    """The parts of a multipart/related upload body."""
    head = f"Content-Type: {call.request.headers['Content-Type']}\r\n\r\n".encode()
    message = message_from_bytes(head + call.request.body, policy=policy.HTTP)
    return list(message.iter_parts())


def test_a_small_upload_is_one_multipart_request(fake_drive, drive_connection, run_action):
    fake_drive.post(UPLOAD, json=recorded("file"))
    r = run_action(drive_connection(), "upload_file", {
        "name": "notes.txt", "parent_id": FOLDER, "content_text": "Meeting notes: ship it.",
        "description": "from ATOM"})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["id"], out["size"], out["owners"]) == (
        FILE_ID, "30", [{"emailAddress": "ada@example.com", "displayName": "Ada Lovelace"}])
    assert "kind" not in out
    (call,) = fake_drive.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    query = query_of(call)
    assert (query["uploadType"], query["supportsAllDrives"]) == (["multipart"], ["true"])
    assert "webViewLink" in query["fields"][0]
    meta, media = parts_of(call)
    assert meta.get_content_type() == "application/json"
    assert json.loads(meta.get_payload()) == {"name": "notes.txt", "mimeType": "text/plain",
                                              "description": "from ATOM", "parents": [FOLDER]}
    assert media.get_content_type() == "text/plain"
    assert media.get_payload(decode=True) == b"Meeting notes: ship it."


def test_base64_content_is_uploaded_as_bytes(fake_drive, drive_connection, run_action):
    fake_drive.post(UPLOAD, json=recorded("file"))
    raw = bytes(range(256))
    run_action(drive_connection(), "upload_file", {
        "name": "blob.bin", "content_base64": base64.urlsafe_b64encode(raw).decode().rstrip("=")})
    meta, media = parts_of(fake_drive.calls[0])
    assert json.loads(meta.get_payload())["mimeType"] == "application/octet-stream"
    assert fake_drive.calls[0].request.body.count(raw) == 1


@pytest.mark.parametrize("body, field", [
    ({"name": "x"}, "content_text"),
    ({"name": "x", "content_text": "a", "content_base64": "YQ=="}, "content_text"),
    ({"name": "x", "content_base64": "not base64!"}, "content_base64"),
    ({"name": "", "content_text": "a"}, "name"),
    ({"name": "a\nb", "content_text": "a"}, "name"),
    ({"name": "x", "content_text": "a", "parent_id": "../files"}, "parent_id"),
    ({"name": "x", "content_text": "a", "mime_type": "text/plain\r\nX-Evil: 1"}, "mime_type"),
])
def test_invalid_uploads_are_refused_before_calling_drive(fake_drive, drive_connection,
                                                          run_action, body, field):
    r = run_action(drive_connection(), "upload_file", body)
    assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()
    assert not fake_drive.calls


def test_content_over_the_connections_limit_is_refused(fake_drive, drive_connection, live):
    # Through the API a body is at most 1 MiB; a workflow step hands over bigger content.
    from atom.integrations.errors import ValidationFailed

    integ = live(drive_connection({"max_upload_mb": 1}))
    data = integ.manifest.action("upload_file").input().load(
        {"name": "big.txt", "content_text": "x" * (1024 * 1024 + 1)})
    with pytest.raises(ValidationFailed) as info:
        integ.upload_file(data)
    assert info.value.details == {"content_text": ["at most 1 MB"]}
    assert not fake_drive.calls


def test_create_folder_sends_the_folder_type(fake_drive, drive_connection, run_action):
    fake_drive.post(f"{API}/files", json={"id": FOLDER, "name": "Invoices 2024",
                                          "mimeType": "application/vnd.google-apps.folder"})
    r = run_action(drive_connection(), "create_folder", {"name": "Invoices 2024",
                                                         "parent_id": "0AParentFolder"})
    assert r.get_json()["output"]["id"] == FOLDER
    assert json.loads(fake_drive.calls[0].request.body) == {
        "name": "Invoices 2024", "mimeType": "application/vnd.google-apps.folder",
        "parents": ["0AParentFolder"]}


def test_list_files_builds_an_escaped_query_and_pages(fake_drive, drive_connection, run_action):
    file = recorded("file")
    fake_drive.get(f"{API}/files", json={"files": [file, {**file, "id": "f2"}],
                                         "nextPageToken": "next"})
    fake_drive.get(f"{API}/files", json={"files": [{**file, "id": "f3"}]})
    r = run_action(drive_connection(), "list_files", {
        "folder_id": FOLDER, "name_contains": "Ada's \\ report", "mime_type": "application/pdf",
        "modified_after": "2024-05-01T00:00:00+02:00", "query": "starred = true",
        "order_by": "folder,modifiedTime desc", "max_items": 3})

    assert [f["id"] for f in r.get_json()["output"]["files"]] == [FILE_ID, "f2", "f3"]
    first, second = (query_of(c) for c in fake_drive.calls)
    assert first["q"] == [f"'{FOLDER}' in parents and name contains 'Ada\\'s \\\\ report' and "
                          "mimeType = 'application/pdf' and "
                          "modifiedTime > '2024-05-01T00:00:00+02:00' and trashed = false and "
                          "(starred = true)"]
    assert (first["orderBy"], first["pageSize"], first["corpora"]) == (
        ["folder,modifiedTime desc"], ["3"], ["allDrives"])
    assert first["includeItemsFromAllDrives"] == ["true"] == first["supportsAllDrives"]
    assert second["pageToken"] == ["next"]


def test_a_quote_in_a_name_cannot_break_out_of_the_query(fake_drive, drive_connection,
                                                         run_action):
    fake_drive.get(f"{API}/files", json={"files": []})
    run_action(drive_connection(), "list_files",
               {"name": "x' or name contains '", "include_all_drives": False})
    (q,) = query_of(fake_drive.calls[0])["q"]
    assert q == "name = 'x\\' or name contains \\'' and trashed = false"
    assert "corpora" not in query_of(fake_drive.calls[0])


@pytest.mark.parametrize("body, field", [
    ({"order_by": "name; drop"}, "order_by"),
    ({"modified_after": "2024-05-01T00:00:00"}, "modified_after"),
    ({"folder_id": "a'b"}, "folder_id"),
    ({"max_items": 0}, "max_items"),
])
def test_list_files_refuses_bad_filters(fake_drive, drive_connection, run_action, body, field):
    r = run_action(drive_connection(), "list_files", body)
    assert r.status_code == 422 and field in r.get_json()["errors"]


def test_get_file_asks_for_the_fields_it_returns(fake_drive, drive_connection, run_action):
    fake_drive.get(f"{API}/files/{FILE_ID}", json=recorded("file"))
    r = run_action(drive_connection(), "get_file", {"file_id": FILE_ID})
    assert r.get_json()["output"]["webViewLink"].startswith("https://drive.google.com/")
    assert query_of(fake_drive.calls[0])["supportsAllDrives"] == ["true"]


def test_trash_file_patches_trashed(fake_drive, drive_connection, run_action):
    fake_drive.patch(f"{API}/files/{FILE_ID}", json={**recorded("file"), "trashed": True})
    r = run_action(drive_connection(), "trash_file", {"file_id": FILE_ID})
    assert r.get_json()["output"]["trashed"] is True
    assert json.loads(fake_drive.calls[0].request.body) == {"trashed": True}


def test_share_with_a_user_notifies_them(fake_drive, drive_connection, run_action):
    fake_drive.post(f"{API}/files/{FILE_ID}/permissions", json={
        "kind": "drive#permission", "id": "0123456789", "type": "user", "role": "writer",
        "emailAddress": "grace@example.com", "displayName": "Grace Hopper"})
    r = run_action(drive_connection(), "share_file", {
        "file_id": FILE_ID, "role": "writer", "email_address": "grace@example.com",
        "email_message": "Numbers for Q3"})

    assert r.get_json()["output"] == {"id": "0123456789", "file_id": FILE_ID, "type": "user",
                                      "role": "writer", "emailAddress": "grace@example.com",
                                      "domain": None, "displayName": "Grace Hopper"}
    call = fake_drive.calls[0]
    assert json.loads(call.request.body) == {"role": "writer", "type": "user",
                                             "emailAddress": "grace@example.com"}
    query = query_of(call)
    assert (query["sendNotificationEmail"], query["emailMessage"]) == (["true"],
                                                                       ["Numbers for Q3"])
    assert "transferOwnership" not in query


def test_share_with_anyone_sends_no_notification(fake_drive, drive_connection, run_action):
    fake_drive.post(f"{API}/files/{FILE_ID}/permissions",
                    json={"id": "anyoneWithLink", "type": "anyone", "role": "reader"})
    run_action(drive_connection(), "share_file", {"file_id": FILE_ID, "role": "reader",
                                                  "type": "anyone", "allow_discovery": False})
    call = fake_drive.calls[0]
    assert json.loads(call.request.body) == {"role": "reader", "type": "anyone",
                                             "allowFileDiscovery": False}
    assert "sendNotificationEmail" not in query_of(call)


def test_giving_ownership_transfers_it(fake_drive, drive_connection, run_action):
    fake_drive.post(f"{API}/files/{FILE_ID}/permissions", json={"id": "1", "role": "owner"})
    run_action(drive_connection(), "share_file", {"file_id": FILE_ID, "role": "owner",
                                                  "email_address": "grace@example.com"})
    assert query_of(fake_drive.calls[0])["transferOwnership"] == ["true"]


@pytest.mark.parametrize("body, field", [
    ({"role": "reader"}, "email_address"),
    ({"role": "reader", "type": "domain"}, "domain"),
    ({"role": "reader", "type": "domain", "domain": "exa mple.com"}, "domain"),
    ({"role": "owner", "type": "anyone"}, "type"),
    ({"role": "admin", "email_address": "a@b.com"}, "role"),
    ({"role": "reader", "email_address": "nope"}, "email_address"),
])
def test_share_refuses_incomplete_grants(fake_drive, drive_connection, run_action, body, field):
    r = run_action(drive_connection(), "share_file", {"file_id": FILE_ID, **body})
    assert r.status_code == 422 and field in r.get_json()["errors"]
    assert not fake_drive.calls


@pytest.mark.parametrize("bad", ["../about", "a/b", "x?fields=*", "f\n"])
def test_file_ids_that_could_leave_the_path_are_refused(fake_drive, drive_connection,
                                                        run_action, bad):
    r = run_action(drive_connection(), "get_file", {"file_id": bad})
    assert r.status_code == 422 and "file_id" in r.get_json()["errors"]
    assert not fake_drive.calls


def test_plugin_settings_are_validated(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "google_drive", "label": "x", "settings": {"upload_chunk_kib": 300},
        "credentials": {"access_token": TOKEN}})
    assert r.status_code == 422
    assert "upload_chunk_kib" in r.get_json()["errors"]["settings"]


def test_the_integration_is_found_by_its_aliases(client, keys):
    for alias in ("gdrive", "Google Drive", "google docs folder"):
        r = client.post("/api/v2/connections", headers=keys["editor"], json={
            "integration": alias, "label": alias, "credentials": {"access_token": TOKEN}})
        assert r.status_code == 201 and r.get_json()["integration"] == "google_drive"
