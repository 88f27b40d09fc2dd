"""Job ``sweep``: re-list a wide window and ingest what the incremental pulls missed.

The lookback and the signpost (:mod:`connector.pipeline.watermark`) cover the clock and
ordering faults we know of; the sweep is the net under them.  Once a day by default
(``[schedule] sweep_seconds``) it lists the changes of the last ``[pull] sweep_days`` with the
same walk as ``pull`` (already stored versions are skipped without a fetch) and leaves the
watermark alone.  Anything it finds below the incremental horizon (watermark − lookback: what
no later incremental listing would read again) was missed: it is counted per account
(``connector_pos_missed_by_incremental_total``), logged, and the alerter announces it.  It
should stay at zero.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from connector.pipeline.context import PipelineContext
from connector.pipeline.listing import BoundedListing, ListingRunaway
from connector.pipeline.outcomes import JobStats
from connector.pipeline.pull import account_lock, for_each_account, listing_ended, listing_failed, walk
from connector.pipeline.watermark import listing_since
from connector.pos_client.settings import AccountSettings
from connector.store import job_history

log = logging.getLogger(__name__)

JOB = "sweep"


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    # The whole window in one run, whatever the daemon's batch budget: it runs once a day.
    return for_each_account(ctx, lambda account: _sweep_account(ctx, account), job=JOB)


def due_at(ctx: PipelineContext) -> datetime | None:
    """When the next sweep is due: its interval after its last success, at once when it never
    succeeded (a daemon down at the usual time sweeps when it comes back); None when it is off."""
    every = ctx.settings.schedule.sweep_seconds
    if not every:
        return None
    with ctx.store.session() as session:
        last = job_history.last_success(session, JOB)
    return ctx.clock() if last is None else last + timedelta(seconds=every)


def due(ctx: PipelineContext) -> bool:
    at = due_at(ctx)
    return at is not None and at <= ctx.clock()


def _sweep_account(ctx: PipelineContext, account: AccountSettings) -> JobStats:
    client = ctx.pos(account.name)
    settings = ctx.settings.pull
    with account_lock(ctx, account.name) as watermark_row:
        if watermark_row is None:
            log.info("account is being pulled by another worker; sweep later", extra={"account": account.name})
            return JobStats()
        horizon = listing_since(watermark_row.updated_since, timedelta(seconds=settings.lookback_seconds))
        since = ctx.clock() - timedelta(days=settings.sweep_days)
        listing = BoundedListing(client.list_pages(since), account=account.name, settings=settings,
                                 clock=ctx.clock)
        try:
            stats = walk(ctx, account, client, listing, None, move_watermark=False, horizon=horizon)
        except ListingRunaway as exc:
            listing_failed(ctx, account.name, exc, keep_watermark=True)
            raise
        listing_ended(ctx, account.name)
    log.info("sweep finished", extra={"account": account.name, "pages": listing.pages,
                                      "processed": stats.processed})
    return stats
