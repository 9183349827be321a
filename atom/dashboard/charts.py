"""The series of the hourly charts (response time p50/p95, success rate) drawn by ``ui.chart``
from the buckets of :func:`atom.monitoring.rollup.trends` (what ``GET
/api/v2/monitoring/analytics`` answers): a connection's page and the monitoring trends."""
from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any


def epoch(iso: str) -> float:
    """An ISO time of the API's presenters (``...Z`` or naive UTC) as Unix seconds."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).replace(tzinfo=UTC).timestamp()


def trend_series(buckets: list[dict[str, Any]]) -> dict[str, Any]:
    """``chart_x`` (the hours, Unix seconds), ``latency_series`` (p50, p95 in ms),
    ``success_series`` (% of calls that succeeded) and ``has_data`` (any call at all)."""
    x = [int(epoch(b["hour"])) for b in buckets]
    latency = [{"label": "p50", "values": [b.get("p50_response_time_ms") for b in buckets]},
               {"label": "p95", "values": [b["p95_response_time_ms"] for b in buckets]}]
    success = [{"label": "success", "values": [None if b["success_rate"] is None
                                               else round(100 * b["success_rate"], 2)
                                               for b in buckets]}]
    return {"chart_x": x, "latency_series": latency, "success_series": success,
            "has_data": any(b["calls"] for b in buckets)}
