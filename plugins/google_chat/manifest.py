"""Google Chat: send and update messages, read and list messages, list spaces; a poll trigger
for new messages in a space. A connection is OAuth2, or an incoming webhook URL that can only
send messages to its space."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import STR
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.google_chat.samples import MESSAGE_POSTED
from plugins.google_chat.schemas import GetMessageInput
from plugins.google_chat.schemas import GoogleChatCredentials
from plugins.google_chat.schemas import ListMessagesInput
from plugins.google_chat.schemas import ListSpacesInput
from plugins.google_chat.schemas import NewMessageParams
from plugins.google_chat.schemas import SendMessageInput
from plugins.google_chat.schemas import UpdateMessageInput
from plugins.google_common import google_oauth2

_SCOPES = "https://www.googleapis.com/auth/"
_MESSAGE = obj(required=("name",), name=STR, space=STR, thread=maybe(STR), thread_reply=BOOL,
               text=STR, argument_text=maybe(STR), create_time=maybe(STR),
               last_update_time=maybe(STR),
               sender=maybe(obj(name=maybe(STR), display_name=maybe(STR), type=maybe(STR))),
               client_message_id=maybe(STR),
               about="name is the message's resource name: spaces/{space}/messages/{id}")
_SPACE = obj(required=("name",), name=STR, display_name=maybe(STR), type=maybe(STR),
             threaded=maybe(BOOL), uri=maybe(STR), create_time=maybe(STR),
             external_users_allowed=maybe(BOOL))

MANIFEST = Manifest(
    slug="google_chat",
    display_name="Google Chat",
    category="communication",
    description="Send messages to a space (text or cards, in a thread), update, read and list "
                "messages, list spaces; react to new messages in a space (polled). An incoming "
                "webhook URL connection only sends messages, without OAuth.",
    docs_url="https://developers.google.com/workspace/chat/api/reference/rest",
    # OAuth2 (the connect flow) sends "Authorization: Bearer". A connection without tokens but
    # with an incoming webhook URL gets no auth from this declaration: its URL carries its own
    # key and token, and the integration posts to it as it is (see integration.py). So the
    # webhook needs no signer, and the contract connection (OAuth2) runs every action.
    auth=AuthScheme(
        kind="oauth2", fields=GoogleChatCredentials,
        oauth2=google_oauth2(_SCOPES + "chat.messages", _SCOPES + "chat.spaces.readonly")),
    integration="plugins.google_chat.integration:GoogleChatIntegration",
    base_url="https://chat.googleapis.com",
    aliases=("gchat", "hangouts chat", "google chat space", "google hangouts chat"),
    # Writes are limited to 60 a minute per space (shared by every app in it) and reads to
    # 900; a project gets 3,000 message writes and reads a minute.
    rate_limit=RateLimit(per_second=1, burst=10),
    actions=(
        Action("send_message", "Send a message", SendMessageInput, _MESSAGE,
               example={"space": "spaces/AAAAb4Cd3fE", "text": "Deploy 42 is live :rocket:",
                        "thread_key": "deploy-42"},
               description="Sent with a requestId Chat de-duplicates on, so a retried request "
                           "posts once. In a thread with thread_key or thread.",
               words=("post", "message", "tell", "notify", "ping", "announce", "say",
                      "reply in thread", "send to chat")),
        Action("update_message", "Update a message", UpdateMessageInput, _MESSAGE,
               example={"name": "spaces/AAAAb4Cd3fE/messages/BBBBx1.BBBBx1",
                        "text": "Deploy 42 is live (updated)"},
               idempotent=True, words=("edit message", "update message", "change message")),
        Action("get_message", "Get a message", GetMessageInput, _MESSAGE,
               example={"name": "spaces/AAAAb4Cd3fE/messages/BBBBx1.BBBBx1"},
               idempotent=True, read_only=True, words=("get message", "read message")),
        Action("list_messages", "List a space's messages", ListMessagesInput,
               listing("messages", _MESSAGE, space=STR),
               # Mock servers answer every page with the same page token: one page only.
               example={"space": "spaces/AAAAb4Cd3fE", "newest_first": True, "max_items": 1},
               idempotent=True, read_only=True,
               words=("space history", "read messages", "recent messages")),
        Action("list_spaces", "List spaces", ListSpacesInput, listing("spaces", _SPACE),
               example={"types": ["SPACE"], "max_items": 1},
               idempotent=True, read_only=True, words=("spaces", "rooms", "list spaces")),
    ),
    triggers=(
        Trigger("message_posted", "New message in a space", MESSAGE_POSTED, _MESSAGE,
                delivery=Poll("poll_messages", cursor="createTime", item_id="name",
                              interval_s=60),
                params=NewMessageParams,
                description="Polls spaces.messages.list for messages created after the newest "
                            "one seen (OAuth2 connections; the user must be in the space). "
                            "Apps' messages only with include_bots.",
                words=("new message", "message posted", "someone posts", "message in")),
    ),
    contract=Contract("openapi", "google_chat.json",
                      notes="The spec's paths carry /v1 and its server is the root URL."),
)
