"""Each Dropbox action through the API (POST /api/v2/connections/<id>/actions/<action>) against
the documented fake: what Dropbox received (host, route, argument) and what the action gave."""
from __future__ import annotations

import base64
import json

import pytest

from atom.integrations.errors import ValidationFailed
from plugins.dropbox.manifest import MANIFEST
from plugins.dropbox.schemas import UploadFileInput
from tests.plugins.dropbox.fake import ACCOUNT_ID
from tests.plugins.dropbox.fake import TOKEN
from tests.plugins.dropbox.fake import content_hash


@pytest.fixture
def conn(connect):
    return connect()


def ok(response) -> dict:
    body = response.get_json()
    assert response.status_code == 200, body
    return body["output"]


def refused(response, field: str) -> list[str]:
    body = response.get_json()
    assert response.status_code == 422, body
    assert field in body["errors"], body
    return body["errors"][field]


# -- upload_file --------------------------------------------------------------------------------

def test_upload_file_sends_text_to_the_content_host_in_one_request(dropbox, conn, run_action):
    out = ok(run_action(conn, "upload_file", {"path": "/Notes/meeting.txt",
                                              "content_text": "Ship on Friday."}))

    [call] = dropbox.calls("files/upload")
    assert call.host == "content" and call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["Content-Type"] == "application/octet-stream"
    assert call.arg == {"path": "/Notes/meeting.txt", "mode": "add", "autorename": True,
                        "mute": False, "strict_conflict": False}
    assert call.size == len(b"Ship on Friday.")
    assert dropbox.get("/notes/meeting.txt").content == b"Ship on Friday."
    assert out["tag"] == "file" and out["name"] == "meeting.txt"
    assert out["path_display"] == "/Notes/meeting.txt" and out["size"] == 15
    assert out["content_hash"] == content_hash(b"Ship on Friday.")
    assert out["id"].startswith("id:") and out["rev"]
    assert not dropbox.calls("files/upload_session/start")


def test_the_api_arg_header_escapes_non_ascii_names(dropbox, conn, run_action, live):
    path = "/Café/résumé 日本 Ω.txt"
    out = ok(run_action(conn, "upload_file", {"path": path, "content_text": "ü"}))

    [call] = dropbox.calls("files/upload")
    assert call.raw_arg.isascii()
    assert "\\u00e9" in call.raw_arg and "\\u65e5\\u672c" in call.raw_arg
    assert json.loads(call.raw_arg)["path"] == path
    assert out["name"] == "résumé 日本 Ω.txt" and out["path_display"] == path
    assert dropbox.get(path).content == "ü".encode()
    # And back: the download's Dropbox-API-Result header is escaped the same way.
    with live(conn).open_file(path) as stream:
        assert stream.name == "résumé 日本 Ω.txt" and b"".join(stream) == "ü".encode()
    download = dropbox.calls("files/download")[0]
    assert download.raw_arg.isascii() and json.loads(download.raw_arg) == {"path": path}


def test_upload_file_takes_base64_and_overwrites_when_asked(dropbox, conn, run_action):
    dropbox.add_file("/Data/blob.bin", b"old")
    raw = bytes(range(256))
    out = ok(run_action(conn, "upload_file", {
        "path": "/Data/blob.bin", "content_base64": base64.urlsafe_b64encode(raw).decode(),
        "mode": "overwrite"}))
    assert dropbox.get("/data/blob.bin").content == raw
    assert out["size"] == 256 and dropbox.calls("files/upload")[0].arg["mode"] == "overwrite"


def test_a_name_conflict_is_renamed_by_default_and_refused_without_autorename(
        dropbox, conn, run_action):
    dropbox.add_file("/Notes/a.txt", b"first")
    renamed = ok(run_action(conn, "upload_file", {"path": "/Notes/a.txt",
                                                  "content_text": "second"}))
    assert renamed["path_display"] == "/Notes/a (1).txt"
    assert dropbox.get("/notes/a.txt").content == b"first"

    reasons = refused(run_action(conn, "upload_file", {
        "path": "/Notes/a.txt", "content_text": "third", "autorename": False}), "path")
    assert reasons == ["conflict/file"]


