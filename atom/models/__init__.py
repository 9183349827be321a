"""SQLAlchemy models, one module per aggregate."""
from __future__ import annotations

from atom.models.audit import AuditEvent
from atom.models.connection import Connection
from atom.models.metrics import CallRecord
from atom.models.user import ApiKey
from atom.models.user import User
from atom.models.webhook import WebhookEvent
from atom.models.workflow import Execution
from atom.models.workflow import ScheduleFire
from atom.models.workflow import StepRun
from atom.models.workflow import Workflow
from atom.models.workflow import WorkflowVersion

__all__ = [
    "ApiKey", "AuditEvent", "CallRecord", "Connection", "Execution", "ScheduleFire", "StepRun",
    "User", "WebhookEvent", "Workflow", "WorkflowVersion",
]
