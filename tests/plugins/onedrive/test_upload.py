"""Upload sessions (several 320 KiB ranges to the pre-authenticated uploadUrl, which gets no
Authorization; resuming after a dropped fragment and from a short nextExpectedRanges), and
copy_file from another OneDrive connection: the download follows Graph's 302 to another host
without credentials, streamed, and goes up through a session."""
from __future__ import annotations

import base64

import pytest

from atom.integrations import files
from tests.plugins.onedrive.conftest import TOKEN
from tests.plugins.onedrive.fake import FakeOneDrive

KIB = 1024
UNIT = 320 * KIB
CONTENT = bytes(i % 251 for i in range(700 * KIB))  # 700 KiB: 320 + 320 + 60 (the API takes 1 MiB)
SMALL = {"upload_chunk_kib": 320, "simple_upload_max_kib": 64}


@pytest.fixture
def chunked(onedrive_connection):
    return onedrive_connection(SMALL)


def upload(run_action, conn, content: bytes = CONTENT, **extra):
    return run_action(conn, "upload_file", {"name": "export.bin",
                                            "content_base64": base64.b64encode(content).decode(),
                                            **extra})


def test_a_large_upload_goes_through_a_session_in_320_kib_ranges(fake, chunked, run_action):
    r = upload(run_action, chunked)
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["name"] == "export.bin" and out["size"] == len(CONTENT)
    assert fake.content[out["id"]] == CONTENT
    assert [span for span, _ in fake.fragments] == [
        "bytes 0-327679/716800", "bytes 327680-655359/716800", "bytes 655360-716799/716800"]
    opened = next(c for c in fake.calls if c.path_url.endswith(":/createUploadSession"))
    assert opened.headers["Authorization"] == f"Bearer {TOKEN}"
    assert b'"@microsoft.graph.conflictBehavior": "rename"' in opened.body
    assert b'"name": "export.bin"' in opened.body


def test_the_upload_url_never_gets_the_authorization_header(fake, chunked, run_action):
    assert upload(run_action, chunked).status_code == 200
    assert fake.fragments and all(auth is None for _, auth in fake.fragments)
    # Nor does it show up anywhere else on the upload host: the session status query too.
    fake.fail_fragments = {4}
    fake.fragments.clear()
    assert upload(run_action, chunked).status_code == 200
    assert all(auth is None for _, auth in fake.fragments)


def test_a_dropped_fragment_is_resumed_from_the_session_status(fake, chunked, run_action):
    fake.fail_fragments = {2}  # the second PUT loses its connection: Graph ignores its bytes
    r = upload(run_action, chunked)
    assert r.status_code == 200, r.get_json()
    assert fake.content[r.get_json()["output"]["id"]] == CONTENT
    assert [span for span, _ in fake.fragments] == [
        "bytes 0-327679/716800", "bytes 327680-655359/716800", "bytes 327680-655359/716800",
        "bytes 655360-716799/716800"]
    # The status query between them went to the uploadUrl too, without credentials.
    assert [m for m, _ in fake.upload_requests] == ["PUT", "PUT", "GET", "PUT", "PUT"]
    assert all(auth is None for _, auth in fake.upload_requests)


def test_a_short_next_expected_range_is_resent_from_where_graph_stopped(
        fake, onedrive_connection, run_action):
    conn = onedrive_connection({**SMALL, "upload_chunk_kib": 640})
    fake.short_fragments = {1: UNIT}  # of the first 640 KiB, Graph reports only 320 KiB kept
    r = upload(run_action, conn)
    assert r.status_code == 200, r.get_json()
    assert fake.content[r.get_json()["output"]["id"]] == CONTENT
    assert [span for span, _ in fake.fragments] == [
        "bytes 0-655359/716800", "bytes 327680-655359/716800", "bytes 655360-716799/716800"]


def test_too_many_failed_fragments_fail_the_upload(fake, chunked, run_action):
    fake.fail_fragments = set(range(1, 20))
    r = upload(run_action, chunked)
    assert r.status_code == 502, r.get_json()
    assert len(fake.fragments) == 4  # the first try and three resumes


def test_an_expired_session_says_to_upload_again(fake, chunked, run_action):
    fake.sessions_expire_after = 1  # the session is gone after its first fragment
    r = upload(run_action, chunked)
    assert r.status_code == 502, r.get_json()
    assert "upload again" in r.get_json()["message"]
    assert len(fake.fragments) == 2


def test_replacing_a_large_file_opens_the_session_on_the_item(fake, chunked, run_action):
    file_id = fake.add_file("video.mp4", content=b"old")
    r = run_action(chunked, "upload_file", {
        "file_id": file_id, "content_base64": base64.b64encode(CONTENT).decode()})
    assert r.status_code == 200, r.get_json()
    opened = next(c for c in fake.calls if c.path_url.endswith("/createUploadSession"))
    assert opened.path_url.endswith(f"/items/{file_id}/createUploadSession")
    assert fake.content[file_id] == CONTENT


