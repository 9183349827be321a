"""Polling triggers: one cursor per connection, trigger and parameters; the item ids seen."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from atom.extensions import db
from atom.models.base import utcnow


class PollCursor(db.Model):
    """Where one poll of a connection's trigger, narrowed by ``params``, has got to.

    Made and deleted by ``atom.engine.polling.sync_cursors`` from the enabled workflows (every
    workflow asking for the same connection, trigger and params shares it); ``params_hash`` is
    the SHA-256 of the params as the trigger's schema loads them. ``cursor`` is the vendor's
    (never shown by the API); ``next_poll_at`` is when the poll job takes it next.
    """

    __tablename__ = "poll_cursors"
    __table_args__ = (UniqueConstraint("connection_id", "trigger", "params_hash",
                                       name="uq_poll_cursor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"),
                                               index=True)
    trigger: Mapped[str] = mapped_column(String(120))
    params_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # None until the first (priming) poll succeeded.
    cursor: Mapped[str | None] = mapped_column(Text)
    primed_at: Mapped[datetime | None]
    last_poll_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True)
    last_ok: Mapped[bool | None]
    last_error_class: Mapped[str | None] = mapped_column(String(32))
    last_error_message: Mapped[str | None] = mapped_column(String(500))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    items_fired: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollItem(db.Model):
    """An item a poll has seen (primed or fired): never fired again. Recorded in the
    transaction that stores its event and the new cursor; pruned after
    ``POLL_ITEM_RETENTION_DAYS``."""

    __tablename__ = "poll_items"
    __table_args__ = (UniqueConstraint("cursor_id", "item_id", name="uq_poll_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cursor_id: Mapped[int] = mapped_column(ForeignKey("poll_cursors.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
