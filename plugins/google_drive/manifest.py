"""Google Drive: upload files, create folders, search, share; file-added trigger."""
from __future__ import annotations

from atom.integrations import files
from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.google_common import GoogleCredentials
from plugins.google_common import google_oauth2
from plugins.google_drive.samples import FILE_ADDED
from plugins.google_drive.schemas import CreateFolderInput
from plugins.google_drive.schemas import DriveSettings
from plugins.google_drive.schemas import FileAddedParams
from plugins.google_drive.schemas import GetFileInput
from plugins.google_drive.schemas import ListFilesInput
from plugins.google_drive.schemas import ShareFileInput
from plugins.google_drive.schemas import TrashFileInput
from plugins.google_drive.schemas import UploadFileInput

_USER = obj(emailAddress=STR, displayName=STR)
_FILE = obj(required=("id",), id=STR, name=STR, mimeType=STR, parents=arr(STR),
            webViewLink=STR, webContentLink=STR, iconLink=STR,
            size=STR | {"description": "bytes, as a string (int64)"},
            createdTime=STR, modifiedTime=STR, trashed=BOOL, driveId=STR, description=STR,
            owners=arr(_USER), lastModifyingUser=_USER,
            about="a Drive file (Drive's field names)")
_FOLDER = "0B9xYzFolder0123456789abcdef"
_FILE_ID = "1Z7mPq9vXk3LrT0aBcDeFgHiJkLmNoPqR"

MANIFEST = Manifest(
    slug="google_drive",
    display_name="Google Drive",
    category="storage",
    description="Upload files (multipart or resumable), create folders, search and list "
                "files, share them, read metadata, trash; react to files added to a folder.",
    docs_url="https://developers.google.com/workspace/drive/api/reference/rest/v3",
    auth=AuthScheme(kind="oauth2", fields=GoogleCredentials, oauth2=google_oauth2(
        # Every file, not only those ATOM made (drive.file): folders are watched and searched.
        "https://www.googleapis.com/auth/drive")),
    integration="plugins.google_drive.integration:GoogleDriveIntegration",
    # The host root: uploads live at /upload/drive/v3 beside /drive/v3.
    base_url="https://www.googleapis.com/",
    aliases=("gdrive", "drive", "google docs folder"),
    settings=DriveSettings,
    # Per-user quotas are generous (hundreds of calls a second); stay polite.
    rate_limit=RateLimit(per_second=10, burst=20),
    actions=(
        Action("upload_file", "Upload a file", UploadFileInput, _FILE,
               example={"name": "notes.txt", "parent_id": _FOLDER,
                        "content_text": "Meeting notes: ship on Friday."},
               description="Content as text or base64, up to the connection's max_upload_mb "
                           "(25 by default); above 5 MB through a resumable session. Not "
                           "retried after a server error (it could make a second file).",
               words=("upload", "save file", "store file", "put in drive", "add file")),
        Action("create_folder", "Create a folder", CreateFolderInput, _FILE,
               example={"name": "Invoices 2024", "parent_id": _FOLDER},
               words=("new folder", "create folder", "make a folder")),
        Action("list_files", "Search files", ListFilesInput, listing("files", _FILE),
               example={"folder_id": _FOLDER, "name_contains": "report", "max_items": 1},
               idempotent=True, read_only=True,
               description="Simple filters are combined into Drive's query with the values "
                           "escaped; query adds raw Drive syntax.",
               words=("find file", "search drive", "list files", "files in folder")),
        Action("get_file", "Get file details", GetFileInput, _FILE,
               example={"file_id": _FILE_ID}, idempotent=True, read_only=True,
               words=("file details", "file info", "get file")),
        Action("share_file", "Share a file", ShareFileInput,
               obj(required=("id", "file_id"), id=STR, file_id=STR, type=maybe(STR),
                   role=maybe(STR), emailAddress=maybe(STR), domain=maybe(STR),
                   displayName=maybe(STR)),
               example={"file_id": _FILE_ID, "role": "reader", "type": "user",
                        "email_address": "grace@example.com"},
               idempotent=True,
               words=("share", "give access", "grant access", "invite to file", "permission")),
        files.copy_action(_FILE, folder="a Drive folder id (My Drive when absent)",
                          words=("back up to drive", "save to drive")),
        Action("trash_file", "Move a file to the trash", TrashFileInput, _FILE,
               example={"file_id": _FILE_ID}, idempotent=True,
               words=("delete file", "trash", "remove file")),
    ),
    triggers=(
        Trigger("file_added", "File added to a folder", FILE_ADDED, _FILE,
                delivery=Poll("poll_file_added", cursor="newStartPageToken", item_id="id",
                              interval_s=60),
                params=FileAddedParams,
                description="A file is created in, uploaded to or moved into the folder "
                            "(each file fires once; files already there never do).",
                words=("new file", "file added", "file uploaded", "new document in folder",
                       "someone uploads")),
    ),
    contract=Contract("openapi", "google_drive.json"),
)
