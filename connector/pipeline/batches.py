"""The loop every queue job shares: claim a batch, load it in one query, make the remote calls
(on a bounded thread pool, ``[daemon] concurrency``), and record their results in short
transactions on the job's thread; stop a whole group (an account, an EDMS target) when its
remote side refuses us as a whole.

A job is a :class:`Step`: ``load`` reads the claimed rows of a batch (set-based, on the job
thread), ``call`` does one item's remote work (any thread, never the database), ``save`` /
``fail`` record its result (job thread).  The results that have come in are recorded together,
in one transaction, once the oldest of them has waited ``RECORD_AFTER_SECONDS`` (and at the end
of the batch): a fast batch is one transaction, since a transaction per item cost more CPU than
the item's bookkeeping itself (the ORM flushed one object at a time, and each commit checked a
connection out and in), while a slow peer or a kill costs at most the calls of the last half
second, not a whole batch's.  No transaction is open while the job thread waits for a call.
When recording one item raises (a bug, a full disk), that transaction is rolled back, its items
loaded again and each recorded in its own transaction: one item's failure costs no other item
its result.  Database writes stay on one thread, so SQLite keeps its single writer; items of one
``chain`` (one message's outbox entries) are called strictly one after another, and a failed
call stops the rest of its chain.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from connector.errors import AuthError, ConnectorError, FatalAdapterError, LocalStorageError
from connector.i18n import N_, _
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats, batch_budget, record_item_error
from connector.store.leases import claim, release_ids

log = logging.getLogger(__name__)


class Work(Protocol):
    """One claimed item as loaded for its step: ``id`` of the claimed row, ``group`` that an
    AuthError/FatalAdapterError stops, ``row`` the ORM object the step's save writes to."""

    @property
    def id(self) -> int: ...

    @property
    def group(self) -> str: ...

    @property
    def row(self) -> Any: ...


W = TypeVar("W", bound=Work)
R = TypeVar("R")


@dataclass(frozen=True)
class Step(Generic[W, R]):
    load: Callable[[Session, Sequence[int], JobStats], Sequence[W]]
    call: Callable[[W], R]
    save: Callable[[Session, W, R, JobStats], None]
    fail: Callable[[Session, W, ConnectorError, JobStats], None]
    #: items with the same chain key are called in id order, one after another
    chain: Callable[[W], object] = field(default=lambda work: work.id)


@dataclass
class _Skipped:
    """Not called: its group was stopped, the run halted, or an earlier item of its chain failed."""


_SKIPPED = _Skipped()


class _Tick:
    """No outcome yet: the next call still runs; the job thread may record what it holds meanwhile."""


_TICK = _Tick()

# Outcomes are held at most this long before they are recorded (one transaction for all held): a kill
# or a crash costs the calls of the last half second, not a whole batch's, and a fast batch is still
# recorded in one transaction.
RECORD_AFTER_SECONDS = 0.5


@dataclass
class _Run:
    stopped: set[str] = field(default_factory=set)
    halted: threading.Event = field(default_factory=threading.Event)  # no more calls: local storage failed
    reported: set[str] = field(default_factory=set)
    unsaved: list[int] = field(default_factory=list)
    #: records stop here: the outcome just recorded was local storage failing. Not ``halted``:
    #: a call thread sets that at once, and the outcomes before it in the batch's order, whose
    #: calls did their work, must still be recorded
    dropping: bool = False


@dataclass(frozen=True)
class _Before:
    """What recording a batch changes outside the database, put back when its transaction is."""

    stats: JobStats
    reported: set[str]
    dropping: bool

    @staticmethod
    def of(run: _Run, stats: JobStats) -> _Before:
        return _Before(replace(stats, notes=list(stats.notes), retry_reasons=list(stats.retry_reasons)),
                       set(run.reported), run.dropping)

    def restore(self, run: _Run, stats: JobStats) -> None:
        stats.processed, stats.failed, stats.skipped = self.stats.processed, self.stats.failed, self.stats.skipped
        stats.notes[:], stats.retry_reasons[:] = self.stats.notes, self.stats.retry_reasons
        run.reported.clear()
        run.reported.update(self.reported)
        run.dropping = self.dropping


