"""Webhook deliveries accepted by plugin receivers, waiting for the workflow engine."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.extensions import db
from atom.models.base import utcnow


class WebhookEvent(db.Model):
    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("connection_id", "delivery_id", name="uq_webhook_delivery"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(64), index=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(120), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # pending | processed
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)


class WebhookReceipt(db.Model):
    """A signed delivery already accepted: the digest of its signature (or of its body and
    timestamp) within a scope (``connection:7``, ``workflow:3``). A second delivery with the
    same digest is a replay, answered as a duplicate."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("scope", "digest", name="uq_webhook_receipt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(120))
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
