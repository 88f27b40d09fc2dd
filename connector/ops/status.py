"""``connector status``: counts per lifecycle state, outbox depth, oldest pending, last runs, and the
messages held back with a reason (an answer without its file)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select

from connector.i18n import _
from connector.store import job_history
from connector.store.db import Store
from connector.store.read_tables import failures, messages, outbox, showcase_items, sstu_appeals
from connector.store.states import OPEN_CARD_STATES, OutboxState, utcnow

WAITING_SHOWN = 20  # the oldest few by name; the count per reason covers the rest


class JobRunSummary(BaseModel):
    job: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None
    processed: int
    failed: int
    error: str | None

    @property
    def verdict(self) -> str:
        if self.finished_at is None:
            # no end recorded: it runs now, or its daemon was killed mid-run
            return _("running (no end recorded yet)")
        return _("ok") if self.ok else _("FAILED: {problem}").format(problem=self.error or _("no reason recorded"))


class WaitingMessage(BaseModel):
    """A message whose card is open but whose next step is held back (e.g. «ответ без файла»)."""

    account: str
    pos_id: str
    reason: str
    until: datetime | None  # when the wait ends and the message lands in failures


class StatusReport(BaseModel):
    config_file: str = ""
    database: str = ""
    messages_by_state: dict[str, int]
    outbox_by_state: dict[str, int]
    outbox_depth: int
    sstu_by_send_state: dict[str, int] = {}
    showcase_by_send_state: dict[str, int] = {}
    oldest_pending_seconds: float | None
    open_failures: int
    last_runs: dict[str, JobRunSummary]
    waiting_by_reason: dict[str, int] = {}
    waiting: list[WaitingMessage] = []


def status_report(store: Store, *, config_file: str = "", zone: tzinfo = UTC) -> StatusReport:
    """``zone``: times are shown in it, with their offset (the body's zone, as the product's dates)."""
    # Core reads on one connection: status must not import the ORM (store/read_tables.py)
    with store.engine.connect() as conn:
        by_state: dict[str, int] = dict(conn.execute(
            select(messages.c.state, func.count()).group_by(messages.c.state)).all())
        outbox_states: dict[str, int] = dict(conn.execute(
            select(outbox.c.state, func.count()).group_by(outbox.c.state)).all())
        oldest = conn.execute(select(func.min(outbox.c.created_at))
                              .where(outbox.c.state == OutboxState.PENDING)).scalar()
        sstu: dict[str, int] = dict(conn.execute(
            select(sstu_appeals.c.send_state, func.count()).group_by(sstu_appeals.c.send_state)).all())
        showcase: dict[str, int] = dict(conn.execute(
            select(showcase_items.c.send_state, func.count()).group_by(showcase_items.c.send_state)).all())
        held = (messages.c.state.in_(OPEN_CARD_STATES), messages.c.last_error.is_not(None))
        waiting_by_reason: dict[str, int] = dict(conn.execute(
            select(messages.c.last_error, func.count()).where(*held).group_by(messages.c.last_error)).all())
        waiting = [WaitingMessage(account=m.account, pos_id=m.pos_id, reason=m.last_error or "",
                                  until=m.next_attempt_at)
                   for m in conn.execute(select(messages).where(*held)
                                         .order_by(messages.c.next_attempt_at, messages.c.id).limit(WAITING_SHOWN))]
        open_failures = conn.execute(select(func.count()).select_from(failures)
                                     .where(failures.c.resolved_at.is_(None))).scalar()
        last_runs: dict[str, Any] = {}
        for run in job_history.latest_runs(conn).values():
            summary = JobRunSummary.model_validate(run, from_attributes=True)
            summary.started_at = summary.started_at.astimezone(zone)
            if summary.finished_at is not None:
                summary.finished_at = summary.finished_at.astimezone(zone)
            last_runs[run.job] = summary
    oldest_age = None
    if oldest is not None:
        oldest_age = (utcnow() - oldest).total_seconds()
    return StatusReport(config_file=config_file, database=store.location, messages_by_state=by_state, outbox_by_state=outbox_states,
                        outbox_depth=outbox_states.get(OutboxState.PENDING, 0), oldest_pending_seconds=oldest_age,
                        sstu_by_send_state=sstu, showcase_by_send_state=showcase,
                        open_failures=open_failures or 0, last_runs=last_runs,
                        waiting_by_reason=waiting_by_reason, waiting=waiting)
