"""Trello: create, move and update cards, comment, list boards, lists and cards; webhook
triggers for cards and comments."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from atom.integrations.shapes import ANY
from atom.integrations.shapes import BOOL
from atom.integrations.shapes import INT
from atom.integrations.shapes import NUM
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.trello import samples
from plugins.trello.schemas import AddCommentInput
from plugins.trello.schemas import CardInput
from plugins.trello.schemas import CreateCardInput
from plugins.trello.schemas import ListBoardsInput
from plugins.trello.schemas import ListCardsInput
from plugins.trello.schemas import ListListsInput
from plugins.trello.schemas import MoveCardInput
from plugins.trello.schemas import RegisterWebhookInput
from plugins.trello.schemas import TrelloCredentials
from plugins.trello.schemas import TrelloSettings
from plugins.trello.schemas import UpdateCardInput

_CARD = obj(required=("id", "closed", "member_ids", "label_ids"), id=STR, name=maybe(STR),
            description=maybe(STR), url=maybe(STR), short_url=maybe(STR), list_id=maybe(STR),
            board_id=maybe(STR), closed=BOOL, due=maybe(STR), due_complete=BOOL,
            start=maybe(STR), member_ids=arr(STR), label_ids=arr(STR), position=maybe(NUM),
            last_activity=maybe(STR))
_BOARD = obj(required=("id",), id=STR, name=maybe(STR), description=maybe(STR), url=maybe(STR),
             closed=BOOL, organization_id=maybe(STR))
_LIST = obj(required=("id",), id=STR, name=maybe(STR), closed=BOOL, position=maybe(NUM),
            board_id=maybe(STR))
_COMMENT = obj(required=("id", "card_id"), id=STR, card_id=STR, text=maybe(STR),
               date=maybe(STR), member_id=maybe(STR), about="id is the comment action's id")
_WEBHOOK = obj(required=("id",), id=STR, model_id=maybe(STR), callback_url=maybe(STR),
               active=maybe(BOOL), description=maybe(STR))
_NAMED = obj(id=STR, name=STR)
# A delivery as stored: Trello's action (what happened) and the watched model.
_DELIVERY = obj(
    required=("action",),
    action=obj(required=("id", "type"), id=STR, type=STR, date=STR, idMemberCreator=STR,
               data=obj(card=obj(id=STR, name=STR, idShort=INT, shortLink=STR),
                        list=_NAMED, board=_NAMED, listBefore=_NAMED, listAfter=_NAMED,
                        old=ANY, text=STR),
               memberCreator=obj(id=STR, username=STR, fullName=STR)),
    model=maybe(obj(id=STR, name=STR)),
)
_ID = "5abbe4b7ddc1b351ef961414"  # the spec's example id

MANIFEST = Manifest(
    slug="trello",
    display_name="Trello",
    category="project-management",
    description="Create, move and update cards, comment on them, list boards, lists and cards; "
                "react to new, moved and changed cards and to comments through Trello webhooks.",
    docs_url="https://developer.atlassian.com/cloud/trello/rest/",
    auth=AuthScheme(kind="api_key", fields=TrelloCredentials, location="query",
                    params={"key": "api_key", "token": "token"}),
    integration="plugins.trello.integration:TrelloIntegration",
    base_url="https://api.trello.com/1",
    aliases=("trello board", "trello card", "kanban"),
    # 100 requests per 10 s per token (300 per key): 9 a second with a burst of 10 stays under.
    rate_limit=RateLimit(per_second=9, burst=10),
    settings=TrelloSettings,
    actions=(
        Action("create_card", "Create a card", CreateCardInput, _CARD,
               example={"list_id": _ID, "name": "Prepare the Q3 planning meeting",
                        "description": "Agenda in the calendar invite", "due": "2026-03-02",
                        "member_ids": [_ID], "position": "top"},
               description="The card goes to list_id, or to the connection's default_list_id.",
               words=("card", "create card", "new card", "add card", "kanban card", "ticket")),
        Action("move_card", "Move a card", MoveCardInput, _CARD,
               example={"card_id": _ID, "list_id": _ID, "position": "top"}, idempotent=True,
               words=("move card", "move to list", "move to done", "change column")),
        Action("update_card", "Update a card", UpdateCardInput, _CARD,
               example={"card_id": _ID, "name": "Prepare the Q3 planning meeting (booked)",
                        "due_complete": True},
               idempotent=True,
               description="Only the fields given change; member_ids and label_ids replace "
                           "the card's; closed archives.",
               words=("update card", "edit card", "rename card", "archive card",
                      "due date done")),
        Action("get_card", "Get a card", CardInput, _CARD, example={"card_id": _ID},
               idempotent=True, read_only=True, words=("card details", "look up card")),
        Action("add_comment", "Comment on a card", AddCommentInput, _COMMENT,
               example={"card_id": _ID, "text": "Room booked for Tuesday."},
               words=("comment", "note", "reply", "add comment")),
        Action("list_boards", "List boards", ListBoardsInput, listing("boards", _BOARD),
               # "me" is the usual member; the spec only admits member ids on this path.
               example={"member": _ID, "filter": "open"}, idempotent=True, read_only=True,
               words=("boards", "list boards", "my boards")),
        Action("list_lists", "List a board's lists", ListListsInput,
               listing("lists", _LIST, board_id=STR), example={"board_id": _ID},
               idempotent=True, read_only=True, words=("lists", "columns", "list lists")),
        Action("list_cards", "List a list's cards", ListCardsInput,
               listing("cards", _CARD, list_id=STR), example={"list_id": _ID},
               idempotent=True, read_only=True, words=("cards", "list cards", "cards in list")),
        Action("register_webhook", "Watch a board (create a webhook)", RegisterWebhookInput,
               _WEBHOOK,
               example={"model_id": _ID, "callback_url": "https://atom.example.com/hooks/trello/1",
                        "description": "ATOM board watch"},
               description="Trello checks the callback URL with a HEAD request during creation. "
                           "Deliveries are signed over the callback URL: register the URL "
                           "Trello reaches ATOM at, as ATOM sees it.",
               words=("watch board", "subscribe", "webhook", "notify me of changes")),
    ),
    triggers=(
        Trigger("card_created", "Card created", samples.CARD_CREATED, _DELIVERY,
                description="A card was created (action type createCard).",
                words=("new card", "card created", "card added")),
        Trigger("card_moved", "Card moved", samples.CARD_MOVED, _DELIVERY,
                description="A card moved to another list (updateCard with listBefore and "
                            "listAfter).",
                words=("card moved", "moved to done", "card changes column", "moved to list")),
        Trigger("card_updated", "Card changed", samples.CARD_UPDATED, _DELIVERY,
                description="Any other change to a card (updateCard; data.old holds the "
                            "previous values).",
                words=("card updated", "card changed", "card renamed", "card archived")),
        Trigger("comment_added", "Comment added", samples.COMMENT_ADDED, _DELIVERY,
                description="A comment on a card (commentCard; data.text is the comment).",
                words=("new comment", "comment added", "someone comments")),
    ),
    webhook=WebhookSpec(scheme="trello_sha1", secret_field="app_secret"),
    contract=Contract("openapi", "trello.json"),
)
