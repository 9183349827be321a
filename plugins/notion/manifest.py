"""Notion: create, update, read and query pages, append content, search and comment; integration
webhook triggers."""
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
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.notion.samples import COMMENT_CREATED
from plugins.notion.samples import PAGE_CONTENT_UPDATED
from plugins.notion.samples import PAGE_CREATED
from plugins.notion.samples import PAGE_PROPERTIES_UPDATED
from plugins.notion.schemas import AddCommentInput
from plugins.notion.schemas import AppendBlocksInput
from plugins.notion.schemas import CreatePageInput
from plugins.notion.schemas import GetPageInput
from plugins.notion.schemas import NotionCredentials
from plugins.notion.schemas import QueryDatabaseInput
from plugins.notion.schemas import SearchInput
from plugins.notion.schemas import UpdatePageInput

_PARENT = obj(required=("type",), type=maybe(STR), database_id=maybe(STR),
              data_source_id=maybe(STR), page_id=maybe(STR))
_PROPERTIES = {"type": "object", "additionalProperties": ANY,
               "description": "property name -> plain value: text, number, true/false, option "
                              "name, list of names or ids, ISO date (or {start, end})"}
_PAGE_FIELDS = dict(id=maybe(STR), object=maybe(STR), url=maybe(STR), title=maybe(STR),
                    parent=_PARENT, last_edited_time=maybe(STR), in_trash=BOOL)
_PAGE = obj(required=("id", "url", "title", "parent", "properties"), **_PAGE_FIELDS,
            created_time=maybe(STR), properties=_PROPERTIES)
_PAGED = dict(has_more=BOOL, next_cursor=maybe(STR))
_EVENT = obj(required=("id", "type", "entity", "data"), id=STR, type=STR, timestamp=STR,
             workspace_id=STR, workspace_name=STR, subscription_id=STR, integration_id=STR,
             attempt_number=INT, authors=arr(obj(id=STR, type=STR)),
             entity=obj(required=("id", "type"), id=STR, type=STR),
             data=obj(parent=obj(id=STR, type=STR, data_source_id=STR)),
             about="A signal: fetch the page (entity.id) with get_page for its content")
# Ids of Notion's own reference examples.
_PAGE_ID = "59833787-2cf9-4fdf-8782-e53db20768a5"
_DATABASE_ID = "8e2c2b76-9e1d-47d2-87b9-ed3035d607ae"
_DATA_SOURCE_ID = "b55c9c91-384d-452b-81db-d1ef79372b75"

