"""monday.com: create items and change their column values, read boards and items, comment with
updates; board webhook triggers (challenge handshake, then JWT-signed deliveries)."""
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
from atom.integrations.shapes import NUM
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.monday.samples import COLUMN_VALUE_CHANGED
from plugins.monday.samples import ITEM_CREATED
from plugins.monday.samples import STATUS_CHANGED
from plugins.monday.samples import UPDATE_CREATED
from plugins.monday.schemas import BoardInput
from plugins.monday.schemas import ChangeColumnValuesInput
from plugins.monday.schemas import CreateItemInput
from plugins.monday.schemas import CreateUpdateInput
from plugins.monday.schemas import GetItemsInput
from plugins.monday.schemas import ItemInput
from plugins.monday.schemas import ListBoardsInput
from plugins.monday.schemas import MondayCredentials
from plugins.monday.schemas import MondaySettings
from plugins.monday.schemas import MoveItemInput

_COLUMN_VALUE = obj(type=maybe(STR), text=maybe(STR), value=ANY)
_ITEM = obj(required=("id",), id=STR, name=maybe(STR), state=maybe(STR), url=maybe(STR),
            board_id=maybe(STR), group=maybe(obj(id=STR, title=maybe(STR))),
            created_at=maybe(STR), updated_at=maybe(STR),
            column_values={**obj(about="by column id: its type, display text and value "
                                       "(decoded JSON)"),
                           "additionalProperties": _COLUMN_VALUE})
_BOARD_FIELDS = dict(id=STR, name=maybe(STR), description=maybe(STR), state=maybe(STR),
                     kind=maybe(STR), type=maybe(STR), workspace_id=maybe(STR), url=maybe(STR),
                     updated_at=maybe(STR), items_count=maybe(INT))
_BOARD = obj(required=("id",), **_BOARD_FIELDS)
_UPDATE = obj(required=("id",), id=STR, item_id=maybe(STR), body=maybe(STR),
              text_body=maybe(STR), created_at=maybe(STR), creator_id=maybe(STR))


def _event(**fields: dict) -> dict:
    """A webhook delivery as stored: ``{"event": {...}}``."""
    return obj(required=("event",), event=obj(
        required=("type", "boardId", "pulseId"), type=STR, boardId=INT, pulseId=INT,
        userId=INT, triggerTime=STR, triggerUuid=STR, subscriptionId=INT, app=STR, **fields))


_COLUMN_EVENT = _event(pulseName=STR, groupId=STR, columnId=STR, columnType=STR,
                       columnTitle=STR, value=ANY, previousValue=ANY, changedAt=NUM)

