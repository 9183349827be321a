"""What the Box actions send and return, through the API users touch, against the fake
(tests/plugins/box/fake_box.py)."""
from __future__ import annotations

import base64
import hashlib

import pytest

from tests.plugins.box.fake_box import TOKEN


def sent(box, role: str, method: str, path_part: str) -> list[dict[str, str]]:
    return [h for r, m, p, h in box.requests if r == role and m == method and path_part in p]


def test_a_small_text_upload_is_one_multipart_request_to_the_upload_host(box, box_connection,
                                                                          run_action):
    folder = box.add_folder("Notes")
    r = run_action(box_connection(), "upload_file", {
        "name": "notes.txt", "folder_id": folder, "content_text": "Meeting notes: ship it."})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["name"], out["size"], out["type"]) == ("notes.txt", 23, "file")
    assert out["sha1"] == hashlib.sha1(b"Meeting notes: ship it.").hexdigest()
    assert out["parent"] == {"id": folder, "name": "Notes"}
    assert out["path"] == "All Files/Notes"
    assert box.blobs[out["id"]] == b"Meeting notes: ship it."
    (headers,) = sent(box, "upload", "POST", "/files/content")
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Md5"] == out["sha1"]  # Box's content-md5 is the SHA1
    assert not sent(box, "api", "POST", "/files/content")


def test_base64_content_is_uploaded_as_bytes_to_the_root_by_default(box, box_connection,
                                                                     run_action):
    raw = bytes(range(256))
    r = run_action(box_connection(), "upload_file", {
        "name": "blob.bin", "content_base64": base64.urlsafe_b64encode(raw).decode().rstrip("=")})
    out = r.get_json()["output"]
    assert box.blobs[out["id"]] == raw and out["parent"]["id"] == "0"


def test_a_boundary_found_in_the_content_is_replaced(box, box_connection, run_action,
                                                    monkeypatch):
    marks = iter(["atom-in-the-content", "atom-fresh-boundary"])
    monkeypatch.setattr("plugins.box.payloads.boundary", lambda: next(marks))
    text = "this line says --atom-in-the-content-- on purpose"
    out = run_action(box_connection(), "upload_file", {"name": "b.txt", "content_text": text,
                                                       "mime_type": "text/plain"}
                     ).get_json()["output"]
    assert box.blobs[out["id"]] == text.encode()
    (headers,) = sent(box, "upload", "POST", "/files/content")
    assert headers["Content-Type"] == "multipart/form-data; boundary=atom-fresh-boundary"


def test_an_upload_onto_a_taken_name_names_the_name_field(box, box_connection, run_action):
    taken = box.add_file("report.pdf", b"old")
    r = run_action(box_connection(), "upload_file", {"name": "Report.PDF",
                                                     "content_text": "new"})
    assert r.status_code == 422
    body = r.get_json()
    assert list(body["errors"]) == ["name"]
    assert f"id {taken}" in body["errors"]["name"][0]
    assert "item_name_in_use" in body["message"]


@pytest.mark.parametrize("body, field", [
    ({"name": "x"}, "content_text"),
    ({"name": "x", "content_text": "a", "content_base64": "YQ=="}, "content_text"),
    ({"name": "x", "content_base64": "not base64!"}, "content_base64"),
    ({"name": "", "content_text": "a"}, "name"),
    ({"name": "a/b", "content_text": "a"}, "name"),
    ({"name": "..", "content_text": "a"}, "name"),
    ({"name": "trailing ", "content_text": "a"}, "name"),
    ({"name": "x", "content_text": "a", "folder_id": "../files"}, "folder_id"),
    ({"name": "x", "content_text": "a", "folder_id": "1" * 40}, "folder_id"),
    ({"name": "x", "content_text": "a", "mime_type": "text/plain\r\nX-Evil: 1"}, "mime_type"),
])
def test_invalid_uploads_are_refused_before_calling_box(box, box_connection, run_action,
                                                        body, field):
    conn = box_connection()
    before = len(box.requests)
    r = run_action(conn, "upload_file", body)
    assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()
    assert len(box.requests) == before


def test_create_folder_sends_the_name_and_parent(box, box_connection, run_action):
    parent = box.add_folder("Finance")
    r = run_action(box_connection(), "create_folder", {"name": "Invoices 2024",
                                                       "parent_id": parent})
    out = r.get_json()["output"]
    assert (out["type"], out["name"], out["parent"]["id"]) == ("folder", "Invoices 2024", parent)
    assert box.items[out["id"]]["parent"] == parent


