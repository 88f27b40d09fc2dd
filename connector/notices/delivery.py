"""Claim → send → mark: each planned notice goes out once, on any number of workers.

A worker claims pending rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), hands each
message to SMTP and marks the row ``sent`` in its own transaction.  What a crash costs:

* before the hand-over: nothing; the lease expires and a worker sends the notice;
* after the server accepted it but before the mark is committed (a window of one commit): the
  lease expires and the notice is sent a second time.  SMTP itself is at-least-once (a reply lost
  on the wire has the same effect), so this is the guarantee: **never lost, at most one repeat per
  crash in that window**.  The repeat carries the same ``Message-ID``
  (``<notice-…@sender's domain>``), which mail clients use to show it as one message.

Marking before sending would turn this into "at most once" -- a crash would lose the warning
instead, which is the worse failure for a deadline.  A refusal by the server is retried with
the daemon's back-off; after ``max_attempts`` the row is ``failed`` and logged.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from connector.i18n import _
from connector.logs import Redactor, active_redactor
from connector.notices.facts import NoticeFacts, facts_of, format_date
from connector.notices.planning import WARN_STATES, digest_entries
from connector.notices.records import MessageNotice, NoticeDigest, NoticeKind, NoticeState
from connector.notices.settings import NoticeSettings
from connector.notices.templates import Rendered, Templates
from connector.ops.mail import MailError, build_message, send_mail
from connector.ops.settings import AlertSettings
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats
from connector.store.leases import claim, release
from connector.store.models import Card, Failure, Message

log = logging.getLogger(__name__)

JOB = "notices"
# the failures row of a notice given up: ``connector failures retry`` finds the table by it
FAILURE_KIND: dict[type[MessageNotice] | type[NoticeDigest], str] = {MessageNotice: "notice", NoticeDigest: "digest"}


class Mailer:
    """The SMTP side of notices: the ``[alerts]`` server and sender, and a redactor for errors."""

    def __init__(self, alerts: AlertSettings, *, smtp_factory: Callable[..., smtplib.SMTP] = smtplib.SMTP,
                 redactor: Redactor | None = None) -> None:
        self.alerts = alerts
        self.smtp_factory = smtp_factory
        self.redact = redactor or active_redactor()

    def send(self, to: list[str], rendered: Rendered, message_id: str, kind: str) -> None:
        msg = build_message(self.alerts, to=to, subject=rendered.subject, text=rendered.text,
                            message_id=message_id, headers={"X-Pos-Connector-Notice": kind})
        send_mail(self.alerts, msg, smtp_factory=self.smtp_factory)

    def message_id(self, name: str) -> str:
        domain = self.alerts.mail_from.rpartition("@")[2] or "pos-connector.invalid"
        return f"<{name}@{domain}>"


def when_texts(threshold: int, due: date | None) -> tuple[str, str]:
    if threshold == 0:
        return "Срок истёк", f"Срок ответа в ПОС ({format_date(due)}) наступил, ответ не отправлен."
    days = {1: "1 день", 2: "2 дня", 3: "3 дня", 4: "4 дня"}.get(threshold, f"{threshold} дн.")
    return f"Осталось {days}", f"До срока ответа в ПОС ({format_date(due)}) осталось {days}, ответ не отправлен."


def render_message_notice(templates: Templates, notice: MessageNotice, facts: NoticeFacts,
                          extra: dict[str, str] | None = None) -> Rendered:
    values = facts.values(notice.unit)
    if notice.kind == NoticeKind.WARNING:
        threshold = int(notice.key.split(":")[1])
        values["when"], values["when_sentence"] = when_texts(threshold, notice.due or facts.due)
        return templates.render("warning", values)
    if notice.kind == NoticeKind.CONTROL:
        values.update(extra or {})
        return templates.render("control", values)
    return templates.render("new_message", values)


def render_digest(templates: Templates, settings: NoticeSettings, unit: str, day: date,
                  entries: list[NoticeFacts]) -> Rendered:
    lines = []
    for facts in entries:
        left = ((facts.due or day) - day).days
        days_left = "просрочено" if left < 0 else ("сегодня" if left == 0 else f"осталось {left} дн.")
        values = {k: v for k, v in facts.values(unit).items() if k in
                  ("number", "due", "category", "problem_address", "executor", "link")}
        lines.append(templates.render("digest_item", {**values, "days_left": days_left}).text)
    overdue = sum(1 for f in entries if f.due is not None and f.due < day)
    return templates.render("digest", {"unit": unit, "day": format_date(day), "count": str(len(entries)),
                                       "overdue": str(overdue), "horizon": str(max(settings.warn_days, default=0)),
                                       "items": "\n".join(lines)})


ControlExtra = Callable[[Session, MessageNotice], dict[str, str]]


def deliver(ctx: PipelineContext, settings: NoticeSettings, mailer: Mailer, templates: Templates, *,
            today: date, max_batches: int | None, control_extra: ControlExtra | None = None) -> JobStats:
    stats = JobStats()
    addresses = {r.unit: list(r.to) for r in settings.recipients}
    for model in (MessageNotice, NoticeDigest):
        batches = 0
        while max_batches is None or batches < max_batches:
            batches += 1
            ids = claim(ctx.store.sessions, model, [model.state == NoticeState.PENDING], worker=ctx.worker,
                        lease_seconds=settings.lease_seconds, limit=ctx.settings.daemon.batch_size,
                        now=ctx.clock())
            if not ids:
                break
            for item_id in ids:
                _deliver_one(ctx, settings, mailer, templates, model, item_id, addresses, today=today,
                             control_extra=control_extra, stats=stats)
    return stats


def _deliver_one(ctx: PipelineContext, settings: NoticeSettings, mailer: Mailer, templates: Templates,
                 model: type[MessageNotice] | type[NoticeDigest], item_id: int, addresses: dict[str, list[str]],
                 *, today: date, control_extra: ControlExtra | None, stats: JobStats) -> None:
    moot = False
    with ctx.store.session() as session:
        item: Any = session.get(model, item_id)
        if item is None or item.state != NoticeState.PENDING or item.claimed_by != ctx.worker:
            return  # sent by another worker after our lease ran out, or the unit went away
        to = addresses.get(item.unit)
        if isinstance(item, MessageNotice):
            message = session.get(Message, item.message_id)
            card = session.query(Card).filter(Card.message_id == item.message_id).one_or_none()
            assert message is not None
            moot = item.kind == NoticeKind.WARNING and message.state not in WARN_STATES
            extra = control_extra(session, item) if control_extra and item.kind == NoticeKind.CONTROL else None
            rendered = render_message_notice(templates, item, facts_of(message, card, settings), extra)
            name = f"notice-{item.kind}-{item.id}-{item.message_id}"
        else:
            rendered = render_digest(templates, settings, item.unit, item.day,
                                     digest_entries(session, settings, item.unit, today=item.day))
            name = f"digest-{item.id}-{item.day.isoformat()}"
        kind = item.kind if isinstance(item, MessageNotice) else "digest"
    if moot:  # answered (or redirected) since it was planned: the warning is moot
        _skip(ctx, item_id)
        return
    error: str | None = None
    if not to:
        error = _("unit {unit!r} is no longer in [notices] recipients").format(unit=item.unit)
    else:
        try:
            mailer.send(to, rendered, mailer.message_id(name), kind)
        except MailError as exc:
            error = mailer.redact(str(exc))
    _mark(ctx, model, item_id, error, stats)


def _skip(ctx: PipelineContext, item_id: int) -> None:
    with ctx.store.sessions.begin() as session:
        item = session.get(MessageNotice, item_id)
        assert item is not None
        release(item)
        item.state = NoticeState.SKIPPED


def _mark(ctx: PipelineContext, model: type[MessageNotice] | type[NoticeDigest], item_id: int, error: str | None,
          stats: JobStats) -> None:
    now = ctx.clock()
    with ctx.store.sessions.begin() as session:
        item: Any = session.get(model, item_id)
        assert item is not None
        release(item)
        if error is None:
            item.state, item.sent_at, item.last_error = NoticeState.SENT, now, None
            stats.processed += 1
            log.info("notice sent", extra={"notice": model.__tablename__, "id": item_id, "unit": item.unit})
            return
        item.attempts = (item.attempts or 0) + 1
        item.last_error = error
        if item.attempts >= ctx.settings.daemon.max_attempts:
            item.state = NoticeState.FAILED
            # in failures, where an operator looks for what did not go out (`connector failures retry` sends it)
            session.add(Failure(item_kind=FAILURE_KIND[model], item_id=item_id, job=JOB,
                                message_id=item.message_id if isinstance(item, MessageNotice) else None,
                                reason=error))
            stats.failed += 1
            log.error("notice could not be sent; given up", extra={"id": item_id, "reason": error})
            return
        item.next_attempt_at = now + timedelta(seconds=ctx.settings.daemon.retry_delay_seconds
                                               * 2 ** (item.attempts - 1))
        stats.skipped += 1
        stats.left_to_retry(f"notice e-mail: {error}")
        log.warning("notice e-mail failed; will try again", extra={"id": item_id, "reason": error})
