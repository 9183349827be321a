"""Credentials, settings and action inputs of the GitLab plugin."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

DEFAULT_HOST = "https://gitlab.com"
# "group/subgroup/project" (GitLab's path characters; nested groups up to 20 levels) or a
# numeric id. Paths are URL-encoded whole (%2F) when they go into a URL.
_PATH_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}"
_PROJECT = re.compile(rf"^(?:[0-9]{{1,20}}|{_PATH_SEGMENT}(?:/{_PATH_SEGMENT}){{1,20}})$")
_REF = re.compile(r"^[^\s~^:?*\[\\\x00-\x1f\x7f]{1,255}$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_LABEL = validate.Regexp(r"^[^,\x00-\x1f]{1,255}$", error="a label name (no commas)")


class ProjectId(fields.Field):
    """A project's numeric id (42, or "42") or its full path ("group/subgroup/project")."""

    default_error_messages = {"invalid": "a project id (42) or path (group/project)"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.make_error("invalid")
        text = str(value).strip().strip("/") if isinstance(value, str) else str(value)
        if not _PROJECT.match(text) or text.endswith((".git", ".atom")):
            raise self.make_error("invalid")
        return text


def _project() -> ProjectId:
    return ProjectId(required=True, metadata={
        "type": ["integer", "string"], "example": "gitlab-org/gitlab-test",
        "description": "Project id (42) or full path (group/subgroup/project)"})


class GitLabCredentials(OAuth2Tokens):
    """A personal, project or group access token pasted in, or OAuth2 tokens."""

    token = fields.String(
        validate=validate.Regexp(r"^[\x21-\x7e]{8,512}$", error="an access token (glpat-...)"),
        metadata={"secret": True,
                  "description": "Personal, project or group access token with the api scope",
                  "example": "glpat-xB7qLp2VnW9sT4dY6fHz"})
    webhook_token = fields.String(
        validate=validate.Length(min=1, max=512),
        metadata={"secret": True, "description": "The webhook's secret token (X-Gitlab-Token)"})

    _token_or_oauth = require_one("token", "access_token")


def _host_url(value: str) -> None:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ValidationError("an http(s) URL such as https://gitlab.example.com")


class GitLabSettings(Schema):
    host = fields.String(
        load_default=DEFAULT_HOST, validate=[validate.Length(min=1, max=500), _host_url],
        metadata={"destination": True,
                  "description": "GitLab instance (https://gitlab.example.com); the API is "
                                 "{host}/api/v4, OAuth at {host}/oauth/... Ignored when "
                                 "base_url is set."})

    @post_load
    def _normal_host(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("host"):
            data["host"] = data["host"].strip().rstrip("/")
        return data


class ProjectRef(Schema):
    project = _project()


class IssueRef(ProjectRef):
    issue_iid = fields.Integer(required=True, validate=validate.Range(min=1),
                               metadata={"description": "The issue's number in the project"})


def _labels(description: str) -> fields.List:
    return fields.List(fields.String(validate=_LABEL), validate=validate.Length(max=100),
                       metadata={"description": description})


class CreateIssueInput(ProjectRef):
    title = fields.String(required=True, validate=validate.Length(min=1, max=255))
    description = fields.String(validate=validate.Length(max=1_048_576))
    labels = _labels("Label names (created when missing)")
    assignee_ids = fields.List(fields.Integer(validate=validate.Range(min=1)),
                               validate=validate.Length(max=100))
    milestone_id = fields.Integer(validate=validate.Range(min=1))
    due_date = fields.Date(metadata={"description": "YYYY-MM-DD"})
    confidential = fields.Boolean()
    issue_type = fields.String(validate=validate.OneOf(("issue", "incident", "test_case",
                                                        "task")))


class UpdateIssueInput(IssueRef):
    title = fields.String(validate=validate.Length(min=1, max=255))
    description = fields.String(validate=validate.Length(max=1_048_576))
    state_event = fields.String(validate=validate.OneOf(("close", "reopen")),
                                metadata={"description": "close or reopen the issue"})
    add_labels = _labels("Labels to add")
    remove_labels = _labels("Labels to remove")
    assignee_ids = fields.List(fields.Integer(validate=validate.Range(min=0)),
                               validate=validate.Length(max=100))
    due_date = fields.Date()

    @validates_schema
    def _something(self, data: dict[str, Any], partial: Any = None, **kwargs: Any) -> None:
        changes = set(data) - {"project", "issue_iid"}
        if not partial and not changes:
            raise ValidationError("give at least one change (title, state_event, add_labels, "
                                  "...)", field_name="state_event")


class IssueNoteInput(IssueRef):
    body = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000))
    internal = fields.Boolean(load_default=False,
                              metadata={"description": "Visible to project members only"})


