"""Column helpers shared by the models."""
from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any


def utcnow() -> datetime:
    """Return the current UTC time, naive, as every timestamp column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def isoformat(value: datetime | None) -> str | None:
    """Render a stored (naive UTC) timestamp as ISO-8601 with a ``Z``."""
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def dialect_insert(dialect: Any) -> Any:
    """The ``insert`` of ``dialect`` that has ``on_conflict_do_update`` (SQLite, PostgreSQL),
    or None for a dialect without it."""
    if dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None
    return insert