def test_a_name_taken_at_the_last_fragment_names_the_field(fake, chunked, run_action):
    fake.add_file("export.bin")
    r = upload(run_action, chunked, conflict_behavior="fail")
    assert r.status_code == 422
    assert r.get_json()["errors"]["name"][0] == "nameAlreadyExists"


def test_save_file_consumes_the_stream_in_pieces(fake, chunked, live):
    integ = live(chunked)
    pulled: list[int] = []

    def chunks():
        for i in range(0, len(CONTENT), 100 * KIB):
            pulled.append(i)
            yield CONTENT[i:i + 100 * KIB]

    stream = files.FileStream("big.bin", len(CONTENT), "application/octet-stream", chunks())
    out = integ.save_file(stream, None, "big.bin")
    assert fake.content[out["id"]] == CONTENT
    assert len(pulled) == 7 and stream.read == len(CONTENT)


def test_a_stream_of_unknown_size_is_refused_above_the_simple_limit(fake, chunked, live):
    integ = live(chunked)
    stream = files.FileStream("big.bin", None, "application/octet-stream", iter([CONTENT]))
    from atom.integrations.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        integ.save_file(stream, None, "big.bin")
    assert "source_file_id" in info.value.details
    small = files.FileStream("small.txt", None, "text/plain", iter([b"abc", b"def"]))
    assert fake.content[integ.save_file(small, None, "small.txt")["id"]] == b"abcdef"


# -- copy_file from another OneDrive connection -------------------------------------------------


@pytest.fixture
def source(onedrive_connection):
    """A second OneDrive connection (another drive) to copy from."""
    return onedrive_connection({"drive": "b!fakeDrive0001"}, label="Ada's OneDrive")


def test_copy_file_streams_from_another_connection_through_the_redirect(fake, chunked, source,
                                                                        run_action):
    folder = fake.add_folder("Backups")
    file_id = fake.add_file("Q3 report.pdf", content=CONTENT, mime="application/pdf")
    fake.calls.clear()
    r = run_action(chunked, "copy_file", {"source_connection_id": source["id"],
                                          "source_file_id": file_id, "folder_id": folder})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["name"] == "Q3 report.pdf" and out["parent_id"] == folder
    assert fake.content[out["id"]] == CONTENT
    # The 302 to the download host was followed without the token; the copy went up in ranges.
    assert fake.downloads == [None]
    assert len(fake.fragments) == 3
    download = next(c for c in fake.calls if c.path_url.endswith(f"/items/{file_id}/content"))
    assert download.headers["Authorization"] == f"Bearer {TOKEN}"


def test_copy_file_names_the_new_file_and_refuses_folders(fake, chunked, source, run_action):
    file_id = fake.add_file("a.txt", content=b"tiny")
    r = run_action(chunked, "copy_file", {"source_connection_id": source["id"],
                                          "source_file_id": file_id, "name": "b.txt"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["name"] == "b.txt"
    folder = fake.add_folder("Stuff")
    r = run_action(chunked, "copy_file", {"source_connection_id": source["id"],
                                          "source_file_id": folder})
    assert r.status_code == 422
    assert "source_file_id" in r.get_json()["errors"]
    r = run_action(chunked, "copy_file", {"source_connection_id": source["id"],
                                          "source_file_id": "01NOSUCH"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["source_file_id"][0] == "itemNotFound"


def test_open_file_streams_the_content(fake, source, live):
    file_id = fake.add_file("a.bin", content=CONTENT)
    with live(source).open_file(file_id) as stream:
        assert (stream.name, stream.size) == ("a.bin", len(CONTENT))
        assert b"".join(stream.pieces(UNIT)) == CONTENT


def test_the_fake_refuses_an_authorized_fragment():
    """The fake bites: a fragment with Authorization is refused, as Graph may (401)."""
    import requests
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeOneDrive(rsps)
        fake._open_session(item_id=fake.add_file("a"))
        r = requests.put("https://contoso-my.sharepoint.com/up/sess1", data=b"x",
                         headers={"Authorization": "Bearer x", "Content-Range": "bytes 0-0/1"})
        assert r.status_code == 401


def test_the_plain_client_keeps_the_policy_and_drops_every_credential(chunked, live):
    http = live(chunked).http
    plain = http.without_credentials("https://contoso-my.sharepoint.com/up/sess1?tempauth=x")
    assert plain.settings.base_url == "https://contoso-my.sharepoint.com/"
    assert plain.policy is http.policy and plain.session is http.session
    assert plain.redactor is http.redactor
    headers: dict = {}
    plain.auth.apply(headers, {})
    assert headers == {}
    with pytest.raises(Exception) as info:  # its own origin only: not Graph's
        plain.get("https://graph.microsoft.com/v1.0/me")
    assert "outside the connection's base URL" in str(info.value)
