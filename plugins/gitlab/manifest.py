"""GitLab (gitlab.com or self-managed): issues, notes, merge requests, projects and pipelines;
project and group webhook triggers."""
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
from atom.integrations.shapes import INT
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.gitlab.samples import ISSUE_CLOSED
from plugins.gitlab.samples import ISSUE_OPENED
from plugins.gitlab.samples import MERGE_REQUEST_MERGED
from plugins.gitlab.samples import MERGE_REQUEST_OPENED
from plugins.gitlab.samples import NOTE_CREATED
from plugins.gitlab.samples import PIPELINE_FINISHED
from plugins.gitlab.samples import PUSH
from plugins.gitlab.schemas import CreateIssueInput
from plugins.gitlab.schemas import GitLabCredentials
from plugins.gitlab.schemas import GitLabSettings
from plugins.gitlab.schemas import IssueNoteInput
from plugins.gitlab.schemas import ListMergeRequestsInput
from plugins.gitlab.schemas import ListPipelinesInput
from plugins.gitlab.schemas import ListProjectsInput
from plugins.gitlab.schemas import MergeRequestNoteInput
from plugins.gitlab.schemas import TriggerPipelineInput
from plugins.gitlab.schemas import UpdateIssueInput

_ISSUE = obj(required=("id", "iid"), id=INT, iid=INT, project_id=maybe(INT), title=maybe(STR),
             description=maybe(STR), state=maybe(STR), labels=arr(maybe(STR)),
             author=maybe(STR), assignees=arr(maybe(STR)), web_url=maybe(STR),
             due_date=maybe(STR), created_at=maybe(STR), updated_at=maybe(STR),
             closed_at=maybe(STR))
_NOTE = obj(required=("id",), id=INT, body=maybe(STR), author=maybe(STR),
            noteable_type=maybe(STR), noteable_iid=maybe(INT), internal=BOOL, system=BOOL,
            created_at=maybe(STR))
_PROJECT = obj(required=("id",), id=INT, name=maybe(STR), path_with_namespace=maybe(STR),
               description=maybe(STR), default_branch=maybe(STR), visibility=maybe(STR),
               web_url=maybe(STR), archived=BOOL, last_activity_at=maybe(STR))
_PIPELINE = obj(required=("id",), id=INT, iid=maybe(INT), project_id=maybe(INT), ref=maybe(STR),
                sha=maybe(STR), status=maybe(STR), source=maybe(STR), web_url=maybe(STR),
                created_at=maybe(STR), updated_at=maybe(STR))
_MERGE_REQUEST = obj(required=("id", "iid"), id=INT, iid=INT, project_id=maybe(INT),
                     title=maybe(STR), state=maybe(STR), draft=BOOL, source_branch=maybe(STR),
                     target_branch=maybe(STR), author=maybe(STR), labels=arr(maybe(STR)),
                     detailed_merge_status=maybe(STR), web_url=maybe(STR),
                     created_at=maybe(STR), updated_at=maybe(STR), merged_at=maybe(STR))
# A delivery as GitLab sends it; object_attributes holds the issue, note, MR or pipeline.
_EVENT = obj(required=("object_kind", "project"), object_kind=STR, event_type=STR,
             user=obj(id=INT, username=STR, name=STR),
             project=obj(required=("id",), id=INT, path_with_namespace=STR, web_url=STR),
             object_attributes=obj(id=INT, iid=INT, action=STR, state=STR, status=STR,
                                   url=STR))
_PROJECT_PATH = "gitlab-org/gitlab-test"
_WHERE = {"project": _PROJECT_PATH}