def drain(ctx: PipelineContext, model: type[Any], step: Step[Any, Any], *, job: str, max_batches: int | None,
          conditions: Callable[[set[str]], Sequence[ColumnElement[bool]]]) -> JobStats:
    """``conditions(stopped_groups)`` selects claimable items of ``model``."""
    stats = JobStats()
    run = _Run()
    workers = ctx.settings.daemon.concurrency
    # a pool even for one worker: the job thread then records what has come in while a slow call runs
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=job)
    try:
        for _ in batch_budget(max_batches):
            ids = claim(ctx.store.sessions, model, conditions(run.stopped), worker=ctx.worker,
                        lease_seconds=ctx.settings.daemon.lease_seconds, limit=ctx.settings.daemon.batch_size,
                        now=ctx.clock())
            if not ids:
                break
            try:
                _batch(ctx, step, ids, run, stats, job=job, pool=pool)
            finally:
                release_ids(ctx.store.sessions, model, run.unsaved, ctx.worker)
                run.unsaved = []
            if run.halted.is_set():
                break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return stats


def _batch(ctx: PipelineContext, step: Step[Any, Any], ids: list[int], run: _Run, stats: JobStats, *, job: str,
           pool: ThreadPoolExecutor) -> None:
    run.unsaved = list(ids)  # released if loading fails
    with ctx.store.sessions() as session:
        works = list(step.load(session, ids, stats))
        session.commit()  # ends the read (on SQLite: frees the write lock BEGIN IMMEDIATE took)
        run.unsaved = [w.id for w in works]  # load finished (and released) the others itself
        outcomes = _called(step, works, run, pool)
        held: list[tuple[Work, object]] = []
        since = 0.0
        try:
            for event in outcomes:
                if not isinstance(event, _Tick):
                    if not held:
                        since = time.monotonic()
                    held.append(event)
                if held and time.monotonic() - since >= RECORD_AFTER_SECONDS:
                    _record_held(ctx, session, step, held, run, stats, job=job)
                    held = []
            if held:
                _record_held(ctx, session, step, held, run, stats, job=job)
        finally:
            outcomes.close()


def _record_held(ctx: PipelineContext, session: Session, step: Step[Any, Any], held: list[tuple[Work, object]],
                 run: _Run, stats: JobStats, *, job: str) -> None:
    """The held outcomes in one transaction; when one record raises, each on its own."""
    before = _Before.of(run, stats)
    try:
        written = [work.id for work, outcome in held
                   if _record(ctx, session, step, work, outcome, run, stats, job=job, alone=False)]
        session.commit()
    except (OperationalError, InterfaceError):
        session.rollback()
        raise
    except Exception:  # noqa: BLE001 - one item's record failed: each item on its own, below
        session.rollback()
        before.restore(run, stats)
        # loaded again: a save may have changed its work's in-memory state before it raised
        fresh = {w.id: w for w in step.load(session, [w.id for w, _ in held], JobStats())}
        session.commit()
        for work, outcome in held:
            if work.id in fresh:
                _record(ctx, session, step, fresh[work.id], outcome, run, stats, job=job, alone=True)
        return
    for work_id in written:
        run.unsaved.remove(work_id)


def _record(ctx: PipelineContext, session: Session, step: Step[Any, Any], work: Work, outcome: object, run: _Run,
            stats: JobStats, *, job: str, alone: bool) -> bool:
    """Record one outcome: ``alone``, in its own transaction; otherwise into the batch's open one,
    raising what the record raised.  True when it wrote to the store."""
    if isinstance(outcome, _Skipped) or (run.dropping and not isinstance(outcome, LocalStorageError)):
        return False  # stays in run.unsaved: released at the end of the batch
    if isinstance(outcome, LocalStorageError):
        if not (run.dropping and any(n == outcome.shown for n in stats.notes)):
            run.halted.set()
            run.dropping = True
            stats.notes.append(outcome.shown)
            log.error(f"{job} stopped: local storage", extra={"job": job, "reason": outcome.operator_message})
        return False
    if isinstance(outcome, AuthError | FatalAdapterError):
        if work.group not in run.reported:  # several workers may have met the same refusal
            run.reported.add(work.group)
            stats.failed += 1
            stats.notes.append(f"{work.group}: {outcome.shown}")
            log.error(f"{job} stopped for {work.group}", extra={"job": job, "reason": outcome.operator_message})
        run.stopped.add(work.group)
        return False
    if not alone:
        _write(ctx, session, step, work, outcome, stats, job=job)
        return True
    try:
        _write(ctx, session, step, work, outcome, stats, job=job)
        session.commit()
    except LocalStorageError as exc:
        session.rollback()
        return _record(ctx, session, step, work, exc, run, stats, job=job, alone=True)
    except (OperationalError, InterfaceError):
        session.rollback()
        raise
    except Exception as exc:  # noqa: BLE001 - a bug on one item must not hold the whole batch
        session.rollback()
        _internal_error(ctx, session, work, exc, stats, job=job)
        session.commit()
    run.unsaved.remove(work.id)
    return True


