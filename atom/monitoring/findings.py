"""What the alert rules say, as plain values: a :class:`Subject` (a connection, a workflow, a
host), the :class:`Finding` of one rule about it, and :func:`level`, the severity of a value
against a pair of thresholds.

A leaf: it imports nothing of ATOM, so every source of findings (the metric rules in
:mod:`atom.monitoring.alerts`, the host rule in :mod:`atom.monitoring.suppression`, the
workflow health in :mod:`atom.intelligence.workflow_health`) can build them without importing
the module that judges them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Finding:
    """What a rule found: ``severity`` None means fine. ``holds`` says an existing alert's
    condition is still present even without a new severity (an anomaly that goes on)."""

    severity: str | None
    value: float | None
    threshold: float | None
    message: str
    holds: bool | None = None

    def __post_init__(self) -> None:
        if self.holds is None:
            self.holds = self.severity is not None


@dataclass(frozen=True)
class Subject:
    key: str
    label: str
    integration: str | None = None
    connection_id: int | None = None
    workflow_id: int | None = None


def level(value: float, warning: float, critical: float, higher_is_worse: bool) -> str | None:
    """``critical``, ``warning`` or None for a value against a pair of thresholds."""
    if higher_is_worse:
        return "critical" if value > critical else "warning" if value > warning else None
    return "critical" if value < critical else "warning" if value < warning else None
