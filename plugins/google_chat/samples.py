"""Sample payloads of the Google Chat triggers (pure data).

A message as ``spaces.messages.list`` returns it (field names of the Message resource,
https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages), in the
compact shape the poll trigger hands to workflows.
"""
from __future__ import annotations

MESSAGE_POSTED = {
    "name": "spaces/AAAAAAAAAAA/messages/CCCCCCCCCCC.CCCCCCCCCCC",
    "space": "spaces/AAAAAAAAAAA",
    "thread": "spaces/AAAAAAAAAAA/threads/CCCCCCCCCCC",
    "thread_reply": False,
    "text": "Deploy 42 is live :rocket:",
    "argument_text": "Deploy 42 is live :rocket:",
    "create_time": "2024-07-09T15:30:00.123456Z",
    "last_update_time": None,
    "sender": {"name": "users/123456789012345678901", "display_name": "Grace Hopper",
               "type": "HUMAN"},
    "client_message_id": None,
}
