"""Files moving between connections: the ``copy_file`` action streams a file from one service
into another in chunks, and the client's ``stream=True`` leaves a download unread.

The 200 MB copy runs against ``stream_fake`` in its own process, so the memory measured is
ATOM's alone: its resident set may grow by less than 50 MB while 200 MB pass through.
"""
from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from atom.integrations import files
from tests.plugins.stream_fake import MIB
from tests.plugins.stream_fake import expected_sha256

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ya29.stream-test-access-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fake_url():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.plugins.stream_fake", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "listening"
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def source_and_drive(create_connection, fake_url):
    source = create_connection("http", {"base_url": fake_url}, {"auth": "none"}, label="exports")
    drive = create_connection("google_drive", {"base_url": fake_url + "/"},
                              {"access_token": TOKEN}, label="backup drive")
    return source, drive


def _copy(client, keys, drive, body):
    response = client.post(f"/api/v2/connections/{drive['id']}/actions/copy_file",
                           headers=keys["editor"], json=body)
    return response.status_code, response.get_json()


class PeakRSS:
    """The largest resident set size of this process seen while the block runs."""

    def __enter__(self) -> PeakRSS:
        self._proc = psutil.Process()
        self.start = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / MIB


def test_a_200_mb_file_is_copied_with_the_memory_growing_by_less_than_50_mb(
        client, keys, source_and_drive, fake_url):
    source, drive = source_and_drive
    _copy(client, keys, drive, {"source_connection_id": source["id"],
                                "source_file_id": "/files/9.bin"})  # warm every code path up
    with PeakRSS() as rss:
        status, body = _copy(client, keys, drive, {"source_connection_id": source["id"],
                                                   "source_file_id": "/files/200.bin",
                                                   "folder_id": "0B9xYzFolder0123",
                                                   "name": "backup.bin"})
    assert status == 200, body
    stats = requests.get(f"{fake_url}/stats", timeout=5).json()
    assert stats["received"] == 200 * MIB
    assert stats["sha256"] == expected_sha256(200)
    assert stats["metadata"] == {"name": "backup.bin", "mimeType": "application/octet-stream",
                                 "parents": ["0B9xYzFolder0123"]}
    assert stats["puts"] == 25  # 8 MiB chunks
    assert body["output"]["size"] == str(200 * MIB)
    print(f"RSS growth {rss.growth_mb:.1f} MB")
    assert rss.growth_mb < 50, f"RSS grew by {rss.growth_mb:.0f} MB"


def test_a_source_without_a_length_is_sent_with_an_open_total_until_its_last_chunk(
        client, keys, source_and_drive, fake_url):
    source, drive = source_and_drive
    status, body = _copy(client, keys, drive, {"source_connection_id": source["id"],
                                               "source_file_id": "/files/20.bin?nolength=1"})
    assert status == 200, body
    stats = requests.get(f"{fake_url}/stats", timeout=5).json()
    assert (stats["received"], stats["sha256"]) == (20 * MIB, expected_sha256(20))
    assert stats["metadata"]["name"] == "20.bin"


def test_copying_from_a_missing_or_disabled_connection_is_a_422_naming_the_field(
        client, keys, source_and_drive):
    source, drive = source_and_drive
    status, body = _copy(client, keys, drive, {"source_connection_id": 2**63 - 1,
                                               "source_file_id": "/files/1.bin"})
    assert status == 422 and "source_connection_id" in body["errors"], body
    client.patch(f"/api/v2/connections/{source['id']}", headers=keys["editor"],
                 json={"enabled": False})
    status, body = _copy(client, keys, drive, {"source_connection_id": source["id"],
                                               "source_file_id": "/files/1.bin"})
    assert status == 422 and "disabled" in body["errors"]["source_connection_id"][0], body


def test_ids_past_64_bits_are_refused_before_anything_is_read(client, keys, source_and_drive):
    _, drive = source_and_drive
    status, body = _copy(client, keys, drive, {"source_connection_id": 2**64,
                                               "source_file_id": "/files/1.bin"})
    assert status == 422 and "source_connection_id" in body["errors"], body


