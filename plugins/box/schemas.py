"""Credentials, settings and action inputs of the Box plugin.

Ids: Box file and folder ids are decimal strings (``"0"`` is the root folder); they go into URL
paths, so they are checked strictly here (and percent-encoded again in the integration).
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

# Box ids are decimal (files, folders, users, enterprises); 20 digits is past 64 bits already.
ID = validate.Regexp(r"^[0-9]{1,20}\Z", error="a Box id: digits only, such as 123456789 "
                                                "(0 is the root folder)")
# https://developer.box.com/reference/post-folders/ ("name"): 1-255 characters, no
# non-printable ASCII, no / or \, no trailing space, not "." or "..".
NAME = [validate.Length(min=1, max=255),
        validate.Regexp(r"^(?!\.{1,2}\Z)[^\x00-\x1f\x7f/\\]*(?<! )\Z",
                        error="1-255 characters without / or \\, control characters or a "
                              "trailing space, and not . or ..")]
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
MIME_RE = re.compile(rf"^{_TOKEN}/{_TOKEN}\Z")
MIME = validate.Regexp(MIME_RE, error="a MIME type such as text/csv")
_PEM = re.compile(r"^\s*-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+"
                  r"-----END [A-Z ]*PRIVATE KEY-----\s*\Z")
_SECRET = {"secret": True}


class Base64(fields.String):
    """Standard or URL-safe base64, padded or not, loaded as bytes."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bytes:
        text = re.sub(r"\s+", "", super()._deserialize(value, attr, data, **kwargs))
        text = text.replace("-", "+").replace("_", "/")
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError("not base64") from exc


def _pem(value: str) -> None:
    if not _PEM.match(value):
        raise ValidationError("a PEM private key (-----BEGIN ... PRIVATE KEY----- ...), as in "
                              "the app's config JSON (boxAppSettings.appAuth.privateKey)")


