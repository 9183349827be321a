"""Dropbox API v2: uploads (one request, or an upload session in chunks), folders, listings
with cursors, metadata, shared links, deletes, streamed downloads; file-added and
file-changed triggers polled from a ``list_folder`` cursor, made due at once by a signed
webhook notification.

HTTP reference: https://www.dropbox.com/developers/documentation/http/documentation
Webhooks: https://www.dropbox.com/developers/reference/webhooks
OAuth guide: https://developers.dropbox.com/oauth-guide
Errors: the documentation's "Errors" section (400 bad input as text, 401 bad or expired token,
403 no access, 409 endpoint error, 429 rate limit, 5xx), and the SDK
(``dropbox/dropbox-sdk-python`` ``dropbox/dropbox_client.py``) for refresh and ``retry_after``.

Every route is a POST. RPC routes live on ``https://api.dropboxapi.com/2/`` (the connection's
``base_url``) and take a JSON body; content routes (upload, download) live on
``https://content.dropboxapi.com/2/`` (``content_url``, a second origin the credentials may
go to: :meth:`DropboxIntegration.extra_origins`) and take their argument as JSON in the
``Dropbox-API-Arg`` header, ASCII-escaped, with the file's bytes as the body.
"""
from __future__ import annotations

import json
import mimetypes
from datetime import UTC
from typing import Any
from typing import Iterator
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import requests
from marshmallow import ValidationError

from atom.integrations import files
from atom.integrations.base import Handshake
from atom.integrations.base import Integration
from atom.integrations.base import InboundEvent
from atom.integrations.base import PollPage
from atom.integrations.errors import AuthError
from atom.integrations.errors import CursorExpired
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from plugins.dropbox import payloads
from plugins.dropbox.schemas import CONTENT_URL
from plugins.dropbox.schemas import FileParams
from plugins.dropbox.schemas import check_name
from plugins.dropbox.schemas import check_path
from plugins.dropbox.schemas import file_ref

API_ARG = "Dropbox-API-Arg"
API_RESULT = "Dropbox-API-Result"
SIGNATURE = "X-Dropbox-Signature"
# /files/upload takes at most 150 MB; so does each upload-session request. Content up to one
# chunk is one request, larger content a session. Dropbox recommends multiples of 4 MB.
CHUNK_KIB = 8 * 1024
MAX_CHUNK = 150 * 1024 * 1024
MAX_UPLOAD_MB = 25
# list_folder's ``limit`` is 1..2000 and approximate ("slightly more entries" may come: verify).
PAGE_LIMIT = 2000
# Pages a poll reads (the rest waits for the next poll) and a priming listing reads.
MAX_POLL_PAGES = 20
MAX_PRIME_PAGES = 20
# The SDK waits 5 s when a 429 names no wait.
DEFAULT_RETRY_AFTER = 5.0

# The first tag of a 409's ``error_summary``, by the input field it is about. Routes whose
# argument names the path otherwise (``from_path``, ``to_path``) are not used here.
FIELD_OF_TAG = {"path": "path", "path_lookup": "path", "path_write": "path",
                "reset": "cursor", "settings_error": "audience"}
# Endpoint errors that say "slow down": retried after a wait, like a 429.
CONTENTION = frozenset({"too_many_write_operations", "too_many_requests"})


class DropboxError(ValidationFailed):
    """A 409 endpoint error: ``summary`` is ``error_summary`` (``path/not_found/..``), ``error``
    the structured union (``{".tag": "path", "path": {".tag": "not_found"}}``)."""

    def __init__(self, message: str, *, summary: str, error: dict[str, Any], **kwargs: Any):
        super().__init__(message, **kwargs)
        self.summary = summary
        self.error = error

    @property
    def tags(self) -> list[str]:
        return _tags(self.summary)


def _tags(summary: str) -> list[str]:
    """The union tags of an ``error_summary`` (``path/not_found/..``: it ends in dots, and
    what follows the tags is free text, not to be parsed)."""
    return [t for t in summary.split("/") if t and t.strip(".")]


