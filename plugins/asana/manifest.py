"""Asana: create, update and complete tasks, comment, list projects and tasks; webhook
triggers for tasks and comments."""
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
from atom.integrations.shapes import STR
from atom.integrations.shapes import arr
from atom.integrations.shapes import listing
from atom.integrations.shapes import maybe
from atom.integrations.shapes import obj
from plugins.asana import samples
from plugins.asana.schemas import AddCommentInput
from plugins.asana.schemas import AsanaCredentials
from plugins.asana.schemas import AsanaSettings
from plugins.asana.schemas import CompleteTaskInput
from plugins.asana.schemas import CreateTaskInput
from plugins.asana.schemas import ListProjectsInput
from plugins.asana.schemas import ListTasksInput
from plugins.asana.schemas import ListWorkspacesInput
from plugins.asana.schemas import RegisterWebhookInput
from plugins.asana.schemas import TaskInput
from plugins.asana.schemas import UpdateTaskInput

_REF = maybe(obj(required=("gid",), gid=STR, name=maybe(STR)))
_TASK = obj(required=("gid", "completed", "projects"), gid=STR, name=maybe(STR),
            notes=maybe(STR), completed=BOOL, completed_at=maybe(STR), due_on=maybe(STR),
            due_at=maybe(STR), assignee=_REF, projects=arr(_REF), workspace=_REF, parent=_REF,
            permalink_url=maybe(STR), created_at=maybe(STR), modified_at=maybe(STR))
_PROJECT = obj(required=("gid",), gid=STR, name=maybe(STR), archived=maybe(BOOL),
               permalink_url=maybe(STR), workspace=_REF)
_WORKSPACE = obj(required=("gid",), gid=STR, name=maybe(STR), is_organization=maybe(BOOL))
_STORY = obj(required=("gid", "task_gid"), gid=STR, task_gid=STR, text=maybe(STR),
             is_pinned=BOOL, created_at=maybe(STR), created_by=_REF)
_WEBHOOK = obj(required=("gid", "resource"), gid=STR, active=maybe(BOOL), target=maybe(STR),
               resource=obj(gid=STR, resource_type=maybe(STR), name=maybe(STR)),
               created_at=maybe(STR),
               about="the new webhook; its secret was adopted by the connection in the "
                     "handshake and is never returned")
_COMPACT = obj(required=("gid", "resource_type"), gid=STR, resource_type=STR,
               resource_subtype=maybe(STR))
# One compact Asana event, as stored (https://developers.asana.com/reference/events).
_EVENT = obj(required=("action", "resource", "created_at"), action=STR, created_at=STR,
             user=maybe(_COMPACT), resource=_COMPACT, parent=maybe(_COMPACT),
             change=obj(field=STR, action=STR, new_value=maybe(_COMPACT)))

