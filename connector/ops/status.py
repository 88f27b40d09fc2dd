"""``connector status``: counts per lifecycle state, outbox depth, oldest pending, last runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select

from connector.sstu_export.records import SstuAppealRecord
from connector.store.db import Store
from connector.store.models import Failure, JobRun, Message, OutboxItem, OutboxState, utcnow


class JobRunSummary(BaseModel):
    job: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None
    processed: int
    failed: int
    error: str | None


class StatusReport(BaseModel):
    messages_by_state: dict[str, int]
    outbox_by_state: dict[str, int]
    outbox_depth: int
    sstu_by_send_state: dict[str, int] = {}
    oldest_pending_seconds: float | None
    open_failures: int
    last_runs: dict[str, JobRunSummary]


def status_report(store: Store) -> StatusReport:
    with store.session() as session:
        by_state = dict(session.execute(select(Message.state, func.count()).group_by(Message.state)).all())
        outbox = dict(session.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state)).all())
        oldest = session.scalar(select(func.min(OutboxItem.created_at)).where(OutboxItem.state == OutboxState.PENDING))
        sstu = dict(session.execute(select(SstuAppealRecord.send_state, func.count())
                                    .group_by(SstuAppealRecord.send_state)).all())
        failures = session.scalar(select(func.count()).select_from(Failure).where(Failure.resolved_at.is_(None)))
        last_runs: dict[str, Any] = {}
        latest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
        for run in session.scalars(select(JobRun).join(latest, JobRun.id == latest.c.id)):
            last_runs[run.job] = JobRunSummary.model_validate(run, from_attributes=True)
    oldest_age = None
    if oldest is not None:
        oldest_age = (utcnow() - oldest).total_seconds()
    return StatusReport(messages_by_state=by_state, outbox_by_state=outbox,
                        outbox_depth=outbox.get(OutboxState.PENDING, 0), oldest_pending_seconds=oldest_age,
                        sstu_by_send_state=sstu,
                        open_failures=failures or 0, last_runs=last_runs)
