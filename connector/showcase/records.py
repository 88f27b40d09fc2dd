"""``showcase_items``: per appeal, what the showcase was told (a table of the state store).

One row per appeal of any source (``source`` + ``source_id``), keyed on the showcase by
``item_id``.  ``payload`` is the item exactly as it goes on the wire and ``content_hash`` its
SHA-256; ``sent_hash`` is what POS accepted.  An item is sent when the two differ: an unchanged
appeal is never sent again, a changed one once.  ``result`` is POS's answer for the item.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.store.models import Base, LeaseMixin


class ShowcaseState(enum.StrEnum):
    IDLE = "idle"          # POS holds the current item
    PENDING = "pending"    # a new or changed item waits for the next upload
    FAILED = "failed"      # POS rejected it, or attempts ran out: see failures
    INVALID = "invalid"    # the item cannot be built (build_error): see failures


class ShowcaseRecord(LeaseMixin, Base):
    __tablename__ = "showcase_items"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_showcase_items_source"),
        UniqueConstraint("account", "item_id", name="uq_showcase_items_item"),
        Index("ix_showcase_items_send_state", "send_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(160))
    message_id: Mapped[int | None] = mapped_column(Integer)
    received: Mapped[date | None] = mapped_column(Date)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    changed_at: Mapped[datetime | None]
    build_error: Mapped[str | None] = mapped_column(Text)
    send_state: Mapped[str] = mapped_column(String(16), default=ShowcaseState.IDLE)
    sent_hash: Mapped[str] = mapped_column(String(64), default="")
    sent_at: Mapped[datetime | None]
    sends: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
