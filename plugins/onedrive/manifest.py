"""OneDrive (Graph v1.0 drive items): upload files (simple or through an upload session),
create folders, list children, read, share and delete items, copy files in from other
connections; new and changed files from the drive's delta feed, nudged by Graph change
notifications."""
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
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.microsoft_common import AUTHORIZE_URL
from plugins.microsoft_common import GRAPH_URL
from plugins.microsoft_common import TOKEN_URL
from plugins.onedrive.samples import FILE_ADDED
from plugins.onedrive.samples import FILE_CHANGED
from plugins.onedrive.samples import FILE_ID
from plugins.onedrive.samples import FOLDER_ID
from plugins.onedrive.schemas import CreateFolderInput
from plugins.onedrive.schemas import CreateShareLinkInput
from plugins.onedrive.schemas import FileParams
from plugins.onedrive.schemas import ItemInput
from plugins.onedrive.schemas import ListChildrenInput
from plugins.onedrive.schemas import OneDriveCredentials
from plugins.onedrive.schemas import OneDriveSettings
from plugins.onedrive.schemas import RenewSubscriptionInput
from plugins.onedrive.schemas import SubscribeChangesInput
from plugins.onedrive.schemas import UploadFileInput

_S = maybe(STR)
_ITEM = obj(required=("id",), about="a driveItem (file or folder)",
            id=STR, name=_S, size=maybe(INT), mime_type=_S, is_folder=BOOL,
            child_count=maybe(INT), web_url=_S, created_at=maybe(TIME), modified_at=maybe(TIME),
            created_by=_S, modified_by=_S, parent_id=_S, drive_id=_S, path=_S, e_tag=_S,
            c_tag=_S)
_CHANGED = obj(required=("id", "change_key"), **_ITEM["properties"],
               change_key=STR | {"description": "<id>@<eTag>: new for each version"})
_LINK = obj(required=("item_id",), id=_S, item_id=STR, type=_S, scope=_S, web_url=_S,
            roles=arr(STR), expires_at=maybe(TIME))
_SUBSCRIPTION = obj(required=("id",), id=STR, resource=_S, change_type=_S,
                    notification_url=_S, expires_at=maybe(TIME))
_FILE_WORDS = ("new file", "file added", "file uploaded", "someone uploads", "new document")