INVALID_UPLOADS = [
    ({"path": "/a.txt"}, "content_text"),
    ({"path": "/a.txt", "content_text": "x", "content_base64": "eA=="}, "content_text"),
    ({"path": "/a.txt", "content_base64": "not base64!"}, "content_base64"),
    ({"path": "notes.txt", "content_text": "x"}, "path"),
    ({"path": "/Notes/../../etc/passwd", "content_text": "x"}, "path"),
    ({"path": "/Notes/./a.txt", "content_text": "x"}, "path"),
    ({"path": "/Notes/", "content_text": "x"}, "path"),
    ({"path": "/Notes/a\nb.txt", "content_text": "x"}, "path"),
    ({"path": "rev:a1c10ce0dd78", "content_text": "x"}, "path"),
    ({"path": "/a.txt", "content_text": "x", "mode": "update"}, "mode"),
]


def test_invalid_upload_input_names_the_field_and_sends_nothing(dropbox, conn, run_action):
    for body, field in INVALID_UPLOADS:  # one app for them all: each case costs a request
        refused(run_action(conn, "upload_file", body), field)
    assert dropbox.requests == []


def test_content_above_the_connections_limit_is_refused(dropbox, connect, live):
    # Through the integration: ATOM's API takes request bodies up to 1 MB (MAX_CONTENT_LENGTH).
    integ = live(connect(max_upload_mb=1))
    data = UploadFileInput().load({"path": "/big.txt", "content_text": "x" * (1024 * 1024 + 1)})
    with pytest.raises(ValidationFailed) as info:
        integ.upload_file(data)
    assert info.value.details == {"content_text": ["at most 1 MB"]} and dropbox.requests == []


# -- folders and listings -------------------------------------------------------------------------

def test_create_folder(dropbox, conn, run_action):
    out = ok(run_action(conn, "create_folder", {"path": "/Invoices 2024"}))
    [call] = dropbox.calls("files/create_folder_v2")
    assert call.host == "api" and call.arg == {"path": "/Invoices 2024", "autorename": False}
    assert call.headers["Content-Type"] == "application/json"
    assert out["tag"] == "folder" and out["name"] == "Invoices 2024" and "size" not in out
    assert dropbox.get("/invoices 2024").tag == "folder"

    assert refused(run_action(conn, "create_folder", {"path": "/Invoices 2024"}),
                   "path") == ["conflict/folder"]
    again = ok(run_action(conn, "create_folder", {"path": "/Invoices 2024", "autorename": True}))
    assert again["name"] == "Invoices 2024 (1)"


def _seed(dropbox, n: int = 5) -> None:
    for i in range(n):
        dropbox.add_file(f"/Reports/r{i}.pdf", f"report {i}".encode())
    dropbox.add_file("/Reports/2023/old.pdf", b"old")
    dropbox.add_file("/Elsewhere/x.pdf", b"x")


def test_list_folder_lists_one_folder_and_returns_its_cursor(dropbox, conn, run_action):
    _seed(dropbox)
    out = ok(run_action(conn, "list_folder", {"path": "/Reports"}))
    assert [e["name"] for e in out["entries"]] == ["2023", *[f"r{i}.pdf" for i in range(5)]]
    assert out["entries"][0]["tag"] == "folder" and out["entries"][1]["tag"] == "file"
    assert out["count"] == 6 and out["has_more"] is False and out["cursor"]
    [call] = dropbox.calls("files/list_folder")
    assert call.arg == {"path": "/Reports", "recursive": False, "include_deleted": False,
                        "limit": 100}

    # The cursor tells what changed since.
    dropbox.add_file("/Reports/r9.pdf", b"new")
    since = ok(run_action(conn, "list_folder", {"cursor": out["cursor"]}))
    assert [e["name"] for e in since["entries"]] == ["r9.pdf"]


def test_the_root_is_sent_as_an_empty_path(dropbox, conn, run_action):
    _seed(dropbox)
    for root in ("/", ""):
        out = ok(run_action(conn, "list_folder", {"path": root, "recursive": True}))
        assert out["count"] == 10  # 2 folders + 8 files
    assert [c.arg["path"] for c in dropbox.calls("files/list_folder")] == ["", ""]


def test_list_folder_follows_continue_up_to_max_items(dropbox, conn, run_action, monkeypatch):
    monkeypatch.setattr("plugins.dropbox.integration.PAGE_LIMIT", 2)
    _seed(dropbox)
    out = ok(run_action(conn, "list_folder", {"path": "/Reports", "max_items": 50}))
    assert out["count"] == 6 and out["has_more"] is False
    assert len(dropbox.calls("files/list_folder/continue")) == 2
    assert dropbox.calls("files/list_folder")[0].arg["limit"] == 2


