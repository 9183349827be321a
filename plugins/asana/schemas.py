"""Credentials, settings and action inputs of the Asana plugin."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from atom.integrations.helpers import OAuth2Tokens
from atom.integrations.helpers import require_one

# Asana documents gids as opaque strings; every one it issues is a decimal number. Checked
# strictly because task and workspace gids become part of URL paths.
GID = validate.Regexp(r"^[0-9]{1,32}$", error="an Asana gid: digits, such as 1204567890123456")
# A user: "me", an email address or a user gid (what Asana accepts for assignee and followers).
USER = validate.Regexp(r"^(me|[0-9]{1,32}|[^@\s]{1,200}@[^@\s]{1,200}\.[^@\s]{1,60})$",
                       error='"me", an email address or a user gid')
# The handshake secret Asana hands over (64 hex characters in its documentation).
HOOK_SECRET = r"^[A-Za-z0-9._~+/=-]{16,256}$"
# Asana publishes no length limits for these; generous caps keep one step from sending megabytes.
NAME = validate.Length(min=1, max=1024)
TEXT = validate.Length(min=1, max=65_535)


def _gid(description: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=GID, metadata={"description": description}, **kwargs)


def _max_items(default: int = 100) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=5000),
                          metadata={"description": "Stop after this many items"})


class AsanaCredentials(OAuth2Tokens):
    """A personal access token (or service account token), or the tokens of the OAuth2 flow."""

    token = fields.String(
        validate=validate.Length(min=8, max=4096),
        metadata={"secret": True, "description": "Personal access token (2/1204.../1206...:...)",
                  "example": "2/1204567890123456/1206543210987654:"
                             "0a1b2c3d4e5f60718293a4b5c6d7e8f9"},
    )
    webhook_secret = fields.String(
        validate=validate.Regexp(HOOK_SECRET, error="not an Asana webhook secret"),
        metadata={"secret": True,
                  "description": "The X-Hook-Secret of this connection's webhook: set by the "
                                 "handshake when the webhook is created; leave empty"},
    )

    _token_or_oauth = require_one("token", "access_token")


class AsanaSettings(Schema):
    default_workspace = _gid("Workspace for new tasks and project lists when a step names none")
    default_project = _gid("Project for new tasks and task lists when a step names none")


class _Due(Schema):
    due_on = fields.Date(allow_none=True, metadata={"description": "Due date (YYYY-MM-DD)"})
    due_at = fields.AwareDateTime(allow_none=True,
                                  metadata={"description": "Due date and time (ISO 8601 with "
                                                           "a time zone); not with due_on"})

    @validates_schema
    def _one_due(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("due_on") is not None and data.get("due_at") is not None:
            raise ValidationError("give due_on or due_at, not both", field_name="due_at")


class CreateTaskInput(_Due):
    name = fields.String(required=True, validate=NAME)
    notes = fields.String(validate=validate.Length(max=65_535),
                          metadata={"description": "Plain-text description"})
    workspace = _gid("Workspace gid (default: the project's, or the connection's "
                     "default_workspace)")
    projects = fields.List(fields.String(validate=GID), validate=validate.Length(min=1, max=20),
                           metadata={"description": "Project gids (default: the connection's "
                                                    "default_project)"})
    parent = _gid("Create the task as a subtask of this task")
    assignee = fields.String(validate=USER, metadata={"description": '"me", an email or a '
                                                                    'user gid'})
    followers = fields.List(fields.String(validate=USER), validate=validate.Length(max=50))


class TaskInput(Schema):
    task_gid = _gid("The task", required=True)


class UpdateTaskInput(TaskInput, _Due):
    name = fields.String(validate=NAME)
    notes = fields.String(validate=validate.Length(max=65_535))
    assignee = fields.String(allow_none=True, validate=USER,
                             metadata={"description": '"me", an email or a user gid; null '
                                                      'unassigns'})
    completed = fields.Boolean()

    @validates_schema
    def _changes_something(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        # Skipped while a workflow is saved: a field filled by a template is not loaded then.
        if not partial and not set(data) - {"task_gid"}:
            raise ValidationError("give at least one field to change")


class CompleteTaskInput(TaskInput):
    completed = fields.Boolean(load_default=True,
                               metadata={"description": "false marks the task incomplete"})


class AddCommentInput(TaskInput):
    text = fields.String(required=True, validate=TEXT, metadata={"description": "Plain text"})
    is_pinned = fields.Boolean(load_default=False)


class ListProjectsInput(Schema):
    workspace = _gid("Workspace gid (default: the connection's default_workspace)")
    archived = fields.Boolean(load_default=False,
                              metadata={"description": "List archived projects instead"})
    max_items = _max_items()


class ListTasksInput(Schema):
    project = _gid("Project gid (default: the connection's default_project)")
    incomplete_only = fields.Boolean(load_default=False)
    max_items = _max_items()


class ListWorkspacesInput(Schema):
    max_items = _max_items()


class WebhookFilter(Schema):
    resource_type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]{1,40}$"))
    resource_subtype = fields.String(validate=validate.Regexp(r"^[a-z_]{1,60}$"))
    action = fields.String(validate=validate.OneOf(("changed", "added", "removed", "deleted",
                                                    "undeleted")))
    fields_ = fields.List(fields.String(validate=validate.Regexp(r"^[a-z_.]{1,60}$")),
                          data_key="fields", validate=validate.Length(min=1, max=50))


class RegisterWebhookInput(Schema):
    resource = _gid("What to watch: a project or task gid (higher-level resources such as a "
                    "workspace need filters)", required=True)
    target = fields.Url(schemes={"https", "http"}, require_tld=False,
                        metadata={"description": "The URL Asana delivers to (default: this "
                                                 "connection's /hooks/asana/<id> URL on ATOM)"})
    filters = fields.List(fields.Nested(WebhookFilter), validate=validate.Length(min=1, max=50))
