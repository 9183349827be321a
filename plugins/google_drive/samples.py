"""The sample payload of the Google Drive trigger (pure data).

A Drive File resource (https://developers.google.com/workspace/drive/api/reference/rest/v3/files)
with the fields the plugin asks for; ``size`` is a string (int64), absent for folders and
Google Docs.
"""
from __future__ import annotations

FILE_ADDED = {
    "id": "1Z7mPq9vXk3LrT0aBcDeFgHiJkLmNoPqR",
    "name": "Q3 report.pdf",
    "mimeType": "application/pdf",
    "parents": ["0B9xYzFolder0123456789abcdef"],
    "webViewLink": "https://drive.google.com/file/d/1Z7mPq9vXk3LrT0aBcDeFgHiJkLmNoPqR/view?usp=drivesdk",
    "webContentLink": "https://drive.google.com/uc?id=1Z7mPq9vXk3LrT0aBcDeFgHiJkLmNoPqR&export=download",
    "iconLink": "https://drive-thirdparty.googleusercontent.com/16/type/application/pdf",
    "size": "48213",
    "createdTime": "2024-05-31T16:08:37.512Z",
    "modifiedTime": "2024-05-31T16:08:37.512Z",
    "trashed": False,
    "owners": [{"emailAddress": "ada@example.com", "displayName": "Ada Lovelace"}],
    "lastModifyingUser": {"emailAddress": "ada@example.com", "displayName": "Ada Lovelace"},
}
