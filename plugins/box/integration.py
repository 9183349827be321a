"""Box Platform API (2.0): upload files (multipart below the chunked threshold, a chunked upload
session above it), create folders, list folder items, file details, shared links, delete, copy
files in from other connections; V2 webhook triggers.

Reference: https://developer.box.com/reference/ ; uploads:
https://developer.box.com/guides/uploads/direct/file/ and
https://developer.box.com/guides/uploads/chunked/ ; downloads:
https://developer.box.com/guides/downloads/file/ ; errors:
https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/ ; paging:
https://developer.box.com/guides/api-calls/pagination/marker-based/ ; webhooks:
https://developer.box.com/guides/webhooks/v2/ .
"""
from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import tempfile
from itertools import islice
from typing import Any
from urllib.parse import quote
from urllib.parse import urlsplit

import requests

from atom.integrations import files
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import hook_url
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.pagination import CursorPaginator
from atom.integrations.pagination import OffsetPaginator
from atom.integrations.webhooks import WebhookRequest
from plugins.box import payloads

UPLOAD_URL = "https://upload.box.com/api/2.0/"
# Box: "for files over 50 MB we recommend chunked uploads"; a session needs at least 20 MB.
CHUNKED_ABOVE = 50 * 1024 * 1024
PAGE = 1000  # Box's largest folder-items page
_DIGITS = re.compile(r"^[0-9]{1,20}\Z")
_NAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\]")

# Box webhook triggers -> the manifest's trigger names (others are acknowledged, not stored).
TRIGGERS = {
    "FILE.UPLOADED": "file_uploaded",
    "FILE.TRASHED": "file_trashed",
    "FILE.DELETED": "file_deleted",
    "FILE.MOVED": "file_moved",
    "FOLDER.CREATED": "folder_created",
}

# Box's names in ``context_info.errors[].name`` -> our input fields.
_FIELD_NAMES = {"name": "name", "file_name": "name", "parent": "folder_id",
                "folder_id": "folder_id", "password": "password", "access": "access",
                "unshared_at": "unshared_at", "shared_link": "access", "limit": "max_items",
                "sort": "sort", "direction": "direction", "file_size": "content_base64"}
# Box codes that name one field whatever the request.
_CODE_FIELDS = {"item_name_invalid": "name", "item_name_too_long": "name",
                "item_name_in_use": "name", "password_reset_required": "password",
                "invalid_folder_id": "folder_id", "missing_destination": "folder_id"}
_TRANSIENT = {"operation_blocked_temporary", "internal_server_error", "unavailable"}


