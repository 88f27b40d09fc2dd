"""Job ``register``: stored messages → a registration card in the EDMS.

``create_card`` finds an existing card by the POS id before creating one, so a crash
between the EDMS call and our commit never duplicates a card.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from connector.domain import CardRef, CardStage, PosMessage
from connector.edms_adapters.base import EdmsAdapter
from connector.errors import ConnectorError
from connector.logs import pii_scope
from connector.pipeline import lifecycle
from connector.pipeline.batches import Step, drain
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats, record_item_error
from connector.pipeline.stored import stored_message
from connector.store.leases import release
from connector.store.models import Card, Message, MessageState

log = logging.getLogger(__name__)

JOB = "register"


@dataclass(frozen=True)
class _Registration:
    id: int
    group: str  # the account: an AuthError from its EDMS stops its messages for this run
    row: Message
    message: PosMessage
    target: str
    adapter: EdmsAdapter


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    def load(session: Session, ids: Sequence[int], _stats: JobStats) -> list[_Registration]:
        rows = session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id)
                               .options(selectinload(Message.attachments), selectinload(Message.card)))
        return [_Registration(m.id, m.account, m, stored_message(m), *ctx.adapter_for_account(m.account))
                for m in rows]

    def save(session: Session, work: _Registration, ref: CardRef, stats: JobStats) -> None:
        message = work.row
        if message.card is None:
            session.add(Card(message_id=message.id, adapter=ref.adapter, edms_target=work.target,
                             external_id=ref.external_id, url=ref.url, stage=CardStage.REGISTERED, attempts=0))
        lifecycle.registered(message)
        release(message)
        stats.processed += 1
        log.info("card registered", extra={"pos_id": work.message.pos_id, "card": ref.external_id})

    def fail(session: Session, work: _Registration, exc: ConnectorError, stats: JobStats) -> None:
        record_item_error(session, ctx, work.row, exc, job=JOB, stats=stats)
        log.warning("card not created", extra={"pos_id": work.message.pos_id, "reason": exc.operator_message})

    return drain(ctx, Message, Step(load=load, call=_create_card, save=save, fail=fail), job=JOB,
                 max_batches=max_batches,
                 conditions=lambda stopped: [Message.state == MessageState.STORED, Message.account.not_in(stopped)])


def _create_card(work: _Registration) -> CardRef:
    with pii_scope(work.message.applicant.model_dump().values()):
        return work.adapter.create_card(work.message)
