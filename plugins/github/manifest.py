"""GitHub: issues, comments, labels, commit statuses and pull requests; webhook triggers."""
from __future__ import annotations

from atom.integrations.manifest import Action
from atom.integrations.manifest import AuthScheme
from atom.integrations.manifest import Contract
from atom.integrations.manifest import OAuth2Spec
from atom.integrations.shapes import BOOL
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

_LABELS = arr(STR)
_ISSUE = obj(required=("number", "id"), number=INT, id=INT, title=maybe(STR), state=maybe(STR),
             html_url=maybe(STR), url=maybe(STR), user=maybe(STR), labels=_LABELS,
             assignees=arr(maybe(STR)), comments=INT, is_pull_request=BOOL,
             created_at=maybe(STR), updated_at=maybe(STR))
_PULL_FIELDS = dict(number=INT, id=INT, title=maybe(STR), state=maybe(STR), draft=maybe(BOOL),
                    html_url=maybe(STR), user=maybe(STR), head_ref=maybe(STR),
                    head_sha=maybe(STR), base_ref=maybe(STR), labels=_LABELS,
                    created_at=maybe(STR), updated_at=maybe(STR), merged_at=maybe(STR))
_PULL = obj(required=("number", "id"), **_PULL_FIELDS)
_PULL_DETAIL = obj(required=("number", "id"), **_PULL_FIELDS, body=maybe(STR), merged=BOOL,
                   mergeable=maybe(BOOL), mergeable_state=maybe(STR),
                   requested_reviewers=arr(maybe(STR)), commits=maybe(INT),
                   additions=maybe(INT), deletions=maybe(INT), changed_files=maybe(INT))
_REPO = {"owner": "octocat", "repo": "Hello-World"}
# A delivery as GitHub sends it: the repository and sender on every event, the rest per event.
_EVENT = obj(required=("repository", "sender"),
             action=STR, repository=obj(required=("full_name",), full_name=STR, id=INT),
             sender=obj(login=STR, id=INT))

MANIFEST = Manifest(
    slug="github",
    display_name="GitHub",
    category="developer",
    description="Open and comment on issues, label them, set commit statuses, read pull "
                "requests and fire repository_dispatch; react to pushes, pull requests, "
                "issues, releases and workflow runs.",
    docs_url="https://docs.github.com/en/rest",
    auth=AuthScheme(
        kind="bearer", fields=GitHubCredentials, secret="token",
        oauth2=OAuth2Spec(authorize_url="https://github.com/login/oauth/authorize",
                          token_url="https://github.com/login/oauth/access_token",
                          scopes=("repo",), pkce=True)),
    integration="plugins.github.integration:GitHubIntegration",
    base_url="https://api.github.com",
    aliases=("github repo", "github repository", "github.com", "github api", "gh"),
    # 5,000 requests per hour for a user token; GET /rate_limit and the X-RateLimit-*
    # headers of every answer re-sync the bucket.
    rate_limit=RateLimit(per_second=5000 / 3600, burst=20),
    actions=(
        Action("create_issue", "Create an issue", CreateIssueInput, _ISSUE,
               example={**_REPO, "title": "Found a bug", "body": "Steps to reproduce: ...",
                        "labels": ["bug"]},
               words=("open an issue", "file a bug", "new issue", "bug report", "ticket")),
        Action("comment_on_issue", "Comment on an issue or pull request", CommentOnIssueInput,
               obj(required=("id", "issue_number"), id=INT, html_url=maybe(STR),
                   issue_number=INT, created_at=maybe(STR)),
               example={**_REPO, "issue_number": 1347, "body": "Thanks, looking into it."},
               words=("comment", "reply on the issue", "comment on the PR")),
        Action("add_labels", "Add labels to an issue or pull request", AddLabelsInput,
               obj(required=("issue_number", "labels"), issue_number=INT, labels=_LABELS,
                   about="every label the issue now has"),
               example={**_REPO, "issue_number": 1347, "labels": ["bug", "triage"]},
               idempotent=True, words=("label", "tag", "add a label")),
        Action("create_commit_status", "Set a commit status", CreateCommitStatusInput,
               obj(required=("id", "state"), id=INT, state=STR, context=maybe(STR),
                   description=maybe(STR), target_url=maybe(STR), created_at=maybe(STR)),
               example={**_REPO, "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
                        "state": "success", "context": "atom/deploy"},
               idempotent=True, words=("commit status", "mark the build", "check status")),
        Action("list_pull_requests", "List pull requests", ListPullRequestsInput,
               listing("pull_requests", _PULL),
               example={**_REPO, "state": "open", "max_items": 1},
               idempotent=True, read_only=True, words=("pull requests", "PRs", "open PRs")),
        Action("get_pull_request", "Get a pull request", GetPullRequestInput, _PULL_DETAIL,
               example={**_REPO, "pull_number": 1347},
               idempotent=True, read_only=True, words=("pull request", "PR details")),
        Action("list_issues", "List issues", ListIssuesInput, listing("issues", _ISSUE),
               example={**_REPO, "labels": ["bug"], "include_pull_requests": True, "max_items": 1},
               idempotent=True, read_only=True, words=("issues", "bugs", "open issues")),
        Action("dispatch_repository_event", "Trigger a repository_dispatch",
               DispatchRepositoryEventInput,
               obj(required=("dispatched", "event_type"), dispatched=BOOL, event_type=STR),
               example={**_REPO, "event_type": "atom-deploy", "client_payload": {"env": "staging"}},
               description="Starts the workflows listening to repository_dispatch.",
               words=("run the github action", "trigger a workflow", "start the pipeline",
                      "deploy")),
    ),
    triggers=(
        Trigger("pull_request_opened", "Pull request opened", PULL_REQUEST_OPENED, _EVENT,
                words=("new pull request", "PR opened", "pull request opened", "new PR")),
        Trigger("pull_request_closed", "Pull request closed without merging",
                PULL_REQUEST_CLOSED, _EVENT, words=("PR closed", "pull request closed")),
        Trigger("pull_request_merged", "Pull request merged", PULL_REQUEST_MERGED, _EVENT,
                words=("PR merged", "pull request merged", "merged")),
        Trigger("issue_opened", "Issue opened", ISSUE_OPENED, _EVENT,
                words=("new issue", "issue opened", "bug filed", "issue created")),
        Trigger("issue_closed", "Issue closed", ISSUE_CLOSED, _EVENT,
                words=("issue closed", "issue resolved")),
        Trigger("issue_comment_created", "Comment on an issue or pull request",
                ISSUE_COMMENT_CREATED, _EVENT, words=("new comment", "someone comments")),
        Trigger("push", "Commits pushed", PUSH, _EVENT, description="A push to a branch or tag.",
                words=("push", "commit", "pushed", "code pushed")),
        Trigger("release_published", "Release published", RELEASE_PUBLISHED, _EVENT,
                words=("new release", "release published", "tag released")),
        Trigger("workflow_run_completed", "Workflow run completed", WORKFLOW_RUN_COMPLETED,
                _EVENT, description="Any conclusion: check payload.workflow_run.conclusion.",
                words=("build finished", "CI finished", "workflow run completed",
                       "build failed")),
    ),
    webhook=WebhookSpec(scheme="github_sha256", secret_field="webhook_secret",
                        delivery_header="X-GitHub-Delivery"),
    contract=Contract("openapi", "github.json"),
)
