"""Jira Cloud: issues, comments, workflow transitions and JQL search; issue webhooks."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.shapes import ANY
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from plugins.jira import samples
from plugins.jira.schemas import AddCommentInput
from plugins.jira.schemas import AssignIssueInput
from plugins.jira.schemas import CreateIssueInput
from plugins.jira.schemas import GetIssueInput
from plugins.jira.schemas import IssueKeyInput
from plugins.jira.schemas import JiraCredentials
from plugins.jira.schemas import JiraSettings
from plugins.jira.schemas import SearchIssuesInput
from plugins.jira.schemas import TransitionIssueInput

_ISSUE_OUT = obj(required=("id", "key"), id=STR, key=STR, self=maybe(STR))
_SUMMARY = dict(id=STR, key=STR, self=maybe(STR), summary=maybe(STR), status=maybe(STR),
                assignee=maybe(STR), assignee_account_id=maybe(STR), fields=obj())
_DETAIL_OUT = obj(required=("id", "key"), **_SUMMARY, description=maybe(STR))
# A webhook delivery as Jira sends it.
_EVENT = obj(required=("webhookEvent",), webhookEvent=STR, timestamp=INT,
             issue=obj(id=STR, key=STR, fields=obj()), comment=obj(id=STR, body=ANY),
             user=obj(accountId=STR, displayName=STR))

MANIFEST = Manifest(
    slug="jira",
    display_name="Jira",
    category="project-management",
    description="Create, comment on, transition, assign and search Jira Cloud issues.",
    docs_url="https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/",
    auth=AuthScheme(
        kind="basic", fields=JiraCredentials, username="email", password="api_token",
        # OAuth 2.0 (3LO): requests go to api.atlassian.com/ex/jira/{cloud_id}; refresh tokens
        # rotate (each refresh returns a new one and the old one stops working).
        oauth2=OAuth2Spec(authorize_url="https://auth.atlassian.com/authorize",
                          token_url="https://auth.atlassian.com/oauth/token",
                          scopes=("read:jira-work", "write:jira-work", "read:jira-user",
                                  "offline_access"),
                          authorize_params={"audience": "api.atlassian.com", "prompt": "consent"},
                          pkce=False, rotating_refresh=True)),
    settings=JiraSettings,
    integration="plugins.jira.integration:JiraIntegration",
    aliases=("jira cloud", "atlassian jira", "jira software", "jira work management"),
    # Jira Cloud publishes no fixed number (burst limits per tenant and endpoint); 10/s with
    # bursts of 20 stays clear of them, and 429s re-sync the bucket from Retry-After.
    rate_limit=RateLimit(per_second=10, burst=20),
    actions=(
        Action("create_issue", "Create an issue", CreateIssueInput, _ISSUE_OUT,
               example={"project_key": "ED", "summary": "Checkout fails on Safari",
                        "issue_type": "Bug"},
               description="Description is plain text, sent as Atlassian Document Format.",
               words=("ticket", "issue", "bug", "file a ticket", "open a ticket", "task")),
        Action("get_issue", "Get an issue", GetIssueInput, _DETAIL_OUT,
               example={"issue_key": "ED-24"},
               idempotent=True, read_only=True,
               words=("get ticket", "issue details", "look up issue")),
        Action("add_comment", "Comment on an issue", AddCommentInput,
               obj(required=("id",), id=STR, self=maybe(STR), created=maybe(STR)),
               example={"issue_key": "ED-24", "body": "Reproduced on 17.2"},
               words=("comment", "reply on the ticket", "note on the issue")),
        Action("list_transitions", "List an issue's transitions", IssueKeyInput,
               obj(required=("transitions",),
                   transitions=arr(obj(id=STR, name=maybe(STR), to=maybe(STR)))),
               example={"issue_key": "ED-24"},
               idempotent=True, read_only=True,
               description="The transitions available now; feed an id to transition_issue.",
               words=("transitions", "available statuses")),
        Action("transition_issue", "Move an issue through its workflow", TransitionIssueInput,
               obj(required=("issue_key", "transition_id"), issue_key=STR, transition_id=STR),
               example={"issue_key": "ED-24", "transition_id": 31},
               words=("move the ticket", "close the ticket", "resolve", "change status",
                      "mark done")),
        Action("search_issues", "Search issues with JQL", SearchIssuesInput,
               listing("issues", obj(required=("id", "key"), **_SUMMARY)),
               example={"jql": "project = ED AND status = \"In Progress\"", "max_results": 5},
               idempotent=True, read_only=True,
               description="Follows nextPageToken until max_results issues.",
               words=("search tickets", "find issues", "JQL", "open bugs")),
        Action("assign_issue", "Assign an issue", AssignIssueInput,
               obj(required=("issue_key", "account_id"), issue_key=STR, account_id=STR),
               example={"issue_key": "ED-24", "account_id": "5b10ac8d82e05b22cc7d4ef5"},
               idempotent=True, words=("assign", "give the ticket to", "assignee")),
    ),
    triggers=(
        Trigger("issue_created", "Issue created", samples.ISSUE_CREATED, _EVENT,
                words=("new ticket", "issue created", "new issue", "bug filed")),
        Trigger("issue_updated", "Issue updated", samples.ISSUE_UPDATED, _EVENT,
                words=("ticket updated", "issue updated", "status changed")),
        Trigger("issue_deleted", "Issue deleted", samples.ISSUE_DELETED, _EVENT,
                words=("ticket deleted", "issue deleted")),
        Trigger("comment_created", "Comment added", samples.COMMENT_CREATED, _EVENT,
                words=("new comment", "comment added", "someone comments")),
    ),
    webhook=WebhookSpec(scheme="jira_sha256", secret_field="webhook_secret",
                        delivery_header="X-Atlassian-Webhook-Identifier"),
    contract=Contract("openapi", "jira.json", settings={"site": "acme"}),
)
