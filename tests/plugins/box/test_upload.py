"""Chunked upload sessions and copy_file against the fake, which checks every part's Digest,
the parts' sizes and offsets, and the whole file's Digest at commit."""
from __future__ import annotations

import base64
import hashlib

import pytest

from atom.integrations import files
from tests.plugins.box.fake_box import TOKEN

PART = 4096
CONTENT = bytes(i % 251 for i in range(2 * PART + 1808))  # three parts, the last short


@pytest.fixture
def chunked(box_connection):
    """A connection whose chunked threshold is 4 KiB (the fake's part size is 4 KiB too)."""
    return lambda **extra: box_connection({"chunked_upload_above_kib": 4, **extra})


def upload(run_action, conn, content: bytes = CONTENT, name: str = "export.bin", **extra):
    return run_action(conn, "upload_file", {
        "name": name, "content_base64": base64.b64encode(content).decode(), **extra})


def test_a_large_file_goes_up_in_parts_with_digests(box, chunked, run_action):
    r = upload(run_action, chunked())

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert box.blobs[out["id"]] == CONTENT
    assert out["sha1"] == hashlib.sha1(CONTENT).hexdigest() and out["size"] == len(CONTENT)
    parts = [h for role, m, p, h in box.requests if role == "upload" and m == "PUT"]
    assert [h["Content-Range"] for h in parts] == [
        f"bytes 0-4095/{len(CONTENT)}", f"bytes 4096-8191/{len(CONTENT)}",
        f"bytes 8192-{len(CONTENT) - 1}/{len(CONTENT)}"]
    assert parts[0]["Digest"] == "sha=" + base64.b64encode(
        hashlib.sha1(CONTENT[:PART]).digest()).decode()
    assert all(h["Authorization"] == f"Bearer {TOKEN}" for h in parts)
    (commit,) = [h for role, m, p, h in box.requests if p.endswith("/commit")]
    assert commit["Digest"] == "sha=" + base64.b64encode(hashlib.sha1(CONTENT).digest()).decode()
    assert not box.sessions  # committed


def test_the_part_size_comes_from_the_session(box, chunked, run_action):
    box.part_size = 5000
    out = upload(run_action, chunked()).get_json()["output"]
    assert box.blobs[out["id"]] == CONTENT
    ranges = [h["Content-Range"] for role, m, p, h in box.requests if m == "PUT"]
    assert ranges == [f"bytes 0-4999/{len(CONTENT)}", f"bytes 5000-9999/{len(CONTENT)}"]


def test_a_file_at_the_threshold_is_one_multipart_request(box, chunked, run_action):
    upload(run_action, chunked(), content=CONTENT[:PART])
    assert not [p for _, m, p, _ in box.requests if "upload_sessions" in p]


def test_a_commit_box_is_still_processing_is_tried_again_after_retry_after(
        box, chunked, run_action, sleeps):
    box.commit_processing = 1
    r = upload(run_action, chunked(max_attempts=3))
    assert r.status_code == 200, r.get_json()
    assert len([p for _, _, p, _ in box.requests if p.endswith("/commit")]) == 2
    assert any(2.0 <= s <= 2.3 for s in sleeps)  # Box's Retry-After: 2


def test_a_refused_part_aborts_the_session(box, chunked, run_action):
    from tests.plugins.box.fake_box import error

    box.fail.append((r"upload:PUT .*/upload_sessions/", error(416, "range_not_satisfiable",
                                                              "no")))
    r = upload(run_action, chunked())
    assert r.status_code in (422, 502), r.get_json()
    assert len(box.aborted) == 1 and not box.sessions
    assert not [p for _, _, p, _ in box.requests if p.endswith("/commit")]


def test_a_name_in_use_is_refused_when_the_session_opens(box, chunked, run_action):
    box.add_file("export.bin", b"old")
    r = upload(run_action, chunked())
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["name"]
    assert not [1 for _, m, _, _ in box.requests if m == "PUT"]


def test_a_stream_of_unknown_size_is_spooled_then_sent_in_parts(box, chunked, live):
    integ = live(chunked())
    stream = files.FileStream("nosize.bin", None, "application/octet-stream",
                              (CONTENT[i:i + 1000] for i in range(0, len(CONTENT), 1000)))
    out = integ.save_file(stream, "0", "nosize.bin")
    assert box.blobs[out["id"]] == CONTENT
    assert len([1 for _, m, _, _ in box.requests if m == "PUT"]) == 3


def test_a_source_shorter_than_announced_aborts(box, chunked, live):
    integ = live(chunked())
    stream = files.FileStream("short.bin", len(CONTENT) + 10, "application/octet-stream",
                              iter([CONTENT]))
    with pytest.raises(Exception, match="announced"):
        integ.save_file(stream, "0", "short.bin")
    assert box.aborted and not box.blobs


# -- copy_file from another Box connection -----------------------------------------------------


def test_copy_file_streams_from_another_box_connection_without_its_credentials_on_the_hop(
        box, box_connection, chunked, run_action):
    source = box_connection(label="Box (source)")
    target = chunked()
    fid = box.add_file("q3-report.pdf", CONTENT)
    folder = box.add_folder("Backups")

    r = run_action(target, "copy_file", {"source_connection_id": source["id"],
                                         "source_file_id": fid, "folder_id": folder})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["name"], out["parent"]["id"], out["size"]) == ("q3-report.pdf", folder,
                                                               len(CONTENT))
    assert box.blobs[out["id"]] == CONTENT
    # The download was redirected to the dl origin, which saw no Authorization header.
    assert box.download_auth == [None]
    assert len([1 for role, m, _, _ in box.requests if role == "upload" and m == "PUT"]) == 3


def test_copy_file_keeps_a_new_name(box, box_connection, run_action):
    source = box_connection(label="Box (source)")
    fid = box.add_file("a.txt", b"hello")
    r = run_action(box_connection(), "copy_file", {"source_connection_id": source["id"],
                                                   "source_file_id": fid, "name": "b.txt"})
    out = r.get_json()["output"]
    assert out["name"] == "b.txt" and box.blobs[out["id"]] == b"hello"


@pytest.mark.parametrize("body, field", [
    ({"source_file_id": "../../users/me"}, "source_file_id"),
    ({"source_file_id": "777777"}, "source_file_id"),
    ({"source_file_id": "{fid}", "folder_id": "not-a-folder"}, "folder_id"),
])
def test_copy_file_refuses_ids_box_does_not_have(box, box_connection, run_action, body, field):
    source = box_connection(label="Box (source)")
    body = {k: v.format(fid=box.add_file("a.txt", b"x")) for k, v in body.items()}
    r = run_action(box_connection(), "copy_file", {"source_connection_id": source["id"], **body})
    assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()
