"""Sample payloads of the Box triggers (pure data): a V2 webhook delivery's ``source``, shaped
like every item (plugins.box.payloads.item), with the delivery under ``event``. From the
example payload of https://developer.box.com/guides/webhooks/v2/ ("Payload body")."""
from __future__ import annotations

_JOHN = {"id": "226067247", "name": "John Q. Developer", "login": "johnq@dev.name"}

FILE_UPLOADED = {
    "id": "73835521473",
    "type": "file",
    "name": "Test-Image-3.png",
    "size": 26458,
    "sha1": "2c61623e86bee78e6ab444af456bccc7a1164095",
    "etag": "0",
    "sequence_id": "0",
    "description": "",
    "created_at": "2016-07-11T10:10:32-07:00",
    "modified_at": "2016-07-11T10:10:32-07:00",
    "content_created_at": "2016-06-08T11:14:04-07:00",
    "content_modified_at": "2016-06-08T11:14:04-07:00",
    "trashed_at": None,
    "item_status": "active",
    "parent": {"id": "8290188973", "name": "Webhooks"},
    "path": "All Files/Testing/Webhooks Base/Webhooks",
    "shared_link": None,
    "created_by": _JOHN,
    "modified_by": _JOHN,
    "event": {"id": "eb0c4e06-751f-442c-86f8-fd5bb404dbec", "trigger": "FILE.UPLOADED",
              "created_at": "2016-07-11T10:10:32-07:00", "webhook_id": "53",
              "created_by": _JOHN},
}


def _like(trigger: str, **item) -> dict:
    return {**FILE_UPLOADED, **item, "event": {**FILE_UPLOADED["event"], "trigger": trigger}}


FILE_TRASHED = _like("FILE.TRASHED", item_status="trashed",
                     trashed_at="2016-07-12T09:01:11-07:00")
FILE_DELETED = _like("FILE.DELETED", item_status="deleted",
                     trashed_at="2016-07-12T09:01:11-07:00")
FILE_MOVED = _like("FILE.MOVED", parent={"id": "2614853901", "name": "Testing"},
                   path="All Files/Testing")
FOLDER_CREATED = {
    "id": "8290188973", "type": "folder", "name": "Webhooks", "etag": "0", "sequence_id": "0",
    "description": "", "size": 0, "created_at": "2016-07-11T10:09:02-07:00",
    "modified_at": "2016-07-11T10:09:02-07:00", "trashed_at": None, "item_status": "active",
    "parent": {"id": "8290186265", "name": "Webhooks Base"},
    "path": "All Files/Testing/Webhooks Base", "shared_link": None,
    "created_by": _JOHN, "modified_by": _JOHN,
    "event": {**FILE_UPLOADED["event"], "id": "1c4e3d77-8a58-4fe4-9c3b-2f7ab8a1e0d2",
              "trigger": "FOLDER.CREATED"},
}