def _route(response: requests.Response) -> str:
    path = urlsplit(response.request.url or "").path if response.request is not None else ""
    return path.split("/2/", 1)[-1] if "/2/" in path else path.lstrip("/")


def classify(response: requests.Response) -> None:
    """Raise the error a Dropbox answer means (see the module docstring for the statuses)."""
    status = response.status_code
    if status < 400:
        return
    route = _route(response)
    body = json_or_empty(response)
    summary = str(body.get("error_summary") or "")
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    where = f"Dropbox {route}"
    if status == 400:  # "Bad input parameter": plain text naming the problem
        raise ValidationFailed(f"{where}: bad input: {snippet(response, 300)}", status=status,
                               details={"_request": [snippet(response, 300)]})
    if status == 401:
        # expired_access_token is refreshed by the client before this sees it (once).
        raise AuthError(f"{where}: the access token was refused "
                        f"({summary.rstrip('/.') or 'invalid_access_token'}); reconnect Dropbox",
                        status=status)
    if status == 403:
        raise AuthError(f"{where}: no access ({summary or snippet(response)})", status=status)
    if status == 429 or (status == 409 and set(summary.split("/")) & CONTENTION):
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None and isinstance(error.get("retry_after"), (int, float)):
            wait = float(error["retry_after"])
        raise RateLimited(f"{where}: rate limited ({summary or 'too_many_requests'})",
                          status=status, retry_after=wait or DEFAULT_RETRY_AFTER)
    if status == 409:
        tags = _tags(summary)
        field = FIELD_OF_TAG.get(tags[0] if tags else "", "_request")
        reason = "/".join(tags[1:] if field != "_request" and len(tags) > 1 else tags) or "error"
        raise DropboxError(f"{where}: {summary.rstrip('/.') or 'endpoint error'}", status=status,
                           summary=summary, error=error, details={field: [reason]})
    if status >= 500:
        raise UpstreamError(f"{where} answered {status}", status=status,
                            retry_after=parse_retry_after(response.headers.get("Retry-After")))
    raise UpstreamError(f"{where} answered {status}: {snippet(response)}", status=status,
                        permanent=True)


def _body(response: requests.Response, route: str) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        raise UpstreamError(f"Dropbox {route} answered without JSON", permanent=True) from None
    if not isinstance(answer, dict):
        raise UpstreamError(f"Dropbox {route} answered {type(answer).__name__}, not an object",
                            permanent=True)
    return answer


def _renamed(exc: ValidationFailed, names: dict[str, str]) -> ValidationFailed:
    """``exc`` with its field names replaced (a path error of copy_file is its folder_id)."""
    exc.details = {names.get(k, k): v for k, v in exc.details.items()}
    return exc


