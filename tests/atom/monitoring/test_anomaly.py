"""Tests for the streaming anomaly detector."""
from __future__ import annotations

import math
from datetime import datetime
from datetime import timedelta

import numpy as np
import pytest

from atom.monitoring.anomaly import DEFAULT_THRESHOLD
from atom.monitoring.anomaly import StreamingDetector
from atom.monitoring.anomaly import detect_series
from atom.monitoring.anomaly import probationary_rows
from atom.monitoring.anomaly import scan_directory

ROWS = 1200
WARMUP = StreamingDetector().warmup


def noisy_daily(rows: int = ROWS, seed: int = 7) -> np.ndarray:
    """A latency-like series: a daily cycle (288 samples) plus gamma noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    return 100.0 + 20.0 * np.sin(2 * np.pi * t / 288) + rng.gamma(2.0, 5.0, rows)


def test_spike_is_flagged_at_once_and_the_normal_part_is_not() -> None:
    values = noisy_daily()
    values[1000] += 400.0
    flags = detect_series(values)
    assert flags == [1000]


def test_level_shift_is_flagged_soon_after_it_starts() -> None:
    values = noisy_daily()
    values[900:] += 60.0
    flags = detect_series(values)
    assert flags, "the level shift was not flagged"
    assert 900 <= flags[0] <= 960
    assert all(index >= 900 for index in flags)


def test_nothing_is_flagged_during_warmup() -> None:
    values = noisy_daily()
    values[WARMUP // 2] += 400.0
    assert all(index >= WARMUP for index in detect_series(values))


def test_flags_are_causal() -> None:
    values = noisy_daily()
    values[700] += 300.0
    values[950:] -= 50.0
    cut = 900
    full = detect_series(values)
    prefix = detect_series(values[:cut])
    assert prefix, "the prefix should contain a flag, or the test proves nothing"
    assert prefix == [index for index in full if index < cut]

    first, second = StreamingDetector(), StreamingDetector()
    full_scores = [first.update(v) for v in values]
    prefix_scores = [second.update(v) for v in values[:cut]]
    assert prefix_scores == full_scores[:cut]


def test_one_flag_per_incident_and_again_after_a_quiet_spell() -> None:
    values = noisy_daily(1500)
    values[800] += 400.0
    values[810] += 500.0  # novel too, but part of the same incident
    values[1300] += 900.0  # higher than the first incident, so novel again
    hold = StreamingDetector().hold
    assert 1300 - 810 > hold
    assert detect_series(values) == [800, 1300]


def test_scores_are_between_zero_and_one() -> None:
    values = noisy_daily()
    values[1000] += 400.0
    detector = StreamingDetector()
    scores = [detector.update(v) for v in values]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(scores) == scores[1000] >= DEFAULT_THRESHOLD
    assert detector.is_anomaly(scores[1000])
    assert not detector.is_anomaly(scores[999])


def test_constant_series_does_not_raise_or_flag() -> None:
    detector = StreamingDetector()
    outcomes = [detector.observe(5.0) for _ in range(ROWS)]
    assert outcomes == [(0.0, False)] * ROWS


def test_missing_values_are_skipped() -> None:
    values: list[float | None] = list(noisy_daily())
    for index in range(650, ROWS, 50):
        values[index] = math.nan
    values[700] = None
    values[760] = math.inf
    detector = StreamingDetector()
    outcomes = [detector.observe(v) for v in values]
    assert not any(flagged for _, flagged in outcomes)
    assert outcomes[650] == outcomes[700] == outcomes[760] == (0.0, False)


def test_constant_series_that_changes_is_flagged() -> None:
    values = [0.0] * ROWS
    values[1000:] = [3.0] * (ROWS - 1000)
    assert detect_series(values) == [1000]


def test_timestamps_are_accepted() -> None:
    start = datetime(2024, 1, 1)
    values = noisy_daily()
    values[1000] += 400.0
    stamps = [start + timedelta(minutes=5 * i) for i in range(ROWS)]
    assert detect_series(values, stamps) == detect_series(values)


def test_parameters_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        StreamingDetector(2000)  # type: ignore[misc]


def write_csv(path, values, start: datetime) -> list[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    stamps = [(start + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S")
              for i in range(len(values))]
    lines = ["timestamp,value"] + [f"{s},{v:.3f}" for s, v in zip(stamps, values)]
    path.write_text("\n".join(lines) + "\n")
    return stamps


def test_scan_directory_reports_relative_paths_and_csv_timestamps(tmp_path) -> None:
    spiky = noisy_daily()
    spiky[1000] += 400.0
    spiky_stamps = write_csv(tmp_path / "aws" / "cpu.csv", spiky, datetime(2024, 3, 1))
    write_csv(tmp_path / "known" / "deep" / "quiet.csv", noisy_daily(seed=3),
              datetime(2024, 3, 1))

    detections = scan_directory(tmp_path, warmup=600)

    assert detections == {"aws/cpu.csv": [spiky_stamps[1000]], "known/deep/quiet.csv": []}
    assert detections["aws/cpu.csv"] == ["2024-03-04 11:20:00"]


def test_scan_warms_up_for_nab_probationary_period(tmp_path) -> None:
    """The scan learns for NAB's probationary period, min(15% of the rows, 750), then flags."""
    assert (probationary_rows(1500), probationary_rows(4032), probationary_rows(18050)) == (
        225, 604, 750)
    rng = np.random.default_rng(5)
    values = 50.0 + rng.uniform(-1.0, 1.0, 1500)
    values[200], values[600] = 90.0, 120.0  # inside the 225 probationary rows, then after
    stamps = write_csv(tmp_path / "flat.csv", values, datetime(2024, 3, 1))
    assert scan_directory(tmp_path) == {"flat.csv": [stamps[600]]}
    assert scan_directory(tmp_path, warmup=100) == {"flat.csv": [stamps[200], stamps[600]]}


