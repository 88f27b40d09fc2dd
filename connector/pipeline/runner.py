"""Run jobs by name, record each run, and build the context they share."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from connector.config import Settings
from connector.discipline import weekly
from connector.errors import LocalStorageError
from connector.i18n import N_
from connector.notices import job as notices_job
from connector.pipeline import pull, push, register, showcase, sstu, sweep, track
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats
from connector.store import job_history
from connector.store.db import Store, default_worker_id
from connector.store.leased import LEASED_MODELS
from connector.store.leases import release_all
from connector.store.models import JobRun

log = logging.getLogger(__name__)

JOBS: dict[str, Callable[[PipelineContext, int | None], JobStats]] = {
    "pull": pull.run,
    "register": register.run,
    "track": track.run,
    "push": push.run,
    "sstu": sstu.run,
    "sweep": sweep.run,
    "showcase": showcase.run,
    "weekly_report": weekly.run,
    "notices": notices_job.run,
}
JOB_ORDER = ("pull", "register", "track", "push")  # the interval jobs; "sstu" runs daily at a set time


def jobs_for(settings: Settings) -> tuple[str, ...]:
    """Every job this configuration runs, in pipeline order."""
    jobs = (*JOB_ORDER, "sstu") if settings.sstu.enabled else JOB_ORDER
    jobs = (*jobs, "showcase") if settings.showcase.enabled else jobs
    return (*jobs, "notices") if settings.notices.enabled else jobs


def build_context(settings: Settings, *, create: bool = True, **overrides: Any) -> PipelineContext:
    """``create=False`` (read-only verbs): a missing store is an error naming where it was looked for."""
    if create:
        ensure_data_dir(settings.daemon.data_dir)
    store = Store(settings.daemon.resolved_database_url(), create=create)
    worker = settings.daemon.worker_id or default_worker_id()
    ctx = PipelineContext(settings=settings, store=store, worker=worker, **overrides)
    if store.is_sqlite:
        # One daemon per SQLite database (the lockfile guards it): leases left by a killed
        # predecessor are free at once instead of after lease_seconds.
        freed = release_all(store.sessions, LEASED_MODELS)
        if freed:
            log.info("released leases of a previous run", extra={"count": freed})
    return ctx


def ensure_data_dir(path: Path) -> None:
    """The data directory exists and is ours to write, or one line says which path and why."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise LocalStorageError(N_("cannot use the data directory {path}: {reason} "
                                   "(daemon.data_dir; the service user must own it)"),
                                params={"path": path, "reason": exc.strerror or exc}) from None


def run_job(ctx: PipelineContext, name: str, max_batches: int | None = None) -> JobStats:
    """Run one job and record it in ``job_runs``; an unexpected exception is a bug and
    is recorded as such, never swallowed silently.  ``max_batches`` bounds the work of one
    run (the daemon's ticks); None drains the queue (``--once``, the demo)."""
    job = JOBS[name]
    stats = JobStats()
    try:
        with ctx.store.sessions.begin() as session:
            run = JobRun(job=name, worker=ctx.worker, started_at=ctx.clock())
            session.add(run)
            session.flush()
            run_id = run.id
    except (OperationalError, InterfaceError) as exc:
        stats.notes.append(_database_down(name, exc))
        return stats
    error: str | None = None
    try:
        stats = job(ctx, max_batches)
    except (OperationalError, InterfaceError) as exc:
        # The database went away mid-run (restart, failover, network): every step (an item, or a
        # job's batch) commits its own transaction, so what was done is kept and the rest is redone
        # by the next run; the remote calls it redoes are idempotent.
        error = _database_down(name, exc)
    except Exception as exc:  # noqa: BLE001 - the outermost runner: anything here is a bug
        error = f"internal error ({type(exc).__name__}); see the log"
        log.exception("job crashed (bug)", extra={"job": name})
    if stats.retry_reasons:
        stats.notes.append(f"{stats.skipped} item(s) left to retry: {'; '.join(stats.retry_reasons)}")
    try:
        with ctx.store.sessions.begin() as session:
            finished = session.get(JobRun, run_id)
            assert finished is not None
            finished.finished_at = ctx.clock()
            finished.processed, finished.failed = stats.processed, stats.failed
            finished.ok = error is None and not stats.notes
            finished.error = error or ("; ".join(stats.notes) if stats.notes else None)
            job_history.prune(session, name, finished.finished_at, ctx.settings.daemon.job_history_days)
    except (OperationalError, InterfaceError) as exc:
        error = error or _database_down(name, exc)
    counts = {"job": name, "processed": stats.processed, "failed": stats.failed, "deferred": stats.skipped}
    if error is not None:
        stats.notes.append(error)
    if stats.notes:
        log.warning("job failed", extra={**counts, "reason": "; ".join(stats.notes)})
    else:
        log.info("job finished", extra=counts)
    return stats


def _database_down(job: str, exc: DBAPIError) -> str:
    reason = f"database unavailable ({type(exc.orig).__name__ if exc.orig else type(exc).__name__}); " \
             "the next run resumes"
    log.error("job interrupted: database unavailable", extra={"job": job, "reason": reason})
    return reason


def run_all_once(ctx: PipelineContext) -> dict[str, JobStats]:
    """One pass of every job; the sweep too when it is due (as the daemon does at start), so a
    ``--once`` from a timer sweeps once a day instead of on every pass."""
    results = {name: run_job(ctx, name) for name in jobs_for(ctx.settings)}
    if sweep.due(ctx):
        results["sweep"] = run_job(ctx, "sweep")
    return results
