"""Upload sessions (start, append_v2 at each offset, finish), streamed downloads
(``open_file``) and ``copy_file`` from another Dropbox connection, against the documented
fake with a small chunk setting (4 KiB)."""
from __future__ import annotations

import base64
import hashlib

import pytest

from atom.integrations import files
from atom.integrations.errors import UpstreamError
from tests.plugins.dropbox.fake import TOKEN
from tests.plugins.dropbox.fake import FakeDropbox
from tests.plugins.dropbox.fake import content_hash

CHUNK = 4096


def ok(response) -> dict:
    body = response.get_json()
    assert response.status_code == 200, body
    return body["output"]


def data(n: int) -> bytes:
    return hashlib.shake_256(str(n).encode()).digest(n)


@pytest.fixture
def conn(connect):
    return connect(upload_chunk_kib=4)


def session_calls(dropbox) -> list[tuple[str, int | None, int]]:
    """(route, offset in the cursor, bytes sent) of each upload request."""
    out = []
    for r in dropbox.requests:
        if r.route.startswith("files/upload"):
            offset = (r.arg.get("cursor") or {}).get("offset") if isinstance(r.arg, dict) else None
            out.append((r.route.removeprefix("files/"), offset, r.size))
    return out


def test_content_over_one_chunk_goes_through_a_session_at_the_right_offsets(
        dropbox, conn, run_action):
    content = data(3 * CHUNK + 100)
    out = ok(run_action(conn, "upload_file", {
        "path": "/Big/archive.bin", "content_base64": base64.b64encode(content).decode()}))

    assert session_calls(dropbox) == [
        ("upload_session/start", None, CHUNK),
        ("upload_session/append_v2", CHUNK, CHUNK),
        ("upload_session/append_v2", 2 * CHUNK, CHUNK),
        ("upload_session/finish", 3 * CHUNK, 100)]
    start, *_, finish = dropbox.requests
    assert start.arg == {"close": False} and start.host == finish.host == "content"
    assert finish.arg["commit"] == {"path": "/Big/archive.bin", "mode": "add",
                                    "autorename": True, "mute": False, "strict_conflict": False}
    assert finish.arg["cursor"]["session_id"] == dropbox.calls(
        "files/upload_session/append_v2")[0].arg["cursor"]["session_id"]
    assert dropbox.get("/big/archive.bin").content == content
    assert out["size"] == len(content) and out["content_hash"] == content_hash(content)
    assert dropbox.sessions == {}  # finished


SIZES = [
    (0, ["upload"]),
    (1, ["upload"]),
    (CHUNK, ["upload"]),
    (CHUNK + 1, ["upload_session/start", "upload_session/finish"]),
    (2 * CHUNK, ["upload_session/start", "upload_session/finish"]),
    (2 * CHUNK + 1, ["upload_session/start", "upload_session/append_v2",
                     "upload_session/finish"]),
]


def test_one_request_up_to_a_chunk_a_session_above(dropbox, conn, run_action):
    for size, routes in SIZES:
        dropbox.requests.clear()
        content = data(size)
        ok(run_action(conn, "upload_file", {"path": f"/f{size}.bin",
                                            "content_base64": base64.b64encode(content).decode()}))
        assert [c[0] for c in session_calls(dropbox)] == routes, size
        assert dropbox.get(f"/f{size}.bin").content == content


def test_the_default_chunk_is_8_mb(dropbox, connect, live):
    integ = live(connect())
    assert integ._chunk() == 8 * 1024 * 1024


def test_an_append_whose_answer_was_lost_is_not_sent_twice(dropbox, connect, run_action):
    conn = connect(upload_chunk_kib=4, max_attempts=3)
    content = data(3 * CHUNK + 7)
    dropbox.lose_answer("files/upload_session/append_v2")
    out = ok(run_action(conn, "upload_file", {
        "path": "/f.bin", "content_base64": base64.b64encode(content).decode()}))
    # The retry was answered incorrect_offset at the offset just past it: taken as done.
    assert session_calls(dropbox) == [
        ("upload_session/start", None, CHUNK),
        ("upload_session/append_v2", CHUNK, CHUNK),
        ("upload_session/append_v2", CHUNK, 0),  # refused before the fake read its bytes
        ("upload_session/append_v2", 2 * CHUNK, CHUNK),
        ("upload_session/finish", 3 * CHUNK, 7)]
    assert dropbox.get("/f.bin").content == content and out["size"] == len(content)


def test_an_append_dropbox_took_part_of_is_finished_from_where_it_stopped(dropbox, conn, live):
    content = data(3 * CHUNK)
    dropbox.keep_partly(1000)
    out = live(conn).save_file(files.from_bytes(content, "x.bin"), "/", "x.bin")
    assert session_calls(dropbox) == [
        ("upload_session/start", None, CHUNK),
        ("upload_session/append_v2", CHUNK, 1000),  # the rest of it never arrived
        ("upload_session/append_v2", CHUNK + 1000, CHUNK - 1000),
        ("upload_session/finish", 2 * CHUNK, CHUNK)]
    assert dropbox.get("/x.bin").content == content and out["size"] == len(content)


def test_a_session_at_another_offset_fails_the_upload(dropbox, conn, live):
    integ = live(conn)
    dropbox.push(409, {"error_summary": "incorrect_offset/..",
                       "error": {".tag": "incorrect_offset", "correct_offset": 1}},
                 route="files/upload_session/append_v2")
    with pytest.raises(UpstreamError, match="offset 1"):
        integ.save_file(files.from_bytes(data(3 * CHUNK), "x.bin"), "/", "x.bin")
    assert not dropbox.calls("files/upload_session/finish")


