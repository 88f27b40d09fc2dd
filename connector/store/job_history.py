"""``job_runs``: the runs of each job, read per job name so every query costs O(jobs), not O(history).

``status``, ``/healthz``, ``/metrics`` and the alerter (every minute) ask for the last run and the last
success of each job; with one index per question they read one index entry per job however long the
history is, and the runner prunes what is older than ``[daemon] job_history_days`` as it records.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.store.models import JobRun

# The jobs that record runs; the runner's table of jobs has exactly these (a test holds them equal).
JOB_NAMES = ("pull", "register", "track", "push", "sstu", "sweep", "showcase", "weekly_report", "notices")


def latest_run(session: Session, job: str) -> JobRun | None:
    return session.scalars(select(JobRun).where(JobRun.job == job)
                           .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).first()


def latest_runs(session: Session) -> dict[str, JobRun]:
    runs = {job: latest_run(session, job) for job in JOB_NAMES}
    return {job: run for job, run in runs.items() if run is not None}


def last_success(session: Session, job: str) -> datetime | None:
    return session.scalar(select(JobRun.finished_at)
                          .where(JobRun.job == job, JobRun.ok.is_(True), JobRun.finished_at.is_not(None))
                          .order_by(JobRun.finished_at.desc()).limit(1))


def last_successes(session: Session) -> dict[str, datetime]:
    found = {job: last_success(session, job) for job in JOB_NAMES}
    return {job: when for job, when in found.items() if when is not None}


def prune(session: Session, job: str, now: datetime, keep_days: int) -> int:
    """Forget ``job``'s runs that started more than ``keep_days`` ago; returns how many."""
    result = session.execute(delete(JobRun).where(JobRun.job == job,
                                                  JobRun.started_at < now - timedelta(days=keep_days)))
    return int(getattr(result, "rowcount", 0) or 0)
