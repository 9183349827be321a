"""Sample payloads of the OneDrive triggers (pure data): the compact driveItem the actions
return, with values in the style of Graph's driveItem reference examples
(https://learn.microsoft.com/graph/api/resources/driveitem)."""
from __future__ import annotations

DRIVE_ID = "b!-RIj2DuyvEyV1T4NlOaMHk8XkS_I8MdFlUCq1BlcjgmhRfAj3-Z8RY2VpuvV_tpd"
FOLDER_ID = "01BYE5RZ4ZVRPZA4QCY5HYCZHH3P3B3BPS"
FILE_ID = "01BYE5RZ6QN3ZWBTUFOFD3GSPGOHDJD36K"

FILE_ADDED = {
    "id": FILE_ID,
    "name": "Q3 report.pdf",
    "size": 48213,
    "mime_type": "application/pdf",
    "is_folder": False,
    "child_count": None,
    "web_url": "https://contoso-my.sharepoint.com/personal/ada_contoso_com/Documents/Reports/"
               "Q3%20report.pdf",
    "created_at": "2024-05-31T16:08:37Z",
    "modified_at": "2024-05-31T16:08:37Z",
    "created_by": "Ada Lovelace",
    "modified_by": "Ada Lovelace",
    "parent_id": FOLDER_ID,
    "drive_id": DRIVE_ID,
    "path": "/drive/root:/Reports",
    "e_tag": "\"{6D8A2CA8-5C51-4B8D-9A4F-7C30F2E4B1A1},1\"",
    "c_tag": "\"c:{6D8A2CA8-5C51-4B8D-9A4F-7C30F2E4B1A1},1\"",
}

FILE_CHANGED = {
    **FILE_ADDED,
    "size": 51377,
    "modified_at": "2024-06-03T09:12:04Z",
    "modified_by": "Grace Hopper",
    "e_tag": "\"{6D8A2CA8-5C51-4B8D-9A4F-7C30F2E4B1A1},3\"",
    "c_tag": "\"c:{6D8A2CA8-5C51-4B8D-9A4F-7C30F2E4B1A1},3\"",
    "change_key": f"{FILE_ID}@\"{{6D8A2CA8-5C51-4B8D-9A4F-7C30F2E4B1A1}},3\"",
}