def test_a_finish_in_mode_add_is_not_retried_after_a_server_error(dropbox, connect, run_action):
    conn = connect(upload_chunk_kib=4, max_attempts=3)
    dropbox.push(500, text="boom", route="files/upload_session/finish")
    r = run_action(conn, "upload_file", {"path": "/f.bin",
                                         "content_base64": base64.b64encode(data(2 * CHUNK)).decode()})
    assert r.status_code == 502 and r.get_json()["code"] == "upstream"
    assert len(dropbox.calls("files/upload_session/finish")) == 1


def test_an_overwrite_is_retried(dropbox, connect, run_action):
    conn = connect(max_attempts=3)
    dropbox.push(503, text="busy", route="files/upload")
    ok(run_action(conn, "upload_file", {"path": "/f.txt", "content_text": "x",
                                        "mode": "overwrite"}))
    assert len(dropbox.calls("files/upload")) == 2


# -- open_file and copy_file ----------------------------------------------------------------------

def test_open_file_streams_the_download_with_its_metadata(dropbox, conn, live):
    node = dropbox.add_file("/Reports/Q3 report.pdf", data(10_000))
    with live(conn).open_file(node.id) as stream:
        assert (stream.name, stream.size, stream.mime_type) == (
            "Q3 report.pdf", 10_000, "application/pdf")
        assert b"".join(stream.pieces(CHUNK)) == data(10_000)
    [call] = dropbox.calls("files/download")
    assert call.host == "content" and call.arg == {"path": node.id}
    assert "Content-Type" not in call.headers and call.size == 0


def test_open_file_takes_an_id_without_its_prefix_and_names_the_source_field(dropbox, conn,
                                                                            live):
    node = dropbox.add_file("/a.txt", b"abc")
    with live(conn).open_file(node.id.removeprefix("id:")) as stream:
        assert b"".join(stream) == b"abc"
    with pytest.raises(Exception) as info:
        live(conn).open_file("/missing.txt")
    assert info.value.details == {"source_file_id": ["not_found"]}
    with pytest.raises(Exception) as info:
        live(conn).open_file("../../etc/passwd")
    assert list(info.value.details) == ["source_file_id"]


@pytest.fixture
def source():
    """A second Dropbox account (another fake), the one files are copied from."""
    with FakeDropbox() as fake:
        yield fake


@pytest.fixture
def source_conn(create_connection, source):
    return create_connection("dropbox", {"base_url": source.api_url,
                                         "content_url": source.content_url, "max_attempts": 1},
                             {"access_token": TOKEN}, label="the other Dropbox")


def test_copy_file_from_another_dropbox_connection_streams_it_in_chunks(
        dropbox, source, conn, source_conn, run_action):
    content = data(5 * CHUNK + 10)
    node = source.add_file("/Scans/invoice 7.pdf", content)
    out = ok(run_action(conn, "copy_file", {"source_connection_id": source_conn["id"],
                                            "source_file_id": node.id,
                                            "folder_id": "/Backups"}))

    assert [r.route for r in source.requests] == ["files/download"]
    assert session_calls(dropbox) == [
        ("upload_session/start", None, CHUNK),
        *[("upload_session/append_v2", i * CHUNK, CHUNK) for i in range(1, 5)],
        ("upload_session/finish", 5 * CHUNK, 10)]
    assert dropbox.get("/backups/invoice 7.pdf").content == content
    assert out["path_display"] == "/Backups/invoice 7.pdf"
    assert out["content_hash"] == content_hash(content)

    # The same name again: Dropbox renames the copy.
    again = ok(run_action(conn, "copy_file", {"source_connection_id": source_conn["id"],
                                              "source_file_id": "/scans/INVOICE 7.pdf",
                                              "folder_id": "/Backups", "name": "copy.pdf"}))
    assert again["path_display"] == "/Backups/copy.pdf"


def test_copy_file_of_a_large_file_never_holds_it_whole(dropbox, source, connect, source_conn,
                                                        run_action):
    conn = connect(upload_chunk_kib=256)
    size = 3 * 1024 * 1024 + 5  # made by the source fake as it is read
    node = source.add_generated("/Video/clip.mp4", size)
    out = ok(run_action(conn, "copy_file", {"source_connection_id": source_conn["id"],
                                            "source_file_id": node.id}))
    expected = (bytes(range(256)) * 4096 * 4)[:size]
    assert out["path_display"] == "/clip.mp4" and out["size"] == size
    assert out["content_hash"] == content_hash(expected)
    appends = dropbox.calls("files/upload_session/append_v2")
    assert len(appends) == 11 and max(r.size for r in dropbox.requests) == 256 * 1024


COPY_ERRORS = [
    ({"source_file_id": "/missing.pdf"}, "source_file_id"),
    ({"source_file_id": "/a.pdf", "folder_id": "Backups"}, "folder_id"),
    ({"source_file_id": "/a.pdf", "folder_id": "/Backups/../.."}, "folder_id"),
    ({"source_file_id": "/a.pdf", "name": "a/b.pdf"}, "name"),
    ({"source_file_id": "/a.pdf", "source_connection_id": 999}, "source_connection_id"),
]


def test_copy_file_errors_name_the_field(dropbox, source, conn, source_conn, run_action):
    source.add_file("/a.pdf", b"%PDF")
    for body, field in COPY_ERRORS:
        r = run_action(conn, "copy_file", {"source_connection_id": source_conn["id"], **body})
        assert r.status_code == 422, r.get_json()
        assert field in r.get_json()["errors"], (body, r.get_json())
    assert not [q for q in dropbox.requests if q.route.startswith("files/upload")]