MANIFEST = Manifest(
    slug="notion",
    display_name="Notion",
    category="productivity",
    description="Create pages in a database, update their properties, query databases, append "
                "content, read pages, search and comment; react to new and edited pages and "
                "comments.",
    docs_url="https://developers.notion.com/reference/intro",
    auth=AuthScheme(
        kind="bearer", fields=NotionCredentials, secret="token",
        # Public integrations: Basic client auth at the token URL, no PKCE, owner=user.
        # Surprise against INTEGRATIONS.md ("non-expiring"): the token answer now carries a
        # refresh_token, and "Refresh a token" returns a new access AND refresh token
        # (https://developers.notion.com/reference/refresh-a-token), so it rotates.
        oauth2=OAuth2Spec(authorize_url="https://api.notion.com/v1/oauth/authorize",
                          token_url="https://api.notion.com/v1/oauth/token",
                          client_auth="basic", pkce=False,
                          authorize_params={"owner": "user"}, rotating_refresh=True)),
    integration="plugins.notion.integration:NotionIntegration",
    base_url="https://api.notion.com",
    aliases=("notion page", "notion database", "notion wiki", "notion doc"),
    # "An average of three requests per second per integration, some bursts allowed"
    # (https://developers.notion.com/reference/request-limits); 429s carry Retry-After.
    rate_limit=RateLimit(per_second=3, burst=6),
    actions=(
        Action("create_page", "Create a page in a database", CreatePageInput, _PAGE,
               example={"database_id": _DATABASE_ID, "title": "Deploy 2024-06-01 finished",
                        "properties": {"Status": {"status": {"name": "Done"}}}},
               description="Plain property values are converted by the data source's property "
                           "types (one extra read); Notion property objects are sent as they "
                           "are.",
               words=("new page", "add a row", "add to the database", "new entry",
                      "create a page", "log to notion", "new doc", "add a record")),
        Action("update_page", "Update page properties", UpdatePageInput, _PAGE,
               example={"page_id": _PAGE_ID, "title": "Deploy 2024-06-01 finished",
                        "properties": {"Status": {"status": {"name": "Done"}}}},
               idempotent=True,
               words=("update the page", "set the status", "change a property", "edit the row",
                      "mark as done", "archive the page")),
        Action("query_database", "Query a database", QueryDatabaseInput,
               listing("pages", _PAGE, data_source_id=STR, **_PAGED),
               example={"data_source_id": _DATA_SOURCE_ID,
                        "filter": {"property": "Status", "status": {"equals": "Done"}},
                        "sorts": [{"property": "Due", "direction": "ascending"}],
                        "max_items": 10},
               idempotent=True, read_only=True,
               words=("query the database", "find rows", "list entries", "filter the table",
                      "database rows")),
        Action("append_blocks", "Append content to a page", AppendBlocksInput,
               obj(required=("page_id", "block_ids", "count"), page_id=STR,
                   block_ids=arr(maybe(STR)), count=INT, about="count: blocks sent"),
               example={"page_id": _PAGE_ID,
                        "text": "Deploy finished\n- api: healthy\n- web: healthy"},
               words=("append", "add text to the page", "write to the page", "add a paragraph",
                      "add a to-do", "add notes")),
        Action("get_page", "Get a page", GetPageInput, _PAGE, example={"page_id": _PAGE_ID},
               idempotent=True, read_only=True,
               words=("read the page", "page properties", "get the page", "look up the page")),
        Action("search", "Search pages and data sources", SearchInput,
               listing("results", obj(required=("id", "object", "title"), **_PAGE_FIELDS),
                       **_PAGED),
               example={"query": "Roadmap", "object": "page", "max_items": 5},
               idempotent=True, read_only=True,
               words=("search notion", "find a page", "look for the doc", "find the database")),
        Action("add_comment", "Comment on a page", AddCommentInput,
               obj(required=("id", "page_id"), id=maybe(STR), discussion_id=maybe(STR),
                   page_id=STR, created_time=maybe(STR)),
               example={"page_id": _PAGE_ID, "text": "Synced from Slack by ATOM"},
               words=("comment", "add a comment", "leave a note on the page")),
    ),
    triggers=(
        Trigger("page_created", "Page created", PAGE_CREATED, _EVENT,
                description="A page was created (a new row when its parent is a database).",
                words=("new page", "page created", "new row", "new entry", "new doc")),
        Trigger("page_properties_updated", "Page properties updated", PAGE_PROPERTIES_UPDATED,
                _EVENT, description="data.updated_properties lists the ids of the changed "
                                    "properties.",
                words=("status changed", "property updated", "row updated", "page updated")),
        Trigger("page_content_updated", "Page content updated", PAGE_CONTENT_UPDATED, _EVENT,
                description="Edits are aggregated: one event may cover several changes.",
                words=("page edited", "content changed", "doc updated", "page content")),
        Trigger("comment_created", "Comment added", COMMENT_CREATED, _EVENT,
                words=("new comment", "someone comments", "comment added")),
    ),
    # Notion posts the verification_token to the hook URL and waits for the user to paste it
    # into the integration's Webhooks tab: an admin reveals it with
    # POST /api/v2/connections/<id>/webhook-secret/reveal.
    webhook=WebhookSpec(scheme="notion_sha256", secret_field="webhook_secret", handed_over=True),
    contract=Contract("openapi", "notion.json",
                      notes="Notion's own partial spec (makenotion/notion-mcp-server): it has no "
                            "security schemes, types page children as strings, accepts only "
                            "paragraph and bulleted blocks and names data_source parents "
                            "database_id; those parts are tested with responses."),
)
