"""SQLAlchemy models, one module per aggregate."""
from __future__ import annotations

from atom.models.audit import AuditEvent
from atom.models.connection import Connection
from atom.models.metrics import CallRecord
from atom.models.monitoring import Alert
from atom.models.monitoring import AlertNotification
from atom.models.monitoring import HealthSample
from atom.models.monitoring import MaintenanceWindow
from atom.models.monitoring import MetricRollup
from atom.models.monitoring import NotificationChannel
from atom.models.monitoring import ThresholdSetting
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
    "Alert", "AlertNotification", "HealthSample", "MaintenanceWindow", "MetricRollup",
    "NotificationChannel", "ThresholdSetting",
]
