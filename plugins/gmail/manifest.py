"""Gmail: send e-mail and drafts, search and read messages, labels; new-message trigger."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.gmail.samples import NEW_MESSAGE
from plugins.gmail.schemas import CreateDraftInput
from plugins.gmail.schemas import GetMessageInput
from plugins.gmail.schemas import ListLabelsInput
from plugins.gmail.schemas import ListMessagesInput
from plugins.gmail.schemas import ModifyLabelsInput
from plugins.gmail.schemas import NewMessageParams
from plugins.gmail.schemas import SendEmailInput
from plugins.google_common import GoogleCredentials
from plugins.google_common import google_oauth2

_SENT = obj(required=("id",), id=STR, threadId=maybe(STR), labelIds=arr(STR))
_HEADERS = {"type": "object", "additionalProperties": STR,
            "description": "header values by lower-case name, '-' written '_' (message_id)"}
_MESSAGE = obj(required=("id",), id=STR, threadId=maybe(STR), labelIds=arr(STR),
               snippet=maybe(STR), historyId=maybe(STR),
               internalDate=maybe(STR) | {"description": "epoch milliseconds, as a string"},
               sizeEstimate=maybe(INT), headers=_HEADERS)
_FULL_MESSAGE = {**_MESSAGE, "properties": {
    **_MESSAGE["properties"], "text": maybe(STR), "html": maybe(STR),
    "attachments": arr(obj(filename=STR, mimeType=maybe(STR), size=maybe(INT),
                           attachmentId=maybe(STR)))}}
_LABEL = obj(required=("id",), id=STR, name=maybe(STR), type=maybe(STR),
             messagesTotal=maybe(INT), messagesUnread=maybe(INT))
_COMPOSE_WORDS = ("e-mail", "email", "mail", "send an email", "write to", "message")

MANIFEST = Manifest(
    slug="gmail",
    display_name="Gmail",
    category="communication",
    description="Send e-mail and drafts, search and read messages, add and remove labels; "
                "react to new messages matching a search.",
    docs_url="https://developers.google.com/workspace/gmail/api/reference/rest",
    auth=AuthScheme(kind="oauth2", fields=GoogleCredentials, oauth2=google_oauth2(
        # Read, compose, send and label mail (not delete permanently).
        "https://www.googleapis.com/auth/gmail.modify")),
    integration="plugins.gmail.integration:GmailIntegration",
    # Paths below are relative to /gmail/v1/ (the spec's paths include it).
    base_url="https://gmail.googleapis.com/gmail/v1/",
    aliases=("google mail", "gmail inbox", "email", "e-mail"),
    # 15,000 quota units a minute per user: messages.get costs 5, messages.send 100.
    rate_limit=RateLimit(per_second=10, burst=20),
    actions=(
        Action("send_email", "Send an e-mail", SendEmailInput, _SENT,
               example={"to": ["ada@example.com"], "subject": "Deploy finished",
                        "text": "Version 1.4.2 is live."},
               description="Sent as the connected account; not retried after a server error "
                           "(Gmail has no idempotency key).",
               words=(*_COMPOSE_WORDS, "send", "reply", "email someone")),
        Action("create_draft", "Create a draft", CreateDraftInput,
               obj(required=("id", "message"), id=STR, message=_SENT),
               example={"to": "Ada Lovelace <ada@example.com>", "subject": "Draft: Q3 report",
                        "text": "Numbers attached.", "html": "<p>Numbers attached.</p>"},
               words=("draft", "draft an email", "prepare an email")),
        Action("list_messages", "Search messages", ListMessagesInput, listing("messages", _MESSAGE),
               example={"query": "from:ada@example.com is:unread", "max_items": 1},
               idempotent=True, read_only=True,
               description="Newest first; with metadata, each message's headers and snippet.",
               words=("search mail", "find emails", "list emails", "inbox", "unread mail")),
        Action("get_message", "Read a message", GetMessageInput, _FULL_MESSAGE,
               example={"id": "18f4c6d2a7b3e901"}, idempotent=True, read_only=True,
               words=("read email", "open email", "get email", "email body")),
        Action("modify_labels", "Add or remove labels", ModifyLabelsInput, _SENT,
               example={"id": "18f4c6d2a7b3e901", "add": ["STARRED"], "remove": ["UNREAD"]},
               idempotent=True,
               description="Labels by id (INBOX, UNREAD, Label_12) or by name.",
               words=("add label", "label", "tag email", "mark as read", "star", "archive")),
        Action("list_labels", "List labels", ListLabelsInput, listing("labels", _LABEL),
               example={"type": "user"}, idempotent=True, read_only=True,
               words=("labels", "folders", "list labels")),
    ),
    triggers=(
        Trigger("new_message", "New message", NEW_MESSAGE, _MESSAGE,
                delivery=Poll("poll_new_message", cursor="historyId", item_id="id",
                              interval_s=60),
                params=NewMessageParams,
                description="A message arrives that matches the search and labels given "
                            "(drafts never; mail this account sends only with include_sent).",
                words=("new email", "email received", "new mail", "incoming email",
                       "someone emails", "email arrives", "email matching")),
    ),
    contract=Contract("openapi", "gmail.json", base_path="/gmail/v1"),
)
