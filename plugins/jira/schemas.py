"""Credentials, settings and action inputs of the Jira Cloud plugin."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens

# "acme", "acme.atlassian.net" or "https://acme.atlassian.net/"
SITE = r"^(https?://)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*/?$"
# An issue key ("ED-24", keys are case-insensitive) or a numeric issue id ("10002"). Checked
# because it becomes part of the URL path.
ISSUE = r"^([A-Za-z][A-Za-z0-9_]*-[0-9]+|[0-9]+)$"
PROJECT = r"^[A-Za-z][A-Za-z0-9_]*$"
SEARCH_FIELDS = ("summary", "status", "assignee", "priority", "issuetype", "labels", "created",
                 "updated")


def _issue_key(**kwargs: Any) -> fields.String:
    return fields.String(required=True,
                         validate=validate.Regexp(ISSUE, error="not an issue key or id"),
                         metadata={"description": "Issue key such as ED-24, or the issue id"},
                         **kwargs)


class JiraCredentials(OAuth2Tokens):
    """An account's email and API token (Basic), or the tokens of the OAuth 2.0 (3LO) flow."""

    email = fields.Email(metadata={"description": "Atlassian account email"})
    api_token = fields.String(validate=validate.Length(min=1),
                              metadata={"secret": True,
                                        "description": "API token from id.atlassian.com"})
    webhook_secret = fields.String(metadata={"secret": True,
                                             "description": "Secret of the admin webhook "
                                                            "(X-Hub-Signature)"})

    @validates_schema
    def _basic_or_oauth(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial or data.get("access_token"):
            return
        missing = {n: ["required for API token auth"] for n in ("email", "api_token")
                   if not data.get(n)}
        if missing:
            raise ValidationError(missing)


class JiraSettings(Schema):
    cloud_id = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9-]{1,64}$"),
                             metadata={"destination": True,
                                       "description": "The site's cloud id (OAuth 2.0 "
                                                      "connections; set by the connect flow)"})
    site = fields.String(validate=[validate.Length(max=255),
                                   validate.Regexp(SITE, error="not a site name")],
                         metadata={"destination": True,
                                   "description": "Your Jira Cloud site: \"acme\" or "
                                                  "\"acme.atlassian.net\" (ignored when base_url "
                                                  "is set)"})

    @validates_schema
    def _site_or_base_url(self, data: dict[str, Any], **_: Any) -> None:
        # base_url comes from the common settings this schema is combined with.
        if not data.get("site") and not data.get("base_url") and not data.get("cloud_id"):
            raise ValidationError({"site": ["give the Jira site (acme.atlassian.net) or a base_url"]})


class CreateIssueInput(Schema):
    project_key = fields.String(required=True, validate=[validate.Length(max=255),
                                                         validate.Regexp(PROJECT)])
    summary = fields.String(required=True, validate=validate.Length(min=1, max=255))
    issue_type = fields.String(load_default="Task", validate=validate.Length(min=1, max=255),
                               metadata={"description": "Issue type name: Task, Bug, Story..."})
    description = fields.String(load_default=None, allow_none=True,
                                metadata={"description": "Plain text; blank lines start "
                                                         "paragraphs"})
    labels = fields.List(fields.String(validate=validate.Regexp(
        r"^\S{1,255}$", error="labels cannot contain spaces")), load_default=list)
    priority = fields.String(load_default=None, allow_none=True,
                             metadata={"description": "Priority name, e.g. High"})
    assignee_account_id = fields.String(load_default=None, allow_none=True,
                                        validate=validate.Length(min=1, max=128))


class IssueKeyInput(Schema):
    issue_key = _issue_key()


class GetIssueInput(IssueKeyInput):
    # ``fields`` is a Schema attribute, hence the data_key.
    field_names = fields.List(fields.String(validate=validate.Length(min=1)), load_default=None,
                              data_key="fields",
                              metadata={"description": "Fields to return (default: all)"})


class AddCommentInput(IssueKeyInput):
    body = fields.String(required=True, validate=validate.Length(min=1, max=32_767),
                         metadata={"description": "Plain text; blank lines start paragraphs"})


class TransitionIssueInput(IssueKeyInput):
    transition_id = fields.Integer(required=True, validate=validate.Range(min=1),
                                   metadata={"description": "From list_transitions"})
    comment = fields.String(load_default=None, allow_none=True,
                            metadata={"description": "Optional comment added with the transition"})


class SearchIssuesInput(Schema):
    jql = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    field_names = fields.List(fields.String(validate=validate.Length(min=1)),
                              load_default=lambda: list(SEARCH_FIELDS), data_key="fields",
                              metadata={"description": "Fields to return for each issue"})
    max_results = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000),
                                 metadata={"description": "Stop after this many issues"})


class AssignIssueInput(IssueKeyInput):
    account_id = fields.String(required=True, validate=validate.Length(min=1, max=128),
                               metadata={"description": "Atlassian account id; \"-1\" picks the "
                                                        "project's default assignee"})
