"""SQLAlchemy models, one module per aggregate."""
from __future__ import annotations

from atom.models.audit import AuditEvent
from atom.models.connection import Connection
from atom.models.metrics import CallRecord
from atom.models.user import ApiKey
from atom.models.user import User
from atom.models.webhook import WebhookEvent

__all__ = ["ApiKey", "AuditEvent", "CallRecord", "Connection", "User", "WebhookEvent"]