def test_a_service_that_cannot_read_files_is_named(client, keys, create_connection,
                                                   source_and_drive):
    _, drive = source_and_drive
    slack = create_connection("slack", {}, {"token": "xoxb-1-2-abc"})
    status, body = _copy(client, keys, drive, {"source_connection_id": slack["id"],
                                               "source_file_id": "F0123"})
    assert status == 422 and body["errors"] == {"source_connection_id": ["slack cannot read files"]}


def test_a_failed_download_is_an_error_of_the_source_and_uploads_nothing(
        client, keys, source_and_drive, fake_url):
    source, drive = source_and_drive
    before = requests.get(f"{fake_url}/stats", timeout=5).json()
    status, body = _copy(client, keys, drive, {"source_connection_id": source["id"],
                                               "source_file_id": "/files/missing.txt"})
    assert status in (404, 502), body
    assert requests.get(f"{fake_url}/stats", timeout=5).json() == before


# -- the pieces -----------------------------------------------------------------------------

@pytest.mark.parametrize("sizes, size", [([3, 5, 1], 4), ([], 4), ([10], 3), ([1] * 9, 9),
                                         ([4, 4], 4), ([0, 2, 0], 1)])
def test_rechunk_regroups_into_exact_pieces(sizes, size):
    chunks = [bytes([i]) * n for i, n in enumerate(sizes)]
    pieces = list(files.rechunk(chunks, size))
    assert b"".join(pieces) == b"".join(chunks)
    assert all(len(p) == size for p in pieces[:-1])
    assert not pieces or 0 < len(pieces[-1]) <= size


def test_a_stream_counts_what_it_read_and_closes_once():
    closed = []
    stream = files.FileStream("a.txt", 5, "text/plain", [b"ab", b"", b"cde"],
                              closer=lambda: closed.append(1))
    with stream:
        assert list(stream.pieces(2)) == [b"ab", b"cd", b"e"]
    stream.close()
    assert stream.read == 5 and closed == [1]


