"""Jira Cloud: issues, comments, workflow transitions and JQL search; issue webhooks."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
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

_ISSUE_OUT = "{id, key, self}"
_DETAIL_OUT = "{id, key, self, summary, status, assignee, assignee_account_id, fields, description}"

MANIFEST = Manifest(
    slug="jira",
    display_name="Jira",
    category="project-management",
    description="Create, comment on, transition, assign and search Jira Cloud issues.",
    docs_url="https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/",
    auth=AuthScheme(kind="basic", fields=JiraCredentials),
    settings=JiraSettings,
    integration="plugins.jira.integration:JiraIntegration",
    aliases=("jira cloud", "atlassian jira", "jira software", "jira work management"),
    # Jira Cloud publishes no fixed number (burst limits per tenant and endpoint); 10/s with
    # bursts of 20 stays clear of them, and 429s re-sync the bucket from Retry-After.
    rate_limit=RateLimit(per_second=10, burst=20),
    actions=(
        Action("create_issue", "Create an issue", CreateIssueInput, _ISSUE_OUT,
               description="Description is plain text, sent as Atlassian Document Format."),
        Action("get_issue", "Get an issue", GetIssueInput, _DETAIL_OUT,
               idempotent=True, read_only=True),
        Action("add_comment", "Comment on an issue", AddCommentInput, "{id, self, created}"),
        Action("list_transitions", "List an issue's transitions", IssueKeyInput,
               "{transitions: [{id, name, to}]}", idempotent=True, read_only=True,
               description="The transitions available now; feed an id to transition_issue."),
        Action("transition_issue", "Move an issue through its workflow", TransitionIssueInput,
               "{issue_key, transition_id}"),
        Action("search_issues", "Search issues with JQL", SearchIssuesInput,
               "{issues: [{id, key, summary, status, assignee, ...}], count}",
               idempotent=True, read_only=True,
               description="Follows nextPageToken until max_results issues."),
        Action("assign_issue", "Assign an issue", AssignIssueInput, "{issue_key, account_id}",
               idempotent=True),
    ),
    triggers=(
        Trigger("issue_created", "Issue created", samples.ISSUE_CREATED),
        Trigger("issue_updated", "Issue updated", samples.ISSUE_UPDATED),
        Trigger("issue_deleted", "Issue deleted", samples.ISSUE_DELETED),
        Trigger("comment_created", "Comment added", samples.COMMENT_CREATED),
    ),
    webhook=WebhookSpec(scheme="jira_sha256", secret_field="webhook_secret",
                        delivery_header="X-Atlassian-Webhook-Identifier"),
)
