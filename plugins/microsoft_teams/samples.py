"""Sample payloads of the Microsoft Teams triggers (pure data).

Change notifications follow "Get change notifications for messages in Teams channels and
chats" (https://learn.microsoft.com/graph/teams-changenotifications-chatmessage, "Notifications
without resource data"): one element of the delivery's ``value[]``, as stored, which is without
``clientState`` (the connection's secret) and with ``ids``, the ids ATOM reads from
``resource`` so a workflow can reply without parsing it. The polled message is the compact
chatMessage the actions return (https://learn.microsoft.com/graph/api/resources/chatmessage),
with the values of that page's example.
"""
from __future__ import annotations

TEAM_ID = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
CHANNEL_ID = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
CHAT_ID = ("19:8ea0e38b-efb3-4757-924a-5f94061cf8c2_97f62344-57dc-409c-88ad-c4af14158ff5"
           "@unq.gbl.spaces")
TENANT_ID = "2432b57b-0abd-43db-aa7b-16eadd115d34"


def _channel_resource(message_id: str, reply_id: str | None = None) -> str:
    resource = f"teams('{TEAM_ID}')/channels('{CHANNEL_ID}')/messages('{message_id}')"
    return resource + (f"/replies('{reply_id}')" if reply_id else "")


def _notification(subscription_id: str, resource: str, message_id: str,
                  ids: dict[str, str]) -> dict:
    return {
        "subscriptionId": subscription_id,
        "changeType": "created",
        "tenantId": TENANT_ID,
        "subscriptionExpirationDateTime": "2021-02-02T11:26:41.0537895-08:00",
        "resource": resource,
        "resourceData": {
            "id": message_id,
            "@odata.type": "#Microsoft.Graph.chatMessage",
            "@odata.id": resource,
        },
        "ids": ids,
    }


CHANNEL_MESSAGE_POSTED = _notification(
    "9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c", _channel_resource("1612293113399"), "1612293113399",
    {"team_id": TEAM_ID, "channel_id": CHANNEL_ID, "message_id": "1612293113399"})

CHANNEL_REPLY_POSTED = _notification(
    "9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c", _channel_resource("1612293113399", "1612293571238"),
    "1612293571238",
    {"team_id": TEAM_ID, "channel_id": CHANNEL_ID, "message_id": "1612293113399",
     "reply_id": "1612293571238"})

CHAT_MESSAGE_POSTED = _notification(
    "10493aa0-4d29-4df5-bc0c-ef742cc6cd7f", f"chats('{CHAT_ID}')/messages('1612289765949')",
    "1612289765949", {"chat_id": CHAT_ID, "message_id": "1612289765949"})

NEW_CHANNEL_MESSAGE = {
    "id": "1612289992105",
    "message_type": "message",
    "created_at": "2021-02-02T18:19:52Z",
    "last_modified_at": "2021-02-02T18:19:52.105Z",
    "subject": None,
    "content_type": "text",
    "content": "test",
    "from_user_id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2",
    "from_name": "Ramjot Singh",
    "reply_to_id": None,
    "team_id": TEAM_ID,
    "channel_id": CHANNEL_ID,
    "chat_id": None,
    "web_url": None,
}
