"""What we reported to ССТУ, per appeal and per archive (tables of the state store).

``sstu_appeals`` holds one row per POS message that has a card, and one per EDMS appeal of
another channel (``edms_appeal_id``): the hash of its latest valid
build (``content_hash``), of what ССТУ accepted (``sent_hash``) and of what the last archive
carried (``archived_hash``).  An appeal is sent when ``content_hash != sent_hash`` and
archived when ``content_hash != archived_hash``: an unchanged appeal is never sent again.
The appeal's JSON itself is not stored: it is rebuilt from the message, card and answer.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.store.models import Base, LeaseMixin, utcnow


class SendState(enum.StrEnum):
    IDLE = "idle"          # nothing to send (sent_hash == content_hash, or no HTTP route)
    PENDING = "pending"    # a changed appeal waits for the next send
    FAILED = "failed"      # ССТУ refused it or attempts ran out: see failures
    INVALID = "invalid"    # the appeal cannot be built (build_error): see failures


class SstuAppealRecord(LeaseMixin, Base):
    __tablename__ = "sstu_appeals"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_sstu_appeals_message"),
        UniqueConstraint("edms_appeal_id", name="uq_sstu_appeals_edms_appeal"),
        Index("ix_sstu_appeals_send_state", "send_state"),
        Index("ix_sstu_appeals_incoming", "incoming_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # exactly one of the two: a POS message, or an EDMS appeal of another channel (edms_appeals)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    edms_appeal_id: Mapped[int | None] = mapped_column(ForeignKey("edms_appeals.id", ondelete="CASCADE"))
    department_id: Mapped[str] = mapped_column(String(36), default="")
    number: Mapped[str] = mapped_column(String(128), default="")
    uuid: Mapped[str] = mapped_column(String(36), default="")
    incoming_date: Mapped[date | None] = mapped_column(Date)
    inputs_hash: Mapped[str] = mapped_column(String(64), default="")   # facts + configuration last built
    content_hash: Mapped[str] = mapped_column(String(64), default="")  # latest valid build
    statuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    built_at: Mapped[datetime | None]
    changed_at: Mapped[datetime | None]
    build_error: Mapped[str | None] = mapped_column(Text)
    send_state: Mapped[str] = mapped_column(String(16), default=SendState.IDLE)
    sent_hash: Mapped[str] = mapped_column(String(64), default="")
    sent_statuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime | None]
    sends: Mapped[int] = mapped_column(Integer, default=0)
    receipt: Mapped[dict[str, Any] | None]
    archived_hash: Mapped[str] = mapped_column(String(64), default="")
    archived_at: Mapped[datetime | None]


class SstuArchiveRecord(Base):
    """One written archive (all its parts): what the operator carries, and proof the month is done."""

    __tablename__ = "sstu_archives"
    __table_args__ = (Index("ix_sstu_archives_period", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))        # YYYY-MM
    kind: Mapped[str] = mapped_column(String(16))         # monthly | manual
    directory: Mapped[str] = mapped_column(Text)
    parts: Mapped[list[str]] = mapped_column(JSON, default=list)
    appeals: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)