def test_a_listing_cut_inside_a_page_can_be_continued_without_losing_entries(
        dropbox, conn, run_action, monkeypatch):
    monkeypatch.setattr("plugins.dropbox.integration.PAGE_LIMIT", 2)
    _seed(dropbox)
    first = ok(run_action(conn, "list_folder", {"path": "/Reports", "max_items": 3}))
    assert [e["name"] for e in first["entries"]] == ["2023", "r0.pdf", "r1.pdf"]
    assert first["has_more"] is True
    names = [e["name"] for e in first["entries"]]
    cursor = first["cursor"]
    while cursor:
        page = ok(run_action(conn, "list_folder", {"cursor": cursor, "max_items": 3}))
        names += [e["name"] for e in page["entries"]]
        cursor = page["cursor"] if page["has_more"] else None
    # r1.pdf comes twice (its page was cut), nothing is skipped.
    assert sorted(set(names)) == sorted(["2023", *[f"r{i}.pdf" for i in range(5)]])


def test_a_first_page_longer_than_asked_is_kept_whole(dropbox, conn, run_action):
    _seed(dropbox)
    real = dropbox._page
    dropbox._page = lambda state: real({**state, "n": state["n"] + 2})  # "slightly more"
    out = ok(run_action(conn, "list_folder", {"path": "/Reports", "max_items": 2}))
    assert out["count"] == 4 and out["has_more"] is True
    rest = ok(run_action(conn, "list_folder", {"cursor": out["cursor"]}))
    assert len(rest["entries"]) == 2 and rest["has_more"] is False


def test_list_folder_of_a_missing_folder_or_a_file_names_the_path(dropbox, conn, run_action):
    dropbox.add_file("/a.txt")
    assert refused(run_action(conn, "list_folder", {"path": "/nope"}), "path") == ["not_found"]
    assert refused(run_action(conn, "list_folder", {"path": "/a.txt"}), "path") == ["not_folder"]


def test_an_expired_listing_cursor_names_the_cursor(dropbox, conn, run_action):
    _seed(dropbox)
    cursor = ok(run_action(conn, "list_folder", {"path": "/Reports"}))["cursor"]
    dropbox.reset_cursors()
    assert refused(run_action(conn, "list_folder", {"cursor": cursor}), "cursor") == ["reset"]


# -- metadata, links, delete ----------------------------------------------------------------------

def test_get_metadata_by_path_and_by_id(dropbox, conn, run_action):
    node = dropbox.add_file("/Reports/Q3 report.pdf", b"%PDF")
    by_path = ok(run_action(conn, "get_metadata", {"path": "/reports/q3 REPORT.pdf"}))
    by_id = ok(run_action(conn, "get_metadata", {"path": node.id}))
    assert by_path == by_id
    assert by_path["path_display"] == "/Reports/Q3 report.pdf" and by_path["size"] == 4
    assert [c.arg for c in dropbox.calls("files/get_metadata")][1] == {
        "path": node.id, "include_deleted": False}
    assert refused(run_action(conn, "get_metadata", {"path": "/missing.pdf"}),
                   "path") == ["not_found"]


def test_create_shared_link_returns_the_existing_link_the_second_time(dropbox, conn,
                                                                     run_action):
    dropbox.add_file("/Reports/Q3 report.pdf", b"%PDF")
    first = ok(run_action(conn, "create_shared_link", {"path": "/Reports/Q3 report.pdf",
                                                       "audience": "public"}))
    assert first["url"].startswith("https://www.dropbox.com/scl/fi/")
    assert first["visibility"] == "public" and first["name"] == "Q3 report.pdf"
    assert dropbox.calls("sharing/create_shared_link_with_settings")[0].arg == {
        "path": "/Reports/Q3 report.pdf", "settings": {"audience": "public"}}

    second = ok(run_action(conn, "create_shared_link", {"path": "/Reports/Q3 report.pdf"}))
    assert second == first
    assert len(dropbox.calls("sharing/create_shared_link_with_settings")) == 2


def test_an_already_existing_link_without_metadata_is_looked_up(dropbox, conn, run_action):
    dropbox.add_file("/a.pdf", b"%PDF")
    link = ok(run_action(conn, "create_shared_link", {"path": "/a.pdf"}))
    dropbox.push(409, {"error_summary": "shared_link_already_exists/..",
                       "error": {".tag": "shared_link_already_exists"}},
                 route="sharing/create_shared_link_with_settings")
    again = ok(run_action(conn, "create_shared_link", {"path": "/a.pdf"}))
    assert again["url"] == link["url"]
    [listed] = dropbox.calls("sharing/list_shared_links")
    assert listed.arg == {"path": "/a.pdf", "direct_only": True}


