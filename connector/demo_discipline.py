"""The deadline-discipline part of ``connector demo``: weeks pass on the connector's clock.

After the main cycle (every message answered on time) the demo plays what coordinators live with:

* the POS simulator's applicants rate the answers (``rate_answers``: some low) and file repeat appeals
  that name the earlier number; the connector's clock moves 28 days on, the repeats are pulled,
  registered and assigned (executors in several units, some in turn) two days before their POS term:
  the ``notices`` job sends early warnings, new-message notices, and opens control tasks in the EDMS
  for the low ratings and the repeats; one repeat is redirected to another organisation;
* more messages come in (the POS simulator seeds them) and are pulled 31 days on, their terms already
  expired: "received overdue", not the receiver's fault; the repeats are answered then, late;
* a discipline report of the whole demo period is written, and the weekly report is mailed.

Every e-mail goes to a local SMTP sink (aiosmtpd on loopback) the demo starts and stops itself.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel

from connector.demo_edms import DemoEdms
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import run_job
from connector.simulators.teams import UNITS

DEMO_MAIL_FROM = "pos-connector-demo@localhost"
COORDINATORS = "coordinators@demo.localhost"
WARN_AFTER = timedelta(days=28)  # the repeats' 30-day POS term is two days away
LATE_AFTER = timedelta(days=31)  # past it


class DisciplineDemoReport(BaseModel):
    report: str                 # the discipline workbook of the demo period
    warnings_sent: int
    new_message_notices: int
    control_tasks: int
    overdue_received: int       # messages whose POS term had run out when they reached us
    overdue_own: int            # answered late (or not yet), by the fault of the hop that held them
    redirects: int              # messages redirected to another organisation
    units: int                  # units with executors in the report
    rated: int
    rated_high_share: float | None
    repeat_appeals: int
    weekly_sent: bool
    weekly_report: str          # the workbook the weekly e-mail carried
    weekly_rated: int           # ratings of that week (share ≥ 4 against the 80 % target in the workbook)
    mails: int                  # e-mails the local SMTP sink received


class DemoClock:
    """The connector's clock in the demo: the real time, moved on by ``offset``."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class MailSink:
    """An SMTP server on loopback that keeps what it receives (aiosmtpd)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._controller: Any = None

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        with self._lock:
            self.count += 1
        return "250 OK"

    def __enter__(self) -> MailSink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def settings_part(sink_port: int) -> dict[str, Any]:
    """``[alerts]`` (the sink), ``[notices]`` (one recipient per simulated unit) and ``[reports]``."""
    slug = {unit: f"unit{n}@demo.localhost" for n, unit in enumerate(UNITS, 1)}
    return {
        "alerts": {"smtp_host": "127.0.0.1", "smtp_port": sink_port, "mail_from": DEMO_MAIL_FROM,
                   "mail_to": [COORDINATORS], "smtp_timeout": 10},
        "notices": {"enabled": True, "recipients": [
            {"unit": unit, "to": [slug[unit]], "executors": list(people)} for unit, people in UNITS.items()]},
        "reports": {"recipients": [COORDINATORS]},
    }


def run_discipline(ctx: PipelineContext, http: requests.Session, pos_url: str, target: DemoEdms,
                   clock: DemoClock, sink: MailSink, messages: int,
                   step: Callable[[str], None]) -> DisciplineDemoReport:
    zone = ctx.settings.sstu.zone
    first = clock().astimezone(zone).date()
    step("POS: applicants rate the answers; some low ones come back as repeat appeals")
    _pos_act(http, pos_url, {"action": "rate_answers", "share": 0.8, "low_share": 0.4, "repeat_share": 0.8,
                             "seed": 2026})
    clock.offset = WARN_AFTER
    step("28 days on: repeat appeals pulled, registered and assigned two days before their term")
    _cycle(ctx, target, answer=False)
    _job(ctx, "notices", step, "notices: early warnings, new-message notices, control tasks for the curator")
    for pos_id in _repeat_ids(ctx)[:1]:
        step("EDMS: a repeat appeal redirected to another organisation (не по компетенции)")
        target.act({"action": "redirect", "pos_id": pos_id, "org_id": "org-elsewhere",
                    "comment": "не по компетенции"})
    step("POS: more messages, redirected to us with their terms already expired")
    http.post(f"{pos_url}/_sim/seed", json={"count": max(3, messages // 5), "seed": 2027},
              timeout=60).raise_for_status()
    clock.offset = LATE_AFTER
    step("31 days on: they arrive received overdue; the repeats are answered late")
    _cycle(ctx, target, answer=True)
    step("POS: applicants rate these answers too (the weekly report shows the week's ratings)")
    _pos_act(http, pos_url, {"action": "rate_answers", "share": 0.9, "low_share": 0.3, "repeat_share": 0.0,
                             "seed": 2027})
    run_job(ctx, "pull")
    _job(ctx, "notices", step, "notices: new-message notices, warnings at expiry, control tasks")
    return _summary(ctx, clock, sink, first, step)


def _summary(ctx: PipelineContext, clock: DemoClock, sink: MailSink, first: Any,
             step: Callable[[str], None]) -> DisciplineDemoReport:
    from connector.discipline import service
    from connector.notices.counts import notice_counts

    zone = ctx.settings.sstu.zone
    last = clock().astimezone(zone).date()
    step(f"report: discipline workbook {first} – {last}")
    built = service.build(ctx.store, first=first, last=last, zone=zone, now=clock())
    path = service.write(built, None, Path(ctx.data_dir) / ctx.settings.reports.out_dir)
    # the Monday after: the weekly report of the last full week goes out at [reports] weekly_time
    monday = last + timedelta(days=7 - last.weekday())
    clock.offset += datetime.combine(monday, time(9, 0), tzinfo=zone) - clock()
    weekly = _job(ctx, "weekly_report", step, "weekly_report: the last full week e-mailed to the coordinators")
    week_first, week_last = service.last_full_week(clock(), zone)
    week = service.build(ctx.store, first=week_first, last=week_last, zone=zone, now=clock())
    with ctx.store.session() as session:
        counts = notice_counts(session)
    t = built.total
    return DisciplineDemoReport(
        report=str(path), warnings_sent=counts.warnings_sent, new_message_notices=counts.new_message_notices,
        control_tasks=counts.control_tasks, overdue_received=t.received_overdue, overdue_own=t.overdue_own,
        redirects=t.redirects,
        units=len([r for r in built.units if r.figures.received]), rated=t.rated,
        rated_high_share=round(t.high_share, 3) if t.high_share is not None else None,
        repeat_appeals=t.repeats, weekly_sent=weekly == 1, mails=sink.count,
        weekly_report=str(path.parent / service.default_name(week)), weekly_rated=week.total.rated)


def _repeat_ids(ctx: PipelineContext) -> list[str]:
    from sqlalchemy import select

    from connector.notices.records import Rating
    from connector.store.models import Message

    with ctx.store.session() as session:
        return list(session.scalars(select(Message.pos_id).join(Rating, Rating.message_id == Message.id)
                                    .where(Rating.repeat_of != "").order_by(Message.id)))


def _cycle(ctx: PipelineContext, target: DemoEdms, *, answer: bool) -> None:
    for job in ("pull", "register"):
        run_job(ctx, job)
    target.act({"action": "auto", "assign": True, "answer": answer})
    for job in ("track", "push", "pull"):
        run_job(ctx, job)


def _job(ctx: PipelineContext, name: str, step: Callable[[str], None], label: str) -> int:
    step(label)
    return run_job(ctx, name).processed


def _pos_act(http: requests.Session, pos_url: str, payload: dict[str, Any]) -> None:
    http.post(f"{pos_url}/_sim/act", json=payload, timeout=60).raise_for_status()
