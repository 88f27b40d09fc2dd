"""Job ``pull``: new and changed POS messages → the store (upsert by POS id).

The listing is walked with a per-account watermark that advances only after the batch
is committed.  An item whose content cannot be fetched yet (broken download, 5xx) is
stored as ``fetching`` and re-fetched by id on the next run, so advancing the watermark
never loses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from connector.config import AccountSettings
from connector.domain import PosAttachmentRef
from connector.errors import AuthError, ConnectorError, LocalStorageError
from connector.logs import pii_scope
from connector.pipeline.context import PipelineContext
from connector.pipeline.lifecycle import close_if_final
from connector.pipeline.outcomes import JobStats, batch_budget, record_item_error
from connector.pos_client.client import PosClient
from connector.pos_client.wire import WireAppeal, WireListItem
from connector.store.leases import claim, release
from connector.store.locks import exclusive
from connector.store.models import Attachment, Message, MessageState, PullWatermark

log = logging.getLogger(__name__)

JOB = "pull"


def payload_hash(payload: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    stats = JobStats()
    for account in ctx.settings.accounts:
        try:
            stats += _pull_account(ctx, account, max_batches)
        except AuthError as exc:
            stats.failed += 1
            stats.notes.append(f"{account.name}: {exc.operator_message}")
            log.error("pull stopped for account", extra={"account": account.name, "reason": exc.operator_message})
        except LocalStorageError as exc:
            # The batch's transaction is rolled back and the watermark stays: nothing is skipped.
            stats.notes.append(exc.operator_message)
            log.error("pull stopped: local storage", extra={"reason": exc.operator_message})
            break
    return stats


def _pull_account(ctx: PipelineContext, account: AccountSettings, max_batches: int | None) -> JobStats:
    stats = JobStats()
    client = ctx.pos(account.name)
    with _account_lock(ctx, account.name) as watermark_row:
        if watermark_row is None:
            log.info("account is being pulled by another worker", extra={"account": account.name})
            return stats
        stats += _refetch_pending(ctx, account, client)
        budget = batch_budget(max_batches)
        batch: list[WireListItem] = []
        for item in client.list_changes(watermark_row.updated_since):
            batch.append(item)
            if len(batch) >= ctx.settings.daemon.batch_size:
                stats += _ingest(ctx, account, client, batch)
                batch = []
                if next(budget, None) is None:
                    return stats  # the rest waits for the next run; the watermark is committed
        if batch:
            stats += _ingest(ctx, account, client, batch)
    return stats


@contextmanager
def _account_lock(ctx: PipelineContext, account: str) -> Iterator[PullWatermark | None]:
    """Yield the account's watermark row, or None when another worker is pulling it.

    On PostgreSQL a session-level advisory lock (released by the server if we die) keeps
    two daemons from pulling one account at once; SQLite has one daemon, guarded by a lockfile.
    """
    _ensure_watermark_row(ctx, account)
    with ctx.store.session() as session:
        row = session.get(PullWatermark, account)
        session.commit()
    with exclusive(ctx.store, f"pull:{account}") as mine:
        yield row if mine else None


def _ensure_watermark_row(ctx: PipelineContext, account: str) -> None:
    with ctx.store.session() as session:
        if session.get(PullWatermark, account) is None:
            session.add(PullWatermark(account=account, updated_since=None))
            try:
                session.commit()
            except DbIntegrityError:
                session.rollback()


def _refetch_pending(ctx: PipelineContext, account: AccountSettings, client: PosClient) -> JobStats:
    stats = JobStats()
    ids = claim(ctx.store.sessions, Message,
                [Message.account == account.name, Message.state == MessageState.FETCHING],
                worker=ctx.worker, lease_seconds=ctx.settings.daemon.lease_seconds,
                limit=10_000, now=ctx.clock())
    for message_id in ids:
        with ctx.store.sessions.begin() as session:
            message = session.get(Message, message_id)
            assert message is not None
            _fetch_into(ctx, session, client, message, stats)
    return stats


def _ingest(ctx: PipelineContext, account: AccountSettings, client: PosClient,
            items: Iterable[WireListItem]) -> JobStats:
    stats = JobStats()
    newest: datetime | None = None
    with ctx.store.sessions.begin() as session:
        for item in items:
            newest = item.updated_at if newest is None or item.updated_at > newest else newest
            message = session.scalar(select(Message).where(Message.account == account.name,
                                                           Message.pos_id == item.id))
            if message is not None and message.pos_updated_at is not None \
                    and message.pos_updated_at >= item.updated_at:
                continue  # seen already (a repeated page item, or the inclusive watermark)
            if message is None:
                message = Message(account=account.name, pos_id=item.id, state=MessageState.FETCHING,
                                  attempts=0)
                session.add(message)
                session.flush()
            _fetch_into(ctx, session, client, message, stats)
        if newest is not None:
            mark = session.get(PullWatermark, account.name)
            assert mark is not None
            if mark.updated_since is None or newest > mark.updated_since:
                mark.updated_since = newest
    return stats


def _fetch_into(ctx: PipelineContext, session: Session, client: PosClient, message: Message,
                stats: JobStats) -> None:
    """Fetch the full appeal and its attachments into ``message``; on failure count an attempt."""
    try:
        appeal = client.get_appeal(message.pos_id)
        with pii_scope(appeal.applicant.model_dump().values()):
            _store_attachments(ctx, session, client, message, appeal)
    except (AuthError, LocalStorageError):
        raise
    except ConnectorError as exc:
        if message.state == MessageState.FETCHING or message.payload is None:
            record_item_error(session, ctx, message, exc, job=JOB, stats=stats)
        else:
            stats.skipped += 1  # known message whose update failed: its next change retries it
        return
    payload = appeal.model_dump(mode="json", by_alias=True)
    new_hash = payload_hash(payload)
    changed = new_hash != message.payload_hash
    message.payload = payload
    message.payload_hash = new_hash
    message.pos_status = appeal.status.value
    message.pos_updated_at = appeal.updated_at
    if message.state == MessageState.FETCHING:
        message.state = MessageState.STORED
        message.attempts = 0
        message.next_attempt_at = None
        message.last_error = None
    close_if_final(message)
    if message.claimed_by == ctx.worker:
        # Only our own lease (a re-fetch). Another worker busy with this message keeps its lease:
        # skipping the change instead would let the watermark pass it and lose it for good.
        release(message)
    if changed:
        stats.processed += 1


def _store_attachments(ctx: PipelineContext, session: Session, client: PosClient, message: Message,
                       appeal: WireAppeal) -> None:
    known = {a.pos_file_id: a for a in message.attachments}
    dest = ctx.data_dir / "attachments" / _safe_dir(message.account) / _safe_dir(message.pos_id)
    for wire in appeal.attachments:
        existing = known.get(wire.id)
        if existing is not None and existing.size == wire.size and Path(existing.path).exists():
            continue
        ref = PosAttachmentRef(id=wire.id, name=wire.name, size=wire.size, mime_type=wire.mime_type)
        stored = client.download_attachment(message.pos_id, ref, dest)
        if existing is None:
            session.add(Attachment(message_id=message.id, pos_file_id=wire.id, name=stored.name,
                                   size=stored.size, sha256=stored.sha256, mime_type=stored.mime_type,
                                   path=str(stored.path)))
        else:
            existing.size, existing.sha256, existing.path = stored.size, stored.sha256, str(stored.path)


def _safe_dir(value: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in value)
    return cleaned.strip(".") or "_"
