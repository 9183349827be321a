"""Each OneDrive action through the API (POST /api/v2/connections/<id>/actions/<name>) against
the fake: what Graph received and what the workflow gets back. Upload sessions, copy_file and
the download redirect have their own module (test_upload.py)."""
from __future__ import annotations

import base64
import json
from urllib.parse import unquote

import pytest
from jsonschema import Draft202012Validator

from plugins.onedrive.manifest import MANIFEST
from tests.plugins.onedrive.conftest import CLIENT_STATE
from tests.plugins.onedrive.conftest import TOKEN


def output_fits(action: str, output: dict) -> None:
    errors = list(Draft202012Validator(dict(MANIFEST.action(action).output)).iter_errors(output))
    assert not errors, errors[0].message


def ok(r) -> dict:
    assert r.status_code == 200, r.get_json()
    return r.get_json()["output"]


def graph_calls(fake, method: str | None = None) -> list:
    return [c for c in fake.calls if method is None or c.method == method]


def test_a_small_upload_is_one_put_by_parent_and_name(fake, conn, run_action):
    folder = fake.add_folder("Reports")
    out = ok(run_action(conn, "upload_file", {"name": "Q3 report.txt", "folder_id": folder,
                                              "content_text": "Revenue up"}))
    put = graph_calls(fake, "PUT")[0]
    assert unquote(put.path_url).startswith(
        f"/v1.0/drives/{fake.drive_id}/items/{folder}:/Q3 report.txt:/content?")
    assert "%40microsoft.graph.conflictBehavior=rename" in put.path_url
    assert put.headers["Content-Type"] == "application/octet-stream"
    assert put.headers["Authorization"] == f"Bearer {TOKEN}"
    assert put.body == b"Revenue up"
    assert out["name"] == "Q3 report.txt" and out["parent_id"] == folder
    assert out["size"] == 10 and out["is_folder"] is False
    output_fits("upload_file", out)
    # "me" was looked up once: GET /me/drive, then the drive id in every path.
    assert [c.path_url.split("?")[0] for c in fake.calls] == [
        "/v1.0/me/drive", put.path_url.split("?")[0]]


