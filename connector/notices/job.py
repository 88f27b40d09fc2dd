"""Job ``notices``: plan what is due (warnings, new-message notices, digests, control tasks), then
deliver it.  Planning is idempotent by unique keys; delivery is claim → send → mark."""

from __future__ import annotations

import logging

from connector.notices import control
from connector.notices.delivery import JOB, Mailer, deliver
from connector.notices.planning import plan_digests, plan_message_notices
from connector.notices.templates import Templates
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats

log = logging.getLogger(__name__)

__all__ = ["JOB", "run"]


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    settings = ctx.settings.notices
    stats = JobStats()
    if not settings.enabled:
        return stats
    templates = Templates(settings.templates_dir)
    now = ctx.clock()
    local_now = now.astimezone(ctx.settings.sstu.zone)
    today = local_now.date()
    stats += control.run(ctx, max_batches)
    with ctx.store.sessions.begin() as session:
        planned = plan_message_notices(session, settings, today=today, now=now)
        planned += plan_digests(session, settings, today=today, local_now=local_now, now=now)
    if planned:
        log.info("notices planned", extra={"count": planned})
    stats += deliver(ctx, settings, Mailer(ctx.settings.alerts), templates, today=today, max_batches=max_batches,
                     control_extra=control.notice_values)
    return stats
