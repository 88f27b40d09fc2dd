"""``job_runs``: the runs of each job, read per job name so every query costs O(jobs), not O(history).

``status``, ``/healthz``, ``/metrics`` and the alerter (every minute) ask for the last run and the last
success of each job; with one index per question they read one index entry per job however long the
history is, and the runner prunes what is older than ``[daemon] job_history_days`` as it records.
The queries go through the Core table of ``read_tables`` and take a session or a plain connection, so
``connector status`` reads them without importing the ORM.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, delete, select

from connector.store.read_tables import job_runs

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

# The jobs that record runs; the runner's table of jobs has exactly these (a test holds them equal).
JOB_NAMES = ("pull", "register", "track", "push", "sstu", "sweep", "showcase", "weekly_report", "notices")


def latest_run(db: Session | Connection, job: str) -> Row[Any] | None:
    """The run's columns by name (``.job``, ``.started_at``, ``.ok``, ``.error``…), or None."""
    return db.execute(select(job_runs).where(job_runs.c.job == job)
                      .order_by(job_runs.c.started_at.desc(), job_runs.c.id.desc()).limit(1)).first()


def latest_runs(db: Session | Connection) -> dict[str, Row[Any]]:
    runs = {job: latest_run(db, job) for job in JOB_NAMES}
    return {job: run for job, run in runs.items() if run is not None}


def last_success(db: Session | Connection, job: str) -> datetime | None:
    found: datetime | None = db.execute(
        select(job_runs.c.finished_at)
        .where(job_runs.c.job == job, job_runs.c.ok.is_(True), job_runs.c.finished_at.is_not(None))
        .order_by(job_runs.c.finished_at.desc()).limit(1)).scalar()
    return found


def last_successes(db: Session | Connection) -> dict[str, datetime]:
    found = {job: last_success(db, job) for job in JOB_NAMES}
    return {job: when for job, when in found.items() if when is not None}


def prune(db: Session | Connection, job: str, now: datetime, keep_days: int) -> int:
    """Forget ``job``'s runs that started more than ``keep_days`` ago; returns how many."""
    result = db.execute(delete(job_runs).where(job_runs.c.job == job,
                                               job_runs.c.started_at < now - timedelta(days=keep_days)))
    return int(getattr(result, "rowcount", 0) or 0)
