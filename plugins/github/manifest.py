"""GitHub: issues, comments, labels, commit statuses and pull requests; webhook triggers."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Manifest
from atom.integrations.manifest import RateLimit
from atom.integrations.manifest import Trigger
from atom.integrations.manifest import WebhookSpec
from plugins.github.samples import ISSUE_CLOSED
from plugins.github.samples import ISSUE_COMMENT_CREATED
from plugins.github.samples import ISSUE_OPENED
from plugins.github.samples import PULL_REQUEST_CLOSED
from plugins.github.samples import PULL_REQUEST_MERGED
from plugins.github.samples import PULL_REQUEST_OPENED
from plugins.github.samples import PUSH
from plugins.github.samples import RELEASE_PUBLISHED
from plugins.github.samples import WORKFLOW_RUN_COMPLETED
from plugins.github.schemas import AddLabelsInput
from plugins.github.schemas import CommentOnIssueInput
from plugins.github.schemas import CreateCommitStatusInput
from plugins.github.schemas import CreateIssueInput
from plugins.github.schemas import DispatchRepositoryEventInput
from plugins.github.schemas import GetPullRequestInput
from plugins.github.schemas import GitHubCredentials
from plugins.github.schemas import ListIssuesInput
from plugins.github.schemas import ListPullRequestsInput

_ISSUE = ("{number, id, title, state, html_url, url, user, labels, assignees, comments, "
          "is_pull_request, created_at, updated_at}")
_PULL = ("{number, id, title, state, draft, html_url, user, head_ref, head_sha, base_ref, "
         "labels, created_at, updated_at, merged_at")

MANIFEST = Manifest(
    slug="github",
    display_name="GitHub",
    category="developer",
    description="Open and comment on issues, label them, set commit statuses, read pull "
                "requests and fire repository_dispatch; react to pushes, pull requests, "
                "issues, releases and workflow runs.",
    docs_url="https://docs.github.com/en/rest",
    auth=AuthScheme(kind="bearer", fields=GitHubCredentials, scopes=("repo",)),
    integration="plugins.github.integration:GitHubIntegration",
    base_url="https://api.github.com",
    aliases=("github repo", "github repository", "github.com", "github api"),
    # 5,000 requests per hour for a user token; GET /rate_limit and the X-RateLimit-*
    # headers of every answer re-sync the bucket.
    rate_limit=RateLimit(per_second=5000 / 3600, burst=20),
    actions=(
        Action("create_issue", "Create an issue", CreateIssueInput, _ISSUE),
        Action("comment_on_issue", "Comment on an issue or pull request", CommentOnIssueInput,
               "{id, html_url, issue_number, created_at}"),
        Action("add_labels", "Add labels to an issue or pull request", AddLabelsInput,
               "{issue_number, labels}: every label the issue now has", idempotent=True),
        Action("create_commit_status", "Set a commit status", CreateCommitStatusInput,
               "{id, state, context, description, target_url, created_at}", idempotent=True),
        Action("list_pull_requests", "List pull requests", ListPullRequestsInput,
               f"{{pull_requests: [{_PULL}}}], count}}", idempotent=True, read_only=True),
        Action("get_pull_request", "Get a pull request", GetPullRequestInput,
               f"{_PULL}, body, merged, mergeable, mergeable_state, requested_reviewers, "
               "commits, additions, deletions, changed_files}", idempotent=True, read_only=True),
        Action("list_issues", "List issues", ListIssuesInput, f"{{issues: [{_ISSUE}], count}}",
               idempotent=True, read_only=True),
        Action("dispatch_repository_event", "Trigger a repository_dispatch",
               DispatchRepositoryEventInput, "{dispatched, event_type}",
               description="Starts the workflows listening to repository_dispatch."),
    ),
    triggers=(
        Trigger("pull_request_opened", "Pull request opened", PULL_REQUEST_OPENED),
        Trigger("pull_request_closed", "Pull request closed without merging",
                PULL_REQUEST_CLOSED),
        Trigger("pull_request_merged", "Pull request merged", PULL_REQUEST_MERGED),
        Trigger("issue_opened", "Issue opened", ISSUE_OPENED),
        Trigger("issue_closed", "Issue closed", ISSUE_CLOSED),
        Trigger("issue_comment_created", "Comment on an issue or pull request",
                ISSUE_COMMENT_CREATED),
        Trigger("push", "Commits pushed", PUSH, description="A push to a branch or tag."),
        Trigger("release_published", "Release published", RELEASE_PUBLISHED),
        Trigger("workflow_run_completed", "Workflow run completed", WORKFLOW_RUN_COMPLETED,
                description="Any conclusion: check payload.workflow_run.conclusion."),
    ),
    webhook=WebhookSpec(scheme="github_sha256", secret_field="webhook_secret",
                        delivery_header="X-GitHub-Delivery"),
)
