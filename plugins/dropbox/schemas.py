"""Settings, credentials, action inputs and trigger parameters of the Dropbox plugin.

Dropbox names files by path (``/Reports/q3.pdf``), by id (``id:a4ayc_80_OEAAAAAAAAAXw``), by
revision (``rev:a1c10ce0dd78``) or relative to a namespace (``ns:123456/notes.txt``); the root
folder is ``""`` (https://www.dropbox.com/developers/documentation/http/documentation, "Path
formats"). Paths are sent in JSON (RPC bodies, the ``Dropbox-API-Arg`` header), never in a URL,
so no spelling reaches our own URLs; ``.`` and ``..`` segments are refused all the same.
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

CONTENT_URL = "https://content.dropboxapi.com/2/"
# A segment: no "/", no C0 control or DEL (Dropbox refuses those in names, verify the full list).
_SEG = r"[^/\x00-\x1f\x7f]+"
_PATH = re.compile(rf"(?:/{_SEG}(?:/{_SEG})*|id:[A-Za-z0-9_-]{{1,200}}(?:/{_SEG})*"
                   rf"|ns:[0-9]{{1,20}}(?:/{_SEG})*|rev:[0-9a-f]{{9,64}})\Z")
_NAME = re.compile(rf"{_SEG}\Z")
MAX_PATH = 4096


def check_path(value: str, *, root: bool = False) -> str:
    """``value`` as Dropbox takes it ("" for the root when ``root``), or ValidationError."""
    if root and value in ("", "/"):
        return ""
    if len(value) > MAX_PATH or not _PATH.match(value):
        raise ValidationError("a Dropbox path such as /Reports/q3.pdf (starting with /, no "
                              "trailing /), or an id such as id:a4ayc_80_OEAAAAAAAAAXw"
                              + (" ('' or / for the root)" if root else ""))
    parts = value.split("/")
    if any(p in (".", "..") for p in parts[1:]) or any(p != p.rstrip(" ") for p in parts[1:]):
        raise ValidationError("no '.' or '..' segments, and no segment ending with a space")
    if value.startswith("rev:") and root:
        raise ValidationError("a folder, not a file revision")
    return value


_BARE_ID = re.compile(r"[A-Za-z0-9_-]{10,200}\Z")


def file_ref(value: str) -> str:
    """A file to read: a path, an id (``id:...``; the prefix may be left out, as ids are
    often copied without it) or a revision (``rev:...``)."""
    return check_path(f"id:{value}" if _BARE_ID.match(value) else value)


def check_name(value: str) -> str:
    if not _NAME.match(value) or value in (".", "..") or len(value) > 255:
        raise ValidationError("a file name without '/' or control characters (at most 255)")
    return value


class DropboxPath(fields.String):
    """A Dropbox path or id; ``root=True`` also takes ``""``/``"/"`` (sent as ``""``)."""

    def __init__(self, *args: Any, root: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.root = root

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return check_path(super()._deserialize(value, attr, data, **kwargs), root=self.root)


def decode_base64(text: str) -> bytes:
    cleaned = re.sub(r"\s+", "", text).replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("not base64") from exc


class Base64(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bytes:
        return decode_base64(super()._deserialize(value, attr, data, **kwargs))


def _chunk(value: int) -> None:
    if value % 4:
        raise ValidationError("a multiple of 4 KiB (Dropbox recommends multiples of 4 MB: 4096)")


class DropboxSettings(Schema):
    content_url = fields.Url(
        require_tld=False, schemes={"http", "https"},
        metadata={"description": f"Dropbox's content host, for uploads and downloads "
                                 f"(default {CONTENT_URL})", "destination": True})
    account_id = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "The Dropbox account connected (dbid:...), found when the connection is "
                       "authorised; webhook notifications for other accounts poll nothing"})
    upload_chunk_kib = fields.Integer(
        validate=[validate.Range(min=4, max=150 * 1024), _chunk],
        metadata={"description": "Upload chunk size in KiB (default 8192 = 8 MB): content up "
                                 "to one chunk is one /files/upload, larger content goes "
                                 "through an upload session in chunks of this size"})
    max_upload_mb = fields.Integer(validate=validate.Range(min=1, max=1024), metadata={
        "description": "Largest content_text/content_base64 upload_file accepts (default 25); "
                       "copy_file streams any size"})


class DropboxCredentials(OAuth2Tokens):
    """The OAuth2 tokens (short-lived access token, refresh token) and the app secret that
    signs webhook notifications."""

    access_token = fields.String(validate=validate.Length(min=1, max=8192), metadata={
        "secret": True, "description": "OAuth2 access token (sl.…, about 4 hours)",
        "example": "sl.contract-token-0123456789abcdef"})
    app_secret = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "secret": True, "description": "The Dropbox app's secret: it signs webhook "
                                       "notifications (X-Dropbox-Signature)"})

    _access_token = require_one("access_token")


_MODES = ("add", "overwrite")


class UploadFileInput(Schema):
    path = DropboxPath(required=True, validate=validate.Length(min=2, max=MAX_PATH), metadata={
        "description": "Where to save it, with the file name: /Reports/notes.txt"})
    content_text = fields.String(validate=validate.Length(max=1024 * 1024 * 1024))
    content_base64 = Base64(metadata={"description": "The bytes, base64-encoded"})
    mode = fields.String(load_default="add", validate=validate.OneOf(_MODES), metadata={
        "description": "add: never replace a file (see autorename); overwrite: replace it"})
    autorename = fields.Boolean(load_default=True, metadata={
        "description": "With mode add, on a name conflict save as 'notes (1).txt' instead of "
                       "failing"})
    mute = fields.Boolean(load_default=False, metadata={
        "description": "Do not notify the user's desktop clients"})

    @validates_schema
    def _one_content(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("content_text" in data) == ("content_base64" in data):
            raise ValidationError("give content_text or content_base64", field_name="content_text")
        if data.get("path", "").startswith("rev:"):
            raise ValidationError("a path to write to, not a revision", field_name="path")


class CreateFolderInput(Schema):
    path = DropboxPath(required=True, metadata={"description": "The new folder: /Invoices/2024"})
    autorename = fields.Boolean(load_default=False, metadata={
        "description": "On a conflict make 'Invoices (1)' instead of failing"})


class ListFolderInput(Schema):
    path = DropboxPath(root=True, load_default="", metadata={
        "description": "The folder ('' or / for the root)"})
    recursive = fields.Boolean(load_default=False, metadata={"description": "Include subfolders"})
    include_deleted = fields.Boolean(load_default=False)
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000))
    cursor = fields.String(validate=validate.Length(min=1, max=4096), metadata={
        "description": "Go on from the cursor of an earlier listing (path and the flags are "
                       "then those of that listing)"})


class PathInput(Schema):
    path = DropboxPath(required=True, metadata={"description": "A path or id: /Reports/q3.pdf"})


class GetMetadataInput(PathInput):
    include_deleted = fields.Boolean(load_default=False)


class DeleteInput(PathInput):
    pass


class CreateSharedLinkInput(PathInput):
    audience = fields.String(validate=validate.OneOf(("public", "team", "no_one")), metadata={
        "description": "Who may open the link (default: the account's default, usually "
                       "public)"})
    expires = fields.AwareDateTime(format="iso", metadata={
        "description": "When the link stops working (paid accounts)"})
    allow_download = fields.Boolean()


class FileParams(Schema):
    """What a workflow narrows the file triggers with."""

    path = DropboxPath(root=True, load_default="", metadata={
        "description": "The folder watched ('' or / for the whole Dropbox)"})
    recursive = fields.Boolean(load_default=False, metadata={
        "description": "Also files in its subfolders"})