def test_a_streamed_response_is_not_read_until_iterated(create_connection, live, fake_url):
    integ = live(create_connection("http", {"base_url": fake_url}, {"auth": "none"}))
    started = time.perf_counter()
    response = integ.http.get("/files/500.bin", stream=True)
    assert time.perf_counter() - started < 2 and response._content is False
    first = next(response.iter_content(MIB))
    response.close()
    assert hashlib.sha256(first).digest() == hashlib.sha256(
        hashlib.sha256(b"0").digest() * (MIB // 32)).digest()


def test_the_client_refuses_origins_other_than_the_base_and_the_declared_extra_ones(
        create_connection, live, fake_url):
    from atom.integrations.errors import ValidationFailed
    from atom.integrations.http import ClientSettings

    integ = live(create_connection("http", {"base_url": fake_url}, {"auth": "none"}))
    other = "http://127.0.0.2:9/"
    with pytest.raises(ValidationFailed, match="outside the connection's base URL"):
        integ.http.get(other + "x")
    integ.http.settings = ClientSettings(base_url=fake_url, extra_origins=(other,))
    integ.http._urls.clear()
    with pytest.raises(Exception) as info:
        integ.http.get(other + "x")
    assert "outside" not in str(info.value)  # allowed now: it fails on connecting instead


def test_a_gmail_attachment_is_saved_to_drive_under_its_own_name(client, keys, create_connection):
    import base64
    import json

    import responses

    gmail = create_connection("gmail", {}, {"access_token": TOKEN}, label="inbox")
    drive = create_connection("google_drive", {}, {"access_token": TOKEN}, label="drive")
    pdf = b"%PDF-1.7 invoice " * 100
    message = {"id": "18c1f0a2b3", "threadId": "18c1f0a2b3", "payload": {
        "mimeType": "multipart/mixed", "headers": [], "parts": [
            {"mimeType": "text/plain", "body": {"data": "aGk"}},
            {"mimeType": "application/pdf", "filename": "invoice-42.pdf",
             "body": {"attachmentId": "ANGjdJ8", "size": len(pdf)}}]}}
    gmail_api = "https://gmail.googleapis.com/gmail/v1/users/me/messages/18c1f0a2b3"
    with responses.RequestsMock() as rsps:
        rsps.get(gmail_api, json=message)
        rsps.get(f"{gmail_api}/attachments/ANGjdJ8",
                 json={"size": len(pdf), "data": base64.urlsafe_b64encode(pdf).decode().rstrip("=")})
        upload = rsps.post("https://www.googleapis.com/upload/drive/v3/files",
                           json={"id": "1NewFile", "name": "invoice-42.pdf",
                                 "mimeType": "application/pdf", "size": str(len(pdf))})
        status, body = _copy(client, keys, drive, {"source_connection_id": gmail["id"],
                                                   "source_file_id": "18c1f0a2b3/ANGjdJ8",
                                                   "folder_id": "0B9xYzFolder0123"})
    assert status == 200, body
    assert body["output"]["name"] == "invoice-42.pdf"
    sent = upload.calls[0].request.body
    head = json.loads(sent.split(b"\r\n\r\n", 2)[1].split(b"\r\n")[0])
    assert head == {"name": "invoice-42.pdf", "mimeType": "application/pdf",
                    "parents": ["0B9xYzFolder0123"]}
    assert pdf in sent


def test_a_gmail_file_id_without_the_attachment_part_is_a_422(client, keys, create_connection):
    gmail = create_connection("gmail", {}, {"access_token": TOKEN})
    drive = create_connection("google_drive", {}, {"access_token": TOKEN})
    status, body = _copy(client, keys, drive, {"source_connection_id": gmail["id"],
                                               "source_file_id": "18c1f0a2b3"})
    assert status == 422 and "source_file_id" in body["errors"], body


def test_a_workflow_copies_200_mb_with_the_memory_growing_by_less_than_50_mb(
        client, keys, source_and_drive, fake_url):
    """The same copy as a workflow's step (what users build: "back up new files to Drive"): the
    engine records the step's output (the new file's metadata), never the bytes."""
    source, drive = source_and_drive
    step = {"id": "backup", "type": "action", "service": "google_drive", "action": "copy_file",
            "connection": drive["id"],
            "parameters": {"source_connection_id": source["id"], "source_file_id": "{{ trigger.path }}",
                           "name": "{{ trigger.name }}"}}
    wf = client.post("/api/v2/ai-workflows", headers=keys["editor"], json={
        "name": "back up exports", "trigger": {"type": "manual"}, "steps": [step]})
    assert wf.status_code == 201, wf.get_json()

    def run(path: str, name: str) -> dict:
        done = client.post(f"/api/v2/ai-workflows/{wf.get_json()['id']}/execute?wait=120",
                           headers=keys["editor"], json={"path": path, "name": name})
        assert done.status_code == 200, done.get_json()
        return done.get_json()

    run("/files/9.bin", "warm.bin")  # warm every code path up
    with PeakRSS() as rss:
        done = run("/files/200.bin", "workflow-backup.bin")
    assert done["status"] == "succeeded", done
    stats = requests.get(f"{fake_url}/stats", timeout=5).json()
    assert stats["received"] == 200 * MIB and stats["sha256"] == expected_sha256(200)
    assert stats["metadata"]["name"] == "workflow-backup.bin"
    [backup] = [s for s in done["steps"] if s["step_id"] == "backup"]
    assert backup["output"]["size"] == str(200 * MIB)
    assert len(repr(backup["output"])) < 10_000  # metadata, not content
    print(f"RSS growth {rss.growth_mb:.1f} MB")
    assert rss.growth_mb < 50, f"RSS grew by {rss.growth_mb:.0f} MB"
