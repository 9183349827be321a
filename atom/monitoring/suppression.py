"""Dependency-aware suppression: an alert whose subject depends on a parent that is down is
recorded as ``suppressed`` (``suppressed_by`` the parent's alert) and not notified.

(Skeleton: the dependency graph and the rules are written in issue 12's suppression part.)
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from flask import Flask

if TYPE_CHECKING:
    from atom.models import Alert
    from atom.monitoring.metrics import Snapshot


def parent_findings(app: Flask, snap: Snapshot) -> dict[Any, dict[str, Any]]:
    """Findings of the parent-only subjects (``host:<host>``), by ``alerts.Subject``."""
    return {}


def apply(app: Flask, now: datetime) -> list[tuple[Alert, str]]:
    """Suppress the active alerts whose parent is down and release those whose parent
    recovered; return ``(alert, "suppressed" | "unsuppressed")`` (not committed)."""
    return []
