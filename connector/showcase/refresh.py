"""Sources → ``showcase_items``: build every appeal's item, keep its hash, mark what must go.

A pass asks every source for the appeals in scope and compares each item's wire form (canonical
JSON, SHA-256) with the record: a new or changed item becomes ``pending``, an unchanged one is left
alone.  An item that cannot be built is ``invalid`` and in failures with the reason once; the
failure resolves itself when the appeal can be built again.  ``plan`` answers the same question
without writing anything (``connector showcase upload --dry-run``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.i18n import _
from connector.pos_client.wire import showcase_item, validation_summary
from connector.showcase.models import SourcedItem
from connector.showcase.records import ShowcaseRecord, ShowcaseState
from connector.showcase.sources import SOURCES, SourceScope
from connector.store.db import Store
from connector.store.models import Failure

log = logging.getLogger(__name__)

BUILD_JOB = "showcase.build"
SEND_JOB = "showcase.upload"
CHUNK = 200  # items per query and per commit


@dataclass
class RefreshStats:
    looked_at: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0
    pending: int = 0          # items to upload after this pass (new, changed, or still waiting)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"looked_at": self.looked_at, "new": self.new, "changed": self.changed,
                "unchanged": self.unchanged, "invalid": self.invalid, "pending": self.pending}


def content_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def refresh(store: Store, scope: SourceScope, *, clock: Callable[[], datetime], write: bool = True) -> RefreshStats:
    """One pass over every source; ``write=False`` only counts (nothing in the store changes)."""
    stats = RefreshStats()
    with store.session() as session:
        for source in SOURCES.values():
            for chunk in _chunks(source(session, scope), CHUNK):
                records = _records_of(session, chunk)
                for sourced in chunk:
                    _apply(session, sourced, records.get(sourced.source_id), stats, clock(), write)
                if write:
                    session.commit()
        session.rollback()  # nothing is left when write=False: _apply changed nothing
    if stats.invalid:
        log.warning("showcase items that cannot be built", extra={"count": stats.invalid})
    return stats


def _chunks(items: Iterator[SourcedItem], size: int) -> Iterator[list[SourcedItem]]:
    chunk: list[SourcedItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _records_of(session: Session, chunk: list[SourcedItem]) -> dict[int, ShowcaseRecord]:
    """The records of one source's chunk, by source id (one query per chunk, not per item)."""
    return {r.source_id: r for r in session.scalars(select(ShowcaseRecord).where(
        ShowcaseRecord.source == chunk[0].source, ShowcaseRecord.source_id.in_([s.source_id for s in chunk])))}


def _wire(sourced: SourcedItem) -> dict[str, Any] | str:
    """The item's wire form, or the reason it cannot be built."""
    if sourced.item is None:
        return str(sourced.problem or _("the appeal cannot be shown"))
    try:
        return showcase_item(sourced.item)
    except ValidationError as exc:
        return _("showcase item {item}: {problems}").format(item=sourced.item_id, problems=validation_summary(exc))


def _apply(session: Session, sourced: SourcedItem, record: ShowcaseRecord | None, stats: RefreshStats,
           now: datetime, write: bool) -> None:
    stats.looked_at += 1
    wire = _wire(sourced)
    if isinstance(wire, str):
        stats.invalid += 1
        stats.errors.append(wire)
        if write:
            _mark_invalid(session, record or _new(session, sourced), wire, now)
        return
    digest = content_hash(wire)
    if record is not None and record.content_hash == digest and record.send_state != ShowcaseState.INVALID:
        stats.unchanged += 1
        stats.pending += record.send_state == ShowcaseState.PENDING
        return
    stats.new += record is None
    stats.changed += record is not None
    due = record is None or record.sent_hash != digest
    stats.pending += due
    if not write:
        return
    record = record or _new(session, sourced)
    if record.send_state == ShowcaseState.INVALID:
        _resolve(session, record.id, BUILD_JOB, now)
        record.build_error = None
    record.payload, record.content_hash, record.changed_at = wire, digest, now
    record.received = _received(wire)
    record.attempts, record.next_attempt_at, record.last_error = 0, None, None
    record.send_state = ShowcaseState.PENDING if due else ShowcaseState.IDLE


def _received(wire: dict[str, Any]) -> date | None:
    value = wire.get("receivedDate")
    return date.fromisoformat(value) if isinstance(value, str) else None


def _new(session: Session, sourced: SourcedItem) -> ShowcaseRecord:
    record = ShowcaseRecord(source=sourced.source, source_id=sourced.source_id, account=sourced.account,
                            item_id=sourced.item_id, message_id=sourced.message_id, content_hash="", sent_hash="",
                            send_state=ShowcaseState.IDLE, sends=0, attempts=0)
    session.add(record)
    session.flush()
    return record


def _mark_invalid(session: Session, record: ShowcaseRecord, reason: str, now: datetime) -> None:
    if record.send_state == ShowcaseState.INVALID and record.build_error == reason:
        return  # said once
    _resolve(session, record.id, BUILD_JOB, now)  # an earlier, different reason is superseded
    record.build_error = reason
    record.send_state = ShowcaseState.INVALID
    session.add(Failure(item_kind="showcase", item_id=record.id, message_id=record.message_id, job=BUILD_JOB,
                        reason=reason))


def _resolve(session: Session, record_id: int, job: str, now: datetime) -> None:
    for failure in session.scalars(select(Failure).where(
            Failure.item_kind == "showcase", Failure.item_id == record_id, Failure.job == job,
            Failure.resolved_at.is_(None))):
        failure.resolved_at = now


def resolve_sent(session: Session, record_id: int, now: datetime) -> None:
    _resolve(session, record_id, SEND_JOB, now)
