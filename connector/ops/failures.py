"""The dead-letter queue: list what failed and why, and re-queue it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.notices.records import MessageNotice, NoticeDigest, NoticeState
from connector.pipeline import lifecycle
from connector.showcase.records import ShowcaseRecord, ShowcaseState
from connector.sstu_export.records import SendState, SstuAppealRecord
from connector.store.db import Store
from connector.store.models import Card, Failure, Message, MessageState, OutboxItem, OutboxState, utcnow


class FailureView(BaseModel):
    id: int
    item_kind: str
    item_id: int
    account: str | None
    pos_id: str | None
    job: str
    reason: str
    created_at: datetime


def list_failures(store: Store) -> list[FailureView]:
    with store.session() as session:
        rows = session.execute(
            select(Failure, Message.account, Message.pos_id)
            .outerjoin(Message, Message.id == Failure.message_id)
            .where(Failure.resolved_at.is_(None)).order_by(Failure.id)
        ).all()
        return [FailureView(id=f.id, item_kind=f.item_kind, item_id=f.item_id, account=account, pos_id=pos_id,
                            job=f.job, reason=f.reason, created_at=f.created_at) for f, account, pos_id in rows]


class RetryResult(BaseModel):
    requeued: list[int]
    unknown: list[int]


def retry_failures(store: Store, ids: Sequence[int] | None) -> RetryResult:
    """Re-queue the given failures (all open ones when ``ids`` is None).  An id that is not an
    open failure re-queues nothing at all: the operator mistyped, and half a retry would hide it."""
    requeued: list[int] = []
    with store.sessions.begin() as session:
        query = select(Failure).where(Failure.resolved_at.is_(None))
        if ids is not None:
            query = query.where(Failure.id.in_(ids))
        found = list(session.scalars(query))
        missing = sorted(set(ids or ()) - {f.id for f in found})
        if missing:
            return RetryResult(requeued=[], unknown=missing)
        for failure in found:
            _requeue(session, failure)
            failure.resolved_at = utcnow()
            requeued.append(failure.id)
    return RetryResult(requeued=requeued, unknown=[])


def _requeue(session: Session, failure: Failure) -> None:
    if failure.item_kind == "outbox":
        item = session.get(OutboxItem, failure.item_id)
        if item is not None and item.state == OutboxState.FAILED:
            item.state = OutboxState.PENDING
            _reset(item)
        return
    if failure.item_kind == "sstu":
        record = session.get(SstuAppealRecord, failure.item_id)
        if record is not None:
            _reset(record)
            record.inputs_hash = ""  # rebuilt on the next sstu run, with today's mapping and settings
            # a refused send goes again; a build error is rebuilt first, and the rebuild decides
            if record.send_state == SendState.FAILED:
                record.send_state = SendState.PENDING
            elif record.send_state == SendState.INVALID:
                record.send_state = SendState.IDLE
        return
    if failure.item_kind == "showcase":
        _requeue_showcase(session, failure)
        return
    if failure.item_kind in ("notice", "digest"):
        notice: MessageNotice | NoticeDigest | None = (
            session.get(MessageNotice, failure.item_id) if failure.item_kind == "notice"
            else session.get(NoticeDigest, failure.item_id))
        if notice is not None and notice.state == NoticeState.FAILED:
            notice.state = NoticeState.PENDING  # sent on the next notices run, to today's recipients
            _reset(notice)
        return
    if failure.item_kind == "card":
        card = session.get(Card, failure.item_id)
        if card is not None:
            _reset(card)
            card.checked_at = None
    message = session.get(Message, failure.message_id) if failure.message_id else None
    if message is not None and message.state == MessageState.FAILED:
        lifecycle.requeue(message)
        _reset(message)


def _requeue_showcase(session: Session, failure: Failure) -> None:
    record = session.get(ShowcaseRecord, failure.item_id)
    if record is None:
        return
    _reset(record)
    if record.send_state == ShowcaseState.FAILED:
        record.send_state = ShowcaseState.PENDING  # a refused upload goes again
    elif record.send_state == ShowcaseState.INVALID:
        # rebuilt on the next showcase run: the same problem is a new failure, a fixed one is sent
        record.build_error = None
        record.content_hash = ""


def _reset(item: Message | Card | OutboxItem | SstuAppealRecord | ShowcaseRecord | MessageNotice
           | NoticeDigest) -> None:
    lifecycle.clear_attempts(item)
    item.claimed_by = None
    item.lease_until = None
