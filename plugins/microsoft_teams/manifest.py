"""Microsoft Teams (Graph v1.0): post and reply in channels and chats, list teams, channels and
messages, create channels; new messages by Graph change notifications or by polling delta."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import Poll
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import STR
from atom.integrations.shapes import TIME
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.microsoft_common import AUTHORIZE_URL
from plugins.microsoft_common import GRAPH_URL
from plugins.microsoft_common import TOKEN_URL
from plugins.microsoft_teams.samples import CHANNEL_ID
from plugins.microsoft_teams.samples import CHANNEL_MESSAGE_POSTED
from plugins.microsoft_teams.samples import CHANNEL_REPLY_POSTED
from plugins.microsoft_teams.samples import CHAT_ID
from plugins.microsoft_teams.samples import CHAT_MESSAGE_POSTED
from plugins.microsoft_teams.samples import NEW_CHANNEL_MESSAGE
from plugins.microsoft_teams.samples import TEAM_ID
from plugins.microsoft_teams.schemas import ChannelMessagesParams
from plugins.microsoft_teams.schemas import CreateChannelInput
from plugins.microsoft_teams.schemas import ListChannelMessagesInput
from plugins.microsoft_teams.schemas import ListChannelsInput
from plugins.microsoft_teams.schemas import ListJoinedTeamsInput
from plugins.microsoft_teams.schemas import RenewSubscriptionInput
from plugins.microsoft_teams.schemas import ReplyToMessageInput
from plugins.microsoft_teams.schemas import SendChannelMessageInput
from plugins.microsoft_teams.schemas import SendChatMessageInput
from plugins.microsoft_teams.schemas import SubscribeChannelMessagesInput
from plugins.microsoft_teams.schemas import TeamsCredentials
from plugins.microsoft_teams.schemas import TeamsSettings

_S = maybe(STR)
_MESSAGE = obj(required=("id",), about="a chatMessage; content is text or HTML per content_type",
               id=STR, message_type=_S, created_at=maybe(TIME), last_modified_at=maybe(TIME),
               subject=_S, content_type=_S, content=_S, from_user_id=_S, from_name=_S,
               reply_to_id=_S, team_id=_S, channel_id=_S, chat_id=_S, web_url=_S)
_TEAM = obj(required=("id",), id=STR, display_name=_S, description=_S, visibility=_S,
            is_archived=maybe(BOOL), web_url=_S)
_CHANNEL = obj(required=("id",), id=STR, display_name=_S, description=_S, membership_type=_S,
               email=_S, web_url=_S, created_at=maybe(TIME))
_SUBSCRIPTION = obj(required=("id",), id=STR, resource=_S, change_type=_S,
                    notification_url=_S, expires_at=maybe(TIME))
# One change notification of a delivery's value[], as stored (no clientState).
_IDS = {"team_id": STR, "channel_id": STR, "message_id": STR, "reply_id": STR, "chat_id": STR}
_NOTIFICATION = obj(
    required=("subscriptionId", "changeType", "resource", "ids"),
    subscriptionId=STR, changeType=STR, tenantId=STR, resource=STR,
    subscriptionExpirationDateTime=TIME,
    resourceData=obj(id=STR, **{"@odata.type": STR, "@odata.id": STR}),
    ids=obj(required=("message_id",), **_IDS))
_CHANNEL_EXAMPLE = {"team_id": TEAM_ID, "channel_id": CHANNEL_ID}

MANIFEST = Manifest(
    slug="microsoft_teams",
    display_name="Microsoft Teams",
    category="communication",
    description="Post and reply in Teams channels and chats, list teams, channels and messages, "
                "create channels; react to new channel and chat messages (Graph change "
                "notifications) or poll a channel for new messages.",
    docs_url="https://learn.microsoft.com/graph/api/resources/teams-api-overview",
    auth=AuthScheme(
        kind="oauth2", fields=TeamsCredentials,
        oauth2=OAuth2Spec(
            # Entra ID v2.0 endpoints; {tenant} comes from the connection's tenant setting.
            authorize_url=AUTHORIZE_URL, token_url=TOKEN_URL,
            # Delegated permissions; ChannelMessage.Read.All needs an admin's consent.
            scopes=("offline_access", "User.Read", "Team.ReadBasic.All",
                    "Channel.ReadBasic.All", "Channel.Create", "ChannelMessage.Send",
                    "ChannelMessage.Read.All", "ChatMessage.Send"),
            pkce=True)),
    integration="plugins.microsoft_teams.integration:MicrosoftTeamsIntegration",
    base_url=GRAPH_URL,
    aliases=("MS Teams", "teams", "msteams", "microsoft teams", "teams channel", "teams chat"),
    # Teams limits are per app and tenant and change often (e.g. 30 GET/s per app per tenant);
    # posting is slower still. Raise it per connection with rate_limit_per_second.
    rate_limit=RateLimit(per_second=4, burst=10),
    settings=TeamsSettings,
    actions=(
        Action("send_channel_message", "Send a channel message", SendChannelMessageInput,
               _MESSAGE, example={**_CHANNEL_EXAMPLE, "text": "Deploy finished"},
               words=("post", "message", "tell", "notify", "announce", "post in channel",
                      "teams message")),
        Action("reply_to_message", "Reply to a message", ReplyToMessageInput, _MESSAGE,
               example={**_CHANNEL_EXAMPLE, "message_id": "1612293113399",
                        "text": "Rolled back"},
               words=("reply", "answer", "reply in thread", "respond")),
        Action("send_chat_message", "Send a chat message", SendChatMessageInput, _MESSAGE,
               example={"chat_id": CHAT_ID, "text": "Your report is ready"},
               words=("chat", "DM", "direct message", "message someone", "group chat")),
        Action("list_joined_teams", "List my teams", ListJoinedTeamsInput,
               listing("teams", _TEAM), example={"max_items": 1},
               idempotent=True, read_only=True, words=("teams", "my teams", "list teams")),
        Action("list_channels", "List a team's channels", ListChannelsInput,
               listing("channels", _CHANNEL, team_id=STR),
               example={"team_id": TEAM_ID, "max_items": 1},
               idempotent=True, read_only=True, words=("channels", "list channels")),
        Action("list_channel_messages", "Read a channel's messages", ListChannelMessagesInput,
               listing("messages", _MESSAGE, team_id=STR, channel_id=STR)
               | {"description": "top-level messages, newest first, without replies"},
               example={**_CHANNEL_EXAMPLE, "max_items": 1},
               idempotent=True, read_only=True,
               words=("channel history", "read messages", "recent messages")),
        Action("create_channel", "Create a channel", CreateChannelInput,
               obj(required=("id",), team_id=STR, **_CHANNEL["properties"]),
               example={"team_id": TEAM_ID, "display_name": "Incident 42",
                        "description": "War room for incident 42"},
               words=("new channel", "create channel", "open a channel", "war room")),
        Action("subscribe_channel_messages", "Subscribe to a channel's new messages",
               SubscribeChannelMessagesInput, _SUBSCRIPTION,
               example={**_CHANNEL_EXAMPLE,
                        "notification_url": "https://atom.example.com/hooks/microsoft_teams/1"},
               description="Creates a Graph subscription that POSTs new messages to this "
                           "connection's receiver (needs client_state); renew it within the hour.",
               words=("subscribe", "watch channel", "listen to channel")),
        Action("renew_subscription", "Renew a subscription", RenewSubscriptionInput, _SUBSCRIPTION,
               example={"subscription_id": "9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c"},
               idempotent=True, words=("renew subscription", "extend subscription")),
    ),
    triggers=(
        Trigger("channel_message_posted", "New channel message", CHANNEL_MESSAGE_POSTED,
                _NOTIFICATION,
                description="A new top-level message in a subscribed channel (Graph change "
                            "notification; fetch the content with list_channel_messages).",
                words=("new message", "message posted", "someone posts", "new channel message")),
        Trigger("channel_reply_posted", "New reply in a channel", CHANNEL_REPLY_POSTED,
                _NOTIFICATION, words=("new reply", "someone replies", "reply posted")),
        Trigger("chat_message_posted", "New chat message", CHAT_MESSAGE_POSTED, _NOTIFICATION,
                words=("new chat message", "DM received", "someone messages me")),
        Trigger("new_channel_message", "New channel message (polled)", NEW_CHANNEL_MESSAGE,
                _MESSAGE,
                delivery=Poll("poll_channel_messages", cursor="@odata.deltaLink", item_id="id",
                              interval_s=60),
                params=ChannelMessagesParams,
                description="New top-level messages of one channel, found by its delta query "
                            "(no subscription to renew).",
                words=("new message", "message posted", "new channel message", "check channel")),
    ),
    webhook=WebhookSpec(scheme="graph_client_state", secret_field="client_state"),
    # The spec's paths are relative to https://graph.microsoft.com/v1.0 (its servers entry).
    contract=Contract("openapi", "msgraph.json",
                      notes="Graph v1.0 Teams subset; delta and validation are not in it"),
)