class BoxIntegration(Integration):
    # -- client wiring -----------------------------------------------------------------------

    def upload_url(self) -> str:
        """Box's upload API: the ``upload_url`` setting; else the connection's own base_url
        when it overrides Box's (a proxy, a local fake or Prism serve both on one origin);
        else https://upload.box.com/api/2.0/."""
        settings = self.connection.settings
        base = (settings.get("base_url") or "").rstrip("/")
        own_base = base and base != (self.manifest.base_url or "").rstrip("/")
        url = settings.get("upload_url") or (base if own_base else UPLOAD_URL)
        return url.rstrip("/") + "/"

    def extra_origins(self) -> list[str]:
        return [self.upload_url()]

    def raise_for_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status == 202:
            # A commit whose parts are still processed, or a download not ready yet: Box says
            # when to come back (Retry-After); the client waits and tries again.
            raise UpstreamError("Box is still processing the file; retrying",
                                status=202, retry_after=parse_retry_after(
                                    response.headers.get("Retry-After")) or 1.0)
        if status < 400:
            return
        raise _error(response)

    def parse_rate_limit(self, response: requests.Response) -> tuple[int | None, float | None]:
        return None, None  # Box sends no remaining-calls headers, only 429 + Retry-After

    def health_check(self) -> None:
        me = self._json(self.http.get("users/me", params={"fields": "id,login"},
                                      operation="users.me"))
        if not me.get("id"):
            raise UpstreamError("GET /users/me answered without an id; is base_url Box's API "
                                "(https://api.box.com/2.0/)?", permanent=True)

    # -- actions -----------------------------------------------------------------------------

    def upload_file(self, data: dict[str, Any]) -> dict[str, Any]:
        text = data.get("content_text")
        content = text.encode() if text is not None else data["content_base64"]
        mime = data.get("mime_type") or ("text/plain" if text is not None
                                         else "application/octet-stream")
        return self.save_file(files.from_bytes(content, data["name"], mime),
                              data["folder_id"], data["name"])

    def create_folder(self, data: dict[str, Any]) -> dict[str, Any]:
        made = self.http.post("folders", params={"fields": payloads.FIELDS},
                              json={"name": data["name"], "parent": {"id": data["parent_id"]}},
                              operation="folders.create")
        return payloads.item(self._json(made))

    def list_items(self, data: dict[str, Any]) -> dict[str, Any]:
        limit = min(data["max_items"], PAGE)
        path = f"folders/{_segment(data['folder_id'])}/items"
        params: dict[str, Any] = {"fields": payloads.LIST_FIELDS, "limit": limit}
        if data.get("sort") or data.get("direction"):
            # Box's reference: sort is not supported with marker paging on the root folder,
            # so a sorted listing pages with offsets (which Box caps at 10,000).
            params.update({k: data[k] for k in ("sort", "direction") if data.get(k)})
            pager: Any = OffsetPaginator(items="entries", offset_param="offset",
                                         limit_param="limit", page_size=limit,
                                         total_path="total_count", last_path=None)
        else:
            params["usemarker"] = "true"
            pager = CursorPaginator(items="entries", cursor_path="next_marker",
                                    cursor_param="marker")
        found = self.http.paginate(path, pager, params=params, operation="folders.items")
        items = [payloads.item(e) for e in islice(found, data["max_items"])]
        return {"items": items, "count": len(items)}

    def get_file(self, data: dict[str, Any]) -> dict[str, Any]:
        return payloads.item(self._json(self.http.get(
            f"files/{_segment(data['file_id'])}", params={"fields": payloads.FIELDS},
            operation="files.get")))

    def create_shared_link(self, data: dict[str, Any]) -> dict[str, Any]:
        link: dict[str, Any] = {k: data[k] for k in ("access", "password") if data.get(k)}
        if data.get("unshared_at") is not None:
            link["unshared_at"] = data["unshared_at"].isoformat()
        if data.get("can_download") is not None:
            link["permissions"] = {"can_download": data["can_download"]}
        # PUT: setting the same link again is the same link (the client may retry it).
        updated = self._json(self.http.put(
            f"files/{_segment(data['file_id'])}", params={"fields": "id,type,name,shared_link"},
            json={"shared_link": link}, operation="files.update.shared_link"))
        out = payloads.item(updated)
        out["url"] = (out.get("shared_link") or {}).get("url")
        return out

    def delete_file(self, data: dict[str, Any]) -> dict[str, Any]:
        """Moves the file to the trash (Box keeps it there for the enterprise's retention)."""
        self.http.delete(f"files/{_segment(data['file_id'])}", operation="files.delete")
        return {"id": data["file_id"], "deleted": True}

    def create_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        """A V2 webhook on a folder or file, delivering to this connection's ATOM URL
        (https://developer.box.com/guides/webhooks/v2/create-v2/). Box signs deliveries with
        the app's signature keys: paste them into the connection (webhook_primary_key,
        webhook_secondary_key)."""
        address = data.get("address") or hook_url(self, "address")
        made = self._json(self.http.post("webhooks", json={
            "target": {"id": data["target_id"], "type": data["target_type"]},
            "address": address, "triggers": list(dict.fromkeys(data["triggers"]))},
            operation="webhooks.create"))
        target = made.get("target") if isinstance(made.get("target"), dict) else {}
        return {"id": str(made["id"]), "address": made.get("address"),
                "triggers": made.get("triggers") or [],
                "target": {"id": str(target.get("id")), "type": target.get("type")}}

    # -- files (atom.integrations.files) -----------------------------------------------------

    def open_file(self, file_id: str) -> files.FileStream:
        """The file's name and size (GET /files/{id}), then its content streamed: Box answers
        302 to a dl.boxcloud.com URL, followed without the connection's credentials."""
        if not _DIGITS.match(file_id or ""):
            raise ValidationFailed("a Box file id is digits only",
                                   details={"source_file_id": ["a Box file id: digits only"]})
        try:
            meta = self._json(self.http.get(f"files/{file_id}",
                                            params={"fields": "id,type,name,size"},
                                            operation="files.get"))
        except ValidationFailed as exc:  # named as the copy_file input that gave the id
            exc.details = {"source_file_id": [r for rs in exc.details.values() for r in rs]}
            raise
        name = str(meta.get("name") or file_id)
        size = meta.get("size") if isinstance(meta.get("size"), int) else None
        response = self.http.get(f"files/{file_id}/content", stream=True,
                                 headers={"Accept": "*/*"}, operation="files.download")
        return files.from_response(response, name, mimetypes.guess_type(name)[0], size)

    def save_file(self, stream: files.FileStream, folder_id: str | None,
                  name: str) -> dict[str, Any]:
        """Write ``stream`` into ``folder_id`` as ``name``: one multipart request up to the
        chunked threshold, a chunked upload session above it. A stream of unknown size is
        spooled to a temporary file first (a session needs the size up front)."""
        folder = folder_id or "0"
        if not _DIGITS.match(folder):
            raise ValidationFailed("a Box folder id is digits only",
                                   details={"folder_id": ["a Box folder id: digits only "
                                                          "(0 is the root)"]})
        if not name or len(name) > 255 or _NAME_BAD.search(name) or name in (".", ".."):
            raise ValidationFailed("Box cannot name a file so", details={"name": [
                "1-255 characters without / or \\ or control characters"]})
        threshold = int(self.connection.settings.get("chunked_upload_above_kib") or 0) * 1024 \
            or CHUNKED_ABOVE
        spool = None
        try:
            if stream.size is None:
                spool, stream = _spooled(stream, threshold)
            if stream.size <= threshold:
                return self._simple_upload(stream, folder, name)
            return self._chunked_upload(stream, folder, name)
        finally:
            if spool is not None:
                spool.close()

    # -- webhooks ------------------------------------------------------------------------------

    def webhook_secret(self) -> str | None:
        """Both signature keys, primary first, one a line (the ``box_v2`` scheme takes either)."""
        creds = self.connection.credentials
        keys = [creds.get("webhook_primary_key") or "", creds.get("webhook_secondary_key") or ""]
        return "\n".join(keys) if any(keys) else None

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """One event per delivery, keyed on the body's ``id``: Box keeps it across retries
        (BOX-DELIVERY-ID changes with each retry)."""
        if not isinstance(payload, dict):
            return []
        name = TRIGGERS.get(str(payload.get("trigger")))
        source = payload.get("source")
        if name is None or not isinstance(source, dict) or source.get("id") is None \
                or not payload.get("id"):
            return []
        return [InboundEvent(name, str(payload["id"]), _event(payload, source))]

    # -- helpers -------------------------------------------------------------------------------

    def _json(self, response: requests.Response) -> dict[str, Any]:
        body = json_or_empty(response)
        if not body:
            raise UpstreamError(f"Box answered {response.status_code} without a JSON object")
        return body

    def _simple_upload(self, stream: files.FileStream, folder: str, name: str) -> dict[str, Any]:
        """One multipart request; the body is built in one buffer (the file is at most the
        chunked threshold)."""
        attributes = {"name": name, "parent": {"id": folder}}
        mark = payloads.boundary()
        head, tail, content_type = payloads.multipart_frame(attributes, name, stream.mime_type,
                                                            mark)
        body, sha1 = bytearray(head), hashlib.sha1()
        for piece in stream.pieces(files.READ_CHUNK):
            body += piece
            sha1.update(piece)
        while body.find(mark.encode(), len(head)) != -1:  # vanishingly rare: a new boundary
            mark = payloads.boundary()
            new_head, tail, content_type = payloads.multipart_frame(
                attributes, name, stream.mime_type, mark)
            body[:len(head)], head = new_head, new_head
        body += tail
        raw = bytes(body)
        del body
        # Box's "content-md5" header carries the file's SHA1 (hex): Box refuses a file whose
        # bytes do not match it. Not idempotent: a retry after a lost answer could make a
        # second file (or a 409).
        made = self.http.post(f"{self.upload_url()}files/content",
                              params={"fields": payloads.FIELDS}, data=raw,
                              headers={"Content-Type": content_type,
                                       "Content-MD5": sha1.hexdigest()},
                              operation="files.upload")
        return payloads.item(payloads.first_entry(self._json(made)))

    def _chunked_upload(self, stream: files.FileStream, folder: str, name: str) -> dict[str, Any]:
        """https://developer.box.com/guides/uploads/chunked/: open a session (Box chooses the
        part size), PUT each part with Content-Range and ``Digest: sha=<base64 SHA1 of the
        part>``, then commit the parts with the whole file's SHA1. On failure the session is
        aborted (DELETE) so no parts linger."""
        total = int(stream.size or 0)
        up = self.upload_url()
        session = self._json(self.http.post(
            f"{up}files/upload_sessions",
            json={"folder_id": folder, "file_size": total, "file_name": name},
            idempotent=True,  # opening a session makes no file
            operation="upload_sessions.create"))
        part_size = session.get("part_size")
        if not isinstance(part_size, int) or part_size <= 0 or not session.get("id"):
            raise UpstreamError("Box opened an upload session without an id or part_size",
                                permanent=True)
        url = f"{up}files/upload_sessions/{_segment(str(session['id']))}"
        whole, parts, offset = hashlib.sha1(), [], 0
        try:
            for piece in stream.pieces(part_size):
                whole.update(piece)
                end = offset + len(piece) - 1
                if end >= total or (len(piece) < part_size and end + 1 != total):
                    raise UpstreamError(f"the source sent {'more' if end >= total else 'less'}"
                                        f" than the {total} bytes it announced", permanent=True)
                sent = self._json(self.http.put(url, data=piece, headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"bytes {offset}-{end}/{total}",
                    "Digest": "sha=" + _b64sha1(piece)}, operation="upload_sessions.part"))
                part = sent.get("part") if isinstance(sent.get("part"), dict) else {}
                parts.append({k: part[k] for k in ("part_id", "offset", "size", "sha1")
                              if k in part})
                offset = end + 1
            if offset != total:
                raise UpstreamError(f"the source sent {offset} bytes, not the {total} it "
                                    f"announced", permanent=True)
            committed = self.http.post(f"{url}/commit", json={"parts": parts},
                                       headers={"Digest": "sha=" + base64.b64encode(
                                           whole.digest()).decode()},
                                       idempotent=True,  # the same parts commit the same file
                                       operation="upload_sessions.commit")
        except BaseException:
            self._abort(url)
            raise
        return payloads.item(payloads.first_entry(self._json(committed)))

    def _abort(self, url: str) -> None:
        try:
            self.http.delete(url, operation="upload_sessions.abort")
        except IntegrationError as exc:
            self.log.warning("could not abort a Box upload session: %s", exc.code)


