"""Cisco Webex: messages to rooms and people, rooms and members, meetings, webhooks; triggers for
new messages, new members, meetings started and ended, and submitted cards."""
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
from atom.integrations.shapes import STR
from atom.integrations.shapes import TIME
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.webex.samples import CARD_SUBMITTED
from plugins.webex.samples import MEETING_ENDED
from plugins.webex.samples import MEETING_STARTED
from plugins.webex.samples import MEMBERSHIP_CREATED
from plugins.webex.samples import MESSAGE_CREATED
from plugins.webex.samples import ROOM_ID
from plugins.webex.schemas import AddMemberInput
from plugins.webex.schemas import CreateMeetingInput
from plugins.webex.schemas import CreateRoomInput
from plugins.webex.schemas import CreateWebhookInput
from plugins.webex.schemas import GetMessageInput
from plugins.webex.schemas import ListMessagesInput
from plugins.webex.schemas import ListRoomsInput
from plugins.webex.schemas import SendMessageInput
from plugins.webex.schemas import WebexCredentials

_S = maybe(STR)
_MESSAGE = obj(required=("id",), id=STR, room_id=_S, room_type=_S, parent_id=_S, text=_S,
               markdown=_S, person_id=_S, person_email=_S, to_person_email=_S,
               mentioned_people=arr(STR), created=maybe(TIME))
_ROOM = obj(required=("id",), id=STR, title=_S, type=_S, is_locked=maybe(BOOL), team_id=_S,
            last_activity=maybe(TIME), creator_id=_S, created=maybe(TIME))
_MEMBERSHIP = obj(required=("id",), id=STR, room_id=_S, person_id=_S, person_email=_S,
                  person_display_name=_S, is_moderator=maybe(BOOL), created=maybe(TIME))
_MEETING = obj(required=("id",), about="the meeting's password is not returned",
               id=STR, meeting_number=_S, title=_S, start=maybe(TIME), end=maybe(TIME),
               timezone=_S, state=_S, meeting_type=_S, web_link=_S, sip_address=_S,
               host_email=_S, host_display_name=_S)
_WEBHOOK = obj(required=("id",), about="signed: Webex signs its deliveries with the secret",
               id=STR, name=_S, target_url=_S, resource=_S, event=_S, filter=_S, status=_S,
               created=maybe(TIME), signed=BOOL)


def _delivery(**data: dict) -> dict:
    """A webhook delivery as stored: the webhook's envelope and the resource's ``data``."""
    return obj(required=("id", "resource", "event", "data"), id=STR, name=STR, resource=STR,
               event=STR, filter=STR, orgId=STR, createdBy=STR, appId=STR, ownedBy=STR,
               status=STR, actorId=STR, data=obj(required=("id",), id=STR, **data))