def test_a_folder_name_in_use_is_a_conflict_naming_name(box, box_connection, run_action):
    existing = box.add_folder("Invoices")
    r = run_action(box_connection(), "create_folder", {"name": "invoices"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"name": [
        f"an item of this name is already in the folder (id {existing}): choose another name"]}
    assert r.get_json()["upstream_status"] == 409


def test_a_missing_parent_folder_names_parent_id(box, box_connection, run_action):
    r = run_action(box_connection(), "create_folder", {"name": "x", "parent_id": "424242"})
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["parent_id"]


def test_list_items_follows_markers_up_to_max_items(box, box_connection, run_action):
    folder = box.add_folder("Many")
    ids = [box.add_file(f"f{n:02d}.txt", b"x", folder) for n in range(25)]
    r = run_action(box_connection(), "list_items", {"folder_id": folder, "max_items": 23})

    out = r.get_json()["output"]
    assert out["count"] == 23 and [i["id"] for i in out["items"]] == ids[:23]
    pages = [p for _, m, p, _ in box.requests if p.endswith(f"/folders/{folder}/items")]
    assert len(pages) == 1  # max_items 23 fits one page (limit 23)


def test_list_items_pages_past_the_page_size(box, box_connection, run_action, monkeypatch):
    monkeypatch.setattr("plugins.box.integration.PAGE", 10)
    folder = box.add_folder("Many")
    ids = [box.add_file(f"f{n:02d}.txt", b"x", folder) for n in range(25)]
    out = run_action(box_connection(), "list_items", {"folder_id": folder,
                                                      "max_items": 100}).get_json()["output"]
    assert [i["id"] for i in out["items"]] == ids
    assert len([1 for _, _, p, _ in box.requests if p.endswith("/items")]) == 3


def test_sorted_listing_uses_offsets(box, box_connection, run_action, monkeypatch):
    monkeypatch.setattr("plugins.box.integration.PAGE", 2)
    folder = box.add_folder("Sorted")
    for name in ("c.txt", "a.txt", "b.txt"):
        box.add_file(name, b"x", folder)
    out = run_action(box_connection(), "list_items", {
        "folder_id": folder, "sort": "name", "direction": "DESC"}).get_json()["output"]
    assert [i["name"] for i in out["items"]] == ["c.txt", "b.txt", "a.txt"]


def test_get_file_returns_the_item_without_content(box, box_connection, run_action):
    fid = box.add_file("q3.pdf", b"%PDF-1.7 ...")
    out = run_action(box_connection(), "get_file", {"file_id": fid}).get_json()["output"]
    assert (out["id"], out["name"], out["size"], out["item_status"]) == (fid, "q3.pdf", 12,
                                                                         "active")
    assert out["shared_link"] is None


def test_a_missing_file_names_file_id(box, box_connection, run_action):
    r = run_action(box_connection(), "get_file", {"file_id": "99999"})
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["file_id"]


@pytest.mark.parametrize("file_id", ["../users/me", "12/../34", "18446744073709551616999"])
def test_ids_that_are_not_box_ids_never_reach_box(box, box_connection, run_action, file_id):
    conn = box_connection()
    before = len(box.requests)
    r = run_action(conn, "get_file", {"file_id": file_id})
    assert r.status_code == 422 and "file_id" in r.get_json()["errors"]
    assert len(box.requests) == before


def test_an_id_past_64_bits_is_passed_as_a_string(box, box_connection, run_action):
    r = run_action(box_connection(), "get_file", {"file_id": "18446744073709551617"})
    assert r.status_code == 422  # the fake has no such file: Box was asked, as a string
    assert any(p.endswith("/files/18446744073709551617") for _, _, p, _ in box.requests)


def test_create_shared_link_sets_access_password_and_expiry(box, box_connection, run_action):
    fid = box.add_file("deck.pdf", b"x")
    r = run_action(box_connection(), "create_shared_link", {
        "file_id": fid, "access": "open", "password": "do-n8t-use-This",
        "unshared_at": "2030-01-01T00:00:00+00:00", "can_download": False})
    out = r.get_json()["output"]
    assert out["url"] == f"https://app.box.com/s/{fid}abc"
    assert out["shared_link"]["is_password_enabled"] is True
    assert out["shared_link"]["permissions"]["can_download"] is False
    assert out["shared_link"]["unshared_at"] == "2030-01-01T00:00:00+00:00"
    assert "do-n8t-use-This" not in str(r.get_json())


def test_a_password_needs_an_open_link(box, box_connection, run_action):
    r = run_action(box_connection(), "create_shared_link", {
        "file_id": "1", "access": "company", "password": "do-n8t-use-This"})
    assert r.status_code == 422 and "password" in r.get_json()["errors"]


def test_delete_file_trashes_it(box, box_connection, run_action):
    fid = box.add_file("old.txt", b"x")
    r = run_action(box_connection(), "delete_file", {"file_id": fid})
    assert r.get_json()["output"] == {"id": fid, "deleted": True}
    assert box.items[fid]["trashed"] is True


def test_the_health_check_reads_users_me(box, box_connection, check_connection):
    assert check_connection(box_connection()).get_json()["ok"] is True
    assert any(p == "/2.0/users/me" for _, _, p, _ in box.requests)


def test_a_refused_token_fails_the_health_check_as_auth(box, box_connection, check_connection):
    result = check_connection(box_connection(access_token="expired-token")).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")


def test_create_webhook_registers_this_connections_hook_url(box, box_connection, run_action):
    conn = box_connection()
    folder = box.add_folder("Inbox")
    r = run_action(conn, "create_webhook", {"target_id": folder,
                                            "triggers": ["FILE.UPLOADED", "FOLDER.CREATED"]})
    assert r.status_code == 200, r.get_json()
    (hook,) = box.webhooks
    assert hook["address"].endswith(f"/hooks/box/{conn['id']}")
    assert hook["target"] == {"id": folder, "type": "folder"}
    assert r.get_json()["output"]["triggers"] == ["FILE.UPLOADED", "FOLDER.CREATED"]


def test_every_webhook_trigger_offered_is_one_a_trigger_listens_for():
    from plugins.box.integration import TRIGGERS
    from plugins.box.manifest import MANIFEST
    from plugins.box.schemas import WEBHOOK_TRIGGERS

    assert set(WEBHOOK_TRIGGERS) == set(TRIGGERS)
    assert set(TRIGGERS.values()) == {t.name for t in MANIFEST.triggers}