def test_a_name_in_use_is_renamed_by_default_or_refused_when_asked(fake, conn, run_action):
    fake.add_file("notes.txt")
    renamed = ok(run_action(conn, "upload_file", {"name": "notes.txt", "content_text": "b"}))
    assert renamed["name"] == "notes 1.txt"
    r = run_action(conn, "upload_file", {"name": "notes.txt", "content_text": "c",
                                         "conflict_behavior": "fail"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["name"][0] == "nameAlreadyExists"


def test_base64_content_replaces_an_existing_file_by_id(fake, conn, run_action):
    file_id = fake.add_file("logo.png", content=b"old")
    raw = bytes(range(256))
    out = ok(run_action(conn, "upload_file", {"file_id": file_id,
                                              "content_base64": base64.b64encode(raw).decode()}))
    put = graph_calls(fake, "PUT")[0]
    assert unquote(put.path_url) == f"/v1.0/drives/{fake.drive_id}/items/{file_id}/content"
    assert fake.content[file_id] == raw
    assert out["id"] == file_id and out["e_tag"].endswith(',2"')


@pytest.mark.parametrize("given, field", [
    ({"name": "a.txt"}, "content_text"),
    ({"name": "a.txt", "content_text": "x", "content_base64": "eA=="}, "content_text"),
    ({"content_text": "x"}, "name"),
    ({"file_id": "01ABC", "name": "a.txt", "content_text": "x"}, "file_id"),
    ({"name": "a/b.txt", "content_text": "x"}, "name"),
    ({"name": "..", "content_text": "x"}, "name"),
    ({"name": "a.txt", "folder_id": "../../me", "content_text": "x"}, "folder_id"),
    ({"name": "a.txt", "folder_id": "01ABC%2F..", "content_text": "x"}, "folder_id"),
    ({"name": "a.txt", "content_base64": "not base64!"}, "content_base64"),
])
def test_bad_input_is_refused_before_any_request(fake, conn, run_action, given, field):
    r = run_action(conn, "upload_file", given)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]
    assert fake.calls == []


def test_create_folder_sends_the_folder_facet_and_conflict_behavior(fake, conn, run_action):
    out = ok(run_action(conn, "create_folder", {"name": "Invoices 2024"}))
    post = graph_calls(fake, "POST")[0]
    assert unquote(post.path_url) == f"/v1.0/drives/{fake.drive_id}/items/root/children"
    assert json.loads(post.body) == {"name": "Invoices 2024", "folder": {},
                                     "@microsoft.graph.conflictBehavior": "fail"}
    assert out["is_folder"] is True and out["child_count"] == 0
    r = run_action(conn, "create_folder", {"name": "Invoices 2024"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["name"][0] == "nameAlreadyExists"
    again = ok(run_action(conn, "create_folder", {"name": "Invoices 2024",
                                                  "conflict_behavior": "rename"}))
    assert again["name"] == "Invoices 2024 1"


def test_list_children_follows_next_links_and_stops_at_max_items(fake, conn, run_action):
    folder = fake.add_folder("Team")
    names = [f"f{i}.txt" for i in range(5)]
    for name in names:
        fake.add_file(name, parent=folder)
    out = ok(run_action(conn, "list_children", {"folder_id": folder, "max_items": 3}))
    assert [i["name"] for i in out["items"]] == names[:3] and out["count"] == 3
    pages = [c.path_url for c in graph_calls(fake, "GET") if "/children" in c.path_url]
    assert pages[0].endswith("/children?%24top=3")
    assert len(pages) == 1  # three fit the first page: no page too many

    fake.calls.clear()
    everything = ok(run_action(conn, "list_children", {"folder_id": folder, "max_items": 50}))
    assert everything["count"] == 5
    output_fits("list_children", everything)


def test_list_children_pages_when_the_drive_caps_the_page(fake, conn, run_action):
    folder = fake.add_folder("Team")
    for i in range(5):
        fake.add_file(f"f{i}.txt", parent=folder)
    original = fake._children
    fake._children = lambda parent, query, url: original(parent, {**query, "$top": "2"}, url)
    out = ok(run_action(conn, "list_children", {"folder_id": folder}))
    assert out["count"] == 5
    pages = [c.path_url for c in fake.calls if "/children" in c.path_url]
    assert len(pages) == 3
    assert "skiptoken=2" in pages[1] and "skiptoken=4" in pages[2]  # the nextLinks as given


def test_get_item_and_a_missing_item_names_the_field(fake, conn, run_action):
    file_id = fake.add_file("a.pdf", mime="application/pdf", content=b"%PDF")
    out = ok(run_action(conn, "get_item", {"item_id": file_id}))
    assert out["mime_type"] == "application/pdf" and out["size"] == 4
    assert out["created_by"] == "Ada Lovelace"
    output_fits("get_item", out)
    assert "downloadUrl" not in json.dumps(out)
    r = run_action(conn, "get_item", {"item_id": "01NOSUCHITEM"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["item_id"][0] == "itemNotFound"


def test_create_share_link_and_a_repeat_returns_the_same_link(fake, conn, run_action):
    file_id = fake.add_file("a.pdf")
    out = ok(run_action(conn, "create_share_link", {"item_id": file_id, "type": "edit",
                                                    "scope": "organization"}))
    post = graph_calls(fake, "POST")[0]
    assert unquote(post.path_url) == f"/v1.0/drives/{fake.drive_id}/items/{file_id}/createLink"
    assert json.loads(post.body) == {"type": "edit", "scope": "organization"}
    assert out["type"] == "edit" and out["scope"] == "organization"
    assert out["roles"] == ["write"] and out["web_url"].startswith("https://1drv.ms/e/")
    output_fits("create_share_link", out)
    again = ok(run_action(conn, "create_share_link", {"item_id": file_id, "type": "edit",
                                                      "scope": "organization"}))
    assert again["id"] == out["id"]


def test_an_anonymous_link_can_expire_and_only_it(fake, conn, run_action):
    file_id = fake.add_file("a.pdf")
    out = ok(run_action(conn, "create_share_link", {
        "item_id": file_id, "expires_at": "2024-07-01T12:00:00+02:00"}))
    body = json.loads(graph_calls(fake, "POST")[0].body)
    assert body == {"type": "view", "scope": "anonymous",
                    "expirationDateTime": "2024-07-01T10:00:00Z"}
    assert out["expires_at"] == "2024-07-01T10:00:00Z"
    r = run_action(conn, "create_share_link", {"item_id": file_id, "scope": "organization",
                                               "expires_at": "2024-07-01T12:00:00+02:00"})
    assert r.status_code == 422 and "expires_at" in r.get_json()["errors"]


def test_delete_item_and_an_item_already_gone(fake, conn, run_action):
    file_id = fake.add_file("a.pdf")
    assert ok(run_action(conn, "delete_item", {"item_id": file_id})) == {
        "id": file_id, "deleted": True, "found": True}
    assert file_id not in fake.items
    assert ok(run_action(conn, "delete_item", {"item_id": file_id})) == {
        "id": file_id, "deleted": True, "found": False}


def test_a_configured_drive_id_is_used_without_looking_up_me(fake, onedrive_connection,
                                                             run_action):
    conn = onedrive_connection({"drive": fake.drive_id})
    ok(run_action(conn, "list_children", {}))
    # Path segments are percent-encoded ("!" too, as Graph's SDKs do: RFC 6570 expansion).
    assert [c.path_url for c in fake.calls] == [
        "/v1.0/drives/b%21fakeDrive0001/items/root/children?%24top=100"]


def test_subscribe_changes_watches_the_drive_root_with_the_client_state(fake, conn, run_action):
    out = ok(run_action(conn, "subscribe_changes", {
        "notification_url": "https://atom.example.com/hooks/onedrive/1",
        "expiration_minutes": 60}))
    post = graph_calls(fake, "POST")[0]
    sent = json.loads(post.body)
    assert post.path_url == "/v1.0/subscriptions"
    assert sent["changeType"] == "updated" and sent["resource"] == f"/drives/{fake.drive_id}/root"
    assert sent["clientState"] == CLIENT_STATE
    assert sent["notificationUrl"] == "https://atom.example.com/hooks/onedrive/1"
    assert sent["expirationDateTime"].endswith("Z")
    assert out["id"] and out["change_type"] == "updated"
    assert CLIENT_STATE not in json.dumps(out)


def test_subscribing_needs_a_client_state(fake, create_connection, run_action):
    conn = create_connection("onedrive", {}, {"access_token": TOKEN})
    r = run_action(conn, "subscribe_changes",
                   {"notification_url": "https://atom.example.com/hooks/onedrive/1"})
    assert r.status_code == 422
    assert "client_state" in r.get_json()["errors"]
    assert graph_calls(fake, "POST") == []


def test_no_output_echoes_the_token(fake, conn, run_action):
    file_id = fake.add_file("a.txt")
    for action, body in (("get_item", {"item_id": file_id}), ("list_children", {}),
                         ("create_share_link", {"item_id": file_id})):
        assert TOKEN not in json.dumps(ok(run_action(conn, action, body)))