MANIFEST = Manifest(
    slug="webex",
    display_name="Cisco Webex",
    category="communication",
    description="Post messages to Webex rooms or people, list and create rooms, add members, "
                "schedule meetings and register webhooks; react to new messages, members, "
                "meetings started or ended and submitted cards.",
    docs_url="https://developer.webex.com/docs/api/v1/",
    auth=AuthScheme(
        kind="bearer", fields=WebexCredentials, secret="token",
        oauth2=OAuth2Spec(
            authorize_url="https://webexapis.com/v1/authorize",
            token_url="https://webexapis.com/v1/access_token",
            scopes=("spark:kms", "spark:people_read", "spark:messages_read",
                    "spark:messages_write", "spark:rooms_read", "spark:rooms_write",
                    "spark:memberships_read", "spark:memberships_write",
                    "meeting:schedules_read", "meeting:schedules_write"),
            pkce=True)),
    integration="plugins.webex.integration:WebexIntegration",
    base_url="https://webexapis.com/v1/",
    aliases=("webex teams", "cisco webex", "webex meetings", "webex", "cisco spark",
             "webex space", "webex bot"),
    # Webex publishes no per-endpoint messaging limits; it answers 429 with Retry-After.
    rate_limit=RateLimit(per_second=5, burst=10),
    actions=(
        Action("send_message", "Send a message", SendMessageInput, _MESSAGE,
               example={"room_id": ROOM_ID, "markdown": "**Deploy** finished"},
               description="To a room (room_id), or directly to a person (to_person_email or "
                           "to_person_id); markdown and text, threads with parent_id.",
               words=("post", "message", "tell", "notify", "DM", "direct message",
                      "message someone", "reply in thread", "webex message")),
        Action("get_message", "Get a message", GetMessageInput, _MESSAGE,
               example={"message_id": MESSAGE_CREATED["data"]["id"]},
               idempotent=True, read_only=True,
               description="Webhook deliveries carry no text: fetch it with this.",
               words=("read message", "message text", "get message")),
        Action("list_messages", "Read a room's messages", ListMessagesInput,
               listing("messages", _MESSAGE, room_id=STR) | {"description": "newest first"},
               example={"room_id": ROOM_ID, "max_items": 10},
               idempotent=True, read_only=True,
               words=("room history", "read messages", "recent messages", "mentions")),
        Action("list_rooms", "List rooms", ListRoomsInput, listing("rooms", _ROOM),
               example={"type": "group", "sort_by": "lastactivity", "max_items": 20},
               idempotent=True, read_only=True, words=("rooms", "spaces", "list spaces")),
        Action("create_room", "Create a room", CreateRoomInput, _ROOM,
               example={"title": "Incident 42"},
               words=("new space", "create room", "create space", "war room")),
        Action("add_member", "Add a person to a room", AddMemberInput, _MEMBERSHIP,
               example={"room_id": ROOM_ID, "person_email": "john.andersen@example.com"},
               words=("invite", "add member", "add to space", "add people")),
        Action("create_meeting", "Schedule a meeting", CreateMeetingInput, _MEETING,
               example={"title": "Example Daily Meeting", "start": "2030-11-01T20:00:00Z",
                        "end": "2030-11-01T21:00:00Z",
                        "invitees": ["john.andersen@example.com"]},
               words=("schedule meeting", "book a call", "create meeting", "video call",
                      "webex meeting")),
        Action("create_webhook", "Register a webhook", CreateWebhookInput, _WEBHOOK,
               example={"target_url": "https://atom.example.com/hooks/webex/1",
                        "resource": "messages", "event": "created",
                        "filter": f"roomId={ROOM_ID}"},
               description="Points Webex at this connection's receiver, signed with its "
                           "webhook_secret.",
               words=("register webhook", "listen to room", "subscribe")),
    ),
    triggers=(
        Trigger("message_created", "New message", MESSAGE_CREATED,
                _delivery(roomId=STR, roomType=STR, personId=STR, personEmail=STR, created=TIME),
                description="A message in a room the webhook covers (bots: 1:1 rooms and "
                            "mentions). Not the connection's own posts. The text is not in it: "
                            "use get_message.",
                words=("new message", "message posted", "someone posts", "bot mentioned")),
        Trigger("membership_created", "Person added to a room", MEMBERSHIP_CREATED,
                _delivery(roomId=STR, personId=STR, personEmail=STR, created=TIME),
                words=("new member", "someone joins", "added to space", "member joined")),
        Trigger("meeting_started", "Meeting started", MEETING_STARTED,
                _delivery(meetingNumber=STR, title=STR, start=TIME, end=TIME, hostEmail=STR),
                words=("meeting started", "call started", "meeting begins")),
        Trigger("meeting_ended", "Meeting ended", MEETING_ENDED,
                _delivery(meetingNumber=STR, title=STR, start=TIME, end=TIME, hostEmail=STR),
                words=("meeting ended", "call ended", "after the meeting")),
        Trigger("card_submitted", "Card submitted", CARD_SUBMITTED,
                _delivery(type=STR, messageId=STR, personId=STR, roomId=STR, created=TIME),
                words=("card submitted", "button clicked", "form submitted")),
    ),
    webhook=WebhookSpec(scheme="webex_sha1", secret_field="webhook_secret"),
    contract=Contract("fake", notes="No OpenAPI description published by Cisco; tested against "
                                    "tests/plugins/webex/fake_webex.py, which follows "
                                    "https://developer.webex.com/docs/api/v1/"),
)
