"""Alert thresholds: defaults from the configuration, changes stored in the database.

Each threshold has a lower-case API name (``response_time_warning_ms``) and the configuration
key it defaults to (``RESPONSE_TIME_WARNING_MS``). Warning and critical levels come in pairs;
a warning level must never be looser than its critical level.

Each rule also has two streaks, whole numbers of at least 1: ``<rule>_open_after`` bad
evaluations in a row before its alert opens and ``<rule>_resolve_after`` good ones before it
resolves itself (and lower-severity ones before a critical alert de-escalates). They default to
``<RULE>_OPEN_AFTER`` / ``<RULE>_RESOLVE_AFTER`` when configured, else ``ALERT_OPEN_AFTER`` /
``ALERT_RESOLVE_AFTER`` (``ALERT_RECOVERY_EVALUATIONS``, deprecated, when set).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Mapping

from flask import Flask

from atom.extensions import db
from atom.models import ThresholdSetting
from atom.models.audit import record


@dataclass(frozen=True)
class Pair:
    """A warning/critical pair; ``higher_is_worse`` says which way "looser" points."""

    prefix: str
    unit: str
    low: float
    high: float
    higher_is_worse: bool
    integer: bool = False

    @property
    def warning(self) -> str:
        return f"{self.prefix}_warning{self.unit}"

    @property
    def critical(self) -> str:
        return f"{self.prefix}_critical{self.unit}"


PAIRS = (
    Pair("response_time", "_ms", 1, 3_600_000, higher_is_worse=True),
    Pair("success_rate", "", 0, 1, higher_is_worse=False),
    Pair("health_score", "", 0, 100, higher_is_worse=False),
    Pair("consecutive_failures", "", 1, 1000, higher_is_worse=True, integer=True),
    Pair("workflow_failure_rate", "", 0, 1, higher_is_worse=True),
)
# The rules whose alerts open and resolve after streaks of evaluations (atom.monitoring.alerts).
STREAK_RULES = ("response_time", "success_rate", "health_score", "consecutive_failures",
                "anomaly", "workflow_failure_rate")
STREAK_MAX = 1000
STREAK_NAMES = tuple(f"{rule}_{kind}" for rule in STREAK_RULES
                     for kind in ("open_after", "resolve_after"))
NAMES = tuple(name for pair in PAIRS for name in (pair.warning, pair.critical)) + STREAK_NAMES
_PAIR_OF = {name: pair for pair in PAIRS for name in (pair.warning, pair.critical)}


def defaults(app: Flask) -> dict[str, float]:
    """The configured values (``RESPONSE_TIME_WARNING_MS`` ...) under their API names."""
    values: dict[str, float] = {name: _number(app.config[name.upper()], _PAIR_OF[name])
                                for name in _PAIR_OF}
    cfg = app.config
    resolve = cfg.get("ALERT_RECOVERY_EVALUATIONS") or cfg["ALERT_RESOLVE_AFTER"]
    for name in STREAK_NAMES:
        fallback = cfg["ALERT_OPEN_AFTER"] if name.endswith("_open_after") else resolve
        configured = cfg.get(name.upper())
        values[name] = int(fallback if configured is None else configured)
    return values


def streaks(app: Flask, values: Mapping[str, float], rule: str) -> tuple[int, int]:
    """``(open_after, resolve_after)`` of ``rule`` in ``values``; a rule without streaks of its
    own (a suppression parent's) uses the configured defaults."""
    opens, resolves = f"{rule}_open_after", f"{rule}_resolve_after"
    if opens in values and resolves in values:
        return int(values[opens]), int(values[resolves])
    cfg = app.config
    return (int(cfg["ALERT_OPEN_AFTER"]),
            int(cfg.get("ALERT_RECOVERY_EVALUATIONS") or cfg["ALERT_RESOLVE_AFTER"]))


def current(app: Flask) -> dict[str, float]:
    """The thresholds in force: configured defaults overlaid with the stored changes."""
    values = defaults(app)
    for row in db.session.scalars(db.select(ThresholdSetting)):
        if row.name in values:
            values[row.name] = _number(row.value, _PAIR_OF.get(row.name))
    return values


def validate(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return the errors of a complete set of thresholds, by field (empty when valid)."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        pair = _PAIR_OF.get(name)
        if name in STREAK_NAMES:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or value != int(value):
                errors[name] = ["must be a whole number of evaluations"]
            elif not 1 <= value <= STREAK_MAX:
                errors[name] = [f"must be between 1 and {STREAK_MAX}"]
        elif pair is None:
            errors[name] = ["unknown threshold"]
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            errors[name] = ["must be a number"]
        elif not pair.low <= value <= pair.high:
            errors[name] = [f"must be between {pair.low:g} and {pair.high:g}"]
        elif pair.integer and value != int(value):
            errors[name] = ["must be a whole number"]
    for pair in PAIRS:
        if pair.warning in errors or pair.critical in errors:
            continue
        warning, critical = values.get(pair.warning), values.get(pair.critical)
        if warning is None or critical is None:
            continue
        looser = warning > critical if pair.higher_is_worse else warning < critical
        if looser:
            word = "above" if pair.higher_is_worse else "below"
            errors[pair.warning] = [
                f"the warning level {warning:g} is {word} the critical level {critical:g}"
            ]
    return errors


def update(app: Flask, changes: Mapping[str, Any], actor: str) -> dict[str, float]:
    """Apply ``changes`` (``None`` restores a default) and return the thresholds in force.

    :raises ThresholdError: a value is unknown, out of range, or looser than its pair.
    """
    base = defaults(app)
    merged = current(app)
    for name, value in changes.items():
        merged[name] = base[name] if value is None and name in base else value
    errors = validate(merged)
    if errors:
        raise ThresholdError(_blame_changed(errors, changes))
    for name, value in changes.items():
        row = db.session.get(ThresholdSetting, name)
        if value is None:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = ThresholdSetting(name=name, value=float(value))
            db.session.add(row)
        row.value, row.updated_by = float(value), actor
    record(actor, "thresholds.update", "monitoring:thresholds", changes=dict(changes))
    db.session.commit()
    return current(app)


class ThresholdError(ValueError):
    """Invalid thresholds; ``errors`` maps each bad field to its reasons."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid thresholds: " + ", ".join(sorted(errors)))
        self.errors = errors


def _blame_changed(errors: dict[str, list[str]],
                   changes: Mapping[str, Any]) -> dict[str, list[str]]:
    """Name the field the caller changed when only the critical half of a pair was sent."""
    out = dict(errors)
    for pair in PAIRS:
        if pair.warning in out and pair.warning not in changes and pair.critical in changes:
            out[pair.critical] = out.pop(pair.warning)
    return out


def _number(value: Any, pair: Pair | None) -> float:
    """A stored or configured value as its kind: a whole number for counts and streaks."""
    number = float(value)
    return int(number) if pair is None or pair.integer else number
