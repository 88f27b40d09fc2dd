"""One showcase pass: refresh the items of every source, then upload the pending ones.

The job ``showcase`` runs it on its interval; ``connector showcase upload [--since DATE]
[--dry-run]`` runs it once for a back-fill (``--since``: appeals received from that date, older
than ``[showcase] since`` included; ``--dry-run``: count what would go, send and store nothing).
A pass first lists the EDMS's appeals of every channel (:func:`connector.pipeline.edms_appeals.sync`,
its window, or from ``--since``), so the showcase does not depend on the sstu job being enabled; a dry
run lists nothing and counts what is stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from connector.errors import DataError
from connector.pipeline import edms_appeals
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats
from connector.rubric_mapping.service import current_lookup
from connector.showcase.categories import rubric_categories
from connector.showcase.records import ShowcaseRecord
from connector.showcase.refresh import RefreshStats, refresh
from connector.showcase.sources import SourceScope
from connector.showcase.upload import upload_pending
from connector.store.locks import exclusive


class UploadReport(BaseModel):
    since: date | None
    dry_run: bool
    looked_at: int
    new: int
    changed: int
    unchanged: int
    invalid: int
    to_upload: int
    uploaded: int = 0
    rejected: int = 0
    left_to_retry: int = 0
    notes: list[str] = []

    @property
    def ok(self) -> bool:
        return not self.notes and not self.rejected and not self.left_to_retry


def scope_for(ctx: PipelineContext, since: date | None = None) -> SourceScope:
    settings = ctx.settings
    zone = settings.sstu.zone
    try:
        rubric_category = rubric_categories(current_lookup(ctx.store))
    except DataError:
        rubric_category = None  # no categories or mapping yet: only appeals with a POS category are shown
    return SourceScope(settings=settings.showcase, zone=zone, today=ctx.clock().astimezone(zone).date(),
                       since=since if since is not None else settings.showcase.since,
                       rubric_category=rubric_category)


def run_pass(ctx: PipelineContext, *, since: date | None = None, dry_run: bool = False,
             max_batches: int | None = None) -> tuple[UploadReport, JobStats]:
    scope = scope_for(ctx, since)
    notes: list[str] = []
    with exclusive(ctx.store, "showcase:refresh") as mine:
        # another worker refreshing now would insert the same records; its items go up all the same
        if mine and not dry_run:
            # the EDMS's appeals of every channel, whether or not the sstu job runs (it lists them too)
            notes = edms_appeals.sync(ctx, since=since).problems
        refreshed = refresh(ctx.store, scope, clock=ctx.clock, write=not dry_run) if mine or dry_run \
            else RefreshStats()
    sent = JobStats()
    if not dry_run:
        only: list[Any] = []
        if scope.since is not None:
            only.append(ShowcaseRecord.received >= scope.since)
        sent = upload_pending(ctx, max_batches=max_batches, only=only)
    stats = JobStats(failed=0 if dry_run else refreshed.invalid)
    stats += sent
    stats.notes += notes
    report = UploadReport(since=scope.since, dry_run=dry_run, looked_at=refreshed.looked_at, new=refreshed.new,
                          changed=refreshed.changed, unchanged=refreshed.unchanged, invalid=refreshed.invalid,
                          to_upload=refreshed.pending, uploaded=sent.processed, rejected=sent.failed,
                          left_to_retry=sent.skipped, notes=[*notes, *sent.notes, *sent.retry_reasons])
    return report, stats
