"""Slack: post and update messages, read channels and users, react; Events API triggers."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
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

MANIFEST = Manifest(
    slug="slack",
    display_name="Slack",
    category="communication",
    description="Post and update messages, list channels and users, add reactions; "
                "react to messages, mentions and reactions through the Events API.",
    docs_url="https://docs.slack.dev/reference/methods",
    auth=AuthScheme(kind="bearer", fields=SlackCredentials,
                    scopes=("chat:write", "channels:read", "channels:history", "channels:manage",
                            "groups:read", "groups:write", "users:read", "users:read.email",
                            "reactions:read", "reactions:write", "app_mentions:read")),
    integration="plugins.slack.integration:SlackIntegration",
    base_url="https://slack.com/api/",
    aliases=("slack app", "slack workspace", "slack bot"),
    # Most methods used here are Tier 3 (50+ per minute); chat.postMessage allows about one
    # message per second per channel. Raise it per connection with rate_limit_per_second.
    rate_limit=RateLimit(per_second=1, burst=5),
    actions=(
        Action("send_message", "Send a message", SendMessageInput,
               "{channel, ts, thread_ts}: ts is the new message's id"),
        Action("update_message", "Update a message", UpdateMessageInput, "{channel, ts, text}",
               idempotent=True),
        Action("list_channels", "List channels", ListChannelsInput,
               "{channels: [{id, name, is_private, is_archived, is_member, num_members, topic, "
               "created}], count}", idempotent=True, read_only=True),
        Action("get_channel_history", "Read a channel's messages", GetChannelHistoryInput,
               "{channel, messages: [{ts, user, bot_id, text, subtype, thread_ts, reply_count}], "
               "count}, newest first", idempotent=True, read_only=True),
        Action("list_users", "List users", ListUsersInput,
               "{users: [{id, name, real_name, display_name, email, is_bot, is_admin, deleted, "
               "tz}], count}", idempotent=True, read_only=True),
        Action("add_reaction", "Add a reaction", AddReactionInput,
               "{channel, ts, name, already_reacted}", idempotent=True,
               description="Adding a reaction that is already there succeeds."),
        Action("create_channel", "Create a channel", CreateChannelInput,
               "the new channel: {id, name, is_private, ...}"),
    ),
    triggers=(
        Trigger("message_posted", "Message posted", MESSAGE_POSTED,
                description="A new message in a channel the app is in (not the app's own "
                            "posts, edits or deletions)."),
        Trigger("app_mentioned", "App mentioned", APP_MENTIONED),
        Trigger("reaction_added", "Reaction added", REACTION_ADDED),
        Trigger("channel_created", "Channel created", CHANNEL_CREATED),
        Trigger("member_joined", "Member joined a channel", MEMBER_JOINED),
    ),
    webhook=WebhookSpec(scheme="slack_v0", secret_field="signing_secret"),
)
