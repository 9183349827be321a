"""Resumable uploads against a fake upload session (``fake.FakeUploads``): chunks with
``Content-Range``, resuming from the ``Range`` of a 308, and after a failed chunk."""
from __future__ import annotations

import base64

import pytest
import responses

from atom.integrations.errors import UpstreamError
from tests.plugins.google_drive.fake import FakeUploads

KIB = 1024
CONTENT = bytes(i % 251 for i in range(600 * KIB))  # 600 KiB: three 256 KiB chunks


@pytest.fixture
def uploads():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeUploads(rsps)


@pytest.fixture
def integ(drive_connection, live):
    return live(drive_connection({"upload_chunk_kib": 256, "max_attempts": 3}))


def upload(integ, content: bytes = CONTENT, **extra):
    data = integ.manifest.action("upload_file").input().load({
        "name": "export.csv", "mime_type": "text/csv", "parent_id": "0B9xYzFolder0123",
        "content_base64": base64.b64encode(content).decode(), "resumable": True, **extra})
    return integ.upload_file(data)


def test_a_resumable_upload_sends_chunks_with_content_range(uploads, integ):
    out = upload(integ)

    assert out == {"id": "1UploadedFile0123456789abcdef", "name": "export.csv",
                   "mimeType": "text/csv", "size": str(len(CONTENT))}
    assert uploads.received == CONTENT
    assert uploads.metadata == {"name": "export.csv", "mimeType": "text/csv",
                                "parents": ["0B9xYzFolder0123"]}
    assert uploads.opened_with == {"X-Upload-Content-Type": "text/csv",
                                   "X-Upload-Content-Length": str(len(CONTENT))}
    assert uploads.puts == ["bytes 0-262143/614400", "bytes 262144-524287/614400",
                            "bytes 524288-614399/614400"]


def test_the_upload_goes_on_from_what_google_kept(uploads, integ):
    uploads.keep = 100 * KIB  # Google keeps only the first 100 KiB of each chunk
    upload(integ)
    assert uploads.received == CONTENT
    assert uploads.puts[:3] == ["bytes 0-262143/614400", "bytes 102400-364543/614400",
                                "bytes 204800-466943/614400"]


def test_a_failed_chunk_is_followed_by_a_status_query_and_the_rest(uploads, integ, sleeps):
    uploads.fail_chunks = {2}  # the second chunk's PUT fails after Google kept half of it
    upload(integ)
    assert uploads.received == CONTENT
    assert uploads.puts == ["bytes 0-262143/614400", "bytes 262144-524287/614400",
                            "bytes */614400", "bytes 393216-614399/614400"]


def test_an_upload_that_keeps_failing_gives_up(uploads, integ, sleeps):
    uploads.fail_chunks = set(range(1, 20))
    with pytest.raises(UpstreamError):
        upload(integ)
    assert len([p for p in uploads.puts if p == "bytes */614400"]) == 3


def test_an_expired_session_says_so(uploads, integ):
    uploads.expired = True
    with pytest.raises(UpstreamError) as info:
        upload(integ)
    assert "session expired" in info.value.message
    assert len(uploads.puts) == 1


def test_large_content_uses_a_session_without_being_asked(uploads, drive_connection, live,
                                                          monkeypatch):
    monkeypatch.setattr("plugins.google_drive.integration.RESUMABLE_ABOVE", 500 * KIB)
    integ = live(drive_connection({"upload_chunk_kib": 512}))
    upload(integ, resumable=False)
    assert uploads.puts == ["bytes 0-524287/614400", "bytes 524288-614399/614400"]


def test_an_empty_file_completes_in_one_request(uploads, integ):
    out = upload(integ, content=b"")
    assert out["size"] == "0"
    assert uploads.puts == ["bytes */0"]
