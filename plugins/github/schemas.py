"""Credentials and action inputs of the GitHub plugin."""
from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

# Owner and repository names end up in URL paths: only GitHub's own characters pass.
_OWNER = validate.Regexp(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$", error="a GitHub user or org name")
_REPO = [validate.Regexp(r"^[A-Za-z0-9._-]{1,100}$", error="a repository name"),
         validate.NoneOf((".", ".."))]


def _label() -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=50))


class GitHubCredentials(OAuth2Tokens):
    token = fields.String(
        validate=validate.Length(min=1),
        metadata={"secret": True, "description": "Personal access token or installation token"},
    )
    webhook_secret = fields.String(
        validate=validate.Length(min=1),
        metadata={"secret": True, "description": "Secret of the repository or org webhook"},
    )

    _token_or_oauth = require_one("token", "access_token")


class RepoInput(Schema):
    owner = fields.String(required=True, validate=_OWNER)
    repo = fields.String(required=True, validate=_REPO)


class IssueRef(RepoInput):
    issue_number = fields.Integer(required=True, validate=validate.Range(min=1))


class CreateIssueInput(RepoInput):
    title = fields.String(required=True, validate=validate.Length(min=1, max=256))
    body = fields.String(validate=validate.Length(max=65_536))
    labels = fields.List(_label(), validate=validate.Length(max=100))
    assignees = fields.List(fields.String(validate=_OWNER), validate=validate.Length(max=10))


class CommentOnIssueInput(IssueRef):
    body = fields.String(required=True, validate=validate.Length(min=1, max=65_536))


class AddLabelsInput(IssueRef):
    labels = fields.List(_label(), required=True, validate=validate.Length(min=1, max=100))


class CreateCommitStatusInput(RepoInput):
    sha = fields.String(required=True, validate=validate.Regexp(
        r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$", error="a full commit SHA"))
    state = fields.String(required=True,
                          validate=validate.OneOf(("error", "failure", "pending", "success")))
    context = fields.String(load_default="default", validate=validate.Length(min=1, max=255))
    description = fields.String(validate=validate.Length(max=140))
    target_url = fields.Url(require_tld=False,
                            metadata={"description": "Link shown next to the status"})


class _Listing(RepoInput):
    state = fields.String(load_default="open", validate=validate.OneOf(("open", "closed", "all")))
    direction = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                               metadata={"description": "Stop after this many items"})


class ListPullRequestsInput(_Listing):
    base = fields.String(validate=validate.Length(min=1, max=255),
                         metadata={"description": "Only pull requests into this branch"})
    sort = fields.String(load_default="created",
                         validate=validate.OneOf(("created", "updated", "popularity",
                                                  "long-running")))


class GetPullRequestInput(RepoInput):
    pull_number = fields.Integer(required=True, validate=validate.Range(min=1))


class ListIssuesInput(_Listing):
    labels = fields.List(_label(), metadata={"description": "Issues carrying all of these labels"})
    assignee = fields.String(validate=validate.Length(min=1, max=39))
    since = fields.AwareDateTime(format="iso",
                                 metadata={"description": "Only issues updated at or after this"})
    sort = fields.String(load_default="created",
                         validate=validate.OneOf(("created", "updated", "comments")))
    include_pull_requests = fields.Boolean(
        load_default=False, metadata={"description": "GitHub lists pull requests as issues too"})


class DispatchRepositoryEventInput(RepoInput):
    event_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    client_payload = fields.Dict(keys=fields.String(), load_default=dict,
                                 validate=validate.Length(max=10))
