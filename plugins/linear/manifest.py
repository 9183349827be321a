"""Linear: create, update and find issues, comment on them, list teams and workflow states;
data-change webhooks for new issues, updates, state changes and comments."""
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
from plugins.linear.samples import COMMENT_CREATED
from plugins.linear.samples import ISSUE_CREATED
from plugins.linear.samples import ISSUE_STATE_CHANGED
from plugins.linear.samples import ISSUE_UPDATED
from plugins.linear.schemas import AddCommentInput
from plugins.linear.schemas import CreateIssueInput
from plugins.linear.schemas import GetIssueInput
from plugins.linear.schemas import LinearCredentials
from plugins.linear.schemas import ListIssuesInput
from plugins.linear.schemas import ListTeamsInput
from plugins.linear.schemas import ListWorkflowStatesInput
from plugins.linear.schemas import SearchIssuesInput
from plugins.linear.schemas import UpdateIssueInput

_TEAM_ID = "72b2a2dc-6f4f-4423-9d34-24b5bd10634a"
_ISSUE = obj(required=("id", "identifier"), id=STR, identifier=STR, title=maybe(STR),
             description=maybe(STR), url=maybe(STR), priority=maybe(NUM),
             priority_label=maybe(STR), estimate=maybe(NUM), due_date=maybe(STR),
             created_at=maybe(STR), updated_at=maybe(STR), completed_at=maybe(STR),
             canceled_at=maybe(STR), archived_at=maybe(STR),
             state=maybe(obj(id=STR, name=maybe(STR), type=maybe(STR))),
             team=maybe(obj(id=STR, key=maybe(STR), name=maybe(STR))),
             assignee=maybe(obj(id=STR, name=maybe(STR), email=maybe(STR))),
             project=maybe(obj(id=STR, name=maybe(STR))),
             labels=arr(obj(id=STR, name=maybe(STR))))
_COMMENT = obj(required=("id",), id=STR, body=maybe(STR), url=maybe(STR), created_at=maybe(STR),
               user=maybe(obj(id=STR, name=maybe(STR))), issue_id=maybe(STR),
               issue_identifier=maybe(STR), parent_id=maybe(STR))


def _delivery(data: dict, **extra: dict) -> dict:
    """A data-change delivery as stored (Linear's envelope)."""
    return obj(required=("action", "type", "data", "webhookTimestamp"), action=STR, type=STR,
               actor=maybe(obj(id=STR, type=STR, name=STR)), createdAt=STR, url=maybe(STR),
               organizationId=STR, webhookId=STR, webhookTimestamp=NUM, data=data, **extra)


_ISSUE_DATA = obj(required=("id", "identifier", "title"), id=STR, identifier=STR, title=STR,
                  description=maybe(STR), priority=NUM, priorityLabel=STR, teamId=STR,
                  stateId=STR, state=obj(id=STR, name=STR, type=STR), assigneeId=maybe(STR),
                  labelIds=arr(STR), url=STR, createdAt=STR, updatedAt=STR)
_ISSUE_EVENT = _delivery(_ISSUE_DATA)
_ISSUE_UPDATE = _delivery(_ISSUE_DATA, updatedFrom=obj(about="the changed fields' old values"))

