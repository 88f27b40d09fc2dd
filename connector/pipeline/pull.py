"""Job ``pull``: new and changed POS messages → the store (upsert by POS id).

The listing is walked with a per-account watermark that advances only after the batch is
committed, never past the moment the listing started (:mod:`connector.pipeline.watermark`),
and starts ``[pull] lookback_seconds`` before it; an item whose stored version has the same
``updatedAt`` is skipped without a fetch.  A listing that will not end (:mod:`.listing`) stops
the run and puts the watermark back.  An item whose content cannot be fetched yet (broken
download, 5xx) is stored as ``fetching`` and re-fetched by id on the next run, so advancing the
watermark never loses it.  The sweep (:mod:`.sweep`) re-lists a wide window with the same walk.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session, selectinload

from connector.config import AccountSettings
from connector.domain import PosAttachmentRef, StoredFile
from connector.errors import AuthError, ConnectorError, LocalStorageError
from connector.logs import pii_scope
from connector.pipeline import lifecycle
from connector.pipeline.batches import call_all
from connector.pipeline.context import PipelineContext
from connector.pipeline.listing import BoundedListing, ListingRunaway
from connector.pipeline.outcomes import JobStats, batch_budget, record_item_error
from connector.pipeline.watermark import advanced, listing_since
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
    return for_each_account(ctx, lambda account: _pull_account(ctx, account, max_batches), job=JOB)


def for_each_account(ctx: PipelineContext, work: Callable[[AccountSettings], JobStats], *, job: str) -> JobStats:
    """Run ``work`` per account; what stops one account's listing is a note, not a crash."""
    stats = JobStats()
    for account in ctx.settings.accounts:
        try:
            stats += work(account)
        except AuthError as exc:
            stats.failed += 1
            stats.notes.append(f"{account.name}: {exc.shown}")
            log.error(f"{job} stopped for account", extra={"account": account.name, "reason": exc.operator_message})
        except ListingRunaway as exc:
            stats.notes.append(exc.shown)
            log.error(f"{job} stopped: the listing did not end",
                      extra={"account": account.name, "reason": exc.operator_message})
        except LocalStorageError as exc:
            # The batch's transaction is rolled back and the watermark stays: nothing is skipped.
            stats.notes.append(exc.shown)
            log.error(f"{job} stopped: local storage", extra={"reason": exc.operator_message})
            break
    return stats


def _pull_account(ctx: PipelineContext, account: AccountSettings, max_batches: int | None) -> JobStats:
    stats = JobStats()
    client = ctx.pos(account.name)
    with account_lock(ctx, account.name) as watermark_row:
        if watermark_row is None:
            log.info("account is being pulled by another worker", extra={"account": account.name})
            return stats
        stats += _refetch_pending(ctx, account, client)
        start = watermark_row.updated_since
        since = listing_since(start, timedelta(seconds=ctx.settings.pull.lookback_seconds))
        listing = BoundedListing(client.list_pages(since), account=account.name, settings=ctx.settings.pull,
                                 clock=ctx.clock)
        try:
            stats += walk(ctx, account, client, listing, max_batches, move_watermark=True)
        except ListingRunaway as exc:
            listing_failed(ctx, account.name, exc, restore=start)
            raise
        listing_ended(ctx, account.name)
    return stats


def walk(ctx: PipelineContext, account: AccountSettings, client: PosClient, listing: BoundedListing,
         max_batches: int | None, *, move_watermark: bool, horizon: datetime | None = None) -> JobStats:
    """Ingest the listing batch by batch; ``horizon``: count items below it that were new to
    us as missed by the incremental passes (the sweep)."""
    stats = JobStats()
    budget = batch_budget(max_batches)
    batch: list[WireListItem] = []
    for item in listing:
        batch.append(item)
        if len(batch) >= ctx.settings.daemon.batch_size:
            fetched = _ingest(ctx, account, client, batch, listing, move_watermark, horizon, stats)
            batch = []
            # Only batches that fetched something spend the budget: the lookback's overlap is
            # stored already, and a budget spent on it would keep the watermark where it is.
            if fetched and next(budget, None) is None:
                return stats  # the rest waits for the next run; the watermark is committed
    if batch:
        _ingest(ctx, account, client, batch, listing, move_watermark, horizon, stats)
    return stats


def listing_failed(ctx: PipelineContext, account: str, exc: ListingRunaway, *, restore: datetime | None = None,
                   keep_watermark: bool = False) -> None:
    """Record the runaway for ``status`` and the alert; the watermark goes back to ``restore``."""
    with ctx.store.sessions.begin() as session:
        mark = session.get(PullWatermark, account)
        assert mark is not None
        if not keep_watermark:
            mark.updated_since = restore
        mark.listing_error, mark.listing_error_at = exc.operator_message, ctx.clock()


