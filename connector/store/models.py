"""The state store schema (SQLAlchemy 2).  Changes go through alembic migrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from connector.store.states import OPEN_CARD_STATES as OPEN_CARD_STATES
from connector.store.states import MessageState as MessageState
from connector.store.states import OutboxKind as OutboxKind
from connector.store.states import OutboxState as OutboxState
from connector.store.states import utcnow as utcnow
from connector.store.types import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class LeaseMixin:
    """Claimed in batches by one worker; a crashed worker's lease simply expires."""

    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Message(LeaseMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("account", "pos_id", name="uq_messages_account_pos_id"),
        Index("ix_messages_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    pos_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    failed_from: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict[str, Any] | None]
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    pos_status: Mapped[str | None] = mapped_column(String(32))
    pos_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.id")
    card: Mapped[Card | None] = relationship(back_populates="message", uselist=False)


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("message_id", "pos_file_id", name="uq_attachments_message_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    pos_file_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    mime_type: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)

    message: Mapped[Message] = relationship(back_populates="attachments")


class Card(LeaseMixin, Base):
    __tablename__ = "cards"
    __table_args__ = (UniqueConstraint("message_id", name="uq_cards_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    adapter: Mapped[str] = mapped_column(String(64))
    edms_target: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(20))
    registration_number: Mapped[str] = mapped_column(String(128), default="")
    registration_date: Mapped[date | None] = mapped_column(Date)
    executor: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date | None] = mapped_column(Date)
    resolution: Mapped[str] = mapped_column(Text, default="")
    redirect_org_id: Mapped[str] = mapped_column(String(128), default="")
    redirect_letter_number: Mapped[str] = mapped_column(String(128), default="")
    redirect_letter_date: Mapped[date | None] = mapped_column(Date)
    rubric_code: Mapped[str] = mapped_column(String(24), default="")
    snapshot_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None]

    message: Mapped[Message] = relationship(back_populates="card")


class DeadlineHop(Base):
    """One hop of an appeal's way (organisation, executor) with its own term, so an
    overdue answer is attributed to whoever let it expire."""

    __tablename__ = "deadline_hops"
    __table_args__ = (UniqueConstraint("message_id", "hop_no", name="uq_hops_message_hop"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    hop_no: Mapped[int] = mapped_column(Integer)
    organisation: Mapped[str] = mapped_column(String(255))
    executor: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[date | None] = mapped_column(Date)
    ended_at: Mapped[datetime | None]
    overdue: Mapped[bool | None] = mapped_column(Boolean)


class OutboxItem(LeaseMixin, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("message_id", "kind", "target", name="uq_outbox_message_kind_target"),
        Index("ix_outbox_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    def idempotency_key(self, account: str, pos_id: str) -> str:
        """What POS deduplicates this write by: the message's own identity, never a row id of ours —
        a restored or re-created store numbers its rows anew, and a key reused for another message
        is refused (422) or, worse, answered with the other write's result."""
        return f"pos-connector:{account}:{pos_id}:{self.kind}:{self.target}"


class Failure(Base):
    """The dead-letter queue: what an operator sees in ``connector failures list``."""

    __tablename__ = "failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_kind: Mapped[str] = mapped_column(String(16))  # message | outbox
    item_id: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(Integer)
    job: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),
                      Index("ix_job_runs_job_ok_finished", "job", "ok", "finished_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    worker: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    ok: Mapped[bool | None] = mapped_column(Boolean)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class PullWatermark(Base):
    """Per account: changes up to this POS ``updatedAt`` are committed to the store (never past
    the moment the listing that got there started), and what the watermark rules noticed."""

    __tablename__ = "pull_watermarks"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    updated_since: Mapped[datetime | None]
    clock_warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    missed_by_incremental: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    listing_error: Mapped[str | None] = mapped_column(Text)  # the last listing's runaway, None once one ends well
    listing_error_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EdmsAppealRecord(Base):
    """An appeal card of the EDMS of any channel (adapter capability ``list_appeals``), as last listed.

    ``content`` is the appeal with its answer files on our disk (``sstu_export.edms_facts.StoredAppeal``);
    ``content_hash`` changes whenever anything of it does, so reports rebuild only what changed.  A card
    of a POS message (``pos_id``) is reported through that message; its questions enrich the report."""

    __tablename__ = "edms_appeals"
    __table_args__ = (UniqueConstraint("target", "external_id", name="uq_edms_appeals_card"),
                      Index("ix_edms_appeals_pos_id", "pos_id"),
                      Index("ix_edms_appeals_received", "received_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    account: Mapped[str] = mapped_column(String(64))
    pos_id: Mapped[str] = mapped_column(String(64), default="")
    number: Mapped[str] = mapped_column(String(128), default="")
    received_on: Mapped[date | None] = mapped_column(Date)
    delivery: Mapped[str] = mapped_column(String(16), default="")
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    no_sstu: Mapped[bool] = mapped_column(Boolean, default=False)
    questions: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
class ExecutorHop(Base):
    """One executor's hold of a message (organisation, unit, executor) from–to, with its own term:
    extensions raise ``due`` (``first_due`` keeps the original), redirects and re-assignments end it.
    Written by :mod:`connector.store.hops`; read by the discipline reports."""

    __tablename__ = "executor_hops"
    __table_args__ = (UniqueConstraint("message_id", "seq", name="uq_executor_hops_message_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    organisation: Mapped[str] = mapped_column(String(255), default="")
    unit: Mapped[str] = mapped_column(String(255), default="")
    executor: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[bool] = mapped_column(Boolean, default=False)
    turn: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    due: Mapped[date | None] = mapped_column(Date)
    first_due: Mapped[date | None] = mapped_column(Date)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))