def _write(ctx: PipelineContext, session: Session, step: Step[Any, Any], work: Work, outcome: object,
           stats: JobStats, *, job: str) -> None:
    if isinstance(outcome, ConnectorError):
        step.fail(session, work, outcome, stats)
    elif isinstance(outcome, Exception):
        _internal_error(ctx, session, work, outcome, stats, job=job)
    else:
        step.save(session, work, outcome, stats)


def _internal_error(ctx: PipelineContext, session: Session, work: Work, exc: Exception, stats: JobStats, *,
                    job: str) -> None:
    log.error(f"{job}: internal error on one item (bug)", extra={"job": job, "item_id": work.id},
              exc_info=(type(exc), exc, exc.__traceback__))
    error = ConnectorError(N_("internal error ({kind}) in {job}; see the log"),
                           params={"kind": type(exc).__name__, "job": job})
    record_item_error(session, ctx, work.row, error, job=job, stats=stats)
    stats.notes.append(_("{reason} (item {id})").format(reason=error.shown, id=work.id))


def _called(step: Step[Any, Any], works: list[Work], run: _Run,
            pool: ThreadPoolExecutor) -> Generator[tuple[Work, object] | _Tick, None, None]:
    """Each work with its outcome (a result, the exception its call raised, or skipped), in id order,
    and a tick every ``RECORD_AFTER_SECONDS`` the next outcome keeps the job thread waiting."""
    chains: dict[object, list[Work]] = {}
    for work in works:
        chains.setdefault(step.chain(work), []).append(work)
    futures: list[Future[list[tuple[Work, object]]]] = [
        pool.submit(lambda c: list(_call_chain(step, c, run)), chain) for chain in chains.values()]
    try:
        for future in futures:
            while True:
                try:
                    done = future.result(timeout=RECORD_AFTER_SECONDS)
                    break
                except FutureTimeout:
                    yield _TICK
            yield from done
    finally:
        for future in futures:
            future.cancel()


def _call_chain(step: Step[Any, Any], chain: list[Work], run: _Run) -> Iterator[tuple[Work, object]]:
    broken = False
    for work in chain:
        if broken or run.halted.is_set() or work.group in run.stopped:
            yield work, _SKIPPED
            continue
        outcome = _call_one(step, work, run)
        broken = isinstance(outcome, Exception)
        yield work, outcome


def _call_one(step: Step[Any, Any], work: Work, run: _Run) -> object:
    try:
        return step.call(work)
    except (AuthError, FatalAdapterError) as exc:
        run.stopped.add(work.group)  # at once: the other workers stop calling this group
        return exc
    except LocalStorageError as exc:
        run.halted.set()
        return exc
    except Exception as exc:  # noqa: BLE001 - handed to the job thread, which records it
        return exc


def call_all(ctx: PipelineContext, call: Callable[[Any], R], items: Sequence[Any]) -> list[R | Exception]:
    """``call`` for each item, ``[daemon] concurrency`` at a time, outcomes in the items' order (an
    exception is returned, not raised).  After a refusal that stops the whole run (credentials, a
    fatal adapter error, local storage, a bug) the calls not yet started are not made: they get the
    same exception."""
    stop: list[Exception] = []

    def one(item: Any) -> R | Exception:
        if stop:
            return stop[0]
        try:
            return call(item)
        except Exception as exc:  # noqa: BLE001 - handed back to the job thread
            if isinstance(exc, AuthError | FatalAdapterError | LocalStorageError) or \
                    not isinstance(exc, ConnectorError):
                stop.append(exc)
            return exc

    workers = min(ctx.settings.daemon.concurrency, len(items))
    if workers <= 1:
        return [one(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="call") as pool:
        return list(pool.map(one, items))
