"""Job ``weekly_report``: the last full week's discipline report, e-mailed to ``[reports] recipients``.

The daemon looks every quarter of an hour; from ``[reports] weekly_day`` at ``weekly_time`` (body's
zone) on, a week not sent yet is sent -- so a daemon that was down at that hour, or an SMTP server
that refused, catches up.  ``connector report weekly --send`` sends at once.  Once per week: the send is recorded (a ``job_runs`` row
``weekly_report.sent``) before the advisory lock that guards it is released, so a later run, a
restart or another worker on the same PostgreSQL database finds it and does nothing.  A crash
between the SMTP hand-over and that record may send the week again (at least once).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select

from connector.discipline import service
from connector.discipline.facts import day_bounds
from connector.discipline.figures import week_start
from connector.discipline.mail import weekly_message
from connector.discipline.settings import WEEKDAYS, ReportSettings
from connector.i18n import N_, _
from connector.ops.mail import MailError, send_mail
from connector.ops.settings import AlertSettings
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats
from connector.store.locks import exclusive
from connector.store.models import JobRun

log = logging.getLogger(__name__)

JOB = "weekly_report"
SENT = "weekly_report.sent"


def already_sent(ctx: PipelineContext, since: datetime) -> bool:
    with ctx.store.session() as session:
        return session.scalar(select(JobRun.id).where(
            JobRun.job == SENT, JobRun.ok.is_(True), JobRun.started_at >= since)
            .limit(1)) is not None


def due_at(now: datetime, reports: ReportSettings, zone: tzinfo) -> datetime:
    """This week's moment of the weekly report (body's zone)."""
    day = week_start(now.astimezone(zone).date()) + timedelta(days=WEEKDAYS.index(reports.weekly_day))
    return datetime.combine(day, reports.send_at, tzinfo=zone)


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    """The scheduled check: send the last full week once its moment has come."""
    if ctx.settings.reports.enabled and ctx.clock() < due_at(ctx.clock(), ctx.settings.reports, ctx.settings.sstu.zone):
        return JobStats()
    return send(ctx)


NOT_CONFIGURED = N_("weekly report: [reports] recipients and [alerts] smtp_host/mail_from are required")


def configured(reports: ReportSettings, alerts: AlertSettings) -> bool:
    """Whether the weekly report has someone to go to and a way to get there."""
    return reports.enabled and alerts.email_enabled


def send(ctx: PipelineContext) -> JobStats:
    """Send the last full week's report unless it was sent already."""
    stats = JobStats()
    settings = ctx.settings
    zone, now = settings.sstu.zone, ctx.clock()
    first, last = service.last_full_week(now, zone)
    if not configured(settings.reports, settings.alerts):
        stats.notes.append(_(NOT_CONFIGURED))
        return stats
    with exclusive(ctx.store, JOB) as mine:
        if not mine or already_sent(ctx, day_bounds(last, last, zone)[1]):
            return stats
        report = service.build(ctx.store, first=first, last=last, zone=zone, now=now)
        out_dir = settings.daemon.data_dir / settings.reports.out_dir
        workbook = service.write(report, None, out_dir)
        msg = weekly_message(report, workbook, subject=settings.reports.subject,
                             mail=settings.alerts, recipients=settings.reports.recipients)
        try:
            send_mail(settings.alerts, msg)
        except MailError as exc:
            stats.left_to_retry(f"weekly report e-mail failed ({type(exc.__cause__ or exc).__name__})")
            return stats
        with ctx.store.sessions.begin() as session:
            session.add(JobRun(job=SENT, worker=ctx.worker, started_at=now, finished_at=ctx.clock(), ok=True,
                               processed=1))
        log.info("weekly report sent", extra={"first": first.isoformat(), "recipients":
                                              len(settings.reports.recipients)})
        stats.processed = 1
    return stats
