"""Requests to Dropbox's two hosts, and files moving in and out in chunks.

RPC routes live on the API host (the connection's ``base_url``, ``https://api.dropboxapi.com/2/``)
and take a JSON body; content routes live on the content host (``content_url``,
``https://content.dropboxapi.com/2/``: a second origin the credentials may go to, see
:meth:`DropboxTransfer.extra_origins`) and take their argument in the ``Dropbox-API-Arg``
header, with the bytes as the body ("Request and response formats",
https://www.dropbox.com/developers/documentation/http/documentation#formats).

Uploads: one ``files/upload`` up to a chunk, else an upload session: ``upload_session/start``,
``append_v2`` at each offset, ``finish`` with the commit
(https://www.dropbox.com/developers/documentation/http/documentation#files-upload_session-start,
https://developers.dropbox.com/dbx-performance-guide). Each request carries at most 150 MB.
"""
from __future__ import annotations

import json
import mimetypes
from typing import Any
from typing import Iterator

import requests
from marshmallow import ValidationError

from atom.integrations import files
from atom.integrations.base import Integration
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from plugins.dropbox import payloads
from plugins.dropbox.errors import DropboxError
from plugins.dropbox.errors import body
from plugins.dropbox.errors import renamed
from plugins.dropbox.schemas import CONTENT_URL
from plugins.dropbox.schemas import check_name
from plugins.dropbox.schemas import check_path
from plugins.dropbox.schemas import file_ref

API_ARG = "Dropbox-API-Arg"
API_RESULT = "Dropbox-API-Result"
# /files/upload takes at most 150 MB; so does each upload-session request. Content up to one
# chunk is one request, larger content a session. Dropbox recommends multiples of 4 MB.
CHUNK_KIB = 8 * 1024
MAX_CHUNK = 150 * 1024 * 1024


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


class DropboxTransfer(Integration):
    """The hosts, the requests to them, and ``open_file``/``save_file``."""

    def content_url(self) -> str:
        url = self.connection.settings.get("content_url") or CONTENT_URL
        return url if url.endswith("/") else url + "/"

    def extra_origins(self) -> list[str]:
        return [self.content_url()]

    def _rpc(self, route: str, arg: dict[str, Any] | None, *, idempotent: bool = False
             ) -> dict[str, Any]:
        """An RPC route on the API host: the argument as the JSON body; a route without one
        gets ``null``, as the official SDK sends a void argument."""
        kwargs: dict[str, Any] = ({"data": b"null", "headers": {"Content-Type": "application/json"}}
                                  if arg is None else {"json": arg})
        response = self.http.post(route, idempotent=idempotent, operation=route, **kwargs)
        return body(response, route)

    def _content(self, route: str, arg: dict[str, Any], data: bytes | None, *,
                 idempotent: bool, stream: bool = False) -> requests.Response:
        """A content route on the content host: the argument in ``Dropbox-API-Arg``, the
        bytes as the body (upload routes: ``application/octet-stream``; download: none)."""
        headers = {API_ARG: payloads.api_arg(arg)}
        if data is not None:
            headers["Content-Type"] = "application/octet-stream"
        return self.http.post(self.content_url() + route, data=data, headers=headers,
                              idempotent=idempotent, operation=route, stream=stream)

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
            raise renamed(exc, {"path": "source_file_id"}) from exc
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
            raise renamed(exc, {"path": "folder_id"}) from exc

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
            return payloads.entry(body(made, "files/upload"), "file")
        # Opening a session saves nothing: safe to repeat (an unused session expires).
        opened = self._content("files/upload_session/start", {"close": False}, first,
                               idempotent=True)
        session = body(opened, "files/upload_session/start").get("session_id")
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
                return payloads.entry(body(made, "files/upload_session/finish"), "file")
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