class BoxCredentials(OAuth2Tokens):
    """OAuth2 tokens of the connect flow (or a developer token pasted as ``access_token``), or
    server authentication of a Box Platform app: Client Credentials Grant or JWT.

    https://developer.box.com/guides/authentication/client-credentials/ and
    https://developer.box.com/guides/authentication/jwt/jwt-setup/ (the app's config JSON
    holds clientID, clientSecret, publicKeyID, privateKey, passphrase and enterpriseID).
    """

    auth_mode = fields.String(
        validate=validate.OneOf(("client_credentials", "jwt")),
        metadata={"description": "Server authentication without the connect flow: "
                                 "client_credentials (Client Credentials Grant) or jwt"})
    client_id = fields.String(validate=validate.Length(min=1, max=200),
                              metadata={"description": "The app's client id"})
    client_secret = fields.String(validate=validate.Length(min=1, max=500),
                                  metadata={**_SECRET, "description": "The app's client secret"})
    subject_type = fields.String(
        load_default="enterprise", validate=validate.OneOf(("enterprise", "user")),
        metadata={"description": "Act as the enterprise's service account or as one user"})
    subject_id = fields.String(validate=ID, metadata={
        "description": "The enterprise id (or the user id for subject_type user)",
        "example": "1234567"})
    public_key_id = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "JWT: the id of the app's public key (publicKeyID)"})
    private_key = fields.String(validate=[validate.Length(max=20_000), _pem], metadata={
        **_SECRET, "description": "JWT: the app's private key, PEM (privateKey)",
        "example": "-----BEGIN ENCRYPTED PRIVATE KEY-----\ncontract\n"
                   "-----END ENCRYPTED PRIVATE KEY-----"})
    private_key_passphrase = fields.String(validate=validate.Length(max=500), metadata={
        **_SECRET, "description": "JWT: the private key's passphrase (passphrase)"})
    webhook_primary_key = fields.String(validate=validate.Length(min=1, max=500), metadata={
        **_SECRET, "description": "Webhooks: the app's primary signature key"})
    webhook_secondary_key = fields.String(validate=validate.Length(min=1, max=500), metadata={
        **_SECRET, "description": "Webhooks: the app's secondary signature key (either key "
                                  "verifies a delivery, so one can be rotated at a time)"})

    @validates_schema
    def _complete(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        if partial:
            return
        if data.get("access_token"):
            return
        mode = data.get("auth_mode")
        if mode is None:
            raise ValidationError("give access_token (connect flow or developer token) or "
                                  "auth_mode for server authentication", field_name="auth_mode")
        needed = ["client_id", "client_secret", "subject_id"]
        if mode == "jwt":
            needed += ["public_key_id", "private_key"]
        missing = {n: [f"required with auth_mode {mode}"] for n in needed if not data.get(n)}
        if missing:
            raise ValidationError(missing)


class BoxSettings(Schema):
    upload_url = fields.Url(
        require_tld=False, schemes={"http", "https"},
        metadata={"destination": True,
                  "description": "Box's upload API (default https://upload.box.com/api/2.0/)"})
    chunked_upload_above_kib = fields.Integer(
        validate=validate.Range(min=1, max=50 * 1024),
        metadata={"description": "Files larger than this go through a chunked upload session "
                                 "(default 51200, Box's 50 MB; Box refuses sessions for files "
                                 "under 20 MB, so lower it only against a test double)"})


class UploadFileInput(Schema):
    name = fields.String(required=True, validate=NAME)
    folder_id = fields.String(load_default="0", validate=ID,
                              metadata={"description": "The folder to upload into (0: the "
                                                       "root, All Files)"})
    content_text = fields.String(validate=validate.Length(max=1024 * 1024 * 1024))
    content_base64 = Base64(metadata={"description": "The bytes, base64-encoded"})
    mime_type = fields.String(validate=MIME, metadata={
        "description": "Default text/plain for content_text, else application/octet-stream"})

    @validates_schema
    def _one_content(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("content_text" in data) == ("content_base64" in data):
            raise ValidationError("give content_text or content_base64",
                                  field_name="content_text")


class CreateFolderInput(Schema):
    name = fields.String(required=True, validate=NAME)
    parent_id = fields.String(load_default="0", validate=ID,
                              metadata={"description": "The folder to create it in (0: root)"})


class ListItemsInput(Schema):
    folder_id = fields.String(load_default="0", validate=ID)
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000))
    sort = fields.String(validate=validate.OneOf(("id", "name", "date", "size")), metadata={
        "description": "Sort order (listed with offset paging, which Box caps at 10,000)"})
    direction = fields.String(validate=validate.OneOf(("ASC", "DESC")))


class FileRef(Schema):
    file_id = fields.String(required=True, validate=ID)


class CreateSharedLinkInput(FileRef):
    access = fields.String(validate=validate.OneOf(("open", "company", "collaborators")),
                           metadata={"description": "Who may use the link (default: the "
                                                    "enterprise's default)"})
    password = fields.String(validate=validate.Length(min=8, max=100), metadata={
        "secret": True, "description": "Only with access open; at least 8 characters with a "
                                       "number, an upper-case letter or a symbol"})
    unshared_at = fields.AwareDateTime(format="iso", metadata={
        "description": "When the link expires (paid accounts)"})
    can_download = fields.Boolean()

    @validates_schema
    def _password_needs_open(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("password") and data.get("access") not in ("open", None):
            raise ValidationError("a password can only be set on an open link",
                                  field_name="password")


# The Box triggers this plugin's triggers listen for (plugins.box.integration.TRIGGERS).
WEBHOOK_TRIGGERS = ("FILE.UPLOADED", "FILE.TRASHED", "FILE.DELETED", "FILE.MOVED",
                    "FOLDER.CREATED")


class CreateWebhookInput(Schema):
    target_id = fields.String(required=True, validate=ID, metadata={
        "description": "The folder (or file) to watch"})
    target_type = fields.String(load_default="folder",
                                validate=validate.OneOf(("folder", "file")))
    triggers = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_TRIGGERS)),
                           load_default=lambda: ["FILE.UPLOADED"],
                           validate=validate.Length(min=1, max=len(WEBHOOK_TRIGGERS)),
                           metadata={"description": "Box trigger names (default FILE.UPLOADED)"})
    address = fields.Url(schemes={"https"}, metadata={
        "description": "Where Box delivers (default: this connection's ATOM webhook URL)"})