def switching(seed: int, rows: int = 4000) -> np.ndarray:
    """A metric that keeps switching between two levels for 30-300 samples at a time."""
    rng = np.random.default_rng(seed)
    values, high, at = np.empty(rows), False, 0
    while at < rows:
        span = slice(at, at + int(rng.integers(30, 300)))
        values[span] = (50.0 if high else 10.0) + rng.normal(0.0, 3.0, len(values[span]))
        high, at = not high, span.stop
    return values


def test_the_bar_calibrates_itself_on_a_series_whose_normal_is_restless() -> None:
    """Switching is this series' normal: its own past scores raise the bar, so fewer flags."""
    calibrated = sum(len(detect_series(switching(seed), warmup=300)) for seed in range(4))
    fixed = sum(len(detect_series(switching(seed), warmup=300, calibration=None))
                for seed in range(4))
    assert calibrated < fixed


@pytest.mark.parametrize("params", [{"calibration": 1.5}, {"novelty_scale": 0.0},
                                    {"shift_scale": -1.0}])
def test_bad_parameters_are_refused(params) -> None:
    with pytest.raises(ValueError):
        StreamingDetector(**params)


def test_time_based_warmup_counts_seconds_not_samples() -> None:
    start = datetime(2024, 1, 1)
    values = list(50.0 + np.random.default_rng(2).uniform(-1.0, 1.0, 200))
    values[40] += 40.0
    five_minutes = [start + timedelta(minutes=5 * i) for i in range(200)]
    one_minute = [start + timedelta(minutes=i) for i in range(200)]
    # 40 samples: over three hours at 5 minutes (warm after an hour and 30 samples), 40
    # minutes at 1 minute (not warm yet).
    assert detect_series(values, five_minutes, warmup_s=3600) == [40]
    assert detect_series(values, one_minute, warmup_s=3600) == []