def _lookahead(pieces: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """``(piece, is_last)`` for each piece, holding one piece ahead."""
    current = next(pieces, None)
    if current is None:
        yield b"", True
        return
    for following in pieces:
        yield current, False
        current = following
    yield current, True


class DropboxIntegration(Integration):
    # -- client wiring ----------------------------------------------------------------------

    def content_url(self) -> str:
        url = self.connection.settings.get("content_url") or CONTENT_URL
        return url if url.endswith("/") else url + "/"

    def extra_origins(self) -> list[str]:
        return [self.content_url()]

    def raise_for_response(self, response: requests.Response) -> None:
        classify(response)

    def health_check(self) -> None:
        account = self._rpc("users/get_current_account", None)
        if not account.get("account_id"):
            raise UpstreamError("users/get_current_account answered without an account_id; "
                                "is base_url Dropbox's API (https://api.dropboxapi.com/2/)?",
                                permanent=True)

    def oauth_connected(self) -> dict[str, Any]:
        """The account the tokens belong to: webhook notifications name accounts."""
        base = self.base_url().rstrip("/") + "/"
        response = self.http.post(base + "users/get_current_account", idempotent=True,
                                  operation="users/get_current_account")
        account = _body(response, "users/get_current_account").get("account_id")
        return {"account_id": account} if isinstance(account, str) and account else {}

    # -- actions ----------------------------------------------------------------------------

    def upload_file(self, data: dict[str, Any]) -> dict[str, Any]:
        text = data.get("content_text")
        content = text.encode() if text is not None else data["content_base64"]
        field = "content_text" if text is not None else "content_base64"
        limit = int(self.connection.settings.get("max_upload_mb") or MAX_UPLOAD_MB) << 20
        if len(content) > limit:
            raise ValidationFailed(f"the content is larger than this connection's "
                                   f"{limit >> 20} MB upload limit",
                                   details={field: [f"at most {limit >> 20} MB"]})
        name = data["path"].rsplit("/", 1)[-1]
        stream = files.from_bytes(content, name, "text/plain" if text is not None
                                  else "application/octet-stream")
        return self._save(stream, data["path"], mode=data["mode"],
                          autorename=data["autorename"], mute=data["mute"])

    def create_folder(self, data: dict[str, Any]) -> dict[str, Any]:
        made = self._rpc("files/create_folder_v2", {"path": data["path"],
                                                    "autorename": data["autorename"]})
        return payloads.entry(made.get("metadata") or {}, "folder")

    def list_folder(self, data: dict[str, Any]) -> dict[str, Any]:
        """Pages of ``list_folder`` and ``list_folder/continue`` up to ``max_items``. When the
        last page is cut short, the cursor returned is the one that page was read with, so a
        listing continued from it may repeat entries but never skips one."""
        wanted = data["max_items"]
        if data.get("cursor"):
            page = self._rpc("files/list_folder/continue", {"cursor": data["cursor"]},
                             idempotent=True)
        else:
            page = self._rpc("files/list_folder", {
                "path": data["path"], "recursive": data["recursive"],
                "include_deleted": data["include_deleted"],
                "limit": min(wanted, PAGE_LIMIT)}, idempotent=True)
        entries: list[dict[str, Any]] = []
        before = data.get("cursor")
        while True:
            listed = [e for e in page.get("entries") or [] if isinstance(e, dict)]
            room = wanted - len(entries)
            if len(listed) > room:
                entries += listed[:room]
                cursor, more = before, True
                if cursor is None:  # cut inside the first page: its cursor is all there is
                    cursor = page.get("cursor")
                break
            entries += listed
            cursor, more = page.get("cursor"), bool(page.get("has_more"))
            if not more or len(entries) >= wanted:
                break
            before = cursor
            page = self._rpc("files/list_folder/continue", {"cursor": cursor}, idempotent=True)
        out = [payloads.entry(e) for e in entries]
        return {"entries": out, "count": len(out), "cursor": cursor, "has_more": more}

    def get_metadata(self, data: dict[str, Any]) -> dict[str, Any]:
        return payloads.entry(self._rpc("files/get_metadata", {
            "path": data["path"], "include_deleted": data["include_deleted"]}, idempotent=True))

    def delete(self, data: dict[str, Any]) -> dict[str, Any]:
        gone = self._rpc("files/delete_v2", {"path": data["path"]})
        return payloads.entry(gone.get("metadata") or {})

    def create_shared_link(self, data: dict[str, Any]) -> dict[str, Any]:
        """``sharing/create_shared_link_with_settings``; when the file already has a link,
        Dropbox answers 409 ``shared_link_already_exists`` (with the link's metadata in newer
        answers): that link is returned as it is, whatever settings were asked for."""
        settings: dict[str, Any] = {}
        if data.get("audience"):
            settings["audience"] = data["audience"]
        if data.get("expires") is not None:
            settings["expires"] = data["expires"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if data.get("allow_download") is not None:
            settings["allow_download"] = data["allow_download"]
        arg: dict[str, Any] = {"path": data["path"]}
        if settings:
            arg["settings"] = settings
        try:
            # Safe to repeat: a second call finds the link the first made.
            return payloads.shared_link(self._rpc("sharing/create_shared_link_with_settings",
                                                  arg, idempotent=True))
        except DropboxError as exc:
            if not exc.tags or exc.tags[0] != "shared_link_already_exists":
                raise
            found = (exc.error.get("shared_link_already_exists") or {}).get("metadata")
            if isinstance(found, dict) and found.get("url"):
                return payloads.shared_link(found)
        links = self._rpc("sharing/list_shared_links", {"path": data["path"],
                                                         "direct_only": True}, idempotent=True)
        for link in links.get("links") or []:
            if isinstance(link, dict) and link.get("url"):
                return payloads.shared_link(link)
        raise UpstreamError("Dropbox says the file has a shared link but lists none",
                            permanent=True)

    # -- files (atom.integrations.files) ------------------------------------------------------

    def open_file(self, file_id: str) -> files.FileStream:
        """``files/download`` streamed; its metadata comes in the ``Dropbox-API-Result``
        header. ``file_id`` is a path, an id (``id:...``) or a revision (``rev:...``)."""
        try:
            path = file_ref(file_id)
        except ValidationError as exc:
            raise ValidationFailed("not a Dropbox file", details={
                "source_file_id": exc.messages}) from exc
        try:
            response = self._content("files/download", {"path": path}, None, idempotent=True,
                                     stream=True)
        except ValidationFailed as exc:
            raise _renamed(exc, {"path": "source_file_id"}) from exc
        try:
            meta = json.loads(response.headers.get(API_RESULT) or "")
            name = str(meta["name"])
            size = meta.get("size")
        except (ValueError, KeyError, TypeError):
            response.close()
            raise UpstreamError(f"files/download answered without a {API_RESULT} header",
                                permanent=True) from None
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return files.from_response(response, name, mime,
                                   size if isinstance(size, int) and size >= 0 else None)

    def save_file(self, stream: files.FileStream, folder_id: str | None,
                  name: str) -> dict[str, Any]:
        """Save ``stream`` as ``<folder_id>/<name>`` (mode add, renamed on a conflict)."""
        try:
            folder = check_path(folder_id or "", root=True)
        except ValidationError as exc:
            raise ValidationFailed("not a Dropbox folder", details={
                "folder_id": exc.messages}) from exc
        try:
            check_name(name)
        except ValidationError as exc:
            raise ValidationFailed("not a Dropbox file name", details={"name": exc.messages}
                                   ) from exc
        try:
            return self._save(stream, f"{folder}/{name}", mode="add", autorename=True)
        except ValidationFailed as exc:
            raise _renamed(exc, {"path": "folder_id"}) from exc

    def _chunk(self) -> int:
        kib = int(self.connection.settings.get("upload_chunk_kib") or CHUNK_KIB)
        return min(kib * 1024, MAX_CHUNK)

    def _save(self, stream: files.FileStream, path: str, *, mode: str, autorename: bool,
              mute: bool = False) -> dict[str, Any]:
        """Content up to one chunk: ``files/upload``. Larger: ``upload_session/start`` with
        the first chunk, ``append_v2`` with each next one at its offset, ``finish`` with the
        last and the commit. At most two chunks are held at once.

        Writes in mode ``add`` are not retried after a server error (with autorename a retry
        could make a second file); ``overwrite`` is. Appends are retried: an append that
        arrived already is answered ``incorrect_offset`` with the offset just past it, which
        counts as done (https://www.dropbox.com/developers/documentation/http/documentation#files-upload_session-append).
        """
        commit = {"path": path, "mode": mode, "autorename": autorename, "mute": mute,
                  "strict_conflict": False}
        again = mode == "overwrite"
        pieces = _lookahead(iter(stream.pieces(self._chunk())))
        first, last = next(pieces)
        if last:
            made = self._content("files/upload", commit, first, idempotent=again)
            return payloads.entry(_body(made, "files/upload"), "file")
        # Opening a session saves nothing: safe to repeat (an unused session expires).
        opened = self._content("files/upload_session/start", {"close": False}, first,
                               idempotent=True)
        session = _body(opened, "files/upload_session/start").get("session_id")
        if not isinstance(session, str) or not session:
            raise UpstreamError("upload_session/start answered without a session_id",
                                permanent=True)
        offset = len(first)
        for piece, last in pieces:
            cursor = {"session_id": session, "offset": offset}
            if last:
                made = self._content("files/upload_session/finish",
                                     {"cursor": cursor, "commit": commit}, piece,
                                     idempotent=again)
                return payloads.entry(_body(made, "files/upload_session/finish"), "file")
            self._append(cursor, piece)
            offset += len(piece)
        raise AssertionError("unreachable: the last piece finishes the session")

    def _append(self, cursor: dict[str, Any], piece: bytes, resend: bool = True) -> None:
        """Append ``piece`` at ``cursor``'s offset. Answered ``incorrect_offset``: at the
        offset just past the piece, it had arrived (a retry after a lost answer); inside
        the piece, part of it had (rclone met this, its fix parses ``correct_offset`` too):
        the rest is sent once from there; anywhere else the upload cannot go on."""
        try:
            self._content("files/upload_session/append_v2", {"cursor": cursor, "close": False},
                          piece, idempotent=True)
        except DropboxError as exc:
            if exc.tags[:1] == ["incorrect_offset"]:
                correct = (exc.error.get("correct_offset") if exc.error else None)
                start, end = cursor["offset"], cursor["offset"] + len(piece)
                if correct == end:
                    return  # a retry of an append Dropbox had received
                if resend and isinstance(correct, int) and start < correct < end:
                    self._append({**cursor, "offset": correct}, piece[correct - start:],
                                 resend=False)
                    return
                raise UpstreamError(f"the upload session is at offset {correct}, not "
                                    f"{cursor['offset']}: upload again", status=409,
                                    permanent=True) from exc
            if exc.tags[:1] in (["not_found"], ["closed"]):
                raise UpstreamError(f"the upload session ended ({exc.summary}): upload again",
                                    status=409, permanent=True) from exc
            raise

    # -- triggers ---------------------------------------------------------------------------

    def poll_file_added(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        return self._poll("added", params, cursor)

    def poll_file_changed(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        return self._poll("changed", params, cursor)

    def _poll(self, kind: str, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        """Files under the folder since the ``list_folder`` cursor ``cursor``.

        Priming: file_added lists the folder (its files are the current state: seen, not
        fired; a later edit of one never fires as added), its final cursor the next one; a
        folder too large to list in :data:`MAX_PRIME_PAGES` pages takes
        ``list_folder/get_latest_cursor`` instead. file_changed takes the latest cursor
        (each revision fires once, so nothing needs to be seen). Later polls read
        ``list_folder/continue`` (files only: folders and deletions are left out); a cursor
        Dropbox answers ``reset`` is expired: the trigger primes again.
        """
        try:
            p = FileParams().load(dict(params or {}))
        except ValidationError as exc:
            raise ValidationFailed("invalid trigger parameters",
                                   details=exc.normalized_messages()) from exc
        arg = {"path": p["path"], "recursive": p["recursive"], "include_deleted": False}
        if cursor is None:
            if kind == "changed":
                return PollPage([], self._latest_cursor(arg))
            page = self._rpc("files/list_folder", {**arg, "limit": PAGE_LIMIT}, idempotent=True)
            seen = _files(page)
            for _ in range(MAX_PRIME_PAGES - 1):
                if not page.get("has_more"):
                    return PollPage(seen, str(page["cursor"]))
                page = self._continue(str(page["cursor"]))
                seen += _files(page)
            if not page.get("has_more"):
                return PollPage(seen, str(page["cursor"]))
            return PollPage(seen, self._latest_cursor(arg))
        found: list[dict[str, Any]] = []
        for _ in range(MAX_POLL_PAGES):
            page = self._continue(cursor)
            found += _files(page)
            cursor = str(page["cursor"])
            if not page.get("has_more"):
                break
        if kind == "added":  # added then edited within one poll: one item, its last state
            latest: dict[str, dict[str, Any]] = {}
            for f in found:
                latest.pop(f["id"], None)
                latest[f["id"]] = f
            found = list(latest.values())
        return PollPage(found, cursor)

    def _latest_cursor(self, arg: dict[str, Any]) -> str:
        got = self._rpc("files/list_folder/get_latest_cursor", arg, idempotent=True)
        if not got.get("cursor"):
            raise UpstreamError("get_latest_cursor answered without a cursor", permanent=True)
        return str(got["cursor"])

    def _continue(self, cursor: str) -> dict[str, Any]:
        try:
            return self._rpc("files/list_folder/continue", {"cursor": cursor}, idempotent=True)
        except DropboxError as exc:
            if exc.tags[:1] == ["reset"]:
                raise CursorExpired("cursor expired: Dropbox reset the list_folder cursor",
                                    status=409) from exc
            raise

    # -- webhooks ---------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Dropbox's two requests (https://www.dropbox.com/developers/reference/webhooks):

        - the verification ``GET ?challenge=...``: the challenge is echoed as it is, as
          ``text/plain`` with ``X-Content-Type-Options: nosniff`` (so no browser reads it as
          HTML);
        - a notification ``POST`` signed with ``X-Dropbox-Signature`` (hex HMAC-SHA256 of the
          body with the app secret) that lists the accounts with changes
          (``{"list_folder": {"accounts": [...]}, "delta": {"users": [...]}}``) and no more:
          when it is genuine and names this connection's account (or the account is not
          known), the file triggers poll now. The changes reach workflows through the polls.

        A notification that fails the signature goes on to the receiver, which refuses it.
        Dropbox signs no timestamp; a replayed notification only makes the triggers poll
        again, which fires nothing new.
        """
        if req.method == "GET":
            values = parse_qs(urlsplit(req.url).query).get("challenge") or []
            challenge = values[0] if len(values) == 1 else ""
            if not challenge or len(challenge) > 512 or not challenge.isascii() \
                    or not challenge.isprintable():
                return None
            return Handshake(status=200, body=challenge, headers={
                "Content-Type": "text/plain", "X-Content-Type-Options": "nosniff"})
        if req.method != "POST" or SIGNATURE not in req.headers:
            return None
        try:
            verify("dropbox_sha256", req, self.webhook_secret())
        except SignatureError:
            return None
        try:
            body = json.loads(req.body)
        except ValueError:
            return Handshake(status=200)
        accounts = (body.get("list_folder") or {}).get("accounts") if isinstance(body, dict) \
            else None
        mine = self.connection.settings.get("account_id")
        if mine and isinstance(accounts, list) and mine not in accounts:
            return Handshake(status=200)
        return Handshake(status=200,
                         poll_now=tuple(t.name for t in self.manifest.poll_triggers()))

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """Notifications carry no events (see :meth:`webhook_handshake`)."""
        return []

    # -- requests ---------------------------------------------------------------------------

    def _rpc(self, route: str, arg: dict[str, Any] | None, *, idempotent: bool = False
             ) -> dict[str, Any]:
        """An RPC route on the API host: the argument as the JSON body (none for a route
        without one, as the reference's examples send it)."""
        kwargs: dict[str, Any] = {} if arg is None else {"json": arg}
        response = self.http.post(route, idempotent=idempotent, operation=route, **kwargs)
        return _body(response, route)

    def _content(self, route: str, arg: dict[str, Any], data: bytes | None, *,
                 idempotent: bool, stream: bool = False) -> requests.Response:
        """A content route on the content host: the argument in ``Dropbox-API-Arg``, the
        bytes as the body (upload routes: ``application/octet-stream``; download: none)."""
        headers = {API_ARG: payloads.api_arg(arg)}
        if data is not None:
            headers["Content-Type"] = "application/octet-stream"
        return self.http.post(self.content_url() + route, data=data, headers=headers,
                              idempotent=idempotent, operation=route, stream=stream)


def _files(page: dict[str, Any]) -> list[dict[str, Any]]:
    if not page.get("cursor"):
        raise UpstreamError("list_folder answered without a cursor", permanent=True)
    return [payloads.entry(e) for e in page.get("entries") or []
            if isinstance(e, dict) and e.get(".tag") == "file" and e.get("id")]