class MergeRequestNoteInput(ProjectRef):
    merge_request_iid = fields.Integer(required=True, validate=validate.Range(min=1),
                                       metadata={"description": "The merge request's number"})
    body = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000))
    internal = fields.Boolean(load_default=False)


class _Listing(Schema):
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000),
                               metadata={"description": "Stop after this many items"})


class ListProjectsInput(_Listing):
    membership = fields.Boolean(load_default=True,
                                metadata={"description": "Only projects you are a member of"})
    search = fields.String(validate=validate.Length(min=1, max=255))
    owned = fields.Boolean()
    archived = fields.Boolean()
    order_by = fields.String(load_default="last_activity_at", validate=validate.OneOf(
        ("id", "name", "path", "created_at", "updated_at", "last_activity_at")))
    sort = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))


_PIPELINE_STATUSES = ("created", "waiting_for_resource", "preparing", "pending", "running",
                      "success", "failed", "canceled", "skipped", "manual", "scheduled")


class ListPipelinesInput(ProjectRef, _Listing):
    status = fields.String(validate=validate.OneOf(_PIPELINE_STATUSES))
    ref = fields.String(validate=validate.Regexp(_REF, error="a branch or tag name"))
    sha = fields.String(validate=validate.Regexp(r"^[0-9a-fA-F]{7,64}$", error="a commit SHA"))
    source = fields.String(validate=validate.Length(min=1, max=50))
    updated_after = fields.AwareDateTime(format="iso")
    order_by = fields.String(load_default="id", validate=validate.OneOf(
        ("id", "status", "ref", "updated_at", "user_id")))
    sort = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    max_items = fields.Integer(load_default=20, validate=validate.Range(min=1, max=5000))


class ListMergeRequestsInput(ProjectRef, _Listing):
    state = fields.String(load_default="opened", validate=validate.OneOf(
        ("opened", "closed", "locked", "merged", "all")))
    target_branch = fields.String(validate=validate.Regexp(_REF, error="a branch name"))
    labels = _labels("Only merge requests with all of these labels")
    max_items = fields.Integer(load_default=20, validate=validate.Range(min=1, max=5000))


def _at_most_100(value: dict[str, Any]) -> None:
    if len(value) > 100:
        raise ValidationError("at most 100 inputs")


def _variables(value: dict[str, Any]) -> None:
    if len(value) > 200:
        raise ValidationError("at most 200 variables")
    for key, item in value.items():
        if not _VARIABLE.match(key):
            raise ValidationError(f"{key!r} is not a variable name (letters, digits, _)")
        if not isinstance(item, (str, int, float, bool)) or len(str(item)) > 10_000:
            raise ValidationError(f"{key}: a value is text of at most 10000 characters")


class TriggerPipelineInput(ProjectRef):
    ref = fields.String(required=True, validate=validate.Regexp(_REF, error="a branch or tag"),
                        metadata={"description": "Branch or tag to run the pipeline for"})
    variables = fields.Dict(keys=fields.String(), values=fields.Raw(), validate=_variables,
                            metadata={"description": "CI/CD variables: name -> value"})
    inputs = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)),
                         values=fields.Raw(), validate=_at_most_100,
                         metadata={"description": "Pipeline inputs (spec:inputs)"})
