"""What happens to an item when its step fails: back off, or land in failures."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from connector.errors import ConnectorError, ForeignCardError, RemoteRejected
from connector.pipeline import lifecycle
from connector.pipeline.context import PipelineContext
from connector.showcase.records import ShowcaseRecord, ShowcaseState
from connector.sstu_export.records import SendState, SstuAppealRecord
from connector.store.leases import release
from connector.store.models import Card, Failure, Message, OutboxItem, OutboxState


@dataclass
class JobStats:
    processed: int = 0
    failed: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    # why items were put back to be tried again (a peer's 503, a timeout): such a run did not
    # do its work, and says so (exit 1, job run not ok) instead of "0 failed"
    retry_reasons: list[str] = field(default_factory=list)

    def __iadd__(self, other: JobStats) -> JobStats:
        self.processed += other.processed
        self.failed += other.failed
        self.skipped += other.skipped
        self.notes += other.notes
        for reason in other.retry_reasons:
            self.left_to_retry(reason)
        return self

    def left_to_retry(self, reason: str) -> None:
        if reason not in self.retry_reasons and len(self.retry_reasons) < 5:
            self.retry_reasons.append(reason)


def batch_budget(max_batches: int | None) -> Iterator[int]:
    """Batches a job may claim in one run: all there are (None), or at most ``max_batches`` so
    that the daemon's single worker moves on to the next job instead of draining one queue."""
    return itertools.count() if max_batches is None else iter(range(max_batches))


def record_item_error(session: Session, ctx: PipelineContext,
                      item: Message | Card | OutboxItem | SstuAppealRecord | ShowcaseRecord,
                      exc: ConnectorError, *, job: str, stats: JobStats) -> None:
    """Count a failed attempt; after ``max_attempts`` (or at once for a refusal that a
    retry cannot change) move the item to the dead-letter queue with the reason."""
    now = ctx.clock()
    item.attempts = (item.attempts or 0) + 1
    # what an operator reads (`connector failures list`, `connector status`): the process's language
    item.last_error = exc.shown
    release(item)
    permanent = isinstance(exc, RemoteRejected | ForeignCardError)
    if not permanent and item.attempts < ctx.settings.daemon.max_attempts:
        delay = ctx.settings.daemon.retry_delay_seconds * 2 ** (item.attempts - 1)
        item.next_attempt_at = now + timedelta(seconds=delay)
        stats.skipped += 1
        stats.left_to_retry(exc.shown)
        return
    item.next_attempt_at = None
    stats.failed += 1
    dead_letter(session, item, job=job, reason=exc.shown, detail=exc.detail)


def dead_letter(session: Session, item: Message | Card | OutboxItem | SstuAppealRecord | ShowcaseRecord, *, job: str,
                reason: str, detail: str | None = None) -> None:
    if isinstance(item, ShowcaseRecord):
        # like the SSTU report: the showcase item failed, the message's lifecycle goes on
        item.send_state = ShowcaseState.FAILED
        session.add(Failure(item_kind="showcase", item_id=item.id, message_id=item.message_id, job=job,
                            reason=reason, detail=detail))
        return
    if isinstance(item, SstuAppealRecord):
        # the report failed, not the message: its POS/EDMS lifecycle goes on untouched
        item.send_state = SendState.FAILED
        session.add(Failure(item_kind="sstu", item_id=item.id, message_id=item.message_id, job=job, reason=reason,
                            detail=detail))
        return
    if isinstance(item, OutboxItem):
        item.state = OutboxState.FAILED
        kind, message_id = "outbox", item.message_id
    else:
        message = item if isinstance(item, Message) else session.get(Message, item.message_id)
        assert message is not None
        lifecycle.dead_letter(message)
        kind, message_id = ("message" if isinstance(item, Message) else "card"), message.id
    session.add(Failure(item_kind=kind, item_id=item.id, message_id=message_id, job=job,
                        reason=reason, detail=detail))
