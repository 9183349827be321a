"""Settings, credentials, action inputs and trigger parameters of the OneDrive plugin.

Ids that reach a URL path are checked against the characters Graph uses for them (personal
item ids look like ``D4648F06C91D9D3D!54927``, business ones like ``01BYE5RZ6QN3ZWBTUFOFD3GSPG``,
business drive ids like ``b!-RIj2DuyvEyV1T4NlOaMHk8X``): no ``/``, ``%``, ``?`` and never only
dots, so no id walks out of its path segment; the integration also percent-encodes every
segment. Names follow OneDrive's rules for file names.
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
from plugins.microsoft_common import GUID
from plugins.microsoft_common import client_state_field
from plugins.microsoft_common import tenant_field

KIB = 1024
# Graph: every fragment but the last a multiple of 320 KiB, each under 60 MiB.
CHUNK_UNIT_KIB = 320
DEFAULT_CHUNK_KIB = 32 * CHUNK_UNIT_KIB  # 10 MiB, within the 5-10 MiB Graph suggests
SIMPLE_UPLOAD_KIB = 4 * 1024
# A driveItem subscription lives at most 42,300 minutes (just under 30 days).
MAX_SUBSCRIPTION_MINUTES = 42_300

_ID = r"(?=[^.]*[A-Za-z0-9])[A-Za-z0-9!_.-]{1,256}"
ITEM_ID = validate.Regexp(rf"^{_ID}\Z", error="an item id such as 01BYE5RZ6QN3ZWBTUFOFD3GSPG "
                                               "or D4648F06C91D9D3D!54927, or root")
DRIVE = validate.Regexp(rf"^{_ID}\Z", error="me, or a drive id such as b!-RIj2DuyvEyV1T4N")
# OneDrive refuses " * : < > ? / \ | and control characters, and names that are "." or "..",
# or that start or end with a space.
NAME = [validate.Length(min=1, max=255),
        validate.Regexp(r'^(?! )(?!\.{1,2}\Z)[^"*:<>?/\\|\x00-\x1f\x7f]+(?<! )\Z',
                        error='no " * : < > ? / \\ | or control characters, not . or .., no '
                              'leading or trailing space')]
CONFLICT = validate.OneOf(("fail", "replace", "rename"))


def _chunk_unit(value: int) -> None:
    if value % CHUNK_UNIT_KIB:
        raise ValidationError("a multiple of 320 (Graph's fragment unit is 320 KiB)")


class OneDriveSettings(Schema):
    # "common" lets personal Microsoft accounts and work or school accounts sign in (OneDrive
    # has both); a tenant id or domain pins the connection to one organisation.
    tenant = tenant_field("common", "Entra ID tenant for sign-in: common (default; personal "
                                    "and work accounts), organizations, a tenant id or a domain")
    drive = fields.String(load_default="me", validate=DRIVE,
                          metadata={"description": "me (the signed-in user's OneDrive, the "
                                                   "default) or a drive id (a SharePoint "
                                                   "library, another user's drive)"})
    upload_chunk_kib = fields.Integer(
        validate=[validate.Range(min=CHUNK_UNIT_KIB, max=60 * 1024 - CHUNK_UNIT_KIB),
                  _chunk_unit],
        metadata={"description": f"Fragment size of upload sessions in KiB, a multiple of 320 "
                                 f"(default {DEFAULT_CHUNK_KIB})"})
    simple_upload_max_kib = fields.Integer(
        validate=validate.Range(min=0, max=SIMPLE_UPLOAD_KIB),
        metadata={"description": f"Files up to this size go in one PUT; larger ones through "
                                 f"an upload session (default {SIMPLE_UPLOAD_KIB})"})


class OneDriveCredentials(OAuth2Tokens):
    """The delegated tokens of the Entra ID connect flow, and the subscriptions' clientState."""

    client_state = client_state_field()

    _oauth = require_one("access_token")


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


_FOLDER = fields.String(validate=ITEM_ID, metadata={"description": "Folder id (the drive's "
                                                                   "root when absent)"})
_ITEM = fields.String(required=True, validate=ITEM_ID, metadata={"description": "Item id"})


class UploadFileInput(Schema):
    name = fields.String(validate=NAME, metadata={"description": "New file's name, with its "
                                                                 "extension"})
    folder_id = _FOLDER
    file_id = fields.String(validate=ITEM_ID, metadata={
        "description": "Replace this file's content instead of making a new file"})
    content_text = fields.String(validate=validate.Length(max=64 * KIB * KIB))
    content_base64 = Base64(validate=validate.Length(max=64 * KIB * KIB),
                            metadata={"description": "The bytes, base64-encoded"})
    conflict_behavior = fields.String(load_default="rename", validate=CONFLICT, metadata={
        "description": "When the name is taken: rename (default), replace or fail"})

    @validates_schema
    def _target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("content_text" in data) == ("content_base64" in data):
            raise ValidationError("give content_text or content_base64",
                                  field_name="content_text")
        if data.get("file_id"):
            if data.get("name") or data.get("folder_id"):
                raise ValidationError("file_id replaces a file: no name or folder_id with it",
                                      field_name="file_id")
        elif not data.get("name"):
            raise ValidationError("a new file needs a name", field_name="name")


class CreateFolderInput(Schema):
    name = fields.String(required=True, validate=NAME)
    folder_id = _FOLDER
    conflict_behavior = fields.String(load_default="fail", validate=CONFLICT, metadata={
        "description": "When the name is taken: fail (default), rename or replace"})


class ListChildrenInput(Schema):
    folder_id = _FOLDER
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000),
                               metadata={"description": "Stop after this many items"})


class ItemInput(Schema):
    item_id = _ITEM


class CreateShareLinkInput(ItemInput):
    type = fields.String(load_default="view", validate=validate.OneOf(("view", "edit")),
                         metadata={"description": "view (read-only) or edit"})
    scope = fields.String(load_default="anonymous",
                          validate=validate.OneOf(("anonymous", "organization")),
                          metadata={"description": "anonymous (anyone with the link) or "
                                                   "organization (signed-in people of the "
                                                   "tenant; work accounts only)"})
    expires_at = fields.AwareDateTime(format="iso", metadata={
        "description": "When the link stops working (with its offset); anonymous links only"})

    @validates_schema
    def _expiry(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("expires_at") and data.get("scope") != "anonymous":
            raise ValidationError("only anonymous links expire", field_name="expires_at")


class SubscribeChangesInput(Schema):
    notification_url = fields.Url(required=True, schemes={"https"},
                                  validate=validate.Length(max=2048),
                                  metadata={"description": "This connection's ATOM receiver: "
                                                           "https://<atom>/hooks/onedrive/"
                                                           "<connection id>"})
    expiration_minutes = fields.Integer(
        load_default=4320, validate=validate.Range(min=5, max=MAX_SUBSCRIPTION_MINUTES),
        metadata={"description": "Lifetime in minutes (at most 42,300); renew before it ends"})


class RenewSubscriptionInput(Schema):
    subscription_id = fields.String(required=True, validate=validate.Regexp(
        rf"^{GUID}\Z", error="a subscription id (a GUID)"))
    expiration_minutes = fields.Integer(
        load_default=4320, validate=validate.Range(min=5, max=MAX_SUBSCRIPTION_MINUTES))


class FileParams(Schema):
    """What a workflow narrows the file triggers with."""

    folder_id = fields.String(validate=ITEM_ID, metadata={
        "description": "Only files directly in this folder (root for the top level; the whole "
                       "drive when absent)"})
