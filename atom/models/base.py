"""Column helpers shared by the models."""
from __future__ import annotations

from datetime import UTC
from datetime import datetime


def utcnow() -> datetime:
    """Return the current UTC time, naive, as every timestamp column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def isoformat(value: datetime | None) -> str | None:
    """Render a stored (naive UTC) timestamp as ISO-8601 with a ``Z``."""
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"
