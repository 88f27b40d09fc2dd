"""Job ``push``: due outbox entries → POS status / answer / redirect.

Each write carries an Idempotency-Key derived from its outbox key; POS answering
"already in that state" or ``ALREADY_ANSWERED`` counts as success, so a crash after the
POS call and before our commit never sends anything twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from connector.domain import PosStatus
from connector.errors import AuthError, ConnectorError, RemoteRejected
from connector.pipeline import lifecycle
from connector.pipeline.batches import drain
from connector.pipeline.context import PipelineContext
from connector.pipeline.outbox_payloads import AnswerPush, StatusPush, read_payload
from connector.pipeline.outcomes import JobStats, record_item_error
from connector.pipeline.status_translation import is_past
from connector.pos_client.client import PosClient
from connector.store.leases import release
from connector.store.models import Message, OutboxItem, OutboxKind, OutboxState

log = logging.getLogger(__name__)

JOB = "push"


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    earlier = aliased(OutboxItem)
    # Entries of one message go out in order: an answer waits for the status POS requires before it.
    blocked = exists(select(earlier.id).where(
        earlier.message_id == OutboxItem.message_id, earlier.id < OutboxItem.id,
        earlier.state.in_([OutboxState.PENDING, OutboxState.FAILED])))

    def account_of(item_id: int) -> str:
        with ctx.store.session() as session:
            item = session.get(OutboxItem, item_id)
            message = session.get(Message, item.message_id) if item else None
            return message.account if message else "?"

    return drain(ctx, OutboxItem, job=JOB, max_batches=max_batches, handle=_push_one, group_of=account_of,
                 conditions=lambda stopped: [
                     OutboxItem.state == OutboxState.PENDING, ~blocked,
                     OutboxItem.message_id.not_in(select(Message.id).where(Message.account.in_(stopped)))])


def _push_one(ctx: PipelineContext, item_id: int, stats: JobStats) -> None:
    with ctx.store.session() as session:
        item = session.get(OutboxItem, item_id)
        assert item is not None
        message = session.get(Message, item.message_id)
        assert message is not None
        account, pos_id = message.account, message.pos_id
        kind, target, key = item.kind, item.target, item.idempotency_key(account, pos_id)
        payload = read_payload(kind, item.payload)
    client = ctx.pos(account)
    outcome = OutboxState.SENT
    try:
        if isinstance(payload, StatusPush):
            client.set_status(pos_id, PosStatus(target), idempotency_key=key, comment=payload.comment,
                              executor=payload.executor, planned_date=payload.planned_date)
        elif isinstance(payload, AnswerPush):
            client.send_answer(pos_id, text=payload.text, decision=payload.decision, signer=payload.signer,
                               answer_date=payload.date,
                               files=[(f.name, f.path, f.mime_type) for f in payload.files], idempotency_key=key)
        else:
            client.redirect(pos_id, target_org_id=payload.target_org_id, comment=payload.comment,
                            idempotency_key=key)
    except AuthError:
        raise
    except RemoteRejected as exc:
        if exc.status == 409 and kind != OutboxKind.ANSWER and _pos_already_past(client, pos_id, target):
            outcome = OutboxState.SUPERSEDED
        else:
            _fail(ctx, item_id, exc, stats)
            return
    except ConnectorError as exc:
        _fail(ctx, item_id, exc, stats)
        return
    with ctx.store.sessions.begin() as session:
        item = session.get(OutboxItem, item_id)
        assert item is not None
        item.state = outcome
        item.sent_at = ctx.clock()
        lifecycle.clear_attempts(item)
        release(item)
        message = session.get(Message, item.message_id)
        assert message is not None
        if kind == OutboxKind.ANSWER:
            lifecycle.answered(message)
        elif kind == OutboxKind.REDIRECT:
            lifecycle.redirected(message)
        lifecycle.close_if_final(message)
    stats.processed += 1
    log.info("pushed to POS", extra={"pos_id": pos_id, "kind": kind, "target": target, "outcome": outcome})


def _pos_already_past(client: PosClient, pos_id: str, target: str) -> bool:
    try:
        current = client.current_status(pos_id)
    except ConnectorError:
        return False
    return is_past(current, PosStatus(target))


def _fail(ctx: PipelineContext, item_id: int, exc: ConnectorError, stats: JobStats) -> None:
    with ctx.store.sessions.begin() as session:
        item = session.get(OutboxItem, item_id)
        assert item is not None
        record_item_error(session, ctx, item, exc, job=JOB, stats=stats)
    log.warning("push failed", extra={"outbox_id": item_id, "reason": exc.operator_message})
