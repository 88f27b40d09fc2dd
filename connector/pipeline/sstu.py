"""Job ``sstu``: list the EDMS's appeals of every channel, refresh the SSTU appeals, send the changed
ones, write the month's archive.

Runs once a day (``[sstu] send_time``).  Sending is idempotent by design: ССТУ keys an appeal
by body and number, so a crash after the portal accepted and before our commit costs one
identical re-send that replaces the same appeal.  An appeal whose hash did not change since
ССТУ accepted it is never sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session

from connector.errors import ConnectorError, DataError
from connector.i18n import _
from connector.pipeline import edms_appeals
from connector.pipeline.batches import Step, drain
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats, record_item_error
from connector.sstu_export.builder import BuiltAppeal
from connector.sstu_export.client import Receipt, SstuClient
from connector.sstu_export.records import SendState, SstuAppealRecord, SstuArchiveRecord
from connector.sstu_export.refresh import BuildConfig, build_config, rebuild, refresh
from connector.sstu_export.service import MONTHLY, export_archive, period_of
from connector.store.leases import release
from connector.store.locks import exclusive
from connector.store.models import Failure

log = logging.getLogger(__name__)

JOB = "sstu"
SEND_JOB = "sstu.send"
MAX_RECEIPT = 4000


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    stats = JobStats()
    sstu = ctx.settings.sstu
    if not sstu.enabled:
        return stats
    # appeals of every channel first (targets whose adapter lists them): today's state is what is reported
    stats.notes += edms_appeals.sync(ctx).problems
    try:
        config = build_config(ctx.settings, ctx.store)
    except DataError as exc:
        stats.notes.append(exc.shown)
        return stats
    refreshed = refresh(ctx.store, config, clock=ctx.clock)
    stats.failed += refreshed.invalid
    if sstu.base_url:
        stats += send_pending(ctx, config, max_batches)
    if sstu.archive_dir is not None:
        try:
            with exclusive(ctx.store, "sstu:monthly-archive") as mine:
                if mine:  # another worker writes it otherwise
                    _monthly_archive(ctx, config)
        except (DataError, OSError) as exc:
            reason = exc.shown if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
            stats.notes.append(_("monthly SSTU archive not written: {reason}").format(reason=reason))
    return stats


@dataclass(frozen=True)
class _Send:
    id: int
    row: SstuAppealRecord
    built: BuiltAppeal
    group: str = "ССТУ"


def send_pending(ctx: PipelineContext, config: BuildConfig, max_batches: int | None = None) -> JobStats:
    client = SstuClient(ctx.settings.sstu.base_url, ctx.new_session("ССТУ"))

    def load(session: Session, ids: Sequence[int], stats: JobStats) -> list[_Send]:
        return _load(session, config, ids, stats)

    def save(session: Session, work: _Send, receipt: Receipt, stats: JobStats) -> None:
        _accepted(ctx, session, work, receipt, stats)

    def fail(session: Session, work: _Send, exc: ConnectorError, stats: JobStats) -> None:
        record_item_error(session, ctx, work.row, exc, job=SEND_JOB, stats=stats)
        log.warning("SSTU send failed", extra={"sstu_id": work.id, "reason": exc.operator_message})

    step = Step(load=load, call=lambda work: client.import_appeal(work.built.content), save=save, fail=fail)
    try:
        return drain(ctx, SstuAppealRecord, step, job=JOB, max_batches=max_batches,
                     conditions=lambda stopped: [SstuAppealRecord.send_state == SendState.PENDING,
                                                 false() if stopped else true()])
    finally:
        client.session.close()


def _load(session: Session, config: BuildConfig, ids: Sequence[int], stats: JobStats) -> list[_Send]:
    """Each claimed record's current bytes; one with nothing to send is released here."""
    works = []
    for record in session.scalars(select(SstuAppealRecord).where(SstuAppealRecord.id.in_(ids))
                                  .order_by(SstuAppealRecord.id)):
        built = rebuild(session, config, record)
        if built is None or record.send_state != SendState.PENDING:
            release(record)
            if record.send_state == SendState.INVALID:
                stats.failed += 1
            continue
        works.append(_Send(id=record.id, row=record, built=built))
    return works


def _accepted(ctx: PipelineContext, session: Session, work: _Send, receipt: Receipt, stats: JobStats) -> None:
    record, built = work.row, work.built
    record.sent_hash = built.content_hash
    record.sent_statuses = list(built.statuses)
    record.sent_at = ctx.clock()
    record.sends += 1
    record.receipt = {"status": receipt.status, "body": receipt.body[:MAX_RECEIPT],
                      "content_type": receipt.content_type, "received_at": receipt.received_at.isoformat()}
    record.send_state = SendState.PENDING if record.content_hash != built.content_hash else SendState.IDLE
    record.attempts, record.next_attempt_at, record.last_error = 0, None, None
    release(record)
    for failure in session.scalars(select(Failure).where(
            Failure.item_kind == "sstu", Failure.item_id == record.id, Failure.job == SEND_JOB,
            Failure.resolved_at.is_(None))):
        failure.resolved_at = ctx.clock()
    stats.processed += 1
    log.info("SSTU appeal accepted", extra={"number": record.number, "statuses": ",".join(built.statuses)})


def previous_period(today: date) -> str:
    return period_of(today.replace(day=1) - timedelta(days=1))


def _monthly_archive(ctx: PipelineContext, config: BuildConfig) -> None:
    """The previous month's archive, once, from the 1st (due by ``archive_by_day``)."""
    sstu = ctx.settings.sstu
    assert sstu.archive_dir is not None
    today = ctx.clock().astimezone(sstu.zone).date()
    period = previous_period(today)
    with ctx.store.session() as session:
        done = session.scalar(select(SstuArchiveRecord.id).where(
            SstuArchiveRecord.kind == MONTHLY, SstuArchiveRecord.period == period).limit(1))
    if done is not None:
        return
    result = export_archive(ctx.store, config, sstu.archive_dir / period, period, kind=MONTHLY, through=True,
                            clock=ctx.clock)
    if today.day > sstu.archive_by_day:
        log.warning("monthly SSTU archive written late", extra={"period": period, "due_day": sstu.archive_by_day})
    log.info("monthly SSTU archive written", extra={"period": period, "appeals": result.appeals,
                                                    "parts": len(result.parts)})
