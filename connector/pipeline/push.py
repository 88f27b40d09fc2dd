"""Job ``push``: due outbox entries → POS status / answer / redirect.

Each write carries an Idempotency-Key derived from its outbox key; POS answering
"already in that state" or ``ALREADY_ANSWERED`` counts as success, so a crash after the
POS call and before our commit never sends anything twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from connector.domain import PosStatus
from connector.errors import ConnectorError, RemoteRejected
from connector.pipeline import lifecycle
from connector.pipeline.batches import Step, drain
from connector.pipeline.context import PipelineContext
from connector.pipeline.outbox_payloads import AnswerPush, StatusPush, read_payload
from connector.pipeline.outcomes import JobStats, record_item_error
from connector.pipeline.status_translation import is_past
from connector.pos_client.client import PosClient
from connector.store.leases import release
from connector.store.models import Message, OutboxItem, OutboxKind, OutboxState

log = logging.getLogger(__name__)

JOB = "push"


@dataclass(frozen=True)
class _Push:
    id: int
    group: str  # the account: an AuthError from POS stops its entries for this run
    row: OutboxItem
    message: Message
    client: PosClient
    key: str


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    earlier = aliased(OutboxItem)
    # Entries of one message go out in order: an answer waits for the status POS requires before it.
    blocked = exists(select(earlier.id).where(
        earlier.message_id == OutboxItem.message_id, earlier.id < OutboxItem.id,
        earlier.state.in_([OutboxState.PENDING, OutboxState.FAILED])))

    def load(session: Session, ids: Sequence[int], _stats: JobStats) -> list[_Push]:
        pairs = session.execute(select(OutboxItem, Message).join(Message, Message.id == OutboxItem.message_id)
                                .where(OutboxItem.id.in_(ids)).order_by(OutboxItem.id)).all()
        return [_Push(id=item.id, group=message.account, row=item, message=message, client=ctx.pos(message.account),
                      key=item.idempotency_key(message.account, message.pos_id))
                for item, message in pairs]

    def save(session: Session, work: _Push, outcome: OutboxState, stats: JobStats) -> None:
        _sent(ctx, work, outcome, stats)

    def fail(session: Session, work: _Push, exc: ConnectorError, stats: JobStats) -> None:
        record_item_error(session, ctx, work.row, exc, job=JOB, stats=stats)
        log.warning("push failed", extra={"outbox_id": work.id, "reason": exc.operator_message})

    # the claim takes one entry per message (``blocked``); the chain keeps a message's order regardless
    return drain(ctx, OutboxItem, Step(load=load, call=_send, save=save, fail=fail, chain=lambda w: w.message.id),
                 job=JOB, max_batches=max_batches,
                 conditions=lambda stopped: [
                     OutboxItem.state == OutboxState.PENDING, ~blocked,
                     OutboxItem.message_id.not_in(select(Message.id).where(Message.account.in_(stopped)))])


def _send(work: _Push) -> OutboxState:
    """The POS write; SENT, or SUPERSEDED when POS is already past a status we meant to set."""
    client, pos_id, target = work.client, work.message.pos_id, work.row.target
    payload = read_payload(work.row.kind, work.row.payload)
    try:
        if isinstance(payload, StatusPush):
            client.set_status(pos_id, PosStatus(target), idempotency_key=work.key, comment=payload.comment,
                              executor=payload.executor, planned_date=payload.planned_date)
        elif isinstance(payload, AnswerPush):
            client.send_answer(pos_id, text=payload.text, decision=payload.decision, signer=payload.signer,
                               answer_date=payload.date, files=[(f.name, f.path, f.mime_type) for f in payload.files],
                               idempotency_key=work.key)
        else:
            client.redirect(pos_id, target_org_id=payload.target_org_id, comment=payload.comment,
                            idempotency_key=work.key)
    except RemoteRejected as exc:
        if exc.status == 409 and work.row.kind != OutboxKind.ANSWER and _pos_already_past(client, pos_id, target):
            return OutboxState.SUPERSEDED
        raise
    return OutboxState.SENT


def _sent(ctx: PipelineContext, work: _Push, outcome: OutboxState, stats: JobStats) -> None:
    item, message = work.row, work.message
    item.state = outcome
    item.sent_at = ctx.clock()
    lifecycle.clear_attempts(item)
    release(item)
    if item.kind == OutboxKind.ANSWER:
        lifecycle.answered(message)
    elif item.kind == OutboxKind.REDIRECT:
        lifecycle.redirected(message)
    lifecycle.close_if_final(message)
    stats.processed += 1
    log.info("pushed to POS", extra={"pos_id": message.pos_id, "kind": item.kind, "target": item.target,
                                     "outcome": outcome})


def _pos_already_past(client: PosClient, pos_id: str, target: str) -> bool:
    try:
        current = client.current_status(pos_id)
    except ConnectorError:
        return False
    return is_past(current, PosStatus(target))
