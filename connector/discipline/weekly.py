"""Job ``weekly_report``: the last full week's discipline report, e-mailed to ``[reports] recipients``.

Scheduled by the daemon on ``[reports] weekly_day`` at ``weekly_time`` (body's zone); also run by
``connector report weekly --send``.  Once per week: a run that finds a successful send of this
week already recorded (``job_runs``: ok with one item processed since the week ended) does
nothing, and with several workers on PostgreSQL only the holder of an advisory lock sends.  A
crash between the SMTP hand-over and the record may send the week again (at least once).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

from sqlalchemy import select

from connector.discipline import service
from connector.discipline.facts import day_bounds
from connector.discipline.mail import weekly_message
from connector.ops.alerts import send_email
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats
from connector.store.locks import exclusive
from connector.store.models import JobRun

log = logging.getLogger(__name__)

JOB = "weekly_report"


def already_sent(ctx: PipelineContext, since: datetime) -> bool:
    with ctx.store.session() as session:
        return session.scalar(select(JobRun.id).where(
            JobRun.job == JOB, JobRun.ok.is_(True), JobRun.processed >= 1, JobRun.started_at >= since)
            .limit(1)) is not None


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    stats = JobStats()
    settings = ctx.settings
    zone, now = settings.sstu.zone, ctx.clock()
    first, last = service.last_full_week(now, zone)
    if not (settings.reports.enabled and settings.alerts.email_enabled):
        stats.notes.append("weekly report: [reports] recipients and [alerts] smtp_host/mail_from are required")
        return stats
    with exclusive(ctx.store, JOB) as mine:
        if not mine or already_sent(ctx, day_bounds(last, last, zone)[1]):
            return stats
        report = service.build(ctx.store, first=first, last=last, zone=zone, now=now)
        out_dir = settings.daemon.data_dir / settings.reports.out_dir
        workbook = service.write(report, None, out_dir)
        msg = weekly_message(report, workbook, subject=settings.reports.subject,
                             mail_from=settings.alerts.mail_from, recipients=settings.reports.recipients)
        try:
            send_email(settings.alerts, msg)
        except (smtplib.SMTPException, OSError) as exc:
            stats.left_to_retry(f"weekly report e-mail failed ({type(exc).__name__})")
            return stats
        log.info("weekly report sent", extra={"first": first.isoformat(), "recipients":
                                              len(settings.reports.recipients)})
        stats.processed = 1
    return stats
