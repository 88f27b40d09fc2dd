"""``connector run``: the scheduled daemon (APScheduler), or one pass with ``--once``.

Like Flexget's scheduler: stable job ids, ``coalesce``, ``max_instances=1``, an explicit
misfire grace time, and a single worker thread so jobs never overlap inside one process.
SIGTERM/SIGINT let the running job finish, then stop.  On SQLite a lockfile next to the
database file keeps a second daemon off it, whatever data_dir each one has.  A database that
is down at start is waited for (with back-off, said once) instead of exiting, so that systemd
does not restart the service in a loop.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import IO

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from connector.config import Settings
from connector.errors import ConnectorError, DatabaseUnavailable, LocalStorageError
from connector.i18n import N_
from connector.ops import systemd
from connector.ops.alerts import Alerter
from connector.ops.health_server import HealthServer
from connector.ops.metrics import Metrics, last_successes
from connector.pipeline import sweep
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import JOB_ORDER, build_context, jobs_for, run_all_once, run_job
from connector.store.db import sqlite_path

log = logging.getLogger(__name__)


class AlreadyRunning(ConnectorError):
    """Another daemon holds the lock on this SQLite database."""


def lock_path(settings: Settings) -> Path | None:
    """``<database file>.lock`` for a SQLite store (the file's resolved path: two daemons with
    different data_dir but the same database meet on it); None for PostgreSQL, where leases
    and advisory locks let several daemons share the work."""
    database = sqlite_path(settings.daemon.resolved_database_url())
    return None if database is None else database.with_name(database.name + ".lock")


class DaemonLock:
    """An exclusive ``flock`` on the lockfile, released by the kernel on death."""

    def __init__(self, path: Path, database: Path | None = None) -> None:
        self.path = path
        self.database = database or path.with_suffix("")
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fh = self.path.open("a+")
        except OSError as exc:
            raise LocalStorageError(N_("cannot create the lock {path}: {reason} (the service user must own the "
                                       "database's directory)"),
                                    params={"path": self.path, "reason": exc.strerror or exc}) from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise AlreadyRunning(N_("another daemon already uses the database {database} (lock {lock})"),
                                 params={"database": self.database, "lock": self.path}) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _interval(settings: Settings, job: str) -> int:
    return int(getattr(settings.schedule, f"{job}_seconds"))


def run_daemon(settings: Settings, *, once: bool = False) -> int:
    """Returns the exit code: 0 when the last pass had no job error, 1 otherwise."""
    path = lock_path(settings)
    lock = DaemonLock(path, path.with_suffix("")) if path is not None else None
    if lock is not None:
        lock.acquire()
    try:
        # a SQLite file that cannot be opened does not come back by waiting; a database server does
        ctx = build_context(settings) if once or lock is not None else _context_when_database_is_up(settings)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if ctx is None:  # stopped while waiting for the database
        if lock is not None:
            lock.release()
        return 0
    try:
        if once:
            results = run_all_once(ctx)
            return 0 if all(not r.notes for r in results.values()) else 1
        _serve(ctx)
        return 0
    finally:
        ctx.close()
        ctx.store.dispose()
        if lock is not None:
            lock.release()


def _context_when_database_is_up(settings: Settings, *, first_wait: float = 1.0,
                                 max_wait: float = 60.0) -> PipelineContext | None:
    """Build the context, waiting with back-off while the database is unavailable: said once in
    the log (and in systemd's status), the watchdog kept fed; None when SIGTERM came meanwhile."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _s, _f: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        wait, said = first_wait, False
        while True:
            try:
                return build_context(settings)
            except DatabaseUnavailable as exc:
                if not said:
                    log.warning(f"{exc.operator_message}; waiting for it, retrying with back-off up to "
                                f"{max_wait:.0f}s", extra={"reason": exc.operator_message})
                    systemd.ready(f"waiting for the database: {exc.operator_message}")
                    said = True
            ping = systemd.watchdog_interval()
            deadline = time.monotonic() + wait
            while not stop.is_set() and time.monotonic() < deadline:
                systemd.watchdog_ping()
                stop.wait(min(ping or wait, max(0.0, deadline - time.monotonic())))
            if stop.is_set():
                log.info("stopped while waiting for the database")
                return None
            wait = min(wait * 2, max_wait)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _timed_job(ctx: PipelineContext, name: str, max_batches: int, metrics: Metrics) -> None:
    started = time.monotonic()
    stats = run_job(ctx, name, max_batches)
    metrics.observe_job(name, time.monotonic() - started, ok=not stats.notes, processed=stats.processed,
                        failed=stats.failed, deferred=stats.skipped)


def _sstu_overdue(ctx: PipelineContext) -> bool:
    """Run the daily job at start too when its last success is more than a day old (the daemon
    was down at send_time): "by the next working day" must hold across restarts."""
    last = last_successes(ctx.store).get("sstu")
    return last is None or (ctx.clock() - last).total_seconds() > 24 * 3600


def schedule_jobs(scheduler: BaseScheduler, ctx: PipelineContext, metrics: Metrics) -> None:
    """The pipeline jobs on their intervals, the sweep on its own, and the sstu job daily (or on
    its interval)."""
    settings = ctx.settings
    # At start the downstream jobs go first (sstu when due, push, track, register, then pull):
    # work in progress is finished before new work is taken in, so a daemon that restarts often
    # (a crash loop, frequent deploys) still moves every message forward instead of only pulling.
    start = ctx.clock()
    first = start
    for position, name in enumerate(reversed(JOB_ORDER), start=1):
        scheduler.add_job(_timed_job, "interval", args=(ctx, name, settings.daemon.batches_per_run, metrics),
                          id=f"connector.{name}", name=name, seconds=_interval(settings, name),
                          next_run_time=start + timedelta(milliseconds=position), replace_existing=True)
    sweep_at = sweep.due_at(ctx)
    if sweep_at is not None:
        # its interval after its last success, or right after pull at start when overdue;
        # the whole window in one run, like the daily sstu job
        scheduler.add_job(_timed_job, "interval", args=(ctx, "sweep", None, metrics), id="connector.sweep",
                          name="sweep", seconds=settings.schedule.sweep_seconds, replace_existing=True,
                          next_run_time=max(sweep_at, start + timedelta(milliseconds=len(JOB_ORDER) + 1)))
    if settings.showcase.enabled:  # downstream, like sstu: at start it goes first, before new work is taken in
        scheduler.add_job(_timed_job, "interval", args=(ctx, "showcase", settings.daemon.batches_per_run, metrics),
                          id="connector.showcase", name="showcase", seconds=settings.showcase.interval_seconds,
                          next_run_time=first, replace_existing=True)
    if settings.sstu.enabled and settings.schedule.sstu_seconds:
        scheduler.add_job(_timed_job, "interval", args=(ctx, "sstu", settings.daemon.batches_per_run, metrics),
                          id="connector.sstu", name="sstu", seconds=settings.schedule.sstu_seconds,
                          next_run_time=first, replace_existing=True)
    elif settings.sstu.enabled:
        sstu = settings.sstu
        scheduler.add_job(_timed_job, CronTrigger(hour=sstu.send_at.hour, minute=sstu.send_at.minute,
                                                  day_of_week="mon-fri" if sstu.working_days_only else "*",
                                                  timezone=sstu.zone),
                          args=(ctx, "sstu", None, metrics), id="connector.sstu", name="sstu",
                          replace_existing=True, misfire_grace_time=None,
                          # APScheduler: next_run_time=None would pause the job, so leave it out
                          **({"next_run_time": first} if _sstu_overdue(ctx) else {}))
    if settings.notices.enabled:
        scheduler.add_job(_timed_job, "interval", args=(ctx, "notices", settings.daemon.batches_per_run, metrics),
                          id="connector.notices", name="notices", seconds=settings.notices.interval_seconds,
                          next_run_time=start + timedelta(milliseconds=len(JOB_ORDER) + 2), replace_existing=True)


def schedule_weekly_report(scheduler: BaseScheduler, ctx: PipelineContext, metrics: Metrics) -> None:
    """``weekly_report`` looks every 15 minutes and sends once ``[reports] weekly_day`` at ``weekly_time``
    has come (see connector.discipline.weekly): a daemon down at that hour catches up at start."""
    if ctx.settings.reports.enabled:
        scheduler.add_job(_timed_job, "interval", args=(ctx, "weekly_report", None, metrics),
                          id="connector.weekly_report", name="weekly_report", seconds=900, replace_existing=True,
                          next_run_time=ctx.clock() + timedelta(seconds=5))


def _serve(ctx: PipelineContext) -> None:
    settings = ctx.settings
    started_at = ctx.clock()
    jobs = jobs_for(settings)
    metrics = Metrics(ctx.store, jobs=jobs)
    retry_handler = metrics.retry_log_handler()  # counts the transport's "retrying request" records
    logging.getLogger("connector.transport").addHandler(retry_handler)
    health: HealthServer | None = None
    if settings.monitoring.enabled:
        health = HealthServer(settings.monitoring, ctx.store, metrics, jobs, started_at=started_at,
                              clock=ctx.clock)
        health.start()
    alerter = Alerter(settings.alerts, ctx.store, data_dir=settings.daemon.data_dir, jobs=jobs,
                      stall_after_seconds=settings.monitoring.stall_after_seconds, started_at=started_at,
                      session=ctx.new_session())
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1),
                   # watchdog pings and alerts never wait behind a long job
                   "ops": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": settings.schedule.misfire_grace_seconds},
        timezone="UTC",
    )
    schedule_jobs(scheduler, ctx, metrics)
    schedule_weekly_report(scheduler, ctx, metrics)
    interval = systemd.watchdog_interval()
    if interval:
        scheduler.add_job(systemd.watchdog_ping, "interval", seconds=interval, id="connector.watchdog",
                          executor="ops", next_run_time=ctx.clock())
    if alerter.enabled:
        scheduler.add_job(lambda: alerter.check(ctx.clock()), "interval", seconds=60, id="connector.alerts",
                          executor="ops")
    scheduler.add_listener(lambda _event: systemd.ready(), EVENT_SCHEDULER_STARTED)
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("stopping after the running job", extra={"signal": signal.Signals(signum).name})
            systemd.stopping("finishing the running job")
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("daemon started", extra={"worker": ctx.worker, "jobs": ",".join(jobs),
                                      "health": health.url if health else ""})
    try:
        scheduler.start()
    finally:
        if health is not None:
            health.stop()
        alerter.close()
        logging.getLogger("connector.transport").removeHandler(retry_handler)
    log.info("daemon stopped")
