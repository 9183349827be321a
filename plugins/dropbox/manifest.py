"""Dropbox: upload, folders, listings with cursors, metadata, shared links, delete, copy files
in from other services; file-added and file-changed triggers."""
from __future__ import annotations

from atom.integrations import files
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import TIME
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.dropbox.samples import FILE
from plugins.dropbox.schemas import CreateFolderInput
from plugins.dropbox.schemas import CreateSharedLinkInput
from plugins.dropbox.schemas import DeleteInput
from plugins.dropbox.schemas import DropboxCredentials
from plugins.dropbox.schemas import DropboxSettings
from plugins.dropbox.schemas import FileParams
from plugins.dropbox.schemas import GetMetadataInput
from plugins.dropbox.schemas import ListFolderInput
from plugins.dropbox.schemas import UploadFileInput

_ENTRY = obj(required=("tag", "name"),
             tag=STR | {"enum": ["file", "folder", "deleted"]}, id=STR, name=STR,
             path_lower=STR, path_display=STR, rev=STR, size=INT | {"description": "bytes"},
             client_modified=TIME, server_modified=TIME, content_hash=STR, is_downloadable=BOOL,
             about="a Dropbox file or folder (Dropbox's field names; .tag is tag)")
_FILE = _ENTRY
_LINK = obj(required=("url",), url=STR, name=STR, id=STR, path_lower=STR, tag=STR,
            expires=maybe(TIME), visibility=maybe(STR), allow_download=maybe(BOOL))
_PATH = "/Reports/Q3 report.pdf"

MANIFEST = Manifest(
    slug="dropbox",
    display_name="Dropbox",
    category="storage",
    description="Upload files (in chunks through an upload session when large), create "
                "folders, list folders with cursors, read metadata, create shared links, "
                "delete, and copy files in from other services; react to files added to or "
                "changed in a folder.",
    docs_url="https://www.dropbox.com/developers/documentation/http/documentation",
    auth=AuthScheme(kind="oauth2", fields=DropboxCredentials, oauth2=OAuth2Spec(
        authorize_url="https://www.dropbox.com/oauth2/authorize",
        token_url="https://api.dropboxapi.com/oauth2/token",
        scopes=("account_info.read", "files.metadata.read", "files.metadata.write",
                "files.content.read", "files.content.write", "sharing.read", "sharing.write"),
        pkce=True,
        # Short-lived access tokens (about 4 h) come with a refresh token only when asked for.
        authorize_params={"token_access_type": "offline"})),
    integration="plugins.dropbox.integration:DropboxIntegration",
    base_url="https://api.dropboxapi.com/2/",
    aliases=("dropbox", "dbx", "my dropbox"),
    settings=DropboxSettings,
    # Dropbox publishes no numbers (verify); writes to one namespace contend
    # (too_many_write_operations), so stay modest.
    rate_limit=RateLimit(per_second=8, burst=16),
    actions=(
        Action("upload_file", "Upload a file", UploadFileInput, _FILE,
               example={"path": "/Notes/meeting.txt",
                        "content_text": "Meeting notes: ship on Friday."},
               description="Content as text or base64, up to the connection's max_upload_mb "
                           "(25 by default); above one chunk (8 MB) through an upload "
                           "session. Mode add (renamed on a conflict unless autorename is "
                           "false) or overwrite. Not retried after a server error in mode add.",
               words=("upload", "save file", "store file", "put in dropbox", "add file")),
        Action("create_folder", "Create a folder", CreateFolderInput, _ENTRY,
               example={"path": "/Invoices 2024"},
               words=("new folder", "create folder", "make a folder")),
        Action("list_folder", "List a folder", ListFolderInput,
               listing("entries", _ENTRY, cursor=maybe(STR), has_more=BOOL),
               example={"path": "/Reports", "max_items": 10}, idempotent=True, read_only=True,
               description="Files and folders in a folder (and its subfolders with "
                           "recursive), paged with Dropbox's cursor; give cursor to go on "
                           "from an earlier listing or to see what changed since.",
               words=("list files", "files in folder", "folder contents", "what is in dropbox")),
        Action("get_metadata", "Get file or folder details", GetMetadataInput, _ENTRY,
               example={"path": _PATH}, idempotent=True, read_only=True,
               words=("file details", "file info", "get file", "does the file exist")),
        Action("create_shared_link", "Create a shared link", CreateSharedLinkInput, _LINK,
               example={"path": _PATH}, idempotent=True,
               description="A link anyone (or the team) can open; when the file already has "
                           "one, that link is returned.",
               words=("share", "share link", "shared link", "get a link", "public link")),
        Action("delete", "Delete a file or folder", DeleteInput, _ENTRY,
               example={"path": "/Old/draft.txt"},
               description="Moves it to Dropbox's deleted files (restorable for a while).",
               words=("delete file", "remove file", "trash", "delete folder")),
        files.copy_action(_FILE, folder="a Dropbox folder path such as /Backups (the root "
                                        "when absent); a name already taken gets ' (1)'",
                          words=("save to dropbox", "back up to dropbox")),
    ),
    triggers=(
        Trigger("file_added", "File added to a folder", FILE, _FILE,
                delivery=Poll("poll_file_added", cursor="cursor", item_id="id", interval_s=300),
                params=FileParams,
                description="A file is uploaded to, created in or moved into the folder; each "
                            "file fires once (files already there never do). Polled from "
                            "Dropbox's list_folder cursor; a signed webhook notification makes "
                            "the poll run at once.",
                words=("new file", "file added", "file uploaded", "new file in dropbox",
                       "someone uploads")),
        Trigger("file_changed", "File added or changed in a folder", FILE, _FILE,
                delivery=Poll("poll_file_changed", cursor="cursor", item_id="rev",
                              interval_s=300),
                params=FileParams,
                description="A file in the folder is added or modified: each new revision "
                            "fires once.",
                words=("file changed", "file updated", "file modified", "new version")),
    ),
    webhook=WebhookSpec(scheme="dropbox_sha256", secret_field="app_secret"),
    contract=Contract("fake", "tests/plugins/dropbox/fake.py",
                      notes="Dropbox publishes no OpenAPI description: a stateful fake of the "
                            "API and content hosts (two loopback ports) following the HTTP "
                            "reference, its docstring citing the page of each behaviour."),
)
