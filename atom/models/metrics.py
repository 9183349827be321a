"""Per-call statistics written by ``IntegrationClient`` in batches."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.extensions import db


class CallRecord(db.Model):
    __tablename__ = "call_records"
    __table_args__ = (
        Index("ix_call_records_connection_ts", "connection_id", "ts"),
        Index("ix_call_records_integration_ts", "integration", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ts: Mapped[datetime]
    integration: Mapped[str] = mapped_column(String(64))
    # No foreign key: metrics outlive a deleted connection until retention prunes them.
    connection_id: Mapped[int | None]
    operation: Mapped[str] = mapped_column(String(200))
    status: Mapped[int | None]
    ok: Mapped[bool]
    latency_ms: Mapped[float]
    attempts: Mapped[int]
    error_class: Mapped[str | None] = mapped_column(String(32))
