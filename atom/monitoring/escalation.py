"""Escalation policies: who hears of an incident, and when.

A policy has ``levels`` ``[{"delay_s", "channel_ids"}]`` with strictly increasing delays
(level 0 goes after the group wait, level 1 after its delay if the incident is still
unacknowledged, ...), an optional ``matcher`` (``integration``, ``host``, ``severity``: every
given field must equal the incident's; none: every incident) and an optional
``repeat_interval_s`` (the reminder interval of its incidents, instead of
``ALERT_REPEAT_INTERVAL_S``). The first enabled policy (by id) that matches an incident applies;
an incident no policy matches goes to every enabled channel at level 0 (ATOM's behaviour
without policies). A channel's ``min_severity`` always applies.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atom.extensions import db
from atom.models import EscalationPolicy
from atom.models import Incident
from atom.models import NotificationChannel
from atom.models.audit import record
from atom.models.base import isoformat
from atom.models.monitoring import SEVERITIES

MATCH_FIELDS = ("integration", "host", "severity")
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


class PolicyError(ValueError):
    """A policy definition is invalid; ``errors`` names each bad field."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("invalid escalation policy: " + ", ".join(sorted(errors)))
        self.errors = errors


@dataclass(frozen=True)
class Level:
    delay_s: float
    channels: tuple[NotificationChannel, ...]


def validate(data: dict[str, Any]) -> None:
    """Beyond the schema's types: delays strictly increasing, every channel id known.

    :raises PolicyError: naming ``levels.<i>.delay_s`` / ``levels.<i>.channel_ids``.
    """
    known = set(db.session.scalars(db.select(NotificationChannel.id)))
    errors: dict[str, Any] = {}
    previous = None
    for i, level in enumerate(data["levels"]):
        problems: dict[str, list[str]] = {}
        if previous is not None and level["delay_s"] <= previous:
            problems["delay_s"] = [f"must be greater than level {i - 1}'s delay ({previous:g} s)"]
        unknown = sorted(set(level["channel_ids"]) - known)
        if unknown:
            problems["channel_ids"] = [f"no channel {', '.join(map(str, unknown))}"]
        if problems:
            errors[str(i)] = problems
        previous = level["delay_s"]
    if errors:
        raise PolicyError({"levels": errors})


def _levels(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"delay_s": float(level["delay_s"]), "channel_ids": list(dict.fromkeys(
        level["channel_ids"]))} for level in data["levels"]]


def create(data: dict[str, Any], actor: str) -> EscalationPolicy:
    validate(data)
    policy = EscalationPolicy(name=data["name"], matcher=data.get("matcher") or {},
                              levels=_levels(data), repeat_interval_s=data.get("repeat_interval_s"),
                              enabled=data.get("enabled", True), created_by=actor)
    db.session.add(policy)
    db.session.flush()
    record(actor, "escalation_policy.create", f"escalation_policy:{policy.id}")
    db.session.commit()
    return policy


def update(policy: EscalationPolicy, data: dict[str, Any], actor: str) -> EscalationPolicy:
    validate(data)
    policy.name, policy.matcher = data["name"], data.get("matcher") or {}
    policy.levels, policy.repeat_interval_s = _levels(data), data.get("repeat_interval_s")
    policy.enabled = data.get("enabled", True)
    record(actor, "escalation_policy.update", f"escalation_policy:{policy.id}")
    db.session.commit()
    return policy


def delete(policy: EscalationPolicy, actor: str) -> None:
    record(actor, "escalation_policy.delete", f"escalation_policy:{policy.id}")
    db.session.delete(policy)
    db.session.commit()


def present(policy: EscalationPolicy) -> dict[str, Any]:
    return {"id": policy.id, "name": policy.name, "matcher": dict(policy.matcher or {}),
            "levels": [dict(level) for level in policy.levels],
            "repeat_interval_s": policy.repeat_interval_s, "enabled": policy.enabled,
            "created_at": isoformat(policy.created_at), "created_by": policy.created_by,
            "updated_at": isoformat(policy.updated_at)}


def matches(policy: EscalationPolicy, incident: Incident) -> bool:
    return all(getattr(incident, f, None) == v for f, v in (policy.matcher or {}).items())


class Routing:
    """The policies and channels of one delivery pass."""

    def __init__(self) -> None:
        self.policies = list(db.session.scalars(
            db.select(EscalationPolicy).filter_by(enabled=True).order_by(EscalationPolicy.id)))
        self.channels = {c.id: c for c in db.session.scalars(
            db.select(NotificationChannel).filter_by(enabled=True)
            .order_by(NotificationChannel.id))}

    def policy(self, incident: Incident) -> EscalationPolicy | None:
        return next((p for p in self.policies if matches(p, incident)), None)

    def levels(self, incident: Incident) -> list[Level]:
        """The incident's levels, each with the enabled channels that take its severity."""
        def eligible(ids: Any) -> tuple[NotificationChannel, ...]:
            return tuple(self.channels[i] for i in ids if i in self.channels and
                         _RANK.get(incident.severity, 0) >= _RANK.get(self.channels[i].min_severity, 0))

        policy = self.policy(incident)
        if policy is None:
            return [Level(0.0, eligible(self.channels))]
        return [Level(float(level["delay_s"]), eligible(level["channel_ids"]))
                for level in policy.levels]