def listing_ended(ctx: PipelineContext, account: str) -> None:
    with ctx.store.sessions.begin() as session:
        mark = session.get(PullWatermark, account)
        if mark is not None and mark.listing_error is not None:
            mark.listing_error, mark.listing_error_at = None, None


@contextmanager
def account_lock(ctx: PipelineContext, account: str) -> Iterator[PullWatermark | None]:
    """Yield the account's watermark row, or None when another worker is pulling it.

    On PostgreSQL a session-level advisory lock (released by the server if we die) keeps
    two daemons from pulling one account at once; SQLite has one daemon, guarded by a lockfile.
    """
    _ensure_watermark_row(ctx, account)
    with exclusive(ctx.store, f"pull:{account}") as mine:
        if not mine:
            yield None
            return
        with ctx.store.session() as session:  # read under the lock: another worker may just have moved it
            row = session.get(PullWatermark, account)
            session.commit()
        yield row


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
            [fetched] = call_all(ctx, lambda w: _fetch(ctx, client, w), [_Wanted.of(message)])
            _raise_stopping(fetched)
            _record_fetch(ctx, session, message, fetched, stats)
    return stats


@dataclass(frozen=True)
class _Wanted:
    """What a fetch needs to know of the stored message: plain values, safe on any thread."""

    account: str
    pos_id: str
    stored: dict[str, tuple[int, str]]  # POS file id → (size, path) of the attachments we hold

    @staticmethod
    def of(message: Message | None, *, account: str = "", pos_id: str = "") -> _Wanted:
        if message is None:
            return _Wanted(account, pos_id, {})
        return _Wanted(message.account, message.pos_id,
                       {a.pos_file_id: (a.size, a.path) for a in message.attachments})


@dataclass(frozen=True)
class _Fetched:
    appeal: WireAppeal
    downloaded: dict[str, StoredFile]  # POS file id → the file just stored


def _ingest(ctx: PipelineContext, account: AccountSettings, client: PosClient, items: Iterable[WireListItem],
            listing: BoundedListing, move_watermark: bool, horizon: datetime | None, stats: JobStats) -> int:
    """One batch: one query for what is stored, the fetches (concurrently, ``[daemon] concurrency``),
    then one transaction for all of it; returns how many items had to be fetched."""
    signpost = listing.signpost
    assert signpost is not None  # set with the first page, before its first item
    items = list(items)
    newest: datetime | None = None
    future = missed = 0
    with ctx.store.sessions() as session:
        known = {m.pos_id: m for m in session.scalars(
            select(Message).where(Message.account == account.name, Message.pos_id.in_({i.id for i in items}))
            .options(selectinload(Message.attachments)))}
        session.commit()  # no transaction is held while the fetches run
        wanted: dict[str, WireListItem] = {}
        for item in items:
            dated_ahead = signpost.is_future(item.updated_at)
            if not dated_ahead and (newest is None or item.updated_at > newest):
                newest = item.updated_at
            message = known.get(item.id)
            if message is not None and message.pos_updated_at == item.updated_at:
                continue  # this version is stored (the lookback's overlap)
            if item.id in wanted:
                continue  # a repeated page item: one fetch gets its current version
            wanted[item.id] = item
            if dated_ahead:
                future += 1
                log.warning("POS clock warning: an appeal is dated beyond now + the allowance; ingested, "
                            "the watermark does not follow it",
                            extra={"account": account.name, "pos_id": item.id,
                                   "updated_at": item.updated_at.isoformat(),
                                   "pos_now": signpost.reference.isoformat()})
        fetched = call_all(ctx, lambda w: _fetch(ctx, client, w),
                           [_Wanted.of(known.get(pos_id), account=account.name, pos_id=pos_id) for pos_id in wanted])
        for outcome in fetched:
            _raise_stopping(outcome)  # nothing of this batch is stored, the watermark stays
        new: list[Message] = []
        for item, outcome in zip(wanted.values(), fetched, strict=True):
            message = known.get(item.id)
            # new to us, or stored and now changed: not an item whose download is still pending
            counts_as_missed = message is None or message.payload is not None
            if message is None:
                message = Message(account=account.name, pos_id=item.id, state=MessageState.FETCHING,
                                  attempts=0, attachments=[],
                                  created_at=ctx.clock())  # received by us: the reports count from it
                if isinstance(outcome, Exception):
                    session.add(message)  # its failure names it by id
                else:
                    new.append(message)
            changed = _record_fetch(ctx, session, message, outcome, stats)
            if horizon is not None and item.updated_at < horizon and changed and counts_as_missed:
                missed += 1
                log.warning("sweep: an appeal the incremental pull missed",
                            extra={"account": account.name, "pos_id": item.id,
                                   "updated_at": item.updated_at.isoformat()})
        _insert_new(session, account.name, new)
        mark = session.get(PullWatermark, account.name)
        assert mark is not None
        if move_watermark:
            mark.updated_since = advanced(mark.updated_since, newest, signpost)
        mark.clock_warnings += future
        mark.missed_by_incremental += missed
        session.commit()
    return len(wanted)


