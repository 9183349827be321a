"""Box: upload (multipart or chunked session), folders, listing, shared links, delete, copy in
from other services; webhook triggers for uploads, trash, deletes, moves and new folders."""
from __future__ import annotations

from dataclasses import replace

from atom.integrations import files
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.box import samples
from plugins.box.schemas import BoxCredentials
from plugins.box.schemas import BoxSettings
from plugins.box.schemas import CreateFolderInput
from plugins.box.schemas import CreateSharedLinkInput
from plugins.box.schemas import CreateWebhookInput
from plugins.box.schemas import FileRef
from plugins.box.schemas import ListItemsInput
from plugins.box.schemas import UploadFileInput

_USER = obj(id=STR, name=STR, login=STR)
_LINK = obj(url=STR, download_url=maybe(STR), vanity_url=maybe(STR), access=STR,
            effective_access=STR, unshared_at=maybe(STR), is_password_enabled=BOOL,
            permissions=obj())
_ITEM = obj(required=("id",), about="A Box file or folder (Box's field names)",
            id=STR, type=STR, name=STR, size=INT, sha1=maybe(STR), etag=maybe(STR),
            sequence_id=maybe(STR), description=STR, parent=obj(id=STR, name=maybe(STR)),
            path=STR, created_at=maybe(STR), modified_at=maybe(STR),
            content_created_at=maybe(STR), content_modified_at=maybe(STR),
            trashed_at=maybe(STR), item_status=STR, shared_link=maybe(_LINK),
            created_by=_USER, modified_by=_USER)
_EVENT_ITEM = {**_ITEM, "properties": {**_ITEM["properties"], "event": obj(
    required=("id", "trigger"), id=STR, trigger=STR, created_at=maybe(STR),
    webhook_id=maybe(STR), created_by=maybe(_USER))}}
_FILE_ID = "12345"
_FOLDER_ID = "0"

MANIFEST = Manifest(
    slug="box",
    display_name="Box",
    category="storage",
    description="Upload files (chunked upload sessions for large ones), create folders, list "
                "folder items, share links, delete, copy files in from other services; "
                "webhook triggers signed with Box's primary/secondary keys.",
    docs_url="https://developer.box.com/reference/",
    auth=AuthScheme(
        # Without connect-flow tokens: Client Credentials Grant or JWT (plugins.box.auth).
        kind="custom", fields=BoxCredentials, signer="plugins.box.auth:server_auth",
        oauth2=OAuth2Spec(
            authorize_url="https://account.box.com/api/oauth2/authorize",
            token_url="https://api.box.com/oauth2/token",
            # No scopes asked: a Box app's scopes are set in its configuration, and an
            # authorize request may only narrow them.
            scopes=(),
            # Box documents no PKCE for its authorization-code flow (verify).
            pkce=False,
            # https://developer.box.com/guides/authentication/tokens/refresh/: a refresh token
            # works once and each refresh answers with a new one (valid 60 days).
            rotating_refresh=True,
        ),
    ),
    integration="plugins.box.integration:BoxIntegration",
    base_url="https://api.box.com/2.0/",
    aliases=("box", "box.com", "box drive", "box folder"),
    settings=BoxSettings,
    # ~1,000 requests a minute per user, uploads 240 a minute
    # (https://developer.box.com/guides/api-calls/permissions-and-errors/rate-limits/).
    rate_limit=RateLimit(per_second=12, burst=20),
    actions=(
        Action("upload_file", "Upload a file", UploadFileInput, _ITEM,
               example={"name": "notes.txt", "folder_id": _FOLDER_ID,
                        "content_text": "Meeting notes: ship on Friday."},
               description="Content as text or base64; above the connection's chunked "
                           "threshold (50 MB) through a chunked upload session. Not retried "
                           "after a server error (it could make a second file).",
               words=("upload", "save file", "store file", "put in box", "add file")),
        Action("create_folder", "Create a folder", CreateFolderInput, _ITEM,
               example={"name": "Invoices 2024", "parent_id": _FOLDER_ID},
               words=("new folder", "create folder", "make a folder")),
        Action("list_items", "List a folder's items", ListItemsInput, listing("items", _ITEM),
               example={"folder_id": _FOLDER_ID, "max_items": 1},
               idempotent=True, read_only=True,
               description="Files, folders and web links in a folder, paged with markers "
                           "(offsets when sorted), up to max_items.",
               words=("list files", "files in folder", "folder contents", "list folder")),
        Action("get_file", "Get file details", FileRef, _ITEM,
               example={"file_id": _FILE_ID}, idempotent=True, read_only=True,
               words=("file details", "file info", "get file")),
        Action("create_shared_link", "Create a shared link", CreateSharedLinkInput,
               {**_ITEM, "properties": {**_ITEM["properties"], "url": maybe(STR)}},
               example={"file_id": _FILE_ID, "access": "open", "can_download": True},
               idempotent=True,
               words=("share", "share link", "shared link", "public link", "link to file")),
        Action("delete_file", "Delete a file", FileRef,
               obj(required=("id", "deleted"), id=STR, deleted=BOOL),
               example={"file_id": _FILE_ID}, idempotent=True,
               description="Moves the file to Box's trash.",
               words=("delete file", "trash", "remove file")),
        Action("create_webhook", "Watch a folder (webhook)", CreateWebhookInput,
               obj(required=("id",), id=STR, address=STR, triggers=arr(STR),
                   target=obj(id=STR, type=STR)),
               example={"target_id": "12345", "target_type": "folder",
                        "triggers": ["FILE.UPLOADED"],
                        "address": "https://atom.example.com/hooks/box/1"},
               description="Box delivers the chosen triggers to this connection's webhook URL "
                           "(address: another URL); the app's signature keys verify them.",
               words=("watch folder", "webhook", "notify me of uploads", "subscribe")),
        # The example's source is a Box file (ids are digits): the contract run copies from
        # the connection itself.
        replace(files.copy_action(_ITEM, folder="a Box folder id (0, the root, when absent)",
                                  words=("back up to box", "save to box")),
                example={"source_connection_id": 1, "source_file_id": _FILE_ID,
                         "folder_id": _FOLDER_ID, "name": "invoice.pdf"}),
    ),
    triggers=(
        Trigger("file_uploaded", "File uploaded", samples.FILE_UPLOADED, _EVENT_ITEM,
                description="A file is uploaded to (or copied into) the folder the Box "
                            "webhook watches (trigger FILE.UPLOADED).",
                words=("new file", "file uploaded", "file added", "someone uploads")),
        Trigger("file_trashed", "File moved to the trash", samples.FILE_TRASHED, _EVENT_ITEM,
                description="FILE.TRASHED.", words=("file trashed", "file removed")),
        Trigger("file_deleted", "File deleted", samples.FILE_DELETED, _EVENT_ITEM,
                description="FILE.DELETED: deleted for good.",
                words=("file deleted", "file purged")),
        Trigger("file_moved", "File moved", samples.FILE_MOVED, _EVENT_ITEM,
                description="FILE.MOVED.", words=("file moved",)),
        Trigger("folder_created", "Folder created", samples.FOLDER_CREATED, _EVENT_ITEM,
                description="FOLDER.CREATED.", words=("new folder", "folder created")),
    ),
    # BOX-SIGNATURE-PRIMARY / -SECONDARY over body + BOX-DELIVERY-TIMESTAMP; the integration
    # hands both keys to the scheme. BOX-DELIVERY-ID changes with each retry, so events are
    # de-duplicated on the body's id instead.
    webhook=WebhookSpec(scheme="box_v2", secret_field="webhook_primary_key"),
    contract=Contract("openapi", "box.json"),
)