def _segment(value: str) -> str:
    if not value or ".." in value or value in (".",):
        raise ValidationFailed("an id must not be empty or contain '..'")
    return quote(value, safe="")


def _b64sha1(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


def _spooled(stream: files.FileStream, threshold: int) -> tuple[Any, files.FileStream]:
    """A stream of unknown size, written to a temporary file (in memory up to the threshold):
    its size is then known, and it is read back in chunks."""
    spool = tempfile.SpooledTemporaryFile(max_size=threshold)
    try:
        for chunk in stream:
            spool.write(chunk)
    finally:
        stream.close()
    size = spool.tell()
    spool.seek(0)
    chunks = iter(lambda: spool.read(files.READ_CHUNK), b"")
    return spool, files.FileStream(stream.name, size, stream.mime_type, chunks)


def _event(payload: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    out = payloads.item(source)
    webhook = payload.get("webhook") if isinstance(payload.get("webhook"), dict) else {}
    who = payload.get("created_by")
    out["event"] = {"id": str(payload["id"]), "trigger": payload.get("trigger"),
                    "created_at": payload.get("created_at"),
                    "webhook_id": str(webhook["id"]) if webhook.get("id") else None,
                    "created_by": payloads.user(who) if isinstance(who, dict) else None}
    return out


def _field_for(method: str, path: str) -> str:
    """The input field a 404 or a bad id is about, from the request's path."""
    if "/upload_sessions" in path or path.endswith("/files/content") or \
            "/items" in path:
        return "folder_id"
    if path.endswith("/folders") and method == "POST":
        return "parent_id"
    return "file_id"


def _error(response: requests.Response) -> IntegrationError:
    """Box's error body ``{"type": "error", "status", "code", "message", "context_info":
    {"errors": [{"name", "message", "reason"}], "conflicts": ...}, "request_id"}`` as our
    error classes, naming the input field where Box says which one."""
    status = response.status_code
    body = json_or_empty(response)
    code = str(body.get("code") or "") if body.get("type") == "error" else ""
    text = str(body.get("message") or "")[:300] if code else ""
    request = response.request
    method = (request.method or "") if request is not None else ""
    path = urlsplit(request.url or "").path if request is not None else ""
    where = f"Box {method} {re.sub(r'/[0-9A-Fa-f]{6,}(?=/|$)', '/:id', path)}"
    message = f"{where} answered {status}" + (f" {code}: {text}" if code else "")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    context = body.get("context_info") if isinstance(body.get("context_info"), dict) else {}
    if status == 429:
        return RateLimited(message, status=status, retry_after=retry_after)
    if status == 401:
        return AuthError(message, status=status)
    if status >= 500 or status == 408 or code in _TRANSIENT:
        return UpstreamError(message, status=status, retry_after=retry_after)
    if code == "item_name_in_use":
        conflict = _conflict_id(context)
        reason = "an item of this name is already in the folder" + (
            f" (id {conflict})" if conflict else "") + ": choose another name"
        return ValidationFailed(message, status=status, details={"name": [reason]})
    if status == 403:
        if code in ("storage_limit_exceeded", "file_size_limit_exceeded"):
            return UpstreamError(message, status=status, permanent=True)
        return AuthError(message + " (the connection lacks the permission or scope)",
                         status=status)
    if status == 404:
        field = _field_for(method, path)
        return ValidationFailed(message, status=status, details={
            field: [f"{code or 'not_found'}: no such item, or this connection cannot see it"]})
    if status in (400, 405, 409, 412, 416, 422) or 400 <= status < 500:
        details: dict[str, list[str]] = {}
        for err in context.get("errors") or []:
            if isinstance(err, dict) and err.get("name"):
                field = _FIELD_NAMES.get(str(err["name"]), str(err["name"])[:60])
                details.setdefault(field, []).append(
                    str(err.get("message") or err.get("reason") or code)[:300])
        if not details:
            field = _CODE_FIELDS.get(code) or ("file_id" if status == 405 else "_request")
            details = {field: [code or f"HTTP {status}"] + ([text] if text else [])}
        return ValidationFailed(message, status=status, details=details)
    return UpstreamError(message, status=status, permanent=True)


def _conflict_id(context: dict[str, Any]) -> str | None:
    conflicts = context.get("conflicts")
    if isinstance(conflicts, list) and conflicts:
        conflicts = conflicts[0]
    if isinstance(conflicts, dict) and conflicts.get("id") is not None:
        return str(conflicts["id"])[:40]
    return None