MANIFEST = Manifest(
    slug="gitlab",
    display_name="GitLab",
    category="developer",
    description="Open, update and comment on issues, comment on merge requests, list projects, "
                "merge requests and pipelines, run a pipeline; react to issues, merge requests, "
                "comments, finished pipelines and pushes. gitlab.com or your own instance.",
    docs_url="https://docs.gitlab.com/api/rest/",
    auth=AuthScheme(
        kind="api_key", fields=GitLabCredentials, secret="token",
        header="PRIVATE-TOKEN", prefix="",
        # {host} is the connection's host setting (https://gitlab.com by default), so a
        # self-managed instance authorises at its own /oauth. Each refresh revokes the old
        # refresh token and returns a new one (https://docs.gitlab.com/api/oauth2/).
        oauth2=OAuth2Spec(authorize_url="{host}/oauth/authorize",
                          token_url="{host}/oauth/token", scopes=("api",), pkce=True,
                          rotating_refresh=True)),
    integration="plugins.gitlab.integration:GitLabIntegration",
    base_url="https://gitlab.com/api/v4",
    settings=GitLabSettings,
    aliases=("gitlab.com", "self-hosted gitlab", "gitlab ci", "merge request"),
    # gitlab.com: 2,000 authenticated API requests a minute per user, with lower limits on
    # creating issues (200/min) and notes (60/min); RateLimit-Remaining/-Reset re-sync the
    # bucket and a 429's Retry-After is honoured.
    rate_limit=RateLimit(per_second=2000 / 60, burst=20),
    actions=(
        Action("create_issue", "Create an issue", CreateIssueInput, _ISSUE,
               example={**_WHERE, "title": "Checkout fails for EU customers",
                        "description": "Steps to reproduce: ...", "labels": ["bug"]},
               words=("open an issue", "file a bug", "new issue", "new ticket", "report a bug")),
        Action("update_issue", "Update, close or reopen an issue", UpdateIssueInput, _ISSUE,
               example={**_WHERE, "issue_iid": 23, "state_event": "close",
                        "add_labels": ["resolved"]},
               idempotent=True,
               words=("close the issue", "reopen the issue", "label the issue",
                      "update the issue", "assign the issue")),
        Action("create_issue_note", "Comment on an issue", IssueNoteInput, _NOTE,
               example={**_WHERE, "issue_iid": 23, "body": "Deployed in 1.4.2."},
               words=("comment on the issue", "add a note", "reply on the issue")),
        Action("create_merge_request_note", "Comment on a merge request", MergeRequestNoteInput,
               _NOTE, example={**_WHERE, "merge_request_iid": 1, "body": "LGTM, deploying."},
               words=("comment on the merge request", "comment on the MR", "review comment")),
        Action("list_projects", "List projects", ListProjectsInput,
               listing("projects", _PROJECT),
               example={"search": "gitlab-test", "max_items": 10},
               idempotent=True, read_only=True, words=("projects", "repos", "my projects")),
        Action("list_merge_requests", "List merge requests", ListMergeRequestsInput,
               listing("merge_requests", _MERGE_REQUEST, project=STR),
               example={**_WHERE, "state": "opened", "max_items": 10},
               idempotent=True, read_only=True,
               words=("merge requests", "open MRs", "MRs", "pending reviews")),
        Action("list_pipelines", "List pipelines", ListPipelinesInput,
               listing("pipelines", _PIPELINE, project=STR) | {"description": "newest first"},
               example={**_WHERE, "ref": "main", "status": "failed", "max_items": 5},
               idempotent=True, read_only=True,
               words=("pipelines", "builds", "CI runs", "failed pipelines")),
        Action("trigger_pipeline", "Run a pipeline", TriggerPipelineInput, _PIPELINE,
               example={**_WHERE, "ref": "main", "variables": {"DEPLOY_ENV": "staging"}},
               description="Creates a pipeline for a branch or tag (POST /projects/:id/pipeline) "
                           "with the token's user as its author.",
               words=("run the pipeline", "trigger a pipeline", "start a build", "deploy",
                      "run CI")),
    ),
    triggers=(
        Trigger("issue_opened", "Issue opened", ISSUE_OPENED, _EVENT,
                words=("new issue", "issue opened", "bug filed", "issue created")),
        Trigger("issue_closed", "Issue closed", ISSUE_CLOSED, _EVENT,
                words=("issue closed", "issue resolved", "bug fixed")),
        Trigger("merge_request_opened", "Merge request opened", MERGE_REQUEST_OPENED, _EVENT,
                words=("new merge request", "MR opened", "merge request opened", "new MR")),
        Trigger("merge_request_merged", "Merge request merged", MERGE_REQUEST_MERGED, _EVENT,
                words=("MR merged", "merge request merged", "merged")),
        Trigger("note_created", "Comment added", NOTE_CREATED, _EVENT,
                description="A new comment on an issue, merge request, commit or snippet "
                            "(object_attributes.noteable_type says which).",
                words=("new comment", "someone comments", "comment added", "new note")),
        Trigger("pipeline_finished", "Pipeline finished", PIPELINE_FINISHED, _EVENT,
                description="A pipeline succeeded or failed: check object_attributes.status.",
                words=("pipeline finished", "build finished", "CI finished", "build failed",
                       "pipeline failed", "pipeline passed")),
        Trigger("push", "Commits pushed", PUSH, _EVENT, description="A push to a branch.",
                words=("push", "commit", "pushed", "code pushed", "new commits")),
    ),
    webhook=WebhookSpec(scheme="gitlab_token", secret_field="webhook_token",
                        delivery_header="X-Gitlab-Event-UUID"),
    contract=Contract("fake", notes="tests/plugins/gitlab/fake_gitlab.py: a stateful GitLab "
                                    "REST v4 following https://docs.gitlab.com/api/rest/ (no "
                                    "spec copy is kept; see shared/specs/README.md)"),
)
