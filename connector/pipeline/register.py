"""Job ``register``: stored messages → a registration card in the EDMS.

``create_card`` finds an existing card by the POS id before creating one, so a crash
between the EDMS call and our commit never duplicates a card.
"""

from __future__ import annotations

import logging
from pathlib import Path

from connector.domain import CardStage, PosMessage, StoredFile
from connector.errors import AuthError, ConnectorError, FatalAdapterError
from connector.logs import pii_scope
from connector.pipeline import lifecycle
from connector.pipeline.batches import drain
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats, record_item_error
from connector.pos_client.wire import WireAppeal, to_pos_message
from connector.store.leases import release
from connector.store.models import Card, Message, MessageState

log = logging.getLogger(__name__)

JOB = "register"


def message_to_domain(message: Message) -> PosMessage:
    assert message.payload is not None
    files = tuple(
        StoredFile(name=a.name, size=a.size, sha256=a.sha256, mime_type=a.mime_type, path=Path(a.path))
        for a in message.attachments
    )
    return to_pos_message(message.account, WireAppeal.model_validate(message.payload), files)


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    def account_of(message_id: int) -> str:
        with ctx.store.session() as session:
            message = session.get(Message, message_id)
            return message.account if message else "?"

    return drain(ctx, Message, job=JOB, max_batches=max_batches, handle=_register_one, group_of=account_of,
                 conditions=lambda stopped: [Message.state == MessageState.STORED, Message.account.not_in(stopped)])


def _register_one(ctx: PipelineContext, message_id: int, stats: JobStats) -> None:
    with ctx.store.session() as session:
        message = session.get(Message, message_id)
        assert message is not None
        domain = message_to_domain(message)
        target, adapter = ctx.adapter_for_account(message.account)
    try:
        with pii_scope(domain.applicant.model_dump().values()):
            ref = adapter.create_card(domain)
    except (AuthError, FatalAdapterError):
        raise
    except ConnectorError as exc:
        with ctx.store.sessions.begin() as session:
            message = session.get(Message, message_id)
            assert message is not None
            record_item_error(session, ctx, message, exc, job=JOB, stats=stats)
        log.warning("card not created", extra={"pos_id": domain.pos_id, "reason": exc.operator_message})
        return
    with ctx.store.sessions.begin() as session:
        message = session.get(Message, message_id)
        assert message is not None
        if message.card is None:
            session.add(Card(message_id=message.id, adapter=ref.adapter, edms_target=target,
                             external_id=ref.external_id, url=ref.url, stage=CardStage.REGISTERED, attempts=0))
        lifecycle.registered(message)
        release(message)
    stats.processed += 1
    log.info("card registered", extra={"pos_id": domain.pos_id, "card": ref.external_id})
