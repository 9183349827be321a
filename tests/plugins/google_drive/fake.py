"""A small stateful Google Drive, at the HTTP seam: the changes feed (for the file-added
trigger) and resumable upload sessions.

It follows Google's references:
https://developers.google.com/workspace/drive/api/guides/manage-changes (getStartPageToken,
then changes.list pages ending with ``newStartPageToken``; each change has ``changeType``,
``fileId``, ``removed`` and the ``file`` with the fields asked for),
https://developers.google.com/workspace/drive/api/reference/rest/v3/files/list (only the
``'<id>' in parents and trashed = false`` query is understood here) and
https://developers.google.com/workspace/drive/api/guides/manage-uploads#resumable (POST
``uploadType=resumable`` answers a session URL in ``Location``; each PUT carries
``Content-Range: bytes a-b/total``; 308 with ``Range: bytes=0-n`` until the last byte, then
200 with the file; ``bytes */total`` with no body asks for the status).
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import responses

ROOT = "https://www.googleapis.com"
API = f"{ROOT}/drive/v3"
UPLOAD = f"{ROOT}/upload/drive/v3/files"


def _json(status: int, body: dict, **headers: str):
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body)


class FakeDrive:
    def __init__(self, rsps: responses.RequestsMock, page_size: int = 2) -> None:
        self.files: dict[str, dict] = {}
        self.changes: list[dict] = []  # change n is changes[n - 1]
        self.page_size = page_size
        self.expired_below = 0  # page tokens below this answer ``expire_status``
        self.expire_status = 410
        self.requests: list[tuple[str, dict]] = []
        self._n = 0
        rsps.add_callback(responses.GET, f"{API}/changes/startPageToken", callback=self._start)
        rsps.add_callback(responses.GET, re.compile(re.escape(f"{API}/changes") + r"\?.*"),
                          callback=self._changes)
        rsps.add_callback(responses.GET, re.compile(re.escape(f"{API}/files") + r"\?.*"),
                          callback=self._list)

    # -- what users do in the drive --------------------------------------------------------

    def _changed(self, file_id: str, removed: bool = False) -> None:
        change = {"kind": "drive#change", "changeType": "file", "fileId": file_id,
                  "removed": removed, "time": f"2024-05-31T16:{len(self.changes):02d}:00.000Z"}
        if not removed:
            change["file"] = dict(self.files[file_id])
        self.changes.append(change)

    def add(self, name: str, parent: str, mime: str = "application/pdf") -> str:
        self._n += 1
        file_id = f"1File{self._n:04d}abcdefghijklmnop"
        self.files[file_id] = {"id": file_id, "name": name, "mimeType": mime,
                               "parents": [parent], "trashed": False,
                               "createdTime": "2024-05-31T16:08:37.512Z",
                               "modifiedTime": "2024-05-31T16:08:37.512Z"}
        self._changed(file_id)
        return file_id

    def edit(self, file_id: str) -> None:
        self.files[file_id]["modifiedTime"] = "2024-06-01T09:00:00.000Z"
        self._changed(file_id)

    def move(self, file_id: str, parent: str) -> None:
        self.files[file_id]["parents"] = [parent]
        self._changed(file_id)

    def trash(self, file_id: str) -> None:
        self.files[file_id]["trashed"] = True
        self._changed(file_id)

    def delete(self, file_id: str) -> None:
        del self.files[file_id]
        self._changed(file_id, removed=True)

    def shared_drive_change(self) -> None:
        """A change to a shared drive itself (``changeType: drive``): not a file."""
        self.changes.append({"kind": "drive#change", "changeType": "drive",
                             "driveId": "0AShared", "removed": False})

    def expire_tokens(self) -> None:
        self.expired_below = len(self.changes) + 1

    # -- the API ---------------------------------------------------------------------------

    def _query(self, request) -> dict[str, list[str]]:
        query = parse_qs(urlsplit(request.url).query)
        self.requests.append((urlsplit(request.url).path, query))
        assert query.get("supportsAllDrives") == ["true"]
        return query

    def _start(self, request):
        self._query(request)
        return _json(200, {"kind": "drive#startPageToken",
                           "startPageToken": str(len(self.changes) + 1)})

    def _changes(self, request):
        query = self._query(request)
        token = int(query["pageToken"][0])
        if token < self.expired_below:
            return _json(self.expire_status, {"error": {
                "code": self.expire_status, "message": "Invalid Value", "errors": [{
                    "domain": "global", "reason": "invalid", "message": "Invalid Value",
                    "locationType": "parameter", "location": "pageToken"}]}})
        page = self.changes[token - 1:token - 1 + self.page_size]
        if query.get("includeRemoved") == ["false"]:
            page = [c for c in page if not c["removed"]]
        body = {"kind": "drive#changeList", "changes": page}
        following = token + self.page_size
        if following <= len(self.changes):
            body["nextPageToken"] = str(following)
        else:
            body["newStartPageToken"] = str(len(self.changes) + 1)
        return _json(200, body)

    def _list(self, request):
        query = self._query(request)
        match = re.fullmatch(r"'([^']+)' in parents and trashed = false", query["q"][0])
        assert match, query["q"]
        found = [f for f in self.files.values()
                 if match.group(1) in f["parents"] and not f["trashed"]]
        offset = int(query.get("pageToken", ["0"])[0])
        body = {"files": found[offset:offset + self.page_size]}
        if offset + self.page_size < len(found):
            body["nextPageToken"] = str(offset + self.page_size)
        return _json(200, body)


class FakeUploads:
    """Resumable upload sessions. ``keep`` limits how many bytes of a chunk are kept (Google
    may keep less than it was sent); ``fail_chunks`` lists chunk numbers whose PUT fails with
    a 503 after keeping half of the chunk."""

    SESSION = f"{UPLOAD}?uploadType=resumable&upload_id=ADPycdvSession01"

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.received = b""
        self.total: int | None = None
        self.metadata: dict | None = None
        self.opened_with: dict[str, str] = {}
        self.puts: list[str] = []  # Content-Range of every PUT
        self.keep: int | None = None
        self.fail_chunks: set[int] = set()
        self.expired = False
        rsps.add_callback(responses.POST, re.compile(re.escape(UPLOAD) + r"\?.*"),
                          callback=self._open)
        rsps.add_callback(responses.PUT, re.compile(re.escape(UPLOAD) + r"\?.*upload_id=.*"),
                          callback=self._put)

    def _open(self, request):
        query = parse_qs(urlsplit(request.url).query)
        assert query["uploadType"] == ["resumable"]
        self.metadata = json.loads(request.body)
        self.opened_with = {k: v for k, v in request.headers.items() if k.startswith("X-Upload")}
        self.total = int(request.headers["X-Upload-Content-Length"])
        return 200, {"Location": self.SESSION}, ""

    def _put(self, request):
        span = request.headers["Content-Range"]
        self.puts.append(span)
        if self.expired:
            return _json(404, {"error": {"code": 404, "message": "Not Found"}})
        data = request.body or b""
        if span == f"bytes */{self.total}":
            return self._status()
        start, end = map(int, re.fullmatch(r"bytes (\d+)-(\d+)/\d+", span).groups())
        assert start == len(self.received), "a chunk must start where Google's data ends"
        assert len(data) == end - start + 1
        chunk_number = len([p for p in self.puts if not p.startswith("bytes */")])
        if chunk_number in self.fail_chunks:
            self.received += data[:len(data) // 2]
            return _json(503, {"error": {"code": 503, "message": "Backend Error",
                                         "errors": [{"reason": "backendError"}]}})
        self.received += data[:self.keep] if self.keep else data
        return self._status()

    def _status(self):
        if len(self.received) == self.total:
            return _json(200, {"id": "1UploadedFile0123456789abcdef", "name": self.metadata["name"],
                               "mimeType": self.metadata.get("mimeType"),
                               "size": str(self.total)})
        headers = {"Range": f"bytes=0-{len(self.received) - 1}"} if self.received else {}
        return 308, headers, ""
