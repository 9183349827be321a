"""Slack: post and update messages, read channels and users, react; Events API triggers."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.slack.samples import APP_MENTIONED
from plugins.slack.samples import CHANNEL_CREATED
from plugins.slack.samples import MEMBER_JOINED
from plugins.slack.samples import MESSAGE_POSTED
from plugins.slack.samples import REACTION_ADDED
from plugins.slack.schemas import AddReactionInput
from plugins.slack.schemas import CreateChannelInput
from plugins.slack.schemas import GetChannelHistoryInput
from plugins.slack.schemas import ListChannelsInput
from plugins.slack.schemas import ListUsersInput
from plugins.slack.schemas import SendMessageInput
from plugins.slack.schemas import SlackCredentials
from plugins.slack.schemas import UpdateMessageInput

_CHANNEL = obj(required=("id",), id=STR, name=maybe(STR), is_private=BOOL, is_archived=BOOL,
               is_member=maybe(BOOL), num_members=maybe(INT), topic=maybe(STR),
               created=maybe(INT))
_MESSAGE = obj(required=("ts",), ts=STR, user=maybe(STR), bot_id=maybe(STR), text=STR,
               subtype=maybe(STR), thread_ts=maybe(STR), reply_count=INT)
_USER = obj(required=("id",), id=STR, name=maybe(STR), real_name=maybe(STR),
            display_name=maybe(STR), email=maybe(STR), is_bot=BOOL, is_admin=BOOL,
            deleted=BOOL, tz=maybe(STR))
# The Events API envelope as stored; the event itself is under ``event``.
def _envelope(**event: dict) -> dict:
    return obj(required=("type", "event_id", "event"), type=STR, team_id=STR,
               api_app_id=STR, event_id=STR, event_time=INT,
               event=obj(required=("type",), type=STR, event_ts=STR, **event))


_MESSAGE_EVENT = _envelope(channel=STR, user=STR, text=STR, ts=STR, thread_ts=STR)

MANIFEST = Manifest(
    slug="slack",
    display_name="Slack",
    category="communication",
    description="Post and update messages, list channels and users, add reactions; "
                "react to messages, mentions and reactions through the Events API.",
    docs_url="https://docs.slack.dev/reference/methods",
    auth=AuthScheme(
        kind="bearer", fields=SlackCredentials, secret="token",
        oauth2=OAuth2Spec(
            authorize_url="https://slack.com/oauth/v2/authorize",
            token_url="https://slack.com/api/oauth.v2.access",
            scopes=("chat:write", "channels:read", "channels:history", "channels:manage",
                    "groups:read", "groups:write", "users:read", "users:read.email",
                    "reactions:read", "reactions:write", "app_mentions:read"),
            scope_separator=",", pkce=False)),
    integration="plugins.slack.integration:SlackIntegration",
    base_url="https://slack.com/api/",
    aliases=("slack app", "slack workspace", "slack bot", "slack channel"),
    # Most methods used here are Tier 3 (50+ per minute); chat.postMessage allows about one
    # message per second per channel. Raise it per connection with rate_limit_per_second.
    rate_limit=RateLimit(per_second=1, burst=5),
    actions=(
        Action("send_message", "Send a message", SendMessageInput,
               obj(required=("channel", "ts"), channel=STR, ts=STR, thread_ts=maybe(STR),
                   about="ts is the new message's id"),
               example={"channel": "C0123ABCD", "text": "Deploy finished :rocket:"},
               words=("post", "message", "tell", "notify", "ping", "announce", "DM",
                      "direct message", "reply in thread")),
        Action("update_message", "Update a message", UpdateMessageInput,
               obj(required=("channel", "ts"), channel=STR, ts=STR, text=maybe(STR)),
               example={"channel": "C0123ABCD", "ts": "1503435956.000247",
                        "text": "Deploy finished (updated)"},
               idempotent=True, words=("edit message", "update message", "change message")),
        Action("list_channels", "List channels", ListChannelsInput, listing("channels", _CHANNEL),
               example={"types": ["public_channel"], "max_items": 2},
               idempotent=True, read_only=True, words=("channels", "list channels")),
        Action("get_channel_history", "Read a channel's messages", GetChannelHistoryInput,
               listing("messages", _MESSAGE, channel=STR,
                       ) | {"description": "newest first"},
               example={"channel": "C0123ABCD", "max_items": 2},
               idempotent=True, read_only=True,
               words=("channel history", "read messages", "recent messages")),
        Action("list_users", "List users", ListUsersInput, listing("users", _USER),
               example={"max_items": 1},
               idempotent=True, read_only=True, words=("members", "people", "users")),
        Action("add_reaction", "Add a reaction", AddReactionInput,
               obj(required=("channel", "ts", "name"), channel=STR, ts=STR, name=STR,
                   already_reacted=BOOL),
               example={"channel": "C0123ABCD", "ts": "1503435956.000247", "name": "thumbsup"},
               idempotent=True, description="Adding a reaction that is already there succeeds.",
               words=("react", "emoji", "reaction", "thumbs up")),
        Action("create_channel", "Create a channel", CreateChannelInput, _CHANNEL,
               example={"name": "incident-42", "is_private": False},
               words=("new channel", "create channel", "open a channel")),
    ),
    triggers=(
        Trigger("message_posted", "Message posted", MESSAGE_POSTED, _MESSAGE_EVENT,
                description="A new message in a channel the app is in (not the app's own "
                            "posts, edits or deletions).",
                words=("new message", "message posted", "someone posts", "message in")),
        Trigger("app_mentioned", "App mentioned", APP_MENTIONED, _MESSAGE_EVENT,
                words=("mentioned", "mention", "@ mention", "someone mentions")),
        Trigger("reaction_added", "Reaction added", REACTION_ADDED,
                _envelope(user=STR, reaction=STR, item_user=STR,
                          item=obj(type=STR, channel=STR, ts=STR)),
                words=("reaction added", "someone reacts", "emoji reaction")),
        Trigger("channel_created", "Channel created", CHANNEL_CREATED,
                _envelope(channel=obj(required=("id",), id=STR, name=STR, created=INT,
                                      creator=STR)),
                words=("new channel", "channel created")),
        Trigger("member_joined", "Member joined a channel", MEMBER_JOINED, _envelope(user=STR, channel=STR),
                words=("joins a channel", "new member", "member joined")),
    ),
    webhook=WebhookSpec(scheme="slack_v0", secret_field="signing_secret"),
    contract=Contract("openapi", "slack.json"),
)
