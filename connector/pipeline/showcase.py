"""Job ``showcase``: every appeal to the POS data showcase, incrementally by content hash.

Runs every ``[showcase] interval_seconds`` when ``[showcase] enabled``; the work is in
:mod:`connector.showcase` (sources, refresh, upload).
"""

from __future__ import annotations

from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats
from connector.showcase.service import run_pass

JOB = "showcase"


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    if not ctx.settings.showcase.enabled:
        return JobStats()
    _report, stats = run_pass(ctx, max_batches=max_batches)
    return stats
