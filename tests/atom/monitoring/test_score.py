"""The health-score formula documented in the README."""
from __future__ import annotations

import pytest

from atom.monitoring.score import combined_score
from atom.monitoring.score import health_score
from atom.monitoring.score import status_of
from atom.monitoring.score import overall
from atom.monitoring.score import worst

TH = {"response_time_warning_ms": 1000, "response_time_critical_ms": 5000,
      "success_rate_warning": 0.95, "success_rate_critical": 0.90,
      "health_score_warning": 80, "health_score_critical": 60}


@pytest.mark.parametrize("rate, p95, fails, expected", [
    (1.0, 100, 0, 100.0),     # fast and flawless
    (1.0, 500, 0, 100.0),     # up to half the warning latency costs nothing
    (0.95, 100, 0, 80.0),     # exactly at the success-rate warning level
    (0.90, 100, 0, 60.0),     # exactly at the critical level
    (1.0, 1000, 0, 80.0),     # exactly at the latency warning level
    (1.0, 5000, 0, 60.0),     # exactly at the latency critical level
    (1.0, 60_000, 0, 40.0),   # far beyond: the latency penalty stops at 60
    (1.0, 100, 1, 90.0),      # one failed check in a row
    (1.0, 100, 9, 60.0),      # the failure penalty stops at 40
    (0.0, 100, 5, 0.0),       # dead: clamped at 0
    (0.5, 100, 0, 33.3),      # half failing: 100 - (40 + 60 * 0.4 / 0.9)
])
def test_the_score_formula(rate, p95, fails, expected):
    assert health_score(rate, p95, fails, TH) == pytest.approx(expected, abs=0.05)


def test_no_data_has_no_score_and_is_unknown():
    assert health_score(None, None, 0, TH) is None
    assert status_of(None, TH) == "unknown"


@pytest.mark.parametrize("score, status", [
    (100, "healthy"), (80, "healthy"), (79.9, "degraded"), (60, "degraded"), (59.9, "unhealthy"),
])
def test_status_follows_the_score_thresholds(score, status):
    assert status_of(score, TH) == status


def test_equal_warning_and_critical_levels_still_order_the_penalties():
    th = {**TH, "success_rate_warning": 0.9, "success_rate_critical": 0.9}
    assert health_score(0.89, 100, 0, th) < 60


def test_an_integration_scores_the_mean_of_its_known_connections_and_the_worst_status_wins():
    assert combined_score([100, 50, None]) == 75
    assert combined_score([None]) is None
    assert worst(["healthy", "degraded", "unknown"]) == "degraded"
    assert worst(["healthy", "unhealthy"]) == "unhealthy"
    assert worst([]) == "unknown"


def test_the_overall_status_is_the_worst_of_the_integrations_and_the_connections_with_data():
    # One connection down, two healthy: the integration's mean makes it degraded, the system
    # is unhealthy (issue 10: it said "degraded" while a connection was completely down).
    assert overall(["degraded"], ["healthy", "healthy", "unhealthy"]) == "unhealthy"
    assert overall(["healthy"], ["healthy", "unknown"]) == "healthy"
    assert overall(["healthy", "unknown"], []) == "unknown"
    assert overall([], []) == "unknown"