def test_shared_link_settings_are_sent_and_refused_ones_name_a_field(dropbox, conn, run_action):
    dropbox.add_file("/a.pdf", b"%PDF")
    out = ok(run_action(conn, "create_shared_link", {
        "path": "/a.pdf", "audience": "team", "expires": "2099-01-02T03:04:05+02:00",
        "allow_download": False}))
    assert dropbox.calls("sharing/create_shared_link_with_settings")[0].arg["settings"] == {
        "audience": "team", "expires": "2099-01-02T01:04:05Z", "allow_download": False}
    assert out["expires"] == "2099-01-02T01:04:05Z" and out["allow_download"] is False
    dropbox.add_file("/b.pdf", b"%PDF")
    reasons = refused(run_action(conn, "create_shared_link", {
        "path": "/b.pdf", "expires": "2001-01-01T00:00:00+00:00"}), "audience")
    assert reasons == ["invalid_settings"]
    refused(run_action(conn, "create_shared_link", {"path": "/b.pdf",
                                                    "expires": "2099-01-01T00:00:00"}), "expires")


def test_delete(dropbox, conn, run_action):
    dropbox.add_file("/Old/draft.txt", b"draft")
    out = ok(run_action(conn, "delete", {"path": "/Old/draft.txt"}))
    assert out["tag"] == "file" and out["name"] == "draft.txt"
    assert dropbox.get("/old/draft.txt") is None
    assert refused(run_action(conn, "delete", {"path": "/Old/draft.txt"}),
                   "path") == ["not_found"]


# -- the connection -------------------------------------------------------------------------------

def test_rpc_goes_to_the_api_host_and_content_to_the_content_host(dropbox, conn, run_action):
    ok(run_action(conn, "upload_file", {"path": "/a.txt", "content_text": "a"}))
    ok(run_action(conn, "get_metadata", {"path": "/a.txt"}))
    assert [(r.host, r.route) for r in dropbox.requests] == [
        ("content", "files/upload"), ("api", "files/get_metadata")]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in dropbox.requests)


def test_the_health_check_reads_the_current_account(dropbox, conn, check_connection):
    assert check_connection(conn).get_json()["ok"] is True
    [call] = dropbox.calls("users/get_current_account")
    # A void argument is sent as the SDK sends it: the JSON null.
    assert call.host == "api" and call.size == 4 and call.arg is None
    assert call.headers["Content-Type"] == "application/json"


def test_the_content_host_is_a_destination_bound_to_the_secrets(dropbox, conn, client, keys):
    response = client.patch(f"/api/v2/connections/{conn['id']}", headers=keys["editor"],
                            json={"settings": {"base_url": dropbox.api_url,
                                               "content_url": "https://content.example.net/2/"}})
    assert response.status_code == 422, response.get_json()
    assert "access_token" in json.dumps(response.get_json())
    assert "content_url" in MANIFEST.destination_fields()["settings"]


def test_a_token_dropbox_echoes_in_an_error_is_not_shown(dropbox, conn, run_action):
    dropbox.push(400, text=f'Error in call to API function "files/get_metadata": token {TOKEN} '
                           f'is not allowed here', route="files/get_metadata")
    body = run_action(conn, "get_metadata", {"path": "/a.txt"}).get_json()
    assert body["code"] == "validation" and "is not allowed here" in json.dumps(body)
    assert TOKEN not in json.dumps(body)


def test_the_oauth_flow_asks_for_offline_access_and_stores_the_account(dropbox, conn, live):
    oauth = MANIFEST.auth.oauth2
    assert oauth.authorize_url == "https://www.dropbox.com/oauth2/authorize"
    assert oauth.token_url == "https://api.dropboxapi.com/oauth2/token"
    assert dict(oauth.authorize_params) == {"token_access_type": "offline"} and oauth.pkce
    assert live(conn).oauth_connected() == {"account_id": ACCOUNT_ID}
    assert dropbox.calls("users/get_current_account")[0].host == "api"


def test_the_api_arg_is_ascii_json_whatever_it_holds():
    from plugins.dropbox.payloads import api_arg

    raw = api_arg({"path": "/a\x7fb/ü/📄.txt", "mode": "add"})
    assert raw.isascii() and "\x7f" not in raw
    assert raw == '{"path":"/a\\u007fb/\\u00fc/\\ud83d\\udcc4.txt","mode":"add"}'
    assert json.loads(raw) == {"path": "/a\x7fb/ü/📄.txt", "mode": "add"}
