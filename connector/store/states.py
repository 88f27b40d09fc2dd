"""The store's state words and clock, without the ORM: ``connector status`` and the health endpoints
read them and must not pay for importing ``sqlalchemy.orm`` (README «Performance»).
``connector.store.models`` re-exports them, so a job imports them from either place."""

from __future__ import annotations

import enum
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class MessageState(enum.StrEnum):
    """Message lifecycle (architecture §2)."""

    FETCHING = "fetching"          # seen in a listing, full content not stored yet
    STORED = "stored"              # content and attachments stored, no card yet
    REGISTERED = "registered"      # card exists in the EDMS
    IN_WORK = "in_work"            # executor assigned
    ANSWER_READY = "answer_ready"  # answer fetched from the EDMS, queued for POS
    ANSWERED = "answered"          # answer accepted by POS
    REDIRECTED = "redirected"      # redirect accepted by POS
    CLOSED = "closed"              # POS confirms the final state
    FAILED = "failed"              # in the dead-letter queue (see failures)


OPEN_CARD_STATES = (MessageState.REGISTERED, MessageState.IN_WORK)


class OutboxKind(enum.StrEnum):
    STATUS = "status"
    ANSWER = "answer"
    REDIRECT = "redirect"


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SUPERSEDED = "superseded"  # POS was already past this state
    FAILED = "failed"