MANIFEST = Manifest(
    slug="asana",
    display_name="Asana",
    category="project-management",
    description="Create, update and complete tasks, comment on them, list workspaces, projects "
                "and tasks; react to new, changed, completed and deleted tasks and to comments "
                "through Asana webhooks.",
    docs_url="https://developers.asana.com/reference/rest-api-reference",
    auth=AuthScheme(
        kind="bearer", fields=AsanaCredentials, secret="token",
        oauth2=OAuth2Spec(
            authorize_url="https://app.asana.com/-/oauth_authorize",
            token_url="https://app.asana.com/-/oauth_token",
            # Asana's granular scopes (the app must be registered with them, not with "full
            # permissions", which only grants the implicit "default" scope).
            scopes=("users:read", "workspaces:read", "projects:read", "tasks:read",
                    "tasks:write", "stories:write", "webhooks:write"),
            # Surprise: issue 8 counts Asana among rotating refresh tokens, but Asana's refresh
            # token is long-lived and a refresh answers with a new access token only
            # (https://developers.asana.com/docs/oauth); the client keeps the stored refresh
            # token unless an answer carries a new one, so either way nothing is lost.
            rotating_refresh=False)),
    integration="plugins.asana.integration:AsanaIntegration",
    base_url="https://app.asana.com/api/1.0",
    aliases=("asana project", "asana task", "asana board"),
    # 150 requests a minute per token on free workspaces (1,500 on paid ones): raise it per
    # connection with rate_limit_per_second.
    rate_limit=RateLimit(per_second=2.5, burst=10),
    settings=AsanaSettings,
    actions=(
        Action("create_task", "Create a task", CreateTaskInput, _TASK,
               example={"name": "Follow up with Acme Corp", "workspace": "12345",
                        "projects": ["12345"], "assignee": "me", "due_on": "2026-03-02",
                        "notes": "Lead from the web form"},
               description="A task needs a workspace, projects or a parent task; without one "
                           "it goes to the connection's default_project or default_workspace.",
               words=("task", "todo", "to-do", "create task", "new task", "add task",
                      "assign", "follow up")),
        Action("update_task", "Update a task", UpdateTaskInput, _TASK,
               example={"task_gid": "12345", "name": "Follow up with Acme Corp (call booked)",
                        "due_on": "2026-03-05"},
               idempotent=True, description="Only the fields given change; null clears due "
                                            "dates and the assignee.",
               words=("update task", "edit task", "rename task", "reassign", "change due date")),
        Action("complete_task", "Complete a task", CompleteTaskInput, _TASK,
               example={"task_gid": "12345"}, idempotent=True,
               words=("complete", "mark done", "finish task", "close task", "check off")),
        Action("get_task", "Get a task", TaskInput, _TASK, example={"task_gid": "12345"},
               idempotent=True, read_only=True,
               words=("task details", "look up task", "read task")),
        Action("add_comment", "Comment on a task", AddCommentInput, _STORY,
               example={"task_gid": "12345", "text": "Called them; they want a demo."},
               words=("comment", "note", "reply", "story", "add comment")),
        Action("list_projects", "List projects", ListProjectsInput, listing("projects", _PROJECT),
               example={"workspace": "12345", "max_items": 1}, idempotent=True, read_only=True,
               words=("projects", "list projects", "boards")),
        Action("list_tasks", "List a project's tasks", ListTasksInput,
               listing("tasks", _TASK, project=STR),
               example={"project": "12345", "incomplete_only": True, "max_items": 1},
               idempotent=True, read_only=True,
               words=("tasks", "list tasks", "open tasks", "what's on the board")),
        Action("list_workspaces", "List workspaces", ListWorkspacesInput,
               listing("workspaces", _WORKSPACE), example={"max_items": 1},
               idempotent=True, read_only=True, words=("workspaces", "organizations")),
        Action("register_webhook", "Watch a project (create a webhook)", RegisterWebhookInput,
               _WEBHOOK,
               example={"resource": "12345", "target": "https://atom.example.com/hooks/asana/1"},
               description="Asana calls the target during creation (the X-Hook-Secret "
                           "handshake), so ATOM must be reachable from Asana and serve requests "
                           "concurrently. One webhook per connection: its secret is the "
                           "connection's.",
               words=("watch project", "subscribe", "webhook", "notify me of changes")),
    ),
    triggers=(
        Trigger("task_created", "Task added", samples.TASK_CREATED, _EVENT,
                description="A task is added to the watched project, or as a subtask: a new "
                            "task, or an existing one added to it (Asana's events do not tell "
                            "the two apart). The event names the task's gid; get_task reads it.",
                words=("new task", "task created", "task added", "someone adds a task")),
        Trigger("task_completed", "Task completed", samples.TASK_COMPLETED, _EVENT,
                description="The completed field of a task changed. Asana's event does not say "
                            "to which value, so reopening a task fires it too; get_task tells.",
                words=("task completed", "task done", "finished", "checked off")),
        Trigger("task_updated", "Task changed", samples.TASK_UPDATED, _EVENT,
                description="Any other field of a task changed (change.field names it: "
                            "assignee, due_on, name, notes, ...).",
                words=("task updated", "task changed", "reassigned", "due date changed")),
        Trigger("comment_added", "Comment added", samples.COMMENT_ADDED, _EVENT,
                description="A comment (a comment_added story) on a task; parent is the task.",
                words=("new comment", "comment added", "someone comments")),
        Trigger("task_deleted", "Task deleted", samples.TASK_DELETED, _EVENT,
                words=("task deleted", "task removed")),
    ),
    webhook=WebhookSpec(scheme="asana_sha256", secret_field="webhook_secret"),
    # The spec's paths are relative to https://app.asana.com/api/1.0 (its server URL).
    contract=Contract("openapi", "asana.json"),
)
