"""Google Drive API v3: upload files (multipart, or a resumable session for larger content),
create folders, list and search files, share, read metadata, trash; a file-added poll
trigger on the changes feed.

API reference: https://developers.google.com/workspace/drive/api/reference/rest/v3
Uploads: https://developers.google.com/workspace/drive/api/guides/manage-uploads
Search syntax: https://developers.google.com/workspace/drive/api/guides/search-files
Changes: https://developers.google.com/workspace/drive/api/guides/manage-changes
Errors: https://developers.google.com/workspace/drive/api/guides/handle-errors

The base URL is the host root (``https://www.googleapis.com/``), not ``/drive/v3``: uploads go
to ``/upload/drive/v3`` on the same host, and a resumable session's URL must stay on it.
"""
from __future__ import annotations

from itertools import islice
from typing import Any

import requests

from atom.integrations import files
from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import compact
from atom.integrations.pagination import PageTokenPaginator
from plugins.google_common import GoogleErrors
from plugins.google_common import body
from plugins.google_common import cursor_expired
from plugins.google_common import flag
from plugins.google_common import load_params
from plugins.google_common import segment
from plugins.google_drive import payloads
from plugins.google_drive.schemas import FOLDER_MIME
from plugins.google_drive.schemas import FileAddedParams

API = "drive/v3"
UPLOAD = "upload/drive/v3/files"
PAGE_SIZE = 1000
MAX_UPLOAD_MB = 25
# Google recommends a resumable upload above 5 MB; chunks are multiples of 256 KiB.
RESUMABLE_ABOVE = 5 * 1024 * 1024
CHUNK_KIB = 8 * 1024
# A chunk that fails (timeout, 5xx) is followed by a status query and the upload goes on from
# what Google received, at most this many times per upload.
MAX_RESUMES = 3
# Changes pages per poll (1,000 changes each); the rest waits for the next poll.
MAX_CHANGE_PAGES = 20
# Files listed as a folder's current content when the trigger primes.
MAX_PRIMED = 10_000
ALL_DRIVES = {"supportsAllDrives": "true"}

ERRORS = GoogleErrors(
    "Google Drive",
    locations={"q": "query", "pageToken": "cursor", "fileId": "file_id", "pageSize": "max_items",
               "orderBy": "order_by", "emailAddress": "email_address", "role": "role",
               "type": "type", "domain": "domain", "parents": "parent_id",
               "addParents": "parent_id", "name": "name", "mimeType": "mime_type"},
    reasons={"invalidSharingRequest": "email_address", "fileNotFolder": "parent_id",
             "cannotAddParent": "parent_id",
             "cannotShareTeamDriveTopFolderWithAnyoneOrDomains": "type"},
)


class GoogleDriveIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        ERRORS.check(response)

    def health_check(self) -> None:
        if "user" not in self._get(f"{API}/about", "about.get", {"fields": "user"}):
            raise UpstreamError("about.get answered without a user; is base_url Google's API "
                                "host (https://www.googleapis.com/)?", permanent=True)

    # -- actions ---------------------------------------------------------------------------

    def upload_file(self, data: dict[str, Any]) -> dict[str, Any]:
        """Multipart for small content; a resumable session above 5 MB or when asked."""
        text = data.get("content_text")
        content = text.encode() if text is not None else data["content_base64"]
        field = "content_text" if text is not None else "content_base64"
        limit = int(self.connection.settings.get("max_upload_mb") or MAX_UPLOAD_MB) << 20
        if len(content) > limit:
            raise ValidationFailed(f"the content is larger than this connection's "
                                   f"{limit >> 20} MB upload limit",
                                   details={field: [f"at most {limit >> 20} MB"]})
        mime = data.get("mime_type") or ("text/plain" if text is not None
                                         else "application/octet-stream")
        return self._save(files.from_bytes(content, data["name"], mime), data.get("parent_id"),
                          data["name"], description=data.get("description"),
                          resumable=data["resumable"])

    def save_file(self, stream: files.FileStream, folder_id: str | None, name: str
                  ) -> dict[str, Any]:
        """``copy_file``'s sink: a resumable session read piece by piece (multipart when the
        source says the file is small)."""
        return self._save(stream, folder_id, name)

    def open_file(self, file_id: str) -> files.FileStream:
        """A streamed ``alt=media`` download; Google Docs files (no bytes of their own) are
        refused with a clear error."""
        meta = self._get(f"{API}/files/{segment(file_id)}", "files.get",
                         {**ALL_DRIVES, "fields": "id,name,mimeType,size"})
        if str(meta.get("mimeType", "")).startswith("application/vnd.google-apps."):
            raise ValidationFailed(f"{meta.get('name')!r} is a Google {meta['mimeType'][28:]} "
                                   "file with no bytes to copy (export it first)",
                                   details={"source_file_id": ["a Google Workspace file"]})
        size = str(meta.get("size", ""))
        response = self.http.get(f"{API}/files/{segment(file_id)}",
                                 params={"alt": "media", **ALL_DRIVES}, stream=True,
                                 operation="files.get.media")
        return files.from_response(response, str(meta.get("name") or file_id),
                                   meta.get("mimeType"), int(size) if size.isdigit() else None)

    def _save(self, stream: files.FileStream, folder_id: str | None, name: str, *,
              description: str | None = None, resumable: bool = False) -> dict[str, Any]:
        mime = stream.mime_type
        metadata = compact(name=name, mimeType=mime, description=description,
                           parents=[folder_id] if folder_id else None)
        if resumable or stream.size is None or stream.size > RESUMABLE_ABOVE:
            return payloads.file(self._resumable(metadata, stream))
        raw, content_type = payloads.multipart(metadata, b"".join(stream), mime)
        # Not idempotent: a retry after a lost answer would make a second file.
        created = self.http.post(UPLOAD, params={"uploadType": "multipart", **ALL_DRIVES,
                                                 "fields": payloads.FILE_FIELDS},
                                 data=raw, headers={"Content-Type": content_type},
                                 operation="files.create.upload")
        return payloads.file(body(created, "Google Drive"))

    def create_folder(self, data: dict[str, Any]) -> dict[str, Any]:
        metadata = compact(name=data["name"], mimeType=FOLDER_MIME,
                           description=data.get("description"),
                           parents=[data["parent_id"]] if data.get("parent_id") else None)
        created = self.http.post(f"{API}/files", json=metadata,
                                 params={**ALL_DRIVES, "fields": payloads.FILE_FIELDS},
                                 operation="files.create")
        return payloads.file(body(created, "Google Drive"))

    def list_files(self, data: dict[str, Any]) -> dict[str, Any]:
        params = compact(q=payloads.query(data), orderBy=data.get("order_by"),
                         pageSize=min(data["max_items"], PAGE_SIZE),
                         fields=payloads.LIST_FIELDS, **ALL_DRIVES)
        if data["include_all_drives"]:
            params.update(includeItemsFromAllDrives="true", corpora="allDrives")
        found = self.http.paginate(f"{API}/files", PageTokenPaginator(items="files"),
                                   params=params, operation="files.list")
        files = [payloads.file(f) for f in islice(found, data["max_items"])]
        return {"files": files, "count": len(files)}

    def get_file(self, data: dict[str, Any]) -> dict[str, Any]:
        return payloads.file(self._get(f"{API}/files/{segment(data['file_id'])}", "files.get",
                                       {**ALL_DRIVES, "fields": payloads.FILE_FIELDS}))

    def trash_file(self, data: dict[str, Any]) -> dict[str, Any]:
        updated = self.http.patch(f"{API}/files/{segment(data['file_id'])}", json={"trashed": True},
                                  params={**ALL_DRIVES, "fields": payloads.FILE_FIELDS},
                                  idempotent=True, operation="files.update")
        return payloads.file(body(updated, "Google Drive"))

    def share_file(self, data: dict[str, Any]) -> dict[str, Any]:
        notify = data["send_notification"] and data["type"] in ("user", "group")
        params = compact(**ALL_DRIVES, fields=payloads.PERMISSION_FIELDS,
                         sendNotificationEmail=flag(notify) if data["type"] in ("user", "group")
                         else None,
                         emailMessage=data.get("email_message") if notify else None,
                         transferOwnership="true" if data["role"] == "owner" else None)
        request = compact(role=data["role"], type=data["type"],
                          emailAddress=data.get("email_address"), domain=data.get("domain"),
                          allowFileDiscovery=data.get("allow_discovery"))
        # Drive keeps one permission per grantee, so a repeat grants nothing new (verify: a
        # repeat may e-mail the grantee again).
        created = self.http.post(f"{API}/files/{segment(data['file_id'])}/permissions",
                                 params=params, json=request, idempotent=True,
                                 operation="permissions.create")
        return payloads.permission(body(created, "Google Drive"), data["file_id"])

    # -- trigger -----------------------------------------------------------------------------

    def poll_file_added(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        """Files that appeared in ``folder_id`` (created there or moved in) since the changes
        page token ``cursor``.

        Priming takes the start page token first, then lists the folder: its files are the
        current state (seen, not fired), so a later edit of a file already there never
        fires. Later polls read changes.list to its ``newStartPageToken`` (the next cursor)
        and keep files (not removed, not trashed) whose parents include the folder. A token
        Drive no longer accepts (404, 410, or a 400 about ``pageToken``) is an expired
        cursor: the trigger primes again.
        """
        p = load_params(FileAddedParams, params)
        folder = p["folder_id"]
        if cursor is None:
            start = self._get(f"{API}/changes/startPageToken", "changes.getStartPageToken",
                              ALL_DRIVES)["startPageToken"]
            current = islice(self.http.paginate(f"{API}/files", PageTokenPaginator(items="files"),
                                                params={"q": payloads.query({"folder_id": folder}),
                                                        "pageSize": PAGE_SIZE,
                                                        "fields": payloads.LIST_FIELDS,
                                                        "includeItemsFromAllDrives": "true",
                                                        "corpora": "allDrives", **ALL_DRIVES},
                                                operation="files.list"), MAX_PRIMED)
            return PollPage([payloads.file(f) for f in current], str(start))
        files, next_cursor = self._changes(cursor)
        latest: dict[str, dict[str, Any]] = {}
        for f in files:  # a file changed twice: its last state counts, at its first place
            latest[f["id"]] = f
        added = [payloads.file(f) for f in latest.values()
                 if folder in (f.get("parents") or []) and not f.get("trashed")]
        return PollPage(added, next_cursor)

    # -- helpers ----------------------------------------------------------------------------

    def _get(self, path: str, operation: str, params: dict[str, Any] | None = None
             ) -> dict[str, Any]:
        return body(self.http.get(path, params=params, operation=operation), "Google Drive")

    def _changes(self, token: str) -> tuple[list[dict[str, Any]], str]:
        """The files changed since ``token`` (oldest change first) and the token to read
        from next: ``newStartPageToken``, or the next page's token when this poll stopped
        early."""
        files: list[dict[str, Any]] = []
        params = {"pageToken": token, "pageSize": PAGE_SIZE, "includeRemoved": "false",
                  "includeItemsFromAllDrives": "true", "spaces": "drive",
                  "fields": payloads.CHANGE_FIELDS, **ALL_DRIVES}
        for _ in range(MAX_CHANGE_PAGES):
            try:
                page = self._get(f"{API}/changes", "changes.list", params)
            except IntegrationError as exc:
                if exc.status in (404, 410) or (exc.status == 400 and "cursor" in exc.details):
                    raise cursor_expired("Google Drive", "changes page token",
                                         exc.status) from exc
                raise
            files += [c["file"] for c in page.get("changes") or []
                      if isinstance(c, dict) and not c.get("removed")
                      and c.get("changeType", "file") == "file" and isinstance(c.get("file"), dict)
                      and c["file"].get("id")]
            if page.get("newStartPageToken"):
                return files, str(page["newStartPageToken"])
            following = page.get("nextPageToken")
            if not following or following == params["pageToken"]:
                raise UpstreamError("changes.list ended without newStartPageToken",
                                    permanent=True)
            params["pageToken"] = following
        return files, str(params["pageToken"])

    def _resumable(self, metadata: dict[str, Any], stream: files.FileStream) -> dict[str, Any]:
        """Upload ``stream`` through a resumable session: open it, PUT chunks with
        ``Content-Range``, go on from the ``Range`` Google reports after each 308 (it may keep
        less than was sent), and after a failed chunk ask where the upload stands.

        Only the bytes Google has not confirmed are held (at most two chunks), so a file of
        any size streams through; a source of unknown size sends ``*`` as the total until its
        last chunk.
        """
        mime, total = stream.mime_type, stream.size
        opened = {"X-Upload-Content-Type": mime}
        if total is not None:
            opened["X-Upload-Content-Length"] = str(total)
        session = self.http.post(UPLOAD, json=metadata, params={
            "uploadType": "resumable", **ALL_DRIVES, "fields": payloads.FILE_FIELDS},
            headers=opened,
            idempotent=True,  # opening a session creates no file
            operation="files.create.resumable")
        url = session.headers.get("Location")
        if not url:
            raise UpstreamError("Drive opened no resumable upload session (no Location)",
                                permanent=True)
        chunk = int(self.connection.settings.get("upload_chunk_kib") or CHUNK_KIB) * 1024
        pieces = stream.pieces(chunk)
        # The bytes from ``offset`` on that Google has not confirmed (usually one piece).
        pending, offset, resumes, done = b"", 0, 0, False
        while True:
            while len(pending) < chunk and not done:
                piece = next(pieces, None)
                done = piece is None
                pending = pending + piece if pending and piece else (pending or piece or b"")
            sending = pending[:chunk]
            end = offset + len(sending)
            last = done and end == offset + len(pending)
            size = str(end) if last else (str(total) if total is not None else "*")
            span = f"bytes {offset}-{end - 1}/{size}" if sending else f"bytes */{size}"
            try:
                # Not retried by the client: after a failure, ask Google what it kept.
                response = self.http.put(url, data=sending, idempotent=False,
                                         headers={"Content-Range": span, "Content-Type": mime},
                                         operation="files.create.resumable.chunk")
            except (UpstreamError, IntegrationTimeout) as exc:
                if exc.status == 404:
                    raise UpstreamError("the resumable upload session expired; upload again",
                                        status=404, permanent=True) from exc
                if exc.permanent or resumes >= MAX_RESUMES:
                    raise
                resumes += 1
                response = self.http.put(url, data=b"",
                                         headers={"Content-Range": f"bytes */{size}"},
                                         operation="files.create.resumable.status")
            if response.status_code in (200, 201):
                return body(response, "Google Drive")
            if response.status_code != 308:
                raise UpstreamError(f"resumable upload answered {response.status_code}",
                                    status=response.status_code, permanent=True)
            received = _received(response)
            if received < offset or received > offset + len(pending):
                raise UpstreamError(f"Drive reports {received} bytes received, outside the "
                                    f"unconfirmed range from {offset}", permanent=True)
            if received == offset and end > offset:
                resumes += 1  # Google kept nothing of the chunk: do not loop forever
                if resumes > MAX_RESUMES:
                    raise UpstreamError("the resumable upload makes no progress", permanent=True)
            pending = pending[received - offset:]
            offset = received


def _received(response: requests.Response) -> int:
    """How many bytes a 308 says Google has: ``Range: bytes=0-N`` is N + 1; no Range, none."""
    value = response.headers.get("Range", "")
    if not value.startswith("bytes=0-"):
        return 0
    try:
        return int(value.removeprefix("bytes=0-")) + 1
    except ValueError:
        return 0