MANIFEST = Manifest(
    slug="linear",
    display_name="Linear",
    category="project-management",
    description="Create and update issues, comment on them, list and search issues, teams "
                "and workflow states; react to new issues, issue updates and state changes, "
                "and new comments through Linear's webhooks.",
    docs_url="https://linear.app/developers/graphql",
    auth=AuthScheme(
        # A personal API key goes in Authorization as it is; OAuth2 tokens as Bearer.
        kind="api_key", fields=LinearCredentials, secret="api_key", header="Authorization",
        prefix="",
        oauth2=OAuth2Spec(
            authorize_url="https://linear.app/oauth/authorize",
            token_url="https://api.linear.app/oauth/token",
            scopes=("read", "write"), scope_separator=",",
            # Linear issues refresh tokens to OAuth apps and a refresh returns a new one
            # (verify against your app's settings): persisted as one.
            rotating_refresh=True)),
    integration="plugins.linear.integration:LinearIntegration",
    base_url="https://api.linear.app/",
    aliases=("linear app", "linear issue", "linear ticket", "linear.app"),
    # API keys: 5,000 requests an hour (a leaky bucket; the headers resync it). OAuth apps get
    # less; raise or lower it per connection with rate_limit_per_second.
    rate_limit=RateLimit(per_second=1.3, burst=20),
    actions=(
        Action("create_issue", "Create an issue", CreateIssueInput, _ISSUE,
               example={"team_id": _TEAM_ID, "title": "Checkout fails for EU customers",
                        "description": "Steps:\n1. Add to cart\n2. Pay", "priority": 2,
                        "label_ids": ["f3a7c1d2-9b8e-4d6f-a1c2-3e4f5a6b7c8d"]},
               words=("issue", "ticket", "bug", "task", "file a bug", "open an issue",
                      "create issue", "new ticket")),
        Action("update_issue", "Update an issue", UpdateIssueInput, _ISSUE,
               example={"id": "ENG-1778", "state_id": "a9f8e7d6-c5b4-4a39-8271-605f4e3d2c1b",
                        "priority": 1},
               idempotent=True,
               description="Only the fields given change; assignee_id null unassigns.",
               words=("update issue", "change status", "move issue", "assign", "set priority",
                      "close ticket", "edit ticket")),
        Action("add_comment", "Comment on an issue", AddCommentInput, _COMMENT,
               example={"issue_id": "ENG-1778", "body": "Reproduced on staging."},
               words=("comment", "reply", "note", "add a comment")),
        Action("get_issue", "Get an issue", GetIssueInput, _ISSUE,
               example={"id": "ENG-1778"}, idempotent=True, read_only=True,
               words=("issue details", "look up issue", "read ticket")),
        Action("list_issues", "List issues", ListIssuesInput, listing("issues", _ISSUE),
               example={"team_key": "ENG", "state_types": ["unstarted", "started"],
                        "max_items": 20},
               idempotent=True, read_only=True,
               description="Filters all hold together; most recently updated first.",
               words=("issues", "tickets", "open issues", "my issues", "backlog")),
        Action("search_issues", "Search issues", SearchIssuesInput, listing("issues", _ISSUE),
               example={"term": "checkout", "max_items": 10}, idempotent=True, read_only=True,
               words=("search issues", "find issue", "find ticket")),
        Action("list_teams", "List teams", ListTeamsInput,
               listing("teams", obj(required=("id",), id=STR, key=maybe(STR), name=maybe(STR),
                                    description=maybe(STR), private=BOOL)),
               example={"max_items": 50}, idempotent=True, read_only=True,
               words=("teams", "list teams")),
        Action("list_workflow_states", "List workflow states", ListWorkflowStatesInput,
               listing("states", obj(required=("id",), id=STR, name=maybe(STR),
                                     type=maybe(STR), color=maybe(STR), position=maybe(NUM),
                                     team_id=maybe(STR), team_key=maybe(STR))),
               example={"team_key": "ENG"}, idempotent=True, read_only=True,
               description="The states an issue can move to (their ids go in update_issue).",
               words=("statuses", "workflow states", "columns")),
    ),
    triggers=(
        Trigger("issue_created", "Issue created", ISSUE_CREATED, _ISSUE_EVENT,
                words=("new issue", "issue created", "new ticket", "bug filed")),
        Trigger("issue_updated", "Issue updated", ISSUE_UPDATED, _ISSUE_UPDATE,
                description="Any change to an issue; updatedFrom holds the old values.",
                words=("issue updated", "ticket changed", "issue edited")),
        Trigger("issue_state_changed", "Issue state changed", ISSUE_STATE_CHANGED,
                _ISSUE_UPDATE,
                description="An update that moved the issue to another workflow state (the "
                            "same delivery also fires issue_updated).",
                words=("status changed", "issue moved", "issue closed", "issue done",
                       "moved to in progress")),
        Trigger("comment_created", "Comment created", COMMENT_CREATED,
                _delivery(obj(required=("id", "body"), id=STR, body=STR, issueId=maybe(STR),
                              userId=maybe(STR), url=maybe(STR), createdAt=STR,
                              issue=maybe(obj(id=STR, identifier=STR)))),
                words=("new comment", "someone comments", "comment added")),
    ),
    webhook=WebhookSpec(scheme="linear_sha256", secret_field="webhook_secret",
                        delivery_header="Linear-Delivery"),
    contract=Contract("graphql", "linear.graphql",
                      notes="Every document in plugins/linear/queries.py is validated against "
                            "Linear's SDK schema and executed by a graphql-core fake of it in "
                            "the action tests."),
)
