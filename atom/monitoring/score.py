"""The health score (0-100) and status of a connection or an integration.

``score = 100 - P_success - P_latency - P_failures``, clamped to ``[0, 100]``:

* ``P_success`` from the success rate ``r`` over the window, piecewise linear through
  ``(1, 0)``, ``(success_rate_warning, 20)``, ``(success_rate_critical, 40)`` and ``(0, 100)``;
* ``P_latency`` from the p95 response time ``t``, piecewise linear through
  ``(response_time_warning_ms / 2, 0)``, ``(response_time_warning_ms, 20)``,
  ``(response_time_critical_ms, 40)`` and ``(2 * response_time_critical_ms, 60)``, flat beyond;
* ``P_failures`` = 10 per consecutive failed health check, at most 40.

So with the default thresholds a connection exactly at a warning level scores 80 (the
``health_score_warning`` default) and one exactly at a critical level scores 60. Status:
``unknown`` without data in the window, ``unhealthy`` below ``health_score_critical``,
``degraded`` below ``health_score_warning``, otherwise ``healthy``.
"""
from __future__ import annotations

from typing import Mapping
from typing import Sequence

STATUSES = ("healthy", "degraded", "unhealthy", "unknown")
#: Worst first: the order used to pick the worst of several statuses.
SEVERITY_ORDER = {"unhealthy": 0, "degraded": 1, "unknown": 2, "healthy": 3}


def interpolate(x: float, points: Sequence[tuple[float, float]]) -> float:
    """Piecewise-linear ``y(x)`` through ``points`` (sorted by ``x``), flat outside them."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def success_penalty(rate: float | None, th: Mapping[str, float]) -> float:
    if rate is None:
        return 0.0
    # Equal levels: the larger penalty first, so a rate just below them gets it.
    points = sorted([(0.0, 100.0), (th["success_rate_critical"], 40.0),
                     (th["success_rate_warning"], 20.0), (1.0, 0.0)], key=lambda p: (p[0], -p[1]))
    return interpolate(rate, points)


def latency_penalty(p95_ms: float | None, th: Mapping[str, float]) -> float:
    if p95_ms is None:
        return 0.0
    warn, crit = th["response_time_warning_ms"], th["response_time_critical_ms"]
    points = sorted([(warn / 2, 0.0), (warn, 20.0), (crit, 40.0), (2 * crit, 60.0)])
    return interpolate(p95_ms, points)


def failure_penalty(consecutive_failures: int) -> float:
    return float(min(40, 10 * max(0, consecutive_failures)))


def health_score(success_rate: float | None, p95_ms: float | None, consecutive_failures: int,
                 th: Mapping[str, float]) -> float | None:
    """Return the score, or ``None`` when there is nothing to score."""
    if success_rate is None and p95_ms is None:
        return None
    score = 100.0 - success_penalty(success_rate, th) - latency_penalty(p95_ms, th) \
        - failure_penalty(consecutive_failures)
    return round(min(100.0, max(0.0, score)), 1)


def status_of(score: float | None, th: Mapping[str, float]) -> str:
    if score is None:
        return "unknown"
    if score < th["health_score_critical"]:
        return "unhealthy"
    if score < th["health_score_warning"]:
        return "degraded"
    return "healthy"


def combined_score(scores: Sequence[float | None]) -> float | None:
    """An integration's score: the mean of its connections' known scores."""
    known = [s for s in scores if s is not None]
    return round(sum(known) / len(known), 1) if known else None


def worst(statuses: Sequence[str]) -> str:
    """The worst status of several (``unknown`` when there are none)."""
    return min(statuses, key=SEVERITY_ORDER.__getitem__) if statuses else "unknown"


def overall(integration_statuses: Sequence[str], connection_statuses: Sequence[str]) -> str:
    """The status of the whole system: the worst of its integrations and of its connections
    with data, so one connection that is down makes the system unhealthy even when the mean
    score of its integration only makes that integration degraded. A connection without data
    yet (``unknown``) does not hide the others (an integration that has no data at all still
    makes the system ``unknown``, as before)."""
    known = [s for s in connection_statuses if s != "unknown"]
    return worst([*integration_statuses, *known])