MANIFEST = Manifest(
    slug="onedrive",
    display_name="OneDrive",
    category="storage",
    description="Upload files to OneDrive or a SharePoint library (large files through upload "
                "sessions), create folders, list folders, share links, delete items and copy "
                "files in from other services; react to new and changed files (delta feed, "
                "nudged by Graph change notifications).",
    docs_url="https://learn.microsoft.com/graph/api/resources/onedrive",
    auth=AuthScheme(
        kind="oauth2", fields=OneDriveCredentials,
        oauth2=OAuth2Spec(
            authorize_url=AUTHORIZE_URL, token_url=TOKEN_URL,
            # Delegated; Files.ReadWrite.All also reaches files shared with the user and
            # SharePoint libraries the user can open.
            scopes=("offline_access", "Files.ReadWrite.All"),
            pkce=True)),
    integration="plugins.onedrive.integration:OneDriveIntegration",
    base_url=GRAPH_URL,
    aliases=("onedrive", "one drive", "microsoft onedrive", "onedrive for business",
             "sharepoint files", "sharepoint documents"),
    # SharePoint/OneDrive budgets are resource units per app and tenant, and change; Graph
    # sends RateLimit-Remaining/-Reset near the limit and 429/503 with Retry-After past it.
    rate_limit=RateLimit(per_second=8, burst=16),
    settings=OneDriveSettings,
    actions=(
        Action("upload_file", "Upload a file", UploadFileInput, _ITEM,
               example={"file_id": FILE_ID, "content_text": "Meeting notes: ship on Friday."},
               description="Content as text or base64: a new file (name, folder_id, "
                           "conflict_behavior rename by default) or new content for file_id. "
                           "Up to 4 MiB in one PUT, larger through an upload session. Not "
                           "retried after a server error unless it replaces.",
               words=("upload", "save file", "store file", "put in onedrive", "add file",
                      "update file")),
        Action("create_folder", "Create a folder", CreateFolderInput, _ITEM,
               example={"name": "Invoices 2024", "folder_id": FOLDER_ID},
               words=("new folder", "create folder", "make a folder")),
        Action("list_children", "List a folder", ListChildrenInput,
               listing("items", _ITEM, folder_id=STR),
               example={"folder_id": FOLDER_ID, "max_items": 1}, idempotent=True,
               read_only=True, words=("list files", "files in folder", "folder contents",
                                      "what is in the folder")),
        Action("get_item", "Get file or folder details", ItemInput, _ITEM,
               example={"item_id": FILE_ID}, idempotent=True, read_only=True,
               words=("file details", "file info", "get file")),
        Action("create_share_link", "Create a sharing link", CreateShareLinkInput, _LINK,
               example={"item_id": FILE_ID, "type": "view", "scope": "organization"},
               idempotent=True,
               description="A view or edit link for anyone (anonymous) or the organisation; "
                           "an existing link of the same kind is returned as it is.",
               words=("share", "share link", "sharing link", "get a link", "link to file")),
        Action("delete_item", "Delete a file or folder", ItemInput,
               obj(required=("id", "deleted"), id=STR, deleted=BOOL, found=BOOL),
               example={"item_id": FILE_ID}, idempotent=True,
               description="Moves it to the recycle bin; an item already gone counts as "
                           "deleted (found: false).",
               words=("delete file", "remove file", "trash", "delete folder")),
        Action("subscribe_changes", "Subscribe to drive changes", SubscribeChangesInput,
               _SUBSCRIPTION,
               example={"notification_url": "https://atom.example.com/hooks/onedrive/1"},
               description="A Graph subscription on the drive root (needs client_state): each "
                           "notification makes the file triggers poll at once. Renew it "
                           "before it expires (at most 42,300 minutes).",
               words=("subscribe", "watch drive", "push notifications")),
        Action("renew_subscription", "Renew a subscription", RenewSubscriptionInput,
               _SUBSCRIPTION, example={"subscription_id": "9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c"},
               idempotent=True, words=("renew subscription", "extend subscription")),
        files.copy_action(_ITEM, folder="the OneDrive folder id (the drive root when absent)",
                          words=("save to onedrive", "back up to onedrive")),
    ),
    triggers=(
        Trigger("file_added", "File added", FILE_ADDED, _ITEM,
                delivery=Poll("poll_file_added", cursor="@odata.deltaLink", item_id="id",
                              interval_s=60),
                params=FileParams,
                description="A file is created, uploaded or copied into the drive (or a "
                            "folder); each fires once. Files moved in are not new.",
                words=_FILE_WORDS),
        Trigger("file_changed", "File changed", FILE_CHANGED, _CHANGED,
                delivery=Poll("poll_file_changed", cursor="@odata.deltaLink",
                              item_id="change_key", interval_s=60),
                params=FileParams,
                description="A file's content or properties change after it was made (each "
                            "version fires once).",
                words=("file changed", "file modified", "file edited", "document updated")),
    ),
    # Notifications only nudge the polls: the scheme checks every clientState.
    webhook=WebhookSpec(scheme="graph_client_state", secret_field="client_state"),
    contract=Contract(
        "openapi", "msgraph.json",
        notes="Graph v1.0 OneDrive subset: it has id-addressed items, children, content, "
              "createUploadSession and subscriptions, but no path addressing "
              "(items/{parent}:/{name}:/content, used for new files), no createLink and no "
              "delta; those run against tests/plugins/onedrive/fake.py, as does the "
              "uploadUrl (ranges) and the download redirect.",
        outside_spec=("create_share_link", "copy_file")),
)
