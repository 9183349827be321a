"""The sample payload of the Gmail trigger (pure data).

A Gmail message resource as ``users.messages.get?format=metadata`` returns it
(https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages), with its
``payload.headers`` list turned into ``headers`` by lower-case name (``-`` as ``_``).
"""
from __future__ import annotations

NEW_MESSAGE = {
    "id": "18f4c6d2a7b3e901",
    "threadId": "18f4c6d2a7b3e901",
    "labelIds": ["UNREAD", "IMPORTANT", "CATEGORY_PERSONAL", "INBOX"],
    "snippet": "Hi team, the Q3 report is attached. Let me know if you have questions.",
    "historyId": "4872391",
    "internalDate": "1717171717000",
    "sizeEstimate": 48213,
    "headers": {
        "from": "Ada Lovelace <ada@example.com>",
        "to": "team@example.com",
        "subject": "Q3 report",
        "date": "Fri, 31 May 2024 16:08:37 +0000",
        "message_id": "<CAF8y3Rb2Xq1k9=abc123@mail.gmail.com>",
    },
}
