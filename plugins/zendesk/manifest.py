"""Zendesk Support: create, update, comment on, read and search tickets; react to tickets
created, updated, commented on or made urgent (signed webhooks)."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import ANY
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import TIME
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.zendesk.samples import TICKET_COMMENT_ADDED
from plugins.zendesk.samples import TICKET_CREATED
from plugins.zendesk.samples import TICKET_ID
from plugins.zendesk.samples import TICKET_PRIORITY_URGENT
from plugins.zendesk.samples import TICKET_UPDATED
from plugins.zendesk.schemas import AddCommentInput
from plugins.zendesk.schemas import CreateTicketInput
from plugins.zendesk.schemas import GetTicketInput
from plugins.zendesk.schemas import SearchInput
from plugins.zendesk.schemas import UpdateTicketInput
from plugins.zendesk.schemas import ZendeskCredentials
from plugins.zendesk.schemas import ZendeskSettings

_S, _I = maybe(STR), maybe(INT)
_TICKET = obj(required=("id",), id=INT, subject=_S, description=_S, status=_S, priority=_S,
              type=_S, requester_id=_I, submitter_id=_I, assignee_id=_I, group_id=_I,
              organization_id=_I, tags=arr(STR), external_id=_S, due_at=maybe(TIME),
              created_at=maybe(TIME), updated_at=maybe(TIME), via_channel=_S,
              custom_fields=arr(obj(id=INT, value=ANY)), url=_S)
_COMMENT = obj(required=("ticket_id",), ticket_id=INT, comment_id=_I, public=BOOL, body=_S,
               author_id=_I, ticket_status=_S, ticket_updated_at=maybe(TIME))
_EVENT = obj(required=("event_id", "event_type", "ticket"), event_id=STR, event_type=STR,
             time=_S, account_id=_I, actor_id=_I,
             ticket=obj(required=("id",), id=INT, subject=_S, status=_S, priority=_S, type=_S,
                        requester_id=_I, assignee_id=_I, group_id=_I, organization_id=_I,
                        tags=arr(STR), created_at=_S, updated_at=_S, via_channel=_S),
             change={"type": ["object", "null"], "properties": {
                 "field": STR, "previous": ANY, "current": ANY}},
             comment={"type": ["object", "null"], "properties": {
                 "id": _I, "body": _S, "public": maybe(BOOL), "author_id": _I}})
_WEBHOOK_NOTE = ("From a Zendesk webhook subscribed to ticket events (zen:event-type:ticket.*) "
                 "or connected to a trigger whose JSON body follows "
                 "plugins.zendesk.payloads.TRIGGER_BODY; narrow it with conditions such as "
                 "ticket.group_id or ticket.tags.")

MANIFEST = Manifest(
    slug="zendesk",
    display_name="Zendesk Support",
    category="support",
    description="Create and update Zendesk tickets, add public replies or internal notes, read "
                "a ticket and search tickets; react to tickets created, updated, commented on "
                "or made urgent.",
    docs_url="https://developer.zendesk.com/api-reference/ticketing/introduction/",
    auth=AuthScheme(
        kind="basic", fields=ZendeskCredentials, username="email", password="api_token",
        username_suffix="/token",
        oauth2=OAuth2Spec(
            authorize_url="https://{subdomain}.zendesk.com/oauth/authorizations/new",
            token_url="https://{subdomain}.zendesk.com/oauth/tokens",
            scopes=("read", "write"), pkce=True)),
    integration="plugins.zendesk.integration:ZendeskIntegration",
    settings=ZendeskSettings,
    aliases=("zendesk", "zendesk support", "help desk", "helpdesk", "support desk",
             "support ticket", "zendesk ticket"),
    # Account limits are per minute by plan (Team 200 ... Enterprise Plus 2,500; verify) and
    # Update Ticket 100/min per account: 3/s with a burst of 10 stays under the smallest.
    rate_limit=RateLimit(per_second=3, burst=10),
    actions=(
        Action("create_ticket", "Create a ticket", CreateTicketInput, _TICKET,
               example={"subject": "Printer on fire", "body": "The printer on floor 2 is "
                        "smoking.", "requester_email": "jdoe@example.com",
                        "requester_name": "Jane Doe", "priority": "urgent",
                        "type": "incident", "tags": ["printer", "floor2"]},
               description="The first comment is the description (public unless public is "
                           "false); a new requester e-mail creates the user. Sent with an "
                           "Idempotency-Key, so a retry creates one ticket.",
               words=("new ticket", "open a ticket", "create ticket", "file a ticket",
                      "raise a ticket", "support request", "log an issue")),
        Action("update_ticket", "Update a ticket", UpdateTicketInput, _TICKET,
               example={"ticket_id": TICKET_ID, "status": "pending", "priority": "high",
                        "tags": ["printer", "escalated"]},
               description="Set status, priority, type, assignee, group, tags or custom "
                           "fields; with body, also add a comment. updated_stamp makes it a "
                           "safe update (refused if someone changed the ticket since).",
               words=("update ticket", "change status", "solve ticket", "close ticket",
                      "assign ticket", "escalate", "set priority", "tag ticket")),
        Action("add_comment", "Add a comment", AddCommentInput, _COMMENT,
               example={"ticket_id": TICKET_ID, "body": "Facilities is on the way.",
                        "public": True},
               description="A public reply to the requester (public: true) or an internal "
                           "note (the default). Not retried after an ambiguous failure.",
               words=("reply", "respond to ticket", "comment", "internal note", "private note",
                      "public reply", "answer the customer")),
        Action("get_ticket", "Get a ticket", GetTicketInput, _TICKET,
               example={"ticket_id": TICKET_ID}, idempotent=True, read_only=True,
               words=("read ticket", "ticket details", "look up ticket", "get ticket")),
        Action("search", "Search tickets", SearchInput,
               listing("tickets", _TICKET, query=STR),
               example={"query": "status<solved priority:urgent", "sort_by": "created_at",
                        "sort_order": "desc", "max_items": 50},
               idempotent=True, read_only=True,
               description="Zendesk's search syntax (status<solved, tags:vip, "
                           "requester:jdoe@example.com, created>2025-01-01), tickets only, "
                           "paged up to max_items (the search API stops at 1,000 results).",
               words=("find tickets", "search tickets", "open tickets", "urgent tickets",
                      "tickets from", "query tickets")),
    ),
    triggers=(
        Trigger("ticket_created", "New ticket", TICKET_CREATED, _EVENT,
                description="A ticket was created. " + _WEBHOOK_NOTE,
                words=("new ticket", "ticket created", "customer opens a ticket",
                       "support request comes in")),
        Trigger("ticket_updated", "Ticket updated", TICKET_UPDATED, _EVENT,
                description="Any change to a ticket (status, priority, assignee, tags, "
                            "comment...); change says which field moved. " + _WEBHOOK_NOTE,
                words=("ticket updated", "ticket changed", "status changed", "ticket solved",
                       "ticket assigned")),
        Trigger("ticket_priority_urgent", "Ticket became urgent", TICKET_PRIORITY_URGENT,
                _EVENT,
                description="A ticket was created urgent or its priority changed to urgent. "
                            + _WEBHOOK_NOTE,
                words=("urgent ticket", "high priority ticket", "ticket escalated",
                       "priority urgent")),
        Trigger("ticket_comment_added", "Comment added", TICKET_COMMENT_ADDED, _EVENT,
                description="A public reply or internal note was added; comment has its "
                            "text. " + _WEBHOOK_NOTE,
                words=("new comment", "customer replied", "ticket reply", "comment added")),
    ),
    webhook=WebhookSpec(scheme="zendesk_sha256", secret_field="webhook_secret"),
    contract=Contract("fake", "tests/plugins/zendesk/fake.py",
                      notes="No openly licensed OpenAPI description of Zendesk is stored here; "
                            "tested against tests/plugins/zendesk/fake.py, a stateful fake "
                            "whose docstring cites the Zendesk reference page of each "
                            "behaviour."),
)
