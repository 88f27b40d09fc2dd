"""What ``connector sstu …`` and the daemon call: export archives, re-queue, reconcile.

Each verb takes the :class:`Store` and the settings, and does its work all-or-nothing per
appeal: an archive is written part by part as ``.tmp`` and renamed, and the appeals it
carries are marked archived only once every part is complete.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select, update

from connector.config import Settings
from connector.errors import DataError
from connector.i18n import N_
from connector.sstu_export.archive import ArchiveItem, ArchiveWriter
from connector.sstu_export.client import SstuClient
from connector.sstu_export.reconcile import ReconcileReport, SentRecord, reconcile
from connector.sstu_export.records import SendState, SstuAppealRecord, SstuArchiveRecord
from connector.sstu_export.refresh import BuildConfig, rebuild, refresh
from connector.store.db import Store
from connector.store.models import utcnow

log = logging.getLogger(__name__)

MONTHLY, MANUAL = "monthly", "manual"
_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CHUNK = 100


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(period: str) -> tuple[date, date]:
    match = _PERIOD_RE.match(period)
    if not match:
        raise DataError(N_("--period: expected YYYY-MM, got {value!r}"), params={"value": period})
    year, month = int(match.group(1)), int(match.group(2))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@dataclass
class ExportResult:
    period: str
    directory: str
    parts: list[str] = field(default_factory=list)
    appeals: int = 0
    bytes: int = 0
    unchanged: int = 0
    invalid: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "directory": self.directory, "parts": self.parts, "appeals": self.appeals,
                "bytes": self.bytes, "unchanged_skipped": self.unchanged, "invalid": len(self.invalid),
                "invalid_reasons": self.invalid[:50]}


def _period_ids(store: Store, first: date | None, last: date, *, changed_only: bool
                ) -> tuple[list[int], int]:
    with store.session() as session:
        query = select(SstuAppealRecord.id, SstuAppealRecord.content_hash, SstuAppealRecord.archived_hash).where(
            SstuAppealRecord.build_error.is_(None), SstuAppealRecord.content_hash != "",
            SstuAppealRecord.incoming_date <= last).order_by(SstuAppealRecord.id)
        if first is not None:
            query = query.where(SstuAppealRecord.incoming_date >= first)
        rows = session.execute(query).all()
    ids = [r.id for r in rows if not changed_only or r.content_hash != r.archived_hash]
    return ids, len(rows) - len(ids)


def _invalid_in(store: Store, first: date | None, last: date) -> list[str]:
    with store.session() as session:
        query = select(SstuAppealRecord.build_error).where(SstuAppealRecord.build_error.is_not(None),
                                                           SstuAppealRecord.incoming_date <= last)
        if first is not None:
            query = query.where(SstuAppealRecord.incoming_date >= first)
        return [e for e in session.scalars(query) if e]


def export_archive(store: Store, config: BuildConfig, out_dir: Path, period: str, *, kind: str = MANUAL,
                   changed_only: bool = True, through: bool = False,
                   clock: Callable[[], datetime] = utcnow) -> ExportResult:
    """Zip parts of the period's appeals into ``out_dir``.

    ``through=False``: appeals received in the month; ``through=True`` (the monthly route):
    every appeal received up to the month's end.  ``changed_only`` skips appeals whose
    current content an earlier archive already carried.
    """
    first, last = month_bounds(period)
    if through:
        first_or_none: date | None = None
    else:
        first_or_none = first
    prefix = config.settings.sstu.prefix
    if out_dir.exists() and any(out_dir.glob(f"{prefix}[0-9][0-9][0-9].zip")):
        raise DataError(N_("{dir} already holds archive parts named {prefix}NNN.zip: choose another --out "
                           "directory (a part of another export would be mixed in)"),
                        params={"dir": out_dir, "prefix": prefix})
    refresh(store, config, clock=clock)
    ids, unchanged = _period_ids(store, first_or_none, last, changed_only=changed_only)
    result = ExportResult(period=period, directory=str(out_dir), unchanged=unchanged,
                          invalid=_invalid_in(store, first_or_none, last))
    written: list[tuple[int, str]] = []
    if ids:  # a month with nothing to write leaves no empty directories behind
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        writer = ArchiveWriter(out_dir, prefix, max_part_bytes=config.settings.sstu.part_bytes)
        try:
            with writer:
                for record_id, content_hash, item in _items(store, config, ids):
                    writer.add(item)
                    written.append((record_id, content_hash))
        except BaseException:
            # all or nothing: a half-written export must not be mistaken for a complete one
            for part in writer.result.parts:
                part.path.unlink(missing_ok=True)
                if part.manifest is not None:
                    part.manifest.unlink(missing_ok=True)
            raise
        archive = writer.result
        result.parts = [str(p.path) for p in archive.parts]
        result.appeals, result.bytes = archive.appeals, archive.bytes
    now = clock()
    with store.sessions.begin() as session:
        for start in range(0, len(written), 500):
            for record_id, content_hash in written[start:start + 500]:
                session.execute(update(SstuAppealRecord).where(SstuAppealRecord.id == record_id)
                                .values(archived_hash=content_hash, archived_at=now))
        session.add(SstuArchiveRecord(period=period, kind=kind, directory=str(out_dir), parts=result.parts,
                                      appeals=result.appeals, bytes=result.bytes, written_at=now))
    return result


def _items(store: Store, config: BuildConfig, ids: Sequence[int]) -> Iterator[tuple[int, str, ArchiveItem]]:
    """Rebuild each appeal for its bytes, a chunk of ids per transaction (nothing piles up)."""
    for start in range(0, len(ids), CHUNK):
        with store.sessions.begin() as session:
            for record_id in ids[start:start + CHUNK]:
                record = session.get(SstuAppealRecord, record_id)
                if record is None:
                    continue
                built = rebuild(session, config, record)
                if built is not None:
                    yield record_id, built.content_hash, built.archive_item()


# --- re-queueing and reconciling -----------------------------------------------------------

def requeue(store: Store, settings: Settings, *, period: str | None = None,
            numbers: Sequence[str] | None = None) -> int:
    """Mark appeals to be sent again by the next ``sstu`` run (their sent hash is forgotten)."""
    if not settings.sstu.base_url:
        raise DataError(N_("[sstu] base_url is not set: there is no HTTP route to send again"))
    with store.sessions.begin() as session:
        query = select(SstuAppealRecord).where(SstuAppealRecord.content_hash != "",
                                               SstuAppealRecord.build_error.is_(None))
        if period is not None:
            first, last = month_bounds(period)
            query = query.where(SstuAppealRecord.incoming_date >= first, SstuAppealRecord.incoming_date <= last)
        if numbers is not None:
            query = query.where(SstuAppealRecord.number.in_(list(numbers)))
        records = list(session.scalars(query))
        unknown = sorted(set(numbers or ()) - {r.number for r in records})
        if unknown:
            # nothing is queued: a mistyped number must not pass for a done resend
            raise DataError(N_("no appeal sent to ССТУ with number {numbers}"),
                            params={"numbers": ", ".join(unknown)})
        count = 0
        for record in records:
            record.sent_hash = ""
            record.send_state = SendState.PENDING
            record.attempts, record.next_attempt_at, record.last_error = 0, None, None
            count += 1
    return count


@dataclass
class DepartmentReconcile:
    department_id: str
    report: ReconcileReport

    def as_dict(self) -> dict[str, object]:
        r = self.report
        return {"department_id": self.department_id, "matched": r.matched,
                "missing": [d.number for d in r.missing], "stale": [vars_of(d) for d in r.stale],
                "rejected": [vars_of(d) for d in r.rejected], "unknown": r.unknown,
                "undelivered": r.undelivered, "presidential": r.presidential, "unnumbered": r.unnumbered,
                "to_resend": r.to_resend}


def vars_of(d: object) -> dict[str, str]:
    return {"number": getattr(d, "number", ""), "reason": getattr(d, "reason", "")}


def reconcile_portal(store: Store, settings: Settings, client: SstuClient) -> list[DepartmentReconcile]:
    """Per reporting body: what we sent (accepted) against the portal's read-back list."""
    departments = sorted({settings.sstu_department(a.name) for a in settings.accounts} - {""})
    results = []
    for department in departments:
        with store.session() as session:
            sent = [SentRecord(number=r.number, content_hash=r.sent_hash, statuses=tuple(r.sent_statuses))
                    for r in session.scalars(select(SstuAppealRecord).where(
                        SstuAppealRecord.department_id == department, SstuAppealRecord.sent_hash != ""))]
        held = client.read_back(department)
        results.append(DepartmentReconcile(department, reconcile(sent, held)))
    return results