_NEW_COLUMNS = tuple(c.key for c in Message.__table__.columns if c.key not in ("id", "updated_at"))
_ATTACHMENT_COLUMNS = tuple(c.key for c in Attachment.__table__.columns if c.key not in ("id", "message_id"))


def _insert_new(session: Session, account: str, new: list[Message]) -> None:
    """Insert new (not yet added) messages and their attachments in three statements: SQLite cannot
    return the ids of a multi-row INSERT in order, so the ORM would send one INSERT per row."""
    if not new:
        return
    session.execute(insert(Message), [{k: getattr(m, k) for k in _NEW_COLUMNS} for m in new])
    ids = dict(session.execute(select(Message.pos_id, Message.id).where(
        Message.account == account, Message.pos_id.in_([m.pos_id for m in new]))).all())
    rows = [{"message_id": ids[m.pos_id], **{k: getattr(a, k) for k in _ATTACHMENT_COLUMNS}}
            for m in new for a in m.attachments]
    if rows:
        session.execute(insert(Attachment), rows)


def _fetch(ctx: PipelineContext, client: PosClient, wanted: _Wanted) -> _Fetched:
    """The full appeal and the attachments we do not hold yet (any thread: no database)."""
    appeal = client.get_appeal(wanted.pos_id)
    downloaded: dict[str, StoredFile] = {}
    dest = ctx.data_dir / "attachments" / _safe_dir(wanted.account) / _safe_dir(wanted.pos_id)
    with pii_scope(appeal.applicant.model_dump().values()):
        for wire in appeal.attachments:
            held = wanted.stored.get(wire.id)
            if held is not None and held[0] == wire.size and Path(held[1]).exists():
                continue
            ref = PosAttachmentRef(id=wire.id, name=wire.name, size=wire.size, mime_type=wire.mime_type)
            downloaded[wire.id] = client.download_attachment(wanted.pos_id, ref, dest)
    return _Fetched(appeal, downloaded)


def _raise_stopping(outcome: _Fetched | Exception) -> None:
    """What stops the account's pull (credentials, local storage) or is a bug is raised."""
    if isinstance(outcome, AuthError | LocalStorageError) or (
            isinstance(outcome, Exception) and not isinstance(outcome, ConnectorError)):
        raise outcome


def _record_fetch(ctx: PipelineContext, session: Session, message: Message, outcome: _Fetched | Exception,
                  stats: JobStats) -> bool:
    """Store a fetched appeal into ``message``; on failure count an attempt.  True when the stored
    content changed."""
    if isinstance(outcome, Exception):
        assert isinstance(outcome, ConnectorError)
        if message.state == MessageState.FETCHING or message.payload is None:
            if message.id is None:
                session.flush()  # a failure names the message by its id
            record_item_error(session, ctx, message, outcome, job=JOB, stats=stats)
        else:
            stats.skipped += 1  # known message whose update failed: its next change retries it
        return False
    appeal = outcome.appeal
    known = {a.pos_file_id: a for a in message.attachments}
    for file_id, stored in outcome.downloaded.items():
        existing = known.get(file_id)
        if existing is None:
            message.attachments.append(Attachment(pos_file_id=file_id, name=stored.name, size=stored.size,
                                                  sha256=stored.sha256, mime_type=stored.mime_type,
                                                  path=str(stored.path)))
        else:
            existing.size, existing.sha256, existing.path = stored.size, stored.sha256, str(stored.path)
    payload = appeal.model_dump(mode="json", by_alias=True)
    new_hash = payload_hash(payload)
    changed = new_hash != message.payload_hash
    message.payload = payload
    message.payload_hash = new_hash
    message.pos_status = appeal.status.value
    message.pos_updated_at = appeal.updated_at
    lifecycle.stored(message)
    lifecycle.close_if_final(message)
    if message.claimed_by == ctx.worker:
        # Only our own lease (a re-fetch). Another worker busy with this message keeps its lease:
        # skipping the change instead would let the watermark pass it and lose it for good.
        release(message)
    if changed:
        stats.processed += 1
    return changed


def _safe_dir(value: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in value)
    return cleaned.strip(".") or "_"
