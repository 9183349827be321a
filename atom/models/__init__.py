"""SQLAlchemy models, one module per aggregate."""
from __future__ import annotations

from atom.extensions import db as _db
from atom.models.audit import AuditEvent
from atom.models.connection import Connection
from atom.models.dependencies import MonitoringDependency
from atom.models.incidents import EscalationPolicy
from atom.models.incidents import Incident
from atom.models.incidents import IncidentNotification
from atom.models.incidents import Silence
from atom.models.intelligence import ModelState
from atom.models.intelligence import OptimisationApplication
from atom.models.intelligence import TroubleshootingSession
from atom.models.intelligence import WorkflowMonitor
from atom.models.metrics import CallRecord
from atom.models.monitoring import Alert
from atom.models.monitoring import AlertNotification
from atom.models.monitoring import AlertState
from atom.models.monitoring import HealthSample
from atom.models.monitoring import MaintenanceWindow
from atom.models.monitoring import MetricRollup
from atom.models.monitoring import NotificationChannel
from atom.models.monitoring import ThresholdSetting
from atom.models.oauth import OAuthApp
from atom.models.oauth import OAuthState
from atom.models.poll import PollCursor
from atom.models.poll import PollItem
from atom.models.status_page import StatusPageItem
from atom.models.user import ApiKey
from atom.models.user import User
from atom.models.webhook import WebhookEvent
from atom.models.webhook import WebhookReceipt
from atom.models.workflow import ApprovalDecision
from atom.models.workflow import Execution
from atom.models.workflow import ExecutionTimer
from atom.models.workflow import ScheduleFire
from atom.models.workflow import StepRun
from atom.models.workflow import Workflow
from atom.models.workflow import WorkflowRunCount
from atom.models.workflow import WorkflowService
from atom.models.workflow import WorkflowVersion

__all__ = [
    "ApiKey", "ApprovalDecision", "AuditEvent", "CallRecord", "Connection", "Execution",
    "ExecutionTimer", "ScheduleFire", "StepRun", "User", "WebhookEvent", "WebhookReceipt",
    "Workflow", "WorkflowRunCount", "WorkflowService", "WorkflowVersion",
    "Alert", "AlertNotification", "AlertState", "HealthSample", "MaintenanceWindow",
    "MetricRollup", "NotificationChannel", "ThresholdSetting", "OAuthApp", "OAuthState", "PollCursor",
    "PollItem", "ModelState", "OptimisationApplication", "TroubleshootingSession",
    "WorkflowMonitor", "StatusPageItem", "MonitoringDependency", "EscalationPolicy",
    "Incident", "IncidentNotification", "Silence",
]

# Ids are never reused: on SQLite an integer primary key without AUTOINCREMENT hands a deleted
# row's id to the next insert (a workflow bound to a deleted connection would call the new one).
# PostgreSQL sequences never go back. Migration 0004 rebuilds the existing tables this way.
for _table in _db.metadata.tables.values():
    _pk = list(_table.primary_key.columns)
    if len(_pk) == 1 and _pk[0].type.python_type is int:
        _table.dialect_options["sqlite"]["autoincrement"] = True
