"""Files that move between services in chunks, never whole in memory.

A storage plugin that can read files implements :meth:`Integration.open_file`, returning a
:class:`FileStream` (name, size, type and an iterator of byte chunks, usually a streamed
``requests`` response: ``self.http.get(..., stream=True)``). One that can write files
implements :meth:`Integration.save_file`, consuming a stream chunk by chunk (an upload
session for large files) and returning the new file as its manifest describes files, and
declares :func:`copy_action` among its actions. The ``copy_file`` action then copies a file
from any connection whose plugin can read files: "save the attachment to Dropbox", "back up
new Drive files to Box".

The source connection is looked up through :data:`sources`, which the runtime sets while an
action runs (so a plugin never reaches into the database itself).
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from typing import Callable
from typing import Iterable
from typing import Iterator

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.integrations.errors import ValidationFailed

if TYPE_CHECKING:
    from atom.integrations.base import Integration
    from atom.integrations.manifest import Action

# What a download is read in: large enough for few system calls, small next to any memory limit.
READ_CHUNK = 1 << 20

# Resolves a connection id to its live integration while an action runs (set by the runtime).
sources: contextvars.ContextVar[Callable[[int], "Integration"] | None] = contextvars.ContextVar(
    "file_sources", default=None
)


@dataclass
class FileStream:
    """A file being read: its metadata and its bytes, as an iterator of chunks read once.

    ``size`` is None when the source does not say (a sink then uses an upload mode that does
    not need it up front, or refuses). Close it (or use it as a context manager) to release the
    connection it reads from.
    """

    name: str
    size: int | None
    mime_type: str
    chunks: Iterable[bytes]
    closer: Callable[[], None] | None = None
    read: int = field(default=0, init=False)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if chunk:
                self.read += len(chunk)
                yield chunk

    def pieces(self, size: int) -> Iterator[bytes]:
        """The content in pieces of exactly ``size`` bytes (the last may be shorter), as upload
        sessions need (multiples of 256 KiB for Drive, 320 KiB for OneDrive)."""
        return rechunk(self, size)

    def close(self) -> None:
        if self.closer is not None:
            self.closer()
            self.closer = None

    def __enter__(self) -> FileStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def from_response(response: Any, name: str, mime_type: str | None = None,
                  size: int | None = None) -> FileStream:
    """A :class:`FileStream` over a streamed ``requests`` response (``stream=True``); the size
    and type default to the response's ``Content-Length`` and ``Content-Type``."""
    if size is None:
        length = response.headers.get("Content-Length", "")
        size = int(length) if length.isdigit() else None
    mime = mime_type or (response.headers.get("Content-Type") or "").split(";")[0].strip()
    return FileStream(name=name, size=size, mime_type=mime or "application/octet-stream",
                      chunks=response.iter_content(READ_CHUNK), closer=response.close)


def from_bytes(content: bytes, name: str, mime_type: str = "application/octet-stream"
               ) -> FileStream:
    """A stream over content already in memory (a text or base64 upload, a small attachment)."""
    return FileStream(name=name, size=len(content), mime_type=mime_type,
                      chunks=(content[i:i + READ_CHUNK] for i in range(0, len(content), READ_CHUNK)))


def rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Regroup ``chunks`` into pieces of exactly ``size`` bytes; the last may be shorter (and
    an empty input yields nothing). Holds at most one piece plus one chunk."""
    if size <= 0:
        raise ValueError("size must be positive")
    buf = bytearray()
    for chunk in chunks:
        if not buf and len(chunk) == size:
            yield chunk  # already a piece: no copy
            continue
        buf += chunk
        while len(buf) >= size:
            with memoryview(buf) as view:
                piece = bytes(view[:size])
            del buf[:size]
            yield piece
    if buf:
        yield bytes(buf)


class CopyFileInput(Schema):
    source_connection_id = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "the connection to read the file from (Dropbox, Google Drive, "
                                 "Gmail, Box, OneDrive, ...)"})
    source_file_id = fields.String(
        required=True, validate=validate.Length(min=1, max=2048),
        metadata={"description": "the file's id in the source service (for Gmail: "
                                 "<message id>/<attachment id>)"})
    folder_id = fields.String(
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "the folder to save into (the service's root when absent)"})
    name = fields.String(validate=validate.Length(min=1, max=255),
                         metadata={"description": "the new file's name (the source's when absent)"})


def copy_action(output: dict[str, Any], *, folder: str = "the folder id",
                words: tuple[str, ...] = ()) -> Action:
    """The ``copy_file`` action of a storage plugin that implements ``save_file``."""
    from atom.integrations.manifest import Action

    return Action(
        "copy_file", "Copy a file from another service", CopyFileInput, output,
        example={"source_connection_id": 1, "source_file_id": "1Z7mPq9vXk3LrT0aBcDeFgHiJk",
                 "name": "invoice.pdf"},
        description=f"Streams a file from another connection (any storage service, or a Gmail "
                    f"attachment) into this one in chunks, whatever its size; folder_id is "
                    f"{folder}. Not retried after a server error (it could make a second file).",
        words=("copy file", "save the attachment", "back up file", "move file to",
               "transfer file", *words))


def open_source(data: dict[str, Any]) -> FileStream:
    """Open ``data["source_file_id"]`` on the connection ``data["source_connection_id"]``."""
    resolve = sources.get()
    if resolve is None:
        raise ValidationFailed("copying files needs the runtime (no source connections here)")
    source = resolve(data["source_connection_id"])
    if type(source).open_file is _base_open_file():
        raise ValidationFailed(
            f"{source.manifest.display_name} connections cannot be read as files",
            details={"source_connection_id": [f"{source.manifest.slug} cannot read files"]})
    return source.open_file(data["source_file_id"])


def _base_open_file() -> Any:
    from atom.integrations.base import Integration

    return Integration.open_file
