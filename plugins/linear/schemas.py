"""Credentials and action inputs of the Linear plugin.

Input names are ATOM's snake_case for Linear's arguments (team_id is teamId); ids are checked
before anything is sent: Linear's ids are UUIDs, and an issue may also be named by its
identifier (ENG-123).
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

UUID = validate.Regexp(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}$", error="a Linear id (a UUID)")
ISSUE = validate.Regexp(r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                        r"[0-9a-fA-F]{12}|[A-Za-z][A-Za-z0-9_]{0,9}-[0-9]{1,9})$",
                        error="an issue id (a UUID) or identifier such as ENG-123")
DATE = validate.Regexp(r"^\d{4}-\d{2}-\d{2}$", error="a date such as 2025-06-30")
TIMESTAMP = validate.Regexp(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                            r"(Z|[+-]\d{2}:?\d{2})?)?$",
                            error="an ISO 8601 date or date-time such as 2025-06-30T12:00:00Z")
# Linear's priorities: 0 none, 1 urgent, 2 high, 3 medium (normal), 4 low.
PRIORITIES = {"none": 0, "no priority": 0, "urgent": 1, "high": 2, "medium": 3, "normal": 3,
              "low": 4}
STATE_TYPES = ("triage", "backlog", "unstarted", "started", "completed", "canceled")


class Priority(fields.Integer):
    """0-4, or a name: none, urgent, high, medium (normal), low."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and value.strip().lower() in PRIORITIES:
            return PRIORITIES[value.strip().lower()]
        if isinstance(value, bool):
            raise ValidationError("a priority: 0-4 or none, urgent, high, medium, low")
        number = super()._deserialize(value, attr, data, **kwargs)
        if not 0 <= number <= 4:
            raise ValidationError("a priority: 0-4 or none, urgent, high, medium, low")
        return number


def _uuid_list(**kwargs: Any) -> fields.List:
    return fields.List(fields.String(validate=UUID), validate=validate.Length(max=50), **kwargs)


class LinearCredentials(OAuth2Tokens):
    """A personal API key (Settings > Security & access), or the tokens of the OAuth2 connect
    flow; the webhook's signing secret verifies deliveries."""

    api_key = fields.String(
        validate=validate.Regexp(r"^lin_api_[A-Za-z0-9]{16,128}$",
                                 error="a Linear personal API key starts with lin_api_"),
        metadata={"secret": True, "description": "Personal API key (sent in Authorization "
                                                 "as it is, without Bearer)",
                  "example": "lin_api_0123456789abcdefContractKey0123456789"})
    webhook_secret = fields.String(
        validate=validate.Length(min=8, max=512),
        metadata={"secret": True, "description": "The webhook's signing secret (lin_wh_...)"})

    _key_or_oauth = require_one("api_key", "access_token")


class _IssueFields(Schema):
    title = fields.String(validate=validate.Length(min=1, max=255))
    description = fields.String(validate=validate.Length(max=200_000),
                                metadata={"description": "Markdown"})
    priority = Priority(metadata={"description": "0-4 or none, urgent, high, medium, low"})
    assignee_id = fields.String(validate=UUID, allow_none=True,
                                metadata={"description": "A user id; null unassigns (update)"})
    state_id = fields.String(validate=UUID, metadata={"description": "A workflow state id "
                                                                     "(list_workflow_states)"})
    label_ids = _uuid_list(metadata={"description": "Replaces the issue's labels"})
    project_id = fields.String(validate=UUID)
    parent_id = fields.String(validate=UUID, metadata={"description": "Make it a sub-issue"})
    due_date = fields.String(validate=DATE)
    estimate = fields.Integer(validate=validate.Range(min=0, max=1000))


class CreateIssueInput(_IssueFields):
    team_id = fields.String(required=True, validate=UUID, metadata={"description": "The "
                            "team's id (list_teams)"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=255))


class UpdateIssueInput(_IssueFields):
    id = fields.String(required=True, validate=ISSUE,
                       metadata={"description": "Issue id or identifier (ENG-123)"})
    added_label_ids = _uuid_list()
    removed_label_ids = _uuid_list()

    @validates_schema
    def _something_to_change(self, data: dict[str, Any], **_: Any) -> None:
        if not set(data) - {"id"}:
            raise ValidationError("give at least one field to change", field_name="_schema")
        if "label_ids" in data and ("added_label_ids" in data or "removed_label_ids" in data):
            raise ValidationError("give label_ids, or added_/removed_label_ids, not both",
                                  field_name="label_ids")


class AddCommentInput(Schema):
    issue_id = fields.String(required=True, validate=ISSUE,
                             metadata={"description": "Issue id or identifier (ENG-123)"})
    body = fields.String(required=True, validate=validate.Length(min=1, max=200_000),
                         metadata={"description": "Markdown"})
    parent_id = fields.String(validate=UUID, metadata={"description": "Reply to this comment"})


class GetIssueInput(Schema):
    id = fields.String(required=True, validate=ISSUE)


class _Listing(Schema):
    max_items = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000),
                               metadata={"description": "Stop after this many"})
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=250))


class ListTeamsInput(_Listing):
    pass


class ListIssuesInput(_Listing):
    team_id = fields.String(validate=UUID)
    team_key = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_]{1,10}$"),
                             metadata={"description": "The team's key, such as ENG"})
    assignee_id = fields.String(validate=UUID)
    assigned_to_me = fields.Boolean()
    state_types = fields.List(fields.String(validate=validate.OneOf(STATE_TYPES)),
                              validate=validate.Length(min=1, max=6))
    state_name = fields.String(validate=validate.Length(min=1, max=100))
    label_name = fields.String(validate=validate.Length(min=1, max=100))
    priorities = fields.List(Priority(), validate=validate.Length(min=1, max=5))
    title_contains = fields.String(validate=validate.Length(min=1, max=255))
    updated_after = fields.String(validate=TIMESTAMP)
    created_after = fields.String(validate=TIMESTAMP)
    order_by = fields.String(load_default="updatedAt",
                             validate=validate.OneOf(("updatedAt", "createdAt")))
    include_archived = fields.Boolean(load_default=False)


class SearchIssuesInput(_Listing):
    term = fields.String(required=True, validate=validate.Length(min=1, max=255))
    team_id = fields.String(validate=UUID)
    include_comments = fields.Boolean(load_default=False)
    max_items = fields.Integer(load_default=25, validate=validate.Range(min=1, max=500))


class ListWorkflowStatesInput(_Listing):
    team_id = fields.String(validate=UUID)
    team_key = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_]{1,10}$"))
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
