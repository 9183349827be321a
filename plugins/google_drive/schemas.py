"""Settings, action inputs and trigger parameters of the Google Drive plugin."""
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

from plugins.google_common import ID

FOLDER_MIME = "application/vnd.google-apps.folder"
_NAME = [validate.Length(min=1, max=1024),
         validate.Regexp(r"^[^\x00-\x1f\x7f]*\Z", error="must not contain control characters")]
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MIME = validate.Regexp(rf"^{_TOKEN}/{_TOKEN}\Z", error="a MIME type such as text/csv")
_ORDER = validate.Regexp(
    r"^(?:(?:createdTime|folder|modifiedByMeTime|modifiedTime|name|name_natural|quotaBytesUsed|"
    r"recency|sharedWithMeTime|starred|viewedByMeTime)(?: desc)?)"
    r"(?:,(?:createdTime|folder|modifiedByMeTime|modifiedTime|name|name_natural|quotaBytesUsed|"
    r"recency|sharedWithMeTime|starred|viewedByMeTime)(?: desc)?){0,5}\Z",
    error="Drive sort keys such as 'folder,modifiedTime desc'")


def _chunk_unit(value: int) -> None:
    if value % 256:
        raise ValidationError("a multiple of 256 (Google's chunk unit is 256 KiB)")


class DriveSettings(Schema):
    max_upload_mb = fields.Integer(validate=validate.Range(min=1, max=1024),
                                   metadata={"description": "Largest content upload_file "
                                                            "accepts (default 25)"})
    upload_chunk_kib = fields.Integer(
        validate=[validate.Range(min=256, max=256 * 1024), _chunk_unit],
        metadata={"description": "Chunk size of resumable uploads (default 8192)"})


def decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    cleaned = re.sub(r"\s+", "", text).replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("not base64") from exc


class Base64(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bytes:
        return decode_base64(super()._deserialize(value, attr, data, **kwargs))


class UploadFileInput(Schema):
    name = fields.String(required=True, validate=_NAME)
    parent_id = fields.String(validate=ID, metadata={"description": "Folder to put it in "
                                                                    "(default: My Drive)"})
    mime_type = fields.String(validate=_MIME, metadata={
        "description": "Default text/plain for content_text, else application/octet-stream"})
    content_text = fields.String(validate=validate.Length(max=1024 * 1024 * 1024))
    content_base64 = Base64(metadata={"description": "The bytes, base64-encoded"})
    description = fields.String(validate=validate.Length(max=4096))
    resumable = fields.Boolean(load_default=False,
                               metadata={"description": "Use a resumable upload session even "
                                                        "for small content (larger content "
                                                        "always does)"})

    @validates_schema
    def _one_content(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("content_text" in data) == ("content_base64" in data):
            raise ValidationError("give content_text or content_base64", field_name="content_text")


class CreateFolderInput(Schema):
    name = fields.String(required=True, validate=_NAME)
    parent_id = fields.String(validate=ID)
    description = fields.String(validate=validate.Length(max=4096))


class ListFilesInput(Schema):
    folder_id = fields.String(validate=ID, metadata={"description": "Only files in this folder"})
    name = fields.String(validate=_NAME, metadata={"description": "Exact name"})
    name_contains = fields.String(validate=_NAME)
    mime_type = fields.String(validate=_MIME, metadata={
        "description": f"{FOLDER_MIME} for folders"})
    modified_after = fields.AwareDateTime(format="iso", metadata={
        "description": "Only files modified after this (with its offset)"})
    trashed = fields.Boolean(load_default=False)
    query = fields.String(validate=[validate.Length(min=1, max=2000), _NAME[1]],
                          metadata={"description": "Drive query syntax, added with 'and' to "
                                                   "the filters above"})
    order_by = fields.String(validate=_ORDER)
    include_all_drives = fields.Boolean(load_default=True,
                                        metadata={"description": "Search shared drives too"})
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000))


class FileRef(Schema):
    file_id = fields.String(required=True, validate=ID)


class GetFileInput(FileRef):
    pass


class TrashFileInput(FileRef):
    pass


class ShareFileInput(FileRef):
    role = fields.String(required=True, validate=validate.OneOf(
        ("reader", "commenter", "writer", "fileOrganizer", "organizer", "owner")))
    type = fields.String(load_default="user",
                         validate=validate.OneOf(("user", "group", "domain", "anyone")))
    email_address = fields.Email(metadata={"description": "For type user or group"})
    domain = fields.String(validate=validate.Regexp(
        r"^(?=.{1,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\Z",
        error="a domain such as example.com"), metadata={"description": "For type domain"})
    allow_discovery = fields.Boolean(metadata={"description": "For anyone or domain: findable "
                                                              "in search"})
    send_notification = fields.Boolean(load_default=True)
    email_message = fields.String(validate=validate.Length(max=2000))

    @validates_schema
    def _grantee(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = data.get("type", "user")
        if kind in ("user", "group") and not data.get("email_address"):
            raise ValidationError(f"a {kind} permission needs email_address",
                                  field_name="email_address")
        if kind == "domain" and not data.get("domain"):
            raise ValidationError("a domain permission needs domain", field_name="domain")
        if data.get("role") == "owner" and kind != "user":
            raise ValidationError("ownership goes to a user", field_name="type")


class FileAddedParams(Schema):
    """What a workflow narrows the file-added trigger with."""

    folder_id = fields.String(required=True, validate=ID,
                              metadata={"description": "The folder watched"})
