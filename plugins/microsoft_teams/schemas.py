"""Settings, credentials and action inputs of the Microsoft Teams plugin.

Ids that reach a URL path are checked against the shapes Graph gives them (a team is its
Microsoft 365 group's GUID, a channel or chat is a ``19:...@thread...`` thread id, a message id
is digits), so no ``/``, ``..`` or query character can get into the path; the integration also
percent-encodes every segment.
"""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one
from plugins.microsoft_common import GUID
from plugins.microsoft_common import client_state_field
from plugins.microsoft_common import tenant_field

_TEAM_ID = validate.Regexp(rf"^{GUID}$", error="a team id: the team's group id (a GUID)")
_USER_ID = validate.Regexp(rf"^{GUID}$", error="a user's object id (a GUID)")
_SUBSCRIPTION_ID = validate.Regexp(rf"^{GUID}$", error="a subscription id (a GUID)")
# 19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2, 19:...@thread.skype, 19:..._...@unq.gbl.spaces
_THREAD = r"^19:[A-Za-z0-9_.@-]{1,300}$"
_CHANNEL_ID = validate.Regexp(_THREAD, error="a channel id such as 19:...@thread.tacv2")
_CHAT_ID = validate.Regexp(_THREAD, error="a chat id such as 19:...@unq.gbl.spaces")
_MESSAGE_ID = validate.Regexp(r"^[0-9]{1,20}$", error="a message id (digits, e.g. 1612293113399)")
# Teams refuses these in channel names, and names that start with "_" or "." or end with ".".
_CHANNEL_NAME = validate.Regexp(r"^(?![_.])[^~#%&*{}+/\\:<>?|'\",]*(?<!\.)$",
                                error="no ~ # % & * {{ }} + / \\ : < > ? | ' \" , and not "
                                      "starting with _ or . or ending with .")
_TEAM = fields.String(required=True, validate=_TEAM_ID,
                      metadata={"description": "Team id (the group id, a GUID)"})
_CHANNEL = fields.String(required=True, validate=_CHANNEL_ID,
                         metadata={"description": "Channel id (19:...@thread.tacv2)"})


class TeamsSettings(Schema):
    # Filled into the authorize and token URLs (login.microsoftonline.com/{tenant}/...). The
    # default "organizations" lets any work or school account sign in: Teams has no personal
    # accounts ("common" would also offer personal ones, whose tokens Teams refuses). A tenant
    # id or domain pins the connection to one organisation. The host never changes, so this
    # is not a destination.
    tenant = tenant_field("organizations", "Entra ID tenant for sign-in: organizations "
                                           "(default), common, a tenant id or a domain")


class TeamsCredentials(OAuth2Tokens):
    """The delegated tokens of the Entra ID connect flow, and the subscriptions' clientState."""

    client_state = client_state_field()

    _oauth = require_one("access_token")


class _Content(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=28_000),
                         metadata={"description": "The message (HTML when content_type is html; "
                                                  "Teams takes about 28 KB)"})
    content_type = fields.String(load_default="text", validate=validate.OneOf(("text", "html")))
    importance = fields.String(validate=validate.OneOf(("normal", "high", "urgent")))


class SendChannelMessageInput(_Content):
    team_id = _TEAM
    channel_id = _CHANNEL
    subject = fields.String(validate=validate.Length(min=1, max=255),
                            metadata={"description": "Subject line of the new thread"})


class ReplyToMessageInput(_Content):
    team_id = _TEAM
    channel_id = _CHANNEL
    message_id = fields.String(required=True, validate=_MESSAGE_ID,
                               metadata={"description": "The thread's first message"})


class SendChatMessageInput(_Content):
    chat_id = fields.String(required=True, validate=_CHAT_ID)


class _Listing(Schema):
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                               metadata={"description": "Stop after this many items"})


class ListJoinedTeamsInput(_Listing):
    pass


class ListChannelsInput(_Listing):
    team_id = _TEAM


class ListChannelMessagesInput(_Listing):
    team_id = _TEAM
    channel_id = _CHANNEL


class CreateChannelInput(Schema):
    team_id = _TEAM
    display_name = fields.String(required=True,
                                 validate=[validate.Length(min=1, max=50), _CHANNEL_NAME],
                                 metadata={"description": "Channel name (at most 50 characters)"})
    description = fields.String(validate=validate.Length(max=1024))
    membership_type = fields.String(load_default="standard",
                                    validate=validate.OneOf(("standard", "private", "shared")))
    owner_user_id = fields.String(validate=_USER_ID,
                                  metadata={"description": "Owner of a private or shared channel "
                                                           "(required by Graph with app-only "
                                                           "tokens)"})

    @validates_schema
    def _owner_only_for_private(self, data, **kwargs):
        if data.get("owner_user_id") and data.get("membership_type") == "standard":
            raise ValidationError("only private and shared channels take an owner",
                                  field_name="owner_user_id")


class SubscribeChannelMessagesInput(Schema):
    team_id = _TEAM
    channel_id = _CHANNEL
    notification_url = fields.Url(required=True, schemes={"https"},
                                  validate=validate.Length(max=2048),
                                  metadata={"description": "This connection's ATOM receiver: "
                                                           "https://<atom>/hooks/microsoft_teams/"
                                                           "<connection id>"})
    # Graph's table of lifetimes now gives chatMessage 4,320 minutes, but a subscription over an
    # hour needs a lifecycleNotificationUrl, and older revisions of the same page said 60 minutes
    # at most; an hour works under both.
    expiration_minutes = fields.Integer(load_default=60, validate=validate.Range(min=5, max=60),
                                        metadata={"description": "Lifetime in minutes (at most "
                                                                 "60); renew before it ends"})


class RenewSubscriptionInput(Schema):
    subscription_id = fields.String(required=True, validate=_SUBSCRIPTION_ID)
    expiration_minutes = fields.Integer(load_default=60, validate=validate.Range(min=5, max=60))


class ChannelMessagesParams(Schema):
    """What a workflow's poll trigger watches: one channel."""

    team_id = _TEAM
    channel_id = _CHANNEL
