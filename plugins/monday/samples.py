"""Sample webhook deliveries of the monday.com triggers (pure data).

Shapes and field names follow the sample payloads of the webhooks reference
(https://developer.monday.com/api-reference/reference/webhooks): each delivery is
``{"event": {...}}`` with the event's ``type``, ids as numbers and ``triggerUuid`` unique per
event. A stored event is that body as it is.
"""
from __future__ import annotations

ITEM_CREATED = {"event": {
    "userId": 9603417, "originalTriggerUuid": None, "boardId": 1771812698,
    "pulseId": 1772099344, "pulseName": "Create_item webhook", "groupId": "topics",
    "groupName": "Group Title", "groupColor": "#579bfc", "isTopGroup": True, "columnValues": {},
    "app": "monday", "type": "create_pulse", "triggerTime": "2021-10-11T09:07:28.210Z",
    "subscriptionId": 73759690, "triggerUuid": "b5ed2e17c530f43668de130142445cba"}}

COLUMN_VALUE_CHANGED = {"event": {
    "userId": 9603417, "originalTriggerUuid": None, "boardId": 1771812698, "groupId": "topics",
    "pulseId": 1771812728, "pulseName": "Create_item webhook", "columnId": "date4",
    "columnType": "date", "columnTitle": "Date",
    "value": {"date": "2021-10-11", "icon": None, "time": None}, "previousValue": None,
    "changedAt": 1633943701.9457765, "isTopGroup": True, "app": "monday",
    "type": "update_column_value", "triggerTime": "2021-10-11T09:15:03.429Z",
    "subscriptionId": 73760484, "triggerUuid": "645fc8d8709d35718f1d2ac7fe2f6ee4"}}

STATUS_CHANGED = {"event": {
    "userId": 9603417, "originalTriggerUuid": None, "boardId": 1771812698, "groupId": "topics",
    "pulseId": 1771812728, "pulseName": "Create_item webhook", "columnId": "status",
    "columnType": "color", "columnTitle": "Status",
    "value": {"label": {"index": 1, "text": "Done",
                        "style": {"color": "#00c875", "border": "#00b461",
                                  "var_name": "green-shadow"}, "is_done": True},
              "post_id": None},
    "previousValue": {"label": {"index": 0, "text": "Working on it",
                                "style": {"color": "#fdab3d", "border": "#e99729",
                                          "var_name": "orange"}, "is_done": False},
                      "post_id": None},
    "changedAt": 1633944017.2812498, "isTopGroup": True, "app": "monday",
    "type": "update_column_value", "triggerTime": "2021-10-11T09:20:18.022Z",
    "subscriptionId": 73760983, "triggerUuid": "e0fb1f4a1e3bc1a4a8a9a2c2b7a3d5f1"}}

UPDATE_CREATED = {"event": {
    "userId": 9603417, "originalTriggerUuid": None, "boardId": 1771812698,
    "pulseId": 1771812728, "body": "<p>create_update webhook</p>",
    "textBody": "create_update webhook", "updateId": 1190616585, "replyId": None,
    "app": "monday", "type": "create_update", "triggerTime": "2021-10-11T09:18:57.098Z",
    "subscriptionId": 73761176, "triggerUuid": "6119292e27abcc571f92e1f1ac09b3fc"}}