MANIFEST = Manifest(
    slug="monday",
    display_name="Monday.com",
    category="project-management",
    description="Create items and change their column values, list boards and read items, "
                "post updates on items; react to new items, column and status changes and "
                "new updates through board webhooks.",
    docs_url="https://developer.monday.com/api-reference/docs/basics",
    auth=AuthScheme(
        # The personal token goes in Authorization as it is; OAuth2 access tokens as Bearer.
        kind="bearer", fields=MondayCredentials, secret="token", prefix="",
        oauth2=OAuth2Spec(
            authorize_url="https://auth.monday.com/oauth2/authorize",
            # OAuth 2.1 (developer.monday.com/apps/docs/oauth-2-1), the only flow of apps
            # created since it became the default: PKCE, and access tokens that expire with a
            # refresh token (refreshed before expiry and on a 401). The legacy flow's
            # non-expiring tokens (oauth2/token) are refused from API version 2027-04.
            token_url="https://auth.monday.com/oauth_ms/oauth/token",
            scopes=("me:read", "boards:read", "boards:write", "updates:write",
                    "webhooks:read", "webhooks:write"),
            pkce=True)),
    integration="plugins.monday.integration:MondayIntegration",
    base_url="https://api.monday.com/",
    aliases=("monday", "monday board", "monday.com item", "monday.com", "monday item"),
    # Budgets are complexity points per minute and calls per day (by plan); this keeps one
    # connection well inside them. Raise it per connection with rate_limit_per_second.
    rate_limit=RateLimit(per_second=5, burst=10),
    settings=MondaySettings,
    actions=(
        Action("create_item", "Create an item", CreateItemInput, _ITEM,
               example={"board_id": "1234567890", "group_id": "topics", "name": "New lead",
                        "column_values": {"status": {"label": "Working on it"},
                                          "date4": {"date": "2025-06-30"}}},
               words=("item", "row", "pulse", "task", "add to board", "new item", "lead",
                      "create item")),
        Action("change_column_values", "Change column values", ChangeColumnValuesInput, _ITEM,
               example={"board_id": "1234567890", "item_id": "9876543210",
                        "column_values": {"status": {"label": "Done"}, "text": "Shipped"}},
               idempotent=True, description="Sets several columns of one item at once.",
               words=("update item", "set status", "change status", "update column",
                      "mark done", "set column")),
        Action("move_item_to_group", "Move an item to a group", MoveItemInput, _ITEM,
               example={"item_id": "9876543210", "group_id": "done_group"},
               idempotent=True, words=("move item", "move to group")),
        Action("create_update", "Post an update on an item", CreateUpdateInput, _UPDATE,
               example={"item_id": "9876543210", "body": "Customer called back: ship Friday."},
               description="Updates are monday's comments on an item.",
               words=("comment", "update", "note", "reply", "post an update")),
        Action("list_boards", "List boards", ListBoardsInput,
               listing("boards", _BOARD, page=INT, next_page=maybe(INT)),
               example={"limit": 10, "page": 1},
               idempotent=True, read_only=True,
               description="Most recently used first; next_page is set while pages are full.",
               words=("boards", "list boards", "my boards")),
        Action("get_board", "Get a board's groups and columns", BoardInput,
               obj(required=("id",), **_BOARD_FIELDS,
                   groups=arr(obj(id=STR, title=maybe(STR), color=maybe(STR),
                                  position=maybe(STR), archived=BOOL)),
                   columns=arr(obj(id=STR, title=maybe(STR), type=maybe(STR), settings=ANY))),
               example={"board_id": "1234567890"},
               idempotent=True, read_only=True,
               words=("board columns", "board groups", "board details")),
        Action("get_item", "Get an item", ItemInput, _ITEM,
               example={"item_id": "9876543210"},
               idempotent=True, read_only=True, words=("item details", "read item")),
        Action("get_items", "Get a board's items", GetItemsInput,
               listing("items", _ITEM, board_id=STR),
               example={"board_id": "1234567890", "max_items": 50,
                        "rules": [{"column_id": "status", "compare_value": ["Done"],
                                   "operator": "any_of"}]},
               idempotent=True, read_only=True,
               description="Follows items_page's cursor up to max_items; rules filter on "
                           "column values.",
               words=("items", "rows", "board items", "search items", "find items")),
    ),
    triggers=(
        Trigger("item_created", "Item created", ITEM_CREATED,
                _event(pulseName=STR, groupId=STR, groupName=STR, columnValues=ANY),
                description="Board webhook event create_item (payload type create_pulse).",
                words=("new item", "item created", "new row", "new pulse", "someone adds")),
        Trigger("column_value_changed", "Column value changed", COLUMN_VALUE_CHANGED,
                _COLUMN_EVENT,
                description="Board webhook event change_column_value (or "
                            "change_specific_column_value); payload type update_column_value.",
                words=("column changed", "value changed", "item updated", "field changed")),
        Trigger("status_changed", "Status changed", STATUS_CHANGED, _COLUMN_EVENT,
                description="A status column's change (board webhook event "
                            "change_status_column_value, or change_column_value on a status "
                            "column): the same delivery also fires column_value_changed.",
                words=("status changed", "marked done", "status is", "moves to done")),
        Trigger("update_created", "Update posted", UPDATE_CREATED,
                _event(body=STR, textBody=STR, updateId=INT, replyId=maybe(INT)),
                description="Board webhook event create_update.",
                words=("new update", "new comment", "someone comments", "update posted")),
    ),
    # Deliveries of webhooks an app created carry a JWT signed with its Signing Secret;
    # webhooks created with a personal token are unsigned and are refused.
    webhook=WebhookSpec(scheme="monday_jwt", secret_field="signing_secret"),
    contract=Contract("graphql", "monday.graphql",
                      notes="Every document in plugins/monday/queries.py is validated against "
                            "the schema (API version 2025-04) and executed by a graphql-core "
                            "fake of it in the action tests."),
)
