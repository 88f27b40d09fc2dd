"""The tables of notices, ratings, control tasks and the personal-data audit log.

Exactly once is a unique key plus a lease: a notice row is planned once per (message, key,
unit) -- the unique constraint makes a second worker's or a restarted worker's plan a no-op --
then claimed, sent and marked ``sent`` (see :mod:`connector.notices.delivery` for what a crash
between the SMTP hand-over and the mark costs).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.store.models import Base, LeaseMixin, utcnow


class NoticeState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"   # attempts ran out (SMTP refused it every time): logged, never resent by itself
    SKIPPED = "skipped"  # a warning whose message was answered before it went out: not sent


class NoticeKind(enum.StrEnum):
    WARNING = "warning"          # an early warning before the POS deadline (or at expiry)
    NEW_MESSAGE = "new_message"  # a new message arrived for the unit
    CONTROL = "control"          # a low rating or a repeat appeal opened a control task


class MessageNotice(LeaseMixin, Base):
    """One notice about one message to one unit; ``key`` names the threshold ("warn:3:2026-12-10":
    three days before that deadline), "new", or the control task's reason."""

    __tablename__ = "message_notices"
    __table_args__ = (
        UniqueConstraint("message_id", "key", "unit", name="uq_message_notices_message_key_unit"),
        Index("ix_message_notices_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(255))
    due: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default=NoticeState.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class NoticeDigest(LeaseMixin, Base):
    """The daily digest of one unit: one row per (unit, body-day)."""

    __tablename__ = "notice_digests"
    __table_args__ = (UniqueConstraint("unit", "day", name="uq_notice_digests_unit_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit: Mapped[str] = mapped_column(String(255))
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default=NoticeState.PENDING)
    items: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Rating(Base):
    """What POS says the applicant thought of the answer: «Оценка ответа заявителем» (1–5) and,
    for a repeat appeal («Повторное рассмотрение»), the number of the earlier message."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("message_id", name="uq_ratings_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    rating: Mapped[int | None] = mapped_column(Integer)
    repeat_of: Mapped[str] = mapped_column(String(64), default="")
    rated_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ControlTaskState(enum.StrEnum):
    PENDING = "pending"
    CREATED = "created"
    UNSUPPORTED = "unsupported"  # the card's EDMS has no control tasks: the notice still goes out
    FAILED = "failed"


class ControlTask(LeaseMixin, Base):
    """A control task for the curator on the original card: once per (card's message, reason);
    reason is "rating" or "repeat:<number of the repeat appeal>"."""

    __tablename__ = "control_tasks"
    __table_args__ = (
        UniqueConstraint("message_id", "reason", name="uq_control_tasks_message_reason"),
        Index("ix_control_tasks_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(96))
    rating: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=ControlTaskState.PENDING)
    external_id: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class AuditEntry(Base):
    """A search that touched personal data: who (the OS user), when, what was asked."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    who: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    results: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)


#: the tables whose rows are claimed with leases (freed at start on SQLite and by a restore)
NOTICE_LEASED = (MessageNotice, NoticeDigest, ControlTask)
